//! [`Carousel`]: one child at a time, each made by a factory from a message on
//! the `next` inbox.
//!
//! Boxes: `inbox` (passed through to the current child's `inbox`), `next`
//! (arguments for the factory), `control`; `outbox` (the current child's
//! `outbox`, passed out), `signal`, `requestNext` ([`NextRequest`]s asking
//! whoever feeds `next` for the next argument).
//!
//! * A message on `next`: the current child, if any, is unplugged (sent
//!   [`Signal::ShutdownMicroprocess`] on its `control`, its linkages removed,
//!   disowned), and the factory's new child is started and plugged in.
//! * The child says it is done (a [`Signal`] out of its `signal`) or ends: the
//!   carousel unplugs it and sends one [`NextRequest`] out of `requestNext`.
//! * Any [`Signal`] on `control`: the current child is unplugged, the message
//!   goes out of `signal`, and the carousel ends.
//! * `next` closes (every sender gone) while no child runs: the carousel sends
//!   [`Signal::ProducerFinished`] and ends (a Rust addition: Kamaelia had no
//!   closure).
//!
//! With [`make_first_request`](Carousel::make_first_request) the carousel asks
//! for its first child as soon as it starts.
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
//! next.try_send(2).unwrap();
//! drop(next); // no more children: the carousel ends after this one
//! sys.run();
//! let got: Vec<String> = std::iter::from_fn(|| out.try_recv().ok()).collect();
//! assert_eq!(got, ["hello 0 of 2", "hello 1 of 2"]);
//! ```

use std::fmt;
use std::marker::PhantomData;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll};

use axon::select::{select4_biased, Either4, Selectable};
use axon::{ChildExit, Component, ComponentRef, Context, Direction, Inbox, Outbox, Prefab, Signal};

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
    types: PhantomData<fn(I) -> O>,
}

impl<A, I, O> fmt::Debug for Carousel<A, I, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Carousel")
            .field("name", &self.name)
            .field("first_request", &self.first_request)
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

    /// The carousel as a component ready to run.
    pub fn build(self) -> Prefab {
        let spec = Component::new(self.name)
            .inbox::<I>("inbox")
            .inbox::<A>("next")
            .inbox::<Signal>("_control")
            .outbox::<O>("outbox")
            .outbox::<NextRequest>("requestNext")
            .outbox::<Signal>("_signal");
        let (factory, first) = (self.factory, self.first_request);
        Prefab::new(spec, move |cx| async move {
            Ok(run::<A, I, O>(cx, factory, first).await?)
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

enum Ev<A> {
    Control(Signal),
    Next(A),
    NextClosed,
    ChildSaid(Signal),
    Exit(ChildExit),
}

/// The child now plugged in.
struct Current {
    child: ComponentRef,
    /// Our `_signal` feeds its `control`.
    told: bool,
}

struct State<'a> {
    cx: &'a Context,
    to_child: Outbox<Signal>,
    request: Outbox<NextRequest>,
    current: Option<Current>,
    /// A request has been sent for the current child's successor.
    done: bool,
}

impl State<'_> {
    /// Tell the current child to stop, unwire and disown it.
    fn unplug(&mut self) {
        if let Some(cur) = self.current.take() {
            if cur.told {
                // Lands straight in its `control`, before the linkage goes.
                let _ = self.to_child.try_send(Signal::ShutdownMicroprocess);
            }
            self.cx.remove_child(&cur.child);
        }
    }

    async fn request_next(&mut self) {
        if !self.done {
            self.done = true;
            send_quietly(&mut self.request, NextRequest).await;
        }
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
    first_request: bool,
) -> Result<(), ChassisError> {
    let control = cx.inbox::<Signal>("control")?;
    let next: Inbox<A> = cx.inbox::<A>("next")?;
    let mut from_child = cx.inbox::<Signal>("_control")?;
    let mut signal = cx.outbox::<Signal>("signal")?;
    let mut st = State {
        to_child: cx.outbox::<Signal>("_signal")?,
        request: cx.outbox::<NextRequest>("requestNext")?,
        cx: &cx,
        current: None,
        done: true,
    };
    if first_request {
        st.done = false;
        st.request_next().await;
    }
    let me = cx.me().clone();
    let (mut control, mut next) = (Some(control), Some(next));
    loop {
        let watching_child = st.current.is_some();
        if control.is_none() && next.is_none() && !watching_child {
            break;
        }
        let mut exit = pin!(cx.child_exit());
        let mut exit = watching_child.then_some(exit.as_mut());
        let ev = match select4_biased(
            &mut control,
            &mut MessagesOnly(&mut from_child),
            &mut next,
            &mut exit,
        )
        .await
        {
            Either4::A(Ok(m)) => Ev::Control(m),
            Either4::A(Err(_)) => {
                control = None;
                continue;
            }
            Either4::B(m) => Ev::ChildSaid(m),
            Either4::C(Ok(a)) => Ev::Next(a),
            Either4::C(Err(_)) => Ev::NextClosed,
            Either4::D(Some(e)) => Ev::Exit(e),
            // No child left at all: the current one has gone too.
            Either4::D(None) => {
                st.current = None;
                st.request_next().await;
                continue;
            }
        };
        match ev {
            Ev::Control(msg) => {
                st.unplug();
                send_quietly(&mut signal, msg).await;
                return Ok(());
            }
            Ev::ChildSaid(msg) => {
                tracing::trace!(?msg, "carousel child is done");
                st.request_next().await;
                st.unplug();
            }
            Ev::Exit(e) => {
                if st.current.as_ref().is_some_and(|c| c.child == e.child) {
                    st.current = None;
                    cx.remove_child(&e.child);
                    st.request_next().await;
                }
            }
            Ev::NextClosed => next = None,
            Ev::Next(arg) => {
                // Forget anything the old child said, then replace it.
                while from_child.try_recv().is_ok() {}
                st.unplug();
                let prefab = factory(arg);
                check_child::<I, O>(prefab.spec())?;
                let child = prefab.spawn_child(&cx);
                let mut told = false;
                for (src, dst) in [
                    (me.any_inbox("inbox"), child.any_inbox("inbox")),
                    (child.any_outbox("outbox"), me.any_outbox("outbox")),
                    (me.any_outbox("_signal"), child.any_inbox("control")),
                    (child.any_outbox("signal"), me.any_inbox("_control")),
                ] {
                    if let (Ok(src), Ok(dst)) = (src, dst) {
                        link_by_name(&cx, &src, &dst)?;
                        told |= src.name() == "_signal";
                    }
                }
                st.current = Some(Current { child, told });
                st.done = false;
            }
        }
        if next.is_none() && st.current.is_none() {
            break;
        }
    }
    send_quietly(&mut signal, Signal::ProducerFinished).await;
    Ok(())
}
