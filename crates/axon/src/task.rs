//! A scheduled async component: its future and its wake flag.
//!
//! The wake flag is a small state machine that guarantees a component is on a run
//! queue at most once, however many wakes arrive:
//!
//! ```text
//!   IDLE --wake--> SCHEDULED --worker picks it--> RUNNING --Pending--> IDLE
//!                                                  |  ^
//!                                             wake |  | (poll ends: requeue)
//!                                                  v  |
//!                                                NOTIFIED
//!   RUNNING --Ready/panic--> DONE (wakes are ignored from then on)
//! ```
//!
//! A wake while the component runs (it sent to itself, or a producer delivered
//! mid-poll) marks it `NOTIFIED` and it is requeued at the back when its poll
//! ends, so a busy component cannot starve others. The transitions are pure
//! atomics ([`WakeFlag`]); `tests/loom_wake_flag.rs` checks them under loom.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Wake;

use crate::component::{ComponentRef, Outcome};
use crate::scheduler::Shared;
use crate::sync::{AtomicU8, Mutex, Ordering};

const IDLE: u8 = 0;
const SCHEDULED: u8 = 1;
const RUNNING: u8 = 2;
const NOTIFIED: u8 = 3;
const DONE: u8 = 4;

/// The at-most-once-queued wake flag of a task.
#[derive(Debug)]
pub struct WakeFlag(AtomicU8);

impl Default for WakeFlag {
    fn default() -> Self {
        Self::new()
    }
}

impl WakeFlag {
    /// A flag for a task that is not queued (it must be woken to run).
    pub fn new() -> Self {
        WakeFlag(AtomicU8::new(IDLE))
    }

    /// A flag for a task that is being put on a run queue right now.
    pub fn new_scheduled() -> Self {
        WakeFlag(AtomicU8::new(SCHEDULED))
    }

    /// Record a wake. Returns true if the caller must put the task on a run
    /// queue (it was idle); false if it is already queued, running (it will be
    /// requeued when its poll ends) or done.
    pub fn wake(&self) -> bool {
        let mut cur = self.0.load(Ordering::Acquire);
        loop {
            let next = match cur {
                IDLE => SCHEDULED,
                RUNNING => NOTIFIED,
                _ => return false,
            };
            match self
                .0
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return cur == IDLE,
                Err(actual) => cur = actual,
            }
        }
    }

    /// A worker took the task off a run queue and is about to poll it.
    pub fn start_run(&self) {
        self.0.store(RUNNING, Ordering::Release);
    }

    /// The poll returned `Pending`. Returns true if the task was woken during the
    /// poll and must be requeued by the caller.
    pub fn end_run(&self) -> bool {
        match self
            .0
            .compare_exchange(RUNNING, IDLE, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => false,
            Err(_) => {
                // NOTIFIED: only this worker moves it on from here.
                self.0.store(SCHEDULED, Ordering::Release);
                true
            }
        }
    }

    /// The task finished; later wakes do nothing.
    pub fn finish(&self) {
        self.0.store(DONE, Ordering::Release);
    }

    /// Whether the task has finished.
    pub fn is_done(&self) -> bool {
        self.0.load(Ordering::Acquire) == DONE
    }
}

pub(crate) type BoxedMain = Pin<Box<dyn Future<Output = Outcome> + Send + 'static>>;

/// An async component as the scheduler sees it.
pub(crate) struct Task {
    pub(crate) flag: WakeFlag,
    pub(crate) future: Mutex<Option<BoxedMain>>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) component: ComponentRef,
}

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        if self.flag.wake() {
            let shared = self.shared.clone();
            shared.schedule(self);
        }
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.flag.wake() {
            self.shared.schedule(self.clone());
        }
    }
}
