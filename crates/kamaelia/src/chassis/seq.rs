//! [`Seq`]: children run one after another, each in turn given the chassis'
//! `inbox` and `outbox`.
//!
//! The current child's `inbox` is fed from the Seq's own `inbox` (an
//! inbox→inbox linkage) and its `outbox` comes out of the Seq's own `outbox`
//! (outbox→outbox). When it ends, those linkages are removed and the next child
//! starts. A child's `signal` is not passed on, so a child saying "finished"
//! does not stop the components downstream while later children still have
//! things to say; when the last child has ended the Seq sends
//! [`Signal::ProducerFinished`] out of `signal` and ends. Its `control` is
//! ignored (as in Kamaelia). Text items ([`Seq::say`]) are printed to stdout
//! when their turn comes.
//!
//! All children must agree on their `inbox` and `outbox` message types (each
//! may lack either box); the Seq's own boxes copy them. A disagreement is a
//! [`ChassisError::TypeMismatch`], from [`Seq::check`] or when the Seq runs.
//!
//! Messages sent to the Seq's `inbox` in the instant after one child ended and
//! before the next is linked may be refused as `Closed` (the ended child's inbox),
//! as in Kamaelia where they were lost.
//!
//! ```
//! use axon::{Component, Inbox, Prefab, Signal, System};
//! use kamaelia::chassis::Seq;
//!
//! fn one_shot(text: &'static str) -> Prefab {
//!     Prefab::new(Component::new("one-shot").outbox::<String>("outbox"), move |mut cx| async move {
//!         cx.outbox::<String>("outbox")?.send(text.to_string()).await?;
//!         Ok(())
//!     })
//! }
//! let seq = Seq::new().then(one_shot("Hello")).then(one_shot("Doctor")).then(one_shot("Name")).build();
//! let sys = System::builder().threads(1).build();
//! let seq = seq.spawn(&sys);
//! let mut out = Inbox::<String>::detached("out");
//! let mut signal = Inbox::<Signal>::detached("signal");
//! axon::link(&seq.outbox("outbox").unwrap(), &out.endpoint()).unwrap();
//! axon::link(&seq.outbox("signal").unwrap(), &signal.endpoint()).unwrap();
//! sys.run();
//! let got: Vec<String> = std::iter::from_fn(|| out.try_recv().ok()).collect();
//! assert_eq!(got, ["Hello", "Doctor", "Name"]);
//! assert_eq!(signal.try_recv(), Ok(Signal::ProducerFinished));
//! ```

use axon::{Component, Context, Direction, Prefab, Signal};

use super::{box_type, first_named_is, link_by_name, send_quietly, ChassisError};

/// One item of a sequence.
#[derive(Debug)]
enum Item {
    Run(Prefab),
    Say(String),
}

/// Builds a Seq: add children with [`then`](Seq::then), finish with
/// [`build`](Seq::build).
#[derive(Debug)]
#[must_use = "a Seq is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct Seq {
    name: String,
    items: Vec<Item>,
}

impl Default for Seq {
    fn default() -> Self {
        Seq::new()
    }
}

/// A Seq goes wherever a child or stage is taken, as [`build`](Seq::build) would make it.
impl From<Seq> for Prefab {
    fn from(c: Seq) -> Prefab {
        c.build()
    }
}

impl FromIterator<Prefab> for Seq {
    fn from_iter<I: IntoIterator<Item = Prefab>>(iter: I) -> Self {
        iter.into_iter().fold(Seq::new(), Seq::then)
    }
}

impl Seq {
    /// An empty sequence named `"Seq"`.
    pub fn new() -> Self {
        Seq {
            name: "Seq".to_string(),
            items: Vec::new(),
        }
    }

    /// Name the Seq component.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Run `child` after the items before it.
    pub fn then(mut self, child: impl Into<Prefab>) -> Self {
        let child = child.into();
        self.items.push(Item::Run(child));
        self
    }

    /// Print `text` (a line on stdout) when its turn comes.
    pub fn say(mut self, text: impl Into<String>) -> Self {
        self.items.push(Item::Say(text.into()));
        self
    }

    /// Check that the children agree on their `inbox` and `outbox` types.
    pub fn check(&self) -> Result<(), ChassisError> {
        check(&self.items).map(|_| ())
    }

    /// [`check`](Self::check), then [`build`](Self::build).
    pub fn try_build(self) -> Result<Prefab, ChassisError> {
        self.check()?;
        Ok(self.build())
    }

    /// The Seq as a component ready to run.
    pub fn build(self) -> Prefab {
        let Seq { name, items } = self;
        let mut spec = Component::new(name);
        if let Ok((inbox_from, outbox_from)) = check(&items) {
            for (from, dir, b) in [
                (inbox_from, Direction::In, "inbox"),
                (outbox_from, Direction::Out, "outbox"),
            ] {
                if let Some(Item::Run(p)) = from.map(|i| &items[i]) {
                    spec = spec
                        .copy_box(p.spec(), b, dir, b)
                        .expect("cannot fail: the check found this box");
                }
            }
        }
        Prefab::new(spec, move |cx| async move { Ok(run(cx, items).await?) })
    }
}

/// Which child the Seq's `inbox` and `outbox` types come from.
type Sources = (Option<usize>, Option<usize>);

fn check(items: &[Item]) -> Result<Sources, ChassisError> {
    let mut found: [Option<(usize, &'static str)>; 2] = [None, None];
    for (i, item) in items.iter().enumerate() {
        let Item::Run(p) = item else { continue };
        for (k, (dir, b)) in [(Direction::In, "inbox"), (Direction::Out, "outbox")]
            .into_iter()
            .enumerate()
        {
            let Some(t) = box_type(p.spec(), dir, b) else {
                continue;
            };
            if !first_named_is(p.spec(), b, dir) {
                return Err(ChassisError::AmbiguousBox {
                    component: p.name().to_string(),
                    name: b.to_string(),
                    dir,
                });
            }
            match found[k] {
                None => found[k] = Some((i, t)),
                Some((j, t0)) if t0 != t => {
                    let label = |n: usize| match &items[n] {
                        Item::Run(p) => format!("child {n} ({}).{b}", p.name()),
                        Item::Say(_) => unreachable!("only children have boxes"),
                    };
                    return Err(ChassisError::TypeMismatch {
                        source_box: label(j),
                        source_type: t0,
                        sink: label(i),
                        sink_type: t,
                    });
                }
                Some(_) => {}
            }
        }
    }
    Ok((found[0].map(|f| f.0), found[1].map(|f| f.0)))
}

async fn run(mut cx: Context, items: Vec<Item>) -> Result<(), ChassisError> {
    check(&items)?;
    let mut signal = cx.outbox::<Signal>("signal")?;
    let me = cx.me().clone();
    for item in items {
        let child = match item {
            Item::Say(text) => {
                println!("{text}");
                continue;
            }
            Item::Run(p) => p.spawn_child(&cx),
        };
        if child.any_inbox("inbox").is_ok() {
            link_by_name(&cx, &me.any_inbox("inbox")?, &child.any_inbox("inbox")?)?;
        }
        if child.any_outbox("outbox").is_ok() {
            link_by_name(&cx, &child.any_outbox("outbox")?, &me.any_outbox("outbox")?)?;
        }
        // Wait for this child (the only one) to end; the kernel removes the
        // linkages this Seq made to it when we forget it.
        while let Some(exit) = cx.child_exit().await {
            if exit.child == child {
                break;
            }
        }
        cx.remove_child(&child);
    }
    send_quietly(&mut signal, Signal::ProducerFinished).await;
    Ok(())
}
