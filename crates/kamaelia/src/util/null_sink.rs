//! [`null_sink`]: receive and discard (Kamaelia's `NullSink`).
//!
//! Useful to terminate a chain whose output nobody wants: messages are
//! consumed (so senders are not held up), and the shutdown signal is still
//! passed on out of `signal` by the
//! [convention](crate::util#boxes-and-the-shutdown-convention).

use axon::{Component, Prefab, Signal};

use super::Intake;

/// A component that receives every message on `inbox` and drops it.
///
/// Boxes: `inbox: T`, `control` → `outbox: T` (never used), `signal`.
///
/// ```
/// use axon::{Inbox, Signal, System};
/// use kamaelia::util::{data_source, null_sink};
///
/// let sys = System::builder().threads(1).build();
/// let src = data_source(0..1000u32).spawn(&sys);
/// let sink = null_sink::<u32>().spawn(&sys);
/// let mut done = Inbox::<Signal>::detached("done");
/// axon::link(&src.outbox::<u32>("outbox")?, &sink.inbox("inbox")?)?;
/// axon::link(&src.outbox::<Signal>("signal")?, &sink.inbox("control")?)?;
/// axon::link(&sink.outbox::<Signal>("signal")?, &done.endpoint())?;
/// sys.run();
/// assert_eq!(done.try_recv(), Ok(Signal::ProducerFinished));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn null_sink<T: Send + 'static>() -> Prefab {
    Prefab::new(
        Component::new("NullSink").inbox_and_outbox::<T, T>(),
        |mut cx| async move {
            let mut intake = Intake::<T>::take(&mut cx)?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            while intake.recv().await.is_some() {}
            intake.finish(&mut signal).await;
            Ok(())
        },
    )
}
