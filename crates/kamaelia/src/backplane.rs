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
//!   leaves. [`subscribe_to_live`] also gives a [`Subscribed`] to wait on
//!   until the subscription is in place (a late subscriber misses what was
//!   published before).
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
//! use kamaelia::backplane::{backplane, publish_to, subscribe_to_live};
//!
//! let running = System::builder().threads(1).build().start();
//! let sys = running.system();
//! let mut hub: Handle<String, ()> = Handle::spawn(sys, backplane::<String>("news"))?;
//! let (subscriber, mut live) = subscribe_to_live::<String>("news");
//! let reader: Handle<(), String> = Handle::spawn(sys, subscriber)?;
//! let mut writer: Handle<String, ()> = Handle::spawn(sys, publish_to::<String>("news"))?;
//!
//! // Wait until the subscription has reached the hub.
//! live.wait_blocking()?;
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
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axon::cat::{Cat, CatError};
use axon::select::{select2_biased, select3_biased, Either2, Either3};
use axon::{AnyBoxRef, BoxRef, Component, Context, Direction, Inbox, Outbox, Prefab, Signal};

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
        /// Told `id` once the subscription is in place (data published from
        /// then on reaches `data`); dropped unsent if it could not be made.
        /// `None`: nobody waits for it. See [`Subscribed`].
        joined: Option<Outbox<SubscriberId>>,
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
            Subscription::Add {
                id,
                data,
                signal,
                joined,
            } => f
                .debug_struct("Add")
                .field("id", id)
                .field("data", data)
                .field("signal", signal)
                .field("joined", &joined.is_some())
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

/// Wait for service `service` of message type `M`, unless a signal arrives on
/// `control` first (then `Ok(Err(signal))`).
async fn find_service<M: Send + 'static>(
    cx: &Context,
    control: &mut Inbox<Signal>,
    service: &str,
) -> Result<Result<BoxRef<M>, Signal>, axon::Error> {
    let cat = cx.system().cat().clone();
    let mut found = pin!(cat.wait_for_service(service));
    let mut control = Some(control);
    loop {
        match select2_biased(&mut found, &mut control).await {
            Either2::A(_) => {
                return match cat.retrieve::<M>(service) {
                    Ok(b) => Ok(Ok(b)),
                    Err(e) => Err(e.into()),
                }
            }
            Either2::B(Ok(signal)) => return Ok(Err(signal)),
            // Nobody can signal us any more: wait for the service alone.
            Either2::B(Err(_)) => control = None,
        }
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
        let control = cx.inbox::<Signal>("control")?;
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

        // Publishers and subscribers come and go, and an inbox whose senders
        // have all gone reports `Closed` until the next one links. A sender of
        // our own keeps `inbox` and `configuration` open, so the select below
        // sleeps on them instead of seeing `Closed` again and again.
        let keep_data = Outbox::<T>::detached("_keep_open");
        axon::link(&keep_data.endpoint(), &data.endpoint())?;
        let keep_config = Outbox::<Subscription<T>>::detached("_keep_open");
        axon::link(&keep_config.endpoint(), &config.endpoint())?;
        let mut control = Some(control);

        let mut subs: Vec<Subscriber<T>> = Vec::new();
        let mut counted = 0usize; // the count last published in the CAT
        let mut burst = 0u32;
        loop {
            // Control first, then joins and leaves, then data: a subscription
            // that arrived before a message is in place for it.
            match select3_biased(&mut control, &mut config, &mut data).await {
                Either3::A(Ok(s)) => {
                    for sub in &mut subs {
                        let _ = sub.signal.send(s.clone()).await;
                    }
                    let _ = signal.send(s).await; // nobody listening is not a failure
                    return Ok(());
                }
                // Nobody can signal us any more: run on until the system stops.
                Either3::A(Err(_)) => control = None,
                Either3::B(Ok(Subscription::Add {
                    id,
                    data,
                    signal,
                    joined,
                })) => {
                    if let Some(sub) = add_subscriber(&mut cx, id, &data, &signal) {
                        subs.push(sub);
                        if let Some(mut joined) = joined {
                            // Whoever waits for this may have stopped waiting.
                            let _ = joined.try_send(id);
                        }
                    }
                }
                Either3::B(Ok(Subscription::Remove { id })) => {
                    if let Some(i) = subs.iter().position(|s| s.id == id) {
                        remove_subscriber(&mut cx, subs.remove(i));
                    }
                }
                Either3::C(Ok(msg)) => {
                    let dead = fan_out(&mut subs, msg).await;
                    for i in dead.into_iter().rev() {
                        remove_subscriber(&mut cx, subs.remove(i));
                    }
                    burst += 1;
                    if burst.is_multiple_of(64) {
                        axon::yield_now().await;
                    }
                }
                Either3::B(Err(_)) | Either3::C(Err(_)) => {
                    return Err(
                        format!("backplane {name:?}: an inbox it keeps open closed (a kernel bug)").into(),
                    );
                }
            }
            // Publish the count once the joins and leaves waiting are done.
            if subs.len() != counted && config.is_empty() {
                cat.update_value(&count, subs.len())?;
                counted = subs.len();
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
        Ok(())
    })
}

/// Subscribe to backplane `name`: everything published to it comes out of this
/// component's `outbox`.
///
/// Boxes: `outbox` (`T`), `control` / `signal`. The backplane's shutdown comes
/// out of `signal` and this component ends. A signal on `control` makes it
/// leave the backplane, pass the signal on out of `signal` and end.
///
/// The subscription is made some time after the component starts (once the
/// backplane is found and has handled the request); to know when, use
/// [`subscribe_to_live`].
pub fn subscribe_to<T: Clone + Send + 'static>(name: &str) -> Prefab {
    subscriber::<T>(name, None)
}

/// [`subscribe_to`], plus a [`Subscribed`] that resolves once the
/// subscription is live: from then on everything published to `name` comes
/// out of the subscriber's `outbox`.
///
/// ```
/// use axon::{Handle, System};
/// use kamaelia::backplane::{backplane, publish_to, subscribe_to_live};
///
/// let running = System::builder().threads(1).build().start();
/// let sys = running.system();
/// let mut hub: Handle<u32, ()> = Handle::spawn(sys, backplane::<u32>("late"))?;
/// let mut writer: Handle<u32, ()> = Handle::spawn(sys, publish_to::<u32>("late"))?;
///
/// // A late subscriber: wait until it is in place before publishing.
/// let (prefab, mut live) = subscribe_to_live::<u32>("late");
/// let mut reader: Handle<(), u32> = Handle::spawn(sys, prefab)?;
/// live.wait_timeout(std::time::Duration::from_secs(10))?;
/// writer.send_blocking(42)?;
/// assert_eq!(reader.recv_blocking()?, 42);
///
/// hub.shutdown().unwrap();
/// writer.shutdown().unwrap();
/// running.wait();
/// # Ok::<(), axon::Error>(())
/// ```
pub fn subscribe_to_live<T: Clone + Send + 'static>(name: &str) -> (Prefab, Subscribed) {
    let tell = Outbox::<SubscriberId>::detached("joined");
    let hear = Inbox::<SubscriberId>::detached("joined");
    axon::link(&tell.endpoint(), &hear.endpoint())
        .expect("a fresh detached outbox links to a fresh detached inbox");
    (
        subscriber::<T>(name, Some(tell)),
        Subscribed {
            joined: hear,
            id: None,
        },
    )
}

fn subscriber<T: Clone + Send + 'static>(name: &str, joined: Option<Outbox<SubscriberId>>) -> Prefab {
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
            joined,
        };
        let sent = match cx.link(&config.endpoint(), &hub) {
            Ok(_) => config.send(add).await.is_ok(),
            Err(_) => false,
        };
        if !sent {
            // The backplane stopped between being found and being joined.
            let _ = signal.send(Signal::ShutdownMicroprocess).await;
            return Ok(());
        }
        // From here on, however this body ends, it leaves the backplane.
        let _leave = Leave { config, id };
        let mut control = Some(control);
        let s = loop {
            match select2_biased(&mut from_backplane, &mut control).await {
                Either2::A(Ok(s)) => break s,
                // The backplane went away without a word (it failed).
                Either2::A(Err(_)) => break Signal::ShutdownMicroprocess,
                Either2::B(Ok(s)) => break s,
                // Nobody can signal us any more: wait for the backplane alone.
                Either2::B(Err(_)) => control = None,
            }
        };
        let _ = signal.send(s).await;
        Ok(())
    })
}

/// Resolves once a subscription made by [`subscribe_to_live`] is in place.
///
/// `wait` is for components (`.await`), `wait_blocking` / `wait_timeout` for
/// plain code. Once it has resolved it stays resolved (the subscription may
/// have ended since: this says it was made).
#[derive(Debug)]
pub struct Subscribed {
    joined: Inbox<SubscriberId>,
    id: Option<SubscriberId>,
}

/// Why a [`Subscribed`] wait gave up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotSubscribed {
    /// The subscriber ended, or was never started, or the backplane stopped or
    /// refused it, before the subscription was made; it never will be.
    #[error("the subscription was never made: the subscriber or its backplane ended first (check that both are running and carry the same message type)")]
    Ended,
    /// [`Subscribed::wait_timeout`] ran out of time.
    #[error("the subscription was not made within {0:?}: is the backplane running?")]
    TimedOut(Duration),
}

impl Subscribed {
    /// Wait until the subscription is live; its id then.
    pub async fn wait(&mut self) -> Result<SubscriberId, NotSubscribed> {
        if let Some(id) = self.id {
            return Ok(id);
        }
        match self.joined.recv().await {
            Ok(id) => {
                self.id = Some(id);
                Ok(id)
            }
            Err(_) => Err(NotSubscribed::Ended),
        }
    }

    /// [`wait`](Self::wait), blocking this thread (not from an async component).
    pub fn wait_blocking(&mut self) -> Result<SubscriberId, NotSubscribed> {
        axon::block_on(self.wait())
    }

    /// [`wait_blocking`](Self::wait_blocking), giving up after `timeout`.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<SubscriberId, NotSubscribed> {
        axon::block_on_timeout(self.wait(), Some(timeout)).unwrap_or(Err(NotSubscribed::TimedOut(timeout)))
    }

    /// Whether the subscription is live yet, without waiting.
    pub fn is_live(&mut self) -> bool {
        if self.id.is_none() {
            self.id = self.joined.try_recv().ok();
        }
        self.id.is_some()
    }
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
