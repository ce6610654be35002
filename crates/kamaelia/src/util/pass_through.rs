//! [`pass_through`]: forward every message unchanged (Kamaelia's
//! `PassThrough`).
//!
//! A stand-in where a system expects a component that would process the data
//! (an echo "protocol" for a server, a placeholder stage in a pipeline), and
//! a way to give a group of components one entry point. Shutdown follows the
//! [convention](crate::util#boxes-and-the-shutdown-convention); unlike the
//! reference, a `ProducerFinished` lets what is already in `inbox` through
//! before it ends instead of dropping it.

use axon::{Component, Prefab, Signal};

use super::Intake;

/// A component sending on out of `outbox` every message it receives, in order.
///
/// Boxes: `inbox: T`, `control` → `outbox: T`, `signal`.
///
/// ```
/// use axon::{Signal, System};
/// use kamaelia::util::{collector, data_source, pass_through};
///
/// let sys = System::builder().threads(1).build();
/// let src = data_source(["apples", "pears"]).spawn(&sys);
/// let pass = pass_through::<&str>().spawn(&sys);
/// let (sink, got) = collector::<&str>();
/// let sink = sink.spawn(&sys);
/// for (a, b) in [(&src, &pass), (&pass, &sink)] {
///     axon::link(&a.outbox::<&str>("outbox")?, &b.inbox("inbox")?)?;
///     axon::link(&a.outbox::<Signal>("signal")?, &b.inbox("control")?)?;
/// }
/// sys.run();
/// assert_eq!(got.take(), ["apples", "pears"]);
/// assert_eq!(got.ending(), Some(Signal::ProducerFinished));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn pass_through<T: Send + 'static>() -> Prefab {
    Prefab::new(
        Component::new("PassThrough").inbox_and_outbox::<T, T>(),
        |mut cx| async move {
            let mut intake = Intake::<T>::take(&mut cx)?;
            let mut out = cx.outbox::<T>("outbox")?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            while let Some(x) = intake.recv().await {
                if !intake.send(&mut out, x).await? {
                    break;
                }
            }
            intake.finish(&mut signal).await;
            Ok(())
        },
    )
}
