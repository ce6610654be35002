//! [`data_source`]: send a fixed sequence, then say so (Kamaelia's
//! `DataSource`).
//!
//! Sends every item of an iterator out of `outbox`, waiting for space when the
//! consumer is slow, then `ProducerFinished` out of `signal`, and ends. The
//! iterator is consumed lazily, so it may be long or generated.
//!
//! `ShutdownMicroprocess` (or a `Failed`) at `control` stops it at once, even
//! while it waits for space, and is passed on. `ProducerFinished` at `control`
//! changes nothing: a source has nothing to drain but its own items.

use axon::{Component, Prefab, Signal};

use super::Intake;

/// A component sending each item of `items`, then `ProducerFinished`.
///
/// Boxes: `inbox: ()` (never used), `control` → `outbox: T`, `signal`.
///
/// ```
/// use axon::{Inbox, Signal, System};
/// use kamaelia::util::data_source;
///
/// let sys = System::builder().threads(1).build();
/// let src = data_source(vec!["hello", "world"]).spawn(&sys);
/// let mut got = Inbox::<&str>::detached("got");
/// let mut done = Inbox::<Signal>::detached("done");
/// axon::link(&src.outbox::<&str>("outbox")?, &got.endpoint())?;
/// axon::link(&src.outbox::<Signal>("signal")?, &done.endpoint())?;
/// sys.run();
/// assert_eq!(got.try_recv(), Ok("hello"));
/// assert_eq!(got.try_recv(), Ok("world"));
/// assert_eq!(done.try_recv(), Ok(Signal::ProducerFinished));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn data_source<I>(items: I) -> Prefab
where
    I: IntoIterator,
    I::IntoIter: Send + 'static,
    I::Item: Send + 'static,
{
    let items = items.into_iter();
    Prefab::new(
        Component::new("DataSource").inbox_and_outbox::<(), I::Item>(),
        move |mut cx| async move {
            let mut intake = Intake::<()>::take(&mut cx)?;
            let mut out = cx.outbox::<I::Item>("outbox")?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            for item in items {
                if !intake.send(&mut out, item).await? {
                    break;
                }
            }
            intake.finish(&mut signal).await;
            Ok(())
        },
    )
}
