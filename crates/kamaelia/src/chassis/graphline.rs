//! [`Graphline`]: named children wired by a list of linkages, wrapped up as one
//! component. Any graph, cycles included.
//!
//! Each linkage goes from `(name, box)` to `(name, box)`. A child's box at the
//! start of a linkage is one of its outboxes, at the end one of its inboxes.
//! The name [`SELF`] (`"self"`) means the Graphline itself: `("self", "x") ->
//! (child, y)` passes the Graphline's own inbox `x` through to the child's inbox
//! `y` (an inbox→inbox linkage), and `(child, y) -> ("self", "x")` brings the
//! child's outbox out through the Graphline's own outbox `x` (outbox→outbox).
//! Own boxes named in linkages are created with the child's message type
//! ([`axon::Component::copy_box`]); the Graphline always has `control` and
//! `signal` (carrying [`Signal`]).
//!
//! Children are activated when the Graphline runs; it finishes when all of
//! them have. Cycles between children are fine: linkages join boxes, and a
//! loop of components still ends in inboxes.
//!
//! ## Shutdown (as Kamaelia's Graphline)
//!
//! * If no linkage starts at `("self", "control")`, the Graphline reads its own
//!   `control` and copies every message to each child whose `control` no linkage
//!   feeds. When its `control` closes (every sender gone), those copies stop
//!   too, so the children's `control` inboxes close like a passthrough's would.
//! * If no linkage ends at `("self", "signal")`, the Graphline sends one message
//!   out of `signal` when it finishes: the shutdown it saw on `control` (if it
//!   was reading `control` and saw one), otherwise [`Signal::ProducerFinished`].
//! * A message on its `control` that reaches no child — every child still
//!   running has its `control` fed by a linkage (a cycle of `signal` →
//!   `control`, say) or has none — is not lost in silence as in Kamaelia: it is
//!   logged at `warn`, naming the Graphline and the message, with the fix (link
//!   `("self", "control")` to the child that should hear it). It is not a
//!   build-time error: a Graphline that is never sent anything on `control` is
//!   fine as it is.
//! * A child that failed or panicked makes the Graphline fail
//!   ([`ChassisError::ChildFailed`]) once every child has ended; the kernel
//!   then sends [`Signal::Failed`] out of its `signal` instead.
//!
//! ## Errors
//!
//! Unknown child names, missing boxes, a box at the start of two linkages and
//! type mismatches are [`ChassisError`]s, found when the Graphline is built:
//! from [`Graphline::check`] / [`Graphline::try_build`], as the
//! [`Prefab::build_error`] of what [`Graphline::build`] (and `graphline!`)
//! returns, and as the Graphline's failure (before any child starts) when it
//! runs.
//!
//! ```
//! use axon::{Component, Inbox, Prefab, Signal, System};
//! use kamaelia::graphline;
//!
//! let numbers = Prefab::new(Component::new("numbers").outbox::<u32>("outbox"), |mut cx| async move {
//!     let mut out = cx.outbox::<u32>("outbox")?;
//!     for i in 1..=4 {
//!         out.send(i).await?;
//!     }
//!     Ok(())
//! });
//! let squares = Prefab::new(Component::new("squares").inbox_and_outbox::<u32, u32>(), |mut cx| async move {
//!     let mut inbox = cx.inbox::<u32>("inbox")?;
//!     let mut out = cx.outbox::<u32>("outbox")?;
//!     while let Ok(x) = inbox.recv().await {
//!         out.send(x * x).await?;
//!     }
//!     Ok(())
//! });
//! let g = graphline! {
//!     SRC = numbers,
//!     SQ = squares;
//!     ("SRC", "outbox") => ("SQ", "inbox"),
//!     ("SQ", "outbox") => ("self", "result"),
//! };
//! let sys = System::builder().threads(1).build();
//! let g = g.spawn(&sys);
//! let mut results = Inbox::<u32>::detached("results");
//! let mut signal = Inbox::<Signal>::detached("signal");
//! axon::link(&g.outbox("result").unwrap(), &results.endpoint()).unwrap();
//! axon::link(&g.outbox("signal").unwrap(), &signal.endpoint()).unwrap();
//! sys.run();
//! let got: Vec<u32> = std::iter::from_fn(|| results.try_recv().ok()).collect();
//! assert_eq!(got, [1, 4, 9, 16]);
//! assert_eq!(signal.try_recv(), Ok(Signal::ProducerFinished));
//! ```

use std::collections::{HashMap, HashSet};

use axon::{Component, ComponentRef, Context, Direction, Dormant, Prefab, Signal};

use super::{
    available, box_type, built, check_children, first_named_is, link_by_name, next_event, send_quietly,
    ChassisError, ControlFanout, Event, FirstFailure,
};

/// The name meaning "the Graphline itself" in a linkage.
pub const SELF: &str = "self";

type Endpoint = (String, String);

/// Builds a Graphline: add named children with [`child`](Graphline::child) and
/// linkages with [`link`](Graphline::link), finish with
/// [`build`](Graphline::build) (or use the [`graphline!`](crate::graphline) macro).
#[derive(Debug)]
#[must_use = "a Graphline is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct Graphline {
    name: String,
    children: Vec<(String, Prefab)>,
    links: Vec<(Endpoint, Endpoint)>,
}

impl Default for Graphline {
    fn default() -> Self {
        Graphline::new()
    }
}

/// One end of a planned linkage.
#[derive(Clone, Debug)]
enum End {
    Me(String),
    Child(usize, String),
}

struct Plan {
    links: Vec<(End, End)>,
    /// Own inboxes to declare: (own name, child, child's inbox).
    own_in: Vec<(String, usize, String)>,
    /// Own outboxes to declare: (own name, child, child's outbox).
    own_out: Vec<(String, usize, String)>,
    control_linked: bool,
    signal_linked: bool,
    control_fed: HashSet<usize>,
}

/// A Graphline goes wherever a child or stage is taken, as [`build`](Graphline::build) would make it.
impl From<Graphline> for Prefab {
    fn from(c: Graphline) -> Prefab {
        c.build()
    }
}

impl Graphline {
    /// A Graphline named `"Graphline"` with no children and no linkages.
    pub fn new() -> Self {
        Graphline {
            name: "Graphline".to_string(),
            children: Vec::new(),
            links: Vec::new(),
        }
    }

    /// Name the Graphline component.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Add a child, known in linkages as `name`.
    pub fn child(mut self, name: impl Into<String>, child: impl Into<Prefab>) -> Self {
        let child = child.into();
        self.children.push((name.into(), child));
        self
    }

    /// Add a linkage from `(name, box)` to `(name, box)`; the name [`SELF`] means
    /// the Graphline's own box.
    pub fn link(
        mut self,
        from: (impl Into<String>, impl Into<String>),
        to: (impl Into<String>, impl Into<String>),
    ) -> Self {
        self.links
            .push(((from.0.into(), from.1.into()), (to.0.into(), to.1.into())));
        self
    }

    /// Check names, boxes and types without running anything.
    ///
    /// ```
    /// use axon::{Component, Prefab};
    /// use kamaelia::chassis::{ChassisError, Graphline};
    ///
    /// let a = Prefab::new(Component::new("a").inbox_and_outbox::<u32, u32>(), |_cx| async {});
    /// let err = Graphline::new()
    ///     .child("A", a)
    ///     .link(("A", "outbox"), ("B", "inbox"))
    ///     .check()
    ///     .unwrap_err();
    /// assert!(matches!(err, ChassisError::UnknownChild { ref name, .. } if name == "B"));
    /// ```
    pub fn check(&self) -> Result<(), ChassisError> {
        check_children(self.children.iter().map(|(n, p)| (n.clone(), p)))?;
        plan(&self.children, &self.links).map(|_| ())
    }

    /// [`check`](Self::check), then [`build`](Self::build).
    pub fn try_build(self) -> Result<Prefab, ChassisError> {
        self.check()?;
        Ok(self.build())
    }

    /// The Graphline as a component ready to run. The wiring is
    /// [`check`](Self::check)ed now: a Graphline that cannot work is built as
    /// a [`Prefab::failing`] — its [`Prefab::build_error`] is the
    /// [`ChassisError`], [`Prefab::run`] returns it, an enclosing chassis
    /// refuses it, and spawned it fails at once with it as its
    /// [`axon::Outcome::Failed`] (logged at `warn`, listed in
    /// [`axon::System::run`]'s report), no child ever starting.
    /// Such a Graphline declares only `control` and `signal` (its other own
    /// boxes come from a valid plan), so linking to them fails too.
    ///
    /// When it runs, it finishes once every child has; if a child failed or
    /// panicked, it then fails too, with [`ChassisError::ChildFailed`] naming
    /// the first such child (instead of sending its end signal).
    pub fn build(self) -> Prefab {
        let planned = self.check();
        let Graphline {
            name,
            children,
            links,
        } = self;
        let mut spec = Component::new(name.clone());
        if let Ok(p) = plan(&children, &links) {
            for (own, i, b) in &p.own_in {
                spec = spec
                    .copy_box(children[*i].1.spec(), b, Direction::In, own.clone())
                    .expect("cannot fail: the plan found this box");
            }
            for (own, i, b) in &p.own_out {
                spec = spec
                    .copy_box(children[*i].1.spec(), b, Direction::Out, own.clone())
                    .expect("cannot fail: the plan found this box");
            }
        }
        built("Graphline", &name.clone(), spec, planned, move |spec| {
            Prefab::new(spec, move |cx| async move {
                Ok(run(cx, name, children, links).await?)
            })
        })
    }
}

fn show(e: &Endpoint) -> String {
    format!("{}.{}", e.0, e.1)
}

fn plan(children: &[(String, Prefab)], links: &[(Endpoint, Endpoint)]) -> Result<Plan, ChassisError> {
    let mut index = HashMap::new();
    for (i, (n, _)) in children.iter().enumerate() {
        if index.insert(n.as_str(), i).is_some() {
            return Err(ChassisError::DuplicateChild(n.clone()));
        }
    }
    let known = || {
        let names: Vec<&str> = children.iter().map(|(n, _)| n.as_str()).collect();
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    };
    let mut p = Plan {
        links: Vec::new(),
        own_in: Vec::new(),
        own_out: Vec::new(),
        control_linked: false,
        signal_linked: false,
        control_fed: HashSet::new(),
    };
    let mut sources: HashMap<String, String> = HashMap::new();
    // Own outbox name -> (type, first feeding child box), for fan-in type checks.
    let mut own_out_types: HashMap<String, (&'static str, String)> = HashMap::new();
    for (from, to) in links {
        let linkage = format!("{} -> {}", show(from), show(to));
        let resolve = |e: &Endpoint| -> Result<End, ChassisError> {
            match index.get(e.0.as_str()) {
                Some(&i) => Ok(End::Child(i, e.1.clone())),
                None if e.0 == SELF => Ok(End::Me(e.1.clone())),
                None => Err(ChassisError::UnknownChild {
                    name: e.0.clone(),
                    linkage: linkage.clone(),
                    known: known(),
                }),
            }
        };
        let (src, dst) = (resolve(from)?, resolve(to)?);
        if let Some(first) = sources.insert(show(from), show(to)) {
            return Err(ChassisError::DuplicateSource {
                source_box: show(from),
                first,
                second: show(to),
            });
        }
        // The child boxes must exist with the right direction.
        let child_box =
            |i: usize, b: &str, dir: Direction, role: &str| -> Result<&'static str, ChassisError> {
                let spec = children[i].1.spec();
                box_type(spec, dir, b).ok_or_else(|| ChassisError::MissingBox {
                    component: children[i].0.clone(),
                    dir,
                    name: b.to_string(),
                    why: format!("linkage {linkage} {role} it"),
                    available: available(spec, dir),
                })
            };
        let unambiguous = |i: usize, b: &str, dir: Direction| {
            if first_named_is(children[i].1.spec(), b, dir) {
                Ok(())
            } else {
                Err(ChassisError::AmbiguousBox {
                    component: children[i].0.clone(),
                    name: b.to_string(),
                    dir,
                })
            }
        };
        match (&src, &dst) {
            (End::Me(_), End::Me(_)) => return Err(ChassisError::SelfToSelf(linkage)),
            (End::Me(own), End::Child(i, b)) => {
                child_box(*i, b, Direction::In, "ends at")?;
                unambiguous(*i, b, Direction::In)?;
                p.own_in.push((own.clone(), *i, b.clone()));
                p.control_linked |= own == "control";
            }
            (End::Child(i, b), End::Me(own)) => {
                let t = child_box(*i, b, Direction::Out, "starts at")?;
                unambiguous(*i, b, Direction::Out)?;
                match own_out_types.get(own) {
                    Some((t0, first)) if *t0 != t => {
                        return Err(ChassisError::TypeMismatch {
                            source_box: show(from),
                            source_type: t,
                            sink: format!("{SELF}.{own} (already fed by {first}, carrying {t0})"),
                            sink_type: t0,
                        })
                    }
                    Some(_) => {}
                    None => {
                        own_out_types.insert(own.clone(), (t, show(from)));
                        p.own_out.push((own.clone(), *i, b.clone()));
                    }
                }
                p.signal_linked |= own == "signal";
            }
            (End::Child(i, a), End::Child(j, b)) => {
                let s = child_box(*i, a, Direction::Out, "starts at")?;
                let d = child_box(*j, b, Direction::In, "ends at")?;
                if s != d {
                    return Err(ChassisError::TypeMismatch {
                        source_box: show(from),
                        source_type: s,
                        sink: show(to),
                        sink_type: d,
                    });
                }
            }
        }
        if let End::Child(j, b) = &dst {
            if b == "control" {
                p.control_fed.insert(*j);
            }
        }
        p.links.push((src, dst));
    }
    Ok(p)
}

async fn run(
    mut cx: Context,
    name: String,
    children: Vec<(String, Prefab)>,
    links: Vec<(Endpoint, Endpoint)>,
) -> Result<(), ChassisError> {
    let plan = plan(&children, &links)?;
    let names: Vec<String> = children.iter().map(|(n, _)| n.clone()).collect();
    // Wire the children before starting them (see Pipeline).
    let dormant: Vec<Dormant> = children.into_iter().map(|(_, p)| p.create_child(&cx)).collect();
    let refs: Vec<ComponentRef> = dormant.iter().map(|d| d.component().clone()).collect();
    let me = cx.me().clone();
    for (from, to) in &plan.links {
        let src = match from {
            End::Me(b) => me.any_inbox(b)?,
            End::Child(i, b) => refs[*i].any_outbox(b)?,
        };
        let dst = match to {
            End::Me(b) => me.any_outbox(b)?,
            End::Child(i, b) => refs[*i].any_inbox(b)?,
        };
        link_by_name(&cx, &src, &dst)?;
    }
    let mut control = if plan.control_linked {
        None
    } else {
        Some(cx.inbox::<Signal>("control")?)
    };
    let mut fanout = if control.is_some() {
        let unfed: Vec<ComponentRef> = refs
            .iter()
            .enumerate()
            .filter(|(i, _)| !plan.control_fed.contains(i))
            .map(|(_, c)| c.clone())
            .collect();
        Some(ControlFanout::new(&mut cx, &unfed))
    } else {
        None
    };
    let mut signal = if plan.signal_linked {
        None
    } else {
        Some(cx.outbox::<Signal>("signal")?)
    };
    // Ids to name a child that fails; the references go (as before).
    let ids: Vec<axon::ComponentId> = refs.iter().map(ComponentRef::id).collect();
    drop(refs);
    for d in dormant {
        d.activate();
    }
    let mut seen_shutdown = None;
    let mut control_open = true;
    let mut failed = FirstFailure::default();
    loop {
        let watch = control.as_mut().filter(|_| control_open);
        match next_event(&cx, watch).await {
            Event::Control(msg) => {
                if msg.is_shutdown() {
                    seen_shutdown = Some(msg.clone());
                }
                let reached = match fanout.as_mut() {
                    Some(f) => f.send(&msg).await,
                    None => 0,
                };
                if reached == 0 {
                    // Kamaelia loses it here without a word; say so.
                    let fed: Vec<&str> = plan.control_fed.iter().map(|&i| names[i].as_str()).collect();
                    tracing::warn!(
                        graphline = %name,
                        message = ?msg,
                        children_whose_control_is_linked = ?fed,
                        "a message on the Graphline's control reached no child: no (\"self\", \"control\") linkage, \
                         and every child that is still running has its control fed by a linkage or has none; \
                         link (\"self\", \"control\") to the child that should hear it"
                    );
                }
            }
            Event::ControlClosed => {
                control_open = false;
                if let Some(f) = fanout.as_mut() {
                    f.close();
                }
            }
            Event::Exit(e) => {
                tracing::trace!(child = ?e.child, outcome = ?e.outcome, "child ended");
                let child = || match ids.iter().position(|&id| id == e.child.id()) {
                    Some(i) => names[i].clone(),
                    None => e.child.name().to_string(),
                };
                failed.note(&name, child, &e.outcome);
            }
            Event::NoChildren => break,
        }
    }
    // A child's failure: the kernel sends `Failed` out of `signal` instead.
    failed.into_result()?;
    if let Some(out) = signal.as_mut() {
        send_quietly(out, seen_shutdown.unwrap_or(Signal::ProducerFinished)).await;
    }
    Ok(())
}

/// Build a [`Graphline`] and return it as a [`Prefab`](axon::Prefab): children
/// as `NAME = prefab`, then `;`, then linkages as `(name, box) => (name, box)`.
/// Child names are identifiers; `"self"` names the Graphline's own boxes.
/// The wiring is checked here, as by [`Graphline::build`]: an unknown child or
/// box, or a type mismatch, is the result's [`Prefab::build_error`], and
/// running it is an error naming both ends.
///
/// ```
/// use axon::{Component, Prefab, System};
/// use kamaelia::graphline;
///
/// let idle = || Prefab::new(Component::new("idle").inbox_and_outbox::<u8, u8>(), |_cx| async {});
/// let g = graphline! {
///     A = idle(),
///     B = idle();
///     ("A", "outbox") => ("B", "inbox"),
///     ("B", "outbox") => ("A", "inbox"), // cycles are fine
/// };
/// let sys = System::builder().threads(1).build();
/// let g = g.spawn(&sys);
/// sys.run();
/// assert_eq!(g.outcome(), Some(axon::Outcome::Finished));
/// ```
#[macro_export]
macro_rules! graphline {
    ($($name:ident = $child:expr),* $(,)? ; $(($fc:expr, $fb:expr) => ($tc:expr, $tb:expr)),* $(,)?) => {
        $crate::chassis::Graphline::new()
            $(.child(stringify!($name), $child))*
            $(.link(($fc, $fb), ($tc, $tb)))*
            .build()
    };
}
