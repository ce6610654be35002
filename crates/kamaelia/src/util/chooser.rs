//! [`Chooser`] and [`ForwardIteratingChooser`]: step through a set of items on
//! command (Kamaelia's `Chooser` / `ForwardIteratingChooser`).
//!
//! Both send their first item as soon as they start, then one item per
//! [`ChooserCommand`] on `inbox` — a cursor over a list, driven by buttons or
//! any other component. A command that cannot move (`Next` at the end, `Prev`
//! at the start, without looping) sends nothing. An empty set never sends
//! anything.
//!
//! * [`Chooser`] holds a finite list and answers every command; with
//!   [`looping`](Chooser::looping) it wraps round at both ends.
//! * [`ForwardIteratingChooser`] takes any iterator, even an endless one, and
//!   only moves forward: it answers `Same` and `Next` and ignores the rest.
//!   When `Next` finds the iterator finished it sends `ProducerFinished` out
//!   of `signal` and ends.
//!
//! Shutdown follows the [convention](crate::util#boxes-and-the-shutdown-convention)
//! (the reference ignored `ProducerFinished` at `control`; here it ends the
//! chooser once the commands already queued are answered).

use std::str::FromStr;

use axon::{Component, Prefab, Signal};

use super::Intake;

/// A command to a [`Chooser`] or [`ForwardIteratingChooser`]. Parses from the
/// reference's strings (`"SAME"`, `"NEXT"`, `"PREV"`, `"FIRST"`, `"LAST"`).
///
/// ```
/// use kamaelia::util::ChooserCommand;
/// assert_eq!("NEXT".parse(), Ok(ChooserCommand::Next));
/// assert!("SIDEWAYS".parse::<ChooserCommand>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChooserCommand {
    /// Send the current item again.
    Same,
    /// Move forward one and send it.
    Next,
    /// Move back one and send it ([`Chooser`] only).
    Prev,
    /// Move to the first item and send it ([`Chooser`] only).
    First,
    /// Move to the last item and send it ([`Chooser`] only).
    Last,
}

/// A string that is not a [`ChooserCommand`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a chooser command: use SAME, NEXT, PREV, FIRST or LAST")]
pub struct UnknownCommand(pub String);

impl FromStr for ChooserCommand {
    type Err = UnknownCommand;
    fn from_str(s: &str) -> Result<Self, UnknownCommand> {
        Ok(match s {
            "SAME" => ChooserCommand::Same,
            "NEXT" => ChooserCommand::Next,
            "PREV" => ChooserCommand::Prev,
            "FIRST" => ChooserCommand::First,
            "LAST" => ChooserCommand::Last,
            _ => return Err(UnknownCommand(s.to_string())),
        })
    }
}

/// Steps through a finite list of items. Build with [`Chooser::new`], then
/// [`build`](Chooser::build) (or pass it where an `impl Into<Prefab>` goes).
///
/// Boxes: `inbox: ChooserCommand`, `control` → `outbox: T`, `signal`.
///
/// ```
/// use axon::{Outbox, Signal, System};
/// use kamaelia::util::{collector, Chooser, ChooserCommand::*};
///
/// let sys = System::builder().threads(1).build();
/// let chooser = Chooser::new(["a.png", "b.png", "c.png"]).build().spawn(&sys);
/// let (sink, got) = collector::<&str>();
/// let sink = sink.spawn(&sys);
/// axon::link(&chooser.outbox::<&str>("outbox")?, &sink.inbox("inbox")?)?;
/// let mut buttons = Outbox::detached("buttons");
/// axon::link(&buttons.endpoint(), &chooser.inbox("inbox")?)?;
/// for cmd in [Next, Next, Next, Prev, First, Last, Same] {
///     buttons.try_send(cmd)?;
/// }
/// drop(buttons); // no more commands: the chooser ends
/// sys.run();
/// // first item at start; the third Next is past the end and sends nothing
/// assert_eq!(got.take(), ["a.png", "b.png", "c.png", "b.png", "a.png", "c.png", "c.png"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
#[must_use = "a Chooser is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct Chooser<T> {
    items: Vec<T>,
    looping: bool,
}

impl<T: Clone + Send + 'static> Chooser<T> {
    /// A chooser over `items`, starting at the first.
    pub fn new(items: impl IntoIterator<Item = T>) -> Self {
        Chooser {
            items: items.into_iter().collect(),
            looping: false,
        }
    }

    /// Wrap round: `Next` after the last item gives the first, `Prev` before
    /// the first gives the last.
    ///
    /// ```
    /// use axon::{Outbox, System};
    /// use kamaelia::util::{collector, Chooser, ChooserCommand::*};
    ///
    /// let sys = System::builder().threads(1).build();
    /// let chooser = Chooser::new([1, 2]).looping(true).build().spawn(&sys);
    /// let (sink, got) = collector::<i32>();
    /// let sink = sink.spawn(&sys);
    /// axon::link(&chooser.outbox::<i32>("outbox")?, &sink.inbox("inbox")?)?;
    /// let mut cmds = Outbox::detached("cmds");
    /// axon::link(&cmds.endpoint(), &chooser.inbox("inbox")?)?;
    /// for cmd in [Next, Next, Prev] {
    ///     cmds.try_send(cmd)?;
    /// }
    /// drop(cmds);
    /// sys.run();
    /// assert_eq!(got.take(), [1, 2, 1, 2]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn looping(mut self, looping: bool) -> Self {
        self.looping = looping;
        self
    }

    /// The component.
    pub fn build(self) -> Prefab {
        let Chooser { items, looping } = self;
        Prefab::new(
            Component::new("Chooser").inbox_and_outbox::<ChooserCommand, T>(),
            move |mut cx| async move {
                let mut intake = Intake::<ChooserCommand>::take(&mut cx)?;
                let mut out = cx.outbox::<T>("outbox")?;
                let mut signal = cx.outbox::<Signal>("signal")?;
                let last = items.len().checked_sub(1);
                let mut at = 0usize;
                let mut go = !items.is_empty();
                loop {
                    if go && !intake.send(&mut out, items[at].clone()).await? {
                        break;
                    }
                    let Some(cmd) = intake.recv().await else { break };
                    let Some(last) = last else { continue };
                    let to = match cmd {
                        ChooserCommand::Same => Some(at),
                        ChooserCommand::First => Some(0),
                        ChooserCommand::Last => Some(last),
                        ChooserCommand::Next if at < last => Some(at + 1),
                        ChooserCommand::Next => looping.then_some(0),
                        ChooserCommand::Prev if at > 0 => Some(at - 1),
                        ChooserCommand::Prev => looping.then_some(last),
                    };
                    go = to.is_some();
                    at = to.unwrap_or(at);
                }
                intake.finish(&mut signal).await;
                Ok(())
            },
        )
    }
}

impl<T: Clone + Send + 'static> From<Chooser<T>> for Prefab {
    fn from(c: Chooser<T>) -> Prefab {
        c.build()
    }
}

/// Steps forward through any iterator, even an endless one. Build with
/// [`ForwardIteratingChooser::new`], then [`build`](Self::build).
///
/// Boxes: `inbox: ChooserCommand`, `control` → `outbox: T`, `signal`.
///
/// ```
/// use axon::{Outbox, Signal, System};
/// use kamaelia::util::{collector, ChooserCommand::*, ForwardIteratingChooser};
///
/// let sys = System::builder().threads(1).build();
/// let squares = ForwardIteratingChooser::new((1u64..).map(|i| i * i)).build().spawn(&sys);
/// let (sink, got) = collector::<u64>();
/// let sink = sink.spawn(&sys);
/// axon::link(&squares.outbox::<u64>("outbox")?, &sink.inbox("inbox")?)?;
/// let mut cmds = Outbox::detached("cmds");
/// axon::link(&cmds.endpoint(), &squares.inbox("inbox")?)?;
/// for cmd in [Next, Same, Prev, Next] {
///     cmds.try_send(cmd)?; // Prev is ignored
/// }
/// drop(cmds);
/// sys.run();
/// assert_eq!(got.take(), [1, 4, 4, 9]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[must_use = "a ForwardIteratingChooser is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct ForwardIteratingChooser<I> {
    items: I,
}

impl<I> ForwardIteratingChooser<I>
where
    I: Iterator + Send + 'static,
    I::Item: Clone + Send + 'static,
{
    /// A chooser over `items`, starting at the first.
    pub fn new(items: impl IntoIterator<IntoIter = I>) -> Self {
        ForwardIteratingChooser {
            items: items.into_iter(),
        }
    }

    /// The component.
    pub fn build(self) -> Prefab {
        let mut items = self.items;
        Prefab::new(
            Component::new("ForwardIteratingChooser").inbox_and_outbox::<ChooserCommand, I::Item>(),
            move |mut cx| async move {
                let mut intake = Intake::<ChooserCommand>::take(&mut cx)?;
                let mut out = cx.outbox::<I::Item>("outbox")?;
                let mut signal = cx.outbox::<Signal>("signal")?;
                let mut current = items.next();
                let mut go = true;
                loop {
                    if let (true, Some(item)) = (go, &current) {
                        if !intake.send(&mut out, item.clone()).await? {
                            break;
                        }
                    }
                    let Some(cmd) = intake.recv().await else { break };
                    go = match cmd {
                        ChooserCommand::Same => true,
                        ChooserCommand::Next => {
                            current = items.next();
                            if current.is_none() {
                                // The end of the sequence: say so and end.
                                let _ = signal.send(Signal::ProducerFinished).await;
                                return Ok(());
                            }
                            true
                        }
                        other => {
                            tracing::debug!(
                                ?other,
                                "ForwardIteratingChooser only steps forward; command ignored"
                            );
                            false
                        }
                    };
                }
                intake.finish(&mut signal).await;
                Ok(())
            },
        )
    }
}

impl<I> From<ForwardIteratingChooser<I>> for Prefab
where
    I: Iterator + Send + 'static,
    I::Item: Clone + Send + 'static,
{
    fn from(c: ForwardIteratingChooser<I>) -> Prefab {
        c.build()
    }
}
