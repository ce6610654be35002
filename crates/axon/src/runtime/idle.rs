//! Idle workers: how a scheduler worker with nothing to run goes to sleep
//! without stranding work queued at the same moment.
//!
//! [`Sleepers`] holds one [`Park`] per worker, the list of workers that are
//! asleep (or about to be) and its length as an atomic, so a wake costs one load
//! when nobody sleeps. The protocol is a store-fence-load handshake:
//!
//! ```text
//!   worker (Sleepers::sleep)                 waker (queue push, then notify_one)
//!   ------------------------                 -----------------------------------
//!   lock; sleeping.push(i); num_sleeping+=1  push the task onto a run queue
//!   fence(SeqCst)                            fence(SeqCst)
//!   any work? stopping?  -- yes: don't park  num_sleeping == 0? -- yes: done
//!   park                                     lock; pop a sleeper j; num_sleeping-=1
//!   lock; remove i if still listed           unpark(j)
//! ```
//!
//! The two `SeqCst` fences are totally ordered: if the worker's comes first, the
//! waker's load sees it counted and unparks someone; if the waker's comes first,
//! the worker's check sees the task. Either way the task is not stranded. A
//! [`Park`] keeps an unpark that arrives before the park as a token, so an unpark
//! racing with the worker's check is not lost either (it only causes a spurious
//! return). The `loom_*` models below check this with the real
//! [`ThreadPark`](crate::runtime::park::ThreadPark), whose mutex and condition variable are
//! loom's under `--cfg loom`.

use std::sync::Arc;

use crate::runtime::park::Park;
use crate::runtime::sync::{fence, AtomicBool, AtomicUsize, Mutex, Ordering};

/// The parkers of a scheduler's workers and which of them sleep.
pub(crate) struct Sleepers {
    parkers: Vec<Arc<dyn Park>>,
    /// Indices of workers that announced they are going to sleep.
    sleeping: Mutex<Vec<usize>>,
    /// `sleeping.len()`, readable without the lock.
    num_sleeping: AtomicUsize,
    /// A worker has been unparked and is on its way: further notifications
    /// can wait until it is up, since it will look for all queued work (this
    /// stops a burst of wakes, e.g. spawning many components from outside, from
    /// costing one futex wake each).
    waking: AtomicBool,
}

impl Sleepers {
    /// Sleepers for workers `0..parkers.len()`; worker `i` parks in `parkers[i]`.
    pub(crate) fn new(parkers: Vec<Arc<dyn Park>>) -> Self {
        let n = parkers.len();
        Sleepers {
            parkers,
            sleeping: Mutex::new(Vec::with_capacity(n)),
            num_sleeping: AtomicUsize::new(0),
            waking: AtomicBool::new(false),
        }
    }

    /// Number of workers.
    pub(crate) fn workers(&self) -> usize {
        self.parkers.len()
    }

    /// Worker `index` has found nothing to run: announce it as a sleeper, call
    /// `wake_up` once more (it must check every run queue and the stop flag), and
    /// park unless it returned true. Returns when unparked (or at once); the
    /// caller looks for work again. Spurious returns are possible.
    pub(crate) fn sleep(&self, index: usize, wake_up: impl FnOnce() -> bool) {
        self.sleep_timeout(index, None, wake_up);
    }

    /// [`sleep`](Self::sleep), parking for at most `timeout` (if given): for a
    /// stepped system's `step_timeout`.
    pub(crate) fn sleep_timeout(
        &self,
        index: usize,
        timeout: Option<std::time::Duration>,
        wake_up: impl FnOnce() -> bool,
    ) {
        {
            let mut s = self.sleeping.lock();
            s.push(index);
            self.num_sleeping.fetch_add(1, Ordering::SeqCst);
        }
        fence(Ordering::SeqCst);
        if !wake_up() {
            self.parkers[index].park(timeout);
        }
        {
            let mut s = self.sleeping.lock();
            if let Some(pos) = s.iter().position(|&i| i == index) {
                s.swap_remove(pos);
                self.num_sleeping.fetch_sub(1, Ordering::SeqCst);
            }
        }
        // Up and about to look for work: later notifications may wake others.
        // A swap, not a store: it reads the last notifier's `swap(true)` and so
        // synchronises with it, making the work that notifier queued (and
        // skipped waking anyone for) visible to the search that follows.
        self.waking.swap(false, Ordering::SeqCst);
    }

    /// Work was just queued (call after the push): unpark one sleeping worker, if
    /// any.
    pub(crate) fn notify_one(&self) {
        fence(Ordering::SeqCst);
        if self.num_sleeping.load(Ordering::SeqCst) == 0 {
            return;
        }
        if self.waking.swap(true, Ordering::SeqCst) {
            // A worker is already on its way and will find this work.
            return;
        }
        let idx = {
            let mut s = self.sleeping.lock();
            let i = s.pop();
            if i.is_some() {
                self.num_sleeping.fetch_sub(1, Ordering::SeqCst);
            }
            i
        };
        match idx {
            Some(i) => self.parkers[i].unpark(),
            None => self.waking.store(false, Ordering::SeqCst),
        }
    }

    /// Work was queued on the calling worker's own run queue: that worker will
    /// run it anyway, so waking another is only for parallelism and a plain
    /// load suffices (no fence: missing a worker that is just going to sleep
    /// costs parallelism, never liveness).
    pub(crate) fn notify_for_local_work(&self) {
        if self.num_sleeping.load(Ordering::Relaxed) > 0 {
            self.notify_one();
        }
    }

    /// Unpark every worker, sleeping or not (used when stopping).
    pub(crate) fn unpark_all(&self) {
        for p in &self.parkers {
            p.unpark();
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Models of the idle-worker hand-off. A "run queue" is a counter of queued
    //! tasks pushed with `Release` and checked with `Acquire` (weaker than the
    //! crossbeam queues the scheduler uses), so only the fences in `Sleepers`
    //! make the hand-off safe. A stranded task shows up as a loom deadlock: every
    //! worker parked, the producers done, the main thread stuck in `join`.

    use super::*;
    use crate::runtime::park::ThreadPark;
    use loom::thread;

    fn sleepers(n: usize) -> Arc<Sleepers> {
        Arc::new(Sleepers::new(
            (0..n)
                .map(|_| Arc::new(ThreadPark::new()) as Arc<dyn Park>)
                .collect(),
        ))
    }

    /// Run a model with at most `preemptions` preemptions per execution unless
    /// `LOOM_MAX_PREEMPTIONS` says otherwise.
    fn model(preemptions: usize, f: impl Fn() + Sync + Send + 'static) {
        let mut b = loom::model::Builder::new();
        if b.preemption_bound.is_none() {
            b.preemption_bound = Some(preemptions);
        }
        b.check(f);
    }

    /// Take one queued task if there is one.
    fn take(queued: &AtomicUsize) -> bool {
        let mut n = queued.load(Ordering::Acquire);
        while n > 0 {
            match queued.compare_exchange(n, n - 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return true,
                Err(actual) => n = actual,
            }
        }
        false
    }

    fn push(s: &Sleepers, queued: &AtomicUsize) {
        queued.fetch_add(1, Ordering::Release);
        s.notify_one();
    }

    fn assert_quiet(s: &Sleepers) {
        assert_eq!(s.num_sleeping.load(Ordering::SeqCst), 0);
        assert!(s.sleeping.lock().is_empty());
    }

    /// One worker, two producers each pushing a task while the worker may be
    /// going to sleep: the worker runs both tasks (it never parks for good).
    #[test]
    fn loom_push_while_worker_sleeps_is_never_stranded() {
        model(3, || {
            let s = sleepers(1);
            let queued = Arc::new(AtomicUsize::new(0));
            let producers: Vec<_> = (0..2)
                .map(|_| {
                    let (s, queued) = (s.clone(), queued.clone());
                    thread::spawn(move || push(&s, &queued))
                })
                .collect();
            let mut ran = 0;
            while ran < 2 {
                if take(&queued) {
                    ran += 1;
                } else {
                    s.sleep(0, || queued.load(Ordering::Acquire) > 0);
                }
            }
            for p in producers {
                p.join().unwrap();
            }
            assert_quiet(&s);
        });
    }

    /// Two workers; the main thread pushes `tasks` tasks one by one. The worker
    /// that runs the last one stops the system the way the scheduler does (stop
    /// flag, then unpark every worker). Checks that every task runs exactly once,
    /// that no worker is left parked (a stranded task or a lost unpark would be a
    /// loom deadlock) and that the sleeper list is empty at the end.
    fn two_workers(tasks: usize, preemptions: usize) {
        model(preemptions, move || {
            let s = sleepers(2);
            let queued = Arc::new(AtomicUsize::new(0));
            let stop = Arc::new(AtomicBool::new(false));
            let ran = Arc::new(AtomicUsize::new(0));
            let workers: Vec<_> = (0..2)
                .map(|i| {
                    let (s, queued, stop, ran) = (s.clone(), queued.clone(), stop.clone(), ran.clone());
                    thread::spawn(move || loop {
                        if take(&queued) {
                            if ran.fetch_add(1, Ordering::SeqCst) + 1 == tasks {
                                stop.store(true, Ordering::SeqCst);
                                s.unpark_all();
                            }
                        } else if stop.load(Ordering::SeqCst) {
                            break;
                        } else {
                            s.sleep(i, || {
                                queued.load(Ordering::Acquire) > 0 || stop.load(Ordering::SeqCst)
                            });
                        }
                    })
                })
                .collect();
            for _ in 0..tasks {
                push(&s, &queued);
            }
            for w in workers {
                w.join().unwrap();
            }
            assert_eq!(ran.load(Ordering::SeqCst), tasks);
            assert_quiet(&s);
        });
    }

    #[test]
    fn loom_two_workers_one_task_then_stop() {
        two_workers(1, 3);
    }

    /// (Bounded to 2 preemptions: 3 takes over a minute.)
    #[test]
    fn loom_two_workers_two_tasks_then_stop() {
        two_workers(2, 2);
    }
}
