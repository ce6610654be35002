//! The parker state machine of [`IoPark`](super::IoPark): where one scheduler
//! worker sleeps when the reactor's poller may be taken by any worker.
//!
//! A worker with nothing to run parks. If the poller is free it takes it and
//! sleeps in `epoll_wait` (state `PARKED_DRIVER`); otherwise it sleeps on its
//! own condition variable (`PARKED_CONDVAR`). `unpark` swaps the state to
//! `NOTIFIED` and wakes the worker the way its state says: the condition
//! variable, or the poller's waker. An unpark before the park leaves
//! `NOTIFIED` behind as a token, so the next park returns at once: no wakeup
//! is lost whichever way the two race (tokio's multi-thread parker works the
//! same way). The state machine is generic over the [`Driver`] so the
//! `loom_tests` below can check it against a model of the poller:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p kamaelia --release --lib loom
//! ```

use std::time::Duration;

#[cfg(loom)]
use loom::sync::{
    atomic::{AtomicUsize, Ordering},
    Condvar, Mutex,
};
#[cfg(not(loom))]
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Condvar, Mutex,
};

/// The poller, as the parker sees it.
pub(crate) trait Driver: Send + Sync {
    /// If the poller is free: take it, call `enter` (which says whether to
    /// wait at all), wait in it for at most `timeout` unless told not to, and
    /// return how many socket events it delivered. `None` if another worker
    /// has the poller.
    fn try_turn(&self, timeout: Option<Duration>, enter: &mut dyn FnMut() -> bool) -> Option<usize>;
    /// Interrupt a wait in the poller (or make the next one return at once).
    fn wake(&self);
    /// A worker came back from the poller with work: let another take it over.
    fn hand_over(&self);
}

const EMPTY: usize = 0;
pub(crate) const PARKED_CONDVAR: usize = 1;
const PARKED_DRIVER: usize = 2;
const NOTIFIED: usize = 3;

/// One worker's parker.
pub(crate) struct Parker<D> {
    pub(crate) state: AtomicUsize,
    mutex: Mutex<()>,
    cv: Condvar,
    pub(crate) driver: D,
}

impl<D: Driver> Parker<D> {
    pub(crate) fn new(driver: D) -> Self {
        Parker {
            state: AtomicUsize::new(EMPTY),
            mutex: Mutex::new(()),
            cv: Condvar::new(),
            driver,
        }
    }

    /// Sleep until [`unpark`](Self::unpark) (or `timeout`); spurious returns
    /// are allowed.
    pub(crate) fn park(&self, timeout: Option<Duration>) {
        // A token left by an earlier unpark: consume it and return.
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return;
        }
        // Unparked since the check above (NOTIFIED): do not wait.
        let mut enter = || {
            self.state
                .compare_exchange(EMPTY, PARKED_DRIVER, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        };
        match self.driver.try_turn(timeout, &mut enter) {
            Some(events) => {
                // NOTIFIED (an unpark, consumed here), PARKED_DRIVER, or EMPTY
                // if `enter` found NOTIFIED.
                self.state.swap(EMPTY, Ordering::SeqCst);
                if events > 0 {
                    self.driver.hand_over();
                }
            }
            None => self.park_condvar(timeout),
        }
    }

    fn park_condvar(&self, timeout: Option<Duration>) {
        let mut guard = self.mutex.lock().unwrap_or_else(|e| e.into_inner());
        if self
            .state
            .compare_exchange(EMPTY, PARKED_CONDVAR, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            // NOTIFIED: consume the token.
            self.state.swap(EMPTY, Ordering::SeqCst);
            return;
        }
        loop {
            guard = match timeout {
                None => self.cv.wait(guard).unwrap_or_else(|e| e.into_inner()),
                Some(t) => {
                    let (g, res) = self.cv.wait_timeout(guard, t).unwrap_or_else(|e| e.into_inner());
                    if res.timed_out() {
                        self.state.swap(EMPTY, Ordering::SeqCst);
                        return;
                    }
                    g
                }
            };
            if self
                .state
                .compare_exchange(NOTIFIED, EMPTY, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                return;
            }
            // Spurious wakeup: wait again.
        }
    }

    /// Wake the worker, or make its next park return at once.
    pub(crate) fn unpark(&self) {
        match self.state.swap(NOTIFIED, Ordering::SeqCst) {
            PARKED_CONDVAR => {
                // Take the lock so the notification cannot fall between the
                // parker's state change and its wait.
                drop(self.mutex.lock().unwrap_or_else(|e| e.into_inner()));
                self.cv.notify_one();
            }
            PARKED_DRIVER => self.driver.wake(),
            // EMPTY or NOTIFIED: the token is left for the next park.
            _ => {}
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    /// The poller: one lock for the right to wait in it, and an eventfd-like
    /// token for its waker.
    #[derive(Default)]
    struct Model {
        poller: Mutex<()>,
        woken: Mutex<bool>,
        cv: Condvar,
    }

    impl Driver for Arc<Model> {
        fn try_turn(&self, _timeout: Option<Duration>, enter: &mut dyn FnMut() -> bool) -> Option<usize> {
            let _poller = self.poller.try_lock().ok()?;
            if enter() {
                let mut w = self.woken.lock().unwrap();
                while !*w {
                    w = self.cv.wait(w).unwrap();
                }
                *w = false;
            }
            Some(0)
        }
        fn wake(&self) {
            *self.woken.lock().unwrap() = true;
            self.cv.notify_all();
        }
        fn hand_over(&self) {}
    }

    /// Two workers park (one in the poller, one on its condition variable,
    /// in whatever order) while a third thread unparks both: both return.
    #[test]
    fn loom_two_parkers_both_unparked() {
        loom::model(|| {
            let model = Arc::new(Model::default());
            let a = Arc::new(Parker::new(model.clone()));
            let b = Arc::new(Parker::new(model));
            let (a2, b2) = (a.clone(), b.clone());
            let ta = thread::spawn(move || a2.park(None));
            let tb = thread::spawn(move || b2.park(None));
            a.unpark();
            b.unpark();
            ta.join().unwrap();
            tb.join().unwrap();
        });
    }

    /// A worker parks until a flag is set (the scheduler's loop: spurious
    /// returns are fine); the flag is set and the worker unparked while it
    /// parks, in the poller or not: it always sees the flag.
    #[test]
    fn loom_unpark_races_park_in_poller() {
        loom::model(|| {
            let model = Arc::new(Model::default());
            let p = Arc::new(Parker::new(model));
            let flag = Arc::new(loom::sync::atomic::AtomicBool::new(false));
            let (p2, flag2) = (p.clone(), flag.clone());
            let t = thread::spawn(move || {
                while !flag2.load(Ordering::SeqCst) {
                    p2.park(None);
                }
            });
            flag.store(true, Ordering::SeqCst);
            p.unpark();
            t.join().unwrap();
        });
    }
}
