//! # Chassis: components that hold other components
//!
//! A chassis takes components that are not running yet ([`Prefab`]s), activates
//! them as its children when it runs itself, wires them together and to its own
//! boxes with passthrough linkages, and finishes when its children have. Every
//! chassis is itself returned as a [`Prefab`], so they nest: a pipeline can be a
//! stage of another pipeline or a child of a graphline.
//!
//! | chassis | what it does | reference |
//! |---|---|---|
//! | [`Pipeline`] / [`pipeline!`](crate::pipeline) | children in a row, `outbox`→`inbox` and `signal`→`control` | `Kamaelia.Chassis.Pipeline` |
//! | [`Graphline`] / [`graphline!`](crate::graphline) | named children, any linkages (cycles allowed), `"self"` for its own boxes | `Kamaelia.Chassis.Graphline` |
//! | [`Carousel`] | one child at a time, made by a factory from each `next` message | `Kamaelia.Chassis.Carousel` |
//! | [`Seq`] | children one after another, each given the chassis' `inbox`/`outbox` | `Kamaelia.Chassis.Seq` |
//! | [`Par`] | children side by side, their outputs fanned into one `outbox` | `Kamaelia.Chassis.PAR` |
//!
//! ## Types are checked by name, when the chassis is built
//!
//! Stages carry different message types, so a chassis wires its children by box
//! name ([`axon::ComponentRef::any_outbox`], [`axon::Context::link_any`]) and gives
//! itself boxes of its children's types with [`axon::Component::copy_box`]. A
//! mismatch (stage 2 sends `String`, stage 3 wants `u32`), an unknown child or a
//! missing box is never a panic and never silent: it is a [`ChassisError`]
//! naming both ends, found from the message type names the children declared
//! ([`axon::Component::declared`]) when the Pipeline or Graphline is built —
//! `check()` and `try_build()` return it; `build()` (and so `pipeline!` /
//! `graphline!`) makes a [`Prefab::failing`] holding it
//! ([`Prefab::build_error`]), which [`Prefab::run`] returns as an error and
//! which, spawned, fails at once (logged at `warn`, listed in
//! [`axon::System::run`]'s report) before any child is started.
//!
//! ## A child's failure is the chassis' failure
//!
//! A Pipeline or Graphline whose child failed or panicked fails too, once
//! every child has ended, with [`ChassisError::ChildFailed`] naming the first
//! such child and holding its error: a failure deep inside nested chassis
//! reaches whoever runs the outermost one.
//!
//! ```
//! use axon::{Component, Prefab};
//! use kamaelia::chassis::{ChassisError, Pipeline};
//!
//! fn stage<I: Send + 'static, O: Send + 'static>(name: &'static str) -> Prefab {
//!     Prefab::new(Component::new(name).inbox_and_outbox::<I, O>(), |_cx| async {})
//! }
//! let err = Pipeline::new()
//!     .then(stage::<u32, String>("show"))
//!     .then(stage::<u32, u32>("double"))
//!     .check()
//!     .unwrap_err();
//! assert!(matches!(err, ChassisError::TypeMismatch { .. }));
//! assert!(err.to_string().contains("show"));
//! assert!(err.to_string().contains("double"));
//! ```
//!
//! ## Shutdown
//!
//! Children are told to stop the Kamaelia way, with [`Signal`]s on `control`, and
//! the kernel's closure does the rest: when every sender into an inbox is gone
//! its `recv` returns `Closed`, and closure ripples down a pipeline as each stage
//! ends. Each chassis' page says what it does with its own `control`/`signal`.

use std::pin::pin;

use axon::select::{select2_biased, Either2};
use axon::{AnyBoxRef, BoxError, ChildExit, Component, Context, Direction, LinkError, Outbox, Signal};

mod carousel;
mod graphline;
mod par;
mod pipeline;
mod seq;

pub use carousel::{Carousel, NextRequest};
pub use graphline::{Graphline, SELF};
pub use par::Par;
pub use pipeline::Pipeline;
pub use seq::Seq;

#[doc(no_inline)]
pub use axon::Prefab;

/// Why a chassis could not be wired. Each case names the boxes involved and
/// says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChassisError {
    /// The chassis was given no children where it needs at least one.
    #[error("{chassis} has no children: give it at least one component")]
    Empty {
        /// The chassis' name.
        chassis: String,
    },
    /// Two boxes to be linked carry different message types.
    #[error("type mismatch: {source_box} sends {source_type} but {sink} receives {sink_type}; both ends of a linkage must carry the same message type (put a converting component between them)")]
    TypeMismatch {
        /// The sending end, as `child.box`.
        source_box: String,
        /// Its message type.
        source_type: &'static str,
        /// The receiving end, as `child.box`.
        sink: String,
        /// Its message type.
        sink_type: &'static str,
    },
    /// A box the wiring needs is not declared.
    #[error("{component} has no {dir} named {name:?} ({why}); it has: {available}")]
    MissingBox {
        /// The child (or chassis) lacking it.
        component: String,
        /// Inbox or outbox.
        dir: Direction,
        /// The box name.
        name: String,
        /// Why it is needed.
        why: String,
        /// The boxes of that direction it does have.
        available: String,
    },
    /// A Graphline linkage names a child that does not exist.
    #[error("linkage {linkage} names unknown child {name:?}; children are: {known} (write \"self\" for the Graphline's own boxes)")]
    UnknownChild {
        /// The name used.
        name: String,
        /// The linkage, as `a.box -> b.box`.
        linkage: String,
        /// The children's names.
        known: String,
    },
    /// Two Graphline children were given the same name.
    #[error("two children are named {0:?}: child names must be unique")]
    DuplicateChild(String),
    /// Two Graphline linkages start at the same box.
    #[error("{source_box} is the source of two linkages (to {first} and to {second}); a box has one destination: use a fan-out component for one-to-many")]
    DuplicateSource {
        /// The source box.
        source_box: String,
        /// The first destination.
        first: String,
        /// The second destination.
        second: String,
    },
    /// A Graphline linkage goes from the Graphline's own box to another of its own.
    #[error("linkage {0} goes from the Graphline to itself; link a child's box to or from \"self\" instead")]
    SelfToSelf(String),
    /// A box name is declared both as an inbox and as an outbox, and the kernel
    /// can only copy the first of the two.
    #[error("{component} declares both an inbox and an outbox named {name:?}; the chassis cannot give itself a box of the {dir}'s type (rename one of them)")]
    AmbiguousBox {
        /// The child.
        component: String,
        /// The box name.
        name: String,
        /// The direction wanted.
        dir: Direction,
    },
    /// A child was built broken ([`Prefab::build_error`]), so the chassis
    /// holding it cannot work either.
    #[error("{child} cannot work: {error}")]
    BrokenChild {
        /// The child, as the chassis names it (`stage 1 (name)`, or its
        /// Graphline name).
        child: String,
        /// Why.
        #[source]
        error: axon::SharedError,
    },
    /// A child failed or panicked while the chassis ran (its siblings ran to
    /// their end): the chassis fails with it, so the failure reaches whoever
    /// runs the chassis ([`axon::System::run`]'s report, [`Prefab::run`]).
    #[error("{chassis}: {child} {}: {error}", if *.panicked { "panicked" } else { "failed" })]
    ChildFailed {
        /// The chassis' name.
        chassis: String,
        /// The child, as the chassis names it.
        child: String,
        /// Whether it panicked (rather than returned an error).
        panicked: bool,
        /// Its error (a panic's message, for a panic).
        #[source]
        error: axon::SharedError,
    },
    /// The kernel refused a linkage.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The kernel could not find or hand out a box.
    #[error(transparent)]
    Box(#[from] BoxError),
}

/// The message type name of `spec`'s box `name` of direction `dir`.
pub(crate) fn box_type(spec: &Component, dir: Direction, name: &str) -> Option<&'static str> {
    spec.declared()
        .into_iter()
        .find(|(n, d, _)| d == &dir && n == name)
        .map(|(_, _, t)| t)
}

/// The names of `spec`'s boxes of direction `dir`, for error messages.
pub(crate) fn available(spec: &Component, dir: Direction) -> String {
    let names: Vec<String> = spec
        .declared()
        .into_iter()
        .filter(|(_, d, _)| d == &dir)
        .map(|(n, _, _)| n)
        .collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// `Component::copy_box` looks its source box up by name only, taking the first
/// declared of either direction: whether that one is the `dir` box we mean.
pub(crate) fn first_named_is(spec: &Component, name: &str, dir: Direction) -> bool {
    matches!(spec.declared().into_iter().find(|(n, _, _)| n == name), Some((_, d, _)) if d == dir)
}

/// What woke a chassis that watches its `control` inbox and its children.
pub(crate) enum Event {
    /// A message on `control`.
    Control(Signal),
    /// `control` closed: every sender into it is gone.
    ControlClosed,
    /// A child ended.
    Exit(ChildExit),
    /// No child is left.
    NoChildren,
}

/// Wait for the next message on `control` (if given) or the next child exit;
/// `control` is looked at first.
pub(crate) async fn next_event(cx: &Context, mut control: Option<&mut axon::Inbox<Signal>>) -> Event {
    let mut exit = pin!(cx.child_exit());
    match select2_biased(&mut control, &mut exit).await {
        Either2::A(Ok(m)) => Event::Control(m),
        Either2::A(Err(_)) => Event::ControlClosed,
        Either2::B(Some(e)) => Event::Exit(e),
        Either2::B(None) => Event::NoChildren,
    }
}

/// Copies of `control` messages for children whose `control` nothing else
/// feeds: one added outbox per child, linked to its `control`.
pub(crate) struct ControlFanout {
    outs: Vec<Outbox<Signal>>,
}

impl ControlFanout {
    /// Link an outbox to the `control` of each of `children` that has a
    /// `control` inbox carrying [`Signal`]; others are skipped.
    pub(crate) fn new(cx: &mut Context, children: &[axon::ComponentRef]) -> Self {
        let mut outs = Vec::new();
        for child in children {
            let Ok(dst) = child.inbox::<Signal>("control") else {
                tracing::debug!(child = %child.name(), "no Signal control inbox: control messages not copied to it");
                continue;
            };
            let (_, out) = cx.add_outbox::<Signal>("_control_copy");
            match cx.link(&out.endpoint(), &dst) {
                Ok(_) => outs.push(out),
                Err(e) => tracing::debug!(child = %child.name(), error = %e, "control copy not linked"),
            }
        }
        ControlFanout { outs }
    }

    /// Send a copy of `msg` to every child still receiving; how many it reached.
    pub(crate) async fn send(&mut self, msg: &Signal) -> usize {
        let mut reached = 0;
        for out in &mut self.outs {
            // A child that has finished no longer receives: nothing to tell it.
            if out.send(msg.clone()).await.is_ok() {
                reached += 1;
            }
        }
        reached
    }

    /// Stop sending: children's `control` inboxes close once nothing else feeds them.
    pub(crate) fn close(&mut self) {
        self.outs.clear();
    }
}

/// Link two boxes found by name. A child that has already ended (a quick one,
/// on another worker thread) no longer receives: linking into it is skipped,
/// as linking to a finished component was harmless in Kamaelia.
pub(crate) fn link_by_name(cx: &Context, src: &AnyBoxRef, dst: &AnyBoxRef) -> Result<(), ChassisError> {
    match cx.link_any(src, dst) {
        Ok(_) => Ok(()),
        Err(LinkError::Closed { source_box, sink }) => {
            tracing::debug!(%source_box, %sink, "not linked: the destination has already finished");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// The first failure among a chassis' children, kept to fail the chassis with
/// once they have all ended; later ones are logged.
#[derive(Default)]
pub(crate) struct FirstFailure(Option<ChassisError>);

impl FirstFailure {
    /// Look at how a child ended; `child` names it for the error.
    pub(crate) fn note(&mut self, chassis: &str, child: impl FnOnce() -> String, outcome: &axon::Outcome) {
        let (panicked, error) = match outcome {
            axon::Outcome::Failed(e) => (false, e.clone()),
            axon::Outcome::Panicked(m) => (true, axon::SharedError::from(m.clone())),
            _ => return,
        };
        let child = child();
        if self.0.is_some() {
            tracing::warn!(chassis, %child, %error, "another child failed too");
            return;
        }
        self.0 = Some(ChassisError::ChildFailed {
            chassis: chassis.to_string(),
            child,
            panicked,
            error,
        });
    }

    /// `Err` with the first failure, if any child failed.
    pub(crate) fn into_result(self) -> Result<(), ChassisError> {
        self.0.map_or(Ok(()), Err)
    }
}

/// A broken child ([`Prefab::build_error`]) makes the chassis broken too.
pub(crate) fn check_children<'a>(
    children: impl IntoIterator<Item = (String, &'a Prefab)>,
) -> Result<(), ChassisError> {
    for (child, p) in children {
        if let Some(e) = p.build_error() {
            return Err(ChassisError::BrokenChild {
                child,
                error: e.clone(),
            });
        }
    }
    Ok(())
}

/// The chassis as a component: `spec` running `body`, unless planning found it
/// miswired: then the chassis is a [`Prefab::failing`] that fails at once with
/// the error when spawned (which the kernel logs at `warn` and the run report
/// lists); logged here at `debug` only, so a miswiring is not told twice.
pub(crate) fn built(
    kind: &str,
    name: &str,
    spec: axon::Component,
    planned: Result<(), ChassisError>,
    body: impl FnOnce(axon::Component) -> Prefab,
) -> Prefab {
    match planned {
        Ok(()) => body(spec),
        Err(e) => {
            tracing::debug!(chassis = kind, name, error = %e, "miswired: it will fail as soon as it is spawned");
            Prefab::failing(spec, e)
        }
    }
}

/// Send `msg` out of `out`, ignoring a closed destination (nobody listens).
pub(crate) async fn send_quietly<T: Send + 'static>(out: &mut Outbox<T>, msg: T) {
    let _ = out.send(msg).await;
}
