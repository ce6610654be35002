//! The CAT (co-ordinating assistant tracker): where shared things are found.
//!
//! Components know nothing about each other, so something shared — a selector,
//! a backplane — is found by *asking*: it registers itself under a name as a
//! **service**, an address that others can link to, and they look the name up.
//! A service is one inbox of one component (Kamaelia's `(component, inboxname)`
//! pair), held here as an [`AnyBoxRef`]. The CAT also keeps named **tracked
//! values** (statistics, settings) that any component may read and update.
//!
//! There is one CAT per [`System`] ([`System::cat`]), not a global singleton: two
//! systems in one process never see each other's services. Its state lives in an
//! [`stm::Store`](crate::services::stm::Store), so readers never block writers, no lock is
//! held by user code, and every change is an optimistic transaction that is
//! retried on conflict (registering the same name from two threads at once lets
//! exactly one win; updating a counter from two threads loses no increment).
//!
//! ```
//! use axon::{Component, System};
//! use axon::cat::CatError;
//!
//! let sys = System::builder().threads(1).build();
//! let cat = sys.cat();
//! let service = sys.spawn(Component::new("greeter").inbox::<String>("inbox"), |mut cx| async move {
//!     let mut inbox = cx.inbox::<String>("inbox")?;
//!     while let Ok(name) = inbox.recv().await {
//!         println!("hello, {name}");
//!     }
//!     Ok(())
//! });
//! cat.register_service("greeter", &service, "inbox")?;
//! assert!(matches!(cat.register_service("greeter", &service, "inbox"),
//!                  Err(CatError::ServiceAlreadyExists { .. })));
//!
//! // Someone else finds it by name and links to it.
//! let inbox = cat.retrieve::<String>("greeter")?;
//! let mut out = axon::Outbox::<String>::detached("caller");
//! axon::link(&out.endpoint(), &inbox)?;
//! out.try_send("world".into()).unwrap();
//! drop(out);
//! sys.run();
//!
//! // Tracked values: any `Send + Sync + Clone` type, read back with its type.
//! cat.track_value("greetings.sent", 1u64)?;
//! cat.modify_value("greetings.sent", |n: &mut u64| *n += 1)?;
//! assert_eq!(cat.retrieve_value::<u64>("greetings.sent")?, 2);
//! # Ok::<(), axon::Error>(())
//! ```
//!
//! # Design
//! * **One STM key per name** (services and values are separate namespaces):
//!   changes to different names never conflict; two changes to one name are
//!   serialised by the store's version check, and the loser re-runs against the
//!   winner's result (so "register if absent" and "add one" are exact under
//!   contention). Listings read every key in one checkout, so they are a
//!   consistent snapshot.
//! * **Values are `Any`, read back typed.** The CAT is shared by unrelated parts
//!   of a system (a selector's statistics, a backplane's subscriber count, an
//!   application's settings), so one generic value type would force them all
//!   into one enum. A value is stored as `Arc<dyn Any + Send + Sync>` with its
//!   type name: checkouts clone an `Arc`, not the value, and a type mismatch is
//!   a [`CatError::ValueTypeMismatch`] naming both types, never a panic.
//! * The STM store has no removal, so deregistering leaves a small tombstone
//!   per name: memory grows with the number of *distinct* names ever used, not
//!   with registrations.
//!
//! # Differences from Axon
//! * Retrieving an unknown service is a [`CatError::NoSuchService`] (Axon raised
//!   a bare `KeyError`).
//! * Tracked values are typed: they are read with the type they were tracked
//!   with, and updating one with a value of another type is refused
//!   ([`CatError::ValueTypeMismatch`]) instead of silently changing what every
//!   reader gets.
//! * There is no parent tracker (Axon accepted one and never used it).
//! * [`Cat::wait_for_service`] waits (without polling) for a name to be
//!   registered, because activation is lazy here: a component that looks a
//!   service up may run before the component that registers it.
//! * A service stays registered after its component ends, as in Axon; linking to
//!   it then fails with [`LinkError::Closed`](crate::LinkError::Closed).
//!   Components that offer a service should deregister it when they stop (the
//!   kamaelia Backplane does, even when it panics).

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Waker};

use parking_lot::Mutex;

use crate::boxes::error::BoxError;
use crate::boxes::linkage::{AnyBoxRef, BoxRef};
use crate::boxes::node::Direction;
use crate::component::component::ComponentRef;
use crate::component::system::System;
use crate::services::stm::{StmError, Store};

/// How many times a CAT change is retried on conflicting concurrent changes
/// before giving up with [`CatError::Busy`]. Each try is a few map lookups, so
/// this bound is only reached under pathological contention.
const MAX_TRIES: usize = 100_000;

/// What went wrong talking to the CAT. Each case names the service or value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CatError {
    /// A service of that name is registered already (Axon's `ServiceAlreadyExists`).
    #[error("a service named {name:?} is already registered; deregister it first or pick another name")]
    ServiceAlreadyExists {
        /// The service name.
        name: String,
    },
    /// What was offered as a service cannot receive messages (Axon's
    /// `BadComponent`): it is an outbox, or its component has finished.
    #[error("cannot register {name:?}: {reason}")]
    BadComponent {
        /// The service name.
        name: String,
        /// Why it was refused.
        reason: String,
    },
    /// The component has no inbox of that name (Axon's `BadInbox`).
    #[error("cannot register {name:?}: {source}")]
    BadInbox {
        /// The service name.
        name: String,
        /// The failed lookup, listing the inboxes it does have.
        source: BoxError,
    },
    /// No service of that name is registered (Axon raised `KeyError`).
    #[error("no service named {name:?} is registered (registered: {registered})")]
    NoSuchService {
        /// The service name.
        name: String,
        /// The names that are registered, for the message.
        registered: String,
    },
    /// Deregistering a name that is not registered (Axon's `MultipleServiceDeletion`).
    #[error("cannot deregister {name:?}: no such service is registered (deregistered twice?)")]
    MultipleServiceDeletion {
        /// The service name.
        name: String,
    },
    /// The service exists but carries another message type.
    #[error("service {name:?}: {source}")]
    ServiceTypeMismatch {
        /// The service name.
        name: String,
        /// The failed downcast, naming both types.
        source: BoxError,
    },
    /// Tracking a value under a name that is tracked already (Axon's `NamespaceClash`).
    #[error("a value named {name:?} is already tracked; update it with update_value instead")]
    NamespaceClash {
        /// The value name.
        name: String,
    },
    /// Reading or updating a value that was never tracked (Axon's
    /// `AccessToUndeclaredTrackedVariable`).
    #[error("no value named {name:?} is tracked; declare it first with track_value")]
    UntrackedValue {
        /// The value name.
        name: String,
    },
    /// The value is tracked with another type than the one asked for or given.
    #[error("value {name:?} is tracked as {tracked}, not {requested}")]
    ValueTypeMismatch {
        /// The value name.
        name: String,
        /// The type it is tracked with.
        tracked: &'static str,
        /// The type asked for or given.
        requested: &'static str,
    },
    /// Concurrent changes kept conflicting with this one; nothing was changed.
    #[error(
        "the CAT stayed too busy with conflicting changes: gave up after {tries} tries; nothing was changed"
    )]
    Busy {
        /// Tries made.
        tries: usize,
    },
}

/// A key of the CAT's store: services and values are separate namespaces, as
/// in Axon.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Service(String),
    Value(String),
}

/// A tracked value: its type's name (for error messages) and the value.
#[derive(Clone)]
struct Tracked {
    type_name: &'static str,
    value: Arc<dyn Any + Send + Sync>,
}

/// What the store holds under a key. The STM store has no removal, so a
/// deregistered service (or a zapped entry) becomes `Gone`.
#[derive(Clone)]
enum Entry {
    Service(AnyBoxRef),
    Value(Tracked),
    Gone,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Service(b) => write!(f, "Service({b:?})"),
            Entry::Value(t) => write!(f, "Value({})", t.type_name),
            Entry::Gone => f.write_str("Gone"),
        }
    }
}

/// The co-ordinating assistant tracker: a registry of named services and
/// tracked values. See the [module docs](self).
///
/// Cheap to clone: clones share the same registry. Get the system's with
/// [`System::cat`]; [`Cat::new`] makes a free-standing one (for tests).
#[derive(Clone, Default)]
pub struct Cat {
    store: Store<Key, Entry>,
    /// Wakers of [`Cat::wait_for_service`] futures, woken on every registration.
    waiters: Arc<Mutex<Vec<Waker>>>,
}

impl fmt::Debug for Cat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cat")
            .field("services", &self.services())
            .field("values", &self.tracked_values())
            .finish()
    }
}

fn busy(e: StmError<Key>) -> CatError {
    match e {
        StmError::TooManyRetries { tries } => CatError::Busy { tries },
        // `transact` retries these itself; they cannot reach us.
        StmError::ConcurrentUpdate { .. } | StmError::BusyRetry => CatError::Busy { tries: MAX_TRIES },
    }
}

impl Cat {
    /// An empty tracker, not attached to any system.
    pub fn new() -> Self {
        Self::default()
    }

    /// Names of live entries of one namespace, sorted, from one consistent
    /// checkout of every key.
    fn names(&self, services: bool) -> Vec<String> {
        let all = self.store.checkout_many(self.store.keys());
        let mut names: Vec<String> = all
            .keys()
            .filter_map(|k| match (k, all.get(k)) {
                (Key::Service(n), Some(Entry::Service(_))) if services => Some(n.clone()),
                (Key::Value(n), Some(Entry::Value(_))) if !services => Some(n.clone()),
                _ => None,
            })
            .collect();
        names.sort();
        names
    }

    // ---- services ----

    /// Register inbox `inbox` of `component` as service `name` (Axon's
    /// `registerService`).
    ///
    /// Errors: [`ServiceAlreadyExists`](CatError::ServiceAlreadyExists),
    /// [`BadInbox`](CatError::BadInbox) if it has no such inbox,
    /// [`BadComponent`](CatError::BadComponent) if it has finished.
    pub fn register_service(
        &self,
        name: &str,
        component: &ComponentRef,
        inbox: &str,
    ) -> Result<(), CatError> {
        if component.is_finished() {
            return Err(CatError::BadComponent {
                name: name.to_string(),
                reason: format!("component {component:?} has finished, so its inboxes no longer receive"),
            });
        }
        let b = component.any_inbox(inbox).map_err(|source| CatError::BadInbox {
            name: name.to_string(),
            source,
        })?;
        self.register(name, b)
    }

    /// Register a box as service `name`: any inbox, a component's or a detached
    /// one ([`Inbox::detached`](crate::Inbox::detached)), typed or not
    /// (`BoxRef::erase` gives the untyped form).
    ///
    /// Errors: [`ServiceAlreadyExists`](CatError::ServiceAlreadyExists),
    /// [`BadComponent`](CatError::BadComponent) if `service` is an outbox.
    pub fn register(&self, name: &str, service: AnyBoxRef) -> Result<(), CatError> {
        if service.direction() != Direction::In {
            return Err(CatError::BadComponent {
                name: name.to_string(),
                reason: format!(
                    "{service:?} is an outbox; a service is an inbox that others link to and send into"
                ),
            });
        }
        let key = Key::Service(name.to_string());
        let outcome = self
            .store
            .transact(MAX_TRIES, |txn| {
                if let Some(Entry::Service(_)) = txn.get(&key) {
                    return Ok(Err(CatError::ServiceAlreadyExists {
                        name: name.to_string(),
                    }));
                }
                txn.set(&key, Entry::Service(service.clone()));
                Ok(Ok(()))
            })
            .map_err(busy)?;
        if outcome.is_ok() {
            let waiters = std::mem::take(&mut *self.waiters.lock());
            for w in waiters {
                w.wake();
            }
        }
        outcome
    }

    /// The service registered as `name` (Axon's `retrieveService`), untyped.
    pub fn retrieve_service(&self, name: &str) -> Result<AnyBoxRef, CatError> {
        self.lookup(name).ok_or_else(|| {
            let mut known = self.services();
            if known.len() > 20 {
                let more = known.len() - 20;
                known.truncate(20);
                known.push(format!("and {more} more"));
            }
            CatError::NoSuchService {
                name: name.to_string(),
                registered: known.join(", "),
            }
        })
    }

    fn lookup(&self, name: &str) -> Option<AnyBoxRef> {
        match self.store.checkout(&Key::Service(name.to_string())).get() {
            Some(Entry::Service(b)) => Some(b.clone()),
            _ => None,
        }
    }

    /// The service registered as `name`, typed: ready to [`link`](crate::link)
    /// an `Outbox<T>` (or a parent's `Inbox<T>`) to.
    pub fn retrieve<T: Send + 'static>(&self, name: &str) -> Result<BoxRef<T>, CatError> {
        self.retrieve_service(name)?
            .downcast::<T>()
            .map_err(|source| CatError::ServiceTypeMismatch {
                name: name.to_string(),
                source,
            })
    }

    /// Whether a service `name` is registered.
    pub fn has_service(&self, name: &str) -> bool {
        self.lookup(name).is_some()
    }

    /// Remove service `name` (Axon's `deRegisterService`). Errors with
    /// [`MultipleServiceDeletion`](CatError::MultipleServiceDeletion) if it is
    /// not registered.
    pub fn deregister_service(&self, name: &str) -> Result<(), CatError> {
        self.deregister_where(name, |_| true)
    }

    /// Remove service `name` only if it is still `service` (a component
    /// withdrawing its own registration without removing somebody else's).
    /// Errors with [`MultipleServiceDeletion`](CatError::MultipleServiceDeletion)
    /// if `name` is not registered to that box.
    pub fn deregister_service_of(&self, name: &str, service: &AnyBoxRef) -> Result<(), CatError> {
        self.deregister_where(name, |b| Arc::ptr_eq(&b.node, &service.node))
    }

    fn deregister_where(&self, name: &str, matches: impl Fn(&AnyBoxRef) -> bool) -> Result<(), CatError> {
        let key = Key::Service(name.to_string());
        self.store
            .transact(MAX_TRIES, |txn| match txn.get(&key) {
                Some(Entry::Service(b)) if matches(b) => {
                    txn.set(&key, Entry::Gone);
                    Ok(Ok(()))
                }
                _ => Ok(Err(CatError::MultipleServiceDeletion {
                    name: name.to_string(),
                })),
            })
            .map_err(busy)?
    }

    /// Names of the registered services, sorted (Axon's `servicesRegistered`).
    pub fn services(&self) -> Vec<String> {
        self.names(true)
    }

    /// A future resolving to service `name` once it is registered (at once if
    /// it is already). Waits without polling: registrations wake it. Combine
    /// with a timeout or a control inbox if the name may never appear.
    pub fn wait_for_service(&self, name: &str) -> WaitForService {
        WaitForService {
            cat: self.clone(),
            name: name.to_string(),
        }
    }

    // ---- tracked values ----

    /// Start tracking `value` as `name` (Axon's `trackValue`). Errors with
    /// [`NamespaceClash`](CatError::NamespaceClash) if `name` is tracked already.
    pub fn track_value<T: Any + Send + Sync>(&self, name: &str, value: T) -> Result<(), CatError> {
        let key = Key::Value(name.to_string());
        let tracked = Tracked {
            type_name: std::any::type_name::<T>(),
            value: Arc::new(value),
        };
        self.store
            .transact(MAX_TRIES, |txn| {
                if let Some(Entry::Value(_)) = txn.get(&key) {
                    return Ok(Err(CatError::NamespaceClash {
                        name: name.to_string(),
                    }));
                }
                txn.set(&key, Entry::Value(tracked.clone()));
                Ok(Ok(()))
            })
            .map_err(busy)?
    }

    /// Replace tracked value `name` (Axon's `updateValue`). Errors with
    /// [`UntrackedValue`](CatError::UntrackedValue) if it is not tracked, or
    /// [`ValueTypeMismatch`](CatError::ValueTypeMismatch) if it is tracked with
    /// another type.
    pub fn update_value<T: Any + Send + Sync>(&self, name: &str, value: T) -> Result<(), CatError> {
        let value: Arc<dyn Any + Send + Sync> = Arc::new(value);
        self.change::<T, _, _>(name, |_| Ok((value.clone(), ())))
    }

    /// Read-modify-write tracked value `name` atomically: `f` changes a copy,
    /// which is committed only if nobody changed the value meanwhile (otherwise
    /// `f` runs again on the newer value, so keep it free of side effects).
    /// Returns what `f` returns.
    pub fn modify_value<T, R>(&self, name: &str, mut f: impl FnMut(&mut T) -> R) -> Result<R, CatError>
    where
        T: Any + Send + Sync + Clone,
    {
        self.change::<T, _, _>(name, |current| {
            let mut v: T = current
                .downcast_ref::<T>()
                .expect("type checked by change")
                .clone();
            let r = f(&mut v);
            Ok((Arc::new(v) as Arc<dyn Any + Send + Sync>, r))
        })
    }

    fn change<T: Any, R, F>(&self, name: &str, mut f: F) -> Result<R, CatError>
    where
        F: FnMut(&(dyn Any + Send + Sync)) -> Result<(Arc<dyn Any + Send + Sync>, R), CatError>,
    {
        let key = Key::Value(name.to_string());
        self.store
            .transact(MAX_TRIES, |txn| {
                let current = match txn.get(&key) {
                    Some(Entry::Value(t)) => t.clone(),
                    _ => {
                        return Ok(Err(CatError::UntrackedValue {
                            name: name.to_string(),
                        }))
                    }
                };
                if !current.value.is::<T>() {
                    return Ok(Err(CatError::ValueTypeMismatch {
                        name: name.to_string(),
                        tracked: current.type_name,
                        requested: std::any::type_name::<T>(),
                    }));
                }
                match f(&*current.value) {
                    Ok((value, r)) => {
                        txn.set(
                            &key,
                            Entry::Value(Tracked {
                                type_name: current.type_name,
                                value,
                            }),
                        );
                        Ok(Ok(r))
                    }
                    Err(e) => Ok(Err(e)),
                }
            })
            .map_err(busy)?
    }

    /// The current value of `name` (Axon's `retrieveValue`), as a clone.
    pub fn retrieve_value<T: Any + Send + Sync + Clone>(&self, name: &str) -> Result<T, CatError> {
        self.retrieve_value_arc::<T>(name).map(|v| (*v).clone())
    }

    /// The current value of `name`, shared (no clone of the value itself).
    pub fn retrieve_value_arc<T: Any + Send + Sync>(&self, name: &str) -> Result<Arc<T>, CatError> {
        match self.store.checkout(&Key::Value(name.to_string())).get() {
            Some(Entry::Value(t)) => {
                let type_name = t.type_name;
                t.value
                    .clone()
                    .downcast::<T>()
                    .map_err(|_| CatError::ValueTypeMismatch {
                        name: name.to_string(),
                        tracked: type_name,
                        requested: std::any::type_name::<T>(),
                    })
            }
            _ => Err(CatError::UntrackedValue {
                name: name.to_string(),
            }),
        }
    }

    /// Names of the tracked values, sorted (Axon's `informationItemsLogged`).
    pub fn tracked_values(&self) -> Vec<String> {
        self.names(false)
    }

    /// Forget every service and value (Axon's `zap`). Services and values added
    /// concurrently with the zap may survive it.
    pub fn zap(&self) -> Result<(), CatError> {
        crate::services::stm::retry(MAX_TRIES, || {
            let mut all = self.store.checkout_many(self.store.keys());
            let keys: Vec<Key> = all.keys().cloned().collect();
            for k in &keys {
                all.set(k, Entry::Gone);
            }
            all.commit()
        })
        .map_err(busy)
    }
}

/// Future of [`Cat::wait_for_service`].
#[must_use = "futures do nothing unless polled"]
pub struct WaitForService {
    cat: Cat,
    name: String,
}

impl fmt::Debug for WaitForService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitForService")
            .field("name", &self.name)
            .finish()
    }
}

impl Future for WaitForService {
    type Output = AnyBoxRef;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<AnyBoxRef> {
        // Register first, then look: a registration committed after our look
        // finds our waker (see `register`).
        {
            let mut w = self.cat.waiters.lock();
            if !w.iter().any(|x| x.will_wake(cx.waker())) {
                w.push(cx.waker().clone());
            }
        }
        match self.cat.lookup(&self.name) {
            Some(b) => Poll::Ready(b),
            None => Poll::Pending,
        }
    }
}

impl System {
    /// This system's CAT: its registry of services and tracked values.
    pub fn cat(&self) -> &Cat {
        // The system keeps a slot for this layer's state (the component layer
        // does not name the CAT's type); the CAT is made on first use.
        self.shared
            .services
            .get_or_init(|| Box::new(Cat::new()))
            .downcast_ref::<Cat>()
            .expect("a system's services slot holds its CAT")
    }
}

// Identity of a service's box. Defined here rather than in linkage.rs to keep
// this change out of files others are working on.
