//! [`Pipeline`]: components in a row, wrapped up as one component.
//!
//! Each child's `outbox` feeds the next child's `inbox` and each child's
//! `signal` feeds the next child's `control`. The pipeline's own `inbox` and
//! `control` pass through to the first child (inbox→inbox linkages), and the last
//! child's `outbox` and `signal` come out through the pipeline's own
//! (outbox→outbox linkages). The pipeline never touches the traffic: a send lands
//! straight in the next stage's inbox. In the circular form the last child feeds
//! the first instead, and nothing comes out.
//!
//! Children are activated only when the pipeline itself runs, and the pipeline
//! finishes when every child has finished (the kernel wakes a parent when a
//! child ends). When the first stage's input closes, closure ripples down the
//! stages as each one drains and ends.
//!
//! The pipeline's own boxes get their children's message types
//! ([`axon::Component::copy_box`]): `inbox`/`control` like the first child's,
//! `outbox`/`signal` like the last child's. A box the end child lacks is simply
//! absent (a producer needs no `inbox`).
//!
//! ## Which linkages are made
//!
//! Between neighbours, `outbox`→`inbox` is made when both exist and is an error
//! ([`ChassisError::MissingBox`]) when only one does, since the stream would stop
//! there; `signal`→`control` is made when both exist and skipped otherwise.
//! Boxes carrying different types are a [`ChassisError::TypeMismatch`] naming
//! both ends, found when the pipeline is built: [`Pipeline::check`] and
//! [`Pipeline::try_build`] return it, [`Pipeline::build`] (and `pipeline!`)
//! keeps it as the prefab's [`Prefab::build_error`], and the pipeline fails
//! with it when run, before starting any child.
//!
//! ```
//! use axon::{Component, Prefab};
//! use kamaelia::pipeline;
//!
//! let numbers = Prefab::new(Component::new("numbers").outbox::<u32>("outbox"), |_cx| async {});
//! let printer = Prefab::new(Component::new("printer").inbox::<String>("inbox"), |_cx| async {});
//! let p = pipeline![numbers, printer];
//! assert!(p.build_error().is_some()); // known before it runs
//! let err = p.run().unwrap_err().to_string();
//! assert!(err.contains("stage 0 (numbers).outbox sends u32"), "{err}");
//! assert!(err.contains("stage 1 (printer).inbox receives alloc::string::String"), "{err}");
//! ```
//!
//! ```
//! use axon::{Component, Inbox, Outbox, Prefab, System};
//! use kamaelia::pipeline;
//!
//! fn map<I: Send + 'static, O: Send + Sync + 'static>(name: &'static str, f: fn(I) -> O) -> Prefab {
//!     Prefab::new(Component::new(name).inbox_and_outbox::<I, O>(), move |mut cx| async move {
//!         let mut inbox = cx.inbox::<I>("inbox")?;
//!         let mut out = cx.outbox::<O>("outbox")?;
//!         while let Ok(x) = inbox.recv().await {
//!             out.send(f(x)).await?;
//!         }
//!         Ok(())
//!     })
//! }
//!
//! let sys = System::builder().threads(1).build();
//! let p = pipeline![
//!     map::<u32, u32>("double", |x| x * 2),
//!     pipeline![map::<u32, u64>("widen", u64::from), map::<u64, String>("show", |x| format!("<{x}>"))],
//! ]
//! .spawn(&sys);
//! let mut feed = Outbox::<u32>::detached("feed");
//! let mut results = Inbox::<String>::detached("results");
//! axon::link(&feed.endpoint(), &p.inbox("inbox").unwrap()).unwrap();
//! axon::link(&p.outbox("outbox").unwrap(), &results.endpoint()).unwrap();
//! for i in 1..=3 {
//!     feed.try_send(i).unwrap();
//! }
//! drop(feed); // end of input: each stage drains and ends in turn
//! sys.run();
//! let got: Vec<String> = std::iter::from_fn(|| results.try_recv().ok()).collect();
//! assert_eq!(got, ["<2>", "<4>", "<6>"]);
//! ```

use axon::{Component, ComponentRef, Context, Direction, Dormant, Prefab};

use super::{
    available, box_type, built, check_children, first_named_is, link_by_name, ChassisError, FirstFailure,
};

/// Builds a pipeline: add stages with [`then`](Pipeline::then), finish with
/// [`build`](Pipeline::build) (or the [`pipeline!`](crate::pipeline) macro).
#[derive(Debug)]
#[must_use = "a Pipeline is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct Pipeline {
    name: String,
    stages: Vec<Prefab>,
    circular: bool,
}

impl Default for Pipeline {
    fn default() -> Self {
        Pipeline::new()
    }
}

/// A Pipeline goes wherever a child or stage is taken, as [`build`](Pipeline::build) would make it.
impl From<Pipeline> for Prefab {
    fn from(c: Pipeline) -> Prefab {
        c.build()
    }
}

impl FromIterator<Prefab> for Pipeline {
    fn from_iter<I: IntoIterator<Item = Prefab>>(iter: I) -> Self {
        iter.into_iter().fold(Pipeline::new(), Pipeline::then)
    }
}

/// One linkage of the plan: (source end, sink end), each `None` for the
/// pipeline itself or `Some(stage index)`, with box names.
type End = (Option<usize>, &'static str);

impl Pipeline {
    /// An empty pipeline named `"Pipeline"`.
    pub fn new() -> Self {
        Pipeline {
            name: "Pipeline".to_string(),
            stages: Vec::new(),
            circular: false,
        }
    }

    /// Name the pipeline component (for introspection and error messages).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Add a stage at the end: a [`Prefab`], or any library component that
    /// converts into one (`ConsoleEchoer::new()`, `Splitter::new()`, ...; no
    /// `.build()` needed).
    pub fn then(mut self, stage: impl Into<Prefab>) -> Self {
        self.stages.push(stage.into());
        self
    }

    /// Loop the last stage's `outbox`/`signal` back into the first stage's
    /// `inbox`/`control` (Kamaelia's `circular = True`). The pipeline's own
    /// `inbox`/`control` still feed the first stage; it has no `outbox`/`signal`.
    pub fn circular(mut self) -> Self {
        self.circular = true;
        self
    }

    /// Number of stages.
    pub fn len(&self) -> usize {
        self.stages.len()
    }

    /// Whether no stage has been added.
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// Check the wiring without running anything: every neighbouring pair has
    /// matching boxes of matching types (by the type names the stages declared).
    ///
    /// ```
    /// use axon::{Component, Prefab};
    /// use kamaelia::chassis::{ChassisError, Pipeline};
    ///
    /// let producer = Prefab::new(Component::new("numbers").outbox::<u32>("outbox"), |_cx| async {});
    /// let consumer = Prefab::new(Component::new("printer").inbox::<String>("inbox"), |_cx| async {});
    /// match Pipeline::new().then(producer).then(consumer).check() {
    ///     Err(ChassisError::TypeMismatch { source_box, sink, .. }) => {
    ///         assert_eq!(source_box, "stage 0 (numbers).outbox");
    ///         assert_eq!(sink, "stage 1 (printer).inbox");
    ///     }
    ///     other => panic!("expected a type mismatch, got {other:?}"),
    /// }
    /// ```
    pub fn check(&self) -> Result<(), ChassisError> {
        check_children(
            self.stages
                .iter()
                .enumerate()
                .map(|(i, p)| (stage_label(i, p.spec()), p)),
        )?;
        let specs: Vec<&Component> = self.stages.iter().map(Prefab::spec).collect();
        plan(&self.name, &specs, self.circular).map(|_| ())
    }

    /// [`check`](Self::check), then [`build`](Self::build).
    pub fn try_build(self) -> Result<Prefab, ChassisError> {
        self.check()?;
        Ok(self.build())
    }

    /// The pipeline as a component ready to run (or to be a stage or child of
    /// another chassis). The wiring is [`check`](Self::check)ed now: a
    /// pipeline that cannot work is built as a [`Prefab::failing`] — its
    /// [`Prefab::build_error`] is the [`ChassisError`], [`Prefab::run`]
    /// returns it, an enclosing chassis refuses it
    /// ([`ChassisError::BrokenChild`]), and spawned it fails at once with it
    /// as its [`axon::Outcome::Failed`] (logged at `warn`, listed in
    /// [`axon::System::run`]'s report), no stage ever starting.
    ///
    /// When it runs, it finishes once every stage has; if a stage failed or
    /// panicked, it then fails too, with [`ChassisError::ChildFailed`] naming
    /// the first such stage.
    pub fn build(self) -> Prefab {
        let planned = self.check();
        let Pipeline {
            name,
            stages,
            circular,
        } = self;
        let spec = own_spec(&name, &stages, circular);
        built("Pipeline", &name.clone(), spec, planned, move |spec| {
            Prefab::new(spec, move |cx| async move {
                Ok(run(cx, name, stages, circular).await?)
            })
        })
    }
}

fn stage_label(i: usize, spec: &Component) -> String {
    format!("stage {i} ({})", spec.name())
}

fn label(specs: &[&Component], end: End) -> String {
    match end.0 {
        Some(i) => format!("stage {i} ({}).{}", specs[i].name(), end.1),
        None => format!("pipeline.{}", end.1),
    }
}

/// Decide the linkages between stages, checking boxes and types.
fn plan(name: &str, specs: &[&Component], circular: bool) -> Result<Vec<(End, End)>, ChassisError> {
    if specs.is_empty() {
        return Err(ChassisError::Empty {
            chassis: name.to_string(),
        });
    }
    let n = specs.len();
    let mut pairs: Vec<(usize, usize)> = (0..n - 1).map(|i| (i, i + 1)).collect();
    if circular {
        pairs.push((n - 1, 0));
    }
    let mut links = Vec::new();
    for (a, b) in pairs {
        for (out, inp, strict) in [("outbox", "inbox", true), ("signal", "control", false)] {
            let src = box_type(specs[a], Direction::Out, out);
            let dst = box_type(specs[b], Direction::In, inp);
            match (src, dst) {
                (Some(s), Some(d)) if s == d => links.push(((Some(a), out), (Some(b), inp))),
                (Some(s), Some(d)) => {
                    return Err(ChassisError::TypeMismatch {
                        source_box: label(specs, (Some(a), out)),
                        source_type: s,
                        sink: label(specs, (Some(b), inp)),
                        sink_type: d,
                    })
                }
                (None, None) => {}
                _ if !strict => {}
                (Some(_), None) => {
                    return Err(ChassisError::MissingBox {
                        component: format!("stage {b} ({})", specs[b].name()),
                        dir: Direction::In,
                        name: inp.to_string(),
                        why: format!("stage {a} ({}) sends into it from its {out:?}", specs[a].name()),
                        available: available(specs[b], Direction::In),
                    })
                }
                (None, Some(_)) => {
                    return Err(ChassisError::MissingBox {
                        component: format!("stage {a} ({})", specs[a].name()),
                        dir: Direction::Out,
                        name: out.to_string(),
                        why: format!("stage {b} ({}) expects data on its {inp:?}", specs[b].name()),
                        available: available(specs[a], Direction::Out),
                    })
                }
            }
        }
    }
    // Passthroughs: the pipeline's own boxes were copied from these, so they
    // exist exactly when the child's do.
    let mut ends = vec![(0, Direction::In, "inbox"), (0, Direction::In, "control")];
    if !circular {
        ends.push((n - 1, Direction::Out, "outbox"));
        ends.push((n - 1, Direction::Out, "signal"));
    }
    for (i, dir, b) in ends {
        if box_type(specs[i], dir, b).is_none() {
            continue;
        }
        if !first_named_is(specs[i], b, dir) {
            return Err(ChassisError::AmbiguousBox {
                component: format!("stage {i} ({})", specs[i].name()),
                name: b.to_string(),
                dir,
            });
        }
        links.push(match dir {
            Direction::In => ((None, b), (Some(i), b)),
            Direction::Out => ((Some(i), b), (None, b)),
        });
    }
    Ok(links)
}

/// The pipeline's declaration: its end children's boxes, copied.
fn own_spec(name: &str, stages: &[Prefab], circular: bool) -> Component {
    let mut spec = Component::bare(name.to_string());
    let (Some(first), Some(last)) = (stages.first(), stages.last()) else {
        return spec;
    };
    let mut copies = vec![(first, Direction::In, "inbox"), (first, Direction::In, "control")];
    if !circular {
        copies.push((last, Direction::Out, "outbox"));
        copies.push((last, Direction::Out, "signal"));
    }
    for (child, dir, box_name) in copies {
        if first_named_is(child.spec(), box_name, dir) {
            spec = spec
                .copy_box(child.spec(), box_name, dir, box_name)
                .expect("cannot fail: the box was just found");
        }
    }
    spec
}

async fn run(cx: Context, name: String, stages: Vec<Prefab>, circular: bool) -> Result<(), ChassisError> {
    let links = {
        let specs: Vec<&Component> = stages.iter().map(Prefab::spec).collect();
        plan(&name, &specs, circular)?
    };
    // Create the children without starting them, wire them, then start them:
    // no child can act (or finish) before it is wired, and if wiring fails the
    // unstarted children are simply dropped (cancelled).
    let dormant: Vec<Dormant> = stages.into_iter().map(|p| p.create_child(&cx)).collect();
    let children: Vec<ComponentRef> = dormant.iter().map(|d| d.component().clone()).collect();
    let me = cx.me().clone();
    for ((src, src_box), (dst, dst_box)) in links {
        let from = match src {
            Some(i) => children[i].any_outbox(src_box)?,
            None => me.any_inbox(src_box)?,
        };
        let to = match dst {
            Some(i) => children[i].any_inbox(dst_box)?,
            None => me.any_outbox(dst_box)?,
        };
        if let Err(e) = link_by_name(&cx, &from, &to) {
            // Declared type names matched but the types differ (two types with
            // one name), or the kernel refused: none of the children starts.
            tracing::error!(pipeline = %name, error = %e, "pipeline linkage failed; its children are not started");
            return Err(e);
        }
    }
    for d in dormant {
        d.activate();
    }
    let mut failed = FirstFailure::default();
    while let Some(exit) = cx.child_exit().await {
        failed.note(
            &name,
            || {
                let i = children.iter().position(|c| *c == exit.child);
                match i {
                    Some(i) => format!("stage {i} ({})", exit.child.name()),
                    None => exit.child.name().to_string(),
                }
            },
            &exit.outcome,
        );
    }
    failed.into_result()
}

/// Build a [`Pipeline`] of the given stages ([`axon::Prefab`]s) and return it
/// as a [`Prefab`](axon::Prefab), so pipelines nest. Write `pipeline![circular: a, b]`
/// for the circular form. The wiring is checked here, as by
/// [`Pipeline::build`]: a miswired pipeline's [`Prefab::build_error`] says
/// why, and running it is an error naming both ends.
///
/// ```
/// use axon::{Component, Prefab, System};
/// use kamaelia::pipeline;
///
/// let numbers = Prefab::new(Component::new("numbers").outbox::<u32>("outbox"), |mut cx| async move {
///     let mut out = cx.outbox::<u32>("outbox")?;
///     for i in 0..3 {
///         out.send(i).await?;
///     }
///     Ok(())
/// });
/// let total = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
/// let t = total.clone();
/// let adder = Prefab::new(Component::new("adder").inbox::<u32>("inbox"), move |mut cx| async move {
///     let mut inbox = cx.inbox::<u32>("inbox")?;
///     while let Ok(x) = inbox.recv().await {
///         t.fetch_add(x, std::sync::atomic::Ordering::SeqCst);
///     }
///     Ok(())
/// });
/// let sys = System::builder().threads(1).build();
/// let p = pipeline![numbers, adder].spawn(&sys);
/// sys.run();
/// assert_eq!(p.outcome(), Some(axon::Outcome::Finished));
/// assert_eq!(total.load(std::sync::atomic::Ordering::SeqCst), 3);
/// ```
#[macro_export]
macro_rules! pipeline {
    (circular: $($stage:expr),+ $(,)?) => {
        $crate::chassis::Pipeline::new()$(.then($stage))+.circular().build()
    };
    ($($stage:expr),+ $(,)?) => {
        $crate::chassis::Pipeline::new()$(.then($stage))+.build()
    };
}
