//! Typed errors. Errors on the send path hand the message back, so nothing is
//! ever lost by failing to deliver it.

use std::fmt;

/// `try_send` could not deliver; the message is inside.
#[derive(PartialEq, Eq, Clone, thiserror::Error)]
pub enum TrySendError<T> {
    /// The final inbox of the chain is at its size limit (Axon's `noSpaceInBox`).
    /// Retry later, await [`Outbox::send`](crate::Outbox::send) (which waits for
    /// space), or `pause()` and retry when woken.
    #[error("no space in box: the destination inbox is at its size limit; wait for space (send().await) or retry later")]
    Full(T),
    /// The final inbox of the chain no longer receives (its owner finished).
    #[error("destination closed: the inbox at the end of this linkage chain no longer receives (its component finished)")]
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The message that was not delivered.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(m) | TrySendError::Closed(m) => m,
        }
    }

    /// Whether the box was full (as opposed to closed).
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

/// [`Outbox::send`](crate::Outbox::send) could not deliver because the destination
/// closed; the message is inside.
#[derive(PartialEq, Eq, Clone, thiserror::Error)]
#[error("destination closed: the inbox at the end of this linkage chain no longer receives (its component finished)")]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

/// Why a receive produced no message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecvError {
    /// Every sender that was ever linked into this inbox is gone and nothing is
    /// left: the stream has ended.
    #[error("closed: every sender linked into this inbox is gone and it is empty")]
    Closed,
}

/// Why `try_recv` produced no message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TryRecvError {
    /// Nothing waiting right now.
    #[error("empty: no message is waiting in this inbox")]
    Empty,
    /// Every sender is gone and nothing is left.
    #[error("closed: every sender linked into this inbox is gone and it is empty")]
    Closed,
}

/// Why a linkage could not be made or removed. Each case names the boxes involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The source already feeds a destination; a box links to one destination
    /// only (Axon's `BoxAlreadyLinkedToDestination`). Fan-out is a component's
    /// job: use a splitter/fanout component.
    #[error("{source_box} is already linked to {current}; cannot also link it to {attempted} (a box has one destination: use a fan-out component for one-to-many)")]
    AlreadyLinked {
        /// The source box.
        source_box: String,
        /// Where it is linked now.
        current: String,
        /// The destination that was refused.
        attempted: String,
    },
    /// The linkage would make a chain of boxes loop back on itself.
    #[error("linking {source_box} to {sink} would make a loop of boxes with no final inbox; component graphs may have cycles, box chains may not")]
    Cycle {
        /// The source box.
        source_box: String,
        /// The destination box.
        sink: String,
    },
    /// An inbox cannot feed an outbox.
    #[error("cannot link {source_box} (an inbox) to {sink} (an outbox): link outbox->inbox, inbox->inbox (parent to child) or outbox->outbox (child to parent)")]
    WrongDirection {
        /// The source box.
        source_box: String,
        /// The destination box.
        sink: String,
    },
    /// The two boxes carry different message types (by-name linking).
    #[error("type mismatch linking {source_box} (carries {source_type}) to {sink} (carries {sink_type}): both ends of a linkage must carry the same message type")]
    TypeMismatch {
        /// The source box.
        source_box: String,
        /// Its message type.
        source_type: &'static str,
        /// The destination box.
        sink: String,
        /// Its message type.
        sink_type: &'static str,
    },
    /// A box was named that the component does not have.
    #[error(transparent)]
    NoSuchBox(#[from] BoxError),
    /// The destination no longer receives.
    #[error("cannot link {source_box} to {sink}: the destination's component has finished")]
    Closed {
        /// The source box.
        source_box: String,
        /// The destination box.
        sink: String,
    },
    /// The chain's final inbox would count more open senders (outboxes at or
    /// upstream of it) than a box can: `u32::MAX`.
    #[error("cannot link {source_box} to {sink}: the final inbox of the chain would have more than 4294967295 open senders")]
    TooManySenders {
        /// The source box.
        source_box: String,
        /// The destination box.
        sink: String,
    },
    /// A box was linked to itself.
    #[error("cannot link {0} to itself")]
    SelfLink(String),
    /// Unlink found the linkage already gone.
    #[error("{source_box} is not linked to {sink}")]
    NotLinked {
        /// The source box.
        source_box: String,
        /// The destination box.
        sink: String,
    },
}

/// Looking up or taking a box by name failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoxError {
    /// No box of that name and direction.
    #[error("component {component} has no {dir} named {name:?} (it has: {available})")]
    NotFound {
        /// The component's name.
        component: String,
        /// The name asked for.
        name: String,
        /// `inbox` or `outbox`.
        dir: crate::Direction,
        /// The boxes of that direction it does have.
        available: String,
    },
    /// The box exists but carries another message type.
    #[error("{component}.{name} carries {actual}, not {requested}")]
    WrongType {
        /// The component's name.
        component: String,
        /// The box name.
        name: String,
        /// The type asked for.
        requested: &'static str,
        /// The type it carries.
        actual: &'static str,
    },
    /// The owner's handle for this box was already taken from the context.
    #[error("the handle for {component}.{name} was already taken from the context")]
    AlreadyTaken {
        /// The component's name.
        component: String,
        /// The box name.
        name: String,
    },
    /// A box of that name already exists.
    #[error("component {component} already has a {dir} named {name:?}")]
    Duplicate {
        /// The component's name.
        component: String,
        /// The box name.
        name: String,
        /// `inbox` or `outbox`.
        dir: crate::Direction,
    },
}

/// A component's error, kept whole and shared: the [`Outcome::Failed`] of a
/// body that returned `Err(e)` holds `e` itself (boxed once, behind an `Arc`),
/// so callers can [`downcast_ref`](Self::downcast_ref) it back to its type
/// rather than parse its message.
///
/// Cloning shares the error. Two `SharedError`s compare equal when they are the
/// same error or say the same thing (their `Display` text), which keeps
/// `assert_eq!(c.outcome(), Some(Outcome::Failed("bad input".into())))` working.
///
/// ```
/// use axon::{Outcome, SharedError};
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("bad frame at byte {0}")]
/// struct BadFrame(usize);
///
/// let outcome = Outcome::Failed(SharedError::new(BadFrame(7)));
/// match &outcome {
///     Outcome::Failed(e) => {
///         assert_eq!(e.downcast_ref::<BadFrame>().map(|b| b.0), Some(7));
///         assert_eq!(e.to_string(), "bad frame at byte 7");
///     }
///     _ => unreachable!(),
/// }
/// assert_eq!(outcome, Outcome::Failed("bad frame at byte 7".into()));
/// ```
///
/// [`Outcome::Failed`]: crate::Outcome::Failed
#[derive(Clone)]
pub struct SharedError(std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>);

impl SharedError {
    /// Keep `error` (any error type, a `String`, a `&str`, an [`axon::Error`](crate::Error)).
    /// A boxed error is unboxed first, so `downcast_ref` finds the type inside,
    /// and a `SharedError` is kept as it is (not wrapped again).
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        match error.into().downcast::<SharedError>() {
            Ok(shared) => *shared,
            Err(boxed) => SharedError(std::sync::Arc::from(boxed)),
        }
    }

    /// The error, if it is a `T`.
    pub fn downcast_ref<T: std::error::Error + 'static>(&self) -> Option<&T> {
        self.0.downcast_ref::<T>()
    }

    /// Whether the error is a `T`.
    pub fn is<T: std::error::Error + 'static>(&self) -> bool {
        self.0.is::<T>()
    }

    /// The error itself.
    pub fn get(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }

    /// The shared error.
    pub fn into_inner(self) -> std::sync::Arc<dyn std::error::Error + Send + Sync + 'static> {
        self.0
    }
}

/// `{:?}` shows the message (quoted), which is what a log or a failed
/// assertion needs; `{:#?}` shows the error's own `Debug`.
impl fmt::Debug for SharedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            fmt::Debug::fmt(&*self.0, f)
        } else {
            fmt::Debug::fmt(&self.0.to_string(), f)
        }
    }
}

impl fmt::Display for SharedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl std::error::Error for SharedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for SharedError {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0) || self.0.to_string() == other.0.to_string()
    }
}

impl Eq for SharedError {}

impl From<&str> for SharedError {
    fn from(message: &str) -> Self {
        SharedError::new(message)
    }
}

impl From<String> for SharedError {
    fn from(message: String) -> Self {
        SharedError::new(message)
    }
}

impl From<crate::Error> for SharedError {
    fn from(error: crate::Error) -> Self {
        SharedError::new(error)
    }
}

impl From<std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>> for SharedError {
    fn from(error: std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>) -> Self {
        SharedError(error)
    }
}

/// Waiting for a component to end ([`ComponentRef::join`](crate::ComponentRef::join),
/// [`ComponentRef::finished`](crate::ComponentRef::finished)) could not succeed.
///
/// An async component ends only while its system's scheduler runs: between
/// [`System::start`](crate::System::start) and the end of
/// [`RunningSystem::wait`](crate::RunningSystem::wait) /
/// [`shutdown`](crate::RunningSystem::shutdown), or inside
/// [`System::run`](crate::System::run). Waiting for one that has not ended while
/// no scheduler runs would never return, so it is this error instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JoinError {
    /// The component has not ended and its system is not running (never
    /// started, or stopped), so nothing would ever run it.
    #[error("{component} has not finished and its system is not running, so it never would: start the system (System::start, or System::run on another thread) before joining, or read outcome() after run() returns")]
    NotRunning {
        /// The component, as `name#id`.
        component: String,
    },
    /// The component did not end within the time given.
    #[error("{component} did not finish within {timeout:?}")]
    Timeout {
        /// The component, as `name#id`.
        component: String,
        /// How long was waited.
        timeout: std::time::Duration,
    },
}
