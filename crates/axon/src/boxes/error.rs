//! Typed errors. Errors on the send path hand the message back, so nothing is
//! ever lost by failing to deliver it.
//!
//! The errors about wiring ([`LinkError`], [`BoxError`]) are `#[non_exhaustive]`:
//! match the cases you handle and keep a `_` arm. The send and receive errors
//! ([`TrySendError`], [`RecvError`], [`TryRecvError`]) are not: their cases are
//! every state a box can be in, every receive loop matches them, and a `_` arm
//! there could drop a message that was handed back.

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
/// closed; the message is inside: [`into_inner`](SendError::into_inner) hands it
/// back.
///
/// `?` turns it into an [`axon::Error`](crate::Error) for *any* message type, `Sync`
/// or not: the message is kept behind a lock, so the error is `Send + Sync`
/// whenever the message is `Send`. The boxed error still holds the message and
/// says what was not delivered; `downcast::<SendError<T>>()` gets it back.
///
/// ```
/// use std::cell::Cell;
/// use axon::{Outbox, SendError};
///
/// // `Cell` is not `Sync`; `?` works all the same.
/// fn forward(out: &mut Outbox<Cell<u32>>) -> Result<(), axon::Error> {
///     out.send_blocking(Cell::new(7))?;
///     Ok(())
/// }
///
/// let mut out = Outbox::<Cell<u32>>::detached("out");
/// let mut sink = axon::Inbox::<Cell<u32>>::detached("sink");
/// axon::link(&out.endpoint(), &sink.endpoint()).unwrap();
/// drop(sink); // the destination closes
/// let err = forward(&mut out).unwrap_err();
/// assert!(err.to_string().contains("not delivered"));
/// // Nothing is lost: the message is still inside.
/// let back = err.downcast::<SendError<Cell<u32>>>().unwrap();
/// assert_eq!(back.into_inner().get(), 7);
/// ```
pub struct SendError<T> {
    msg: std::sync::Mutex<T>,
}

impl<T> SendError<T> {
    /// An error holding the message that was not delivered.
    pub fn new(msg: T) -> Self {
        SendError {
            msg: std::sync::Mutex::new(msg),
        }
    }

    /// The message that was not delivered.
    pub fn into_inner(self) -> T {
        self.msg
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The message that was not delivered, in place.
    pub fn get_mut(&mut self) -> &mut T {
        self.msg
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, T> {
        self.msg.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "message not delivered ({}): the inbox at the end of this linkage chain no longer receives (its component finished)",
            std::any::type_name::<T>()
        )
    }
}

impl<T> std::error::Error for SendError<T> {}

impl<T: PartialEq> PartialEq for SendError<T> {
    fn eq(&self, other: &Self) -> bool {
        if std::ptr::eq(self, other) {
            // One lock (taking it twice would deadlock); `T` decides whether a
            // value equals itself (a NaN does not).
            let m = self.lock();
            #[allow(clippy::eq_op)]
            return *m == *m;
        }
        *self.lock() == *other.lock()
    }
}

impl<T: Eq> Eq for SendError<T> {}

impl<T: Clone> Clone for SendError<T> {
    fn clone(&self) -> Self {
        SendError::new(self.lock().clone())
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
#[non_exhaustive]
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
#[non_exhaustive]
pub enum BoxError {
    /// No box of that name and direction.
    #[error("component {component} has no {dir} named {name:?} (it has: {available})")]
    NotFound {
        /// The component's name.
        component: String,
        /// The name asked for.
        name: String,
        /// `inbox` or `outbox`.
        dir: crate::boxes::node::Direction,
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
        dir: crate::boxes::node::Direction,
    },
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
