//! [`one_shot`]: send one message, then finish (Kamaelia's `OneShot`).
//!
//! Handy to kick something off, or to feed a single request into a chain.
//! Sends its message out of `outbox`, then `ProducerFinished` out of `signal`.
//! A `ShutdownMicroprocess` arriving while it waits for space stops it and is
//! passed on instead.

use axon::{Component, Prefab, Signal};

use super::Intake;

/// A component sending `msg` once, then `ProducerFinished`.
///
/// Boxes: `inbox: ()` (never used), `control` → `outbox: T`, `signal`.
///
/// ```
/// use axon::{Inbox, Signal, System};
/// use kamaelia::util::one_shot;
///
/// let sys = System::builder().threads(1).build();
/// let kick = one_shot("go").spawn(&sys);
/// let mut got = Inbox::<&str>::detached("got");
/// let mut done = Inbox::<Signal>::detached("done");
/// axon::link(&kick.outbox::<&str>("outbox")?, &got.endpoint())?;
/// axon::link(&kick.outbox::<Signal>("signal")?, &done.endpoint())?;
/// sys.run();
/// assert_eq!(got.try_recv(), Ok("go"));
/// assert!(got.try_recv().is_err());
/// assert_eq!(done.try_recv(), Ok(Signal::ProducerFinished));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn one_shot<T: Send + 'static>(msg: T) -> Prefab {
    Prefab::new(
        Component::new("OneShot").inbox_and_outbox::<(), T>(),
        move |mut cx| async move {
            let mut intake = Intake::<()>::take(&mut cx)?;
            let mut out = cx.outbox::<T>("outbox")?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            intake.send(&mut out, msg).await?;
            intake.finish(&mut signal).await;
            Ok(())
        },
    )
}
