//! Components: declaring boxes, spawning, the context a component runs with,
//! children, and what happens when a component ends.
//!
//! A component is an isolated microprocess: an `async` body driven by the axon
//! scheduler (or a blocking body on its own thread, see [`crate::component::threaded`]) that
//! owns named, typed boxes and knows nothing about its neighbours. It is *paused by
//! default*: it runs only when woken by a delivery, by a collection from a box it
//! is waiting to send into, or by a child finishing.
//!
//! ```
//! use axon::{Component, System};
//!
//! let sys = System::builder().threads(1).build();
//! let doubler = sys.spawn(Component::new("doubler").inbox_and_outbox::<u32, u32>(), |mut cx| async move {
//!     let mut inbox = cx.inbox::<u32>("inbox")?;
//!     let mut outbox = cx.outbox::<u32>("outbox")?;
//!     while let Ok(x) = inbox.recv().await {
//!         outbox.send(x * 2).await?;
//!     }
//!     Ok(())
//! });
//! let mut feed = axon::Outbox::<u32>::detached("feed");
//! let mut results = axon::Inbox::<u32>::detached("results");
//! axon::link(&feed.endpoint(), &doubler.inbox::<u32>("inbox").unwrap()).unwrap();
//! axon::link(&doubler.outbox::<u32>("outbox").unwrap(), &results.endpoint()).unwrap();
//! for i in 1..=3 { feed.try_send(i).unwrap(); }
//! drop(feed); // the doubler sees its inbox close and finishes
//! sys.run();
//! let got: Vec<u32> = std::iter::from_fn(|| results.try_recv().ok()).collect();
//! assert_eq!(got, [2, 4, 6]);
//! ```
//!
//! When a component ends (returns, fails, panics, or is cancelled at shutdown):
//! a failure goes out of its `signal` outbox as [`Signal::Failed`]; the linkages
//! it made are removed; its inboxes close (senders get their message back) and its
//! outboxes stop counting as senders; its parent is woken and told how it ended.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::Duration;

use smallvec::SmallVec;

use crate::boxes::error::{BoxError, JoinError, LinkError};
use crate::boxes::inbox::Inbox;
use crate::boxes::linkage::{link_any_by, link_nodes, AnyBoxRef, BoxRef, Linkage};
use crate::boxes::node::{AnyNode, Claim, Direction, Node, Owner};
use crate::boxes::outbox::Outbox;
use crate::component::signal::{Failure, Signal};
use crate::component::system::{Registered, System, SystemShared};
use crate::id::ComponentId;
use crate::name::Name;
use crate::runtime::outcome::{panic_message, Outcome, SharedError};
use crate::runtime::sync::{Ordering, ShortLock};
use crate::runtime::task::{Task, TaskOwner};

/// Where a component stands ([`ComponentRef::state`], also in
/// [`System::snapshot`](crate::System::snapshot)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Queued to run, or running.
    Running,
    /// Asleep until a delivery, a child's end, a timer or a stop wakes it.
    Paused,
    /// Ended (see [`ComponentRef::outcome`]).
    Finished,
}

/// What went wrong controlling a component from outside
/// ([`ComponentRef::send_control`], [`ComponentRef::shutdown`]).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ControlError {
    /// It has no `control` inbox: declare one (`Component::new` does), or use
    /// [`ComponentRef::stop`].
    #[error("{component} has no `control` inbox; declare one (Component::new does) or use stop()")]
    NoControlBox {
        /// The component.
        component: String,
    },
    /// Its `control` inbox does not carry [`Signal`]s.
    #[error(
        "{component}'s `control` inbox does not carry axon::Signal; use stop() or send your own message"
    )]
    NotSignals {
        /// The component.
        component: String,
    },
    /// It has finished: its `control` inbox no longer receives.
    #[error("{component} has finished: its `control` inbox is closed")]
    Finished {
        /// The component.
        component: String,
    },
}

/// What a component body may return: `()`, or `Result<(), axon::Error>` whose
/// error is kept whole in the [`Outcome::Failed`] it produces (a
/// [`SharedError`] you can downcast).
///
/// There is deliberately one `Result` form: a body that ends `Ok(())` and uses
/// `?` needs no type annotation, because the only `Result` a body may return
/// fixes the error type to `axon::Error`. Every error that is
/// `std::error::Error + Send + Sync` (every axon error, `io::Error`, your own
/// `thiserror` types, a `SendError` of any message type) converts into it with
/// `?`, and so do `String` and `&str` with `Err("...".into())`. A body written
/// for another error type returns `Ok(body().await?)`.
///
/// ```
/// use axon::{Component, System};
///
/// let sys = System::new();
/// // `()`: nothing can fail.
/// sys.spawn(Component::new("quiet"), |_cx| async move {});
/// // `Result`: `?` on any error, then `Ok(())` with no turbofish.
/// sys.spawn(Component::new("loud").outbox::<u32>("outbox"), |mut cx| async move {
///     let mut out = cx.outbox::<u32>("outbox")?;
///     let n: u32 = "42".parse()?;
///     out.send(n).await?;
///     Ok(())
/// });
/// sys.run();
/// ```
pub trait Termination {
    /// Convert into an outcome.
    fn into_outcome(self) -> Outcome;
}

impl Termination for () {
    fn into_outcome(self) -> Outcome {
        Outcome::Finished
    }
}

impl Termination for Result<(), crate::runtime::outcome::Error> {
    fn into_outcome(self) -> Outcome {
        match self {
            Ok(()) => Outcome::Finished,
            Err(e) => Outcome::Failed(SharedError::new(e)),
        }
    }
}

type MakeBox = fn(Name, Direction, Owner, Option<usize>) -> Arc<dyn AnyNode>;

/// Make a component's box. Its owner's handle is not made here: the
/// [`Context`] makes it from the node when the body takes it.
fn make_box<T: Send + 'static>(
    name: Name,
    dir: Direction,
    owner: Owner,
    limit: Option<usize>,
) -> Arc<dyn AnyNode> {
    Node::<T>::new(name, dir, owner, limit)
}

/// What a declaration needs to know about its message type, one static per type.
struct BoxKind {
    type_name: fn() -> &'static str,
    make: MakeBox,
}

struct KindOf<T>(std::marker::PhantomData<T>);

impl<T: Send + 'static> KindOf<T> {
    const KIND: &'static BoxKind = &BoxKind {
        type_name: std::any::type_name::<T>,
        make: make_box::<T>,
    };
}

#[derive(Clone)]
struct BoxDecl {
    name: Name,
    dir: Direction,
    limit: Option<usize>,
    kind: &'static BoxKind,
}

/// Declares a component: its name and its boxes. Pass it to
/// [`System::spawn`], [`System::spawn_threaded`] or [`Context::spawn_child`].
///
/// `Component::new` gives the Kamaelia control boxes (`control` inbox and
/// `signal` outbox, carrying [`Signal`]); [`inbox_and_outbox`](Component::inbox_and_outbox) adds the data
/// boxes `inbox` and `outbox`; declare any others by name. Declaring a name twice
/// replaces the earlier declaration.
#[must_use = "a declaration does nothing until spawned: pass it to System::spawn or Prefab::new"]
pub struct Component {
    name: Name,
    /// Inline up to two boxes: declaring a small component allocates nothing
    /// (and a `Component` stays small enough to move around freely).
    boxes: SmallVec<[BoxDecl; 2]>,
}

impl fmt::Debug for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let boxes: Vec<String> = self
            .boxes
            .iter()
            .map(|b| format!("{} {}", b.dir, b.name))
            .collect();
        f.debug_struct("Component")
            .field("name", &self.name)
            .field("boxes", &boxes)
            .finish()
    }
}

impl Component {
    /// A component with the control boxes: `control` (inbox) and `signal` (outbox).
    pub fn new(name: impl Into<Name>) -> Self {
        Component::bare(name)
            .inbox::<Signal>("control")
            .outbox::<Signal>("signal")
    }

    /// A component with no boxes at all.
    pub fn bare(name: impl Into<Name>) -> Self {
        Component {
            name: name.into(),
            boxes: SmallVec::new(),
        }
    }

    /// Add the Kamaelia data boxes: an inbox named `inbox` carrying `I` and an
    /// outbox named `outbox` carrying `O`. With [`new`](Component::new)'s
    /// `control` and `signal`, that is the four boxes every chassis wires.
    pub fn inbox_and_outbox<I: Send + 'static, O: Send + 'static>(self) -> Self {
        self.inbox::<I>("inbox").outbox::<O>("outbox")
    }

    /// The old name of [`inbox_and_outbox`](Component::inbox_and_outbox).
    #[deprecated(note = "renamed to `inbox_and_outbox`, which says what it declares")]
    pub fn std<I: Send + 'static, O: Send + 'static>(self) -> Self {
        self.inbox_and_outbox::<I, O>()
    }

    /// Declare an unbounded inbox.
    pub fn inbox<T: Send + 'static>(self, name: impl Into<Name>) -> Self {
        self.decl::<T>(name, Direction::In, None)
    }

    /// Declare an inbox holding at most `limit` messages.
    pub fn inbox_with_size<T: Send + 'static>(self, name: impl Into<Name>, limit: usize) -> Self {
        self.decl::<T>(name, Direction::In, Some(limit))
    }

    /// Declare an outbox. While nothing is linked to it, it holds at most
    /// [`DEFAULT_OUTBOX_LIMIT`](crate::DEFAULT_OUTBOX_LIMIT) messages.
    pub fn outbox<T: Send + 'static>(self, name: impl Into<Name>) -> Self {
        self.decl::<T>(name, Direction::Out, None)
    }

    /// Declare an outbox holding at most `limit` messages while nothing is
    /// linked to it (once linked, the final inbox's limit applies).
    pub fn outbox_with_size<T: Send + 'static>(self, name: impl Into<Name>, limit: usize) -> Self {
        self.decl::<T>(name, Direction::Out, Some(limit))
    }

    #[inline]
    fn decl<T: Send + 'static>(
        mut self,
        name: impl Into<Name>,
        dir: Direction,
        limit: Option<usize>,
    ) -> Self {
        let name = name.into();
        self.forget(dir, &name);
        self.boxes.push(BoxDecl {
            name,
            dir,
            limit,
            kind: KindOf::<T>::KIND,
        });
        self
    }

    /// Drop the declaration of box `name` of direction `dir`, if any (there is
    /// at most one). A search and, rarely, a removal: cheaper than `retain`
    /// for the usual case of a new name, and the order of the others stays.
    #[inline]
    fn forget(&mut self, dir: Direction, name: &Name) {
        if let Some(i) = self.boxes.iter().position(|b| b.dir == dir && b.name == *name) {
            self.boxes.remove(i);
        }
    }

    /// The component's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The declared boxes: name, direction and message type name.
    pub fn declared(&self) -> Vec<(String, Direction, &'static str)> {
        self.boxes
            .iter()
            .map(|b| (b.name.to_string(), b.dir, (b.kind.type_name)()))
            .collect()
    }

    /// Whether a box of this name and direction is declared.
    pub fn has_box(&self, dir: Direction, name: &str) -> bool {
        self.boxes.iter().any(|b| b.dir == dir && &*b.name == name)
    }

    /// Declare a box `as_name` of direction `dir` carrying the same message type
    /// as `from`'s box `name` (of either direction). This is how a composite
    /// (Graphline) gives itself boxes matching its children's without knowing
    /// their types at compile time.
    pub fn copy_box(
        mut self,
        from: &Component,
        name: &str,
        dir: Direction,
        as_name: impl Into<Name>,
    ) -> Result<Self, BoxError> {
        let src = from
            .boxes
            .iter()
            .find(|b| &*b.name == name)
            .ok_or_else(|| BoxError::NotFound {
                component: from.name.to_string(),
                name: name.to_string(),
                dir,
                available: from
                    .boxes
                    .iter()
                    .map(|b| format!("{} {}", b.dir, b.name))
                    .collect::<Vec<_>>()
                    .join(", "),
            })?
            .clone();
        let as_name = as_name.into();
        self.forget(dir, &as_name);
        self.boxes.push(BoxDecl {
            name: as_name,
            dir,
            limit: None,
            ..src
        });
        Ok(self)
    }

    fn instantiate(self, shared: &Arc<SystemShared>, kind: Kind) -> (ComponentRef, Context) {
        let id = ComponentId::next();
        let owner = Owner {
            id: Some(id),
            name: self.name.clone(),
        };
        // A plain loop: `collect` into a `SmallVec` went through its generic
        // `extend` (reserve, then a checked push per item).
        let mut nodes = NodeList::new();
        if self.boxes.len() > nodes.inline_size() {
            nodes.reserve_exact(self.boxes.len());
        }
        for decl in self.boxes {
            nodes.push((decl.kind.make)(decl.name, decl.dir, owner.clone(), decl.limit));
        }
        let comp = ComponentRef(Arc::new(ComponentShared {
            id,
            name: self.name,
            kind,
            shared: Arc::downgrade(shared),
            registry_slot: std::sync::atomic::AtomicU32::new(NO_SLOT),
            ended: std::sync::atomic::AtomicU8::new(Ended::Running as u8),
            stop: std::sync::atomic::AtomicBool::new(false),
            inner: ShortLock::new(Inner {
                boxes: nodes,
                parent: None,
                fam: None,
            }),
        }));
        let cx = Context {
            me: comp.clone(),
            system: System {
                shared: shared.clone(),
            },
            resources: Default::default(),
        };
        (comp, cx)
    }
}

/// Async component or threaded component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Driven by the scheduler.
    Async,
    /// Runs on its own OS thread.
    Threaded,
}

pub(crate) struct ComponentShared {
    id: ComponentId,
    name: Name,
    kind: Kind,
    shared: Weak<SystemShared>,
    /// Its slot in the system's registry while it is registered (`NO_SLOT`
    /// otherwise).
    registry_slot: std::sync::atomic::AtomicU32,
    /// How it ended (an [`Ended`]), plus the [`SETTLED`] bit once every
    /// end-of-component step is done; read and written only with `inner`
    /// locked. A byte here, beside `kind` and `registry_slot`, rather than a field of
    /// `Inner`: that keeps the whole at 104 bytes, a 128-byte heap block
    /// instead of 144 (16 bytes less per component).
    ended: std::sync::atomic::AtomicU8,
    /// [`ComponentRef::stop`] was called: end at the next await point. A
    /// byte beside `ended`, in what was padding.
    stop: std::sync::atomic::AtomicBool,
    inner: ShortLock<Inner>,
}

const NO_SLOT: u32 = u32::MAX;

/// A component's boxes, inline up to two (a component with more boxes pays one
/// allocation for the list).
type NodeList = SmallVec<[Arc<dyn AnyNode>; 2]>;

struct Inner {
    boxes: NodeList,
    parent: Option<Weak<ComponentShared>>,
    /// Children, linkages and waiters: allocated only for components that have
    /// any, which keeps a plain idle component small.
    fam: Option<Box<Family>>,
}

#[derive(Default)]
struct Family {
    /// Live children by id: ids grow with creation, so this lists them in the
    /// order they were created, and adopting or losing one is `O(log n)`
    /// (a `Vec` made a parent of `n` children pay `O(n)` for each, `O(n²)` in
    /// all: 1.3 s for 40,000 children).
    children: BTreeMap<ComponentId, ComponentRef>,
    child_exits: VecDeque<ChildExit>,
    /// A child ended since `pause()` last returned.
    exit_news: bool,
    child_waker: Option<Waker>,
    exit_waiters: Vec<Waker>,
    links: Vec<Linkage>,
    /// How it ended, when that was neither finishing nor being cancelled
    /// (see [`Ended::Other`]).
    failure: Option<Outcome>,
}

impl Inner {
    fn f(&mut self) -> &mut Family {
        self.fam.get_or_insert_with(Box::default)
    }

    fn has_children(&self) -> bool {
        self.fam.as_ref().is_some_and(|f| !f.children.is_empty())
    }
}

/// How a component ended, in one byte (`ComponentShared::ended`): the usual
/// endings need nothing more, a failure's outcome is kept in its [`Family`].
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Ended {
    Running = 0,
    Finished = 1,
    Cancelled = 2,
    /// Failed or panicked: the outcome is `Family::failure`.
    Other = 3,
    Stopped = 4,
}

/// Set in `ComponentShared::ended`, beside the [`Ended`] value, when the
/// component has finished ending: its outcome is recorded and it has left the
/// system's registry and live count. [`Finished`] (and so `join`) waits for
/// this, not just for the outcome, so that whoever it returns to no longer
/// finds the component listed as live.
const SETTLED: u8 = 0x80;

impl ComponentShared {
    /// Whether [`ComponentRef::stop`] has been called.
    #[inline]
    pub(crate) fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// How it ended, or `None` while it runs. Call with `inner` locked.
    fn outcome_locked(&self, inner: &Inner) -> Option<Outcome> {
        match self.ended.load(Ordering::Relaxed) & !SETTLED {
            e if e == Ended::Running as u8 => None,
            e if e == Ended::Finished as u8 => Some(Outcome::Finished),
            e if e == Ended::Cancelled as u8 => Some(Outcome::Cancelled),
            e if e == Ended::Stopped as u8 => Some(Outcome::Stopped),
            _ => inner.fam.as_ref().and_then(|f| f.failure.clone()),
        }
    }

    /// Whether it has ended. Call with `inner` locked.
    fn ended_locked(&self) -> bool {
        self.ended.load(Ordering::Relaxed) & !SETTLED != Ended::Running as u8
    }

    /// How it ended, once it has settled (see [`SETTLED`]); `None` before.
    /// Call with `inner` locked.
    fn settled_outcome_locked(&self, inner: &Inner) -> Option<Outcome> {
        if self.ended.load(Ordering::Relaxed) & SETTLED == 0 {
            return None;
        }
        self.outcome_locked(inner)
    }

    /// Mark it settled (see [`SETTLED`]), after its outcome is recorded. Call
    /// with `inner` locked.
    fn settle_locked(&self) {
        let e = self.ended.load(Ordering::Relaxed);
        self.ended.store(e | SETTLED, Ordering::Relaxed);
    }

    /// Record how it ended. Call with `inner` locked (the lock orders this
    /// store with every read).
    fn set_outcome_locked(&self, inner: &mut Inner, outcome: Outcome) {
        let ended = match outcome {
            Outcome::Finished => Ended::Finished,
            Outcome::Cancelled => Ended::Cancelled,
            Outcome::Stopped => Ended::Stopped,
            other => {
                inner.f().failure = Some(other);
                Ended::Other
            }
        };
        self.ended.store(ended as u8, Ordering::Relaxed);
    }
}

/// A child that ended, as its parent hears of it.
#[derive(Clone, Debug)]
pub struct ChildExit {
    /// The child.
    pub child: ComponentRef,
    /// How it ended.
    pub outcome: Outcome,
}

/// A shared reference to a component: its identity, its boxes (for linking) and
/// its fate. Cheap to clone; holding one does not keep the component running.
#[derive(Clone)]
pub struct ComponentRef(pub(crate) Arc<ComponentShared>);

impl fmt::Debug for ComponentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.0.name, self.0.id.as_u64())
    }
}

impl PartialEq for ComponentRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for ComponentRef {}

impl ComponentRef {
    /// The component's id.
    pub fn id(&self) -> ComponentId {
        self.0.id
    }

    /// The name it was declared with.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Async or threaded.
    pub fn kind(&self) -> Kind {
        self.0.kind
    }

    fn find(&self, dir: Direction, name: &str) -> Result<Arc<dyn AnyNode>, BoxError> {
        let inner = self.0.inner.lock();
        match inner.boxes.iter().find(|b| b.is(dir, name)) {
            Some(b) => Ok(b.clone()),
            None => Err(self.not_found(&inner.boxes, dir, name)),
        }
    }

    /// The error for a box `name` of direction `dir` that `boxes` (its boxes)
    /// lack.
    #[cold]
    fn not_found(&self, boxes: &[Arc<dyn AnyNode>], dir: Direction, name: &str) -> BoxError {
        BoxError::NotFound {
            component: self.0.name.to_string(),
            name: name.to_string(),
            dir,
            available: names_of(boxes, dir).join(", "),
        }
    }

    /// Its inbox `name`, typed, for linking.
    pub fn inbox<T: Send + 'static>(&self, name: &str) -> Result<BoxRef<T>, BoxError> {
        self.any_inbox(name)?.into_typed()
    }

    /// Its outbox `name`, typed, for linking.
    pub fn outbox<T: Send + 'static>(&self, name: &str) -> Result<BoxRef<T>, BoxError> {
        self.any_outbox(name)?.into_typed()
    }

    /// Its inbox `name`, type checked when linked.
    pub fn any_inbox(&self, name: &str) -> Result<AnyBoxRef, BoxError> {
        Ok(AnyBoxRef {
            node: self.find(Direction::In, name)?,
        })
    }

    /// Its outbox `name`, type checked when linked.
    pub fn any_outbox(&self, name: &str) -> Result<AnyBoxRef, BoxError> {
        Ok(AnyBoxRef {
            node: self.find(Direction::Out, name)?,
        })
    }

    /// Names of its boxes of one direction, in declaration order.
    pub fn box_names(&self, dir: Direction) -> Vec<String> {
        names_of(&self.0.inner.lock().boxes, dir)
    }

    /// Its live children, in the order they were created.
    pub fn children(&self) -> Vec<ComponentRef> {
        self.0
            .inner
            .lock()
            .fam
            .as_ref()
            .map_or_else(Vec::new, |f| f.children.values().cloned().collect())
    }

    /// Its parent, if it has one that still exists.
    pub fn parent(&self) -> Option<ComponentRef> {
        let p = self.0.inner.lock().parent.clone()?;
        p.upgrade().map(ComponentRef)
    }

    /// How it ended, or `None` while it runs.
    pub fn outcome(&self) -> Option<Outcome> {
        let inner = self.0.inner.lock();
        self.0.outcome_locked(&inner)
    }

    /// Whether it has ended.
    pub fn is_finished(&self) -> bool {
        self.outcome().is_some()
    }

    /// Whether it is running, paused (asleep until something wakes it) or
    /// finished. A threaded component counts as running until it ends.
    pub fn state(&self) -> State {
        if self.is_finished() {
            return State::Finished;
        }
        match self.task() {
            Some(task) if task.flag.is_idle() => State::Paused,
            _ => State::Running,
        }
    }

    /// Its task, if it is an async component still registered.
    fn task(&self) -> Option<crate::runtime::task::TaskRef> {
        let slot = self.0.registry_slot.load(Ordering::Relaxed);
        if slot == NO_SLOT {
            return None;
        }
        let shared = self.system_shared()?;
        let registry = shared.registry.lock();
        match registry.get(slot as usize) {
            Some(Registered::Async(t)) if t.owner() == Some(self) => Some(t.clone()),
            _ => None,
        }
    }

    /// Ask it to stop (Axon's `stop()`): an async component ends at its next
    /// await point (at once if it is paused) with [`Outcome::Stopped`]; its
    /// body is dropped there (destructors run: its close-down), its boxes
    /// close and its parent is told, as for any ending. A threaded component
    /// cannot be interrupted: its `pause_blocking` returns and
    /// [`Context::stop_requested`] turns true, and it should return. Stopping
    /// a finished component does nothing.
    pub fn stop(&self) {
        self.0.stop.store(true, Ordering::Release);
        if let Some(task) = self.task() {
            task.stop.store(true, Ordering::Release);
            task.wake_by_ref();
        }
        // Whoever sleeps in `pause()` (a threaded component) is woken.
        let w = self
            .0
            .inner
            .lock()
            .fam
            .as_ref()
            .and_then(|f| f.child_waker.clone());
        if let Some(w) = w {
            w.wake();
        }
    }

    /// Send it [`Signal::ShutdownMicroprocess`] on its `control` inbox (the
    /// polite way: it decides how to end). Delivered even past a size limit,
    /// as the kernel's own signals are. The same as
    /// `send_control(Signal::ShutdownMicroprocess)`.
    pub fn shutdown(&self) -> Result<(), ControlError> {
        self.send_control(Signal::ShutdownMicroprocess)
    }

    /// Send it `signal` on its `control` inbox, from anywhere (plain code,
    /// another component, a test): one line, no linkage. Delivered at once,
    /// even past a size limit, as the kernel's own signals are. Use
    /// [`shutdown`](Self::shutdown) to ask it to end,
    /// `send_control(Signal::ProducerFinished)` to tell it no more input is
    /// coming, and [`stop`](Self::stop) to end it at its next await point
    /// whatever it is doing.
    ///
    /// ```
    /// use axon::{Component, Signal, System};
    ///
    /// let sys = System::new();
    /// let waiter = sys.spawn(Component::new("waiter"), |mut cx| async move {
    ///     let mut control = cx.inbox::<Signal>("control")?;
    ///     let sig = control.recv().await?;
    ///     assert_eq!(sig, Signal::ProducerFinished);
    ///     Ok(())
    /// });
    /// waiter.send_control(Signal::ProducerFinished).unwrap();
    /// sys.run();
    /// assert_eq!(waiter.outcome(), Some(axon::Outcome::Finished));
    /// ```
    ///
    /// Fails with [`ControlError`] if it has no `control` inbox carrying
    /// [`Signal`] or has finished; the signal is not delivered then.
    pub fn send_control(&self, signal: Signal) -> Result<(), ControlError> {
        let node = self
            .find(Direction::In, "control")
            .map_err(|_| ControlError::NoControlBox {
                component: self.to_string_label(),
            })?;
        let node =
            crate::boxes::node::downcast_node::<Signal>(node).map_err(|_| ControlError::NotSignals {
                component: self.to_string_label(),
            })?;
        if deliver_regardless(&node, signal) {
            Ok(())
        } else {
            Err(ControlError::Finished {
                component: self.to_string_label(),
            })
        }
    }

    fn to_string_label(&self) -> String {
        format!("{}#{}", self.name(), self.id().as_u64())
    }

    /// A future resolving to its outcome when it has ended: when every
    /// end-of-component step is done (linkages removed, boxes closed, the
    /// outcome recorded, the system no longer counting or listing it), which
    /// can be a moment after [`is_finished`](Self::is_finished) turns true.
    ///
    /// It resolves to [`JoinError::NotRunning`] instead of waiting forever when
    /// the component is an async one that has not ended and its system is not
    /// running whenever the future is polled: never started, or stopped
    /// ([`System::is_running`](crate::System::is_running) is false from the
    /// moment `run()` returns or `wait()` / `shutdown()` has stopped the
    /// scheduler; a wait that began while it ran ends with this error then). A
    /// threaded component runs on its own thread, so waiting for one always
    /// waits. The system counts as running from the moment
    /// [`System::start`](crate::System::start) is called (so a thread may join
    /// as soon as `start()` has returned) and from the moment
    /// [`System::run`](crate::System::run) is entered: a thread that joins while
    /// another is about to call `run()` may be told `NotRunning`; use `start()`
    /// then, or join after it.
    pub fn finished(&self) -> Finished {
        Finished { comp: self.clone() }
    }

    /// Block this thread until it ends (plain code and threaded components
    /// only); an error rather than a hang if its system is not running (see
    /// [`finished`](Self::finished) for exactly when).
    ///
    /// ```
    /// use axon::{Component, JoinError, System};
    ///
    /// let sys = System::builder().threads(1).build();
    /// let c = sys.spawn(Component::new("idle"), |_cx| async {});
    /// // Not started: nothing would ever run it.
    /// assert!(matches!(c.join(), Err(JoinError::NotRunning { .. })));
    /// let running = sys.start();
    /// assert_eq!(c.join(), Ok(axon::Outcome::Finished));
    /// running.wait();
    /// ```
    pub fn join(&self) -> Result<Outcome, JoinError> {
        crate::runtime::block_on::block_on(self.finished())
    }

    /// [`join`](Self::join), giving up after `timeout` with
    /// [`JoinError::Timeout`].
    pub fn join_timeout(&self, timeout: Duration) -> Result<Outcome, JoinError> {
        crate::runtime::block_on::block_on_timeout(self.finished(), Some(timeout)).unwrap_or_else(|| {
            Err(JoinError::Timeout {
                component: self.to_string_label(),
                timeout,
            })
        })
    }

    /// Wake whoever waits in [`finished`](Self::finished), so that they look
    /// again (the system stopped running).
    pub(crate) fn wake_joiners(&self) {
        let waiters = self.0.inner.lock().fam.as_ref().map(|f| f.exit_waiters.clone());
        for w in waiters.into_iter().flatten() {
            w.wake();
        }
    }

    pub(crate) fn boxes(&self) -> SmallVec<[Arc<dyn AnyNode>; 4]> {
        self.0.inner.lock().boxes.iter().cloned().collect()
    }

    pub(crate) fn close_boxes(&self) {
        for b in self.boxes() {
            b.close();
        }
    }

    pub(crate) fn set_registry_slot(&self, slot: usize) {
        // Four bytes (next to `kind`) rather than eight: 2^32 - 1 live
        // components would need terabytes.
        let slot = u32::try_from(slot)
            .ok()
            .filter(|&s| s != NO_SLOT)
            .expect("fewer than 2^32 - 1 live components");
        self.0.registry_slot.store(slot, Ordering::Relaxed);
    }

    /// Its registry slot, cleared: `None` if it is not registered (any more).
    pub(crate) fn take_registry_slot(&self) -> Option<usize> {
        match self.0.registry_slot.swap(NO_SLOT, Ordering::Relaxed) {
            NO_SLOT => None,
            slot => Some(slot as usize),
        }
    }

    pub(crate) fn system_shared(&self) -> Option<Arc<SystemShared>> {
        self.0.shared.upgrade()
    }
}

fn names_of(boxes: &[Arc<dyn AnyNode>], dir: Direction) -> Vec<String> {
    boxes
        .iter()
        .filter(|b| b.dir() == dir)
        .map(|b| b.meta().name.to_string())
        .collect()
}

/// Future of [`ComponentRef::finished`].
#[must_use = "futures do nothing unless polled"]
pub struct Finished {
    comp: ComponentRef,
}

impl Future for Finished {
    type Output = Result<Outcome, JoinError>;
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let mut inner = self.comp.0.inner.lock();
        if let Some(o) = self.comp.0.settled_outcome_locked(&inner) {
            return Poll::Ready(Ok(o));
        }
        // Checked with `inner` locked: a system that stops running clears its
        // flag, then takes each component's lock to wake its waiters (see
        // `Shared::stopped_running`), so a waker registered below is woken.
        // One that has ended but not settled is in `finish`, which settles it
        // and wakes its waiters next, whether or not the run has ended
        // meanwhile (the last component to end ends `run`).
        let runs = self.comp.kind() == Kind::Threaded
            || self.comp.0.ended_locked()
            || self.comp.system_shared().is_some_and(|s| s.is_active());
        if !runs {
            return Poll::Ready(Err(JoinError::NotRunning {
                component: self.comp.to_string_label(),
            }));
        }
        if !inner.f().exit_waiters.iter().any(|w| w.will_wake(cx.waker())) {
            inner.f().exit_waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// What a component's body runs with: its boxes, its children, its linkages.
///
/// Take the owner's handles for the declared boxes with [`inbox`](Self::inbox) and
/// [`outbox`](Self::outbox). Linkages made through [`link`](Self::link) belong to
/// this component and are removed when it ends.
pub struct Context {
    me: ComponentRef,
    system: System,
    /// Values tied to its inboxes (the `resource` module).
    pub(crate) resources: crate::component::resource::Resources,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context").field("component", &self.me).finish()
    }
}

impl Drop for Context {
    /// The owner's handles never taken go with the context, as taken ones go
    /// when dropped: an untaken inbox closes, an untaken outbox stops counting
    /// as a sender.
    fn drop(&mut self) {
        let untaken = {
            let inner = self.me.0.inner.lock();
            inner.boxes.iter().any(|b| !b.handle_taken())
        };
        if untaken {
            for b in self.me.boxes() {
                b.release_handle();
            }
        }
    }
}

impl Context {
    /// This component.
    pub fn me(&self) -> &ComponentRef {
        &self.me
    }

    /// The system it runs in.
    pub fn system(&self) -> &System {
        &self.system
    }

    /// This component's id.
    pub fn id(&self) -> ComponentId {
        self.me.id()
    }

    /// The typed node of box `name` whose owner's handle has not been taken;
    /// marks it taken.
    ///
    /// One pass under the component's lock and one dynamic call to check and
    /// claim the box ([`AnyNode::claim_handle`]); every body takes its boxes
    /// this way, so it is on the spawn path.
    fn take<T: Send + 'static>(&mut self, dir: Direction, name: &str) -> Result<Arc<Node<T>>, BoxError> {
        let node = {
            let inner = self.me.0.inner.lock();
            let Some(node) = inner.boxes.iter().find(|b| b.is(dir, name)) else {
                return Err(self.me.not_found(&inner.boxes, dir, name));
            };
            match node.claim_handle(std::any::TypeId::of::<T>()) {
                Claim::Claimed => node.clone(),
                Claim::Taken => {
                    return Err(BoxError::AlreadyTaken {
                        component: self.me.name().to_string(),
                        name: name.to_string(),
                    })
                }
                Claim::WrongType => {
                    return Err(BoxError::WrongType {
                        component: self.me.name().to_string(),
                        name: name.to_string(),
                        requested: std::any::type_name::<T>(),
                        actual: node.type_name(),
                    })
                }
            }
        };
        Ok(crate::boxes::node::downcast_node::<T>(node)
            .unwrap_or_else(|_| unreachable!("the message type was checked")))
    }

    /// Take the receiving handle of inbox `name`.
    pub fn inbox<T: Send + 'static>(&mut self, name: &str) -> Result<Inbox<T>, BoxError> {
        self.take::<T>(Direction::In, name).map(Inbox::from_node)
    }

    /// Take the sending handle of outbox `name`.
    pub fn outbox<T: Send + 'static>(&mut self, name: &str) -> Result<Outbox<T>, BoxError> {
        self.take::<T>(Direction::Out, name).map(Outbox::from_node)
    }

    fn unique_name(&self, dir: Direction, base: &str) -> String {
        let names = self.me.box_names(dir);
        if !names.iter().any(|n| n == base) {
            return base.to_string();
        }
        (1..)
            .map(|i| format!("{base}{i}"))
            .find(|c| !names.contains(c))
            .expect("an unused name exists")
    }

    fn add_box<T: Send + 'static>(&mut self, dir: Direction, base: &str) -> (String, Arc<Node<T>>) {
        let name = self.unique_name(dir, base);
        let owner = Owner {
            id: Some(self.me.id()),
            name: self.me.0.name.clone(),
        };
        let node = Node::<T>::new(Name::from(name.clone()), dir, owner, None);
        node.handle_taken.store(true, Ordering::Relaxed);
        self.me.0.inner.lock().boxes.push(node.clone());
        (name, node)
    }

    /// Add an inbox while running (Axon's `AdaptiveCommsComponent.addInbox`). The
    /// name is `base`, or `base` with a number appended if taken; the name used is
    /// returned with the handle.
    pub fn add_inbox<T: Send + 'static>(&mut self, base: &str) -> (String, Inbox<T>) {
        let (name, node) = self.add_box::<T>(Direction::In, base);
        (name, Inbox::from_node(node))
    }

    /// Add an outbox while running; see [`add_inbox`](Self::add_inbox).
    pub fn add_outbox<T: Send + 'static>(&mut self, base: &str) -> (String, Outbox<T>) {
        let (name, node) = self.add_box::<T>(Direction::Out, base);
        (name, Outbox::from_node(node))
    }

    /// Remove a box while running. Unlike Axon, every linkage this component
    /// made that touches it is removed first, and the box is closed (an inbox
    /// returns later messages to their senders; an outbox stops counting as a
    /// sender). A resource tied to a removed inbox
    /// ([`track_resource`](Self::track_resource)) is dropped.
    pub fn remove_box(&mut self, dir: Direction, name: &str) -> Result<(), BoxError> {
        let node = self.me.find(dir, name)?;
        if dir == Direction::In {
            self.resources.release(name);
        }
        let links: Vec<Linkage> = {
            let mut inner = self.me.0.inner.lock();
            let (touching, rest): (Vec<_>, Vec<_>) =
                inner.f().links.drain(..).partition(|l| l.touches(&*node));
            inner.f().links = rest;
            inner.boxes.retain(|b| !Arc::ptr_eq(b, &node));
            touching
        };
        // It ends first (its receivers learn an outbox is gone; see
        // `topology`, "Closure"), then every linkage goes.
        node.retire();
        for l in links {
            let _ = l.unlink();
        }
        // Unlink this box from its own target and its sources, whoever made them.
        node.clone().detach();
        // An owner's handle never taken goes now, as it would have with the box.
        node.release_handle();
        Ok(())
    }

    /// Link two boxes (any components'). The linkage belongs to this component
    /// and is removed when it ends.
    pub fn link<T: Send + 'static>(&self, src: &BoxRef<T>, dst: &BoxRef<T>) -> Result<Linkage, LinkError> {
        let l = link_nodes(&src.node, &dst.node, Some(self.id()))?;
        self.me.0.inner.lock().f().links.push(l.clone());
        Ok(l)
    }

    /// Link two boxes found by name; message types are checked at run time.
    pub fn link_any(&self, src: &AnyBoxRef, dst: &AnyBoxRef) -> Result<Linkage, LinkError> {
        let l = link_any_by(src, dst, Some(self.id()))?;
        self.me.0.inner.lock().f().links.push(l.clone());
        Ok(l)
    }

    /// Remove a linkage and forget it.
    pub fn unlink(&self, linkage: &Linkage) -> Result<(), LinkError> {
        self.me
            .0
            .inner
            .lock()
            .f()
            .links
            .retain(|l| l.id() != linkage.id());
        linkage.unlink()
    }

    /// Linkages this component made that are still in place.
    pub fn linkages(&self) -> Vec<Linkage> {
        self.me
            .0
            .inner
            .lock()
            .fam
            .as_ref()
            .map_or_else(Vec::new, |f| f.links.clone())
    }

    /// Spawn an async child: it runs now, and this component is woken and told
    /// when it ends ([`child_exit`](Self::child_exit)).
    pub fn spawn_child<F, Fut>(&self, spec: Component, main: F) -> ComponentRef
    where
        F: FnOnce(Context) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: Termination,
    {
        self.system.spawn_with_parent(spec, main, Some(&self.me))
    }

    /// Spawn a threaded child (see [`System::spawn_threaded`]).
    pub fn spawn_threaded_child<F, R>(&self, spec: Component, main: F) -> ComponentRef
    where
        F: FnOnce(Context) -> R + Send + 'static,
        R: Termination + 'static,
    {
        self.system.spawn_threaded_with_parent(spec, main, Some(&self.me))
    }

    /// Adopt an already running component as a child (Axon's `addChildren`).
    pub fn add_child(&self, child: &ComponentRef) {
        adopt(&self.me, child);
    }

    /// Stop treating `child` as a child (Axon's `removeChild`): its end no
    /// longer wakes this component. Linkages this component made to its boxes are
    /// removed.
    pub fn remove_child(&self, child: &ComponentRef) {
        let child_boxes = child.boxes();
        let links: Vec<Linkage> = {
            let mut inner = self.me.0.inner.lock();
            inner.f().children.remove(&child.id());
            let (touching, rest): (Vec<_>, Vec<_>) = inner
                .f()
                .links
                .drain(..)
                .partition(|l| child_boxes.iter().any(|b| l.touches(&**b)));
            inner.f().links = rest;
            touching
        };
        for l in links {
            let _ = l.unlink();
        }
        let mut ci = child.0.inner.lock();
        if matches!(&ci.parent, Some(p) if Weak::ptr_eq(p, &Arc::downgrade(&self.me.0))) {
            ci.parent = None;
        }
    }

    /// Live children, in the order they were created.
    pub fn children(&self) -> Vec<ComponentRef> {
        self.me.children()
    }

    /// Whether every child has ended (true with no children).
    pub fn children_done(&self) -> bool {
        !self.me.0.inner.lock().has_children()
    }

    /// Wait for the next child to end. `None` when no child is left to end and
    /// every exit has been reported.
    pub fn child_exit(&self) -> ChildExitFuture<'_> {
        ChildExitFuture { cx: self }
    }

    /// Sleep until something happens (Axon's `pause()` then `yield`): a
    /// delivery to any inbox, an inbox's last sender ending, space appearing
    /// where a `try_send` found none, a child ending, or a
    /// [`stop`](ComponentRef::stop) request. Check your boxes after it returns.
    ///
    /// It always gives the scheduler a turn, even when something has already
    /// happened, so a loop of `try_recv` / `try_send` / `pause` never spins
    /// inside one poll. What counts as "something happened" is news since
    /// `pause()` last returned: a message delivered before that, which the
    /// component looked at and left (say, because its outbox was full), does
    /// not make it return again; a message delivered after it *does*, even if
    /// it arrived before this call (no lost wakeup). The same holds for child
    /// exits (news once each, whether or not [`child_exit`](Self::child_exit)
    /// has collected them), an inbox closing (reported once) and space in an
    /// outbox after a refused `try_send` (reported once per refusal).
    ///
    /// Wakeups may still be spurious (rarely): check your boxes after.
    ///
    /// ```
    /// use axon::{Component, System, TrySendError};
    ///
    /// let sys = System::builder().threads(1).build();
    /// // Axon's style: take what is there, send what fits, otherwise pause.
    /// let t = sys.spawn(Component::new("t").inbox_and_outbox::<u32, u32>(), |mut cx| async move {
    ///     let mut inbox = cx.inbox::<u32>("inbox")?;
    ///     let mut out = cx.outbox::<u32>("outbox")?;
    ///     let mut pending = None;
    ///     loop {
    ///         if pending.is_none() {
    ///             match inbox.try_recv() {
    ///                 Ok(x) => pending = Some(x + 1),
    ///                 Err(axon::TryRecvError::Closed) => break,
    ///                 Err(axon::TryRecvError::Empty) => {}
    ///             }
    ///         }
    ///         if let Some(x) = pending.take() {
    ///             match out.try_send(x) {
    ///                 Ok(()) => continue,
    ///                 Err(TrySendError::Full(x)) => pending = Some(x),
    ///                 Err(TrySendError::Closed(_)) => break,
    ///             }
    ///         }
    ///         cx.pause().await;
    ///     }
    ///     Ok(())
    /// });
    /// let mut feed = axon::Outbox::<u32>::detached("feed");
    /// let mut results = axon::Inbox::<u32>::detached("results");
    /// results.set_size(Some(1));
    /// axon::link(&feed.endpoint(), &t.inbox::<u32>("inbox").unwrap()).unwrap();
    /// axon::link(&t.outbox::<u32>("outbox").unwrap(), &results.endpoint()).unwrap();
    /// feed.try_send(1).unwrap();
    /// feed.try_send(2).unwrap();
    /// drop(feed);
    /// let running = sys.start();
    /// assert_eq!(results.recv_blocking(), Ok(2));
    /// assert_eq!(results.recv_blocking(), Ok(3));
    /// running.wait();
    /// ```
    pub fn pause(&self) -> Pause<'_> {
        Pause {
            cx: self,
            state: PauseState::Start,
            timer: None,
        }
    }

    /// [`pause`](Self::pause), returning at the latest when `timeout` has
    /// passed (a timer the component set).
    pub fn pause_timeout(&self, timeout: Duration) -> Pause<'_> {
        Pause {
            cx: self,
            state: PauseState::Start,
            timer: Some(crate::runtime::time::sleep(timeout)),
        }
    }

    /// [`pause`](Self::pause) for threaded components: block this thread, at most
    /// `timeout` if given. Also an interruptible sleep.
    pub fn pause_blocking(&self, timeout: Option<Duration>) {
        crate::runtime::block_on::block_on_timeout(self.pause(), timeout);
    }

    /// Whether [`ComponentRef::stop`] has been called on this component (a
    /// threaded component should then return).
    pub fn stop_requested(&self) -> bool {
        self.me.0.stop_requested()
    }

    /// The name of the first inbox with data waiting (Axon's `anyReady`).
    pub fn any_ready(&self) -> Option<String> {
        self.me
            .boxes()
            .iter()
            .find(|b| b.dir() == Direction::In && b.ready())
            .map(|b| b.meta().name.to_string())
    }
}

/// Future of [`Context::child_exit`].
#[must_use = "futures do nothing unless polled"]
pub struct ChildExitFuture<'a> {
    cx: &'a Context,
}

impl Future for ChildExitFuture<'_> {
    type Output = Option<ChildExit>;
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let mut inner = self.cx.me.0.inner.lock();
        if let Some(e) = inner.f().child_exits.pop_front() {
            return Poll::Ready(Some(e));
        }
        if !inner.has_children() {
            return Poll::Ready(None);
        }
        inner.f().child_waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Future of [`Context::pause`].
#[must_use = "futures do nothing unless polled"]
pub struct Pause<'a> {
    cx: &'a Context,
    state: PauseState,
    timer: Option<crate::runtime::time::Sleep>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PauseState {
    /// Not polled yet.
    Start,
    /// Something had happened already: it gave the scheduler one turn.
    Yielded,
    /// Its wakeups are registered: the next poll returns.
    Slept,
}

impl Pause<'_> {
    /// Whether anything happened since `pause()` last returned; if not, every
    /// source of news is watched with `waker`.
    fn news_or_watch(&mut self, waker: &Waker) -> bool {
        let me = &self.cx.me;
        if me.0.stop_requested() {
            return true;
        }
        {
            let mut inner = me.0.inner.lock();
            if inner.fam.as_ref().is_some_and(|f| f.exit_news) {
                return true;
            }
            // A threaded component is woken here by `stop()` too (an async
            // one through its task), so it always registers.
            let fam = match me.kind() {
                Kind::Threaded => Some(inner.f()),
                Kind::Async => inner.fam.as_deref_mut(),
            };
            if let Some(f) = fam {
                match &f.child_waker {
                    Some(w) if w.will_wake(waker) => {}
                    _ => f.child_waker = Some(waker.clone()),
                }
            }
        }
        if me.0.stop_requested() {
            return true; // asked between the check above and the registration
        }
        let mut news = false;
        for b in me.boxes() {
            news |= match b.dir() {
                Direction::In => b.watch_delivery(Some(waker)),
                Direction::Out => b.watch_space(Some(waker)),
            };
            if news {
                return true;
            }
        }
        false
    }

    /// `pause()` returns: what it reported has been seen.
    fn settle(&self) {
        let me = &self.cx.me;
        if let Some(f) = me.0.inner.lock().fam.as_mut() {
            f.exit_news = false;
        }
        for b in me.boxes() {
            match b.dir() {
                Direction::In => {
                    b.watch_delivery(None);
                }
                Direction::Out => {
                    b.watch_space(None);
                }
            }
        }
    }
}

impl Future for Pause<'_> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        let this = &mut *self;
        match this.state {
            PauseState::Start => {
                if this.news_or_watch(cx.waker()) {
                    this.state = PauseState::Yielded;
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                if let Some(t) = this.timer.as_mut() {
                    if Pin::new(t).poll(cx).is_ready() {
                        this.state = PauseState::Yielded;
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                }
                this.state = PauseState::Slept;
                Poll::Pending
            }
            PauseState::Yielded | PauseState::Slept => {
                this.timer = None;
                this.settle();
                Poll::Ready(())
            }
        }
    }
}

fn adopt(parent: &ComponentRef, child: &ComponentRef) {
    {
        let mut ci = child.0.inner.lock();
        if child.0.ended_locked() {
            // Already ended: report it at once.
            let outcome = child.0.outcome_locked(&ci).expect("checked");
            drop(ci);
            let mut pi = parent.0.inner.lock();
            pi.f().child_exits.push_back(ChildExit {
                child: child.clone(),
                outcome,
            });
            pi.f().exit_news = true;
            if let Some(w) = pi.f().child_waker.take() {
                drop(pi);
                w.wake();
            }
            return;
        }
        ci.parent = Some(Arc::downgrade(&parent.0));
    }
    let mut pi = parent.0.inner.lock();
    pi.f().children.entry(child.id()).or_insert_with(|| child.clone());
}

/// An async component owns its task: the runtime reports the task's end here.
impl TaskOwner for ComponentRef {
    fn task_finished(&self, outcome: Outcome) {
        finish(self, outcome);
    }
}

/// Everything that happens when a component ends.
pub(crate) fn finish(comp: &ComponentRef, outcome: Outcome) {
    // The failure report goes out before the outcome becomes visible, so that
    // whoever sees `is_finished()` / `finished()` can rely on it being there.
    let failure = Failure::of(comp.id(), comp.name(), &outcome);
    match &failure {
        Some(failure) => {
            let how = if failure.panicked {
                "component panicked"
            } else {
                "component failed"
            };
            tracing::warn!(component = %comp.name(), id = %comp.id(), reason = %failure.reason, "{how}");
            if let Ok(signal) = comp.outbox::<Signal>("signal") {
                let _ = deliver_regardless(&signal.node, Signal::Failed(failure.clone()));
            }
        }
        None => tracing::trace!(component = %comp.name(), id = %comp.id(), ?outcome, "component ended"),
    }
    // Clean up first: its boxes close (its outboxes stop counting as senders:
    // an ending, which closes the inboxes they fed), then the linkages it made
    // go (an unlink alone closes nothing; see `topology`, "Closure").
    comp.close_boxes();
    let links = comp
        .0
        .inner
        .lock()
        .fam
        .as_mut()
        .map(|f| std::mem::take(&mut f.links));
    for l in links.into_iter().flatten() {
        let _ = l.unlink();
    }
    // Then the end becomes visible: outcome, system registry, parent, joiners.
    let parent = {
        let mut inner = comp.0.inner.lock();
        comp.0.set_outcome_locked(&mut inner, outcome.clone());
        if let Some(f) = inner.fam.as_mut() {
            f.child_waker = None;
        }
        inner.parent.take()
    };
    let parent = parent.and_then(|p| p.upgrade());
    if let Some(shared) = comp.system_shared() {
        // Nobody is told of a top-level (or orphaned) component's failure but
        // the system: it goes in the report `run()` returns. Before
        // `component_finished`, which may end the run.
        if let (Some(failure), None) = (failure, &parent) {
            shared.note_failure(failure);
        }
        shared.component_finished(comp);
    }
    // Joiners last: once `join` returns, the system no longer lists it.
    let waiters = {
        let mut inner = comp.0.inner.lock();
        comp.0.settle_locked();
        inner.fam.as_mut().map(|f| std::mem::take(&mut f.exit_waiters))
    };
    if let Some(parent) = parent {
        let mut pi = parent.inner.lock();
        pi.f().children.remove(&comp.id());
        pi.f().child_exits.push_back(ChildExit {
            child: comp.clone(),
            outcome,
        });
        pi.f().exit_news = true;
        let w = pi.f().child_waker.take();
        drop(pi);
        if let Some(w) = w {
            w.wake();
        }
    }
    for w in waiters.into_iter().flatten() {
        w.wake();
    }
}

/// Deliver a kernel message (a failure signal) even past the size limit: it must
/// not be lost and the dying component cannot wait.
fn deliver_regardless<T: Send + 'static>(node: &Arc<Node<T>>, msg: T) -> bool {
    loop {
        let sink = crate::boxes::topology::resolve(node);
        let mut st = sink.store.lock();
        let flags = sink.store_flags();
        if flags.forwarded() {
            // Linked onward since we resolved it (as in `Outbox::try_send`):
            // resolve again rather than strand the message in a forwarding box.
            continue;
        }
        if flags.closed() {
            tracing::warn!(box_ = %node.meta.label(), "kernel signal not delivered: destination closed");
            return false;
        }
        let wakeup = st.push(msg, &sink.armed);
        sink.note_delivery(flags);
        drop(st);
        wakeup.wake();
        return true;
    }
}

/// A component created but not yet running: its boxes exist, so it can be
/// linked (and registered as a service) before anything can happen to it. Call
/// [`activate`](Dormant::activate) to start it. Dropping a `Dormant` without
/// activating it closes its boxes and marks it [`Outcome::Cancelled`].
///
/// This is Kamaelia's separation of construction from activation; composites use
/// it so a child cannot act (or finish) before it is wired.
///
/// ```
/// use axon::{Component, Prefab, System};
/// let sys = System::new();
/// let d = Prefab::new(Component::new("quick").inbox_and_outbox::<u8, u8>(), |mut cx| async move {
///     let mut inbox = cx.inbox::<u8>("inbox")?;
///     let mut out = cx.outbox::<u8>("outbox")?;
///     while let Ok(x) = inbox.recv().await { out.send(x).await?; }
///     Ok(())
/// })
/// .create(&sys);
/// let mut results = axon::Inbox::<u8>::detached("results");
/// axon::link(&d.component().outbox::<u8>("outbox").unwrap(), &results.endpoint()).unwrap();
/// let c = d.activate();
/// # drop(c);
/// ```
#[must_use = "dropping a Dormant component cancels it: activate() it"]
pub struct Dormant {
    comp: ComponentRef,
    parent: Option<ComponentRef>,
    start: Option<Box<dyn FnOnce(ComponentRef) + Send>>,
}

impl fmt::Debug for Dormant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dormant").field("component", &self.comp).finish()
    }
}

impl Dormant {
    /// The component, for linking before it starts.
    pub fn component(&self) -> &ComponentRef {
        &self.comp
    }

    /// Start it (as a child of the parent given at creation, if any).
    pub fn activate(mut self) -> ComponentRef {
        if let Some(p) = &self.parent {
            adopt(p, &self.comp);
        }
        let start = self.start.take().expect("activated once");
        start(self.comp.clone());
        self.comp.clone()
    }
}

impl Drop for Dormant {
    fn drop(&mut self) {
        if self.start.take().is_some() {
            let mut inner = self.comp.0.inner.lock();
            self.comp.0.set_outcome_locked(&mut inner, Outcome::Cancelled);
            // Never registered: nothing else to wait for.
            self.comp.0.settle_locked();
            let waiters = inner.fam.as_mut().map(|f| std::mem::take(&mut f.exit_waiters));
            drop(inner);
            self.comp.close_boxes();
            // Whoever joined it while it was dormant hears it was cancelled.
            for w in waiters.into_iter().flatten() {
                w.wake();
            }
        }
    }
}

/// Start an instantiated async component: register it and queue its first poll.
fn start_async<F, Fut>(shared: &Arc<SystemShared>, comp: ComponentRef, cx: Context, main: F)
where
    F: FnOnce(Context) -> Fut + Send + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: Termination,
{
    let body = async move { main(cx).await.into_outcome() };
    let task = Task::allocate(body, shared.core.clone(), comp);
    // The task starts SCHEDULED, and the registry keeps it alive until it is
    // DONE: spawned on one of the system's workers, its first queue entry
    // needs no reference of its own (see `Runnable`), which saves a reference
    // count round trip per spawn.
    let entry = shared.claim(&task);
    shared.register(Registered::Async(task));
    // At the back of the queue, not in the LIFO slot: first steps in spawn
    // order (see `Shared::schedule_spawned`).
    shared.schedule_spawned(entry);
}

impl System {
    /// Spawn an async component. Its body starts at once (the scheduler runs it
    /// when it next runs); link its boxes before or after, since messages sent on
    /// an unlinked outbox are held until it is linked. To link before it can run
    /// at all, use [`Prefab::create`](crate::Prefab::create).
    pub fn spawn<F, Fut>(&self, spec: Component, main: F) -> ComponentRef
    where
        F: FnOnce(Context) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: Termination,
    {
        self.spawn_with_parent(spec, main, None)
    }

    pub(crate) fn spawn_with_parent<F, Fut>(
        &self,
        spec: Component,
        main: F,
        parent: Option<&ComponentRef>,
    ) -> ComponentRef
    where
        F: FnOnce(Context) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: Termination,
    {
        // What `create_with_parent(..).activate()` does, without boxing the start.
        let (comp, cx) = spec.instantiate(&self.shared, Kind::Async);
        if let Some(p) = parent {
            adopt(p, &comp);
        }
        start_async(&self.shared, comp.clone(), cx, main);
        comp
    }

    pub(crate) fn create_with_parent<F, Fut>(
        &self,
        spec: Component,
        main: F,
        parent: Option<&ComponentRef>,
    ) -> Dormant
    where
        F: FnOnce(Context) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: Termination,
    {
        let (comp, cx) = spec.instantiate(&self.shared, Kind::Async);
        let shared = self.shared.clone();
        Dormant {
            comp,
            parent: parent.cloned(),
            start: Some(Box::new(move |comp: ComponentRef| {
                start_async(&shared, comp, cx, main)
            })),
        }
    }

    pub(crate) fn spawn_threaded_with_parent<F, R>(
        &self,
        spec: Component,
        main: F,
        parent: Option<&ComponentRef>,
    ) -> ComponentRef
    where
        F: FnOnce(Context) -> R + Send + 'static,
        R: Termination + 'static,
    {
        self.create_threaded_with_parent(spec, main, parent).activate()
    }

    pub(crate) fn create_threaded_with_parent<F, R>(
        &self,
        spec: Component,
        main: F,
        parent: Option<&ComponentRef>,
    ) -> Dormant
    where
        F: FnOnce(Context) -> R + Send + 'static,
        R: Termination + 'static,
    {
        let (comp, cx) = spec.instantiate(&self.shared, Kind::Threaded);
        let shared = self.shared.clone();
        Dormant {
            comp,
            parent: parent.cloned(),
            start: Some(Box::new(move |comp: ComponentRef| {
                shared.register(Registered::Threaded(comp.clone()));
                let me = comp.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("{}#{}", comp.name(), comp.id().as_u64()))
                    .spawn(move || {
                        let outcome =
                            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || main(cx))) {
                                Ok(r) => r.into_outcome(),
                                Err(p) => Outcome::Panicked(panic_message(&*p)),
                            };
                        finish(&me, outcome);
                    });
                if let Err(e) = spawned {
                    finish(&comp, Outcome::Failed(SharedError::new(ThreadSpawnError(e))));
                }
            })),
        }
    }
}

/// A threaded component's OS thread could not be started.
#[derive(Debug, thiserror::Error)]
#[error("could not start its thread: {0}")]
struct ThreadSpawnError(std::io::Error);
