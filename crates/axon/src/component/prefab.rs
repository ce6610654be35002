//! [`Prefab`]: a component ready to be activated — its declaration plus its body.
//!
//! Kamaelia separates making a component from activating it: you build
//! `Pipeline(Producer(), Consumer())` and the pipeline activates its children when
//! it runs. A `Prefab` is that not-yet-running component. Component libraries
//! return prefabs (a transformer, a TCP client, ...), composites take lists of
//! them and activate them as children.
//!
//! ```
//! use axon::{Component, Prefab, System};
//!
//! fn doubler() -> Prefab {
//!     Prefab::new(Component::new("doubler").inbox_and_outbox::<u32, u32>(), |mut cx| async move {
//!         let mut inbox = cx.inbox::<u32>("inbox")?;
//!         let mut out = cx.outbox::<u32>("outbox")?;
//!         while let Ok(x) = inbox.recv().await {
//!             out.send(x * 2).await?;
//!         }
//!         Ok(())
//!     })
//! }
//!
//! let sys = System::new();
//! let d = doubler().spawn(&sys);
//! assert_eq!(d.name(), "doubler");
//! # drop(d);
//! ```

use std::fmt;
use std::future::Future;

use crate::component::component::{Component, ComponentRef, Context, Dormant, Termination};
use crate::component::system::System;

type Start = Box<dyn FnOnce(&System, Component, Option<&ComponentRef>) -> Dormant + Send>;

/// A component declared and given a body, not yet running.
#[must_use = "a Prefab does nothing until spawned (.spawn(&sys)) or put in a chassis"]
pub struct Prefab {
    spec: Component,
    start: Start,
}

impl fmt::Debug for Prefab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prefab").field("spec", &self.spec).finish()
    }
}

impl Prefab {
    /// An async component.
    pub fn new<F, Fut>(spec: Component, main: F) -> Self
    where
        F: FnOnce(Context) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: Termination,
    {
        Prefab {
            spec,
            start: Box::new(move |sys, spec, parent| sys.create_with_parent(spec, main, parent)),
        }
    }

    /// A threaded component (its body runs on its own OS thread).
    pub fn threaded<F, R>(spec: Component, main: F) -> Self
    where
        F: FnOnce(Context) -> R + Send + 'static,
        R: Termination + 'static,
    {
        Prefab {
            spec,
            start: Box::new(move |sys, spec, parent| sys.create_threaded_with_parent(spec, main, parent)),
        }
    }

    /// Its declaration (name and boxes).
    pub fn spec(&self) -> &Component {
        &self.spec
    }

    /// Change its declaration before it starts (for example to add boxes). The
    /// body must still find the boxes it takes.
    pub fn map_spec(mut self, f: impl FnOnce(Component) -> Component) -> Self {
        let placeholder = Component::bare("");
        let spec = std::mem::replace(&mut self.spec, placeholder);
        self.spec = f(spec);
        self
    }

    /// Its name.
    pub fn name(&self) -> &str {
        self.spec.name()
    }

    /// Activate it as a top-level component of `sys`.
    pub fn spawn(self, sys: &System) -> ComponentRef {
        self.create(sys).activate()
    }

    /// Activate it as a child of the component running `cx`.
    pub fn spawn_child(self, cx: &Context) -> ComponentRef {
        self.create_child(cx).activate()
    }

    /// Create it in `sys` without starting it: link it, then
    /// [`activate`](crate::Dormant::activate) it.
    pub fn create(self, sys: &System) -> Dormant {
        (self.start)(sys, self.spec, None)
    }

    /// Create it as a (future) child of the component running `cx`, without
    /// starting it.
    pub fn create_child(self, cx: &Context) -> Dormant {
        (self.start)(cx.system(), self.spec, Some(cx.me()))
    }
}

/// Spawn anything that becomes a [`Prefab`] — a library component's builder
/// as well as a `Prefab` — without turning it into one first: one way to start
/// every component, whether a function or a builder made it. In
/// [`prelude`](crate::prelude).
///
/// ```
/// use axon::prelude::*;
///
/// struct Quiet;
/// impl From<Quiet> for Prefab {
///     fn from(_: Quiet) -> Prefab {
///         Prefab::new(Component::new("quiet"), |_cx| async move {})
///     }
/// }
///
/// let sys = System::new();
/// let quiet = Quiet.spawn(&sys); // no `Prefab::from(..)` or `.into()` first
/// sys.run();
/// assert_eq!(quiet.outcome(), Some(Outcome::Finished));
/// ```
pub trait Spawn: Into<Prefab> + Sized {
    /// Activate it as a top-level component of `sys` ([`Prefab::spawn`]).
    fn spawn(self, sys: &System) -> ComponentRef {
        self.into().spawn(sys)
    }

    /// Activate it as a child of the component running `cx`
    /// ([`Prefab::spawn_child`]).
    fn spawn_child(self, cx: &Context) -> ComponentRef {
        self.into().spawn_child(cx)
    }

    /// Create it in `sys` without starting it ([`Prefab::create`]).
    fn create(self, sys: &System) -> Dormant {
        self.into().create(sys)
    }
}

impl<T: Into<Prefab>> Spawn for T {}
