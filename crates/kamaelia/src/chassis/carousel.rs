//! [`Carousel`]: one child at a time, each made by a factory from a message on
//! the `next` inbox (Kamaelia's newer `Carousel`).
//!
//! Boxes: `inbox` (passed through to the current child's `inbox`), `next`
//! (arguments for the factory), `control`; `outbox` (the current child's
//! `outbox`, passed out), `signal`, `requestNext` ([`NextRequest`]s asking
//! whoever feeds `next` for the next argument).
//!
//! * A message on `next` with no child running: the factory makes a child,
//!   which is wired in and started.
//! * A message on `next` while a child runs waits: the running child is asked
//!   to finish ([`Signal::ShutdownMicroprocess`] on its `control`), keeps its
//!   wiring until it has ended, and then the waiting argument makes the next
//!   child. Later `next` messages queue behind it in the `next` inbox, each
//!   served in turn. With [`interrupt_on_next(false)`](Carousel::interrupt_on_next)
//!   the running child is not asked: it runs to its end first (as does a
//!   child with no `control` inbox, which cannot be asked).
//! * A child ends (however it ends): it is unwired and disowned, and unless a
//!   `next` argument is already waiting or the carousel is stopping, one
//!   [`NextRequest`] goes out of `requestNext`. What the child says on its own
//!   `signal` is ignored; its end is what counts.
//! * [`Signal::ProducerFinished`] on `control`: queued `next` arguments are
//!   served first, as above. When none is left, the running child (if any) is
//!   passed the `ProducerFinished` on its `control`; once it has ended, the
//!   carousel sends `ProducerFinished` out of `signal` and ends.
//! * [`Signal::ShutdownMicroprocess`] (or a passed-on [`Signal::Failed`]) on
//!   `control`: queued arguments are dropped unserved, the running child is
//!   passed the message on its `control` (a child with no `control` inbox is
//!   [stopped](axon::ComponentRef::stop)); once it has ended, the carousel
//!   sends the message out of `signal` and ends. With no child running it ends
//!   at once.
//! * `next` closes (every sender gone) and nothing is queued: once the running
//!   child has ended, the carousel sends [`Signal::ProducerFinished`] and ends
//!   (a Rust addition: Kamaelia had no closure).
//!
//! With [`make_first_request`](Carousel::make_first_request) the carousel asks
//! for its first child as soon as it starts.
//!
//! Differences from Kamaelia's: a shutdown arriving after a
//! `ProducerFinished` was passed to the child is passed on too (Kamaelia told a
//! child once), and a child with no `control` inbox is stopped on a shutdown
//! rather than left running.
//!
//! The message types are the carousel's type parameters: `A` on `next`, `I` on
//! `inbox`, `O` on `outbox`. A child whose `inbox`/`outbox` carry other types is
//! not started; the carousel fails with a [`ChassisError::TypeMismatch`].
//!
//! ```
//! use axon::{Component, Inbox, Outbox, Prefab, System};
//! use kamaelia::chassis::Carousel;
//!
//! // Each `next` message makes a child that sends that many greetings, then ends.
//! let carousel = Carousel::<u32, (), String>::new(|n| {
//!     Prefab::new(Component::new("greeter").outbox::<String>("outbox"), move |mut cx| async move {
//!         let mut out = cx.outbox::<String>("outbox")?;
//!         for i in 0..n {
//!             out.send(format!("hello {i} of {n}")).await?;
//!         }
//!         Ok(())
//!     })
//! })
//! .build();
//! let sys = System::builder().threads(1).build();
//! let c = carousel.spawn(&sys);
//! let mut next = Outbox::<u32>::detached("next");
//! let mut out = Inbox::<String>::detached("out");
//! axon::link(&next.endpoint(), &c.inbox("next").unwrap()).unwrap();
//! axon::link(&c.outbox("outbox").unwrap(), &out.endpoint()).unwrap();
//! // Two requests at once: the second waits for the first child to end. (A
//! // greeter does not read its `control` inbox: asked to make way, it
//! // carries on to its end.)
//! next.try_send(2).unwrap();
//! next.try_send(1).unwrap();
//! drop(next); // no more children: the carousel ends after these
//! sys.run();
//! let got: Vec<String> = std::iter::from_fn(|| out.try_recv().ok()).collect();
//! assert_eq!(got, ["hello 0 of 2", "hello 1 of 2", "hello 0 of 1"]);
//! ```

use std::fmt;
use std::marker::PhantomData;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll};

use axon::select::{select4_biased, Either4, Selectable};
use axon::{Component, ComponentRef, Context, Direction, Inbox, Outbox, Prefab, Signal, TryRecvError};

use super::{box_type, link_by_name, send_quietly, ChassisError};

/// What a [`Carousel`] sends out of `requestNext`: "make me my next child".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct NextRequest;

type Factory<A> = Box<dyn FnMut(A) -> Prefab + Send>;

/// Builds a Carousel making children of `A -> Prefab`, with `inbox` carrying `I`
/// and `outbox` carrying `O`.
#[must_use = "a Carousel is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct Carousel<A, I, O> {
    name: String,
    factory: Factory<A>,
    first_request: bool,
    interrupt: bool,
    types: PhantomData<fn(I) -> O>,
}

impl<A, I, O> fmt::Debug for Carousel<A, I, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Carousel")
            .field("name", &self.name)
            .field("first_request", &self.first_request)
            .field("interrupt_on_next", &self.interrupt)
            .finish()
    }
}

impl<A: Send + 'static, I: Send + 'static, O: Send + 'static> Carousel<A, I, O> {
    /// A carousel making each child with `factory`.
    pub fn new(factory: impl FnMut(A) -> Prefab + Send + 'static) -> Self {
        Carousel {
            name: "Carousel".to_string(),
            factory: Box::new(factory),
            first_request: false,
            interrupt: true,
            types: PhantomData,
        }
    }

    /// Name the carousel component.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Send a [`NextRequest`] as soon as the carousel starts (Kamaelia's
    /// `make1stRequest`).
    pub fn make_first_request(mut self, yes: bool) -> Self {
        self.first_request = yes;
        self
    }

    /// Whether a `next` message arriving while a child runs asks that child
    /// to finish ([`Signal::ShutdownMicroprocess`] on its `control`), as
    /// Kamaelia's does (the default), or lets it run to its end. Either way
    /// the next child starts only once the current one has ended.
    pub fn interrupt_on_next(mut self, yes: bool) -> Self {
        self.interrupt = yes;
        self
    }

    /// The carousel as a component ready to run.
    pub fn build(self) -> Prefab {
        let spec = Component::new(self.name)
            .inbox::<I>("inbox")
            .inbox::<A>("next")
            .inbox::<Signal>("_control")
            .outbox::<O>("outbox")
            .outbox::<NextRequest>("requestNext")
            .outbox::<Signal>("_signal");
        let opts = Options {
            first_request: self.first_request,
            interrupt: self.interrupt,
        };
        let factory = self.factory;
        Prefab::new(spec, move |cx| async move {
            Ok(run::<A, I, O>(cx, factory, opts).await?)
        })
    }
}

/// An inbox whose messages are selected but whose closure is not: the
/// children's `signal` outboxes come and go, and between two children the
/// box reads as closed. Only used where every new sender is linked by the
/// selecting loop itself, so no wakeup is lost by not registering one here.
struct MessagesOnly<'a, T: Send + 'static>(&'a mut Inbox<T>);

impl<T: Send + 'static> Selectable for MessagesOnly<'_, T> {
    type Output = T;
    fn poll_select(&mut self, cx: &mut TaskContext<'_>) -> Poll<T> {
        match self.0.poll_recv(cx) {
            Poll::Ready(Ok(m)) => Poll::Ready(m),
            Poll::Ready(Err(_)) | Poll::Pending => Poll::Pending,
        }
    }
}

#[derive(Clone, Copy)]
struct Options {
    first_request: bool,
    interrupt: bool,
}

/// The child now plugged in.
struct Current {
    child: ComponentRef,
    /// Our `_signal` feeds its `control`.
    told: bool,
    /// It has been passed a shutdown.
    asked_stop: bool,
    /// It has been passed a `ProducerFinished`.
    asked_finish: bool,
}

impl Current {
    /// Pass `msg` to the child on its `control`. A child that has no
    /// `control` inbox cannot be told: with `force` (the carousel itself is
    /// shutting down) it is stopped, otherwise it runs on.
    async fn ask(&mut self, to_child: &mut Outbox<Signal>, msg: Signal, force: bool) {
        if !self.told {
            if force && !self.asked_stop {
                self.asked_stop = true;
                tracing::trace!(child = %self.child.name(), "carousel stops its child (it has no control inbox)");
                self.child.stop();
            }
            return;
        }
        if msg.is_shutdown() {
            self.asked_stop = true;
        } else {
            self.asked_finish = true;
        }
        tracing::trace!(child = %self.child.name(), ?msg, "carousel asks its child to finish");
        // A child that has already ended no longer receives: nothing to tell it.
        send_quietly(to_child, msg).await;
    }
}

/// Check the child's boxes against the carousel's types.
fn check_child<I: 'static, O: 'static>(spec: &Component) -> Result<(), ChassisError> {
    for (dir, b, want) in [
        (Direction::In, "inbox", std::any::type_name::<I>()),
        (Direction::Out, "outbox", std::any::type_name::<O>()),
        (Direction::In, "control", std::any::type_name::<Signal>()),
        (Direction::Out, "signal", std::any::type_name::<Signal>()),
    ] {
        match box_type(spec, dir, b) {
            Some(t) if t != want => {
                let (ours, theirs) = (format!("Carousel.{b}"), format!("{}.{b}", spec.name()));
                let (source_box, source_type, sink, sink_type) = match dir {
                    Direction::In => (ours, want, theirs, t),
                    Direction::Out => (theirs, t, ours, want),
                };
                return Err(ChassisError::TypeMismatch {
                    source_box,
                    source_type,
                    sink,
                    sink_type,
                });
            }
            _ => {}
        }
    }
    Ok(())
}

async fn run<A: Send + 'static, I: Send + 'static, O: Send + 'static>(
    mut cx: Context,
    mut factory: Factory<A>,
    opts: Options,
) -> Result<(), ChassisError> {
    let mut control = Some(cx.inbox::<Signal>("control")?);
    let mut next: Option<Inbox<A>> = Some(cx.inbox::<A>("next")?);
    let mut from_child = cx.inbox::<Signal>("_control")?;
    let mut signal = cx.outbox::<Signal>("signal")?;
    let mut to_child = cx.outbox::<Signal>("_signal")?;
    let mut request = cx.outbox::<NextRequest>("requestNext")?;
    let me = cx.me().clone();
    if opts.first_request {
        send_quietly(&mut request, NextRequest).await;
    }
    let mut current: Option<Current> = None;
    // The `next` argument to serve when the current child has ended.
    let mut waiting: Option<A> = None;
    // A shutdown seen on `control` (ends without serving what is queued).
    let mut must_stop: Option<Signal> = None;
    // A `ProducerFinished` seen on `control` (serves what is queued first).
    let mut please_stop: Option<Signal> = None;
    loop {
        // Anything queued on `next` counts as waiting (and is served before
        // a `ProducerFinished` takes effect).
        if waiting.is_none() && must_stop.is_none() {
            if let Some(n) = next.as_mut() {
                match n.try_recv() {
                    Ok(a) => waiting = Some(a),
                    Err(TryRecvError::Closed) => next = None,
                    Err(TryRecvError::Empty) => {}
                }
            }
        }
        match current.as_mut() {
            None => {
                if let Some(msg) = must_stop.take() {
                    send_quietly(&mut signal, msg).await;
                    return Ok(());
                }
                if let Some(arg) = waiting.take() {
                    // Forget anything an earlier child said.
                    while from_child.try_recv().is_ok() {}
                    current = Some(start_child::<A, I, O>(&cx, &me, &mut factory, arg)?);
                    continue;
                }
                if let Some(msg) = please_stop.take() {
                    send_quietly(&mut signal, msg).await;
                    return Ok(());
                }
                if next.is_none() {
                    break;
                }
            }
            Some(cur) => {
                if let Some(msg) = &must_stop {
                    if !cur.asked_stop {
                        cur.ask(&mut to_child, msg.clone(), true).await;
                    }
                } else if waiting.is_some() {
                    if opts.interrupt && !cur.asked_stop {
                        cur.ask(&mut to_child, Signal::ShutdownMicroprocess, false).await;
                    }
                } else if let Some(msg) = &please_stop {
                    if !cur.asked_finish && !cur.asked_stop {
                        cur.ask(&mut to_child, msg.clone(), false).await;
                    }
                }
            }
        }
        // Wait for news: `control`, the child's end, a `next` argument (only
        // while none is waiting), or (ignored) what the child says.
        let watching_child = current.is_some();
        let mut exit = pin!(cx.child_exit());
        let mut exit = watching_child.then_some(exit.as_mut());
        let mut next_side = if waiting.is_none() && must_stop.is_none() {
            next.as_mut()
        } else {
            None
        };
        match select4_biased(
            &mut control,
            &mut exit,
            &mut next_side,
            &mut MessagesOnly(&mut from_child),
        )
        .await
        {
            Either4::A(Ok(msg)) => {
                if msg.is_shutdown() {
                    if must_stop.is_none() {
                        must_stop = Some(msg);
                    }
                    // Queued arguments are not served.
                    if waiting.take().is_some() {
                        tracing::debug!("carousel shutting down: a waiting `next` argument is dropped");
                    }
                } else {
                    please_stop = Some(msg);
                }
            }
            Either4::A(Err(_)) => control = None,
            // `None`: no child is left at all, so the current one has gone too.
            Either4::B(e) => {
                if let Some(cur) = current.take() {
                    if let Some(e) = &e {
                        if e.child != cur.child {
                            // Not ours (any more): keep watching ours.
                            current = Some(cur);
                            continue;
                        }
                        tracing::trace!(child = %e.child.name(), outcome = ?e.outcome, "carousel child ended");
                    }
                    cx.remove_child(&cur.child);
                }
                if waiting.is_none() && must_stop.is_none() && please_stop.is_none() {
                    // One more look, so as not to ask for what is already here.
                    if let Some(n) = next.as_mut() {
                        match n.try_recv() {
                            Ok(a) => waiting = Some(a),
                            Err(TryRecvError::Closed) => next = None,
                            Err(TryRecvError::Empty) => {}
                        }
                    }
                    if waiting.is_none() && next.is_some() {
                        send_quietly(&mut request, NextRequest).await;
                    }
                }
            }
            Either4::C(Ok(arg)) => waiting = Some(arg),
            Either4::C(Err(_)) => next = None,
            Either4::D(msg) => tracing::trace!(?msg, "carousel child signalled (ignored: its end counts)"),
        }
    }
    send_quietly(&mut signal, Signal::ProducerFinished).await;
    Ok(())
}

/// Make, wire and start the child for `arg`.
fn start_child<A: Send + 'static, I: Send + 'static, O: Send + 'static>(
    cx: &Context,
    me: &ComponentRef,
    factory: &mut Factory<A>,
    arg: A,
) -> Result<Current, ChassisError> {
    let prefab = factory(arg);
    check_child::<I, O>(prefab.spec())?;
    // Wired before it can run, so nothing it sends is lost.
    let dormant = prefab.create_child(cx);
    let child = dormant.component().clone();
    let mut told = false;
    for (src, dst) in [
        (me.any_inbox("inbox"), child.any_inbox("inbox")),
        (child.any_outbox("outbox"), me.any_outbox("outbox")),
        (me.any_outbox("_signal"), child.any_inbox("control")),
        (child.any_outbox("signal"), me.any_inbox("_control")),
    ] {
        if let (Ok(src), Ok(dst)) = (src, dst) {
            link_by_name(cx, &src, &dst)?;
            told |= src.name() == "_signal";
        }
    }
    let child = dormant.activate();
    Ok(Current {
        child,
        told,
        asked_stop: false,
        asked_finish: false,
    })
}
