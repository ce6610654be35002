//! Helpers shared by the integration tests (each test file includes this module).
//!
//! * [`Counted`] wraps a component body and counts how often the scheduler polls
//!   it, and how often it went back to sleep. A component that is never woken is
//!   polled exactly once (its first run). This is our "wake counter": Axon's tests
//!   used a component that counted its resumptions after `pause()`.
//! * [`wait_until`] is a condition wait with a generous limit. It is never used to
//!   assert timing, only to wait for something that must happen.
//! * [`quiet`] is the one short sleep we allow: a bounded chance for something
//!   that must *not* happen (a wake, a delivery) to show up.

#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use axon::{Component, ComponentRef, Context, Inbox, Outcome, System, Termination};

/// Poll counts of one component body.
#[derive(Debug, Default)]
pub struct Counts {
    polls: AtomicUsize,
    parked: AtomicUsize,
}

impl Counts {
    /// How many times the body was polled.
    pub fn polls(&self) -> usize {
        self.polls.load(Ordering::SeqCst)
    }

    /// How many polls ended with the body asleep (`Pending`).
    pub fn parked(&self) -> usize {
        self.parked.load(Ordering::SeqCst)
    }

    /// Polled exactly `n` times and asleep after the last one.
    pub fn parked_after(&self, n: usize) -> bool {
        self.parked() == n && self.polls() == n
    }
}

/// A body future that counts its polls.
pub struct Counted<F> {
    inner: Pin<Box<F>>,
    counts: Arc<Counts>,
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        self.counts.polls.fetch_add(1, Ordering::SeqCst);
        let r = self.inner.as_mut().poll(cx);
        if r.is_pending() {
            self.counts.parked.fetch_add(1, Ordering::SeqCst);
        }
        r
    }
}

/// Spawn an async component whose polls are counted.
pub fn spawn_counted<F, Fut>(sys: &System, spec: Component, main: F) -> (ComponentRef, Arc<Counts>)
where
    F: FnOnce(Context) -> Fut + Send + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: Termination,
{
    let counts = Arc::new(Counts::default());
    let c = counts.clone();
    let comp = sys.spawn(spec, move |cx| Counted {
        inner: Box::pin(main(cx)),
        counts: c,
    });
    (comp, counts)
}

/// Wait (at most 10 s, then fail) until `cond` holds.
#[track_caller]
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Give something that must not happen a short, bounded chance to happen.
pub fn quiet() {
    std::thread::sleep(Duration::from_millis(50));
}

/// Everything waiting in an inbox right now.
pub fn drain<T: Send + 'static>(inbox: &mut Inbox<T>) -> Vec<T> {
    std::iter::from_fn(|| inbox.try_recv().ok()).collect()
}

/// Assert a component finished normally, showing the outcome otherwise (an
/// assertion failing inside a component body shows up as `Panicked`).
#[track_caller]
pub fn assert_finished(comp: &ComponentRef) {
    assert_eq!(
        comp.join(),
        Ok(Outcome::Finished),
        "{comp:?} did not finish normally"
    );
}

/// Yield to the scheduler once (wake ourselves, return `Pending` once).
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

/// Wait until a counted component has been polled `n` times and is asleep.
#[track_caller]
pub fn wait_parked(counts: &Counts, n: usize) {
    wait_until(&format!("polled {n} times and asleep"), || counts.parked_after(n));
}

/// Wait until `comp` has ended *and* the kernel has finished cleaning up after
/// it (its linkages removed, boxes closed, parent told): it is no longer listed
/// among the system's components, which is the last step. `join` alone can
/// return before that (see `scheduler.rs`,
/// `a_component_is_cleaned_up_by_the_time_join_returns`).
#[track_caller]
pub fn wait_gone(sys: &System, comp: &ComponentRef) -> Outcome {
    let outcome = comp.join().expect("its system is running");
    wait_until("the component is cleaned up", || !sys.components().contains(comp));
    outcome
}
