//! [`Outcome`]: how a task (the body of a component) ended.
//!
//! The runtime produces some outcomes itself (a contained panic, a stop from
//! outside, a shutdown) and passes on the one a body returns; the component
//! layer reports it (`component.rs`, "What happens when a component ends").

use std::any::Any;
use std::fmt;

/// How a component ended.
///
/// A failure keeps the error the body returned ([`SharedError`]): match on
/// `Outcome::Failed(e)` and `e.downcast_ref::<YourError>()`, or just print it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Its body returned normally.
    Finished,
    /// Its body returned an error: the error itself, shared.
    Failed(SharedError),
    /// Its body panicked (the panic message). The panic was contained.
    Panicked(String),
    /// The system was shut down before it finished.
    Cancelled,
    /// It was stopped from outside ([`ComponentRef::stop`](crate::ComponentRef::stop)) at an await point.
    Stopped,
}

impl Outcome {
    /// Whether it ended badly (failed or panicked).
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed(_) | Outcome::Panicked(_))
    }
}

/// The message of a contained panic, from its payload.
pub(crate) fn panic_message(p: &(dyn Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// The error type of a component body that can fail: a body returning
/// `Result<(), axon::Error>` ends with a plain `Ok(())` (see `axon::Termination`).
/// Every axon error converts into it with `?`, a `SendError` of any message
/// type included, and so does any `std::error::Error + Send + Sync`; a string
/// with `Err("what went wrong".into())`.
pub type Error = Box<dyn std::error::Error + Send + Sync + 'static>;

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
/// [`Outcome::Failed`]: Outcome::Failed
#[derive(Clone)]
pub struct SharedError(std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>);

impl SharedError {
    /// Keep `error` (any error type, a `String`, a `&str`, an [`axon::Error`](Error)).
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

impl From<Error> for SharedError {
    fn from(error: Error) -> Self {
        SharedError::new(error)
    }
}

impl From<std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>> for SharedError {
    fn from(error: std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>) -> Self {
        SharedError(error)
    }
}
