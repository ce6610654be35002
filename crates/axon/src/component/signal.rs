//! The standard control/signal messages (Axon's `Ipc`).
//!
//! By convention a component watches its `control` inbox: on
//! [`Signal::ProducerFinished`] it drains what it has and finishes, on
//! [`Signal::ShutdownMicroprocess`] it stops as soon as it can; either way it
//! passes a signal on out of its `signal` outbox, so a pipeline (which links each
//! `signal` to the next `control`) shuts down in order. The kernel itself sends
//! [`Signal::Failed`] out of `signal` when a component fails or panics.
//!
//! Beside these, every inbox reports closure: once every sender linked into it is
//! gone and it is empty, `recv` returns [`RecvError::Closed`](crate::RecvError).

use std::fmt;

use crate::id::ComponentId;
use crate::runtime::outcome::Outcome;
use crate::runtime::outcome::SharedError;

/// A control or signal message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signal {
    /// End of stream: the sender has produced everything it will (Axon's
    /// `producerFinished`). Flush, then finish.
    ProducerFinished,
    /// Stop as soon as possible (Axon's `shutdownMicroprocess`).
    ShutdownMicroprocess,
    /// A component failed (returned an error or panicked); sent by the kernel
    /// out of that component's `signal` outbox.
    Failed(Failure),
}

impl Signal {
    /// Whether this asks the receiver to stop at once (`ShutdownMicroprocess` or
    /// a passed-on `Failed`), as opposed to `ProducerFinished`, which asks it to
    /// drain first.
    pub fn is_shutdown(&self) -> bool {
        matches!(self, Signal::ShutdownMicroprocess | Signal::Failed(_))
    }
}

/// What the kernel reports when a component fails: in [`Signal::Failed`] out
/// of its `signal` box, and in a [`RunReport`](crate::RunReport).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The component that failed.
    pub component: ComponentId,
    /// Its name.
    pub name: String,
    /// The error or panic message.
    pub reason: String,
    /// True for a panic, false for a returned error.
    pub panicked: bool,
    /// The error the body returned, whole (`None` for a panic): downcast it with
    /// [`SharedError::downcast_ref`].
    pub error: Option<SharedError>,
}

impl Failure {
    /// The report of `outcome`, if it is a failure or a panic.
    pub(crate) fn of(component: ComponentId, name: &str, outcome: &Outcome) -> Option<Failure> {
        let (reason, panicked, error) = match outcome {
            Outcome::Failed(e) => (e.to_string(), false, Some(e.clone())),
            Outcome::Panicked(message) => (message.clone(), true, None),
            _ => return None,
        };
        Some(Failure {
            component,
            name: name.to_string(),
            reason,
            panicked,
            error,
        })
    }

    /// How the component ended: [`Outcome::Failed`] or [`Outcome::Panicked`].
    pub fn outcome(&self) -> Outcome {
        match (&self.error, self.panicked) {
            (_, true) => Outcome::Panicked(self.reason.clone()),
            (Some(e), false) => Outcome::Failed(e.clone()),
            (None, false) => Outcome::Failed(SharedError::from(self.reason.clone())),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = if self.panicked { "panicked" } else { "failed" };
        write!(f, "{} ({}) {how}: {}", self.name, self.component, self.reason)
    }
}
