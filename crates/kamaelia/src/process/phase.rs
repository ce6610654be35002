//! [`Phase`]: how far a [`UnixProcess`](super::UnixProcess) has got in
//! stopping, shared between its coordinating component and its I/O threads,
//! with a future to wait for a phase (so a thread blocked on a box can be
//! told to give up).

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;
use std::task::{Poll, Waker};

/// Running normally.
pub(crate) const RUNNING: u8 = 0;
/// `ProducerFinished` received: write what is already in `inbox`, then close
/// the child's stdin.
pub(crate) const DRAIN: u8 = 1;
/// Stop now: every thread gives up what it is waiting for.
pub(crate) const STOP: u8 = 2;

/// A phase that only ever goes up, with wakers for those waiting on it.
#[derive(Debug, Default)]
pub(crate) struct Phase {
    level: AtomicU8,
    waiting: Mutex<Vec<Waker>>,
}

impl Phase {
    pub(crate) fn get(&self) -> u8 {
        self.level.load(Ordering::SeqCst)
    }

    /// Move up to `level` (never down), waking everyone waiting.
    pub(crate) fn raise(&self, level: u8) {
        if self.level.fetch_max(level, Ordering::SeqCst) < level {
            let wakers = std::mem::take(&mut *self.waiting.lock().unwrap_or_else(|p| p.into_inner()));
            for w in wakers {
                w.wake();
            }
        }
    }

    /// Resolves once the phase is at least `level`.
    pub(crate) fn reached(&self, level: u8) -> impl Future<Output = ()> + '_ {
        poll_fn(move |cx| {
            if self.get() >= level {
                return Poll::Ready(());
            }
            let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
            if !waiting.iter().any(|w| w.will_wake(cx.waker())) {
                waiting.push(cx.waker().clone());
            }
            // Checked again under the lock: a `raise` that stored its level
            // after the first look takes this lock after us and finds the waker.
            if self.get() >= level {
                return Poll::Ready(());
            }
            Poll::Pending
        })
    }
}

/// Run `fut` until it completes (`Some`) or `phase` reaches `level` (`None`).
/// `fut` is polled first, so a result that is ready wins.
pub(crate) async fn until<F: Future>(fut: F, phase: &Phase, level: u8) -> Option<F::Output> {
    let mut fut = pin!(fut);
    let mut stop = pin!(phase.reached(level));
    poll_fn(move |cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        if stop.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_raise_from_another_thread_ends_the_wait() {
        let phase = Arc::new(Phase::default());
        let p = phase.clone();
        let t = std::thread::spawn(move || axon::block_on(until(std::future::pending::<()>(), &p, DRAIN)));
        std::thread::sleep(std::time::Duration::from_millis(20));
        phase.raise(STOP);
        assert_eq!(t.join().unwrap(), None);
        phase.raise(DRAIN); // never goes down
        assert_eq!(phase.get(), STOP);
    }

    #[test]
    fn a_ready_future_wins() {
        let phase = Phase::default();
        phase.raise(STOP);
        assert_eq!(axon::block_on(until(async { 5 }, &phase, STOP)), Some(5));
    }
}
