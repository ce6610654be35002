//! Backplane: a named publish/subscribe hub, found through the CAT.
//!
//! * [`backplane`]`(name)` is the hub. It registers two services with its
//!   system's [CAT](axon::cat): its `inbox` as [`input_service`]`(name)`
//!   (`Backplane_I_<name>`, where data is published) and its `configuration`
//!   inbox as [`config_service`]`(name)` (`Backplane_O_<name>`, where
//!   subscribers join and leave). Every message arriving on `inbox` goes to every
//!   current subscriber (cloned for all but the last). It keeps its subscriber
//!   count in the CAT as the tracked value [`subscribers_value`]`(name)` (a
//!   `usize`).
//! * [`publish_to`]`(name)` links its own `inbox` straight into the hub's
//!   `inbox` (an inbox->inbox passthrough linkage), so publishing costs no extra
//!   component hop: a message sent to a `PublishTo` lands directly in the hub.
//!   Its `control` does not stop the backplane; a signal there is passed on out
//!   of its `signal` and it ends.
//! * [`subscribe_to`]`(name)` asks the hub to join. The hub gives each
//!   subscriber a data outbox of its own ([`Context::add_outbox`]) linked
//!   straight into the subscriber's `outbox` (outbox->outbox), so the data does
//!   not pass through the subscriber component either, and a signal outbox
//!   linked to a private inbox of the subscriber. Subscribers may join and leave
//!   at any time; a subscriber that ends (normally, by failing, or by panicking)
//!   leaves.
//! * Shutting the backplane down ([`Signal::ShutdownMicroprocess`] or
//!   [`Signal::ProducerFinished`] on its `control`) passes that signal to every
//!   subscriber, which sends it out of its `signal` and ends; the backplane sends
//!   it out of its own `signal`, deregisters its services and ends. A new
//!   backplane of the same name can then be started.
//!
//! A `PublishTo` or `SubscribeTo` started before its backplane waits for it to
//! be registered (woken by the registration, no polling); a signal on its
//! `control` ends the wait. A name registered with another message type makes
//! it fail with a message naming both types.
//!
//! Delivery is lossless with backpressure: the hub waits while a subscriber's
//! destination is full, which holds up the other subscribers too. Data published
//! while nobody is subscribed is dropped (there is nobody to give it to), as in
//! Kamaelia. A subscriber whose destination closes (its consumer ended) is
//! dropped by the hub.
//!
//! ```
//! use axon::{Handle, Signal, System};
//! use kamaelia::backplane::{backplane, publish_to, subscribe_to, subscribers_value};
//!
//! let running = System::builder().threads(1).build().start();
//! let sys = running.system();
//! let mut hub: Handle<String, ()> = Handle::spawn(sys, backplane::<String>("news"))?;
//! let reader: Handle<(), String> = Handle::spawn(sys, subscribe_to::<String>("news"))?;
//! let mut writer: Handle<String, ()> = Handle::spawn(sys, publish_to::<String>("news"))?;
//!
//! // Wait until the subscription has reached the hub.
//! while sys.cat().retrieve_value::<usize>(&subscribers_value("news")).unwrap_or(0) < 1 {
//!     std::thread::sleep(std::time::Duration::from_millis(1));
//! }
//! writer.send_blocking("extra, extra".to_string())?;
//! assert_eq!(reader.recv_blocking()?, "extra, extra");
//!
//! // Shutting the backplane down reaches every subscriber.
//! hub.shutdown().unwrap();
//! assert_eq!(reader.recv_signal_blocking()?, Signal::ShutdownMicroprocess);
//! writer.shutdown().unwrap();
//! running.wait();
//! # Ok::<(), axon::Error>(())
//! ```

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;

use axon::cat::{Cat, CatError};
use axon::{AnyBoxRef, BoxRef, Component, Context, Direction, Inbox, Outbox, Prefab, Signal, TryRecvError};

/// The CAT service name of backplane `name`'s data inbox (`Backplane_I_<name>`).
pub fn input_service(name: &str) -> String {
    format!("Backplane_I_{name}")
}

/// The CAT service name of backplane `name`'s configuration inbox, where
/// [`Subscription`] requests go (`Backplane_O_<name>`).
pub fn config_service(name: &str) -> String {
    format!("Backplane_O_{name}")
}

/// The CAT tracked value holding backplane `name`'s number of subscribers (a
/// `usize`; 0 once it has shut down).
pub fn subscribers_value(name: &str) -> String {
    format!("Backplane_S_{name}")
}

/// Identifies one subscription to a backplane.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SubscriberId(u64);

impl SubscriberId {
    /// A fresh id, unique in this process.
    pub fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        SubscriberId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl Default for SubscriberId {
    fn default() -> Self {
        Self::new()
    }
}

/// A request to a backplane's configuration inbox ([`config_service`]).
/// [`subscribe_to`] sends these; plain code may too.
pub enum Subscription<T: Send + 'static> {
    /// Start sending everything published to `data` (an inbox, or an outbox
    /// that passes it on) and the backplane's shutdown signal to `signal`.
    Add {
        /// Names this subscription for [`Subscription::Remove`].
        id: SubscriberId,
        /// Where published data goes.
        data: BoxRef<T>,
        /// Where the backplane's shutdown signal goes.
        signal: BoxRef<Signal>,
    },
    /// Stop sending to subscription `id` (ignored if unknown).
    Remove {
        /// The subscription.
        id: SubscriberId,
    },
}

impl<T: Send + 'static> fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subscription::Add { id, data, signal } => f
                .debug_struct("Add")
                .field("id", id)
                .field("data", data)
                .field("signal", signal)
                .finish(),
            Subscription::Remove { id } => f.debug_struct("Remove").field("id", id).finish(),
        }
    }
}

/// One subscriber as the hub keeps it: its two added outboxes.
struct Subscriber<T: Send + 'static> {
    id: SubscriberId,
    data_name: String,
    data: Outbox<T>,
    signal_name: String,
    signal: Outbox<Signal>,
}

/// Withdraws the hub's services when it ends, however it ends (a panic or a
/// shutdown of the system drops the body, and with it this guard).
struct Registration {
    cat: Cat,
    services: Vec<(String, AnyBoxRef)>,
    /// The subscriber count, once this hub owns it (after registering).
    count: Option<String>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        for (name, service) in &self.services {
            let _ = self.cat.deregister_service_of(name, service);
        }
        if let Some(count) = &self.count {
            let _ = self.cat.update_value(count, 0usize);
        }
    }
}

/// Yield to the scheduler once (let others run during a long burst).
async fn yield_now() {
    let mut yielded = false;
    poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

/// Whichever of two futures finishes first.
enum First<A, B> {
    A(A),
    B(B),
}

async fn first<A: Future, B: Future>(a: A, b: B) -> First<A::Output, B::Output> {
    let mut a = pin!(a);
    let mut b = pin!(b);
    poll_fn(|cx| {
        if let Poll::Ready(x) = a.as_mut().poll(cx) {
            return Poll::Ready(First::A(x));
        }
        if let Poll::Ready(y) = b.as_mut().poll(cx) {
            return Poll::Ready(First::B(y));
        }
        Poll::Pending
    })
    .await
}

/// Wait for service `service` of message type `M`, unless a signal arrives on
/// `control` first (then `Ok(Err(signal))`).
async fn find_service<M: Send + 'static>(
    cx: &Context,
    control: &mut Inbox<Signal>,
    service: &str,
) -> Result<Result<BoxRef<M>, Signal>, axon::Error> {
    let cat = cx.system().cat().clone();
    let found = first(cat.wait_for_service(service), async {
        loop {
            match control.recv().await {
                Ok(s) => return s,
                // Nobody can signal us any more: wait for the service alone.
                Err(_) => std::future::pending::<()>().await,
            }
        }
    })
    .await;
    match found {
        First::A(_) => match cat.retrieve::<M>(service) {
            Ok(b) => Ok(Ok(b)),
            Err(e) => Err(e.into()),
        },
        First::B(signal) => Ok(Err(signal)),
    }
}

/// The backplane hub `name`, carrying messages of type `T`.
///
/// Boxes: `inbox` (`T`, published data; normally reached through
/// [`publish_to`]), `configuration` ([`Subscription<T>`]), `control` / `signal`.
/// Fails at start if a backplane of that name is already registered.
pub fn backplane<T: Clone + Send + 'static>(name: &str) -> Prefab {
    let name = name.to_string();
    let spec = Component::new(format!("Backplane({name})"))
        .inbox::<T>("inbox")
        .inbox::<Subscription<T>>("configuration");
    Prefab::new(spec, move |mut cx| async move {
        let mut data = cx.inbox::<T>("inbox")?;
        let mut config = cx.inbox::<Subscription<T>>("configuration")?;
        let mut control = cx.inbox::<Signal>("control")?;
        let mut signal = cx.outbox::<Signal>("signal")?;
        let cat = cx.system().cat().clone();
        let me = cx.me().clone();

        let mut registration = Registration {
            cat: cat.clone(),
            services: Vec::new(),
            count: None,
        };
        for (service, inbox) in [
            (input_service(&name), "inbox"),
            (config_service(&name), "configuration"),
        ] {
            cat.register_service(&service, &me, inbox)?;
            registration.services.push((service, me.any_inbox(inbox)?));
        }
        let count = subscribers_value(&name);
        match cat.track_value(&count, 0usize) {
            Err(CatError::NamespaceClash { .. }) => cat.update_value(&count, 0usize)?,
            other => other?,
        }
        registration.count = Some(count.clone());

        let mut subs: Vec<Subscriber<T>> = Vec::new();
        let mut burst = 0u32;
        loop {
            // Control first, then joins and leaves, then one message: a
            // subscription that arrived before a message is in place for it.
            if let Ok(s) = control.try_recv() {
                for sub in &mut subs {
                    let _ = sub.signal.send(s.clone()).await;
                }
                let _ = signal.send(s).await; // nobody listening is not a failure
                return Ok::<_, axon::Error>(());
            }
            let mut changed = false;
            while let Ok(req) = config.try_recv() {
                changed = true;
                match req {
                    Subscription::Add { id, data, signal } => {
                        if let Some(sub) = add_subscriber(&mut cx, id, &data, &signal) {
                            subs.push(sub);
                        }
                    }
                    Subscription::Remove { id } => {
                        if let Some(i) = subs.iter().position(|s| s.id == id) {
                            remove_subscriber(&mut cx, subs.remove(i));
                        }
                    }
                }
            }
            match data.try_recv() {
                Ok(msg) => {
                    let dead = fan_out(&mut subs, msg).await;
                    for i in dead.into_iter().rev() {
                        changed = true;
                        remove_subscriber(&mut cx, subs.remove(i));
                    }
                    burst += 1;
                    if burst.is_multiple_of(64) {
                        yield_now().await;
                    }
                }
                Err(TryRecvError::Empty | TryRecvError::Closed) => {
                    if changed {
                        cat.update_value(&count, subs.len())?;
                    }
                    cx.pause().await;
                    continue;
                }
            }
            if changed {
                cat.update_value(&count, subs.len())?;
            }
        }
    })
}

fn add_subscriber<T: Send + 'static>(
    cx: &mut Context,
    id: SubscriberId,
    data: &BoxRef<T>,
    signal: &BoxRef<Signal>,
) -> Option<Subscriber<T>> {
    let (data_name, data_out) = cx.add_outbox::<T>("to_subscriber");
    let (signal_name, signal_out) = cx.add_outbox::<Signal>("signal_subscriber");
    let linked = cx
        .link(&data_out.endpoint(), data)
        .and_then(|_| cx.link(&signal_out.endpoint(), signal));
    if let Err(e) = linked {
        tracing::warn!(error = %e, "backplane: could not link a new subscriber; ignoring it");
        let _ = cx.remove_box(Direction::Out, &data_name);
        let _ = cx.remove_box(Direction::Out, &signal_name);
        return None;
    }
    Some(Subscriber {
        id,
        data_name,
        data: data_out,
        signal_name,
        signal: signal_out,
    })
}

fn remove_subscriber<T: Send + 'static>(cx: &mut Context, sub: Subscriber<T>) {
    let _ = cx.remove_box(Direction::Out, &sub.data_name);
    let _ = cx.remove_box(Direction::Out, &sub.signal_name);
}

/// Send `msg` to every subscriber (the last one gets the original). Returns the
/// indexes of subscribers whose destination has closed.
async fn fan_out<T: Clone + Send + 'static>(subs: &mut [Subscriber<T>], msg: T) -> Vec<usize> {
    let mut dead = Vec::new();
    let mut msg = Some(msg);
    let last = subs.len().saturating_sub(1);
    for (i, sub) in subs.iter_mut().enumerate() {
        let m = if i == last {
            msg.take().expect("taken only by the last")
        } else {
            msg.as_ref().expect("still here").clone()
        };
        if sub.data.send(m).await.is_err() {
            dead.push(i);
        }
    }
    dead
}

/// Publish to backplane `name`: what arrives on this component's `inbox` goes
/// straight into the backplane's `inbox` (no extra hop).
///
/// Boxes: `inbox` (`T`), `control` / `signal`. A signal on `control` is passed
/// on out of `signal` and this component ends (the backplane keeps running).
pub fn publish_to<T: Send + 'static>(name: &str) -> Prefab {
    let name = name.to_string();
    let spec = Component::new(format!("PublishTo({name})")).inbox::<T>("inbox");
    Prefab::new(spec, move |mut cx| async move {
        // Keep the receiving handle alive: dropping it would close the inbox.
        let _inbox = cx.inbox::<T>("inbox")?;
        let mut control = cx.inbox::<Signal>("control")?;
        let mut signal = cx.outbox::<Signal>("signal")?;
        let hub = match find_service::<T>(&cx, &mut control, &input_service(&name)).await? {
            Ok(hub) => hub,
            Err(s) => {
                let _ = signal.send(s).await;
                return Ok(());
            }
        };
        cx.link(&cx.me().inbox::<T>("inbox")?, &hub)?;
        let s = loop {
            match control.recv().await {
                Ok(s) => break s,
                // Nobody can signal us any more; stay, keep publishing.
                Err(_) => std::future::pending::<()>().await,
            }
        };
        let _ = signal.send(s).await;
        Ok::<_, axon::Error>(())
    })
}

/// Subscribe to backplane `name`: everything published to it comes out of this
/// component's `outbox`.
///
/// Boxes: `outbox` (`T`), `control` / `signal`. The backplane's shutdown comes
/// out of `signal` and this component ends. A signal on `control` makes it
/// leave the backplane, pass the signal on out of `signal` and end.
pub fn subscribe_to<T: Clone + Send + 'static>(name: &str) -> Prefab {
    let name = name.to_string();
    let spec = Component::new(format!("SubscribeTo({name})"))
        .outbox::<T>("outbox")
        .inbox::<Signal>("_backplane_signal")
        .outbox::<Subscription<T>>("_backplane_config");
    Prefab::new(spec, move |mut cx| async move {
        let mut control = cx.inbox::<Signal>("control")?;
        let mut from_backplane = cx.inbox::<Signal>("_backplane_signal")?;
        let mut signal = cx.outbox::<Signal>("signal")?;
        let mut config = cx.outbox::<Subscription<T>>("_backplane_config")?;
        let hub = match find_service::<Subscription<T>>(&cx, &mut control, &config_service(&name)).await? {
            Ok(hub) => hub,
            Err(s) => {
                let _ = signal.send(s).await;
                return Ok(());
            }
        };
        let id = SubscriberId::new();
        let add = Subscription::Add {
            id,
            data: cx.me().outbox::<T>("outbox")?,
            signal: cx.me().inbox::<Signal>("_backplane_signal")?,
        };
        let joined = match cx.link(&config.endpoint(), &hub) {
            Ok(_) => config.send(add).await.is_ok(),
            Err(_) => false,
        };
        if !joined {
            // The backplane stopped between being found and being joined.
            let _ = signal.send(Signal::ShutdownMicroprocess).await;
            return Ok(());
        }
        // From here on, however this body ends, it leaves the backplane.
        let _leave = Leave { config, id };
        let s = loop {
            match from_backplane.try_recv() {
                Ok(s) => break s,
                // The backplane went away without a word (it failed).
                Err(TryRecvError::Closed) => break Signal::ShutdownMicroprocess,
                Err(TryRecvError::Empty) => {}
            }
            if let Ok(s) = control.try_recv() {
                break s;
            }
            cx.pause().await;
        };
        let _ = signal.send(s).await;
        Ok::<_, axon::Error>(())
    })
}

/// Sends the subscriber's `Remove` when its body ends or is dropped.
struct Leave<T: Send + 'static> {
    config: Outbox<Subscription<T>>,
    id: SubscriberId,
}

impl<T: Send + 'static> Drop for Leave<T> {
    fn drop(&mut self) {
        // The configuration inbox is unbounded; if the backplane is gone this
        // simply comes back to us.
        let _ = self.config.try_send(Subscription::Remove { id: self.id });
    }
}
