//! [`RateControl`]: say how much to send, at a steady rate (Kamaelia's
//! `ByteRate_RequestControl` and `VariableByteRate_RequestControl`).
//!
//! It drives a source that sends on request (a file reader told "send 512
//! bytes", ...): every step it sends out of `outbox` a chunk size, so that
//! over time the sizes add up to `rate` units per second. Give the chunk size
//! ([`chunk_size`](RateControl::chunk_size)) or the number of chunks per
//! second ([`chunks_per_second`](RateControl::chunks_per_second), 10 by
//! default); the other follows from the rate. Fractions carry over from one
//! step to the next, so nothing is lost to rounding. If it falls behind (a
//! busy system), the chunks it owes are sent at once, one by one — or as one
//! larger chunk with [`aggregate`](RateControl::aggregate).
//!
//! A new rate (units per second, `u64`) on `inbox` takes effect at once (the
//! "variable" reference component); the chunk size stays if it was given,
//! otherwise the number of chunks per second does. A rate of 0 sends nothing
//! until a new rate arrives. Steps are at least 1 ms apart (at very high
//! rates the chunks grow instead). Waiting uses [`axon::time`] (no busy-waiting).
//! Shutdown: `ProducerFinished` or `ShutdownMicroprocess` at `control` stops
//! it and is passed on out of `signal` (a source has nothing to drain); so does
//! its `inbox` closing.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use axon::{Component, Prefab, Signal};

use super::Intake;

/// The shortest time between two steps.
const MIN_STEP: Duration = Duration::from_millis(1);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Chunking {
    Size(f64),
    PerSecond(f64),
}

/// A rate controller. Build with [`RateControl::new`], then
/// [`build`](RateControl::build).
///
/// Boxes: `inbox: u64` (a new rate), `control` → `outbox: usize` (a chunk
/// size), `signal`.
///
/// ```
/// use axon::{Inbox, Outbox, Signal, System};
/// use kamaelia::util::RateControl;
///
/// let sys = System::builder().threads(1).build();
/// let running = sys.start();
/// // 10 000 units per second in chunks of 1 000: a chunk every 100 ms.
/// let ctrl = RateControl::new(10_000).chunk_size(1_000).build().spawn(&sys);
/// let mut sizes = Inbox::<usize>::detached("sizes");
/// axon::link(&ctrl.outbox::<usize>("outbox")?, &sizes.endpoint())?;
/// assert_eq!(sizes.recv_blocking(), Ok(1_000)); // the first at once
/// let mut stop = Outbox::<Signal>::detached("stop");
/// axon::link(&stop.endpoint(), &ctrl.inbox("control")?)?;
/// stop.send_blocking(Signal::ShutdownMicroprocess)?;
/// running.wait();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[must_use = "a RateControl is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct RateControl {
    rate: u64,
    chunking: Chunking,
    aggregate: bool,
}

impl RateControl {
    /// `rate` units per second, in 10 chunks a second.
    pub fn new(rate: u64) -> Self {
        RateControl {
            rate,
            chunking: Chunking::PerSecond(10.0),
            aggregate: false,
        }
    }

    /// Chunks of `size` units (at least 1); their number per second follows
    /// from the rate.
    pub fn chunk_size(mut self, size: usize) -> Self {
        self.chunking = Chunking::Size(size.max(1) as f64);
        self
    }

    /// `chunks` chunks per second; their size follows from the rate (at
    /// least 1 unit: at a rate below `chunks`, fewer chunks are sent).
    pub fn chunks_per_second(mut self, chunks: u32) -> Self {
        self.chunking = Chunking::PerSecond(f64::from(chunks.max(1)));
        self
    }

    /// When behind, send what is owed as one chunk rather than several.
    pub fn aggregate(mut self, aggregate: bool) -> Self {
        self.aggregate = aggregate;
        self
    }

    /// (chunk size, time between chunks) at `rate`; `None` for a rate of 0.
    fn steps(chunking: Chunking, rate: u64) -> Option<(f64, Duration)> {
        if rate == 0 {
            return None;
        }
        let rate = rate as f64;
        let size = match chunking {
            Chunking::Size(s) => s,
            Chunking::PerSecond(n) => (rate / n).max(1.0),
        };
        // Steps at least `MIN_STEP` apart: at very high rates chunks grow.
        let size = size.max(rate * MIN_STEP.as_secs_f64());
        Some((size, Duration::from_secs_f64(size / rate)))
    }

    /// The component.
    pub fn build(self) -> Prefab {
        let RateControl {
            rate,
            chunking,
            aggregate,
        } = self;
        Prefab::new(
            Component::new("RateControl").inbox_and_outbox::<u64, usize>(),
            move |mut cx| async move {
                let mut intake = Intake::<u64>::take(&mut cx)?;
                let mut out = cx.outbox::<usize>("outbox")?;
                let mut signal = cx.outbox::<Signal>("signal")?;
                let mut steps = RateControl::steps(chunking, rate);
                let mut next = Instant::now();
                let mut owed = 0.0f64;
                let mut due = axon::time::sleep_until(next);
                'run: loop {
                    let ticking = steps.is_some();
                    let ev = poll_fn(|tcx| {
                        if let Poll::Ready(m) = intake.poll_recv(tcx) {
                            return Poll::Ready(Some(m));
                        }
                        if ticking && Pin::new(&mut due).poll(tcx).is_ready() {
                            return Poll::Ready(None);
                        }
                        Poll::Pending
                    })
                    .await;
                    match ev {
                        Some(None) => break, // told to stop
                        Some(Some(new_rate)) => {
                            steps = RateControl::steps(chunking, new_rate);
                            next = Instant::now();
                            owed = 0.0;
                            due.reset(next);
                        }
                        None => {
                            let (size, step) = steps.expect("ticking");
                            let now = Instant::now();
                            while now >= next {
                                owed += size;
                                next += step;
                            }
                            while owed >= 1.0 {
                                let chunk = if aggregate { owed } else { owed.min(size) }.floor();
                                if !intake.send(&mut out, chunk as usize).await? {
                                    break 'run;
                                }
                                owed -= chunk;
                            }
                            due.reset(next);
                        }
                    }
                }
                intake.finish(&mut signal).await;
                Ok(())
            },
        )
    }
}

impl From<RateControl> for Prefab {
    fn from(r: RateControl) -> Prefab {
        r.build()
    }
}
