//! The old-style component form, for porting: a value with an initialise step,
//! a main body called over and over, and a close-down step.
//!
//! Before generators, an Axon component was a class with three methods: one
//! run once at the start, one run repeatedly by the scheduler for as long as it
//! answered "carry on", and one run once at the end. Code written that way
//! ports most directly to [`Classic`]: each method becomes a trait method, the
//! body's return value becomes a [`Flow`], and `self.pause()` followed by
//! returning becomes [`Flow::Pause`]. [`Prefab::classic`] turns the value into
//! a component like any other (linked, spawned, a chassis child).
//!
//! The runner is an ordinary async component body: it calls
//! [`main_body`](Classic::main_body) (which must not block: use
//! [`Inbox::try_recv`](crate::Inbox::try_recv) and
//! [`Outbox::try_send`](crate::Outbox::try_send)), then gives the scheduler a
//! turn before calling it again ([`Flow::Continue`]) or sleeps in
//! [`Context::pause`] until something happens ([`Flow::Pause`]): a component
//! with nothing to do costs nothing while it waits.
//!
//! Porting a doubler written in the old style:
//!
//! ```
//! use axon::{Classic, Component, Context, Flow, Inbox, Outbox, Prefab, System, TryRecvError, TrySendError};
//!
//! #[derive(Default)]
//! struct Doubler {
//!     boxes: Option<(Inbox<u32>, Outbox<u32>)>,
//!     /// A doubled value the outbox had no room for yet.
//!     held: Option<u32>,
//! }
//!
//! impl Classic for Doubler {
//!     fn initialise(&mut self, cx: &mut Context) -> Result<(), axon::Error> {
//!         self.boxes = Some((cx.inbox("inbox")?, cx.outbox("outbox")?));
//!         Ok(())
//!     }
//!
//!     fn main_body(&mut self, _cx: &mut Context) -> Result<Flow, axon::Error> {
//!         let (inbox, outbox) = self.boxes.as_mut().expect("initialised");
//!         let x = match self.held.take() {
//!             Some(x) => x,
//!             None => match inbox.try_recv() {
//!                 Ok(x) => x * 2,
//!                 Err(TryRecvError::Empty) => return Ok(Flow::Pause),
//!                 Err(TryRecvError::Closed) => return Ok(Flow::Done),
//!             },
//!         };
//!         match outbox.try_send(x) {
//!             Ok(()) => Ok(Flow::Continue),
//!             Err(TrySendError::Full(x)) => {
//!                 self.held = Some(x);
//!                 Ok(Flow::Pause)
//!             }
//!             Err(TrySendError::Closed(_)) => Ok(Flow::Done),
//!         }
//!     }
//! }
//!
//! let sys = System::builder().threads(1).build();
//! let d = Prefab::classic(Component::new("doubler").inbox_and_outbox::<u32, u32>(), Doubler::default()).spawn(&sys);
//! let mut feed = Outbox::<u32>::detached("feed");
//! let mut results = Inbox::<u32>::detached("results");
//! axon::link(&feed.endpoint(), &d.inbox::<u32>("inbox").unwrap()).unwrap();
//! axon::link(&d.outbox::<u32>("outbox").unwrap(), &results.endpoint()).unwrap();
//! for i in 1..=3 {
//!     feed.try_send(i).unwrap();
//! }
//! drop(feed); // the doubler's inbox closes: it answers Done
//! sys.run();
//! let got: Vec<u32> = std::iter::from_fn(|| results.try_recv().ok()).collect();
//! assert_eq!(got, [2, 4, 6]);
//! ```
//!
//! Differences from the reference: an initialise step that fails (returns an
//! error) ends the component at once, [`Outcome::Failed`](crate::Outcome::Failed),
//! without running the main body or the close-down. Once it has succeeded, the
//! close-down runs exactly once however the component ends — the body says
//! [`Flow::Done`], returns an error (the component then ends
//! [`Outcome::Failed`](crate::Outcome::Failed) after closing down), is stopped
//! from outside ([`ComponentRef::stop`](crate::ComponentRef::stop)) or is
//! cancelled when the system shuts down — except when the main body panics.

use crate::component::component::{Component, Context};
use crate::component::prefab::Prefab;
use crate::runtime::outcome::Error;

/// What a [`Classic`] component's main body asks for next (the reference's
/// truthy / falsy return value, plus the pause it called before returning).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flow {
    /// Call the main body again after giving the scheduler a turn (the other
    /// components run first, so a busy component does not starve them).
    Continue,
    /// Sleep until something happens (as [`Context::pause`]: a delivery, a
    /// closed inbox, room where a `try_send` found none, a child ending, a stop
    /// request), then call the main body again. A component with nothing to do
    /// should answer this, not `Continue`, or it spins.
    Pause,
    /// The component is done: close down and end.
    Done,
}

/// An old-style component: initialise once, run the main body until it says
/// [`Flow::Done`], close down once. See the [module docs](self) for an example
/// and what happens on errors.
///
/// The methods are plain (not async) and must not block: take what is there
/// with `try_recv`, send what fits with `try_send`, and answer
/// [`Flow::Pause`] to wait for more. Take box handles in
/// [`initialise`](Self::initialise) and keep them in the value.
pub trait Classic: Send + 'static {
    /// Runs once, before the first [`main_body`](Self::main_body). An error
    /// ends the component ([`Outcome::Failed`](crate::Outcome::Failed))
    /// without running the rest. Does nothing by default.
    fn initialise(&mut self, cx: &mut Context) -> Result<(), Error> {
        let _ = cx;
        Ok(())
    }

    /// One step of the work; called again and again while it answers
    /// [`Flow::Continue`] or [`Flow::Pause`]. An error ends the component
    /// ([`Outcome::Failed`](crate::Outcome::Failed)) after
    /// [`close_down`](Self::close_down).
    fn main_body(&mut self, cx: &mut Context) -> Result<Flow, Error>;

    /// Runs once at the end (after [`Flow::Done`], an error from the main
    /// body, a stop or a cancellation), if [`initialise`](Self::initialise)
    /// succeeded. It cannot wait: send with `try_send`. Does nothing by
    /// default.
    fn close_down(&mut self, cx: &mut Context) {
        let _ = cx;
    }
}

/// The component and its context while it runs; closes it down when dropped,
/// so that a stop or a cancellation (which drop the body at an await point)
/// closes it down too.
struct Running<C: Classic> {
    cx: Context,
    component: C,
    closed: bool,
}

impl<C: Classic> Running<C> {
    fn close(&mut self) {
        if !self.closed {
            self.closed = true;
            self.component.close_down(&mut self.cx);
        }
    }
}

impl<C: Classic> Drop for Running<C> {
    fn drop(&mut self) {
        // Not while unwinding from a panic in the main body: a second panic
        // would abort the process.
        if !std::thread::panicking() {
            self.close();
        }
    }
}

/// The async body running a [`Classic`] component.
async fn run<C: Classic>(mut cx: Context, mut component: C) -> Result<(), Error> {
    component.initialise(&mut cx)?;
    let mut run = Running {
        cx,
        component,
        closed: false,
    };
    let result = loop {
        match run.component.main_body(&mut run.cx) {
            Ok(Flow::Continue) => crate::runtime::coop::yield_now().await,
            Ok(Flow::Pause) => run.cx.pause().await,
            Ok(Flow::Done) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    run.close();
    result
}

impl Prefab {
    /// An old-style component: `component`'s [`Classic`] methods run as the
    /// body of a component declared by `spec`. Spawn it, or give it to a
    /// chassis, like any prefab.
    ///
    /// ```
    /// use axon::{Classic, Component, Context, Flow, Prefab, System};
    ///
    /// /// Counts its main body's calls, ends at three.
    /// struct Three(u32);
    /// impl Classic for Three {
    ///     fn main_body(&mut self, _cx: &mut Context) -> Result<Flow, axon::Error> {
    ///         self.0 += 1;
    ///         Ok(if self.0 == 3 { Flow::Done } else { Flow::Continue })
    ///     }
    /// }
    ///
    /// let sys = System::new();
    /// let c = Prefab::classic(Component::new("three"), Three(0)).spawn(&sys);
    /// sys.run();
    /// assert_eq!(c.outcome(), Some(axon::Outcome::Finished));
    /// ```
    pub fn classic<C: Classic>(spec: Component, component: C) -> Prefab {
        Prefab::new(spec, move |cx| run(cx, component))
    }
}
