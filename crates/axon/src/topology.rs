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
//! Cost: a change is O(size of the affected chain), like Axon's `_retarget`.

use std::sync::{Arc, Weak};

use smallvec::SmallVec;

use crate::error::LinkError;
use crate::node::{wake_all, Node, WakeList};
use crate::sync::Ordering;

/// Serialises every change to the box graph. Its sections are short (a link,
/// an unlink, a walk along one chain), so it is the kernel's spin lock, whose
/// unlock is a plain store (see `spin.rs`); under loom, which cannot make one
/// in a `static`, a `parking_lot` mutex (no model reaches it).
#[cfg(not(loom))]
static TOPOLOGY: crate::spin::SpinLock<()> = crate::spin::SpinLock::new(());
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
    let Some(mut cur) = node.topo.lock().target.clone() else {
        return Some(None);
    };
    loop {
        if EPOCH.load(Ordering::Relaxed) != epoch {
            return None;
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

fn final_of<T>(node: &Node<T>) -> Option<Arc<Node<T>>> {
    let mut cur = node.topo.lock().target.clone()?;
    loop {
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
        let dst_is_sink = beyond.is_none();
        let sink: &Node<T> = beyond.as_deref().unwrap_or(dst);
        let closed = {
            let _st = sink.store.lock();
            sink.store_flags().closed()
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
        if sink
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
        if dst_is_sink {
            // What `add_open(dst, open)` does for a chain of one.
            if open > 0 {
                dst.open_upstream.fetch_add(open, Ordering::SeqCst);
                mark_fed(dst);
            }
        } else {
            add_open(dst, open);
        }
        // src stops being a sink: its waiting messages move on, in order, and
        // its waiting senders resolve again.
        let moved: Vec<T> = {
            let mut st = src.store.lock();
            src.set_forwarded(true);
            st.evict_all(&mut wake);
            // A fresh outbox holds nothing: no drain to set up.
            if st.queue.is_empty() {
                Vec::new()
            } else {
                st.queue.drain(..).collect()
            }
        };
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
        let quiet = moved.is_empty() && dst_is_sink && open > 0;
        let mut chain: SmallVec<[Arc<Node<T>>; 4]> = SmallVec::new();
        if fed && !dst_is_sink {
            downstream(dst, |n| chain.push(n.clone()));
        }
        if (fed || !moved.is_empty()) && !quiet {
            let mut st = sink.store.lock();
            if !moved.is_empty() {
                sink.note_delivery(sink.store_flags());
            }
            st.queue.extend(moved);
            if fed && dst_is_sink {
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
        let open = src.open_upstream.load(Ordering::SeqCst);
        let old_sink = remove_open(dst, open);
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
