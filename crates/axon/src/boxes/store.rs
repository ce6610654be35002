//! The storage behind one box: its queue, its size limit, and the senders waiting
//! for space.
//!
//! Every box (inbox or outbox) owns a `Store`; a message lives in the store of the
//! *final* box of its chain (see [`crate::boxes::topology`]). A store is plain data: every
//! method here runs under the owning node's mutex, which keeps the fairness logic
//! easy to reason about and lets the `loom` model drive it directly.
//!
//! ## Waiting senders (outbox wakeups, seed 2, improved)
//! A sender that finds the store full queues a `Waiter` and sleeps. When the
//! consumer collects a message, the front waiter is woken *with a reserved slot*
//! (a granted ticket), so a sender arriving later cannot take the space first: waiting
//! producers are served in FIFO order and only waiting producers are woken.
//! Kamaelia-style components that `try_send`, get `Full` and then `pause()` queue
//! a `WaitKind::Notify` waiter instead: it is woken without a reservation ("there
//! may be space now"), exactly like Axon's wake-on-collect.

use std::collections::VecDeque;
use std::task::Waker;

use crate::boxes::node::WakeList;
use crate::boxes::wakeup::{Armed, RecvSlot, Wakeup};
use crate::id::BoxId;

/// How a waiting sender wants to be treated when space appears.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitKind {
    /// `send().await`: woken with a slot reserved for it.
    Reserve,
    /// `try_send` + `pause()`: woken, no reservation.
    Notify,
}

/// One sender waiting for space.
#[derive(Debug)]
pub(crate) struct Waiter {
    pub(crate) ticket: u64,
    /// The box the sender sends from: lets a topology change wake exactly the
    /// senders whose chain it re-routed.
    pub(crate) origin: BoxId,
    pub(crate) kind: WaitKind,
    pub(crate) waker: Waker,
}

/// What a waiting sender finds when it looks at its ticket again.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TicketState {
    /// A slot is reserved for it: push now.
    Granted,
    /// Still queued.
    Waiting,
    /// Neither: it was woken because its chain changed; resolve and retry.
    Gone,
}

/// The queue and bookkeeping of one box.
#[derive(Debug)]
pub(crate) struct Store<T> {
    pub(crate) queue: VecDeque<T>,
    /// The queue length below which a sender without a reservation may push:
    /// the size limit less the slots reserved for granted tickets (0 if those
    /// exceed it), `usize::MAX` when the box is unbounded with nothing reserved.
    /// One word, all that [`has_space`](Store::has_space) reads on every send
    /// to a box. The limit itself is this word while nothing waits
    /// (`waiting` is `None`, so nothing is reserved), and `waiting.limit` once
    /// something has.
    ///
    /// Why not a limit and a reserved count side by side, as this store had:
    /// the two did not fit beside the queue, the receiver's waker and the
    /// `waiting` pointer in 64 bytes, and a store of 64 bytes is what keeps a
    /// `Node` at 184 (a 208-byte allocation with its reference counts; see
    /// `node::tests::node_size`). For the same reason the `forwarded` and
    /// `closed` flags live in the `Node`.
    room: usize,
    /// The receiver's waker, and whether it is parked waiting for a delivery.
    pub(crate) recv: RecvSlot,
    /// Waiting senders, granted tickets and the exact size limit: `None` until
    /// a sender first has to wait. Only a size-limited box whose senders found
    /// it full needs them, so they share one pointer, allocated on first use,
    /// rather than taking space in every box.
    waiting: Option<Box<Waiting>>,
}

/// The senders waiting for space in one store, behind [`Store::waiting`].
#[derive(Debug)]
struct Waiting {
    /// Senders waiting for space, front first.
    waiters: VecDeque<Waiter>,
    /// Tickets woken with a reserved slot that have not pushed yet: each holds
    /// one slot, so this is also the number of slots reserved.
    granted: Vec<u64>,
    /// The size limit; `usize::MAX` is unbounded. While this struct exists
    /// it is the limit, and [`Store::room`] is derived from it.
    limit: usize,
}

impl Waiting {
    /// [`Store::room`] for this limit and these grants.
    #[inline]
    fn room(&self) -> usize {
        self.limit.saturating_sub(self.granted.len())
    }
}

/// A queue or list that is almost always empty (the boxes linked into a box,
/// what an inbox handle collected): one pointer, allocated on first use, so an
/// idle box or handle does not carry a `VecDeque`'s or `Vec`'s header for
/// nothing. It offers the few methods its users need, with their usual meaning.
#[derive(Debug)]
pub(crate) struct Lazy<C>(Option<Box<C>>);

impl<C: Default> Lazy<C> {
    pub(crate) fn new() -> Self {
        Lazy(None)
    }

    /// The collection, made on first use.
    pub(crate) fn get_mut(&mut self) -> &mut C {
        self.0.get_or_insert_with(Box::default)
    }
}

/// An iterator over a [`Lazy`] (a plain type, so a borrow of it ends where the
/// borrow checker expects).
pub(crate) struct LazyIter<I>(Option<I>);

impl<I: Iterator> Iterator for LazyIter<I> {
    type Item = I::Item;
    fn next(&mut self) -> Option<I::Item> {
        self.0.as_mut()?.next()
    }
}

impl<T> Lazy<VecDeque<T>> {
    pub(crate) fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|d| d.is_empty())
    }

    pub(crate) fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |d| d.len())
    }

    pub(crate) fn pop_front(&mut self) -> Option<T> {
        self.0.as_mut()?.pop_front()
    }
}

impl<T> Lazy<Vec<T>> {
    pub(crate) fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|v| v.is_empty())
    }

    pub(crate) fn push(&mut self, item: T) {
        self.get_mut().push(item);
    }

    pub(crate) fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        if let Some(v) = self.0.as_mut() {
            v.retain(keep);
        }
    }

    pub(crate) fn iter(&self) -> LazyIter<std::slice::Iter<'_, T>> {
        LazyIter(self.0.as_ref().map(|v| v.iter()))
    }
}

/// Tickets are unique process-wide (so unique per store) without each store
/// carrying a counter. Not a synchronisation point: only uniqueness matters.
static NEXT_TICKET: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl<T> Store<T> {
    pub(crate) fn new(limit: Option<usize>) -> Self {
        Store {
            queue: VecDeque::new(),
            room: limit.unwrap_or(usize::MAX),
            recv: RecvSlot::new(),
            waiting: None,
        }
    }

    /// Whether the box has no size limit, so the receiver may collect every
    /// waiting message in one go (see "Collecting in batches" on
    /// [`Inbox`](crate::Inbox)): a limited box hands them out one at a time, so each
    /// collect makes room for a waiting sender at once.
    ///
    /// An unbounded box with slots still reserved (its limit was lifted while
    /// senders held grants) counts as limited until they are used: the
    /// receiver then collects one message at a time, which gives the same
    /// messages in the same order, and this stays one compare.
    #[inline]
    pub(crate) fn unbounded(&self) -> bool {
        self.room == usize::MAX
    }

    /// Whether a sender without a reservation may push now: the queue and the
    /// reserved slots are below the limit.
    #[inline]
    pub(crate) fn has_space(&self) -> bool {
        // Unbounded is `usize::MAX`, which no queue reaches.
        self.queue.len() < self.room
    }

    /// How many more messages a sender without a reservation may push now
    /// (`usize::MAX`-ish when unbounded).
    #[inline]
    pub(crate) fn room_left(&self) -> usize {
        self.room.saturating_sub(self.queue.len())
    }

    /// Push a message; the returned wakeup (the parked receiver, if any) is to
    /// be carried out after the lock is released. `armed` is the box's (see
    /// [`crate::boxes::wakeup`]).
    #[inline]
    pub(crate) fn push(&mut self, msg: T, armed: &Armed) -> Wakeup {
        self.queue.push_back(msg);
        self.recv.delivered(armed)
    }

    /// Push a message using the reservation held by `ticket`.
    pub(crate) fn push_granted(&mut self, ticket: u64, msg: T, armed: &Armed) -> Wakeup {
        if let Some(w) = self.waiting.as_deref_mut() {
            if let Some(pos) = w.granted.iter().position(|&t| t == ticket) {
                w.granted.swap_remove(pos);
                self.room = w.room();
            }
        }
        self.push(msg, armed)
    }

    /// Whether any sender waits for space (one pointer test when none ever
    /// has; the receive path asks after every collect).
    #[inline]
    pub(crate) fn has_waiters(&self) -> bool {
        self.waiting.as_ref().is_some_and(|w| !w.waiters.is_empty())
    }

    /// Pop the front message; wakers of senders that may now send are appended
    /// to `wake` (call them after releasing the lock).
    #[inline]
    pub(crate) fn pop(&mut self, wake: &mut WakeList) -> Option<T> {
        let msg = self.queue.pop_front()?;
        if self.has_waiters() {
            self.grant(wake);
        }
        Some(msg)
    }

    /// Hand free space to waiting senders, front first: `Notify` waiters ahead of
    /// the first `Reserve` waiter are all woken (they retry on their own), then
    /// each `Reserve` waiter gets one reserved slot while space lasts.
    pub(crate) fn grant(&mut self, wake: &mut WakeList) {
        let Some(waiting) = self.waiting.as_deref_mut() else {
            return;
        };
        // `has_space` spelt out: `waiting` borrows `self`.
        while self.queue.len() < self.room {
            let Some(w) = waiting.waiters.pop_front() else {
                break;
            };
            if w.kind == WaitKind::Reserve {
                waiting.granted.push(w.ticket);
                // Above the queue length, so at least 1.
                self.room -= 1;
            }
            wake.push(w.waker);
        }
    }

    /// Queue a waiting sender and return its ticket.
    pub(crate) fn enqueue(&mut self, origin: BoxId, kind: WaitKind, waker: Waker) -> u64 {
        // Made with nothing reserved: the limit is `room` until now.
        let room = self.room;
        let waiters = &mut self
            .waiting
            .get_or_insert_with(|| {
                Box::new(Waiting {
                    waiters: VecDeque::new(),
                    granted: Vec::new(),
                    limit: room,
                })
            })
            .waiters;
        if kind == WaitKind::Notify {
            // One notify entry per outbox is enough; refresh its waker.
            if let Some(w) = waiters
                .iter_mut()
                .find(|w| w.origin == origin && w.kind == WaitKind::Notify)
            {
                if !w.waker.will_wake(&waker) {
                    w.waker = waker;
                }
                return w.ticket;
            }
        }
        let ticket = NEXT_TICKET.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        waiters.push_back(Waiter {
            ticket,
            origin,
            kind,
            waker,
        });
        ticket
    }

    /// Where `ticket` stands; a still-waiting ticket gets its waker refreshed.
    pub(crate) fn ticket_state(&mut self, ticket: u64, waker: &Waker) -> TicketState {
        let Some(waiting) = self.waiting.as_deref_mut() else {
            return TicketState::Gone;
        };
        if waiting.granted.contains(&ticket) {
            return TicketState::Granted;
        }
        match waiting.waiters.iter_mut().find(|w| w.ticket == ticket) {
            Some(w) => {
                if !w.waker.will_wake(waker) {
                    w.waker = waker.clone();
                }
                TicketState::Waiting
            }
            None => TicketState::Gone,
        }
    }

    /// A waiting sender gave up (its future was dropped or it found the box
    /// closed): forget its ticket and pass any reservation on.
    pub(crate) fn cancel(&mut self, ticket: u64, wake: &mut WakeList) {
        let Some(waiting) = self.waiting.as_deref_mut() else {
            return;
        };
        if let Some(pos) = waiting.granted.iter().position(|&t| t == ticket) {
            waiting.granted.swap_remove(pos);
            self.room = waiting.room();
            self.grant(wake);
        } else if let Some(pos) = waiting.waiters.iter().position(|w| w.ticket == ticket) {
            waiting.waiters.remove(pos);
        }
    }

    /// Wake (and forget) every waiting sender whose origin matches `affected`,
    /// releasing reservations they held: their chain now ends elsewhere.
    pub(crate) fn evict(&mut self, affected: impl Fn(BoxId) -> bool, wake: &mut WakeList) {
        let Some(waiting) = self.waiting.as_deref_mut() else {
            return;
        };
        let mut kept = VecDeque::new();
        for w in waiting.waiters.drain(..) {
            if affected(w.origin) {
                wake.push(w.waker);
            } else {
                kept.push_back(w);
            }
        }
        waiting.waiters = kept;
        // Granted tickets of evicted senders are found `Gone` only if we drop
        // them here; they cannot be told apart by origin, so keep grants: a
        // granted sender pushes into this store on its next poll only if its
        // chain still ends here, otherwise its Send future cancels the grant.
        if waiting.waiters.is_empty() && waiting.granted.is_empty() {
            // Nothing reserved: `room` is the limit already.
            self.waiting = None;
        }
    }

    /// Wake every waiting sender and drop every grant, freeing the waiting
    /// senders' allocation (the box stopped being a sink or was closed).
    pub(crate) fn evict_all(&mut self, wake: &mut WakeList) {
        if let Some(waiting) = self.waiting.take() {
            // Nothing reserved any more: the limit is all the room.
            self.room = waiting.limit;
            wake.extend(waiting.waiters.into_iter().map(|w| w.waker));
        }
    }

    /// Waiting senders (for tests and models).
    #[cfg(test)]
    pub(crate) fn waiter_count(&self) -> usize {
        self.waiting.as_ref().map_or(0, |w| w.waiters.len())
    }

    /// Granted tickets not yet used, each holding a reserved slot (for tests
    /// and models).
    #[cfg(test)]
    pub(crate) fn granted_count(&self) -> usize {
        self.waiting.as_ref().map_or(0, |w| w.granted.len())
    }

    /// The size limit (`None`: unbounded).
    pub(crate) fn limit(&self) -> Option<usize> {
        let limit = self.waiting.as_ref().map_or(self.room, |w| w.limit);
        (limit != usize::MAX).then_some(limit)
    }

    /// Change the size limit; a larger limit grants space to waiters at once.
    pub(crate) fn set_limit(&mut self, limit: Option<usize>, wake: &mut WakeList) {
        let limit = limit.unwrap_or(usize::MAX);
        match self.waiting.as_deref_mut() {
            Some(w) => {
                w.limit = limit;
                self.room = w.room();
            }
            None => self.room = limit,
        }
        self.grant(wake);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::counting_waker as waker;

    #[test]
    fn fifo_grants_reserve_space_for_the_front_waiter() {
        let mut s = Store::new(Some(2));
        let mut wake = WakeList::new();
        assert!(matches!(s.push(1, &Armed::new()), Wakeup::Nothing));
        assert!(matches!(s.push(2, &Armed::new()), Wakeup::Nothing));
        assert!(!s.has_space());
        let (ca, wa) = waker();
        let (cb, wb) = waker();
        let a = s.enqueue(BoxId::next(), WaitKind::Reserve, wa);
        let b = s.enqueue(BoxId::next(), WaitKind::Reserve, wb.clone());
        assert_eq!(s.pop(&mut wake), Some(1));
        assert_eq!(wake.len(), 1);
        wake.drain(..).for_each(Waker::wake);
        assert_eq!(ca.wakes(), 1);
        assert_eq!(cb.wakes(), 0);
        // A newcomer cannot barge into the reserved slot.
        assert!(!s.has_space());
        assert_eq!(s.ticket_state(a, &wb), TicketState::Granted);
        assert_eq!(s.ticket_state(b, &wb), TicketState::Waiting);
        assert_eq!(s.granted_count(), 1);
        let _ = s.push_granted(a, 3, &Armed::new());
        assert_eq!(s.granted_count(), 0);
        assert_eq!(s.queue.len(), 2);
        // The reservation is used up: the limit (2) is all room again, and full.
        assert_eq!(s.limit(), Some(2));
        assert!(!s.has_space());
    }

    #[test]
    fn cancelling_a_grant_passes_it_on() {
        let mut s = Store::new(Some(1));
        let mut wake = WakeList::new();
        let _ = s.push(0, &Armed::new());
        let (_ca, wa) = waker();
        let (cb, wb) = waker();
        let a = s.enqueue(BoxId::next(), WaitKind::Reserve, wa);
        let _b = s.enqueue(BoxId::next(), WaitKind::Reserve, wb);
        s.pop(&mut wake);
        wake.clear();
        s.cancel(a, &mut wake);
        assert_eq!(wake.len(), 1);
        wake.drain(..).for_each(Waker::wake);
        assert_eq!(cb.wakes(), 1);
        assert_eq!(s.granted_count(), 1);
    }

    #[test]
    fn notify_waiters_are_deduplicated_and_woken_without_reservation() {
        let mut s = Store::new(Some(1));
        let mut wake = WakeList::new();
        let _ = s.push(0, &Armed::new());
        let origin = BoxId::next();
        let (_c, w) = waker();
        let t1 = s.enqueue(origin, WaitKind::Notify, w.clone());
        let t2 = s.enqueue(origin, WaitKind::Notify, w);
        assert_eq!(t1, t2);
        assert_eq!(s.waiter_count(), 1);
        s.pop(&mut wake);
        assert_eq!(wake.len(), 1);
        assert_eq!(s.granted_count(), 0);
        assert!(s.has_space());
    }

    #[test]
    fn raising_the_limit_grants_waiters() {
        let mut s = Store::new(Some(1));
        let mut wake = WakeList::new();
        let _ = s.push(0, &Armed::new());
        let (_c, w) = waker();
        s.enqueue(BoxId::next(), WaitKind::Reserve, w.clone());
        s.enqueue(BoxId::next(), WaitKind::Reserve, w);
        s.set_limit(Some(3), &mut wake);
        assert_eq!(wake.len(), 2);
        assert_eq!(s.granted_count(), 2);
        wake.clear();
        s.set_limit(None, &mut wake);
        assert!(s.has_space());
    }

    /// The limit reads back exactly whatever is reserved, even a limit below
    /// the reservations (no room at all then), and reservations used up give
    /// the limit back as room.
    #[test]
    fn limit_is_exact_while_slots_are_reserved() {
        let mut s = Store::new(Some(1));
        let mut wake = WakeList::new();
        let _ = s.push(0, &Armed::new());
        let (_c, w) = waker();
        let a = s.enqueue(BoxId::next(), WaitKind::Reserve, w.clone());
        let b = s.enqueue(BoxId::next(), WaitKind::Reserve, w.clone());
        assert_eq!(s.limit(), Some(1));
        s.set_limit(Some(3), &mut wake);
        assert_eq!(s.granted_count(), 2);
        assert_eq!(s.limit(), Some(3));
        assert!(!s.has_space());
        s.set_limit(Some(1), &mut wake);
        assert_eq!(s.limit(), Some(1));
        assert!(!s.has_space());
        s.set_limit(None, &mut wake);
        assert_eq!(s.limit(), None);
        assert!(s.has_space());
        // Reserved slots outstanding: collected one at a time until used.
        assert!(!s.unbounded());
        let _ = s.push_granted(a, 1, &Armed::new());
        let _ = s.push_granted(b, 2, &Armed::new());
        assert!(s.unbounded());
        s.set_limit(Some(3), &mut wake);
        assert_eq!(s.limit(), Some(3));
        assert!(!s.has_space());
        s.evict_all(&mut wake);
        assert_eq!(s.limit(), Some(3));
        assert_eq!(s.pop(&mut wake), Some(0));
        assert!(s.has_space());
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Models of the waiting-sender queue. The store sits behind the kernel's
    //! mutex (loom's here) and is driven with the calls `Outbox::send` and
    //! `Inbox::recv` make on a final box (`outbox.rs`, `inbox.rs`), minus the chain
    //! resolution; tasks are loom threads blocked in `loom::future::block_on`, so
    //! a sender or receiver that is never woken shows up as a loom deadlock.

    use super::*;
    use crate::boxes::node::wake_all;
    use crate::runtime::sync::{AtomicBool, Mutex, Ordering};
    use loom::thread;
    use std::future::{poll_fn, Future};
    use std::pin::pin;
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake};

    /// Wakes a loom thread blocked in [`block_on`].
    struct ThreadWaker {
        thread: thread::Thread,
        woken: AtomicBool,
    }

    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            // A swap, not a store: loom 0.7 can misorder a plain store against
            // the waiting thread's swap (tokio-rs/loom#254).
            self.woken.swap(true, Ordering::Release);
            self.thread.unpark();
        }
    }

    /// Run a future on this loom thread, parking between polls until woken.
    fn block_on<F: Future>(f: F) -> F::Output {
        let mut f = pin!(f);
        let me = Arc::new(ThreadWaker {
            thread: thread::current(),
            woken: AtomicBool::new(false),
        });
        let waker = Waker::from(me.clone());
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
            while !me.woken.swap(false, Ordering::Acquire) {
                thread::park();
            }
        }
    }

    /// A box: its store under the mutex, and beside it the `Armed` word that
    /// says whether the receiver is parked (as in `Node`).
    struct BoxSim {
        store: Mutex<Store<u32>>,
        armed: Armed,
    }

    impl BoxSim {
        fn lock(&self) -> crate::runtime::sync::MutexGuard<'_, Store<u32>> {
            self.store.lock()
        }
    }

    type Shared = Arc<BoxSim>;

    use crate::testing::loom_model as model;

    /// A full box of size 1 holding message 0.
    fn full_box() -> Shared {
        let mut s = Store::new(Some(1));
        assert!(matches!(s.push(0, &Armed::new()), Wakeup::Nothing));
        Arc::new(BoxSim {
            store: Mutex::new(s),
            armed: Armed::new(),
        })
    }

    /// One `send(msg)` on a final box: the ticket logic of `SendFuture::poll`.
    struct Sender {
        store: Shared,
        origin: BoxId,
        msg: Option<u32>,
        ticket: Option<u64>,
        /// The ticket it first waited with (for the FIFO check).
        first_ticket: Option<u64>,
    }

    impl Sender {
        fn new(store: &Shared, msg: u32) -> Self {
            Sender {
                store: store.clone(),
                origin: BoxId::next(),
                msg: Some(msg),
                ticket: None,
                first_ticket: None,
            }
        }

        fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<()> {
            let mut st = self.store.lock();
            if let Some(t) = self.ticket {
                match st.ticket_state(t, cx.waker()) {
                    TicketState::Granted => {
                        self.ticket = None;
                        let w = st.push_granted(t, self.msg.take().unwrap(), &self.store.armed);
                        drop(st);
                        w.wake();
                        return Poll::Ready(());
                    }
                    TicketState::Waiting => return Poll::Pending,
                    TicketState::Gone => self.ticket = None,
                }
            }
            if st.has_space() {
                let w = st.push(self.msg.take().unwrap(), &self.store.armed);
                drop(st);
                w.wake();
                return Poll::Ready(());
            }
            let t = st.enqueue(self.origin, WaitKind::Reserve, cx.waker().clone());
            self.ticket = Some(t);
            self.first_ticket.get_or_insert(t);
            Poll::Pending
        }

        /// The send future is dropped (`SendFuture::cancel_ticket`).
        fn cancel(&mut self) {
            if let Some(t) = self.ticket.take() {
                let mut wake = WakeList::new();
                self.store.lock().cancel(t, &mut wake);
                wake_all(wake);
            }
        }

        /// `send(msg).await`; returns the ticket it first waited with, if any.
        fn send(mut self) -> Option<u64> {
            block_on(poll_fn(|cx| self.poll_send(cx)));
            self.first_ticket
        }
    }

    /// A Kamaelia-style sender: `try_send`, and on `Full` `pause()` until woken
    /// (`Outbox::try_send`, then `AnyNode::watch_space` in `node.rs`), retrying.
    fn try_send_and_pause(store: &Shared, msg: u32) {
        let origin = BoxId::next();
        block_on(poll_fn(|cx| {
            // try_send
            {
                let mut st = store.lock();
                if st.has_space() {
                    let w = st.push(msg, &store.armed);
                    drop(st);
                    w.wake();
                    return Poll::Ready(());
                }
            }
            // Full: pause, watching for space.
            let mut st = store.lock();
            if st.has_space() {
                drop(st);
                cx.waker().wake_by_ref();
            } else {
                st.enqueue(origin, WaitKind::Notify, cx.waker().clone());
            }
            Poll::Pending
        }));
    }

    /// `inbox.recv().await` (`Inbox::poll_recv` on an open box).
    fn recv(store: &Shared) -> u32 {
        block_on(poll_fn(|cx| {
            let mut wake = WakeList::new();
            let mut st = store.lock();
            if let Some(m) = st.pop(&mut wake) {
                drop(st);
                wake_all(wake);
                return Poll::Ready(m);
            }
            st.recv.park(cx.waker(), &store.armed);
            Poll::Pending
        }))
    }

    /// Nothing is left waiting or reserved: no slot was lost.
    fn assert_settled(store: &Shared) {
        let st = store.lock();
        assert!(st.queue.is_empty());
        assert_eq!(st.waiter_count(), 0);
        assert_eq!(st.granted_count(), 0);
        assert!(st.has_space());
    }

    /// Two senders find a size-1 box full and queue while the consumer drains it:
    /// each is woken when the consumer pops, both messages arrive, senders that
    /// waited are served in ticket (FIFO) order, and no reservation is left.
    #[test]
    fn loom_waiting_senders_are_woken_in_fifo_order() {
        model(|| {
            let store = full_box();
            let senders: Vec<_> = [1, 2]
                .into_iter()
                .map(|m| {
                    let s = Sender::new(&store, m);
                    thread::spawn(move || (m, s.send()))
                })
                .collect();
            let got: Vec<u32> = (0..3).map(|_| recv(&store)).collect();
            let tickets: Vec<(u32, Option<u64>)> = senders.into_iter().map(|s| s.join().unwrap()).collect();
            assert_eq!(got[0], 0);
            let mut sorted = got.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, [0, 1, 2]);
            if let [(m1, Some(t1)), (m2, Some(t2))] = tickets[..] {
                let first = if t1 < t2 { m1 } else { m2 };
                assert_eq!(got[1], first, "waiting senders served out of order");
            }
            assert_settled(&store);
        });
    }

    /// Sender A gives up (its send future is dropped) while the consumer pops,
    /// possibly after A was granted the freed slot: the slot passes on to the
    /// other waiting sender B, which is woken and delivers; no slot stays
    /// reserved.
    #[test]
    fn loom_cancelled_grant_passes_on() {
        model(|| {
            let store = full_box();
            let a = {
                let mut a = Sender::new(&store, 1);
                thread::spawn(move || {
                    let sent = block_on(poll_fn(|cx| Poll::Ready(a.poll_send(cx).is_ready())));
                    if !sent {
                        a.cancel();
                    }
                    sent
                })
            };
            let b = {
                let b = Sender::new(&store, 2);
                thread::spawn(move || b.send())
            };
            let mut got = vec![recv(&store)];
            while got.last() != Some(&2) {
                got.push(recv(&store));
            }
            let a_sent = a.join().unwrap();
            b.join().unwrap();
            let mut wake = WakeList::new();
            while let Some(m) = store.lock().pop(&mut wake) {
                got.push(m);
            }
            assert!(wake.is_empty());
            got.sort_unstable();
            assert_eq!(got, if a_sent { vec![0, 1, 2] } else { vec![0, 2] });
            assert_settled(&store);
        });
    }

    /// A `try_send` + `pause()` sender and a `send().await` sender both find the
    /// box full: the pausing one is woken (without a reservation) when the
    /// consumer pops, the reserving one gets its slot, both messages arrive and
    /// nothing stays reserved.
    #[test]
    fn loom_notify_waiter_is_woken_without_reservation() {
        model(|| {
            let store = full_box();
            let pauser = {
                let store = store.clone();
                thread::spawn(move || try_send_and_pause(&store, 1))
            };
            let sender = {
                let s = Sender::new(&store, 2);
                thread::spawn(move || s.send())
            };
            let mut got: Vec<u32> = (0..3).map(|_| recv(&store)).collect();
            pauser.join().unwrap();
            sender.join().unwrap();
            got.sort_unstable();
            assert_eq!(got, [0, 1, 2]);
            assert_settled(&store);
        });
    }
}
