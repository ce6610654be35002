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
use crate::component::report::RunError;
use crate::component::system::System;
use crate::runtime::outcome::SharedError;

type Start = Box<dyn FnOnce(&System, Component, Option<&ComponentRef>) -> Dormant + Send>;

/// A component declared and given a body, not yet running.
#[must_use = "a Prefab does nothing until spawned (.spawn(&sys)) or put in a chassis"]
pub struct Prefab {
    spec: Component,
    start: Start,
    /// Known before it starts: it cannot work (see [`Prefab::failing`]).
    build_error: Option<SharedError>,
}

impl fmt::Debug for Prefab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prefab")
            .field("spec", &self.spec)
            .field("build_error", &self.build_error)
            .finish()
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
            build_error: None,
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
            build_error: None,
        }
    }

    /// A component known, while it is being built, not to work: a composite
    /// whose wiring is wrong, say. Spawned, it fails at once with `error` (its
    /// [`Outcome::Failed`](crate::Outcome::Failed)) without doing anything
    /// else; [`build_error`](Self::build_error) gives the error before that,
    /// so composites can refuse it while they are built, and
    /// [`run`](Self::run) reports it.
    ///
    /// ```
    /// use axon::{Component, Prefab};
    ///
    /// let p = Prefab::failing(Component::new("broken"), "stage 2 is missing");
    /// assert_eq!(p.build_error().map(|e| e.to_string()).as_deref(), Some("stage 2 is missing"));
    /// let err = p.run().unwrap_err();
    /// assert!(err.to_string().contains("stage 2 is missing"));
    /// ```
    pub fn failing(
        spec: Component,
        error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        let error = SharedError::new(error);
        let e = error.clone();
        let mut p = Prefab::new(spec, move |_cx| async move { Err(e.into()) });
        p.build_error = Some(error);
        p
    }

    /// Why it cannot work, if that was known when it was built (see
    /// [`failing`](Self::failing)).
    pub fn build_error(&self) -> Option<&SharedError> {
        self.build_error.as_ref()
    }

    /// Run it as the only top-level component of a system of its own (one
    /// scheduler thread per core) until it and everything it started have
    /// finished; an error listing what failed if it (or anything else
    /// top-level) failed or panicked. Kamaelia's `Pipeline(...).run()`:
    ///
    /// ```
    /// use axon::{Component, Prefab};
    ///
    /// let hello = Prefab::new(Component::new("hello"), |_cx| async { println!("hello") });
    /// hello.run()?;
    ///
    /// let broken = Prefab::new(Component::new("broken"), |_cx| async { Err("no input".into()) });
    /// let err = broken.run().unwrap_err();
    /// assert_eq!(err.failures()[0].name, "broken");
    /// # Ok::<(), axon::RunError>(())
    /// ```
    pub fn run(self) -> Result<(), RunError> {
        self.run_on(&System::new())
    }

    /// [`run`](Self::run) on `sys` (which may hold other components too): spawn
    /// it there, [`System::run`] until everything has finished, and turn the
    /// report into a result.
    pub fn run_on(self, sys: &System) -> Result<(), RunError> {
        let _me = self.spawn(sys);
        sys.run().into_result()
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
