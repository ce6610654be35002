//! [`two_way_splitter`]: every message to two places, signals included
//! (Kamaelia's `TwoWaySplitter`).
//!
//! Each message on `inbox` goes out of `outbox` (a clone) and `outbox2` (the
//! original), in that order, waiting for space at either, so size-limited
//! destinations get everything. The signal that ends it goes out of both
//! `signal` and `signal2`, so shutdown reaches both branches. Otherwise the
//! [convention](crate::util#boxes-and-the-shutdown-convention): on
//! `ProducerFinished` what is queued goes through first. For more than two
//! destinations, or destinations that change while running, see
//! [`fanout`](fn@super::fanout) and [`Splitter`](super::Splitter).

use axon::{Component, Prefab, Signal};

use super::Intake;

/// A component copying each message to `outbox` and `outbox2`.
///
/// Boxes: `inbox: T`, `control` → `outbox: T`, `outbox2: T`, `signal`,
/// `signal2`.
///
/// ```
/// use axon::{Signal, System};
/// use kamaelia::util::{collector, data_source, two_way_splitter};
///
/// let sys = System::builder().threads(1).build();
/// let src = data_source([1u32, 2, 3]).spawn(&sys);
/// let split = two_way_splitter::<u32>().spawn(&sys);
/// let (left, got_left) = collector::<u32>();
/// let (right, got_right) = collector::<u32>();
/// let (left, right) = (left.spawn(&sys), right.spawn(&sys));
/// axon::link(&src.outbox::<u32>("outbox")?, &split.inbox("inbox")?)?;
/// axon::link(&src.outbox::<Signal>("signal")?, &split.inbox("control")?)?;
/// for (out, sig, dst) in [("outbox", "signal", &left), ("outbox2", "signal2", &right)] {
///     axon::link(&split.outbox::<u32>(out)?, &dst.inbox("inbox")?)?;
///     axon::link(&split.outbox::<Signal>(sig)?, &dst.inbox("control")?)?;
/// }
/// sys.run();
/// assert_eq!(got_left.take(), [1, 2, 3]);
/// assert_eq!(got_right.take(), [1, 2, 3]);
/// assert_eq!(got_right.ending(), Some(Signal::ProducerFinished));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn two_way_splitter<T: Clone + Send + 'static>() -> Prefab {
    let spec = Component::new("TwoWaySplitter")
        .inbox_and_outbox::<T, T>()
        .outbox::<T>("outbox2")
        .outbox::<Signal>("signal2");
    Prefab::new(spec, |mut cx| async move {
        let mut intake = Intake::<T>::take(&mut cx)?;
        let mut out = cx.outbox::<T>("outbox")?;
        let mut out2 = cx.outbox::<T>("outbox2")?;
        let mut signal = cx.outbox::<Signal>("signal")?;
        let mut signal2 = cx.outbox::<Signal>("signal2")?;
        while let Some(x) = intake.recv().await {
            if !intake.send(&mut out, x.clone()).await? || !intake.send(&mut out2, x).await? {
                break;
            }
        }
        let why = intake.ending().cloned().unwrap_or(Signal::ProducerFinished);
        let _ = signal2.send(why).await; // nobody listening is not a failure
        intake.finish(&mut signal).await;
        Ok(())
    })
}
