//! [`Introspector`]: a running system's topology, streamed as changes
//! (Kamaelia's `Util/Introspector`), and [`Topology`], the differ behind it.
//!
//! Every period it takes a [`System::snapshot`](axon::System::snapshot) of its
//! own system and sends out of `outbox` what changed since the last one, as
//! [`TopologyChange`] messages: first [`Reset`](TopologyChange::Reset), then
//! everything there is (components, their boxes, the linkages between boxes),
//! then only additions and removals. Removals come before additions within
//! one round; a box is added after its component and removed before it, a
//! linkage is added after both its boxes (unless one end is a detached box,
//! which belongs to no component and is never listed) and removed before
//! them. Nothing is sent for a round without changes.
//!
//! Each change also prints as a line of the reference's text protocol (`DEL
//! ALL`, `ADD NODE <id> "<name>" randompos component|inbox|outbox`, `ADD LINK
//! <from> <to>`, `DEL NODE <id>`, `DEL LINK <from> <to>`), for a visualiser
//! that reads it; ids are `c<n>` for components and `b<n>` for boxes, and a box
//! is linked from its component as in the reference.
//!
//! Polling, not hooks: a change that comes and goes between two snapshots is
//! not seen. The period (100 ms by default) is slept on the kernel's timers.
//! Its `inbox` is unused; shutdown follows the
//! [convention](crate::util#boxes-and-the-shutdown-convention) for sources:
//! `ShutdownMicroprocess` or `ProducerFinished` at `control` stops it and is
//! passed on.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::pin::pin;
use std::time::Duration;

use axon::introspect::Snapshot;
use axon::select::{select2_biased, Either2};
use axon::{BoxId, Component, ComponentId, Direction, Prefab, Signal};

use super::Intake;

/// One change to a system's topology.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TopologyChange {
    /// Forget what you know: sent first, before the first description.
    Reset,
    /// A component appeared.
    AddComponent {
        /// Its id.
        id: ComponentId,
        /// Its name.
        name: String,
        /// Its parent, if it is a child.
        parent: Option<ComponentId>,
    },
    /// A component's box appeared (with the component, or added later).
    AddBox {
        /// The box.
        id: BoxId,
        /// Its component.
        component: ComponentId,
        /// Its name.
        name: String,
        /// Inbox or outbox.
        direction: Direction,
        /// The message type it carries.
        message_type: &'static str,
    },
    /// A linkage from box `source` to box `sink` appeared.
    AddLink {
        /// Where messages come from.
        source: BoxId,
        /// Where they go.
        sink: BoxId,
    },
    /// A linkage went away.
    RemoveLink {
        /// Where messages came from.
        source: BoxId,
        /// Where they went.
        sink: BoxId,
    },
    /// A box went away.
    RemoveBox {
        /// The box.
        id: BoxId,
    },
    /// A component went away (its boxes are removed first).
    RemoveComponent {
        /// The component.
        id: ComponentId,
    },
}

/// The reference's text protocol, one or two lines (no trailing newline).
///
/// ```
/// use kamaelia::util::TopologyChange;
/// assert_eq!(TopologyChange::Reset.to_string(), "DEL ALL");
/// ```
impl fmt::Display for TopologyChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quoted = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
        match self {
            TopologyChange::Reset => write!(f, "DEL ALL"),
            TopologyChange::AddComponent { id, name, .. } => {
                write!(
                    f,
                    "ADD NODE c{} {} randompos component",
                    id.as_u64(),
                    quoted(name)
                )
            }
            TopologyChange::AddBox {
                id,
                component,
                name,
                direction,
                ..
            } => {
                let kind = match direction {
                    Direction::In => "inbox",
                    Direction::Out => "outbox",
                };
                write!(
                    f,
                    "ADD NODE b{} {} randompos {kind}\nADD LINK c{} b{}",
                    id.as_u64(),
                    quoted(name),
                    component.as_u64(),
                    id.as_u64()
                )
            }
            TopologyChange::AddLink { source, sink } => {
                write!(f, "ADD LINK b{} b{}", source.as_u64(), sink.as_u64())
            }
            TopologyChange::RemoveLink { source, sink } => {
                write!(f, "DEL LINK b{} b{}", source.as_u64(), sink.as_u64())
            }
            TopologyChange::RemoveBox { id } => write!(f, "DEL NODE b{}", id.as_u64()),
            TopologyChange::RemoveComponent { id } => write!(f, "DEL NODE c{}", id.as_u64()),
        }
    }
}

/// What a [`Topology`] remembers of a box.
#[derive(Clone, Debug, PartialEq, Eq)]
struct BoxSeen {
    component: ComponentId,
    name: String,
    direction: Direction,
    message_type: &'static str,
}

/// The topology last seen, turning each new [`Snapshot`] into the changes
/// since (what [`Introspector`] sends).
///
/// ```
/// use axon::{Component, System};
/// use kamaelia::util::{Topology, TopologyChange};
///
/// let sys = System::builder().threads(1).build();
/// let mut topology = Topology::new();
/// let first = topology.update(&sys.snapshot());
/// assert_eq!(first, [TopologyChange::Reset]); // nothing there yet
///
/// let c = sys.spawn(Component::new("worker").inbox::<u8>("inbox"), |_cx| async {});
/// let changes = topology.update(&sys.snapshot());
/// assert!(matches!(&changes[0], TopologyChange::AddComponent { name, .. } if name == "worker"));
/// assert!(changes.iter().any(|ch| matches!(ch, TopologyChange::AddBox { name, .. } if name == "inbox")));
/// assert!(topology.update(&sys.snapshot()).is_empty()); // no change, nothing to say
/// # sys.run();
/// ```
#[derive(Debug, Default)]
pub struct Topology {
    started: bool,
    components: BTreeMap<ComponentId, (String, Option<ComponentId>)>,
    boxes: BTreeMap<BoxId, BoxSeen>,
    links: BTreeSet<(BoxId, BoxId)>,
}

impl Topology {
    /// Nothing seen yet: the first [`update`](Self::update) starts with
    /// [`TopologyChange::Reset`].
    pub fn new() -> Self {
        Topology::default()
    }

    /// The changes from the last snapshot to `now`, in an order a viewer can
    /// apply one by one (see the [module docs](self)).
    pub fn update(&mut self, now: &Snapshot) -> Vec<TopologyChange> {
        let mut changes = Vec::new();
        if !self.started {
            self.started = true;
            changes.push(TopologyChange::Reset);
        }
        let components: BTreeMap<ComponentId, (String, Option<ComponentId>)> = now
            .components
            .iter()
            .map(|c| (c.id, (c.name.clone(), c.parent)))
            .collect();
        let boxes: BTreeMap<BoxId, BoxSeen> = now
            .components
            .iter()
            .flat_map(|c| {
                c.boxes.iter().map(move |b| {
                    (
                        b.id,
                        BoxSeen {
                            component: c.id,
                            name: b.name.clone(),
                            direction: b.direction,
                            message_type: b.message_type,
                        },
                    )
                })
            })
            .collect();
        let links: BTreeSet<(BoxId, BoxId)> =
            now.linkages.iter().map(|l| (l.source_box, l.sink_box)).collect();

        for &(source, sink) in self.links.difference(&links) {
            changes.push(TopologyChange::RemoveLink { source, sink });
        }
        for id in self.boxes.keys().filter(|id| !boxes.contains_key(id)) {
            changes.push(TopologyChange::RemoveBox { id: *id });
        }
        for id in self.components.keys().filter(|id| !components.contains_key(id)) {
            changes.push(TopologyChange::RemoveComponent { id: *id });
        }
        for (id, (name, parent)) in &components {
            if !self.components.contains_key(id) {
                changes.push(TopologyChange::AddComponent {
                    id: *id,
                    name: name.clone(),
                    parent: *parent,
                });
            }
        }
        for (id, b) in &boxes {
            if !self.boxes.contains_key(id) {
                changes.push(TopologyChange::AddBox {
                    id: *id,
                    component: b.component,
                    name: b.name.clone(),
                    direction: b.direction,
                    message_type: b.message_type,
                });
            }
        }
        for &(source, sink) in links.difference(&self.links) {
            changes.push(TopologyChange::AddLink { source, sink });
        }
        self.components = components;
        self.boxes = boxes;
        self.links = links;
        changes
    }
}

/// Streams its system's topology changes. Build with [`Introspector::new`],
/// then [`build`](Self::build).
///
/// Boxes: `inbox: ()` (unused), `control` → `outbox: TopologyChange`, `signal`.
///
/// ```
/// use axon::{Component, Inbox, Outbox, Signal, System};
/// use kamaelia::util::{Introspector, TopologyChange};
///
/// let running = System::builder().threads(1).build().start();
/// let sys = running.system();
/// let watcher = Introspector::new().build().spawn(sys);
/// let mut changes = Inbox::<TopologyChange>::detached("changes");
/// axon::link(&watcher.outbox::<TopologyChange>("outbox")?, &changes.endpoint())?;
/// assert_eq!(changes.recv_blocking()?, TopologyChange::Reset);
/// // The introspector itself is part of the system it watches.
/// let TopologyChange::AddComponent { name, .. } = changes.recv_blocking()? else { panic!() };
/// assert_eq!(name, "Introspector");
///
/// let mut stop = Outbox::<Signal>::detached("stop");
/// axon::link(&stop.endpoint(), &watcher.inbox("control")?)?;
/// stop.send_blocking(Signal::ShutdownMicroprocess)?;
/// running.wait();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "a Introspector is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct Introspector {
    every: Duration,
}

impl Default for Introspector {
    fn default() -> Self {
        Introspector::new()
    }
}

impl Introspector {
    /// A snapshot every 100 ms.
    pub fn new() -> Self {
        Introspector {
            every: Duration::from_millis(100),
        }
    }

    /// A snapshot every `period`.
    pub fn every(mut self, period: Duration) -> Self {
        self.every = period;
        self
    }

    /// The component.
    pub fn build(self) -> Prefab {
        let every = self.every;
        Prefab::new(
            Component::new("Introspector").inbox_and_outbox::<(), TopologyChange>(),
            move |mut cx| async move {
                let mut intake = Intake::<()>::take(&mut cx)?;
                let mut out = cx.outbox::<TopologyChange>("outbox")?;
                let mut signal = cx.outbox::<Signal>("signal")?;
                let sys = cx.system().clone();
                let mut topology = Topology::new();
                let mut tick = axon::time::interval(every);
                'run: loop {
                    let mut next = pin!(tick.tick());
                    match select2_biased(&mut intake, &mut next).await {
                        Either2::A(Some(())) => continue, // input is not used
                        Either2::A(None) => break,
                        Either2::B(_) => {
                            for change in topology.update(&sys.snapshot()) {
                                if !intake.send(&mut out, change).await? {
                                    break 'run;
                                }
                            }
                        }
                    }
                }
                intake.finish(&mut signal).await;
                Ok(())
            },
        )
    }
}

impl From<Introspector> for Prefab {
    fn from(i: Introspector) -> Prefab {
        i.build()
    }
}
