//! [`Clock`]: a periodic tick source, driven by the kernel's timers (no
//! busy-waiting: between ticks the component is asleep and costs nothing).
//!
//! Kamaelia's clocks (`CheapAndCheerfulClock` and friends) busy-yielded on the
//! wall clock or slept in a thread; this one awaits an [`axon::time::Interval`].
//! It sends the tick number (1, 2, 3, ...) out of `outbox` once per period —
//! ticks missed while the destination was full are skipped, not bunched up —
//! and follows the shutdown convention of [`Intake`]: `ProducerFinished` or
//! `ShutdownMicroprocess` at `control` stops it and is passed on out of
//! `signal`. With [`ticks`](Clock::ticks) it stops by itself after that many
//! ticks and sends `ProducerFinished`.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use axon::{Component, Prefab, Signal};

use super::Intake;

/// A periodic tick source. Build it with [`Clock::new`], then
/// [`build`](Clock::build) the component.
///
/// Boxes: `inbox: ()` (unused), `control` → `outbox: u64` (the tick number),
/// `signal`.
///
/// ```
/// use std::time::Duration;
/// use axon::{Inbox, Signal, System};
/// use kamaelia::util::Clock;
///
/// let sys = System::builder().threads(1).build();
/// let clock = Clock::new(Duration::from_millis(2)).ticks(3).build().spawn(&sys);
/// let mut ticks = Inbox::<u64>::detached("ticks");
/// let mut done = Inbox::<Signal>::detached("done");
/// axon::link(&clock.outbox::<u64>("outbox")?, &ticks.endpoint())?;
/// axon::link(&clock.outbox::<Signal>("signal")?, &done.endpoint())?;
/// sys.run();
/// let got: Vec<u64> = std::iter::from_fn(|| ticks.try_recv().ok()).collect();
/// assert_eq!(got, [1, 2, 3]);
/// assert_eq!(done.try_recv(), Ok(Signal::ProducerFinished));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
#[must_use = "a Clock is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct Clock {
    period: Duration,
    limit: Option<u64>,
}

impl From<Clock> for Prefab {
    fn from(c: Clock) -> Prefab {
        c.build()
    }
}

impl Clock {
    /// A clock ticking every `period` (the first tick one period after it
    /// starts), until told to stop.
    ///
    /// # Panics
    /// If `period` is zero.
    pub fn new(period: Duration) -> Self {
        assert!(!period.is_zero(), "a clock's period must be more than zero");
        Clock { period, limit: None }
    }

    /// Stop by itself after `n` ticks (then send `ProducerFinished`).
    pub fn ticks(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }

    /// The component.
    pub fn build(self) -> Prefab {
        let Clock { period, limit } = self;
        Prefab::new(
            Component::new("Clock").inbox_and_outbox::<(), u64>(),
            move |mut cx| async move {
                let mut intake = Intake::<()>::take(&mut cx)?;
                let mut out = cx.outbox::<u64>("outbox")?;
                let mut signal = cx.outbox::<Signal>("signal")?;
                let mut every = axon::time::interval(period);
                let mut n = 0u64;
                while limit.is_none_or(|l| n < l) {
                    let ticked = {
                        let mut tick = pin!(every.tick());
                        poll_fn(|tcx| loop {
                            match intake.poll_recv(tcx) {
                                Poll::Ready(None) => return Poll::Ready(false), // told to stop
                                Poll::Ready(Some(())) => continue,              // nothing to do with input
                                Poll::Pending => return tick.as_mut().poll(tcx).map(|_| true),
                            }
                        })
                        .await
                    };
                    if !ticked {
                        break;
                    }
                    n += 1;
                    if !intake.send(&mut out, n).await? {
                        break;
                    }
                }
                intake.finish(&mut signal).await;
                Ok(())
            },
        )
    }
}
