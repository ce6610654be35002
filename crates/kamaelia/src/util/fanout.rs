//! [`fanout`]: copy every message to a fixed set of named outboxes
//! (Kamaelia's `Fanout`).
//!
//! A box links to one destination only, so one-to-many is a component's job.
//! `fanout` is the static form: the outbox names are given when it is made,
//! and each message received is cloned to each of them, in the order named.
//! For sinks that come and go while running, use [`Splitter`](super::Splitter).
//!
//! Sends wait for space, so the slowest destination sets the pace; nothing is
//! dropped. A named outbox not linked anywhere holds its copies until it is.
//! The usual `outbox` is not sent to (unless named). Shutdown follows the
//! [convention](crate::util#boxes-and-the-shutdown-convention).

use axon::{Component, Prefab, Signal};

use super::Intake;

/// A component copying each message to each of the outboxes `names`.
///
/// Boxes: `inbox: T`, `control` → one `T` outbox per name, `outbox: T`
/// (unused unless named), `signal`. The name `signal` is reserved for the
/// shutdown signal and is left out (with a warning) if given.
///
/// ```
/// use axon::{Outbox, Inbox, System};
/// use kamaelia::util::fanout;
///
/// let sys = System::builder().threads(1).build();
/// let split = fanout::<String>(["toConsole", "toFile"]).spawn(&sys);
/// let mut console = Inbox::<String>::detached("console");
/// let mut file = Inbox::<String>::detached("file");
/// axon::link(&split.outbox::<String>("toConsole")?, &console.endpoint())?;
/// axon::link(&split.outbox::<String>("toFile")?, &file.endpoint())?;
/// let mut feed = Outbox::<String>::detached("feed");
/// axon::link(&feed.endpoint(), &split.inbox("inbox")?)?;
/// feed.try_send("hello".to_string())?;
/// drop(feed);
/// sys.run();
/// assert_eq!(console.try_recv().as_deref(), Ok("hello"));
/// assert_eq!(file.try_recv().as_deref(), Ok("hello"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn fanout<T: Clone + Send + 'static>(names: impl IntoIterator<Item = impl Into<String>>) -> Prefab {
    let mut names: Vec<String> = names.into_iter().map(Into::into).collect();
    names.retain(|n| {
        let reserved = n == "signal";
        if reserved {
            tracing::warn!(
                "fanout: the outbox name \"signal\" is reserved for shutdown signals; not fanning out to it"
            );
        }
        !reserved
    });
    let mut spec = Component::new("Fanout").inbox_and_outbox::<T, T>();
    for n in &names {
        spec = spec.outbox::<T>(n.clone());
    }
    Prefab::new(spec, move |mut cx| async move {
        let mut intake = Intake::<T>::take(&mut cx)?;
        let mut signal = cx.outbox::<Signal>("signal")?;
        let mut outs = Vec::with_capacity(names.len());
        for n in &names {
            // A name given twice is one box: send to it once.
            if let Ok(o) = cx.outbox::<T>(n) {
                outs.push(o);
            }
        }
        'run: while let Some(x) = intake.recv().await {
            if let Some((last, rest)) = outs.split_last_mut() {
                for o in rest {
                    if !intake.send(o, x.clone()).await? {
                        break 'run;
                    }
                }
                if !intake.send(last, x).await? {
                    break 'run;
                }
            }
        }
        intake.finish(&mut signal).await;
        Ok(())
    })
}
