//! [`Par`]: children run side by side (Occam's PAR), their outputs fanned into
//! one `outbox`.
//!
//! Every child's `outbox` comes out of the Par's own `outbox` (outbox→outbox
//! linkages, many into one), so messages from the children interleave there.
//! Messages on the Par's `control` are copied to every child's `control`. The
//! Par finishes when all children have, then sends out of `signal` the shutdown
//! it saw on `control`, or else [`Signal::ProducerFinished`].
//!
//! Two deliberate differences from Kamaelia's PAR: the children's `signal`
//! outboxes are not fanned into the Par's `signal` (the first child to say
//! "finished" would stop downstream consumers while its siblings still produce;
//! the Par says it once, at the end), and on a shutdown the Par does not end at
//! once but waits for its children to obey it, so no child is left running
//! without a parent. Like Kamaelia's, it has no use for an `inbox` and declares
//! none.
//!
//! All children that have an `outbox` must agree on its message type; a
//! disagreement is a [`ChassisError::TypeMismatch`] from [`Par::check`] or when
//! the Par runs.
//!
//! ```
//! use axon::{Component, Inbox, Prefab, System};
//! use kamaelia::chassis::Par;
//!
//! fn count(from: u32, to: u32) -> Prefab {
//!     Prefab::new(Component::new("count").outbox::<u32>("outbox"), move |mut cx| async move {
//!         let mut out = cx.outbox::<u32>("outbox")?;
//!         for i in from..to {
//!             out.send(i).await?;
//!         }
//!         Ok(())
//!     })
//! }
//! let sys = System::builder().threads(1).build();
//! let par = Par::new().with(count(0, 3)).with(count(10, 13)).build().spawn(&sys);
//! let mut out = Inbox::<u32>::detached("out");
//! axon::link(&par.outbox("outbox").unwrap(), &out.endpoint()).unwrap();
//! sys.run();
//! let mut got: Vec<u32> = std::iter::from_fn(|| out.try_recv().ok()).collect();
//! got.sort();
//! assert_eq!(got, [0, 1, 2, 10, 11, 12]);
//! ```

use axon::{Component, ComponentRef, Context, Direction, Dormant, Prefab, Signal};

use super::{
    box_type, first_named_is, link_by_name, next_event, send_quietly, ChassisError, ControlFanout, Event,
};

/// Builds a Par: add children with [`with`](Par::with), finish with
/// [`build`](Par::build).
#[derive(Debug)]
#[must_use = "a Par is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct Par {
    name: String,
    children: Vec<Prefab>,
}

impl Default for Par {
    fn default() -> Self {
        Par::new()
    }
}

/// A Par goes wherever a child or stage is taken, as [`build`](Par::build) would make it.
impl From<Par> for Prefab {
    fn from(c: Par) -> Prefab {
        c.build()
    }
}

impl FromIterator<Prefab> for Par {
    fn from_iter<I: IntoIterator<Item = Prefab>>(iter: I) -> Self {
        iter.into_iter().fold(Par::new(), Par::with)
    }
}

impl Par {
    /// An empty Par named `"PAR"`.
    pub fn new() -> Self {
        Par {
            name: "PAR".to_string(),
            children: Vec::new(),
        }
    }

    /// Name the Par component.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Add a child to run alongside the others.
    pub fn with(mut self, child: impl Into<Prefab>) -> Self {
        let child = child.into();
        self.children.push(child);
        self
    }

    /// Check that the children agree on their `outbox` type.
    pub fn check(&self) -> Result<(), ChassisError> {
        check(&self.children).map(|_| ())
    }

    /// [`check`](Self::check), then [`build`](Self::build).
    pub fn try_build(self) -> Result<Prefab, ChassisError> {
        self.check()?;
        Ok(self.build())
    }

    /// The Par as a component ready to run.
    pub fn build(self) -> Prefab {
        let Par { name, children } = self;
        let mut spec = Component::new(name);
        if let Ok(Some(i)) = check(&children) {
            spec = spec
                .copy_box(children[i].spec(), "outbox", Direction::Out, "outbox")
                .expect("cannot fail: the check found this box");
        }
        Prefab::new(spec, move |cx| async move { Ok(run(cx, children).await?) })
    }
}

/// The first child with an `outbox`, after checking they all agree.
fn check(children: &[Prefab]) -> Result<Option<usize>, ChassisError> {
    let mut first: Option<(usize, &'static str)> = None;
    for (i, p) in children.iter().enumerate() {
        let Some(t) = box_type(p.spec(), Direction::Out, "outbox") else {
            continue;
        };
        if !first_named_is(p.spec(), "outbox", Direction::Out) {
            return Err(ChassisError::AmbiguousBox {
                component: p.name().to_string(),
                name: "outbox".to_string(),
                dir: Direction::Out,
            });
        }
        match first {
            None => first = Some((i, t)),
            Some((j, t0)) if t0 != t => {
                return Err(ChassisError::TypeMismatch {
                    source_box: format!("child {i} ({}).outbox", p.name()),
                    source_type: t,
                    sink: format!(
                        "PAR.outbox (fed by child {j} ({}), carrying {t0})",
                        children[j].name()
                    ),
                    sink_type: t0,
                })
            }
            Some(_) => {}
        }
    }
    Ok(first.map(|f| f.0))
}

async fn run(mut cx: Context, children: Vec<Prefab>) -> Result<(), ChassisError> {
    check(&children)?;
    // Wire the children before starting them (see Pipeline).
    let dormant: Vec<Dormant> = children.into_iter().map(|p| p.create_child(&cx)).collect();
    let refs: Vec<ComponentRef> = dormant.iter().map(|d| d.component().clone()).collect();
    let me = cx.me().clone();
    for c in &refs {
        if let Ok(out) = c.any_outbox("outbox") {
            link_by_name(&cx, &out, &me.any_outbox("outbox")?)?;
        }
    }
    let mut control = cx.inbox::<Signal>("control")?;
    let mut signal = cx.outbox::<Signal>("signal")?;
    let mut fanout = ControlFanout::new(&mut cx, &refs);
    drop(refs);
    for d in dormant {
        d.activate();
    }
    let mut seen_shutdown = None;
    let mut control_open = true;
    loop {
        match next_event(&cx, Some(&mut control).filter(|_| control_open)).await {
            Event::Control(msg) => {
                if msg.is_shutdown() {
                    seen_shutdown = Some(msg.clone());
                }
                fanout.send(&msg).await;
            }
            Event::ControlClosed => {
                control_open = false;
                fanout.close();
            }
            Event::Exit(e) => tracing::trace!(child = ?e.child, outcome = ?e.outcome, "child ended"),
            Event::NoChildren => break,
        }
    }
    send_quietly(&mut signal, seen_shutdown.unwrap_or(Signal::ProducerFinished)).await;
    Ok(())
}
