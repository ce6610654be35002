//! Linkages: wiring an outbox (or a parent's box) to an inbox (or a parent's box).
//!
//! The three Kamaelia kinds are told apart by the directions of the two ends, so
//! there is no `passthrough` number to get wrong:
//!
//! | source | sink   | kind | Axon |
//! |--------|--------|------|------|
//! | outbox | inbox  | [`LinkKind::Normal`] | `passthrough=0` |
//! | inbox  | inbox  | [`LinkKind::Inbound`]: a parent's inbox into a child's | `passthrough=1` |
//! | outbox | outbox | [`LinkKind::Outbound`]: a child's outbox out through its parent's | `passthrough=2` |
//!
//! A box links to one destination (fan-out is a component's job); many boxes may
//! link into one (fan-in). Links are made and removed while everything runs; see
//! [`crate::boxes::topology`] for what happens to messages and waiting senders then.
//!
//! Typed ends ([`BoxRef<T>`]) are checked by the compiler. Ends found by name
//! ([`AnyBoxRef`], from [`ComponentRef::any_outbox`](crate::ComponentRef::any_outbox)
//! and friends) are checked at run time and a mismatch is a
//! [`LinkError::TypeMismatch`] naming both ends.

use std::fmt;
use std::sync::Arc;

use crate::boxes::error::{BoxError, LinkError};
use crate::boxes::node::{AnyNode, Direction, Node};
use crate::id::{BoxId, ComponentId, LinkId};

/// The kind of a linkage, from the directions of its ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkKind {
    /// outbox -> inbox.
    Normal,
    /// inbox -> inbox: a parent passes its inbox through to a child.
    Inbound,
    /// outbox -> outbox: a child's outbox comes out of its parent's.
    Outbound,
}

impl LinkKind {
    fn of(src: Direction, dst: Direction) -> Option<LinkKind> {
        match (src, dst) {
            (Direction::Out, Direction::In) => Some(LinkKind::Normal),
            (Direction::In, Direction::In) => Some(LinkKind::Inbound),
            (Direction::Out, Direction::Out) => Some(LinkKind::Outbound),
            (Direction::In, Direction::Out) => None,
        }
    }
}

/// A typed reference to a box, for linking. Cannot send or receive.
pub struct BoxRef<T: Send + 'static> {
    pub(crate) node: Arc<Node<T>>,
}

impl<T: Send + 'static> Clone for BoxRef<T> {
    fn clone(&self) -> Self {
        BoxRef {
            node: self.node.clone(),
        }
    }
}

impl<T: Send + 'static> PartialEq for BoxRef<T> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.node, &other.node)
    }
}
impl<T: Send + 'static> Eq for BoxRef<T> {}

impl PartialEq for AnyBoxRef {
    fn eq(&self, other: &Self) -> bool {
        self.same_box(other)
    }
}
impl Eq for AnyBoxRef {}

impl<T: Send + 'static> fmt::Debug for BoxRef<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BoxRef({} {})", self.node.dir, self.node.meta.label())
    }
}

impl<T: Send + 'static> BoxRef<T> {
    pub(crate) fn from_node(node: Arc<Node<T>>) -> Self {
        BoxRef { node }
    }

    /// The box's name.
    pub fn name(&self) -> &str {
        &self.node.meta.name
    }

    /// Inbox or outbox.
    pub fn direction(&self) -> Direction {
        self.node.dir
    }

    /// The id of the box.
    pub fn id(&self) -> BoxId {
        self.node.meta.id
    }

    /// The id of the component owning this box (`None` for a detached box).
    pub fn owner(&self) -> Option<ComponentId> {
        self.node.meta.owner.id
    }

    /// The name of the component owning this box (`"detached"` for a detached box).
    pub fn owner_name(&self) -> &str {
        &self.node.meta.owner.name
    }

    /// Whether it is linked onward (has a destination).
    pub fn is_linked(&self) -> bool {
        self.node.topo.lock().target.is_some()
    }

    /// Messages waiting in this box itself.
    pub fn len(&self) -> usize {
        self.node.store.lock().queue.len()
    }

    /// Whether no message waits in this box itself.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Set this box's size limit (see [`Inbox::set_size`](crate::Inbox::set_size)).
    pub fn set_size(&self, limit: Option<usize>) {
        AnyNode::set_limit(&*self.node, limit);
    }

    /// Forget the message type.
    pub fn erase(&self) -> AnyBoxRef {
        AnyBoxRef {
            node: self.node.clone(),
        }
    }
}

/// A reference to a box whose message type is known only at run time.
#[derive(Clone)]
pub struct AnyBoxRef {
    pub(crate) node: Arc<dyn AnyNode>,
}

impl fmt::Debug for AnyBoxRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.node.meta();
        write!(
            f,
            "AnyBoxRef({} {} of {})",
            self.node.dir(),
            m.label(),
            self.node.type_name()
        )
    }
}

impl AnyBoxRef {
    /// The box's name.
    pub fn name(&self) -> &str {
        &self.node.meta().name
    }

    /// Inbox or outbox.
    pub fn direction(&self) -> Direction {
        self.node.dir()
    }

    /// The message type's name.
    pub fn type_name(&self) -> &'static str {
        self.node.type_name()
    }

    /// The id of the box.
    pub fn id(&self) -> BoxId {
        self.node.meta().id
    }

    /// The id of the component owning this box (`None` for a detached box).
    pub fn owner(&self) -> Option<ComponentId> {
        self.node.meta().owner.id
    }

    /// The name of the component owning this box (`"detached"` for a detached box).
    pub fn owner_name(&self) -> &str {
        &self.node.meta().owner.name
    }

    /// Whether both refer to the same box.
    pub fn same_box(&self, other: &AnyBoxRef) -> bool {
        self.id() == other.id()
    }

    /// Recover the typed reference.
    pub fn downcast<T: Send + 'static>(&self) -> Result<BoxRef<T>, BoxError> {
        self.clone().into_typed()
    }

    /// [`downcast`](Self::downcast) by value: no reference-count round trip
    /// (what [`ComponentRef::inbox`](crate::ComponentRef::inbox) and
    /// [`outbox`](crate::ComponentRef::outbox) use).
    pub(crate) fn into_typed<T: Send + 'static>(self) -> Result<BoxRef<T>, BoxError> {
        if self.node.message_type() != std::any::TypeId::of::<T>() {
            let meta = self.node.meta();
            return Err(BoxError::WrongType {
                component: meta.owner.name.to_string(),
                name: meta.name.to_string(),
                requested: std::any::type_name::<T>(),
                actual: self.node.type_name(),
            });
        }
        let node = crate::boxes::node::downcast_node::<T>(self.node)
            .unwrap_or_else(|_| unreachable!("the message type was checked"));
        Ok(BoxRef { node })
    }
}

/// A handle on one linkage. Dropping it does **not** unlink (as in Axon); call
/// [`unlink`](Linkage::unlink). Linkages made through a component's
/// [`Context::link`](crate::Context::link) are removed when that component ends.
#[derive(Clone)]
pub struct Linkage {
    id: LinkId,
    kind: LinkKind,
    creator: Option<ComponentId>,
    /// The two ends (same message type; `AnyNode::unlink_from` recovers it).
    src: Arc<dyn AnyNode>,
    dst: Arc<dyn AnyNode>,
}

impl fmt::Debug for Linkage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Link({} {:?}: {} -> {})",
            self.id,
            self.kind,
            self.src.meta().label(),
            self.dst.meta().label()
        )
    }
}

impl Linkage {
    /// This linkage's id.
    pub fn id(&self) -> LinkId {
        self.id
    }

    /// Normal, inbound or outbound passthrough.
    pub fn kind(&self) -> LinkKind {
        self.kind
    }

    /// The component that made it, if it was made through a component's context.
    pub fn creator(&self) -> Option<ComponentId> {
        self.creator
    }

    /// `owner.box` of the source.
    pub fn source_label(&self) -> String {
        self.src.meta().label()
    }

    /// `owner.box` of the sink.
    pub fn sink_label(&self) -> String {
        self.dst.meta().label()
    }

    /// Remove the linkage. Messages already delivered stay where they are; the
    /// source's later sends are held in it (or go wherever it is linked next).
    pub fn unlink(&self) -> Result<(), LinkError> {
        self.src.clone().unlink_from(self.dst.clone())
    }

    pub(crate) fn touches(&self, node: &dyn AnyNode) -> bool {
        let id = node.meta().id;
        self.src.meta().id == id || self.dst.meta().id == id
    }
}

pub(crate) fn link_nodes<T: Send + 'static>(
    src: &Arc<Node<T>>,
    dst: &Arc<Node<T>>,
    creator: Option<ComponentId>,
) -> Result<Linkage, LinkError> {
    let kind = LinkKind::of(src.dir, dst.dir).ok_or_else(|| LinkError::WrongDirection {
        source_box: src.meta.label(),
        sink: dst.meta.label(),
    })?;
    crate::boxes::topology::link(src, dst)?;
    Ok(Linkage {
        id: LinkId::next(),
        kind,
        creator,
        src: src.clone(),
        dst: dst.clone(),
    })
}

/// Link `src` to `dst` (the kind follows from their directions). The returned
/// [`Linkage`] belongs to the caller; use [`Context::link`](crate::Context::link)
/// inside a component so the linkage is removed when the component ends.
///
/// ```
/// use axon::{Inbox, Outbox, link, LinkError};
/// let mut out = Outbox::<u8>::detached("out");
/// let mut a = Inbox::<u8>::detached("a");
/// let mut b = Inbox::<u8>::detached("b");
/// let l = link(&out.endpoint(), &a.endpoint()).unwrap();
/// // One destination per box: fan-out is a component's job.
/// assert!(matches!(link(&out.endpoint(), &b.endpoint()), Err(LinkError::AlreadyLinked { .. })));
/// l.unlink().unwrap();
/// link(&out.endpoint(), &b.endpoint()).unwrap();
/// out.try_send(1).unwrap();
/// assert_eq!(b.try_recv(), Ok(1));
/// ```
pub fn link<T: Send + 'static>(src: &BoxRef<T>, dst: &BoxRef<T>) -> Result<Linkage, LinkError> {
    link_nodes(&src.node, &dst.node, None)
}

/// Link two boxes whose types are checked at run time.
pub fn link_any(src: &AnyBoxRef, dst: &AnyBoxRef) -> Result<Linkage, LinkError> {
    link_any_by(src, dst, None)
}

pub(crate) fn link_any_by(
    src: &AnyBoxRef,
    dst: &AnyBoxRef,
    creator: Option<ComponentId>,
) -> Result<Linkage, LinkError> {
    if src.node.message_type() != dst.node.message_type() {
        return Err(LinkError::TypeMismatch {
            source_box: src.node.meta().label(),
            source_type: src.node.type_name(),
            sink: dst.node.meta().label(),
            sink_type: dst.node.type_name(),
        });
    }
    src.node.clone().link_erased(dst.node.clone(), creator)
}
