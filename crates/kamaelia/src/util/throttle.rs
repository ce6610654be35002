//! [`Throttle`]: pass messages on no faster than a given rate (Kamaelia's
//! `MessageRateLimit`).
//!
//! Messages from `inbox` go out of `outbox` in order, at most one per
//! interval (`1 s / rate`): the rate is a ceiling, never a promise — when
//! input is short, messages go out as they come. With a
//! [`buffer`](Throttle::buffer) of `n`, nothing goes out until `n` messages
//! have arrived (or the input has ended), to ride out jitter, as a video
//! player fills its buffer before showing the first frame.
//!
//! Waiting is done with the kernel's timers ([`axon::time`]): between messages
//! the component sleeps and costs nothing. It holds at most `max(n, 1)`
//! messages itself; the rest wait in its `inbox`, so a size limit there pushes
//! back on the producer. Shutdown follows the
//! [convention](crate::util#boxes-and-the-shutdown-convention): after
//! `ProducerFinished` what is held and queued still goes out at the rate,
//! `ShutdownMicroprocess` drops it and stops at once.

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use axon::{Component, Prefab, Signal};

use super::Intake;

/// A rate limiter. Build with [`Throttle::per_second`] or
/// [`Throttle::interval`], then [`build`](Throttle::build).
///
/// Boxes: `inbox: T`, `control` → `outbox: T`, `signal`.
///
/// ```
/// use std::time::{Duration, Instant};
/// use axon::{Signal, System};
/// use kamaelia::util::{collector, data_source, Throttle};
///
/// let sys = System::builder().threads(1).build();
/// let src = data_source(1..=3u32).spawn(&sys);
/// let slow = Throttle::interval(Duration::from_millis(5)).build::<u32>().spawn(&sys);
/// let (sink, got) = collector::<u32>();
/// let sink = sink.spawn(&sys);
/// for (a, b) in [(&src, &slow), (&slow, &sink)] {
///     axon::link(&a.outbox::<u32>("outbox")?, &b.inbox("inbox")?)?;
///     axon::link(&a.outbox::<Signal>("signal")?, &b.inbox("control")?)?;
/// }
/// let start = Instant::now();
/// sys.run();
/// assert_eq!(got.take(), [1, 2, 3]);
/// assert!(start.elapsed() >= Duration::from_millis(10)); // two gaps at least
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "a Throttle is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct Throttle {
    interval: Duration,
    buffer: usize,
}

impl Throttle {
    /// At most `messages` messages per second (0 is taken as 1).
    pub fn per_second(messages: u32) -> Self {
        Throttle::interval(Duration::from_secs(1) / messages.max(1))
    }

    /// At most one message per `interval`.
    pub fn interval(interval: Duration) -> Self {
        Throttle { interval, buffer: 0 }
    }

    /// Send nothing until `messages` have arrived or the input has ended
    /// (default 0: start at once).
    ///
    /// ```
    /// use axon::{Outbox, Signal, System};
    /// use kamaelia::util::{collector, Throttle};
    ///
    /// let sys = System::builder().threads(1).build();
    /// let running = sys.start();
    /// let t = Throttle::per_second(1000).buffer(3).build::<u8>().spawn(&sys);
    /// let (sink, got) = collector::<u8>();
    /// let sink = sink.spawn(&sys);
    /// axon::link(&t.outbox::<u8>("outbox")?, &sink.inbox("inbox")?)?;
    /// let mut feed = Outbox::<u8>::detached("feed");
    /// axon::link(&feed.endpoint(), &t.inbox("inbox")?)?;
    /// feed.send_blocking(1)?;
    /// feed.send_blocking(2)?;
    /// std::thread::sleep(std::time::Duration::from_millis(20));
    /// assert!(got.take().is_empty()); // still filling its buffer
    /// feed.send_blocking(3)?;
    /// drop(feed);
    /// running.wait();
    /// assert_eq!(got.take(), [1, 2, 3]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn buffer(mut self, messages: usize) -> Self {
        self.buffer = messages;
        self
    }

    /// The component, for messages of type `T`.
    pub fn build<T: Send + 'static>(self) -> Prefab {
        let Throttle { interval, buffer } = self;
        Prefab::new(
            Component::new("Throttle").inbox_and_outbox::<T, T>(),
            move |mut cx| async move {
                let mut intake = Intake::<T>::take(&mut cx)?;
                let mut out = cx.outbox::<T>("outbox")?;
                let mut signal = cx.outbox::<Signal>("signal")?;
                enum Ev<T> {
                    Input(Option<T>),
                    Stop,
                    Due,
                }
                let hold = buffer.max(1);
                let mut held: VecDeque<T> = VecDeque::with_capacity(hold);
                let mut started = buffer == 0;
                let mut input_done = false;
                let mut due = axon::time::sleep_until(Instant::now());
                loop {
                    started |= held.len() >= buffer || input_done;
                    let want_input = !input_done && held.len() < hold;
                    let may_send = started && !held.is_empty();
                    if !want_input && !may_send {
                        break; // input over, everything sent
                    }
                    let ev = poll_fn(|tcx| {
                        if want_input {
                            if let Poll::Ready(m) = intake.poll_recv(tcx) {
                                return Poll::Ready(Ev::Input(m));
                            }
                        } else if intake.poll_stop(tcx).is_ready() {
                            return Poll::Ready(Ev::Stop);
                        }
                        if may_send && Pin::new(&mut due).poll(tcx).is_ready() {
                            return Poll::Ready(Ev::Due);
                        }
                        Poll::Pending
                    })
                    .await;
                    match ev {
                        Ev::Input(Some(m)) => held.push_back(m),
                        Ev::Input(None) if intake.ending() == Some(&Signal::ProducerFinished) => {
                            input_done = true
                        }
                        Ev::Input(None) | Ev::Stop => break,
                        Ev::Due => {
                            let m = held.pop_front().expect("may_send: something is held");
                            if !intake.send(&mut out, m).await? {
                                break;
                            }
                            due.reset(Instant::now() + interval);
                        }
                    }
                }
                intake.finish(&mut signal).await;
                Ok(())
            },
        )
    }
}
