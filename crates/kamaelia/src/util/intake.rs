//! [`Intake`]: a component's `inbox` and `control` read together, under the
//! Kamaelia shutdown convention.
//!
//! Nearly every component loops "take the next message, deal with it, watch
//! `control` for a reason to stop". `Intake` is that loop's receiving half,
//! written once so every component in [`crate::util`] stops the same way:
//!
//! * [`recv`](Intake::recv) gives the next message from `inbox`, or `None` when
//!   the component should end;
//! * `control` is looked at first: `ShutdownMicroprocess` (or a `Failed` passed
//!   down a chain) ends at once; `ProducerFinished` lets whatever is already in
//!   `inbox` through, then ends;
//! * `inbox` closing (every sender gone, nothing left) ends as if
//!   `ProducerFinished` had arrived;
//! * [`send`](Intake::send) delivers on any outbox but gives up if a shutdown
//!   arrives while it waits for space, so a stuck consumer cannot keep a
//!   component from stopping;
//! * [`finish`](Intake::finish) passes the reason on out of `signal`.
//!
//! Waiting uses the inboxes' own wakeups (no polling), checking closure under
//! the same lock as the wait, so an inbox that closes is never missed.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use axon::{BoxError, Context, Inbox, Outbox, RecvError, Signal, TrySendError};

/// An outbox's destination no longer receives (its component ended), so a
/// message could not be delivered.
///
/// Components in this module fail with it (so [`Signal::Failed`] goes out of
/// their `signal`) when their consumer has gone.
///
/// ```
/// use kamaelia::util::DestinationClosed;
/// let e = DestinationClosed { outbox: "outbox".into() };
/// assert!(e.to_string().contains("destination has closed"), "{e}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("outbox {outbox:?}: its destination has closed (the receiving component ended); the message was not delivered")]
pub struct DestinationClosed {
    /// The outbox that could not deliver.
    pub outbox: String,
}

#[derive(Debug)]
enum State {
    Open,
    /// `ProducerFinished` seen: hand out what is already queued, then end.
    Draining(Signal),
    Ended(Signal),
}

/// The `inbox` and `control` boxes of a component, read under the shutdown
/// convention (see the [module docs](self)).
///
/// ```
/// use axon::{Component, Prefab, Signal, System};
/// use kamaelia::util::{collector, data_source, Intake};
///
/// // A component that sums what it receives and sends the total when its input ends.
/// fn summer() -> Prefab {
///     Prefab::new(Component::new("summer").inbox_and_outbox::<u32, u32>(), |mut cx| async move {
///         let mut intake = Intake::<u32>::take(&mut cx)?;
///         let mut out = cx.outbox::<u32>("outbox")?;
///         let mut signal = cx.outbox::<Signal>("signal")?;
///         let mut total = 0;
///         while let Some(x) = intake.recv().await {
///             total += x;
///         }
///         if intake.ending() == Some(&Signal::ProducerFinished) {
///             intake.send(&mut out, total).await?;
///         }
///         intake.finish(&mut signal).await;
///         Ok(())
///     })
/// }
///
/// let sys = System::builder().threads(1).build();
/// let src = data_source(1..=4u32).spawn(&sys);
/// let sum = summer().spawn(&sys);
/// let (sink, got) = collector::<u32>();
/// let sink = sink.spawn(&sys);
/// for (a, b) in [(&src, &sum), (&sum, &sink)] {
///     axon::link(&a.outbox::<u32>("outbox")?, &b.inbox("inbox")?)?;
///     axon::link(&a.outbox::<Signal>("signal")?, &b.inbox("control")?)?;
/// }
/// sys.run();
/// assert_eq!(got.take(), [10]);
/// assert_eq!(got.ending(), Some(Signal::ProducerFinished));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Intake<T: Send + 'static> {
    inbox: Inbox<T>,
    control: Inbox<Signal>,
    state: State,
}

impl<T: Send + 'static> Intake<T> {
    /// Read these two boxes together.
    ///
    /// ```
    /// # use axon::{Component, Outbox, Signal, System};
    /// # use kamaelia::util::Intake;
    /// # let sys = System::builder().threads(1).build();
    /// # let c = sys.spawn(Component::new("c").inbox_and_outbox::<u8, u8>(), |mut cx| async move {
    /// let mut inbox = cx.inbox::<u8>("inbox")?;
    /// let mut control = cx.inbox::<Signal>("control")?;
    /// let mut intake = Intake::new(inbox, control);
    /// assert_eq!(intake.recv().await, Some(1));
    /// # Ok::<(), axon::Error>(())
    /// # });
    /// # let mut feed = Outbox::<u8>::detached("feed");
    /// # axon::link(&feed.endpoint(), &c.inbox("inbox")?)?;
    /// # feed.try_send(1)?;
    /// # drop(feed);
    /// # sys.run();
    /// # assert_eq!(c.outcome(), Some(axon::Outcome::Finished));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(inbox: Inbox<T>, control: Inbox<Signal>) -> Self {
        Intake {
            inbox,
            control,
            state: State::Open,
        }
    }

    /// Take the component's `inbox` (carrying `T`) and `control` boxes.
    ///
    /// ```
    /// # use axon::{Component, Outbox, Signal, System};
    /// # use kamaelia::util::Intake;
    /// # let sys = System::builder().threads(1).build();
    /// # let c = sys.spawn(Component::new("c").inbox_and_outbox::<u8, u8>(), |mut cx| async move {
    /// let mut intake = Intake::<u8>::take(&mut cx)?;
    /// assert_eq!(intake.recv().await, Some(1));
    /// assert!(cx.inbox::<u8>("inbox").is_err(), "taken");
    /// # Ok::<(), axon::Error>(())
    /// # });
    /// # let mut feed = Outbox::<u8>::detached("feed");
    /// # axon::link(&feed.endpoint(), &c.inbox("inbox")?)?;
    /// # feed.try_send(1)?;
    /// # drop(feed);
    /// # sys.run();
    /// # assert_eq!(c.outcome(), Some(axon::Outcome::Finished));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn take(cx: &mut Context) -> Result<Self, BoxError> {
        let inbox = cx.inbox::<T>("inbox")?;
        let control = cx.inbox::<Signal>("control")?;
        Ok(Intake::new(inbox, control))
    }

    /// The data inbox (to check its length, change its size, ...).
    ///
    /// ```
    /// # use axon::{Component, Outbox, Signal, System};
    /// # use kamaelia::util::Intake;
    /// # let sys = System::builder().threads(1).build();
    /// # let c = sys.spawn(Component::new("c").inbox_and_outbox::<u8, u8>(), |mut cx| async move {
    /// let mut intake = Intake::<u8>::take(&mut cx)?;
    /// intake.inbox().set_size(Some(8));
    /// assert_eq!(intake.inbox().size(), Some(8));
    /// # while intake.recv().await.is_some() {}
    /// # Ok::<(), axon::Error>(())
    /// # });
    /// # let mut feed = Outbox::<u8>::detached("feed");
    /// # axon::link(&feed.endpoint(), &c.inbox("inbox")?)?;
    /// # feed.try_send(1)?;
    /// # drop(feed);
    /// # sys.run();
    /// # assert_eq!(c.outcome(), Some(axon::Outcome::Finished));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn inbox(&self) -> &Inbox<T> {
        &self.inbox
    }

    /// Whether the component should stop (`recv` would return `None` without
    /// waiting).
    ///
    /// ```
    /// # use axon::{Component, Outbox, Signal, System};
    /// # use kamaelia::util::Intake;
    /// # let sys = System::builder().threads(1).build();
    /// # let c = sys.spawn(Component::new("c").inbox_and_outbox::<u8, u8>(), |mut cx| async move {
    /// let mut intake = Intake::<u8>::take(&mut cx)?;
    /// assert!(!intake.is_ended());
    /// while intake.recv().await.is_some() {}
    /// assert!(intake.is_ended());
    /// # Ok::<(), axon::Error>(())
    /// # });
    /// # let mut feed = Outbox::<u8>::detached("feed");
    /// # axon::link(&feed.endpoint(), &c.inbox("inbox")?)?;
    /// # feed.try_send(1)?;
    /// # drop(feed);
    /// # sys.run();
    /// # assert_eq!(c.outcome(), Some(axon::Outcome::Finished));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_ended(&self) -> bool {
        matches!(self.state, State::Ended(_))
    }

    /// Why the component is ending: the signal to pass on out of `signal`.
    /// `None` while it runs (or drains after `ProducerFinished`).
    ///
    /// ```
    /// # use axon::{Component, Outbox, Signal, System};
    /// # use kamaelia::util::Intake;
    /// # let sys = System::builder().threads(1).build();
    /// # let c = sys.spawn(Component::new("c").inbox_and_outbox::<u8, u8>(), |mut cx| async move {
    /// let mut intake = Intake::<u8>::take(&mut cx)?;
    /// assert_eq!(intake.recv().await, None); // shut down before reading the 1
    /// assert_eq!(intake.ending(), Some(&Signal::ShutdownMicroprocess));
    /// # Ok::<(), axon::Error>(())
    /// # });
    /// # let mut feed = Outbox::<u8>::detached("feed");
    /// # axon::link(&feed.endpoint(), &c.inbox("inbox")?)?;
    /// # let mut ctl = Outbox::<Signal>::detached("ctl");
    /// # axon::link(&ctl.endpoint(), &c.inbox("control")?)?;
    /// # feed.try_send(1)?;
    /// # ctl.try_send(Signal::ShutdownMicroprocess)?;
    /// # drop(feed);
    /// # sys.run();
    /// # assert_eq!(c.outcome(), Some(axon::Outcome::Finished));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ending(&self) -> Option<&Signal> {
        match &self.state {
            State::Ended(s) => Some(s),
            _ => None,
        }
    }

    /// Whether `ProducerFinished` has arrived and the component is handing
    /// out what is already queued before it ends.
    pub fn is_draining(&self) -> bool {
        matches!(self.state, State::Draining(_))
    }

    /// Watch `control` alone, leaving `inbox` untouched: `Ready` once the
    /// component must stop at once (`ShutdownMicroprocess` or `Failed`),
    /// `Pending` otherwise (a `ProducerFinished` is noted, see
    /// [`is_draining`](Self::is_draining)). For waiting on something else —
    /// a timer, a second inbox — while staying stoppable.
    ///
    /// ```
    /// # use axon::{Component, Outbox, Signal, System};
    /// # use kamaelia::util::Intake;
    /// # let sys = System::builder().threads(1).build();
    /// # let c = sys.spawn(Component::new("c").inbox_and_outbox::<u8, u8>(), |mut cx| async move {
    /// let mut intake = Intake::<u8>::take(&mut cx)?;
    /// // Wait for a shutdown without reading the data waiting in `inbox`.
    /// std::future::poll_fn(|tcx| intake.poll_stop(tcx)).await;
    /// assert_eq!(intake.ending(), Some(&Signal::ShutdownMicroprocess));
    /// assert_eq!(intake.inbox().len(), 1);
    /// # Ok::<(), axon::Error>(())
    /// # });
    /// # let mut feed = Outbox::<u8>::detached("feed");
    /// # axon::link(&feed.endpoint(), &c.inbox("inbox")?)?;
    /// # let mut ctl = Outbox::<Signal>::detached("ctl");
    /// # axon::link(&ctl.endpoint(), &c.inbox("control")?)?;
    /// # feed.try_send(1)?;
    /// # ctl.try_send(Signal::ShutdownMicroprocess)?;
    /// # sys.run();
    /// # assert_eq!(c.outcome(), Some(axon::Outcome::Finished));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn poll_stop(&mut self, cx: &mut TaskContext<'_>) -> Poll<()> {
        if self.stopping_now() || self.poll_control(cx) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Ended by something other than `ProducerFinished`: stop at once, send
    /// nothing more. (After `ProducerFinished` a component may still flush.)
    fn stopping_now(&self) -> bool {
        matches!(&self.state, State::Ended(s) if *s != Signal::ProducerFinished)
    }

    /// Look at `control`; true if the component must stop at once.
    fn poll_control(&mut self, cx: &mut TaskContext<'_>) -> bool {
        loop {
            match self.control.poll_recv(cx) {
                Poll::Ready(Ok(Signal::ProducerFinished)) => {
                    if matches!(self.state, State::Open) {
                        self.state = State::Draining(Signal::ProducerFinished);
                    }
                    // Already draining or ended: nothing more to do; look again
                    // in case a shutdown follows.
                }
                Poll::Ready(Ok(other)) => {
                    self.state = State::Ended(other);
                    return true;
                }
                // A closed control box means no one can ask us to stop; it is
                // not itself a reason to stop.
                Poll::Ready(Err(RecvError::Closed)) | Poll::Pending => return false,
            }
        }
    }

    /// Poll for the next message (the building block of [`recv`](Self::recv),
    /// for components that wait on further boxes as well).
    ///
    /// ```
    /// # use axon::{Component, Outbox, Signal, System};
    /// # use kamaelia::util::Intake;
    /// # let sys = System::builder().threads(1).build();
    /// # let c = sys.spawn(Component::new("c").inbox_and_outbox::<u8, u8>(), |mut cx| async move {
    /// let mut intake = Intake::<u8>::take(&mut cx)?;
    /// let extra = Option::<u8>::None; // e.g. another inbox polled first
    /// let got = std::future::poll_fn(|tcx| match extra {
    ///     Some(x) => std::task::Poll::Ready(Some(x)),
    ///     None => intake.poll_recv(tcx),
    /// })
    /// .await;
    /// assert_eq!(got, Some(1));
    /// # Ok::<(), axon::Error>(())
    /// # });
    /// # let mut feed = Outbox::<u8>::detached("feed");
    /// # axon::link(&feed.endpoint(), &c.inbox("inbox")?)?;
    /// # feed.try_send(1)?;
    /// # drop(feed);
    /// # sys.run();
    /// # assert_eq!(c.outcome(), Some(axon::Outcome::Finished));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn poll_recv(&mut self, cx: &mut TaskContext<'_>) -> Poll<Option<T>> {
        if matches!(self.state, State::Ended(_)) {
            return Poll::Ready(None);
        }
        if self.poll_control(cx) {
            return Poll::Ready(None);
        }
        if let State::Draining(sig) = &self.state {
            // Take only what is already here. `poll_recv` (rather than
            // `try_recv`) so a long drain still yields to other components
            // now and then; with data waiting, its `Pending` means just that.
            if self.inbox.is_empty() {
                self.state = State::Ended(sig.clone());
                return Poll::Ready(None);
            }
            return match self.inbox.poll_recv(cx) {
                Poll::Ready(Ok(x)) => Poll::Ready(Some(x)),
                Poll::Ready(Err(RecvError::Closed)) => {
                    self.state = State::Ended(sig.clone());
                    Poll::Ready(None)
                }
                Poll::Pending => Poll::Pending,
            };
        }
        match self.inbox.poll_recv(cx) {
            Poll::Ready(Ok(x)) => Poll::Ready(Some(x)),
            Poll::Ready(Err(RecvError::Closed)) => {
                self.state = State::Ended(Signal::ProducerFinished);
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// The next message, or `None` when the component should end (then
    /// [`ending`](Self::ending) says why).
    ///
    /// ```
    /// # use axon::{Component, Outbox, Signal, System};
    /// # use kamaelia::util::Intake;
    /// # let sys = System::builder().threads(1).build();
    /// # let c = sys.spawn(Component::new("c").inbox_and_outbox::<u8, u8>(), |mut cx| async move {
    /// let mut intake = Intake::<u8>::take(&mut cx)?;
    /// let mut got = Vec::new();
    /// while let Some(x) = intake.recv().await {
    ///     got.push(x);
    /// }
    /// assert_eq!(got, [1, 2]); // drained before ending
    /// assert_eq!(intake.ending(), Some(&Signal::ProducerFinished));
    /// # Ok::<(), axon::Error>(())
    /// # });
    /// # let mut feed = Outbox::<u8>::detached("feed");
    /// # axon::link(&feed.endpoint(), &c.inbox("inbox")?)?;
    /// # let mut ctl = Outbox::<Signal>::detached("ctl");
    /// # axon::link(&ctl.endpoint(), &c.inbox("control")?)?;
    /// # feed.try_send(1)?;
    /// # feed.try_send(2)?;
    /// # ctl.try_send(Signal::ProducerFinished)?;
    /// # drop(feed);
    /// # sys.run();
    /// # assert_eq!(c.outcome(), Some(axon::Outcome::Finished));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// [`recv`](Self::recv) for threaded components: blocks this thread.
    ///
    /// ```
    /// use axon::{Component, Outbox, Inbox, Prefab, Signal, System};
    /// use kamaelia::util::Intake;
    ///
    /// let p = Prefab::threaded(Component::new("t").inbox_and_outbox::<u8, u8>(), |mut cx| {
    ///     let mut intake = Intake::<u8>::take(&mut cx)?;
    ///     let mut signal = cx.outbox::<Signal>("signal")?;
    ///     while let Some(x) = intake.recv_blocking() {
    ///         assert_eq!(x, 1);
    ///     }
    ///     intake.finish_blocking(&mut signal);
    ///     Ok(())
    /// });
    /// let sys = System::builder().threads(1).build();
    /// let c = p.spawn(&sys);
    /// let mut sig = Inbox::<Signal>::detached("sig");
    /// axon::link(&c.outbox::<Signal>("signal")?, &sig.endpoint())?;
    /// let mut feed = Outbox::<u8>::detached("feed");
    /// axon::link(&feed.endpoint(), &c.inbox("inbox")?)?;
    /// feed.send_blocking(1)?;
    /// drop(feed);
    /// sys.run();
    /// assert_eq!(sig.try_recv(), Ok(Signal::ProducerFinished));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recv_blocking(&mut self) -> Option<T> {
        axon::block_on(self.recv())
    }

    /// Send `msg` on `out`, waiting for space, but give up if `control` asks
    /// the component to stop meanwhile.
    ///
    /// `Ok(true)`: delivered. `Ok(false)`: the component must stop at once
    /// (`ShutdownMicroprocess` or `Failed`) and `msg` was dropped with the rest
    /// of its unfinished work (a later `recv` returns `None`). `Err`: the
    /// destination has closed. After a graceful end (`ProducerFinished`, or the
    /// inbox closing) sends still go through, so a component can flush what
    /// it has kept back — unless a shutdown arrives meanwhile.
    ///
    /// ```
    /// # use axon::{Component, Outbox, Signal, System};
    /// # use kamaelia::util::Intake;
    /// # let sys = System::builder().threads(1).build();
    /// # let c = sys.spawn(Component::new("c").inbox_and_outbox::<u8, u8>(), |mut cx| async move {
    /// let mut intake = Intake::<u8>::take(&mut cx)?;
    /// let mut out = cx.outbox::<u8>("outbox")?;
    /// while let Some(x) = intake.recv().await {
    ///     if !intake.send(&mut out, x + 1).await? {
    ///         break; // told to stop while waiting for space
    ///     }
    /// }
    /// # assert_eq!(out.held(), 1); // nothing linked: held in the outbox
    /// # Ok::<(), axon::Error>(())
    /// # });
    /// # let mut feed = Outbox::<u8>::detached("feed");
    /// # axon::link(&feed.endpoint(), &c.inbox("inbox")?)?;
    /// # feed.try_send(1)?;
    /// # drop(feed);
    /// # sys.run();
    /// # assert_eq!(c.outcome(), Some(axon::Outcome::Finished));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn send<U: Send + 'static>(
        &mut self,
        out: &mut Outbox<U>,
        msg: U,
    ) -> Result<bool, DestinationClosed> {
        if self.stopping_now() {
            return Ok(false);
        }
        let name = out.name().to_string();
        let mut sending = out.send(msg);
        poll_fn(|cx| {
            if self.poll_control(cx) {
                return Poll::Ready(Ok(false));
            }
            match Pin::new(&mut sending).poll(cx) {
                Poll::Ready(Ok(())) => Poll::Ready(Ok(true)),
                Poll::Ready(Err(_)) => Poll::Ready(Err(DestinationClosed { outbox: name.clone() })),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }

    /// Pass the reason for ending on out of `signal` (`ProducerFinished` if the
    /// component ends on its own). A `signal` whose destination has closed is
    /// not an error: no one is listening.
    ///
    /// ```
    /// # use axon::{Component, Outbox, Signal, System};
    /// # use kamaelia::util::Intake;
    /// # let sys = System::builder().threads(1).build();
    /// # let c = sys.spawn(Component::new("c").inbox_and_outbox::<u8, u8>(), |mut cx| async move {
    /// let mut intake = Intake::<u8>::take(&mut cx)?;
    /// let mut signal = cx.outbox::<Signal>("signal")?;
    /// while intake.recv().await.is_some() {}
    /// intake.finish(&mut signal).await; // sends ProducerFinished: the inbox closed
    /// # Ok::<(), axon::Error>(())
    /// # });
    /// # let mut feed = Outbox::<u8>::detached("feed");
    /// # axon::link(&feed.endpoint(), &c.inbox("inbox")?)?;
    /// # feed.try_send(1)?;
    /// # drop(feed);
    /// # sys.run();
    /// # assert_eq!(c.outcome(), Some(axon::Outcome::Finished));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn finish(self, signal: &mut Outbox<Signal>) {
        let sig = match self.state {
            State::Ended(s) | State::Draining(s) => s,
            State::Open => Signal::ProducerFinished,
        };
        let _ = signal.send(sig).await;
    }

    /// [`finish`](Self::finish) for threaded components.
    ///
    /// ```
    /// use axon::{Component, Outbox, Inbox, Prefab, Signal, System};
    /// use kamaelia::util::Intake;
    ///
    /// let p = Prefab::threaded(Component::new("t").inbox_and_outbox::<u8, u8>(), |mut cx| {
    ///     let mut intake = Intake::<u8>::take(&mut cx)?;
    ///     let mut signal = cx.outbox::<Signal>("signal")?;
    ///     while let Some(x) = intake.recv_blocking() {
    ///         assert_eq!(x, 1);
    ///     }
    ///     intake.finish_blocking(&mut signal);
    ///     Ok(())
    /// });
    /// let sys = System::builder().threads(1).build();
    /// let c = p.spawn(&sys);
    /// let mut sig = Inbox::<Signal>::detached("sig");
    /// axon::link(&c.outbox::<Signal>("signal")?, &sig.endpoint())?;
    /// let mut feed = Outbox::<u8>::detached("feed");
    /// axon::link(&feed.endpoint(), &c.inbox("inbox")?)?;
    /// feed.send_blocking(1)?;
    /// drop(feed);
    /// sys.run();
    /// assert_eq!(sig.try_recv(), Ok(Signal::ProducerFinished));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish_blocking(self, signal: &mut Outbox<Signal>) {
        axon::block_on(self.finish(signal));
    }
}

/// An `Intake` can be one side of an [`axon::select`]: it hands over what
/// [`Intake::poll_recv`] does — `Some(message)`, or `None` once the component
/// should end (and from then on every time it is asked).
///
/// ```
/// use axon::select::{select2_biased, Either2};
/// use axon::{Component, Outbox, Prefab, Signal, System};
/// use kamaelia::util::Intake;
///
/// // Data on `inbox` and commands on `config`, commands first.
/// let spec = Component::new("c").inbox_and_outbox::<u8, u8>().inbox::<String>("config");
/// let sys = System::builder().threads(1).build();
/// let c = sys.spawn(spec, |mut cx| async move {
///     let mut intake = Intake::<u8>::take(&mut cx)?;
///     let mut config = Some(cx.inbox::<String>("config")?);
///     let mut seen = Vec::new();
///     loop {
///         match select2_biased(&mut config, &mut intake).await {
///             Either2::A(Ok(cmd)) => seen.push(cmd),
///             Either2::A(Err(_closed)) => config = None,
///             Either2::B(Some(x)) => seen.push(x.to_string()),
///             Either2::B(None) => break,
///         }
///     }
///     assert_eq!(seen, ["go", "1"]);
///     Ok(())
/// });
/// let mut cfg = Outbox::<String>::detached("cfg");
/// let mut feed = Outbox::<u8>::detached("feed");
/// axon::link(&cfg.endpoint(), &c.inbox("config")?)?;
/// axon::link(&feed.endpoint(), &c.inbox("inbox")?)?;
/// feed.try_send(1)?;
/// cfg.try_send("go".into())?;
/// drop((cfg, feed));
/// sys.run();
/// assert_eq!(c.outcome(), Some(axon::Outcome::Finished));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl<T: Send + 'static> axon::select::Selectable for Intake<T> {
    type Output = Option<T>;

    fn poll_select(&mut self, cx: &mut TaskContext<'_>) -> Poll<Option<T>> {
        self.poll_recv(cx)
    }
}

/// How many error reports an `error` outbox holds while nothing is linked to
/// it. Errors come from outside input (a peer sending garbage), so without a
/// bound an unlinked `error` outbox would grow with every bad message.
pub(crate) const ERROR_BACKLOG: usize = 64;

/// Take a component's `error` outbox, bounded by [`ERROR_BACKLOG`].
pub(crate) fn error_outbox<E: Send + 'static>(cx: &mut Context) -> Result<Outbox<E>, BoxError> {
    let out = cx.outbox::<E>("error")?;
    out.set_size(Some(ERROR_BACKLOG));
    Ok(out)
}

/// Report `e` on an `error` outbox without ever holding up the data path: if
/// the reports are not being collected (the outbox is unlinked and has
/// [`ERROR_BACKLOG`] waiting, or its consumer is full or gone) the report is
/// logged at `warn` level instead.
pub(crate) fn report<E: std::fmt::Display + Send + 'static>(errors: &mut Outbox<E>, e: E) {
    match errors.try_send(e) {
        Ok(()) => {}
        Err(TrySendError::Full(e)) => {
            tracing::warn!(error = %e, "error report not collected (error outbox full); logged instead")
        }
        Err(TrySendError::Closed(e)) => {
            tracing::warn!(error = %e, "error report not collected (error outbox closed); logged instead")
        }
    }
}
