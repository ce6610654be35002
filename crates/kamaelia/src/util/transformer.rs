//! [`pure_transformer`]: apply a function to every message (Kamaelia's
//! `PureTransformer`).
//!
//! The function gets each message from `inbox` by value and returns
//! `Some(output)` to send on `outbox`, or `None` to send nothing for that
//! message. It may keep state (`FnMut`). Shutdown follows the
//! [convention](crate::util#boxes-and-the-shutdown-convention).

use axon::{Component, Prefab, Signal};

use super::Intake;

/// A component sending `f(message)` for each message received, skipping
/// `None`s.
///
/// Boxes: `inbox: T`, `control` → `outbox: U`, `signal`.
///
/// ```
/// use axon::{Signal, System};
/// use kamaelia::util::{collector, data_source, pure_transformer};
///
/// let sys = System::builder().threads(1).build();
/// let src = data_source(["1", "two", "3"]).spawn(&sys);
/// // Parse numbers, dropping what does not parse.
/// let parse = pure_transformer(|s: &str| s.parse::<u32>().ok()).spawn(&sys);
/// let (sink, got) = collector::<u32>();
/// let sink = sink.spawn(&sys);
/// axon::link(&src.outbox::<&str>("outbox")?, &parse.inbox("inbox")?)?;
/// axon::link(&src.outbox::<Signal>("signal")?, &parse.inbox("control")?)?;
/// axon::link(&parse.outbox::<u32>("outbox")?, &sink.inbox("inbox")?)?;
/// axon::link(&parse.outbox::<Signal>("signal")?, &sink.inbox("control")?)?;
/// sys.run();
/// assert_eq!(got.take(), [1, 3]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn pure_transformer<T, U, F>(f: F) -> Prefab
where
    T: Send + 'static,
    U: Send + 'static,
    F: FnMut(T) -> Option<U> + Send + 'static,
{
    Prefab::new(
        Component::new("PureTransformer").inbox_and_outbox::<T, U>(),
        move |mut cx| async move {
            let mut f = f;
            let mut intake = Intake::<T>::take(&mut cx)?;
            let mut out = cx.outbox::<U>("outbox")?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            while let Some(x) = intake.recv().await {
                if let Some(y) = f(x) {
                    intake.send(&mut out, y).await?;
                }
            }
            intake.finish(&mut signal).await;
            Ok(())
        },
    )
}
