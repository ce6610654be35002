//! [`Outbox`]: the sending end of a box — and the answer to "where does a send go?".
//!
//! A send goes straight into the store of the *final* box of the outbox's chain
//! of linkages. The outbox caches that final box and the generation it was
//! resolved at; a linkage change anywhere upstream bumps the generation, and the
//! next send resolves again (under the topology lock, see [`crate::boxes::topology`]).
//! Inside the final box's lock the send checks that the box is still final
//! (`forwarded`), still receiving (`closed`) and has room (`has_space`, which
//! counts slots reserved for senders already waiting). Then it pushes and wakes
//! the receiver only if the receiver was parked on that box.
//!
//! An outbox that is not linked anywhere is its own final box: messages sent on it
//! are **held** in the outbox, in order, up to its size limit
//! ([`DEFAULT_OUTBOX_LIMIT`](crate::DEFAULT_OUTBOX_LIMIT) by default), and move
//! to the destination when it is linked; what does not fit there stays behind
//! and follows, in order, as the destination makes room (meanwhile new sends
//! queue behind it). Nothing is dropped.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::boxes::error::{SendError, TrySendError};
use crate::boxes::linkage::BoxRef;
use crate::boxes::node::{wake_all, Direction, Node, Owner, WakeList};
use crate::boxes::store::{TicketState, WaitKind};
use crate::name::Name;
use crate::runtime::coop;
use crate::runtime::sync::Ordering;

/// The sending end of a typed box.
///
/// Only the owner holds an `Outbox`. It counts as a sender while its handle exists
/// and, for a component's outbox, until the component has finished (so a failure
/// report goes out before the box closes). A receiver whose senders are all gone
/// sees `Closed` once it has drained its inbox.
///
/// ```
/// use axon::{Inbox, Outbox, TrySendError, link};
///
/// let mut out = Outbox::<&str>::detached("out");
/// out.try_send("held").unwrap();            // not linked yet: held in the outbox
/// let mut inbox = Inbox::<&str>::detached("in");
/// inbox.set_size(Some(1));
/// link(&out.endpoint(), &inbox.endpoint()).unwrap(); // held message moves on
/// assert!(matches!(out.try_send("no room"), Err(TrySendError::Full("no room"))));
/// assert_eq!(inbox.try_recv(), Ok("held"));
/// ```
pub struct Outbox<T: Send + 'static> {
    node: Arc<Node<T>>,
    /// Generation of `node` when `sink` was resolved.
    gen: u64,
    /// The final box of the chain, `None` when the outbox itself is final.
    sink: Option<Arc<Node<T>>>,
}

impl<T: Send + 'static> fmt::Debug for Outbox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbox")
            .field("box", &self.node.meta.label())
            .finish()
    }
}

enum Attempt<T> {
    Done,
    Retry(T),
    Full(T),
    Closed(T),
}

impl<T: Send + 'static> Outbox<T> {
    pub(crate) fn from_node(node: Arc<Node<T>>) -> Self {
        let (gen, sink) = crate::boxes::topology::resolve_with_gen(&node);
        Outbox { node, gen, sink }
    }

    /// An outbox owned by plain code rather than a component: link it to a
    /// component's inbox and feed that component from ordinary code.
    pub fn detached(name: impl Into<Name>) -> Self {
        let owner = Owner {
            id: None,
            name: Name::from("detached"),
        };
        Outbox::from_node(Node::new(name.into(), Direction::Out, owner, None))
    }

    /// Re-resolve the final box if a linkage change invalidated the cache.
    #[inline]
    fn refresh(&mut self) {
        if self.node.gen.load(Ordering::Acquire) != self.gen {
            self.force_refresh();
        }
    }

    #[cold]
    fn force_refresh(&mut self) {
        let (gen, sink) = crate::boxes::topology::resolve_with_gen(&self.node);
        self.gen = gen;
        self.sink = sink;
    }

    #[inline]
    fn sink_node(&self) -> &Arc<Node<T>> {
        self.sink.as_ref().unwrap_or(&self.node)
    }

    #[inline]
    fn attempt(&mut self, msg: T) -> Attempt<T> {
        // No `refresh()` first: the generation is checked under the sink's
        // lock below anyway, and a stale cached sink (rare: a link or unlink
        // upstream) only costs a `Retry`, whose callers re-resolve. That
        // saves a load and a compare on every send.
        //
        // The node itself, not its `Arc`: the flags read under the lock below
        // are then at fixed offsets from a pointer already in a register
        // (through `&Arc` the compiler loads the `Arc`'s pointer again after
        // the lock's atomic: two instructions a send).
        let sink: &Node<T> = self.sink_node();
        let mut st = sink.store.lock();
        // `forwarded`: the sink gained a target. The generation: our chain was
        // re-routed (an unlink) while the old sink stays final. Both are
        // published before the topology change takes this lock, so checking
        // under it is race-free.
        let flags = sink.store_flags();
        if flags.forwarded() || self.node.gen.load(Ordering::Acquire) != self.gen {
            return Attempt::Retry(msg);
        }
        if flags.closed() {
            return Attempt::Closed(msg);
        }
        if !st.has_space() {
            return Attempt::Full(msg);
        }
        let wakeup = st.push(msg, &sink.armed);
        sink.note_delivery(flags);
        drop(st);
        wakeup.wake();
        Attempt::Done
    }

    /// Deliver `msg` now if there is room; otherwise hand it back.
    ///
    /// On `Full`, a Kamaelia-style component may `pause()`: it is woken when the
    /// consumer collects a message.
    pub fn try_send(&mut self, mut msg: T) -> Result<(), TrySendError<T>> {
        loop {
            match self.attempt(msg) {
                Attempt::Done => {
                    if self.node.wants_space.load(Ordering::Relaxed) {
                        self.node.wants_space.store(false, Ordering::Relaxed);
                    }
                    return Ok(());
                }
                Attempt::Retry(m) => {
                    msg = m;
                    self.force_refresh();
                }
                Attempt::Full(m) => {
                    self.node.wants_space.store(true, Ordering::Relaxed);
                    return Err(TrySendError::Full(m));
                }
                Attempt::Closed(m) => return Err(TrySendError::Closed(m)),
            }
        }
    }

    /// Deliver `msg`, waiting (in FIFO order with other waiting senders) while the
    /// destination is full. Fails only if the destination closed, handing the
    /// message back.
    pub fn send(&mut self, msg: T) -> SendFuture<'_, T> {
        SendFuture {
            outbox: self,
            msg: Some(msg),
            ticket: None,
        }
    }

    /// [`send`](Self::send), blocking this thread while the destination is full
    /// (threaded components and plain code only).
    pub fn send_blocking(&mut self, msg: T) -> Result<(), SendError<T>> {
        crate::runtime::block_on::block_on(self.send(msg))
    }

    /// Whether this outbox is linked to a destination. Messages sent on an
    /// unlinked outbox are held in it, up to its size
    /// ([`DEFAULT_OUTBOX_LIMIT`](crate::DEFAULT_OUTBOX_LIMIT) unless
    /// [`set_size`](Self::set_size) says otherwise).
    pub fn is_linked(&self) -> bool {
        self.node.topo.lock().target.is_some()
    }

    /// Messages held in this outbox: because it is not linked yet, or
    /// because they did not fit into the destination when it was linked
    /// (they move on, in order, as it makes room).
    pub fn held(&self) -> usize {
        self.node.store.lock().queue.len()
    }

    /// Limit how many messages an unlinked outbox holds before `try_send`
    /// reports `Full` (default: [`DEFAULT_OUTBOX_LIMIT`](crate::DEFAULT_OUTBOX_LIMIT);
    /// `None`: unbounded). Has no effect while linked: the final inbox's limit
    /// applies.
    pub fn set_size(&self, limit: Option<usize>) {
        crate::boxes::node::AnyNode::set_limit(&*self.node, limit);
    }

    /// This box's name.
    pub fn name(&self) -> &str {
        &self.node.meta.name
    }

    /// A reference for linking this box (cheap to clone, cannot send).
    pub fn endpoint(&self) -> BoxRef<T> {
        BoxRef::from_node(self.node.clone())
    }
}

impl<T: Send + 'static> Drop for Outbox<T> {
    fn drop(&mut self) {
        crate::boxes::topology::close_outbox(&self.node, crate::boxes::topology::Share::Handle);
    }
}

/// Future of [`Outbox::send`].
#[must_use = "futures do nothing unless polled"]
pub struct SendFuture<'a, T: Send + 'static> {
    outbox: &'a mut Outbox<T>,
    msg: Option<T>,
    /// Our place in the waiting-sender queue of the box we wait at.
    ticket: Option<(Arc<Node<T>>, u64)>,
}

impl<T: Send + 'static> Unpin for SendFuture<'_, T> {}

impl<T: Send + 'static> SendFuture<'_, T> {
    #[inline]
    fn cancel_ticket(&mut self) {
        if self.ticket.is_some() {
            self.cancel_ticket_slow();
        }
    }

    #[cold]
    fn cancel_ticket_slow(&mut self) {
        if let Some((node, ticket)) = self.ticket.take() {
            let mut wake = WakeList::new();
            node.store.lock().cancel(ticket, &mut wake);
            wake_all(wake);
        }
    }
}

impl<T: Send + 'static> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let this = &mut *self;
        if this.ticket.is_none() {
            // First try: the plain path of `try_send` (room, or a closed box).
            let msg = this.msg.take().expect("Send polled after completion");
            match this.outbox.attempt(msg) {
                Attempt::Done => return Poll::Ready(Ok(())),
                Attempt::Closed(m) => return Poll::Ready(Err(SendError::new(m))),
                Attempt::Full(m) | Attempt::Retry(m) => this.msg = Some(m),
            }
        }
        this.wait_for_space(cx)
    }
}

impl<T: Send + 'static> SendFuture<'_, T> {
    /// The destination was full (or re-routed under us): queue for a reserved
    /// slot, or use the one granted to us.
    #[cold]
    fn wait_for_space(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        let this = self;
        loop {
            this.outbox.refresh();
            if let Some((at, _)) = &this.ticket {
                if !Arc::ptr_eq(at, this.outbox.sink_node()) {
                    this.cancel_ticket();
                }
            }
            let sink = this.outbox.sink_node();
            let mut st = sink.store.lock();
            let flags = sink.store_flags();
            if flags.forwarded() || this.outbox.node.gen.load(Ordering::Acquire) != this.outbox.gen {
                drop(st);
                this.outbox.force_refresh();
                continue;
            }
            let msg = this.msg.take().expect("Send polled after completion");
            if flags.closed() {
                if let Some((_, t)) = this.ticket.take() {
                    let mut wake = WakeList::new();
                    st.cancel(t, &mut wake);
                    drop(st);
                    wake_all(wake);
                }
                return Poll::Ready(Err(SendError::new(msg)));
            }
            if let Some((_, t)) = this.ticket {
                match st.ticket_state(t, cx.waker()) {
                    TicketState::Granted => {
                        this.ticket = None;
                        let wakeup = st.push_granted(t, msg, &sink.armed);
                        sink.note_delivery(flags);
                        drop(st);
                        wakeup.wake();
                        return Poll::Ready(Ok(()));
                    }
                    TicketState::Waiting => {
                        this.msg = Some(msg);
                        return Poll::Pending;
                    }
                    TicketState::Gone => this.ticket = None,
                }
            }
            if st.has_space() {
                let wakeup = st.push(msg, &sink.armed);
                sink.note_delivery(flags);
                drop(st);
                wakeup.wake();
                return Poll::Ready(Ok(()));
            }
            let t = st.enqueue(this.outbox.node.meta.id, WaitKind::Reserve, cx.waker().clone());
            drop(st);
            this.msg = Some(msg);
            this.ticket = Some((sink.clone(), t));
            return Poll::Pending;
        }
    }
}

impl<T: Send + 'static> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        self.cancel_ticket();
    }
}
