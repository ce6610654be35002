//! Layer 3, components: isolated microprocesses built from boxes and run by the
//! runtime.
//!
//! `component.rs` declares a component's boxes ([`Component`](crate::Component)),
//! spawns it on a [`System`](crate::System), gives its body a
//! [`Context`](crate::Context) and handles its children and its end.
//! [`Prefab`](crate::Prefab) is a component ready to be activated; [`threaded`]
//! runs one on its own OS thread; [`handle`] drives one from ordinary code;
//! `signal.rs` holds the standard control/signal messages.
//!
//! **May import:** `boxes`, `runtime`, the leaf modules (`id`, `name`) and
//! itself. Never `services`: `tests/layering.rs` checks.

// The layer is named after its main module, which keeps its old name so that
// its history follows it.
pub mod classic;
#[allow(clippy::module_inception)]
pub(crate) mod component;
pub mod handle;
pub(crate) mod prefab;
pub mod report;
pub mod resource;
pub(crate) mod signal;
pub mod step;
pub(crate) mod system;
pub mod threaded;
