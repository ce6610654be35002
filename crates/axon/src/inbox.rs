//! [`Inbox`]: the receiving end of a box, owned by one component.
//!
//! Messages arrive here directly from whichever outboxes are linked (possibly
//! through a chain of passthrough linkages) into this box. Receiving pops from
//! this box's own queue; if senders are waiting for space, the front one is woken
//! with a slot reserved for it (see [`crate::store`]).
//!
//! Unlike Axon, `data_ready()` and `recv()` look at the same queue: a box that
//! forwards into a child (a passthrough inbox) holds nothing itself, so both say
//! "nothing here" (Axon let `recv` reach through to the final box while
//! `dataReady` said 0).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::coop;
use crate::error::{RecvError, TryRecvError};
use crate::linkage::BoxRef;
use crate::name::Name;
use crate::node::{wake_all, Direction, Node, Owner, WakeList};
use crate::sync::Ordering;

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
/// let inbox = Inbox::<u32>::detached("collector");
/// link(&out.endpoint(), &inbox.endpoint()).unwrap();
/// out.try_send(7).unwrap();
/// assert_eq!(inbox.try_recv(), Ok(7));
/// drop(out); // every sender gone:
/// assert_eq!(inbox.try_recv(), Err(axon::TryRecvError::Closed));
/// ```
pub struct Inbox<T: Send + 'static> {
    pub(crate) node: Arc<Node<T>>,
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
        Inbox { node }
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
    pub fn recv(&self) -> RecvFuture<'_, T> {
        RecvFuture { inbox: self }
    }

    /// Receive, blocking this thread (for threaded components and plain code;
    /// never call it from an async component).
    pub fn recv_blocking(&self) -> Result<T, RecvError> {
        crate::threaded::block_on(self.recv())
    }

    /// Take a message if one is waiting.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut wake = WakeList::new();
        let mut st = self.node.store.lock();
        if let Some(m) = st.pop(&mut wake) {
            drop(st);
            wake_all(wake);
            return Ok(m);
        }
        if st.closed || self.senders_gone() {
            return Err(TryRecvError::Closed);
        }
        Err(TryRecvError::Empty)
    }

    /// Poll for a message (the building block of [`recv`](Self::recv)).
    pub fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        // Parked on this (empty) box earlier in this very poll: no need for the
        // lock to park again (see `crate::wakeup`, "Arming").
        if self.node.armed.armed_for(cx.waker()) {
            return Poll::Pending;
        }
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let mut st = self.node.store.lock();
        // `Store::pop` inlined by hand: building the waker list only when senders
        // wait saves 10% of the instructions of a pipeline run (callgrind).
        if let Some(m) = st.queue.pop_front() {
            if st.queue.is_empty() && !st.closed && !self.senders_gone() {
                st.recv.emptied(cx.waker(), &self.node.armed);
            }
            if !st.waiters.is_empty() {
                let mut wake = WakeList::new();
                st.grant(&mut wake);
                drop(st);
                wake_all(wake);
            }
            return Poll::Ready(Ok(m));
        }
        if st.closed || self.senders_gone() {
            return Poll::Ready(Err(RecvError::Closed));
        }
        st.recv.park_armed(cx.waker(), &self.node.armed);
        Poll::Pending
    }

    fn senders_gone(&self) -> bool {
        self.node.ever_fed.load(Ordering::SeqCst) && self.node.open_upstream.load(Ordering::SeqCst) == 0
    }

    /// Number of messages waiting in this box (Axon's `dataReady`).
    pub fn len(&self) -> usize {
        self.node.store.lock().queue.len()
    }

    /// Whether no message is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a message is waiting (Axon's `dataReady`).
    pub fn data_ready(&self) -> bool {
        !self.is_empty()
    }

    /// Limit the box to `limit` messages (`None`: unbounded, the default). Can be
    /// changed at any time; raising it lets waiting senders in at once. Lowering
    /// it below the current length keeps what is there and refuses further sends
    /// until the consumer catches up.
    pub fn set_size(&self, limit: Option<usize>) {
        crate::node::AnyNode::set_limit(&*self.node, limit);
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

impl<T: Send + 'static> Drop for Inbox<T> {
    fn drop(&mut self) {
        crate::topology::close_inbox(&self.node);
    }
}

/// Future of [`Inbox::recv`].
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<'a, T: Send + 'static> {
    inbox: &'a Inbox<T>,
}

impl<T: Send + 'static> Future for RecvFuture<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inbox.poll_recv(cx)
    }
}
