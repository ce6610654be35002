//! Timers: [`sleep`], [`sleep_until`] and [`Interval`], without busy-waiting.
//!
//! Axon had no timer facility: components busy-yielded on the clock or used a
//! threaded component's `pause(timeout)`. Here a single timer thread per process
//! keeps deadlines in a heap and sleeps on a condition variable until the
//! earliest one (with no timeout at all when no timer is set, so an idle system
//! makes no wakeups). When a deadline passes it wakes that timer's waker — a
//! component task, a blocked thread or any other executor's task, since timers
//! use the waker of the poll like every axon future.
//!
//! ```
//! use std::time::{Duration, Instant};
//! let start = Instant::now();
//! axon::block_on(axon::time::sleep(Duration::from_millis(20)));
//! assert!(start.elapsed() >= Duration::from_millis(20));
//! ```

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

struct Driver {
    state: Mutex<State>,
    cv: Condvar,
}

#[derive(Default)]
struct State {
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    wakers: HashMap<u64, Waker>,
    next_id: u64,
}

fn driver() -> &'static Driver {
    static DRIVER: OnceLock<&'static Driver> = OnceLock::new();
    DRIVER.get_or_init(|| {
        let d: &'static Driver = Box::leak(Box::new(Driver {
            state: Mutex::new(State::default()),
            cv: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("axon-timer".into())
            .spawn(move || d.run())
            .expect("could not start the axon timer thread");
        d
    })
}

impl Driver {
    fn run(&self) {
        let mut st = self.state.lock();
        loop {
            let now = Instant::now();
            let mut due = Vec::new();
            while let Some(Reverse((when, id))) = st.heap.peek().copied() {
                if when > now {
                    break;
                }
                st.heap.pop();
                if let Some(w) = st.wakers.remove(&id) {
                    due.push(w);
                }
            }
            if !due.is_empty() {
                drop(st);
                due.into_iter().for_each(Waker::wake);
                st = self.state.lock();
                continue;
            }
            match st.heap.peek() {
                None => self.cv.wait(&mut st),
                Some(Reverse((when, _))) => {
                    let when = *when;
                    self.cv.wait_until(&mut st, when);
                }
            }
        }
    }

    fn register(&self, id: Option<u64>, when: Instant, waker: &Waker) -> u64 {
        let mut st = self.state.lock();
        if let Some(id) = id {
            if let Some(w) = st.wakers.get_mut(&id) {
                if !w.will_wake(waker) {
                    *w = waker.clone();
                }
                return id;
            }
        }
        st.next_id += 1;
        let id = st.next_id;
        let earliest = st.heap.peek().is_none_or(|Reverse((t, _))| when < *t);
        st.heap.push(Reverse((when, id)));
        st.wakers.insert(id, waker.clone());
        if earliest {
            self.cv.notify_one();
        }
        id
    }

    fn cancel(&self, id: u64) {
        // The heap entry is skipped when it comes up.
        self.state.lock().wakers.remove(&id);
    }
}

/// Future of [`sleep`] and [`sleep_until`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Sleep {
    deadline: Instant,
    id: Option<u64>,
}

impl Sleep {
    /// When it fires.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Move the deadline (re-arms a sleep that already fired).
    pub fn reset(&mut self, deadline: Instant) {
        if let Some(id) = self.id.take() {
            driver().cancel(id);
        }
        self.deadline = deadline;
    }
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            if let Some(id) = self.id.take() {
                driver().cancel(id);
            }
            return Poll::Ready(());
        }
        let id = driver().register(self.id, self.deadline, cx.waker());
        self.id = Some(id);
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            driver().cancel(id);
        }
    }
}

/// Sleep for `duration`.
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(Instant::now() + duration)
}

/// Sleep until `deadline`.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep { deadline, id: None }
}

/// A periodic timer: [`tick`](Interval::tick) resolves once per period. Ticks
/// missed while the owner was busy are skipped, not bunched up.
///
/// ```
/// use std::time::Duration;
/// let mut every = axon::time::interval(Duration::from_millis(5));
/// axon::block_on(async {
///     for _ in 0..3 {
///         every.tick().await;
///     }
/// });
/// ```
#[derive(Debug)]
pub struct Interval {
    period: Duration,
    sleep: Sleep,
}

/// A periodic timer whose first tick is one `period` from now.
///
/// # Panics
/// If `period` is zero.
pub fn interval(period: Duration) -> Interval {
    assert!(!period.is_zero(), "an interval's period must be more than zero");
    Interval {
        period,
        sleep: sleep(period),
    }
}

impl Interval {
    /// Wait for the next tick; returns the instant it was due.
    pub async fn tick(&mut self) -> Instant {
        (&mut self.sleep).await;
        let due = self.sleep.deadline();
        let mut next = due + self.period;
        let now = Instant::now();
        if next <= now {
            // Skip missed ticks.
            let behind = (now - due).as_nanos() / self.period.as_nanos();
            next = due + self.period * (behind as u32 + 1);
        }
        self.sleep.reset(next);
        due
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }
}
