//! [`filter`]: pass on only the messages a predicate accepts.
//!
//! Kamaelia's `Filter` takes an object whose method returns the message or
//! nothing; a transforming filter is [`pure_transformer`](super::pure_transformer)
//! here, and `filter` is the plain predicate case. Shutdown follows the
//! [convention](crate::util#boxes-and-the-shutdown-convention).

use axon::{Component, Prefab, Signal};

use super::Intake;

/// A component forwarding each message for which `keep` returns true and
/// dropping the others.
///
/// Boxes: `inbox: T`, `control` → `outbox: T`, `signal`.
///
/// ```
/// use axon::{Signal, System};
/// use kamaelia::util::{collector, data_source, filter};
///
/// let sys = System::builder().threads(1).build();
/// let src = data_source(1..=10u32).spawn(&sys);
/// let evens = filter(|x: &u32| x % 2 == 0).spawn(&sys);
/// let (sink, got) = collector::<u32>();
/// let sink = sink.spawn(&sys);
/// axon::link(&src.outbox::<u32>("outbox")?, &evens.inbox("inbox")?)?;
/// axon::link(&src.outbox::<Signal>("signal")?, &evens.inbox("control")?)?;
/// axon::link(&evens.outbox::<u32>("outbox")?, &sink.inbox("inbox")?)?;
/// sys.run();
/// assert_eq!(got.take(), [2, 4, 6, 8, 10]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn filter<T, F>(keep: F) -> Prefab
where
    T: Send + 'static,
    F: FnMut(&T) -> bool + Send + 'static,
{
    Prefab::new(
        Component::new("Filter").inbox_and_outbox::<T, T>(),
        move |mut cx| async move {
            let mut keep = keep;
            let mut intake = Intake::<T>::take(&mut cx)?;
            let mut out = cx.outbox::<T>("outbox")?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            while let Some(x) = intake.recv().await {
                if keep(&x) {
                    intake.send(&mut out, x).await?;
                }
            }
            intake.finish(&mut signal).await;
            Ok(())
        },
    )
}
