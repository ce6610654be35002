//! [`Outcome`]: how a task (the body of a component) ended.
//!
//! The runtime produces some outcomes itself (a contained panic, a stop from
//! outside, a shutdown) and passes on the one a body returns; the component
//! layer reports it (`component.rs`, "What happens when a component ends").

use std::any::Any;

/// How a component ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Its body returned normally.
    Finished,
    /// Its body returned an error (the message).
    Failed(String),
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
