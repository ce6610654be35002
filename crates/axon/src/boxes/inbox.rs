//! [`Inbox`]: the receiving end of a box, owned by one component.
//!
//! Messages arrive here directly from whichever outboxes are linked (possibly
//! through a chain of passthrough linkages) into this box. Receiving pops from
//! this box's own queue; if senders are waiting for space, the front one is woken
//! with a slot reserved for it (see [`crate::boxes::store`]).
//!
//! Unlike Axon, `data_ready()` and `recv()` look at the same queue: a box that
//! forwards into a child (a passthrough inbox) holds nothing itself, so both say
//! "nothing here" (Axon let `recv` reach through to the final box while
//! `dataReady` said 0).
//!
//! Receiving collects in batches from unbounded boxes: see the [`Inbox`] docs,
//! "Collecting in batches".

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::boxes::error::{RecvError, TryRecvError};
use crate::boxes::linkage::BoxRef;
use crate::boxes::node::{wake_all, Direction, Node, Owner, WakeList};
use crate::boxes::store::Lazy;
use crate::name::Name;
use crate::runtime::coop;
use crate::runtime::sync::Ordering;

/// The receiving end of a typed box.
///
/// Only the owner holds an `Inbox`; others wire it through a [`BoxRef`]. Dropping
/// it closes the box: senders whose chain ends here get their message back as
/// `Closed`.
///
/// ```
/// use axon::{Inbox, Outbox, link};
///
/// let mut out = Outbox::<u32>::detached("feeder");
/// let mut inbox = Inbox::<u32>::detached("collector");
/// link(&out.endpoint(), &inbox.endpoint()).unwrap();
/// out.try_send(7).unwrap();
/// assert_eq!(inbox.try_recv(), Ok(7));
/// drop(out); // every sender gone:
/// assert_eq!(inbox.try_recv(), Err(axon::TryRecvError::Closed));
/// ```
///
/// # Collecting in batches
/// Every send and every receive on a box takes the box's lock, one atomic
/// read-modify-write each. A receive ([`Inbox::recv`], [`Inbox::poll_recv`])
/// that finds several messages in a box **without a size limit** takes them
/// all in one go: it swaps the box's queue with the handle's own (empty) one,
/// so the next receives pop from the handle without any lock or atomic
/// operation. That is why receiving takes `&mut self`, as tokio's
/// `mpsc::Receiver::recv` does: only the owner touches what the handle holds.
///
/// What this changes for an observer, and what it does not:
/// - Order and delivery are as before: the handle's messages are older than
///   anything in the box and come out first; nothing is dropped.
/// - [`Inbox::len`], [`Inbox::data_ready`], `Context::any_ready` and
///   `pause()` count what the handle holds. A [`BoxRef::len`] (seen from
///   outside, e.g. introspection) counts only the box itself.
/// - A box with a size limit is never collected in batches: each receive
///   frees one slot and wakes a waiting sender at once, as in Axon.
/// - Linking the inbox onward (making it a passthrough) moves what is in the
///   box; what the handle already collected stays with the owner, who
///   receives it as if it had arrived before the link.
/// - [`Inbox::try_recv`] returns what the handle holds first, then takes one
///   message at a time from the box (it never collects in batches).
pub struct Inbox<T: Send + 'static> {
    pub(crate) node: Arc<Node<T>>,
    /// Messages collected from the box in one go and not returned yet (see
    /// "Collecting in batches" above); older than anything in the box. Boxed
    /// and made on the first collect: a handle that never collects (most
    /// idle components') stays one pointer smaller than a `VecDeque`.
    held: Lazy<VecDeque<T>>,
}

impl<T: Send + 'static> fmt::Debug for Inbox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbox")
            .field("box", &self.node.meta.label())
            .field("len", &self.len())
            .finish()
    }
}

impl<T: Send + 'static> Inbox<T> {
    pub(crate) fn from_node(node: Arc<Node<T>>) -> Self {
        Inbox {
            node,
            held: Lazy::new(),
        }
    }

    /// An inbox owned by plain code rather than a component: link outboxes into
    /// it and receive with [`recv_blocking`](Self::recv_blocking) or `recv().await`
    /// on any executor.
    pub fn detached(name: impl Into<Name>) -> Self {
        let owner = Owner {
            id: None,
            name: Name::from("detached"),
        };
        Inbox::from_node(Node::new(name.into(), Direction::In, owner, None))
    }

    /// Receive the next message, waiting until one arrives. Resolves to
    /// `Err(RecvError::Closed)` once every sender ever linked here is gone and
    /// the box is empty.
    pub fn recv(&mut self) -> RecvFuture<'_, T> {
        RecvFuture { inbox: self }
    }

    /// Receive, blocking this thread (for threaded components and plain code;
    /// never call it from an async component).
    pub fn recv_blocking(&mut self) -> Result<T, RecvError> {
        crate::runtime::block_on::block_on(self.recv())
    }

    /// Take a message if one is waiting.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        if let Some(m) = self.take_held() {
            return Ok(m);
        }
        self.try_recv_one()
    }

    /// [`try_recv`](Self::try_recv) through a shared reference, for an inbox
    /// whose handle never collects in batches (the kernel's own
    /// [`Handle`](crate::Handle) receivers).
    pub(crate) fn try_recv_one(&self) -> Result<T, TryRecvError> {
        let mut wake = WakeList::new();
        let mut st = self.node.store.lock();
        if let Some(m) = st.pop(&mut wake) {
            let drained = st.queue.is_empty() && self.node.delivery_seen();
            drop(st);
            wake_all(wake);
            if drained {
                crate::boxes::topology::drained_by_owner(&self.node);
            }
            return Ok(m);
        }
        if self.node.store_flags().closed() || senders_gone(&self.node) {
            return Err(TryRecvError::Closed);
        }
        Err(TryRecvError::Empty)
    }

    /// The oldest message the handle holds, if any.
    #[inline]
    fn take_held(&mut self) -> Option<T> {
        let m = self.held.pop_front()?;
        if self.held.is_empty() {
            self.node.held.store(false, Ordering::Relaxed);
        }
        Some(m)
    }

    /// Poll for a message (the building block of [`recv`](Self::recv)).
    ///
    /// Inlined into the caller: popping what the handle holds is a few
    /// instructions, less than the call; going to the box is out of line.
    #[inline]
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        if !self.held.is_empty() {
            if coop::poll_proceed(cx).is_pending() {
                return Poll::Pending;
            }
            return Poll::Ready(Ok(self.take_held().expect("held is not empty")));
        }
        recv_from_box(&self.node, cx, Some(&mut self.held))
    }

    /// [`recv`](Self::recv) through a shared reference, one message at a time
    /// (see [`try_recv_one`](Self::try_recv_one)).
    pub(crate) async fn recv_one(&self) -> Result<T, RecvError> {
        std::future::poll_fn(|cx| recv_from_box(&self.node, cx, None)).await
    }

    /// Number of messages waiting for the owner: in this box, and collected by
    /// this handle but not returned yet (Axon's `dataReady`).
    pub fn len(&self) -> usize {
        self.held.len() + self.node.store.lock().queue.len()
    }

    /// Whether no message is waiting.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty() && self.node.store.lock().queue.is_empty()
    }

    /// Whether a message is waiting (Axon's `dataReady`).
    pub fn data_ready(&self) -> bool {
        !self.is_empty()
    }

    /// Limit the box to `limit` messages (`None`: unbounded, the default). Can be
    /// changed at any time; raising it lets waiting senders in at once. Lowering
    /// it below the current length keeps what is there and refuses further sends
    /// until the consumer catches up. Messages this handle has already
    /// collected (see "Collecting in batches" in the type docs) are no longer
    /// in the box and do not count.
    pub fn set_size(&self, limit: Option<usize>) {
        crate::boxes::node::AnyNode::set_limit(&*self.node, limit);
    }

    /// The current size limit.
    pub fn size(&self) -> Option<usize> {
        self.node.store.lock().limit()
    }

    /// This box's name.
    pub fn name(&self) -> &str {
        &self.node.meta.name
    }

    /// A reference for linking this box (cheap to clone, cannot receive).
    pub fn endpoint(&self) -> BoxRef<T> {
        BoxRef::from_node(self.node.clone())
    }
}

/// Every sender ever linked into `node` is gone.
fn senders_gone<T>(node: &Node<T>) -> bool {
    node.ever_fed.load(Ordering::SeqCst) && node.open_upstream.load(Ordering::SeqCst) == 0
}

/// Receive from the box itself (see [`poll_box`]), unless the box is armed
/// for this very poll: then `Pending` without the lock (see `crate::boxes::wakeup`,
/// "Arming").
///
/// Inlined into the receive, with `poll_box` out of line: in a ring or a
/// ping-pong a component comes back to its armed box once per message hop,
/// and this way that costs a load and a compare, not a call and its prologue.
#[inline]
fn recv_from_box<T: Send + 'static>(
    node: &Arc<Node<T>>,
    cx: &mut Context<'_>,
    held: Option<&mut Lazy<VecDeque<T>>>,
) -> Poll<Result<T, RecvError>> {
    if node.armed.armed_for(cx.waker()) {
        return Poll::Pending;
    }
    poll_box(node, cx, held)
}

/// Receive from the box itself: pop its front message, collecting the rest
/// into `held` when given and allowed (see "Collecting in batches"), or park.
/// `held`, when given, is empty. Called through [`recv_from_box`], which has
/// checked that the box is not armed for this poll.
#[inline(never)]
fn poll_box<T: Send + 'static>(
    node: &Arc<Node<T>>,
    cx: &mut Context<'_>,
    held: Option<&mut Lazy<VecDeque<T>>>,
) -> Poll<Result<T, RecvError>> {
    if coop::poll_proceed(cx).is_pending() {
        return Poll::Pending;
    }
    let mut st = node.store.lock();
    // `Store::pop` inlined by hand: building the waker list only when senders
    // wait saves 10% of the instructions of a pipeline run (callgrind).
    if let Some(m) = st.queue.pop_front() {
        let mut drained = false;
        match held {
            Some(held) if !st.queue.is_empty() && st.unbounded() => {
                // The box keeps `held`'s empty buffer for new arrivals. The
                // receiver is not parked: it comes back to the box (and parks
                // there if need be) once it has returned what it holds, so a
                // delivery meanwhile need not wake it.
                std::mem::swap(held.get_mut(), &mut st.queue);
                node.held.store(true, Ordering::Relaxed);
            }
            _ if st.queue.is_empty() => {
                // Everything delivered has been seen (see `Context::pause`).
                drained = node.delivery_seen();
                if !node.store_flags().closed() && !senders_gone(node) {
                    st.recv.emptied(cx.waker(), &node.armed);
                }
            }
            _ => {}
        }
        if st.has_waiters() {
            let mut wake = WakeList::new();
            st.grant(&mut wake);
            drop(st);
            wake_all(wake);
        } else {
            drop(st);
        }
        if drained {
            crate::boxes::topology::drained_by_owner(node);
        }
        return Poll::Ready(Ok(m));
    }
    if node.store_flags().closed() || senders_gone(node) {
        return Poll::Ready(Err(RecvError::Closed));
    }
    // Box and handle empty: everything delivered has been seen.
    node.delivery_seen();
    st.recv.park_armed(cx.waker(), &node.armed);
    Poll::Pending
}

impl<T: Send + 'static> Drop for Inbox<T> {
    fn drop(&mut self) {
        if !self.held.is_empty() {
            tracing::warn!(
                box_ = %self.node.meta.label(),
                undelivered = self.held.len(),
                "inbox dropped holding messages its owner collected but never received"
            );
            self.node.held.store(false, Ordering::Relaxed);
        }
        crate::boxes::topology::close_inbox(&self.node);
    }
}

/// Future of [`Inbox::recv`].
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<'a, T: Send + 'static> {
    inbox: &'a mut Inbox<T>,
}

impl<T: Send + 'static> Future for RecvFuture<'_, T> {
    type Output = Result<T, RecvError>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inbox.poll_recv(cx)
    }
}
