//! # Axon: the kamaelia-rs kernel
//!
//! Build software from small **components**: isolated microprocesses with named,
//! typed **inboxes** and **outboxes**, wired by **linkages** into pipelines and
//! graphs (cycles allowed). This crate is the kernel — components, boxes,
//! linkages, the scheduler, threaded components, signals and introspection. The
//! component library (Pipeline, Graphline, networking, ...) lives in the
//! `kamaelia` crate on top.
//!
//! ## A first system
//!
//! ```
//! use axon::{Component, System, Signal};
//!
//! let sys = System::builder().threads(1).build();
//!
//! // A producer: sends 0..5 then tells downstream it has finished.
//! let producer = sys.spawn(Component::new("producer").outbox::<u32>("outbox"), |mut cx| async move {
//!     let mut out = cx.outbox::<u32>("outbox")?;
//!     let mut signal = cx.outbox::<Signal>("signal")?;
//!     for i in 0..5 {
//!         out.send(i).await?;
//!     }
//!     signal.send(Signal::ProducerFinished).await?;
//!     Ok::<_, axon::Error>(())
//! });
//!
//! // A consumer: sums until the producer's outbox closes.
//! let consumer = sys.spawn(Component::new("consumer").inbox::<u32>("inbox"), |mut cx| async move {
//!     let mut inbox = cx.inbox::<u32>("inbox").unwrap();
//!     let mut sum = 0;
//!     while let Ok(x) = inbox.recv().await {
//!         sum += x;
//!     }
//!     assert_eq!(sum, 10);
//! });
//!
//! axon::link(&producer.outbox::<u32>("outbox").unwrap(), &consumer.inbox("inbox").unwrap()).unwrap();
//! sys.run(); // returns when every component has finished
//! ```
//!
//! ## The pieces
//!
//! * [`Component`] declares a component's boxes; [`System::spawn`] starts an async
//!   component, [`System::spawn_threaded`] a blocking one on its own thread
//!   ([`threaded`]). The body gets a [`Context`]: take box handles, link, spawn
//!   children, [`pause`](Context::pause).
//! * [`Inbox`] / [`Outbox`]: typed boxes. Messages move by value straight into the
//!   final inbox of a chain (no postman). Inboxes are unbounded unless given a
//!   size; [`Outbox::send`] waits for space, [`Outbox::try_send`] hands the message
//!   back in [`TrySendError::Full`]. Waiting senders are woken in FIFO order when
//!   the consumer collects ([`store`] explains the fairness rule). A send on an
//!   unlinked outbox is held there until it is linked — never dropped — up to
//!   [`DEFAULT_OUTBOX_LIMIT`] messages (settable), then it pushes back like a
//!   full inbox.
//!   Receiving takes `&mut self`: a receive that finds several messages in an
//!   unbounded inbox takes them all at once, and the next ones cost no lock
//!   ([`Inbox`], "Collecting in batches").
//! * [`link`] / [`Context::link`]: outbox→inbox, inbox→inbox (a parent's inbox
//!   into a child's) and outbox→outbox (a child's out through its parent's), made
//!   and removed while running ([`linkage`], [`topology`] for what happens to
//!   waiting messages and senders).
//! * [`select`]: wait on several inboxes (or timers, child exits) at once and
//!   learn which one is ready — `select2(&mut control, &mut inbox)`, fair or
//!   biased, allocation-free.
//! * [`Signal`]: `ProducerFinished` / `ShutdownMicroprocess` on `control`/`signal`
//!   boxes, plus closure: `recv` returns [`RecvError::Closed`] once every sender
//!   into an inbox has ended (its component finished or its handle was
//!   dropped; unlinking is not ending, see [`topology`], "Closure") and it is
//!   empty. [`ComponentRef::stop`] / [`ComponentRef::shutdown`] end one
//!   component from outside; [`ComponentRef::state`] says whether it runs.
//! * The [`scheduler`]: O(1) per wake, one worker per core with work stealing,
//!   sleeps with no timeout when nothing is runnable. Panics are contained: the
//!   component ends with [`Outcome::Panicked`], a [`Signal::Failed`] goes out of
//!   its `signal` box, its parent hears, the rest runs on.
//! * Failure is loud and typed: a body's error is kept whole in
//!   [`Outcome::Failed`] ([`SharedError`], downcast it); [`System::run`] returns
//!   a [`RunReport`] of the top-level components that failed or panicked
//!   ([`report`]), [`Prefab::run`] an `Err(`[`RunError`]`)`; joining a component
//!   of a system that is not running is a [`JoinError`], not a hang. Every
//!   failure is also logged at `warn` through `tracing`.
//! * [`System::snapshot`]: every live component, box (queue length, limit) and
//!   linkage ([`introspect`]).
//!
//! ## What this crate is not
//! No networking or I/O readiness: the `kamaelia` crate brings those, sleeping in
//! the scheduler's [`Park`] hook. Timers are here ([`time`]) because components
//! need them to wait without busy-looping. No global singletons: each
//! [`System`] is independent.

#![warn(missing_docs)]

pub mod cat;
mod component;
mod coop;
mod error;
pub mod handle;
mod id;
mod idle;
mod inbox;
pub mod introspect;
pub mod linkage;
mod name;
mod node;
mod outbox;
mod park;
mod prefab;
pub mod report;
pub mod scheduler;
pub mod select;
mod signal;
mod spin;
pub mod stm;
pub mod store;
mod sync;
pub mod task;
#[cfg(test)]
mod testing;
pub mod threaded;
pub mod time;
pub mod topology;
mod wakeup;

pub use cat::{Cat, CatError};
pub use component::{
    ChildExit, ChildExitFuture, Component, ComponentRef, Context, ControlError, Dormant, Finished, Kind,
    Outcome, Pause, State, Termination,
};
pub use coop::{yield_now, YieldNow};
pub use error::{
    BoxError, JoinError, LinkError, RecvError, SendError, SharedError, TryRecvError, TrySendError,
};
pub use handle::{Handle, HandleError, HandleReceiver, HandleSender, RecvTimeoutError};
pub use id::{BoxId, ComponentId, LinkId};
pub use inbox::{Inbox, RecvFuture};
pub use introspect::Snapshot;
pub use linkage::{link, link_any, AnyBoxRef, BoxRef, LinkKind, Linkage};
pub use name::Name;
pub use node::{Direction, DEFAULT_OUTBOX_LIMIT};
pub use outbox::{Outbox, SendFuture};
pub use park::{Park, ThreadPark};
pub use prefab::Prefab;
pub use report::{RunError, RunReport};
pub use scheduler::{RunningSystem, System, SystemBuilder};
pub use signal::{Failure, Signal};
pub use threaded::{block_on, block_on_timeout};

/// A boxed error, convenient as the error type of a component body:
/// `Ok::<_, axon::Error>(())`. Every axon error converts into it with `?`.
pub type Error = Box<dyn std::error::Error + Send + Sync + 'static>;
