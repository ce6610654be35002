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
//! use axon::prelude::*;
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
//!     Ok(())
//! });
//!
//! // A consumer: sums until the producer's outbox closes.
//! let consumer = sys.spawn(Component::new("consumer").inbox::<u32>("inbox"), |mut cx| async move {
//!     let mut inbox = cx.inbox::<u32>("inbox")?;
//!     let mut sum = 0;
//!     while let Ok(x) = inbox.recv().await {
//!         sum += x;
//!     }
//!     assert_eq!(sum, 10);
//!     Ok(())
//! });
//!
//! link(&producer.outbox::<u32>("outbox").unwrap(), &consumer.inbox("inbox").unwrap()).unwrap();
//! sys.run(); // returns when every component has finished
//! ```
//!
//! A body returns `()` or `Result<(), axon::Error>`: end it with a plain
//! `Ok(())` (no type annotation) and use `?` on any error — box look-ups,
//! sends of any message type (the message stays inside the error, see
//! [`SendError`]), `std` errors, your own. [`prelude`] brings the everyday
//! names in one `use`.
//!
//! ## The pieces
//!
//! * [`Component`] declares a component's boxes; [`System::spawn`] starts an async
//!   component, [`System::spawn_threaded`] a blocking one on its own thread
//!   ([`threaded`]). The body gets a [`Context`]: take box handles, link, spawn
//!   children, [`pause`](Context::pause). [`classic`]: the old-style form
//!   (initialise / main body / close down) for porting reference components.
//!   Boxes can be added and removed while running ([`Context::add_inbox`]), with
//!   a value tied to each added inbox ([`resource`]).
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
//!   component from outside, [`ComponentRef::send_control`] sends it any
//!   signal in one line; [`ComponentRef::state`] says whether it runs.
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
//! * Failure is loud and typed: a body's error is kept whole in
//!   [`Outcome::Failed`] ([`SharedError`], downcast it); [`System::run`] returns
//!   a [`RunReport`] of the top-level components that failed or panicked
//!   ([`report`]), [`Prefab::run`] an `Err(`[`RunError`]`)`; joining a component
//!   of a system that is not running is a [`JoinError`], not a hang. Every
//!   failure is also logged at `warn` through `tracing`.
//! * [`System::snapshot`]: every live component, box (queue length, limit) and
//!   linkage ([`introspect`]).
//! * [`step`]: a [stepped](SystemBuilder::stepped) system runs on the caller's
//!   thread one component step at a time — [`System::step`] returns which
//!   component ran and what came of it, and sleeps while none is runnable —
//!   for tests and teaching; [`SystemBuilder::slow_motion`] puts a delay after
//!   every step.
//!
//! ## What this crate is not
//! No networking or I/O readiness: the `kamaelia` crate brings those, sleeping in
//! the scheduler's [`Park`] hook. Timers are here ([`time`]) because components
//! need them to wait without busy-looping. No global singletons: each
//! [`System`] is independent.

#![warn(missing_docs)]

// The kernel in four layers, each a directory whose `mod.rs` says what it may
// import; an import never points up (`tests/layering.rs` checks):
//
//   services   cat, stm, introspect              things components share
//   component  component, prefab, threaded,      microprocesses built from boxes,
//              handle, signal, classic,          run by the runtime
//              resource, step, system, report
//   boxes      node, store, topology, wakeup,    typed boxes and the linkage graph
//              linkage, inbox, outbox, select,
//              error
//   runtime    scheduler, task, idle, park,      tasks, workers, sleeping, timers
//              coop, time, block_on, sync, spin
//
// plus the leaves `id` and `name`, which import nothing. The public paths
// (`axon::scheduler`, `axon::stm`, ...) are re-exports of the layers' modules.
mod boxes;
mod component;
mod id;
mod name;
pub mod prelude;
mod runtime;
mod services;
#[cfg(test)]
mod testing;

pub use boxes::{linkage, select, store, topology};
pub use component::{classic, handle, report, resource, step, threaded};
pub use runtime::time;

pub mod scheduler {
    //! The scheduler and the [`System`] that runs components on it.
    //!
    //! * **O(1) per wake.** A wake puts a component on a run queue at most
    //!   once (a per-task wake flag); idle components are on no queue and
    //!   cost nothing, however many exist.
    //! * **One worker thread per core** by default ([`SystemBuilder::threads`];
    //!   1 runs on the calling thread), each with its own FIFO run queue; wakes
    //!   from outside go through an injector; idle workers steal.
    //! * **Fairness.** Each poll has a budget of ready box operations; a
    //!   component woken while it runs goes to the back of the queue.
    //! * **Sleeping.** A worker with nothing to do parks in its
    //!   [`Park`](crate::Park) with no timeout until work is queued.
    //!
    //! [`System::run`] returns when every component has finished;
    //! [`System::start`] runs in the background and returns a
    //! [`RunningSystem`] for waiting or shutting down.
    //!
    //! In the source the scheduler proper (workers, queues, wake rules,
    //! sleeping) is the runtime layer's `runtime/scheduler.rs`; the `System`
    //! façade, which knows components, is the component layer's
    //! `component/system.rs`.
    pub use crate::component::system::{AllFinished, RunningSystem, System, SystemBuilder};
}
pub use services::{cat, introspect, stm};

pub use boxes::error::{BoxError, JoinError, LinkError, RecvError, SendError, TryRecvError, TrySendError};
pub use boxes::inbox::{Inbox, RecvFuture};
pub use boxes::node::{Direction, DEFAULT_OUTBOX_LIMIT};
pub use boxes::outbox::{Outbox, SendFuture};
pub use cat::{Cat, CatError};
pub use component::classic::{Classic, Flow};
pub use component::component::{
    ChildExit, ChildExitFuture, Component, ComponentRef, Context, ControlError, Dormant, Finished, Kind,
    Pause, State, Termination,
};
pub use component::prefab::{Prefab, Spawn};
pub use component::report::{RunError, RunReport};
pub use component::resource::ResourceError;
pub use component::signal::{Failure, Signal};
pub use component::step::{AfterStep, Step, StepError};
pub use handle::{Handle, HandleError, HandleReceiver, HandleSender, RecvTimeoutError};
pub use id::{BoxId, ComponentId, LinkId};
pub use introspect::Snapshot;
pub use linkage::{link, link_any, AnyBoxRef, BoxRef, LinkKind, Linkage};
pub use name::Name;
pub use runtime::coop::{yield_now, YieldNow};
pub use runtime::outcome::{Error, Outcome, SharedError};
pub use runtime::park::{Park, ThreadPark};
pub use scheduler::{RunningSystem, System, SystemBuilder};
pub use threaded::{block_on, block_on_timeout};
