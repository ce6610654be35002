//! The scheduler: runs only components that have something to do, and sleeps
//! when none do.
//!
//! * **O(1) per wake.** A wake pushes the component onto a run queue at most once
//!   (a per-task wake flag, `task.rs`). Idle components are on no queue and cost
//!   nothing per step, however many exist.
//! * **One worker thread per core** by default ([`crate::SystemBuilder::threads`]; 1 works
//!   and runs on the calling thread). Each worker has its own FIFO run queue;
//!   wakes from a worker go to its own queue, wakes from any other thread go
//!   through a lock-free injector; an idle worker steals from the others.
//! * **Fairness.** Each poll gets a budget of ready box operations
//!   (`coop.rs`); a component woken while running goes to the back of the
//!   queue; every 61st pick looks at the injector first.
//! * **No reference counting per message.** A wake from one of the system's own
//!   workers queues the task without touching its reference count, and a
//!   component is polled with a waker that borrows the worker's reference
//!   (`Runnable` in `task.rs` says why that is sound); boxes keep their
//!   receiver's waker between wakes (`wakeup.rs`).
//! * **Sleeping.** A worker with nothing to do announces itself as a sleeper,
//!   checks the queues once more, and parks in its [`Park`] with no timeout.
//!   Whoever queues work unparks one sleeper; a worker queueing work on its
//!   own queue does so at most once a poll (`Helper`). The hand-off lives in
//!   `idle.rs` (it has `loom` models).
//!
//! A *stepped* system has no threads of its own: whoever steps it runs one
//! task poll at a time on its own thread ([`Shared::step`], made public as
//! `System::step`), and a slow-motion delay may follow every poll.
//!
//! This is the runtime's half: it knows tasks, not components. The
//! [`System`](crate::System) that spawns components, tracks them and starts
//! and stops the workers is the component layer's (`component/system.rs`).

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crossbeam_deque::{Injector, Steal, Stealer, Worker};

use crate::runtime::idle::Sleepers;
use crate::runtime::outcome::{panic_message, Outcome};
use crate::runtime::park::Park;
use crate::runtime::sync::{AtomicBool, AtomicUsize, Mutex, Ordering};
use crate::runtime::task::{Runnable, Task, TaskRef};

/// The scheduler's state, shared by the system's handle (through the
/// component layer's `SystemShared`), its workers and its tasks.
pub(crate) struct Shared {
    pub(crate) name: String,
    pub(crate) injector: Injector<Runnable>,
    stealers: Vec<Stealer<Runnable>>,
    workers: Mutex<Vec<Option<Worker<Runnable>>>>,
    /// The workers' parkers and which workers sleep.
    pub(crate) idle: Sleepers,
    /// Workers leave their loop (set when the last component finishes, unless
    /// `keep_alive`, or by shutdown).
    pub(crate) stop: AtomicBool,
    /// Run in the background until shut down, even with no component left.
    pub(crate) keep_alive: AtomicBool,
    /// Worker threads currently in their loop (or steps in progress).
    pub(crate) running: AtomicUsize,
    /// For a stepped system: who drives it now, and what its one worker
    /// keeps between steps.
    pub(crate) stepper: Option<Stepper>,
    /// The delay after every step (`SystemBuilder::slow_motion`).
    slow_motion: Option<Duration>,
}

/// A stepped system's driver seat.
#[derive(Default)]
pub(crate) struct Stepper {
    /// Claimed by a step for its duration, and by `run`/`start` (on the
    /// calling thread, released when the worker loop ends), so only one of
    /// them drives the system at a time.
    busy: AtomicBool,
    /// Only touched by whoever holds `busy`.
    state: Mutex<StepState>,
}

impl Stepper {
    /// Take the seat; false if somebody has it.
    pub(crate) fn claim(&self) -> bool {
        self.busy
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

/// Gives a stepped system's seat back when dropped.
struct Release<'a>(Option<&'a Stepper>);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        if let Some(stepper) = self.0 {
            stepper.busy.store(false, Ordering::Release);
        }
    }
}

/// The worker state of a stepped system that outlives a step (its run queue
/// stays in `Shared::workers`, as any worker's does between runs).
#[derive(Default)]
struct StepState {
    /// The LIFO slot (see `Local::lifo`). Its entry may be uncounted: the
    /// task is `SCHEDULED` and registered, and only the holder of the seat
    /// (a step, or a worker loop, which takes it over) ever takes it out.
    lifo: Option<Runnable>,
    streak: u8,
    tick: u32,
}

/// How long a step waits for a task to become runnable.
#[derive(Clone, Copy, Debug)]
pub(crate) enum StepWait {
    /// Not at all (`System::try_step`).
    No,
    /// Until one is, or no component is left (`System::step`).
    Forever,
    /// Until then at the latest (`System::step_timeout`).
    Until(Instant),
}

/// Why a step ran nothing; the component layer's `StepError` says it to users.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StepRefused {
    /// The system has worker threads.
    NotStepped,
    /// Somebody else drives it.
    Busy,
    /// Called on a thread that runs a worker loop or a step.
    OnSchedulerThread,
    /// Nothing runnable and `StepWait::No`.
    WouldBlock,
    /// Nothing became runnable before the deadline.
    TimedOut,
}

/// What one poll of a task came to (see [`run_task`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ran {
    /// The body was gone already: nothing ran.
    Gone,
    /// It returned `Pending` and waits to be woken.
    Waiting,
    /// It was woken while it ran and is queued again.
    Requeued,
    /// It finished (its outcome is recorded by its owner).
    Finished,
}

struct Local {
    shared: Arc<Shared>,
    queue: Worker<Runnable>,
    /// The task woken last by the task running on this worker, if fewer than
    /// `LIFO_MAX_QUEUED` tasks were queued here then: it runs next, while its
    /// messages are still in cache, and a ping-pong or a ring never touches
    /// the run queue. A task woken while more are queued goes behind them
    /// instead: with that many runnable the cache is cold anyway, order stays
    /// first come, first served, and a component that many others wake (a
    /// parent collecting from its children, a fan-in consumer) runs once per
    /// batch of their messages rather than once per message. Not visible to
    /// thieves; a task that keeps taking the slot gives it up after
    /// `LIFO_STREAK` turns, so the queue and work arriving from outside are
    /// not starved.
    lifo: Cell<Option<Runnable>>,
    /// LIFO runs in a row.
    streak: Cell<u8>,
    /// Whether the current poll has woken a sleeping worker for work it queued
    /// here (see [`Helper`]).
    helper: Cell<Helper>,
}

/// Waking a sleeping worker to share this worker's queue, at most once a poll.
///
/// Work queued on a worker's own queue will run there anyway; a sleeper is
/// woken only so that it can steal some, and the wake costs the waker a
/// futex system call (about 0.3 µs on our test machine). A poll that queues
/// many tasks (a parent spawning children in a loop) used to pay that call for
/// nearly every one: the helper stole the one or two queued so far, ran them,
/// found nothing and slept again before the next arrived (`bench spawn`,
/// `axon-n`: one futex call per component). Now the first task a poll queues
/// wakes a helper; later ones in the same poll do not, and if any were held
/// back and are still queued when the poll ends, one more wake goes out then.
/// A helper that is awake steals from the queue on its own, so held-back work
/// waits for a helper no longer than the poll that queued it; and a task
/// nobody steals runs on this worker anyway: the rule can cost parallelism,
/// never liveness.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Helper {
    /// This poll has queued nothing here yet.
    Quiet,
    /// This poll queued work and notified a sleeper (if there was one).
    Woken,
    /// Work queued after that was not announced.
    Held,
}

/// How many times in a row the LIFO slot may run before the queue gets a turn.
const LIFO_STREAK: u8 = 3;

/// A woken task takes the LIFO slot only while fewer tasks than this are
/// queued on the worker (see `Local::lifo`).
const LIFO_MAX_QUEUED: usize = 32;

/// Every this many ticks a worker looks at the injector (tasks woken from
/// outside) before its own queue, so those are not starved by local work.
const INJECTOR_TICK: u32 = 61;

thread_local! {
    /// The state of the worker loop (or step, `Shared::step`) running on this
    /// thread (null if none). It lives in `worker_loop`'s (or `step`'s) frame,
    /// which sets this pointer on entry and restores the previous value
    /// (normally or while unwinding) before the state is dropped; see
    /// [`with_local`]. A plain pointer rather than a
    /// `RefCell<Option<Local>>`: a wake (every message hop) reads it without a
    /// borrow count to bump and restore.
    static LOCAL: Cell<*const Local> = const { Cell::new(std::ptr::null()) };
    /// The system whose worker loop (or step) runs on this thread (null if none): lets a
    /// wake decide, without looking at `LOCAL`, whether it may queue a task
    /// without a reference count (see [`Runnable`]).
    static WORKER_OF: Cell<*const Shared> = const { Cell::new(std::ptr::null()) };
}

/// Run `f` with this thread's worker state, if a worker loop runs here.
#[inline]
fn with_local<R>(f: impl for<'a> FnOnce(Option<&'a Local>) -> R) -> R {
    let p = LOCAL.with(Cell::get);
    // SAFETY: `LOCAL` is non-null only while the `Local` it points to is alive:
    // `worker_loop` and `step` point it at a `Local` in their own frame and a guard declared
    // after that `Local` (so dropped before it, also when unwinding) puts the
    // previous value back. Only this thread reads it, and every field of `Local`
    // is used through `&self` (cells, a run queue pushed and popped through
    // `&Worker`), so the shared reference may coexist with the loop's own. The
    // closure cannot keep the reference (`R` does not depend on `'a`).
    f(unsafe { p.as_ref() })
}

/// Queue an entry made by [`Shared::claim`] (the task's flag already says
/// `SCHEDULED`) on the task's system.
#[inline]
pub(crate) fn schedule_claimed(r: Runnable) {
    if r.is_counted() {
        // From outside the system: once queued, the task may run and finish
        // before `enqueue` returns, so hold the system ourselves.
        let shared = r.task().shared.clone();
        shared.enqueue(r, true);
    } else {
        let shared: *const Shared = &*r.task().shared;
        // SAFETY: an uncounted entry is made on a worker of the task's system,
        // which keeps that system alive (`Local::shared`) for as long as this
        // thread runs its loop (or step); we are inside it.
        unsafe { &*shared }.enqueue(r, true);
    }
}

impl Shared {
    /// The scheduler of a system with one worker per parker in `parkers`
    /// (`stepped`: driven by `step`, with exactly one parker), waiting
    /// `slow_motion` after every poll if set.
    pub(crate) fn new(
        name: String,
        parkers: Vec<Arc<dyn Park>>,
        stepped: bool,
        slow_motion: Option<Duration>,
    ) -> Shared {
        let workers: Vec<Worker<Runnable>> = parkers.iter().map(|_| Worker::new_fifo()).collect();
        let stealers = workers.iter().map(Worker::stealer).collect();
        Shared {
            name,
            injector: Injector::new(),
            stealers,
            workers: Mutex::new(workers.into_iter().map(Some).collect()),
            idle: Sleepers::new(parkers),
            stop: AtomicBool::new(false),
            keep_alive: AtomicBool::new(false),
            running: AtomicUsize::new(0),
            stepper: stepped.then(Stepper::default),
            slow_motion,
        }
    }

    /// Put a woken task on a run queue: this worker's own if we are one of this
    /// system's workers, the injector otherwise.
    pub(crate) fn schedule(&self, r: Runnable) {
        self.enqueue(r, true);
    }

    /// Queue a newly spawned task at the back of the run queue, never in the
    /// LIFO slot: components spawned together take their first step in spawn
    /// order, before any of them takes its second (fair start).
    pub(crate) fn schedule_spawned(&self, r: Runnable) {
        self.enqueue(r, false);
    }

    /// Queue `task`, whose flag the caller has just moved to `SCHEDULED`.
    pub(crate) fn schedule_woken(&self, task: &Task) {
        self.enqueue(self.claim(task), true);
    }

    /// The run-queue entry for `task`, whose flag the caller has just moved to
    /// `SCHEDULED`: without a reference count when this thread is one of this
    /// system's workers, counted otherwise. Queue it (on this thread) at once.
    pub(crate) fn claim(&self, task: &Task) -> Runnable {
        if std::ptr::eq(WORKER_OF.with(Cell::get), self) {
            // SAFETY: this thread is a worker of the task's system (`task.shared`
            // is `self`: callers pass a task of this system), the caller moved
            // the flag to SCHEDULED, and the entry is queued from this thread
            // before its worker loop (or step) can end.
            unsafe { Runnable::uncounted(task) }
        } else {
            Runnable::counted(task.to_ref())
        }
    }

    fn enqueue(&self, r: Runnable, lifo: bool) {
        enum Placed {
            /// On this worker, nobody to tell: the private slot, or the queue
            /// when this poll has woken a helper already (see `Helper`).
            Here,
            /// On this worker's queue, the first this poll: wake a helper.
            Shared,
            Elsewhere(Runnable),
        }
        let placed = with_local(|local| match local {
            Some(local) if std::ptr::eq(Arc::as_ptr(&local.shared), self) => {
                // The slot only while few others are queued here (see
                // `Local::lifo`): otherwise first come, first served.
                if lifo && local.queue.len() < LIFO_MAX_QUEUED {
                    match local.lifo.replace(Some(r)) {
                        Some(prev) => local.queue.push(prev),
                        None => return Placed::Here,
                    }
                } else {
                    local.queue.push(r);
                }
                if local.helper.get() == Helper::Quiet {
                    local.helper.set(Helper::Woken);
                    Placed::Shared
                } else {
                    local.helper.set(Helper::Held);
                    Placed::Here
                }
            }
            _ => Placed::Elsewhere(r),
        });
        match placed {
            Placed::Here => {}
            Placed::Shared => self.idle.notify_for_local_work(),
            Placed::Elsewhere(r) => {
                // Not a worker of this system. (An uncounted entry never lands
                // here: it is made only on a worker of this system, whose
                // `LOCAL` is set for as long as `WORKER_OF` is; were it to, the
                // injector is one of the system's queues, which shutdown
                // drains, see `Runnable`.)
                self.injector.push(r);
                self.idle.notify_one();
            }
        }
    }

    pub(crate) fn unpark_all(&self) {
        self.idle.unpark_all();
    }

    fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.stealers.iter().any(|s| !s.is_empty())
    }

    fn find_task(&self, queue: &Worker<Runnable>, tick: u32) -> Option<Runnable> {
        if tick.is_multiple_of(INJECTOR_TICK) {
            if let Some(t) = steal_from(|| self.injector.steal_batch_and_pop(queue)) {
                return Some(t);
            }
        }
        queue
            .pop()
            .or_else(|| steal_from(|| self.injector.steal_batch_and_pop(queue)))
            .or_else(|| {
                self.stealers
                    .iter()
                    .find_map(|s| steal_from(|| s.steal_batch_and_pop(queue)))
            })
    }

    fn sleep(&self, index: usize) {
        self.idle
            .sleep(index, || self.has_work() || self.stop.load(Ordering::SeqCst));
    }

    /// The next task for the worker whose state is `local`: the LIFO slot
    /// (for a few turns in a row), else the queue, the injector, the others.
    #[inline(always)]
    fn next_task(&self, local: &Local, tick: u32) -> Option<Runnable> {
        if let Some(t) = local.lifo.take() {
            if local.streak.get() < LIFO_STREAK {
                local.streak.set(local.streak.get() + 1);
                return Some(t);
            }
            if local.queue.is_empty() && !tick.is_multiple_of(INJECTOR_TICK) {
                // Its turn is up, but nothing else is queued here and
                // this is not a tick that looks at the injector first:
                // `find_task` would pop it straight back off the queue.
                return Some(t);
            }
            local.queue.push(t);
        }
        local.streak.set(0);
        self.find_task(&local.queue, tick)
    }

    /// A worker's loop. On a stepped system, whoever started it has claimed
    /// the seat ([`Stepper::claim`]); the loop gives it back when it ends.
    pub(crate) fn worker_loop(self: &Arc<Self>, index: usize) {
        let release = Release(self.stepper.as_ref());
        self.running.fetch_add(1, Ordering::SeqCst);
        let _running = RunningGuard(&self.running);
        let queue = self.workers.lock()[index]
            .take()
            .expect("scheduler worker started twice");
        let local = Local {
            shared: self.clone(),
            queue,
            // A stepped system's worker takes over the slot the last step left.
            lifo: Cell::new(self.stepper.as_ref().and_then(|s| s.state.lock().lifo.take())),
            streak: Cell::new(0),
            helper: Cell::new(Helper::Quiet),
        };
        let slow_motion = self.slow_motion;
        /// Puts back the previous `LOCAL` when the loop ends or unwinds, before
        /// `local` (declared earlier) is dropped.
        struct Restore(*const Local);
        impl Drop for Restore {
            fn drop(&mut self) {
                LOCAL.with(|l| l.set(self.0));
            }
        }
        let restore = Restore(LOCAL.with(|l| l.replace(&local)));
        WORKER_OF.with(|w| w.set(Arc::as_ptr(self)));
        let mut tick: u32 = 0;
        loop {
            tick = tick.wrapping_add(1);
            let next = self.next_task(&local, tick);
            match next {
                // Shutdown stops a worker even while components stay runnable;
                // the tasks it leaves are handed back and cancelled.
                Some(task)
                    if self.stop.load(Ordering::Relaxed) && self.keep_alive.load(Ordering::Relaxed) =>
                {
                    local.queue.push(task);
                    break;
                }
                Some(task) => {
                    run_task(task);
                    // Work queued by that poll and not announced yet: one wake
                    // for all of it (see `Helper`).
                    if local.helper.replace(Helper::Quiet) == Helper::Held && !local.queue.is_empty() {
                        self.idle.notify_for_local_work();
                    }
                    if let Some(delay) = slow_motion {
                        std::thread::sleep(delay);
                    }
                }
                None => {
                    if self.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    self.sleep(index);
                }
            }
        }
        crate::runtime::coop::clear();
        WORKER_OF.with(|w| w.set(std::ptr::null()));
        drop(restore);
        if let Some(t) = local.lifo.take() {
            self.injector.push(t);
        }
        // Hand back anything still queued so a later run picks it up.
        while let Some(t) = local.queue.pop() {
            self.injector.push(t);
        }
        self.workers.lock()[index] = Some(local.queue);
        drop(release);
    }

    /// One step of a stepped system on the calling thread: poll the next
    /// runnable task once and say which it was and what came of it.
    /// `Ok(None)` when `live()` says no component is left. While none is
    /// runnable it sleeps as an idle worker does (woken by whoever queues
    /// work, or by the last component finishing elsewhere), as long as `wait`
    /// allows.
    pub(crate) fn step(
        self: &Arc<Self>,
        wait: StepWait,
        live: &dyn Fn() -> usize,
    ) -> Result<Option<(TaskRef, Ran)>, StepRefused> {
        let Some(stepper) = &self.stepper else {
            return Err(StepRefused::NotStepped);
        };
        if !WORKER_OF.with(Cell::get).is_null() || !LOCAL.with(Cell::get).is_null() {
            return Err(StepRefused::OnSchedulerThread);
        }
        if !stepper.claim() {
            return Err(StepRefused::Busy);
        }
        let _release = Release(Some(stepper));
        let mut state = stepper.state.lock();
        self.running.fetch_add(1, Ordering::SeqCst);
        let _running = RunningGuard(&self.running);
        let queue = self.workers.lock()[0]
            .take()
            .expect("a stepped system's run queue is in use elsewhere");
        let local = Local {
            shared: self.clone(),
            queue,
            lifo: Cell::new(state.lifo.take()),
            streak: Cell::new(state.streak),
            helper: Cell::new(Helper::Quiet),
        };
        /// Clears this thread's worker state (both were null, see above) when
        /// the step ends or unwinds, before `local` (declared earlier) is
        /// dropped (see `with_local`).
        struct Clear;
        impl Drop for Clear {
            fn drop(&mut self) {
                crate::runtime::coop::clear();
                WORKER_OF.with(|w| w.set(std::ptr::null()));
                LOCAL.with(|l| l.set(std::ptr::null()));
            }
        }
        let clear = Clear;
        LOCAL.with(|l| l.set(&local));
        WORKER_OF.with(|w| w.set(Arc::as_ptr(self)));
        let result = loop {
            state.tick = state.tick.wrapping_add(1);
            if let Some(task) = self.next_task(&local, state.tick) {
                // Counted: the task may finish (and leave the registry) in this poll.
                let held = task.task().to_ref();
                match run_task(task) {
                    // Nothing ran: look again.
                    Ran::Gone => continue,
                    ran => break Ok(Some((held, ran))),
                }
            }
            if live() == 0 {
                break Ok(None);
            }
            let timeout = match wait {
                StepWait::No => break Err(StepRefused::WouldBlock),
                StepWait::Forever => None,
                StepWait::Until(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => break Err(StepRefused::TimedOut),
                },
            };
            // So that the last component to finish, on another thread,
            // unparks us (`component_finished`); `start` may have set it.
            self.keep_alive.store(false, Ordering::SeqCst);
            self.idle
                .sleep_timeout(0, timeout, || self.has_work() || live() == 0);
        };
        drop(clear);
        state.lifo = local.lifo.take();
        state.streak = local.streak.get();
        self.workers.lock()[0] = Some(local.queue);
        result
    }
}

struct RunningGuard<'a>(&'a AtomicUsize);

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn steal_from<T>(mut f: impl FnMut() -> Steal<T>) -> Option<T> {
    loop {
        match f() {
            Steal::Success(t) => return Some(t),
            Steal::Empty => return None,
            Steal::Retry => continue,
        }
    }
}

/// Poll one task once, isolating panics, and say what came of it.
#[inline(always)]
fn run_task(r: Runnable) -> Ran {
    enum After {
        /// Back to idle: the task may run (and finish) elsewhere from now on.
        Idle,
        /// Woken while it ran: back of this worker's queue.
        Requeue,
        Finished(Outcome),
    }
    let after = {
        let task = r.task();
        task.flag.start_run();
        let waker = task.borrowed_waker();
        let mut cx = Context::from_waker(&waker);
        crate::runtime::coop::reset();
        // SAFETY (both blocks): `start_run` above gave this worker the run
        // right (the task came off a run queue, where the flag puts it at most
        // once); it ends at `end_run`/`finish`, after the body's last use here.
        if task.stop.load(Ordering::Acquire) {
            // Stopped from outside (`ComponentRef::stop`): its body is dropped
            // here, at an await point, instead of being polled.
            // SAFETY: as below.
            let dropped = catch_unwind(AssertUnwindSafe(|| unsafe { task.drop_body() }));
            if !dropped.unwrap_or(true) {
                return Ran::Gone; // ended already
            }
            After::Finished(Outcome::Stopped)
        } else {
            match catch_unwind(AssertUnwindSafe(|| unsafe { task.poll_body(&mut cx) })) {
                Ok(None) => return Ran::Gone,
                Ok(Some(Poll::Pending)) if task.flag.end_run() => After::Requeue,
                Ok(Some(Poll::Pending)) => After::Idle,
                // `poll_body` dropped the finished body.
                Ok(Some(Poll::Ready(outcome))) => After::Finished(outcome),
                Err(panic) => {
                    // Dropping a body that just panicked may panic again; contain it.
                    let _ = catch_unwind(AssertUnwindSafe(|| unsafe { task.drop_body() }));
                    After::Finished(Outcome::Panicked(panic_message(&*panic)))
                }
            }
        }
    };
    match after {
        // `end_run` let go of the task: drop the entry without looking at it.
        After::Idle => {
            drop(r);
            Ran::Waiting
        }
        After::Requeue => {
            let shared: *const Shared = &*r.task().shared;
            // SAFETY: this worker's `Local::shared` keeps the system alive while
            // its loop (or step) runs (we are inside it), and the task came off
            // this system's queues.
            let shared = unsafe { &*shared };
            if shared.injector.is_empty() {
                shared.enqueue(r, false);
            } else {
                // Components queued from outside (spawned before the system
                // ran, or woken by a thread) have not all been taken in yet:
                // go behind them, so a component that yields does not take
                // its next step before they take their first (fair start).
                shared.injector.push(r);
            }
            Ran::Requeued
        }
        After::Finished(outcome) => {
            // Finishing removes the task from the registry, whose reference an
            // uncounted entry relies on: hold a counted one from here.
            let task = r.into_ref();
            task.flag.finish();
            task.finish_owner(outcome);
            Ran::Finished
        }
    }
}
