//! The shared heart of a box: its identity, its [`Store`], and its place in the
//! linkage graph.
//!
//! An [`Inbox`](crate::Inbox) or [`Outbox`](crate::Outbox) is the owner's handle on
//! a `Node`; [`BoxRef`](crate::BoxRef)s and linkages hold further references so
//! other components can wire it. The graph fields (`target`, `sources`,
//! `open_upstream`) change only under the global topology lock (see
//! [`crate::boxes::topology`]); the store has its own mutex, taken by every send and
//! receive.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::{Arc, Weak};
use std::task::Waker;

use crate::boxes::store::{Lazy, Store, WaitKind};
use crate::boxes::wakeup::Armed;
use crate::id::{BoxId, ComponentId};
use crate::name::Name;
use crate::runtime::sync::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering, ShortLock};

/// Whether a box receives (inbox) or sends (outbox).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Messages arrive here for the owner to receive.
    In,
    /// The owner sends from here.
    Out,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::In => "inbox",
            Direction::Out => "outbox",
        })
    }
}

/// Who owns a box, for error messages and introspection.
#[derive(Clone, Debug)]
pub(crate) struct Owner {
    pub(crate) id: Option<ComponentId>,
    pub(crate) name: Name,
}

/// Immutable facts about a box.
#[derive(Debug)]
pub(crate) struct BoxMeta {
    pub(crate) id: BoxId,
    pub(crate) name: Name,
    pub(crate) owner: Owner,
}

impl BoxMeta {
    /// `owner.box` as people write it.
    pub(crate) fn label(&self) -> String {
        format!("{}.{}", self.owner.name, self.name)
    }
}

/// Graph fields, mutated only under the topology lock.
#[derive(Debug)]
pub(crate) struct Topo<T> {
    pub(crate) target: Option<Arc<Node<T>>>,
    pub(crate) sources: Lazy<Vec<Weak<Node<T>>>>,
}

/// One box.
///
/// The field order is fixed (`repr(C)`) so that what every send and receive
/// touches sits together at the front: the store with its lock, the flags
/// beside it, then the armed word, 96 bytes in all. Left to the compiler, those
/// spread over 180 of the 184 bytes. In a ring of 100 components, where the
/// next box is out of the L1 cache by the time a hop reaches it, that made
/// 18% more L1 read misses (callgrind's cache simulation; see
/// docs/BENCHMARKS.md). The graph fields and the immutable facts, which only
/// linking and introspection read, come last.
#[repr(C)]
pub(crate) struct Node<T> {
    /// The messages and the senders waiting for space, behind the lock every
    /// send and receive takes.
    pub(crate) store: ShortLock<Store<T>>,
    /// Two facts about the store, [`StoreFlags`]: whether this box is
    /// forwarded and whether it is closed. Part of the store's state, read
    /// and written only with `store` locked (so `Relaxed` is enough: the lock
    /// orders them, and a writer, holding the lock, needs no read-modify-write
    /// to change one bit). They sit here, just after the store's lock, rather
    /// than in [`Store`], which is then 64 bytes where it would be 72 (see
    /// `Store::room`); one byte rather than two `bool`s so that a send reads
    /// both with one load.
    store_flags: AtomicU8,
    /// For an inbox: the owner's [`Inbox`](crate::Inbox) handle holds messages
    /// it collected from the store in one go and has not returned yet (see
    /// "Collecting in batches" on [`Inbox`](crate::Inbox)). Written only by the
    /// handle's owner; read by `pause()` and `any_ready()`, which that same
    /// owner runs.
    pub(crate) held: AtomicBool,
    /// A `try_send` from this outbox found no space: `pause()` waits for room.
    pub(crate) wants_space: AtomicBool,
    /// `pause()` already reported that this inbox's senders are all gone.
    pub(crate) closure_seen: AtomicBool,
    /// `open_upstream` has been non-zero at least once: only then can an empty
    /// inbox report that its senders are all gone.
    pub(crate) ever_fed: AtomicBool,
    /// For an outbox: the owner's handle still exists. Inboxes are never
    /// "open" senders. Changed only under the topology lock (an atomic rather
    /// than a `Topo` field so it shares one word with the other flags).
    pub(crate) open_handle: AtomicBool,
    /// For a component's outbox: the component has not finished. An outbox
    /// counts as a sender while either holds, so a component's failure report
    /// goes out before its outboxes close. Changed only under the topology lock.
    pub(crate) open_owner: AtomicBool,
    /// The owner's handle (`Inbox` or `Outbox`) has been made. A component's
    /// box starts without one; its [`Context`](crate::Context) makes it when the
    /// body takes it, or releases it unmade (with the same effect as dropping
    /// it) when the context goes.
    pub(crate) handle_taken: AtomicBool,
    /// Lets the receiver park again without the lock (see [`crate::boxes::wakeup`]).
    pub(crate) armed: Armed,
    /// Open outboxes at or upstream of this box (written under the topology
    /// lock). 32 bits, so that it and `dir` share one word: a link
    /// that would take it past `u32::MAX` is refused
    /// ([`LinkError::TooManySenders`](crate::boxes::error::LinkError::TooManySenders)).
    pub(crate) open_upstream: AtomicU32,
    /// Inbox or outbox (a fact like those in `meta`, kept here where it fills
    /// `open_upstream`'s word).
    pub(crate) dir: Direction,
    /// Bumped whenever the final sink this box resolves to may have changed;
    /// outboxes cache their resolved sink against it.
    pub(crate) gen: AtomicU64,
    /// Where this box forwards to and what forwards into it.
    pub(crate) topo: ShortLock<Topo<T>>,
    /// Id, name and owner.
    pub(crate) meta: BoxMeta,
}

/// The store flags of a box, read at once (see [`Node::store_flags`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StoreFlags(u8);

impl StoreFlags {
    const FORWARDED: u8 = 1;
    const CLOSED: u8 = 2;
    const DELIVERED: u8 = 4;
    const DRAINING: u8 = 8;

    /// This box has a target: it is no longer a final sink and pushes must
    /// resolve the chain again.
    #[inline]
    pub(crate) fn forwarded(self) -> bool {
        self.0 & Self::FORWARDED != 0
    }

    /// The receiving side is gone (its owner finished or the handle was
    /// dropped).
    #[inline]
    pub(crate) fn closed(self) -> bool {
        self.0 & Self::CLOSED != 0
    }

    /// This box has a target but still holds messages that did not fit into
    /// its sink when it was linked: it stays the final box of its own senders
    /// (so their messages queue behind the held ones) while those move on as
    /// the sink makes room (see `topology`, "Draining"). Changed under both
    /// the topology lock and the store lock; read under either.
    #[inline]
    pub(crate) fn draining(self) -> bool {
        self.0 & Self::DRAINING != 0
    }

    /// A message was pushed into this box since its owner's `pause()` last
    /// returned (see [`Context::pause`](crate::Context::pause)).
    #[inline]
    pub(crate) fn delivered(self) -> bool {
        self.0 & Self::DELIVERED != 0
    }
}

impl<T> Node<T> {
    /// The store flags. Call with `store` locked.
    #[inline]
    pub(crate) fn store_flags(&self) -> StoreFlags {
        StoreFlags(self.store_flags.load(Ordering::Relaxed))
    }

    /// Mark this box forwarded (`true`: it gained a target) or not. Call with
    /// `store` locked.
    pub(crate) fn set_forwarded(&self, on: bool) {
        self.set_store_flag(StoreFlags::FORWARDED, on);
    }

    /// Note a delivery for `pause()`, given the flags just read under the
    /// same lock: one plain store, and only the first time after `pause()`
    /// looked (a box nobody pauses on pays a test and a branch per push).
    /// Call with `store` locked.
    #[inline]
    pub(crate) fn note_delivery(&self, flags: StoreFlags) {
        if !flags.delivered() {
            self.store_flags
                .store(flags.0 | StoreFlags::DELIVERED, Ordering::Relaxed);
        }
    }

    /// The owner took the last message out of the box: every delivery so
    /// far has been seen, so the note goes (one load, and a store only when
    /// the note was there). Returns whether the box is draining (its owner
    /// received what it held: the drain is over, see
    /// `topology::drained_by_owner`). Call with `store` locked.
    #[inline]
    pub(crate) fn delivery_seen(&self) -> bool {
        let f = self.store_flags();
        if f.delivered() {
            self.store_flags
                .store(f.0 & !StoreFlags::DELIVERED, Ordering::Relaxed);
        }
        f.draining()
    }

    /// Take the delivery note (see [`note_delivery`](Self::note_delivery)):
    /// whether a message was pushed since the last call. Call with `store`
    /// locked.
    pub(crate) fn take_delivery(&self) -> bool {
        let f = self.store_flags();
        if f.delivered() {
            self.set_store_flag(StoreFlags::DELIVERED, false);
        }
        f.delivered()
    }

    /// Whether this box is draining (see [`StoreFlags::draining`]). Call with
    /// the topology lock or `store` held.
    #[inline]
    pub(crate) fn is_draining(&self) -> bool {
        StoreFlags(self.store_flags.load(Ordering::Acquire)).draining()
    }

    /// Mark this box draining or not. Call with the topology lock and
    /// `store` held.
    pub(crate) fn set_draining(&self, on: bool) {
        self.set_store_flag(StoreFlags::DRAINING, on);
    }

    /// Mark this box closed. Call with `store` locked.
    pub(crate) fn set_closed(&self) {
        self.set_store_flag(StoreFlags::CLOSED, true);
    }

    fn set_store_flag(&self, bit: u8, on: bool) {
        // Only holders of the store lock write: a load and a store suffice.
        let f = self.store_flags.load(Ordering::Relaxed);
        let f = if on { f | bit } else { f & !bit };
        self.store_flags.store(f, Ordering::Relaxed);
    }
}

impl<T> fmt::Debug for Node<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node").field("meta", &self.meta).finish()
    }
}

/// How many messages an outbox holds while nothing is linked to it, unless
/// its size is set otherwise ([`Outbox::set_size`](crate::Outbox::set_size),
/// [`Component::outbox_with_size`](crate::Component::outbox_with_size)): then
/// `try_send` reports `Full` and `send` waits until it is linked or makes room,
/// as the reference's outboxes push back.
pub const DEFAULT_OUTBOX_LIMIT: usize = 1000;

impl<T: Send + 'static> Node<T> {
    /// A box. An outbox given no limit gets [`DEFAULT_OUTBOX_LIMIT`].
    pub(crate) fn new(name: Name, dir: Direction, owner: Owner, limit: Option<usize>) -> Arc<Self> {
        let limit = match dir {
            Direction::Out => limit.or(Some(DEFAULT_OUTBOX_LIMIT)),
            Direction::In => limit,
        };
        Node::with_limit(name, dir, owner, limit)
    }

    /// A box with exactly this limit (`None`: unbounded).
    pub(crate) fn with_limit(name: Name, dir: Direction, owner: Owner, limit: Option<usize>) -> Arc<Self> {
        let open = dir == Direction::Out;
        let owned = owner.id.is_some();
        Arc::new(Node {
            meta: BoxMeta {
                id: BoxId::next(),
                name,
                owner,
            },
            store: ShortLock::new(Store::new(limit)),
            armed: Armed::new(),
            topo: ShortLock::new(Topo {
                target: None,
                sources: Lazy::new(),
            }),
            gen: AtomicU64::new(0),
            open_upstream: AtomicU32::new(u32::from(open)),
            ever_fed: AtomicBool::new(open),
            wants_space: AtomicBool::new(false),
            closure_seen: AtomicBool::new(false),
            held: AtomicBool::new(false),
            open_handle: AtomicBool::new(open),
            open_owner: AtomicBool::new(open && owned),
            // A detached box is made with its handle.
            handle_taken: AtomicBool::new(!owned),
            dir,
            store_flags: AtomicU8::new(0),
        })
    }
}

/// Wakers collected under a box lock, to wake once it is released. Inline for
/// the usual one or two (a consumer that frees a slot wakes one waiting
/// sender), so the bounded hot path does not allocate; it did, and malloc/free
/// were 5% of a `bounded` run's instructions (callgrind).
pub(crate) type WakeList = smallvec::SmallVec<[Waker; 2]>;

/// Wake a batch of wakers collected under a lock, after the lock is released.
#[inline]
pub(crate) fn wake_all(wakers: WakeList) {
    // Nearly always empty on the hot path (nobody waits for space): skip the
    // out-of-line iteration and drop.
    if !wakers.is_empty() {
        wake_each(wakers);
    }
}

#[cold]
fn wake_each(wakers: WakeList) {
    for w in wakers {
        w.wake();
    }
}

/// What [`AnyNode::claim_handle`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Claim {
    /// The owner's handle was free and the type right: it is taken now.
    Claimed,
    /// The owner's handle was taken already.
    Taken,
    /// The box carries another message type.
    WrongType,
}

/// The typed node behind `node`, or `node` back if it carries another message
/// type. Through the `Any` supertrait (an upcast, then one dynamic call for
/// the type id) rather than [`AnyNode::as_any`] (one dynamic call more).
pub(crate) fn downcast_node<T: Send + 'static>(
    node: Arc<dyn AnyNode>,
) -> Result<Arc<Node<T>>, Arc<dyn Any + Send + Sync>> {
    let any: Arc<dyn Any + Send + Sync> = node;
    any.downcast::<Node<T>>()
}

/// A box seen without its message type: for introspection, by-name linking,
/// `pause()` and shutdown.
pub(crate) trait AnyNode: Any + Send + Sync + 'static {
    fn meta(&self) -> &BoxMeta;
    fn message_type(&self) -> TypeId;
    /// Inbox or outbox.
    fn dir(&self) -> Direction;
    /// Whether this is the box `name` of direction `dir` (one dynamic call
    /// where `dir()` and `meta()` would be two: looking a box up by name is on
    /// the spawn path).
    fn is(&self, dir: Direction, name: &str) -> bool;
    /// The message type's name.
    fn type_name(&self) -> &'static str;
    /// Messages waiting in the box itself (not those its owner's handle has
    /// already collected).
    fn len(&self) -> usize;
    /// Whether the owner has something to receive: messages in the box, or
    /// collected by its handle and not yet returned (Axon's `dataReady`).
    fn ready(&self) -> bool;
    fn limit(&self) -> Option<usize>;
    fn set_limit(&self, limit: Option<usize>);
    /// Remove every linkage into or out of this box, whoever made it.
    fn detach(self: Arc<Self>);
    /// For `pause()`: whether there is news at this inbox (a delivery since
    /// the last call without a waker, or its senders all gone, reported
    /// once); if not and `waker` is given, register it to be woken by a
    /// delivery. Without a waker (`pause()` returning) the delivery news is
    /// taken: it has been seen.
    fn watch_delivery(&self, waker: Option<&Waker>) -> bool;
    /// For `pause()`: if the last `try_send` from this outbox found no space,
    /// whether there is space now (or the destination closed), which is
    /// reported once; if not and `waker` is given, queue a notify waiter at
    /// the final sink.
    fn watch_space(&self, waker: Option<&Waker>) -> bool;
    /// The owning component is gone: stop receiving (inbox) or stop counting as
    /// the owner's sender (outbox).
    fn close(&self);
    /// The box is removed from its component: an outbox stops counting as a
    /// sender for good (owner and handle both; an ending, which closes the
    /// inboxes it fed), an inbox closes.
    fn retire(&self);
    /// Whether the owner's handle has been made (see `Node::handle_taken`).
    fn handle_taken(&self) -> bool;
    /// Take the owner's handle for message type `ty`: free and of that type, it
    /// is marked taken. (One dynamic call where `handle_taken` and
    /// `message_type` would be two.)
    fn claim_handle(&self, ty: TypeId) -> Claim;
    /// If the owner's handle was never made, do what dropping it does: close
    /// an inbox, stop counting an outbox as the handle's sender.
    fn release_handle(&self);
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
    /// Link to `dst`, which must carry the same message type (checked).
    fn link_erased(
        self: Arc<Self>,
        dst: Arc<dyn AnyNode>,
        creator: Option<ComponentId>,
    ) -> Result<crate::boxes::linkage::Linkage, crate::boxes::error::LinkError>;
    /// Remove the linkage from this box to `dst` (which carries the same
    /// message type: both ends of a `Linkage` do).
    fn unlink_from(self: Arc<Self>, dst: Arc<dyn AnyNode>) -> Result<(), crate::boxes::error::LinkError>;
    /// The typed node, for crate-internal typed operations.
    fn snapshot_target(&self) -> Option<(BoxId, Name, Option<ComponentId>)>;
}

impl<T: Send + 'static> AnyNode for Node<T> {
    fn meta(&self) -> &BoxMeta {
        &self.meta
    }

    fn message_type(&self) -> TypeId {
        TypeId::of::<T>()
    }

    fn dir(&self) -> Direction {
        self.dir
    }

    fn is(&self, dir: Direction, name: &str) -> bool {
        self.dir == dir && self.meta.name == *name
    }

    fn type_name(&self) -> &'static str {
        std::any::type_name::<T>()
    }

    fn len(&self) -> usize {
        self.store.lock().queue.len()
    }

    fn ready(&self) -> bool {
        self.held.load(Ordering::Relaxed) || !self.store.lock().queue.is_empty()
    }

    fn limit(&self) -> Option<usize> {
        self.store.lock().limit()
    }

    fn set_limit(&self, limit: Option<usize>) {
        let mut wake = WakeList::new();
        self.store.lock().set_limit(limit, &mut wake);
        wake_all(wake);
    }

    fn detach(self: Arc<Self>) {
        crate::boxes::topology::detach(&self);
    }

    fn watch_delivery(&self, waker: Option<&Waker>) -> bool {
        let mut st = self.store.lock();
        let Some(waker) = waker else {
            self.take_delivery();
            return false;
        };
        if self.store_flags().delivered() {
            return true;
        }
        if self.dir == Direction::In
            && self.ever_fed.load(Ordering::SeqCst)
            && self.open_upstream.load(Ordering::SeqCst) == 0
        {
            // Every sender is gone: that is news too, once (a component that
            // keeps pausing must not spin on an inbox it already saw close).
            if !self.closure_seen.swap(true, Ordering::SeqCst) {
                return true;
            }
        } else {
            self.closure_seen.store(false, Ordering::SeqCst);
        }
        // Not armed: a paused component may find this inbox closed later and
        // must then see it (`recv` after `pause` takes the lock).
        st.recv.park(waker, &self.armed);
        false
    }

    fn watch_space(&self, waker: Option<&Waker>) -> bool {
        if !self.wants_space.load(Ordering::Relaxed) {
            return false;
        }
        loop {
            let (gen, sink) = crate::boxes::topology::resolve_with_gen(self);
            let sink: &Node<T> = sink.as_deref().unwrap_or(self);
            let mut st = sink.store.lock();
            if sink.store_flags().forwarded() || self.gen.load(Ordering::Acquire) != gen {
                continue; // re-routed meanwhile (see Outbox::attempt)
            }
            if st.has_space() || sink.store_flags().closed() {
                self.wants_space.store(false, Ordering::Relaxed);
                return true;
            }
            if let Some(waker) = waker {
                st.enqueue(self.meta.id, WaitKind::Notify, waker.clone());
            }
            return false;
        }
    }

    fn close(&self) {
        match self.dir {
            Direction::Out => {
                crate::boxes::topology::close_outbox(self, crate::boxes::topology::Share::Owner)
            }
            Direction::In => crate::boxes::topology::close_inbox(self),
        }
    }

    fn retire(&self) {
        match self.dir {
            Direction::Out => {
                crate::boxes::topology::close_outbox(self, crate::boxes::topology::Share::Owner);
                crate::boxes::topology::close_outbox(self, crate::boxes::topology::Share::Handle);
            }
            Direction::In => crate::boxes::topology::close_inbox(self),
        }
    }

    fn handle_taken(&self) -> bool {
        self.handle_taken.load(Ordering::Relaxed)
    }

    fn claim_handle(&self, ty: TypeId) -> Claim {
        if self.handle_taken.load(Ordering::Relaxed) {
            Claim::Taken
        } else if ty != TypeId::of::<T>() {
            Claim::WrongType
        } else {
            self.handle_taken.store(true, Ordering::Relaxed);
            Claim::Claimed
        }
    }

    fn release_handle(&self) {
        if self.handle_taken.swap(true, Ordering::Relaxed) {
            return;
        }
        match self.dir {
            Direction::Out => {
                crate::boxes::topology::close_outbox(self, crate::boxes::topology::Share::Handle)
            }
            Direction::In => crate::boxes::topology::close_inbox(self),
        }
    }

    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }

    fn link_erased(
        self: Arc<Self>,
        dst: Arc<dyn AnyNode>,
        creator: Option<ComponentId>,
    ) -> Result<crate::boxes::linkage::Linkage, crate::boxes::error::LinkError> {
        let meta = dst.meta();
        let (label, type_name) = (meta.label(), dst.type_name());
        let dst =
            dst.as_any()
                .downcast::<Node<T>>()
                .map_err(|_| crate::boxes::error::LinkError::TypeMismatch {
                    source_box: self.meta.label(),
                    source_type: std::any::type_name::<T>(),
                    sink: label,
                    sink_type: type_name,
                })?;
        crate::boxes::linkage::link_nodes(&self, &dst, creator)
    }

    fn unlink_from(self: Arc<Self>, dst: Arc<dyn AnyNode>) -> Result<(), crate::boxes::error::LinkError> {
        let dst = dst
            .as_any()
            .downcast::<Node<T>>()
            .unwrap_or_else(|_| unreachable!("both ends of a linkage carry the same message type"));
        crate::boxes::topology::unlink(&self, &dst)
    }

    fn snapshot_target(&self) -> Option<(BoxId, Name, Option<ComponentId>)> {
        let t = self.topo.lock().target.clone()?;
        Some((t.meta.id, t.meta.name.clone(), t.meta.owner.id))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{Direction, Node, Owner};
    use crate::runtime::sync::Ordering;

    /// Every component has at least two boxes, each an `Arc<Node<T>>`, so
    /// their size is most of a component's memory (the `spawn` benchmark). At
    /// most 184 bytes, the allocation (with the two reference counts) is a
    /// 208-byte malloc chunk; at 200, as it was, it took 224. The layout that
    /// makes it fit: `Store` at 64 bytes (see `Store::room`) and
    /// `open_upstream` at 32 bits beside the flags.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn node_size() {
        let (u64_node, unit_node) = (std::mem::size_of::<Node<u64>>(), std::mem::size_of::<Node<()>>());
        assert!(u64_node <= 184, "Node<u64> is {u64_node} bytes");
        assert!(unit_node <= 184, "Node<()> is {unit_node} bytes");
    }

    /// What a send and a receive touch stays within the first 96 bytes (see
    /// the field order on `Node`).
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn hot_fields_come_first() {
        use std::mem::offset_of;
        type N = Node<u64>;
        let hot = [
            offset_of!(N, store)
                + std::mem::size_of::<crate::runtime::sync::ShortLock<crate::boxes::store::Store<u64>>>(),
            offset_of!(N, store_flags) + 1,
            offset_of!(N, held) + 1,
            offset_of!(N, wants_space) + 1,
            offset_of!(N, armed) + std::mem::size_of::<crate::boxes::wakeup::Armed>(),
        ];
        for end in hot {
            assert!(end <= 96, "a hot field ends at byte {end}");
        }
    }

    fn detached(name: &'static str, dir: Direction) -> std::sync::Arc<Node<u32>> {
        let owner = Owner {
            id: None,
            name: "test".into(),
        };
        Node::new(name.into(), dir, owner, None)
    }

    /// A link that would take an open-sender count past `u32::MAX` is refused
    /// with an error, and changes nothing.
    #[test]
    fn too_many_senders_is_an_error() {
        let out = detached("out", Direction::Out);
        let inbox = detached("in", Direction::In);
        inbox.open_upstream.store(u32::MAX, Ordering::SeqCst);
        let err = crate::boxes::topology::link(&out, &inbox).unwrap_err();
        assert!(
            matches!(err, crate::boxes::error::LinkError::TooManySenders { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("test.out"), "{err}");
        assert!(out.topo.lock().target.is_none());
        assert_eq!(inbox.open_upstream.load(Ordering::SeqCst), u32::MAX);
        assert!(!out.store_flags().forwarded());
        // One fewer fits.
        inbox.open_upstream.store(u32::MAX - 1, Ordering::SeqCst);
        crate::boxes::topology::link(&out, &inbox).unwrap();
        assert_eq!(inbox.open_upstream.load(Ordering::SeqCst), u32::MAX);
    }
}
