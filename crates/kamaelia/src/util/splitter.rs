//! [`Splitter`]: copy every message to sinks that are added and removed while
//! it runs (Kamaelia's `Splitter`/`PlugSplitter`).
//!
//! A box links to one destination only; the splitter is the one-to-many
//! component. Each message from `inbox` goes to every sink (and out of its own
//! `outbox` too, if asked: [`Splitter::copy_to_outbox`]). Sinks are named by component and inbox in
//! [`SplitterCommand`]s sent to the `configuration` inbox: for each sink the
//! splitter adds an outbox of its own ([`Context::add_outbox`]) and links it;
//! removing the sink removes that outbox ([`Context::remove_box`]), which also
//! unlinks it. Commands waiting at `configuration` are applied before the next
//! message is split.
//!
//! A sink may also name a control inbox: when the splitter ends, the signal it
//! ends on goes there as well as out of `signal`, so subscribers shut down with
//! the source.
//!
//! Sends wait for space, so the slowest sink sets the pace; nothing is dropped.
//! A sink whose component has ended (its inbox closed) is removed
//! automatically. A removed sink no longer counts the splitter as a sender, so
//! if the splitter was its only sender its inbox closes — and a sink following
//! the convention ends. Bad commands (no such box, wrong message type, removing
//! a sink that is not there) are reported as a [`SplitterError`] on the `error`
//! outbox. Shutdown follows the
//! [convention](crate::util#boxes-and-the-shutdown-convention).
//!
//! [`Context::add_outbox`]: axon::Context::add_outbox
//! [`Context::remove_box`]: axon::Context::remove_box

use std::future::poll_fn;
use std::marker::PhantomData;
use std::task::Poll;

use axon::{BoxError, Component, ComponentRef, Context, Direction, LinkError, Outbox, Prefab, Signal};

use super::intake::{error_outbox, report};
use super::Intake;

/// A request to a [`Splitter`]'s `configuration` inbox (Kamaelia's
/// `addsink` / `removesink`).
///
/// A sink is identified by its component and box names; `inbox` is the box
/// that receives copies of the data, `control` the box that receives the
/// splitter's final signal. Either may be left out.
///
/// ```
/// # let sys = axon::System::builder().threads(1).build();
/// # let sink = kamaelia::util::null_sink::<u8>().spawn(&sys);
/// use kamaelia::util::SplitterCommand;
/// // Kamaelia's addsink(sink, "inbox", "control"):
/// let add = SplitterCommand::AddSink {
///     component: sink.clone(),
///     inbox: Some("inbox".into()),
///     control: Some("control".into()),
/// };
/// # drop(add);
/// ```
#[derive(Debug, Clone)]
pub enum SplitterCommand {
    /// Start copying to these boxes.
    AddSink {
        /// The sink component.
        component: ComponentRef,
        /// Its inbox for data (carrying the splitter's message type).
        inbox: Option<String>,
        /// Its inbox for the splitter's shutdown signal (carrying `Signal`).
        control: Option<String>,
    },
    /// Stop copying to these boxes.
    RemoveSink {
        /// The sink component.
        component: ComponentRef,
        /// The data inbox it was added with.
        inbox: Option<String>,
        /// The control inbox it was added with.
        control: Option<String>,
    },
}

impl SplitterCommand {
    /// Copy data to `component`'s `inbox`.
    ///
    /// ```
    /// # let sys = axon::System::builder().threads(1).build();
    /// # let c = kamaelia::util::null_sink::<u8>().spawn(&sys);
    /// use kamaelia::util::SplitterCommand;
    /// let cmd = SplitterCommand::add(&c);
    /// assert!(matches!(cmd, SplitterCommand::AddSink { control: None, .. }));
    /// # drop(c);
    /// ```
    pub fn add(component: &ComponentRef) -> Self {
        SplitterCommand::AddSink {
            component: component.clone(),
            inbox: Some("inbox".into()),
            control: None,
        }
    }

    /// Copy data to `component`'s `inbox` and the final signal to its
    /// `control`.
    ///
    /// ```
    /// # let sys = axon::System::builder().threads(1).build();
    /// # let c = kamaelia::util::null_sink::<u8>().spawn(&sys);
    /// use kamaelia::util::SplitterCommand;
    /// let cmd = SplitterCommand::add_with_control(&c);
    /// assert!(matches!(cmd, SplitterCommand::AddSink { control: Some(_), .. }));
    /// # drop(c);
    /// ```
    pub fn add_with_control(component: &ComponentRef) -> Self {
        SplitterCommand::AddSink {
            component: component.clone(),
            inbox: Some("inbox".into()),
            control: Some("control".into()),
        }
    }

    /// Stop copying to `component`'s `inbox`.
    ///
    /// ```
    /// # let sys = axon::System::builder().threads(1).build();
    /// # let c = kamaelia::util::null_sink::<u8>().spawn(&sys);
    /// use kamaelia::util::SplitterCommand;
    /// let cmd = SplitterCommand::remove(&c);
    /// assert!(matches!(cmd, SplitterCommand::RemoveSink { .. }));
    /// # drop(c);
    /// ```
    pub fn remove(component: &ComponentRef) -> Self {
        SplitterCommand::RemoveSink {
            component: component.clone(),
            inbox: Some("inbox".into()),
            control: None,
        }
    }

    /// Stop copying to `component`'s `inbox` and `control`.
    ///
    /// ```
    /// # let sys = axon::System::builder().threads(1).build();
    /// # let c = kamaelia::util::null_sink::<u8>().spawn(&sys);
    /// use kamaelia::util::SplitterCommand;
    /// let cmd = SplitterCommand::remove_with_control(&c);
    /// assert!(matches!(cmd, SplitterCommand::RemoveSink { control: Some(_), .. }));
    /// # drop(c);
    /// ```
    pub fn remove_with_control(component: &ComponentRef) -> Self {
        SplitterCommand::RemoveSink {
            component: component.clone(),
            inbox: Some("inbox".into()),
            control: Some("control".into()),
        }
    }
}

/// A [`SplitterCommand`] that could not be carried out.
///
/// ```
/// use kamaelia::util::SplitterError;
/// let e = SplitterError::NotASink { component: "sink".into(), inbox: "inbox".into() };
/// assert!(e.to_string().contains("sink.inbox is not a sink"), "{e}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SplitterError {
    /// The named box does not exist or carries another message type.
    #[error("splitter sink: {0}")]
    Box(#[from] BoxError),
    /// The sink could not be linked.
    #[error("splitter sink: {0}")]
    Link(#[from] LinkError),
    /// Removing a sink that is not there.
    #[error("splitter: {component}.{inbox} is not a sink, nothing to remove")]
    NotASink {
        /// The component named.
        component: String,
        /// The box named.
        inbox: String,
    },
    /// Adding a sink that is already there.
    #[error("splitter: {component}.{inbox} is already a sink (it would get every message twice); ignored")]
    AlreadyASink {
        /// The component named.
        component: String,
        /// The box named.
        inbox: String,
    },
}

/// One destination: the outbox added for it, and what it is linked to.
struct Sink<U: Send + 'static> {
    component: ComponentRef,
    target: String,
    box_name: String,
    out: Outbox<U>,
}

impl<U: Send + 'static> Sink<U> {
    fn is(&self, component: &ComponentRef, target: &str) -> bool {
        &self.component == component && self.target == target
    }
}

/// Add a sink for `component.target`, unless it is there already.
fn add_sink<U: Send + 'static>(
    cx: &mut Context,
    sinks: &mut Vec<Sink<U>>,
    component: &ComponentRef,
    target: &str,
) -> Result<(), SplitterError> {
    if sinks.iter().any(|s| s.is(component, target)) {
        return Err(SplitterError::AlreadyASink {
            component: component.name().to_string(),
            inbox: target.to_string(),
        });
    }
    let dest = component.inbox::<U>(target)?;
    let (box_name, out) = cx.add_outbox::<U>(&format!("{}-{}", component.name(), target));
    if let Err(e) = cx.link(&out.endpoint(), &dest) {
        drop(out);
        let _ = cx.remove_box(Direction::Out, &box_name);
        return Err(e.into());
    }
    sinks.push(Sink {
        component: component.clone(),
        target: target.to_string(),
        box_name,
        out,
    });
    Ok(())
}

/// Drop a sink: its outbox goes, with the linkage.
fn drop_sink<U: Send + 'static>(cx: &mut Context, sink: Sink<U>) {
    let Sink { box_name, out, .. } = sink;
    let _ = cx.remove_box(Direction::Out, &box_name);
    drop(out);
}

fn remove_sink<U: Send + 'static>(
    cx: &mut Context,
    sinks: &mut Vec<Sink<U>>,
    component: &ComponentRef,
    target: &str,
) -> Result<(), SplitterError> {
    match sinks.iter().position(|s| s.is(component, target)) {
        Some(i) => {
            drop_sink(cx, sinks.remove(i));
            Ok(())
        }
        None => Err(SplitterError::NotASink {
            component: component.name().to_string(),
            inbox: target.to_string(),
        }),
    }
}

/// The one-to-many component (see the [module docs](self)).
///
/// Boxes: `inbox: T`, `control`, `configuration: SplitterCommand` →
/// `outbox: T` (only with [`copy_to_outbox`](Self::copy_to_outbox)), `signal`,
/// `error: SplitterError`, plus one outbox per sink.
///
/// ```
/// use axon::{Outbox, Signal, System};
/// use kamaelia::util::{collector, Splitter, SplitterCommand};
/// use std::time::Duration;
///
/// let sys = System::builder().threads(1).build();
/// let running = sys.start();
/// let split = Splitter::<u32>::new().build().spawn(&sys);
/// let (a, got_a) = collector::<u32>();
/// let (b, got_b) = collector::<u32>();
/// let (a, b) = (a.spawn(&sys), b.spawn(&sys));
/// let mut config = Outbox::<SplitterCommand>::detached("config");
/// let mut feed = Outbox::<u32>::detached("feed");
/// axon::link(&config.endpoint(), &split.inbox("configuration")?)?;
/// axon::link(&feed.endpoint(), &split.inbox("inbox")?)?;
///
/// config.try_send(SplitterCommand::add_with_control(&a))?;
/// config.try_send(SplitterCommand::add_with_control(&b))?;
/// feed.try_send(1)?;
/// assert!(got_b.wait_for(1, Duration::from_secs(10)));
/// config.try_send(SplitterCommand::remove_with_control(&b))?; // b's only sender goes: b ends
/// feed.try_send(2)?;
/// drop(feed); // the splitter ends, and tells a through its control inbox
/// drop(config);
/// running.wait();
/// assert_eq!(got_a.take(), [1, 2]);
/// assert_eq!(got_b.take(), [1]);
/// assert_eq!(got_a.ending(), Some(Signal::ProducerFinished));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a Splitter is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct Splitter<T> {
    copy_to_outbox: bool,
    _t: PhantomData<fn(T)>,
}

impl<T> std::fmt::Debug for Splitter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Splitter")
            .field("type", &std::any::type_name::<T>())
            .field("copy_to_outbox", &self.copy_to_outbox)
            .finish()
    }
}

impl<T: Clone + Send + 'static> Default for Splitter<T> {
    fn default() -> Self {
        Splitter::new()
    }
}

impl<T: Clone + Send + 'static> Splitter<T> {
    /// A splitter for messages of type `T`.
    ///
    /// ```
    /// use kamaelia::util::Splitter;
    /// assert_eq!(Splitter::<String>::new().build().name(), "Splitter");
    /// ```
    pub fn new() -> Self {
        Splitter {
            copy_to_outbox: false,
            _t: PhantomData,
        }
    }

    /// Also send every message out of the splitter's own `outbox`, as
    /// Kamaelia's `PlugSplitter` always does (default: no). Off by default
    /// because an outbox that is not linked holds what is sent on it rather
    /// than dropping it: a splitter used only through its sinks would keep a
    /// copy of everything.
    ///
    /// ```
    /// use axon::{Inbox, Outbox, System};
    /// use kamaelia::util::Splitter;
    ///
    /// let sys = System::builder().threads(1).build();
    /// let split = Splitter::<u8>::new().copy_to_outbox(true).build().spawn(&sys);
    /// let mut own = Inbox::<u8>::detached("own");
    /// axon::link(&split.outbox::<u8>("outbox")?, &own.endpoint())?;
    /// let mut feed = Outbox::<u8>::detached("feed");
    /// axon::link(&feed.endpoint(), &split.inbox("inbox")?)?;
    /// feed.try_send(5)?;
    /// drop(feed);
    /// sys.run();
    /// assert_eq!(own.try_recv(), Ok(5));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn copy_to_outbox(mut self, copy: bool) -> Self {
        self.copy_to_outbox = copy;
        self
    }

    /// The component, ready to spawn.
    ///
    /// ```
    /// use kamaelia::util::Splitter;
    /// let prefab = Splitter::<u8>::default().build();
    /// # drop(prefab);
    /// ```
    pub fn build(self) -> Prefab {
        let spec = Component::new("Splitter")
            .inbox_and_outbox::<T, T>()
            .inbox::<SplitterCommand>("configuration")
            .outbox::<SplitterError>("error");
        let copy_to_outbox = self.copy_to_outbox;
        Prefab::new(spec, move |mut cx| async move {
            let mut intake = Intake::<T>::take(&mut cx)?;
            let mut config = cx.inbox::<SplitterCommand>("configuration")?;
            let main = cx.outbox::<T>("outbox")?;
            let mut main = copy_to_outbox.then_some(main);
            let mut errors = error_outbox::<SplitterError>(&mut cx)?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            let mut data_sinks: Vec<Sink<T>> = Vec::new();
            let mut control_sinks: Vec<Sink<Signal>> = Vec::new();
            enum Next<T> {
                Command(SplitterCommand),
                Data(T),
                End,
            }
            loop {
                let next = poll_fn(|tcx| {
                    if let Poll::Ready(Ok(cmd)) = config.poll_recv(tcx) {
                        return Poll::Ready(Next::Command(cmd));
                    }
                    intake.poll_recv(tcx).map(|m| m.map_or(Next::End, Next::Data))
                })
                .await;
                match next {
                    Next::Command(SplitterCommand::AddSink {
                        component,
                        inbox,
                        control,
                    }) => {
                        let mut results = Vec::new();
                        if let Some(b) = inbox {
                            results.push(add_sink(&mut cx, &mut data_sinks, &component, &b));
                        }
                        if let Some(b) = control {
                            results.push(add_sink(&mut cx, &mut control_sinks, &component, &b));
                        }
                        for e in results.into_iter().filter_map(Result::err) {
                            tracing::debug!(error = %e, "Splitter: command refused");
                            report(&mut errors, e);
                        }
                    }
                    Next::Command(SplitterCommand::RemoveSink {
                        component,
                        inbox,
                        control,
                    }) => {
                        let mut results = Vec::new();
                        if let Some(b) = inbox {
                            results.push(remove_sink(&mut cx, &mut data_sinks, &component, &b));
                        }
                        if let Some(b) = control {
                            results.push(remove_sink(&mut cx, &mut control_sinks, &component, &b));
                        }
                        for e in results.into_iter().filter_map(Result::err) {
                            tracing::debug!(error = %e, "Splitter: command refused");
                            report(&mut errors, e);
                        }
                    }
                    Next::Data(x) => {
                        if let Some(out) = main.as_mut() {
                            match intake.send(out, x.clone()).await {
                                Ok(true) => {}
                                Ok(false) => break,
                                // No one at the end of our own outbox any more:
                                // carry on for the sinks.
                                Err(_) => main = None,
                            }
                        }
                        let mut i = 0;
                        while i < data_sinks.len() {
                            match intake.send(&mut data_sinks[i].out, x.clone()).await {
                                Ok(true) => i += 1,
                                Ok(false) => break,
                                Err(_) => {
                                    // The sink's component has ended.
                                    let gone = data_sinks.remove(i);
                                    tracing::debug!(sink = %gone.box_name, "Splitter: sink closed, removed");
                                    drop_sink(&mut cx, gone);
                                }
                            }
                        }
                        if intake.is_ended() {
                            break;
                        }
                    }
                    Next::End => break,
                }
            }
            let ending = intake.ending().cloned().unwrap_or(Signal::ProducerFinished);
            for mut s in control_sinks {
                let _ = s.out.send(ending.clone()).await;
                drop_sink(&mut cx, s);
            }
            intake.finish(&mut signal).await;
            Ok(())
        })
    }
}

impl<T: Clone + Send + 'static> From<Splitter<T>> for Prefab {
    fn from(s: Splitter<T>) -> Prefab {
        s.build()
    }
}
