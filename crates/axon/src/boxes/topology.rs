//! How linkages change the box graph: link, unlink, and closing a box.
//!
//! A chain of linkages is resolved to its final inbox (the *sink*) whenever the
//! graph changes, so a send never walks the chain: the outbox caches its sink and
//! pushes straight into it (direct delivery, no postman). This module keeps that
//! cache honest:
//!
//! * every change runs under one process-wide topology lock (changes are rare;
//!   sends and receives never take it, and neither does making an outbox
//!   handle unless a change overlaps it: see `EPOCH`);
//! * every box upstream of a change gets its generation bumped, which invalidates
//!   cached sinks;
//! * a box that gains a target is marked `forwarded` under its store lock, so a
//!   sender racing with the change notices and resolves again;
//! * messages waiting in a box that gains a target move to the new sink, in order,
//!   so nothing is lost when a chain is extended;
//! * senders waiting for space at a sink that their chain no longer reaches are
//!   woken to resolve again; senders elsewhere keep their FIFO place;
//! * each box counts the open outboxes upstream of it, so an inbox learns when
//!   every sender is gone (closure).
//!
//! ## Closure: the senders ended
//! An inbox reports [`Closed`](crate::RecvError::Closed) (once drained) when
//! every outbox that could send into it has *ended*: its owning component
//! finished (or failed, or was stopped) and its handle was dropped, or, for a
//! detached outbox, its handle was dropped. Removing a linkage is not an
//! ending: when an unlink cuts an inbox off from its last open sender (a
//! Carousel or an adaptive component rewiring), the inbox counts as never fed
//! again and its receiver simply waits, for a new linkage or forever. A
//! component that ends closes its outboxes *before* the linkages it made are
//! removed, so its own ending still closes the inboxes it fed. Linking a box
//! whose senders have all ended into a chain passes their end on.
//!
//! ## Draining
//! A box that gains a target moves its waiting messages to the sink, but never
//! past the sink's size limit. What does not fit stays where it is, and the box
//! keeps being the final box of its own chain: further sends queue behind what
//! it holds (up to its own limit), so order is kept. A drainer waits at the
//! sink for room, as a `try_send` + `pause()` sender does, and moves messages
//! on, oldest first, as the receiver collects. While it does, the held messages
//! count as one open sender at the sink, so the stream cannot be reported ended
//! before they arrive. When the box is empty it becomes an ordinary forwarding
//! box (senders resolve again to the sink). Unlinking it stops the drain: what
//! it still holds stays, as in any unlinked box. If the sink closes, the drain
//! ends too (with a warning) and what is left stays in the box, where unlinking
//! it finds it again.
//!
//! Cost: a change is O(size of the affected chain), like Axon's `_retarget`.

use std::sync::{Arc, Weak};

use smallvec::SmallVec;

use crate::boxes::error::LinkError;
use crate::boxes::node::{wake_all, Node, WakeList};
use crate::runtime::sync::Ordering;

/// Serialises every change to the box graph. Its sections are short (a link,
/// an unlink, a walk along one chain), so it is the kernel's spin lock, whose
/// unlock is a plain store (see `spin.rs`); under loom, which cannot make one
/// in a `static`, a `parking_lot` mutex (no model reaches it).
#[cfg(not(loom))]
static TOPOLOGY: crate::runtime::spin::SpinLock<()> = crate::runtime::spin::SpinLock::new(());
#[cfg(loom)]
static TOPOLOGY: parking_lot::Mutex<()> = parking_lot::const_mutex(());

/// A sequence count over changes to targets and generations: odd while
/// [`link`] or [`unlink`] (holding [`TOPOLOGY`]) is changing them, bumped again
/// when done. [`resolve_with_gen`] reads a chain without the topology lock and
/// keeps what it read only if the count was even and unchanged throughout (a
/// sequence lock; the reads themselves go through each box's own `topo` lock).
/// Making an outbox handle thus takes no process-wide lock.
static EPOCH: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Marks a change to targets or generations in progress (see [`EPOCH`]) from
/// its creation until it is dropped. Create it with [`TOPOLOGY`] held and drop
/// it before releasing that.
struct Change;

impl Change {
    fn begin() -> Change {
        // Only the holder of TOPOLOGY writes EPOCH: no read-modify-write needed.
        let e = EPOCH.load(Ordering::Relaxed);
        EPOCH.store(e + 1, Ordering::Relaxed);
        // Orders the odd count before the change's writes (the writer side of
        // a sequence lock).
        std::sync::atomic::fence(Ordering::Release);
        Change
    }
}

impl Drop for Change {
    fn drop(&mut self) {
        let e = EPOCH.load(Ordering::Relaxed);
        EPOCH.store(e + 1, Ordering::Release);
    }
}

/// The final box of `node`'s chain, or `None` if `node` is final itself, with
/// `node`'s generation read at the same instant.
pub(crate) fn resolve_with_gen<T>(node: &Node<T>) -> (u64, Option<Arc<Node<T>>>) {
    // Without the topology lock when no change overlaps the reads (the usual
    // case); the locked path otherwise.
    let e = EPOCH.load(Ordering::Acquire);
    if e & 1 == 0 {
        let gen = node.gen.load(Ordering::Acquire);
        if let Some(sink) = final_of_unless_changed(node, e) {
            // Orders the reads above before the second look at the count.
            std::sync::atomic::fence(Ordering::Acquire);
            if EPOCH.load(Ordering::Relaxed) == e {
                return (gen, sink);
            }
        }
    }
    let _g = TOPOLOGY.lock();
    let gen = node.gen.load(Ordering::Acquire);
    (gen, final_of(node))
}

/// [`final_of`] without the topology lock: `None` (give up) as soon as a change
/// has started since `EPOCH` read `epoch`, so the walk cannot chase a graph
/// that keeps changing under it.
fn final_of_unless_changed<T>(node: &Node<T>, epoch: u64) -> Option<Option<Arc<Node<T>>>> {
    if node.is_draining() {
        return Some(None);
    }
    let Some(mut cur) = node.topo.lock().target.clone() else {
        return Some(None);
    };
    loop {
        if EPOCH.load(Ordering::Relaxed) != epoch {
            return None;
        }
        if cur.is_draining() {
            return Some(Some(cur));
        }
        let next = cur.topo.lock().target.clone();
        match next {
            Some(n) => cur = n,
            None => return Some(Some(cur)),
        }
    }
}

/// The final box of `node`'s chain (`node` itself when it has no target).
pub(crate) fn resolve<T>(node: &Node<T>) -> SinkRef<'_, T> {
    let _g = TOPOLOGY.lock();
    match final_of(node) {
        Some(arc) => SinkRef::Other(arc),
        None => SinkRef::Itself(node),
    }
}

/// A resolved sink: the box itself or another one.
pub(crate) enum SinkRef<'a, T> {
    Itself(&'a Node<T>),
    Other(Arc<Node<T>>),
}

impl<T> std::ops::Deref for SinkRef<'_, T> {
    type Target = Node<T>;
    fn deref(&self) -> &Node<T> {
        match self {
            SinkRef::Itself(n) => n,
            SinkRef::Other(a) => a,
        }
    }
}

/// The final box of `node`'s chain, `None` when `node` is final itself: the
/// last box, or the first box on the way that is still draining (see
/// "Draining" in the module docs). Call under the topology lock.
fn final_of<T>(node: &Node<T>) -> Option<Arc<Node<T>>> {
    if node.is_draining() {
        return None;
    }
    let mut cur = node.topo.lock().target.clone()?;
    loop {
        if cur.is_draining() {
            return Some(cur);
        }
        let next = cur.topo.lock().target.clone();
        match next {
            Some(n) => cur = n,
            None => return Some(cur),
        }
    }
}

/// `node` and every box upstream of it.
fn upstream<T>(node: &Arc<Node<T>>) -> SmallVec<[Arc<Node<T>>; 4]> {
    let mut out: SmallVec<[Arc<Node<T>>; 4]> = SmallVec::new();
    out.push(node.clone());
    let mut i = 0;
    while i < out.len() {
        let mut topo = out[i].topo.lock();
        topo.sources.retain(|w| w.strong_count() > 0);
        let srcs: Vec<_> = topo.sources.iter().filter_map(Weak::upgrade).collect();
        drop(topo);
        out.extend(srcs);
        i += 1;
    }
    out
}

/// Apply `f` to `node` and every box downstream of it, ending with the sink.
fn downstream<T>(node: &Arc<Node<T>>, mut f: impl FnMut(&Arc<Node<T>>)) -> Arc<Node<T>> {
    let mut cur = node.clone();
    loop {
        f(&cur);
        let next = cur.topo.lock().target.clone();
        match next {
            Some(n) => cur = n,
            None => return cur,
        }
    }
}

/// Count `n` more open senders at `node` and every box downstream of it;
/// returns the sink. [`link`] has checked that no count goes past `u32::MAX`.
fn add_open<T>(node: &Arc<Node<T>>, n: u32) -> Arc<Node<T>> {
    downstream(node, |b| {
        b.open_upstream.fetch_add(n, Ordering::SeqCst);
        if n > 0 {
            mark_fed(b);
        }
    })
}

/// Note that `node`'s generation changed (its final sink may have): the
/// outboxes that cached a sink resolve again. Call under the topology lock,
/// which every writer of a generation holds: a load and a `Release` store then
/// do what `fetch_add` would, without its read-modify-write (one per link).
fn bump_gen<T>(node: &Node<T>) {
    let g = node.gen.load(Ordering::Relaxed);
    node.gen.store(g.wrapping_add(1), Ordering::Release);
}

/// Mark `node` fed (an open sender counts there now), right after its open
/// count went up. `ever_fed` never goes back to false, so when it is set
/// already (a second sender linked to the same inbox: a parent collecting
/// from its children) storing it again changes nothing a receiver could see,
/// and the store, a read-modify-write as `SeqCst`, is skipped.
fn mark_fed<T>(node: &Node<T>) {
    if !node.ever_fed.load(Ordering::Relaxed) {
        node.ever_fed.store(true, Ordering::SeqCst);
    }
}

/// Count `n` fewer open senders at `node` and every box downstream of it;
/// returns the sink.
fn remove_open<T>(node: &Arc<Node<T>>, n: u32) -> Arc<Node<T>> {
    downstream(node, |b| {
        b.open_upstream.fetch_sub(n, Ordering::SeqCst);
    })
}

/// Wake the receiver of `sink` if its senders are all gone.
fn wake_if_closed<T>(sink: &Node<T>, wake: &mut WakeList) {
    if sink.open_upstream.load(Ordering::SeqCst) == 0 {
        if let Some(w) = sink.store.lock().recv.take(&sink.armed) {
            wake.push(w);
        }
    }
}

/// Link `src` to `dst`: `src`'s chain now ends where `dst`'s does.
pub(crate) fn link<T: Send + 'static>(src: &Arc<Node<T>>, dst: &Arc<Node<T>>) -> Result<(), LinkError> {
    let mut wake = WakeList::new();
    let mut drain_after: Option<Arc<Node<T>>> = None;
    {
        let _g = TOPOLOGY.lock();
        let _change = Change::begin();
        if Arc::ptr_eq(src, dst) {
            return Err(LinkError::SelfLink(src.meta.label()));
        }
        // Held until src's target is set (and dst's, below, until src is in
        // its sources): only this function (under the topology lock) takes a
        // second topo lock while holding one, and the walk below never locks
        // src's (it stops at src first) nor dst's (the graph has no cycle).
        let mut src_topo = src.topo.lock();
        if let Some(cur) = &src_topo.target {
            return Err(LinkError::AlreadyLinked {
                source_box: src.meta.label(),
                current: cur.meta.label(),
                attempted: dst.meta.label(),
            });
        }
        // Nothing links into src (the usual case: a component's outbox): src is
        // all there is upstream of the change.
        let src_alone = src_topo.sources.is_empty();
        // The chain from dst must not come back to src (dst itself is not src,
        // checked above). `beyond` is the chain's final box past dst, `None`
        // when dst is its own sink.
        let mut dst_topo = dst.topo.lock();
        let beyond: Option<Arc<Node<T>>> = {
            let mut next = dst_topo.target.clone();
            let mut last = None;
            while let Some(cur) = next {
                if Arc::ptr_eq(&cur, src) {
                    return Err(LinkError::Cycle {
                        source_box: src.meta.label(),
                        sink: dst.meta.label(),
                    });
                }
                next = cur.topo.lock().target.clone();
                last = Some(cur);
            }
            last
        };
        // Where messages stop: the chain's last box, or the first one that
        // is still draining (its own senders queue behind what it holds).
        // (dst's topology is locked here: walk from its target.)
        let sink_arc: Arc<Node<T>> = {
            let mut cur = dst.clone();
            let mut next = dst_topo.target.clone();
            while !cur.is_draining() {
                let Some(n) = next else { break };
                next = n.topo.lock().target.clone();
                cur = n;
            }
            cur
        };
        // dst is the chain's last box (the usual case): counts and marks
        // concern dst alone.
        let dst_is_last = beyond.is_none();
        let sink: &Node<T> = &sink_arc;
        let last: &Node<T> = beyond.as_deref().unwrap_or(dst);
        let closed = {
            let _st = last.store.lock();
            last.store_flags().closed()
        };
        if closed {
            return Err(LinkError::Closed {
                source_box: src.meta.label(),
                sink: dst.meta.label(),
            });
        }
        // Every box from dst to the sink will count src's open senders too;
        // the sink counts the most (all of the chain's), so if it can, they
        // all can. (The counts change only under the topology lock, held.)
        let open = src.open_upstream.load(Ordering::SeqCst);
        if last
            .open_upstream
            .load(Ordering::SeqCst)
            .checked_add(open)
            .is_none()
        {
            return Err(LinkError::TooManySenders {
                source_box: src.meta.label(),
                sink: dst.meta.label(),
            });
        }
        src_topo.target = Some(dst.clone());
        drop(src_topo);
        // One lock of dst's topology for the walk and this (was two: a lock
        // round trip fewer per link, which every spawn-and-wire pays).
        dst_topo.sources.push(Arc::downgrade(src));
        drop(dst_topo);
        if src_alone {
            bump_gen(src);
        } else {
            for n in upstream(src) {
                bump_gen(&n);
            }
        }
        let fed = src.ever_fed.load(Ordering::SeqCst);
        // dst is its own sink (the usual case): the chain is dst alone.
        if dst_is_last {
            // What `add_open(dst, open)` does for a chain of one.
            if open > 0 {
                dst.open_upstream.fetch_add(open, Ordering::SeqCst);
                mark_fed(dst);
            }
        } else {
            add_open(dst, open);
        }
        // src stops being a sink: its waiting messages move on, in order, and
        // its waiting senders resolve again. If the sink has no room for all
        // of them, what does not fit stays in src, which keeps being its own
        // senders' sink until it has drained (see "Draining").
        //
        // The sink's lock is held while src's is taken (the one place besides
        // a drainer's step that holds two store locks: both take the sink's
        // first), so what fits is what goes in.
        let (any_moved, drains): (bool, bool) = {
            let mut sink_st = sink.store.lock();
            let mut st = src.store.lock();
            // A fresh outbox holds nothing: no drain to set up.
            let fits = sink_st.room_left();
            let drains = fits < st.queue.len();
            let any_moved = fits > 0 && !st.queue.is_empty();
            if drains {
                src.set_draining(true);
                sink_st.queue.extend(st.queue.drain(..fits));
                // Room in src for its own waiting senders.
                st.grant(&mut wake);
            } else {
                src.set_forwarded(true);
                st.evict_all(&mut wake);
                sink_st.queue.extend(st.queue.drain(..));
            }
            if any_moved {
                sink.note_delivery(sink.store_flags());
            }
            (any_moved, drains)
        };
        if drains {
            // The held messages count as an open sender of the chain until
            // they have all moved, so its end is not reported before them.
            add_open(dst, 1);
            drain_after = Some(src.clone());
        }
        // Senders that fed src (even ones gone already) now feed dst's chain:
        // once they are all gone and it is drained, its stream has ended. Mark
        // that only with the moved messages already in the sink, under its store
        // lock (a receiver decides "empty and every sender gone" under it), and
        // wake a receiver already waiting: otherwise a receiver running on
        // another thread could see the end before the messages (losing them), or
        // never hear of the end at all.
        //
        // Nothing to do there, though, when nothing moved, dst is its own sink
        // and src brought an open sender (the usual case: linking a new
        // component's outbox): `ever_fed` was set above, after the open count
        // went up, so no receiver can take the stream for ended, and a
        // receiver already waiting has nothing new to see.
        let quiet = !any_moved && dst_is_last && open > 0;
        let mut chain: SmallVec<[Arc<Node<T>>; 4]> = SmallVec::new();
        if fed && !dst_is_last {
            downstream(dst, |n| chain.push(n.clone()));
        }
        if (fed || any_moved) && !quiet {
            let mut st = sink.store.lock();
            if fed && dst_is_last {
                dst.ever_fed.store(true, Ordering::SeqCst);
            }
            for n in &chain {
                n.ever_fed.store(true, Ordering::SeqCst);
            }
            if let Some(w) = st.recv.take(&sink.armed) {
                wake.push(w);
            }
        }
    }
    wake_all(wake);
    if let Some(src) = drain_after {
        // Outside the topology lock, which a step takes; if the sink made
        // room meanwhile, this moves more at once.
        Drainer::start(src);
    }
    Ok(())
}

/// Remove the linkage `src -> dst`.
pub(crate) fn unlink<T: Send + 'static>(src: &Arc<Node<T>>, dst: &Arc<Node<T>>) -> Result<(), LinkError> {
    let mut wake = WakeList::new();
    {
        let _g = TOPOLOGY.lock();
        let _change = Change::begin();
        let linked = matches!(&src.topo.lock().target, Some(t) if Arc::ptr_eq(t, dst));
        if !linked {
            return Err(LinkError::NotLinked {
                source_box: src.meta.label(),
                sink: dst.meta.label(),
            });
        }
        let mut open = src.open_upstream.load(Ordering::SeqCst);
        let was_draining = {
            let _st = src.store.lock();
            let d = src.is_draining();
            src.set_draining(false);
            d
        };
        if was_draining {
            // It was still draining: what it holds stays, as in any unlinked
            // box, and no longer counts as a sender downstream. Its drainer,
            // evicted below, lets go of its place.
            open += 1;
        }
        // Closure means the senders ended: a box whose last open sender is
        // cut off by this unlink (a rewiring, not an ending) goes back to
        // "never fed", so its receiver sees an empty stream, not its end.
        // The mark goes before the count (a receiver reads both: it must
        // never see the count at zero with the old mark).
        let old_sink = downstream(dst, |b| {
            if open > 0 && b.open_upstream.load(Ordering::SeqCst) == open {
                b.ever_fed.store(false, Ordering::SeqCst);
            }
            b.open_upstream.fetch_sub(open, Ordering::SeqCst);
        });
        src.topo.lock().target = None;
        dst.topo
            .lock()
            .sources
            .retain(|w| w.strong_count() > 0 && !std::ptr::eq(w.as_ptr(), Arc::as_ptr(src)));
        {
            let _st = src.store.lock();
            src.set_forwarded(false);
        }
        let moved = upstream(src);
        for n in &moved {
            bump_gen(n);
        }
        let ids: Vec<_> = moved.iter().map(|n| n.meta.id).collect();
        old_sink.store.lock().evict(|id| ids.contains(&id), &mut wake);
        wake_if_closed(&old_sink, &mut wake);
    }
    wake_all(wake);
    Ok(())
}

/// Which holder of an outbox lets go of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Share {
    /// The `Outbox` handle was dropped.
    Handle,
    /// The owning component finished.
    Owner,
}

/// A holder of outbox `node` lets go; when neither the handle nor the owning
/// component holds it any more, it no longer counts as a sender.
pub(crate) fn close_outbox<T: Send + 'static>(node: &Node<T>, share: Share) {
    let mut wake = WakeList::new();
    {
        let _g = TOPOLOGY.lock();
        // The two shares change only here, under the topology lock.
        let (handle, owner) = (&node.open_handle, &node.open_owner);
        let was_open = handle.load(Ordering::Relaxed) || owner.load(Ordering::Relaxed);
        match share {
            Share::Handle => handle.store(false, Ordering::Relaxed),
            Share::Owner => owner.store(false, Ordering::Relaxed),
        }
        if !was_open || handle.load(Ordering::Relaxed) || owner.load(Ordering::Relaxed) {
            return;
        }
        let target = node.topo.lock().target.clone();
        node.open_upstream.fetch_sub(1, Ordering::SeqCst);
        if let Some(t) = target {
            let sink = remove_open(&t, 1);
            wake_if_closed(&sink, &mut wake);
        }
    }
    wake_all(wake);
}

/// The owner of inbox `node` is gone: senders whose chain ends here get their
/// message back as `Closed`.
pub(crate) fn close_inbox<T: Send + 'static>(node: &Node<T>) {
    let mut wake = WakeList::new();
    {
        let mut st = node.store.lock();
        let flags = node.store_flags();
        if flags.closed() {
            return;
        }
        node.set_closed();
        if !st.queue.is_empty() && !flags.forwarded() {
            tracing::warn!(
                box_ = %node.meta.label(),
                undelivered = st.queue.len(),
                "inbox closed with messages its owner never received"
            );
        }
        st.evict_all(&mut wake);
        if let Some(w) = st.recv.take(&node.armed) {
            wake.push(w);
        }
    }
    wake_all(wake);
}

/// Remove every linkage into or out of `node` (used when a box is removed).
pub(crate) fn detach<T: Send + 'static>(node: &Arc<Node<T>>) {
    let target = node.topo.lock().target.clone();
    if let Some(t) = target {
        let _ = unlink(node, &t);
    }
    let sources: Vec<_> = node
        .topo
        .lock()
        .sources
        .iter()
        .filter_map(Weak::upgrade)
        .collect();
    for s in sources {
        let _ = unlink(&s, node);
    }
}

/// `src` (draining into `target`'s chain) has nothing left: it forwards from
/// now on, like any linked box, its own waiting senders resolve again, and its
/// hold on the chain's open count goes. Call under the topology lock, with
/// `src`'s store locked (`st`).
fn end_drain<T: Send + 'static>(
    src: &Arc<Node<T>>,
    target: &Arc<Node<T>>,
    mut st: crate::runtime::sync::ShortLockGuard<'_, crate::boxes::store::Store<T>>,
    wake: &mut WakeList,
) {
    let _change = Change::begin();
    src.set_draining(false);
    src.set_forwarded(true);
    st.evict_all(wake);
    drop(st);
    for n in upstream(src) {
        bump_gen(&n);
    }
    let end = remove_open(target, 1);
    wake_if_closed(&end, wake);
}

/// The owner of draining box `node` (an inbox that forwards) received its
/// last held message itself: the drain is over (see [`end_drain`]).
#[cold]
pub(crate) fn drained_by_owner<T: Send + 'static>(node: &Arc<Node<T>>) {
    let mut wake = WakeList::new();
    {
        let _g = TOPOLOGY.lock();
        let target = node.topo.lock().target.clone();
        let st = node.store.lock();
        if let (true, true, Some(t)) = (node.is_draining(), st.queue.is_empty(), target) {
            end_drain(node, &t, st, &mut wake);
        }
    }
    wake_all(wake);
}

/// Moves the messages a box still holds after being linked (see "Draining" in
/// the module docs) into its sink as the sink makes room, in order. It waits
/// at the sink as a `try_send` + `pause()` sender does, and runs a step
/// whenever woken: when room appears, when its chain changes, when the sink
/// closes.
struct Drainer<T: Send + 'static> {
    src: Weak<Node<T>>,
    /// The sink it waits at and its ticket there.
    at: crate::runtime::sync::ShortLock<Option<(Arc<Node<T>>, u64)>>,
}

impl<T: Send + 'static> Drainer<T> {
    /// Start draining `src` (marked draining already): move what fits now
    /// and wait for room for the rest.
    fn start(src: Arc<Node<T>>) {
        let d = Arc::new(Drainer {
            src: Arc::downgrade(&src),
            at: crate::runtime::sync::ShortLock::new(None),
        });
        d.step();
    }

    /// Move what fits; then wait for room, or end the drain when nothing is
    /// left (or nothing can be delivered any more).
    fn step(self: &Arc<Self>) {
        let mut wake = WakeList::new();
        let mut wakeups: SmallVec<[crate::boxes::wakeup::Wakeup; 2]> = SmallVec::new();
        {
            let _g = TOPOLOGY.lock();
            let mut at = self.at.lock();
            let src = self.src.upgrade();
            let target = src.as_ref().and_then(|s| s.topo.lock().target.clone());
            let live = match (&src, &target) {
                (Some(s), Some(t)) if s.is_draining() => Some((s.clone(), t.clone())),
                _ => None,
            };
            // Where its messages go now.
            let sink = live
                .as_ref()
                .map(|(_, t)| final_of(t).unwrap_or_else(|| t.clone()));
            // A place held anywhere else is given up (passing any grant on).
            let mut ticket = None;
            if let Some((old, t)) = at.take() {
                match &sink {
                    Some(s) if Arc::ptr_eq(s, &old) => ticket = Some(t),
                    _ => old.store.lock().cancel(t, &mut wake),
                }
            }
            let (Some((src, target)), Some(sink)) = (live, sink) else {
                drop(at);
                drop(_g);
                wake_all(wake);
                return;
            };
            let waker = std::task::Waker::from(self.clone());
            let mut st = sink.store.lock();
            let mut granted = false;
            if let Some(t) = ticket {
                match st.ticket_state(t, &waker) {
                    crate::boxes::store::TicketState::Granted => granted = true,
                    crate::boxes::store::TicketState::Waiting => {
                        // Woken for nothing: keep waiting.
                        *at = Some((sink.clone(), t));
                        return;
                    }
                    crate::boxes::store::TicketState::Gone => ticket = None,
                }
            }
            // A closed sink takes nothing more: the drain ends and what src
            // still holds stays there (found again if src is unlinked), as
            // with any box linked into a closed one. Never dropped.
            let closed = sink.store_flags().closed();
            let mut src_st = src.store.lock();
            if closed && !src_st.queue.is_empty() {
                tracing::warn!(
                    box_ = %src.meta.label(),
                    sink = %sink.meta.label(),
                    held = src_st.queue.len(),
                    "the destination closed while messages held at linking were still moving there; \
                     they stay in the source box"
                );
            }
            let mut moved = false;
            // A closed sink takes nothing.
            while !closed && (granted || st.has_space()) {
                let Some(m) = src_st.pop(&mut wake) else {
                    break;
                };
                let w = match (granted, ticket) {
                    (true, Some(t)) => {
                        granted = false;
                        ticket = None;
                        st.push_granted(t, m, &sink.armed)
                    }
                    _ => st.push(m, &sink.armed),
                };
                wakeups.push(w);
                moved = true;
            }
            if moved {
                sink.note_delivery(sink.store_flags());
            }
            if let (true, Some(t)) = (granted, ticket) {
                // Granted but nothing left to move: pass the slot on.
                st.cancel(t, &mut wake);
            }
            if !closed && !src_st.queue.is_empty() {
                // Wait for room (the sink is full now).
                // Without a reservation, as a `try_send` + `pause()` sender
                // waits: a reservation could be stranded if the chain is
                // re-routed (evicting wakes only those still waiting).
                let t = st.enqueue(src.meta.id, crate::boxes::store::WaitKind::Notify, waker);
                *at = Some((sink.clone(), t));
            } else {
                drop(st);
                end_drain(&src, &target, src_st, &mut wake);
            }
        }
        for w in wakeups {
            w.wake();
        }
        wake_all(wake);
    }
}

impl<T: Send + 'static> std::task::Wake for Drainer<T> {
    fn wake(self: Arc<Self>) {
        self.step();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.step();
    }
}
