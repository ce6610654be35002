//! [`Handle`]: drive a component from ordinary code, blocking or async.
//!
//! A handle links four detached boxes of its own to the component's standard
//! boxes — an outbox into its `inbox` and one into its `control`, an inbox fed
//! by its `outbox` and one fed by its `signal` — so plain code can feed it and
//! collect what it produces. A box the component does not declare is simply not
//! linked: sending to it hands the message back, receiving from it reports
//! `Closed`.
//!
//! Nothing polls. Blocking calls park the calling thread until a delivery wakes
//! it (Kamaelia's `Handle` checked every 10 ms); async calls use the waker of
//! whatever executor polls them, so they work inside a tokio runtime
//! (current-thread or multi-thread) without blocking it. The system must be
//! running for the component to make progress: [`System::start`] runs it on
//! background threads (Axon's `background`).
//!
//! The end of the component is visible three ways: [`Handle::recv`] returns
//! [`RecvError::Closed`] once the component has finished and everything it sent
//! has been received; [`Handle::is_finished`] / [`Handle::finished`] /
//! [`Handle::join`] report its [`Outcome`]. Dropping the handle (or
//! [`Handle::close`]) closes what feeds the component's `inbox`, which a
//! well-behaved component takes as end of input.
//!
//! ```
//! use axon::{Component, Handle, Prefab, System};
//!
//! let doubler = Prefab::new(Component::new("doubler").inbox_and_outbox::<u32, u32>(), |mut cx| async move {
//!     let mut inbox = cx.inbox::<u32>("inbox")?;
//!     let mut out = cx.outbox::<u32>("outbox")?;
//!     while let Ok(x) = inbox.recv().await {
//!         out.send(x * 2).await?;
//!     }
//!     Ok(())
//! });
//!
//! let running = System::builder().threads(1).build().start();
//! let mut h: Handle<u32> = Handle::spawn(running.system(), doubler)?;
//! h.send_blocking(21)?;
//! assert_eq!(h.recv_blocking()?, 42);
//! h.close(); // end of input: the doubler finishes
//! assert_eq!(h.recv_blocking(), Err(axon::RecvError::Closed));
//! assert_eq!(h.join()?, axon::Outcome::Finished);
//! running.wait();
//! # Ok::<(), axon::Error>(())
//! ```
//!
//! The same from async code, here a single-threaded tokio runtime: awaiting a
//! handle parks only the task, so other tasks on the runtime keep running.
//!
//! ```
//! # use axon::{Component, Handle, Prefab, System};
//! # let doubler = Prefab::new(Component::new("doubler").inbox_and_outbox::<u32, u32>(), |mut cx| async move {
//! #     let mut inbox = cx.inbox::<u32>("inbox")?;
//! #     let mut out = cx.outbox::<u32>("outbox")?;
//! #     while let Ok(x) = inbox.recv().await { out.send(x * 2).await?; }
//! #     Ok(())
//! # });
//! let running = System::builder().threads(1).build().start();
//! let h: Handle<u32> = Handle::spawn(running.system(), doubler)?;
//! let (mut tx, rx) = h.split();
//! let rt = tokio::runtime::Builder::new_current_thread().build()?;
//! let got = rt.block_on(async move {
//!     let collector = tokio::spawn(async move {
//!         let mut got = Vec::new();
//!         while let Ok(x) = rx.recv().await {
//!             got.push(x);
//!         }
//!         got
//!     });
//!     for i in 0..3 {
//!         tx.send(i).await.unwrap();
//!     }
//!     drop(tx); // end of input
//!     collector.await.unwrap()
//! });
//! assert_eq!(got, [0, 2, 4]);
//! running.wait();
//! # Ok::<(), axon::Error>(())
//! ```

use std::time::Duration;

use crate::boxes::error::{BoxError, JoinError, LinkError, RecvError, SendError, TryRecvError, TrySendError};
use crate::boxes::inbox::Inbox;
use crate::boxes::linkage::{link, BoxRef};
use crate::boxes::node::Direction;
use crate::boxes::outbox::Outbox;
use crate::component::component::{ComponentRef, Finished};
use crate::component::prefab::Prefab;
use crate::component::signal::Signal;
use crate::component::system::System;
use crate::runtime::outcome::Outcome;

/// Making a [`Handle`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandleError {
    /// A standard box carries another message type than the handle's.
    #[error("cannot make a handle: {0}")]
    Box(#[from] BoxError),
    /// A standard box is already linked elsewhere (attaching to a component
    /// that is already wired up).
    #[error("cannot make a handle: {0}")]
    Link(#[from] LinkError),
}

/// [`Handle::recv_timeout`] produced no message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecvTimeoutError {
    /// Nothing arrived in time.
    #[error("timed out: no message arrived in time")]
    Timeout,
    /// The component has finished and everything it sent has been received.
    #[error("closed: the component has finished and everything it sent has been received")]
    Closed,
}

/// The sending half of a [`Handle`]: feeds the component's `inbox` and `control`.
pub struct HandleSender<I: Send + 'static> {
    component: ComponentRef,
    inbox: Option<Outbox<I>>,
    control: Option<Outbox<Signal>>,
}

/// The receiving half of a [`Handle`]: collects the component's `outbox` and
/// `signal`, and knows when it has finished.
pub struct HandleReceiver<O: Send + 'static> {
    component: ComponentRef,
    outbox: Option<Inbox<O>>,
    signal: Option<Inbox<Signal>>,
}

/// Drive a component from ordinary (blocking or async) code. See the
/// [module docs](self).
///
/// `I` is what the component's `inbox` carries, `O` what its `outbox` carries.
pub struct Handle<I: Send + 'static, O: Send + 'static = I> {
    tx: HandleSender<I>,
    rx: HandleReceiver<O>,
}

impl<I: Send + 'static> std::fmt::Debug for HandleSender<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandleSender")
            .field("component", &self.component)
            .finish()
    }
}

impl<O: Send + 'static> std::fmt::Debug for HandleReceiver<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandleReceiver")
            .field("component", &self.component)
            .finish()
    }
}

impl<I: Send + 'static, O: Send + 'static> std::fmt::Debug for Handle<I, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("component", &self.tx.component)
            .finish()
    }
}

/// The component's box `name` of type `T`, `None` if it has no such box.
fn optional<T: Send + 'static>(
    component: &ComponentRef,
    dir: Direction,
    name: &str,
) -> Result<Option<BoxRef<T>>, BoxError> {
    let found = match dir {
        Direction::In => component.inbox::<T>(name),
        Direction::Out => component.outbox::<T>(name),
    };
    match found {
        Ok(b) => Ok(Some(b)),
        Err(BoxError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

fn feed<T: Send + 'static>(component: &ComponentRef, name: &str) -> Result<Option<Outbox<T>>, HandleError> {
    let Some(dst) = optional::<T>(component, Direction::In, name)? else {
        return Ok(None);
    };
    let out = Outbox::<T>::detached(format!("handle->{name}"));
    match link(&out.endpoint(), &dst) {
        Ok(_) => Ok(Some(out)),
        // It has finished: nothing can be sent to it, but what it sent can
        // still be collected.
        Err(LinkError::Closed { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn collect<T: Send + 'static>(component: &ComponentRef, name: &str) -> Result<Option<Inbox<T>>, HandleError> {
    let Some(src) = optional::<T>(component, Direction::Out, name)? else {
        return Ok(None);
    };
    let inbox = Inbox::<T>::detached(format!("{name}->handle"));
    link(&src, &inbox.endpoint())?;
    Ok(Some(inbox))
}

/// Refuse before spawning if a declared standard box has another type.
fn check_declared<T: 'static>(prefab: &Prefab, dir: Direction, name: &str) -> Result<(), BoxError> {
    let want = std::any::type_name::<T>();
    match prefab
        .spec()
        .declared()
        .into_iter()
        .find(|(n, d, _)| n == name && *d == dir)
    {
        Some((_, _, actual)) if actual != want => Err(BoxError::WrongType {
            component: prefab.name().to_string(),
            name: name.to_string(),
            requested: want,
            actual,
        }),
        _ => Ok(()),
    }
}

impl<I: Send + 'static, O: Send + 'static> Handle<I, O> {
    /// Activate `prefab` (a [`Prefab`], or any library component that converts
    /// into one) in `sys` and attach a handle to it.
    ///
    /// The standard boxes are checked against `I`, `O` and [`Signal`] before the
    /// component starts; a mismatch is a [`HandleError::Box`].
    pub fn spawn(sys: &System, prefab: impl Into<Prefab>) -> Result<Self, HandleError> {
        let prefab = prefab.into();
        check_declared::<I>(&prefab, Direction::In, "inbox")?;
        check_declared::<Signal>(&prefab, Direction::In, "control")?;
        check_declared::<O>(&prefab, Direction::Out, "outbox")?;
        check_declared::<Signal>(&prefab, Direction::Out, "signal")?;
        let component = prefab.spawn(sys);
        Self::attach(&component)
    }

    /// Attach a handle to a component that is already running. Its standard
    /// boxes must not be linked yet ([`HandleError::Link`] otherwise).
    /// Anything it sent before is held in its outboxes and comes out here, even
    /// if it has finished already (sends to a finished component hand the
    /// message back).
    pub fn attach(component: &ComponentRef) -> Result<Self, HandleError> {
        let tx = HandleSender {
            component: component.clone(),
            inbox: feed::<I>(component, "inbox")?,
            control: feed::<Signal>(component, "control")?,
        };
        let rx = HandleReceiver {
            component: component.clone(),
            outbox: collect::<O>(component, "outbox")?,
            signal: collect::<Signal>(component, "signal")?,
        };
        Ok(Handle { tx, rx })
    }

    /// Split into a sending and a receiving half, e.g. to feed from one task or
    /// thread and collect in another.
    pub fn split(self) -> (HandleSender<I>, HandleReceiver<O>) {
        (self.tx, self.rx)
    }

    /// The component being driven.
    pub fn component(&self) -> &ComponentRef {
        &self.tx.component
    }

    /// Send to the component's `inbox`, waiting while it is full.
    pub async fn send(&mut self, msg: I) -> Result<(), SendError<I>> {
        self.tx.send(msg).await
    }

    /// [`send`](Self::send), blocking this thread (not for use inside async code).
    pub fn send_blocking(&mut self, msg: I) -> Result<(), SendError<I>> {
        self.tx.send_blocking(msg)
    }

    /// Send to the component's `inbox` if there is room now.
    pub fn try_send(&mut self, msg: I) -> Result<(), TrySendError<I>> {
        self.tx.try_send(msg)
    }

    /// Send a signal to the component's `control`.
    pub fn send_control(&mut self, signal: Signal) -> Result<(), TrySendError<Signal>> {
        self.tx.send_control(signal)
    }

    /// Ask the component to stop: [`Signal::ShutdownMicroprocess`] on its `control`.
    pub fn shutdown(&mut self) -> Result<(), TrySendError<Signal>> {
        self.tx.shutdown()
    }

    /// End the input: close what feeds the component's `inbox` and `control`.
    /// Later sends hand their message back.
    pub fn close(&mut self) {
        self.tx.close()
    }

    /// Receive the next message from the component's `outbox`. Resolves to
    /// [`RecvError::Closed`] once the component has finished and everything it
    /// sent has been received.
    pub async fn recv(&self) -> Result<O, RecvError> {
        self.rx.recv().await
    }

    /// [`recv`](Self::recv), blocking this thread (not for use inside async code).
    pub fn recv_blocking(&self) -> Result<O, RecvError> {
        self.rx.recv_blocking()
    }

    /// [`recv_blocking`](Self::recv_blocking), giving up after `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<O, RecvTimeoutError> {
        self.rx.recv_timeout(timeout)
    }

    /// Take a message from the component's `outbox` if one is waiting.
    pub fn try_recv(&self) -> Result<O, TryRecvError> {
        self.rx.try_recv()
    }

    /// Receive the next signal from the component's `signal`.
    pub async fn recv_signal(&self) -> Result<Signal, RecvError> {
        self.rx.recv_signal().await
    }

    /// [`recv_signal`](Self::recv_signal), blocking this thread.
    pub fn recv_signal_blocking(&self) -> Result<Signal, RecvError> {
        self.rx.recv_signal_blocking()
    }

    /// [`recv_signal_blocking`](Self::recv_signal_blocking), giving up after `timeout`.
    pub fn recv_signal_timeout(&self, timeout: Duration) -> Result<Signal, RecvTimeoutError> {
        self.rx.recv_signal_timeout(timeout)
    }

    /// Take a signal if one is waiting.
    pub fn try_recv_signal(&self) -> Result<Signal, TryRecvError> {
        self.rx.try_recv_signal()
    }

    /// Whether the component has finished.
    pub fn is_finished(&self) -> bool {
        self.rx.is_finished()
    }

    /// A future resolving to the component's outcome when it finishes.
    pub fn finished(&self) -> Finished {
        self.rx.finished()
    }

    /// Block until the component finishes (an error if its system is not
    /// running: see [`ComponentRef::finished`]).
    pub fn join(&self) -> Result<Outcome, JoinError> {
        self.rx.join()
    }

    /// [`join`](Self::join), giving up after `timeout` ([`JoinError::Timeout`]).
    pub fn join_timeout(&self, timeout: Duration) -> Result<Outcome, JoinError> {
        self.rx.join_timeout(timeout)
    }
}

impl<I: Send + 'static> HandleSender<I> {
    /// The component being driven.
    pub fn component(&self) -> &ComponentRef {
        &self.component
    }

    /// See [`Handle::send`].
    pub async fn send(&mut self, msg: I) -> Result<(), SendError<I>> {
        match &mut self.inbox {
            Some(out) => out.send(msg).await,
            None => Err(SendError::new(msg)),
        }
    }

    /// See [`Handle::send_blocking`].
    pub fn send_blocking(&mut self, msg: I) -> Result<(), SendError<I>> {
        crate::runtime::block_on::block_on(self.send(msg))
    }

    /// See [`Handle::try_send`].
    pub fn try_send(&mut self, msg: I) -> Result<(), TrySendError<I>> {
        match &mut self.inbox {
            Some(out) => out.try_send(msg),
            None => Err(TrySendError::Closed(msg)),
        }
    }

    /// See [`Handle::send_control`].
    pub fn send_control(&mut self, signal: Signal) -> Result<(), TrySendError<Signal>> {
        match &mut self.control {
            Some(out) => out.try_send(signal),
            None => Err(TrySendError::Closed(signal)),
        }
    }

    /// See [`Handle::shutdown`].
    pub fn shutdown(&mut self) -> Result<(), TrySendError<Signal>> {
        self.send_control(Signal::ShutdownMicroprocess)
    }

    /// See [`Handle::close`].
    pub fn close(&mut self) {
        self.inbox = None;
        self.control = None;
    }
}

impl<O: Send + 'static> HandleReceiver<O> {
    /// The component being driven.
    pub fn component(&self) -> &ComponentRef {
        &self.component
    }

    /// See [`Handle::recv`].
    pub async fn recv(&self) -> Result<O, RecvError> {
        match &self.outbox {
            Some(inbox) => self.settle(inbox, inbox.recv_one().await).await,
            None => Err(RecvError::Closed),
        }
    }

    /// A component's outboxes can close (when its body returns and drops them)
    /// a moment before the kernel sends its failure report out of `signal`, so
    /// `Closed` is trusted only once the component has finished, after one more
    /// look.
    async fn settle<T: Send + 'static>(
        &self,
        inbox: &Inbox<T>,
        got: Result<T, RecvError>,
    ) -> Result<T, RecvError> {
        match got {
            Ok(m) => Ok(m),
            Err(RecvError::Closed) => {
                // An error means its system is not running: look once more all the same.
                let _ = self.component.finished().await;
                inbox.try_recv_one().map_err(|_| RecvError::Closed)
            }
        }
    }

    /// See [`Handle::recv_blocking`].
    pub fn recv_blocking(&self) -> Result<O, RecvError> {
        crate::runtime::block_on::block_on(self.recv())
    }

    /// See [`Handle::recv_timeout`].
    pub fn recv_timeout(&self, timeout: Duration) -> Result<O, RecvTimeoutError> {
        match crate::runtime::block_on::block_on_timeout(self.recv(), Some(timeout)) {
            Some(Ok(m)) => Ok(m),
            Some(Err(RecvError::Closed)) => Err(RecvTimeoutError::Closed),
            None => Err(RecvTimeoutError::Timeout),
        }
    }

    /// See [`Handle::try_recv`].
    pub fn try_recv(&self) -> Result<O, TryRecvError> {
        match &self.outbox {
            Some(inbox) => self.settle_now(inbox.try_recv_one()),
            None => Err(TryRecvError::Closed),
        }
    }

    /// `try_recv` cannot wait for the component to finish: until it has,
    /// `Closed` is reported as `Empty` (see `settle`).
    fn settle_now<T>(&self, got: Result<T, TryRecvError>) -> Result<T, TryRecvError> {
        match got {
            Err(TryRecvError::Closed) if !self.component.is_finished() => Err(TryRecvError::Empty),
            other => other,
        }
    }

    /// See [`Handle::recv_signal`].
    pub async fn recv_signal(&self) -> Result<Signal, RecvError> {
        match &self.signal {
            Some(inbox) => self.settle(inbox, inbox.recv_one().await).await,
            None => Err(RecvError::Closed),
        }
    }

    /// See [`Handle::recv_signal_blocking`].
    pub fn recv_signal_blocking(&self) -> Result<Signal, RecvError> {
        crate::runtime::block_on::block_on(self.recv_signal())
    }

    /// See [`Handle::recv_signal_timeout`].
    pub fn recv_signal_timeout(&self, timeout: Duration) -> Result<Signal, RecvTimeoutError> {
        match crate::runtime::block_on::block_on_timeout(self.recv_signal(), Some(timeout)) {
            Some(Ok(m)) => Ok(m),
            Some(Err(RecvError::Closed)) => Err(RecvTimeoutError::Closed),
            None => Err(RecvTimeoutError::Timeout),
        }
    }

    /// See [`Handle::try_recv_signal`].
    pub fn try_recv_signal(&self) -> Result<Signal, TryRecvError> {
        match &self.signal {
            Some(inbox) => self.settle_now(inbox.try_recv_one()),
            None => Err(TryRecvError::Closed),
        }
    }

    /// See [`Handle::is_finished`].
    pub fn is_finished(&self) -> bool {
        self.component.is_finished()
    }

    /// See [`Handle::finished`].
    pub fn finished(&self) -> Finished {
        self.component.finished()
    }

    /// See [`Handle::join`].
    pub fn join(&self) -> Result<Outcome, JoinError> {
        self.component.join()
    }

    /// See [`Handle::join_timeout`].
    pub fn join_timeout(&self, timeout: Duration) -> Result<Outcome, JoinError> {
        self.component.join_timeout(timeout)
    }
}
