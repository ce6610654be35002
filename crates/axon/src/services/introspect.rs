//! A live snapshot of a system: every component, its boxes (with queue lengths
//! and size limits) and every linkage between boxes.
//!
//! This is the base for visualisation (Kamaelia's Introspector and
//! AxonVisualiser): take a [`Snapshot`] with [`System::snapshot`], inspect it in
//! code or tests, or render it with [`Snapshot::to_dot`]. Taking one briefly locks
//! each box; it does not stop the system, so under load the figures are a
//! near-instant, not an atomic, picture.

use std::fmt::Write as _;

use crate::boxes::node::Direction;
use crate::component::component::{ComponentRef, Kind};
use crate::component::system::System;
use crate::id::{BoxId, ComponentId};

/// A snapshot of one system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// Live components, by id.
    pub components: Vec<ComponentInfo>,
    /// Linkages out of the boxes of live components.
    pub linkages: Vec<LinkInfo>,
}

/// One component in a [`Snapshot`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentInfo {
    /// Its id.
    pub id: ComponentId,
    /// Its name.
    pub name: String,
    /// Async or threaded.
    pub kind: Kind,
    /// Its parent, if any.
    pub parent: Option<ComponentId>,
    /// Its live children.
    pub children: Vec<ComponentId>,
    /// Running, paused or finished, when the snapshot was taken.
    pub state: crate::component::component::State,
    /// Its boxes.
    pub boxes: Vec<BoxInfo>,
}

/// One box in a [`Snapshot`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoxInfo {
    /// Its id.
    pub id: BoxId,
    /// Its name.
    pub name: String,
    /// Inbox or outbox.
    pub direction: Direction,
    /// The message type.
    pub message_type: &'static str,
    /// Messages waiting in it.
    pub len: usize,
    /// Its size limit.
    pub limit: Option<usize>,
}

/// One linkage in a [`Snapshot`]: from a box to the next box of its chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    /// Source component and box.
    pub source: (ComponentId, String),
    /// Source box id.
    pub source_box: BoxId,
    /// Sink component (none for a detached box) and box.
    pub sink: (Option<ComponentId>, String),
    /// Sink box id.
    pub sink_box: BoxId,
}

impl System {
    /// Take a snapshot of every live component, its boxes and linkages.
    pub fn snapshot(&self) -> Snapshot {
        let comps: Vec<ComponentRef> = self.components();
        let mut components = Vec::with_capacity(comps.len());
        let mut linkages = Vec::new();
        for c in &comps {
            let mut boxes = Vec::new();
            for b in c.boxes() {
                let m = b.meta();
                boxes.push(BoxInfo {
                    id: m.id,
                    name: m.name.to_string(),
                    direction: b.dir(),
                    message_type: b.type_name(),
                    len: b.len(),
                    limit: b.limit(),
                });
                if let Some((tid, tname, towner)) = b.snapshot_target() {
                    linkages.push(LinkInfo {
                        source: (c.id(), m.name.to_string()),
                        source_box: m.id,
                        sink: (towner, tname.to_string()),
                        sink_box: tid,
                    });
                }
            }
            components.push(ComponentInfo {
                id: c.id(),
                name: c.name().to_string(),
                kind: c.kind(),
                parent: c.parent().map(|p| p.id()),
                children: c.children().iter().map(ComponentRef::id).collect(),
                state: c.state(),
                boxes,
            });
        }
        Snapshot { components, linkages }
    }
}

impl Snapshot {
    /// The component with this id.
    pub fn component(&self, id: ComponentId) -> Option<&ComponentInfo> {
        self.components.iter().find(|c| c.id == id)
    }

    /// Render as Graphviz DOT: components as clusters, boxes as nodes (with
    /// queue length and limit), linkages as edges.
    pub fn to_dot(&self) -> String {
        let mut s = String::from("digraph axon {\n  rankdir=LR;\n");
        for c in &self.components {
            let _ = writeln!(
                s,
                "  subgraph cluster_{} {{\n    label=\"{} ({})\";",
                c.id.as_u64(),
                esc(&c.name),
                c.id
            );
            for b in &c.boxes {
                let limit = b.limit.map_or("∞".to_string(), |l| l.to_string());
                let shape = if b.direction == Direction::In {
                    "box"
                } else {
                    "ellipse"
                };
                let _ = writeln!(
                    s,
                    "    b{} [shape={shape}, label=\"{} {}/{}\"];",
                    b.id.as_u64(),
                    esc(&b.name),
                    b.len,
                    limit
                );
            }
            s.push_str("  }\n");
        }
        for l in &self.linkages {
            let _ = writeln!(s, "  b{} -> b{};", l.source_box.as_u64(), l.sink_box.as_u64());
        }
        s.push_str("}\n");
        s
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
