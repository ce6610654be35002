//! The scheduler: runs only components that have something to do, and sleeps
//! when none do.
//!
//! * **O(1) per wake.** A wake pushes the component onto a run queue at most once
//!   (see [`crate::task::WakeFlag`]). Idle components are on no queue and cost
//!   nothing per step, however many exist.
//! * **One worker thread per core** by default ([`SystemBuilder::threads`]; 1 works
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
//! [`System::run`] returns when every component has finished;
//! [`System::start`] runs in the background and returns a [`RunningSystem`] for
//! waiting or shutting down. A [stepped](SystemBuilder::stepped) system has no
//! threads of its own: the caller runs one component step at a time
//! ([`System::step`], see [`crate::step`]); [`SystemBuilder::slow_motion`]
//! puts a delay after every step.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use slab::Slab;

use crate::component::{self, ComponentRef, Outcome};
use crate::idle::Sleepers;
use crate::park::{Park, ThreadPark};
use crate::step::StepError;
use crate::sync::{AtomicBool, AtomicUsize, Mutex, Ordering, ShortLock};
use crate::task::{Runnable, Task, TaskRef};

/// Makes the [`Park`] of worker `i`.
type MakePark = Box<dyn Fn(usize) -> Arc<dyn Park> + Send + Sync>;

/// Configures a [`System`].
pub struct SystemBuilder {
    threads: usize,
    name: String,
    park: Option<MakePark>,
    stepped: bool,
    slow_motion: Option<Duration>,
}

impl std::fmt::Debug for SystemBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemBuilder")
            .field("threads", &self.threads)
            .field("name", &self.name)
            .field("stepped", &self.stepped)
            .field("slow_motion", &self.slow_motion)
            .finish()
    }
}

impl Default for SystemBuilder {
    fn default() -> Self {
        SystemBuilder {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            name: "axon".into(),
            park: None,
            stepped: false,
            slow_motion: None,
        }
    }
}

impl SystemBuilder {
    /// Number of scheduler threads (default: one per core). `0` is treated as 1.
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n.max(1);
        self
    }

    /// Name prefix of the scheduler threads.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// Supply where worker `i` sleeps when idle (default: [`ThreadPark`]). The
    /// network layer uses this to make an I/O poller the place a worker sleeps.
    pub fn park(mut self, make: impl Fn(usize) -> Arc<dyn Park> + Send + Sync + 'static) -> Self {
        self.park = Some(Box::new(make));
        self
    }

    /// A stepped system: no scheduler threads of its own. The caller runs it
    /// one component step at a time with [`System::step`] (or
    /// [`try_step`](System::try_step), [`step_timeout`](System::step_timeout))
    /// on its own thread; see [`crate::step`]. [`System::run`] steps it on the
    /// calling thread until every component has finished, and
    /// [`System::start`] on one background thread (while either runs,
    /// `step` answers [`StepError::Busy`]). Overrides
    /// [`threads`](Self::threads): a stepped system has one run queue.
    pub fn stepped(mut self) -> Self {
        self.stepped = true;
        self
    }

    /// Slow motion: wait `delay` after every component step, so a person can
    /// follow what runs (with tracing or [`System::snapshot`]) or a test can
    /// stretch a race. Applies wherever the system's scheduler loop runs:
    /// [`System::run`], [`System::start`], and on every worker thread (each
    /// waits after its own steps, so `n` threads take up to `n` steps per
    /// delay). [`System::step`] itself never waits: whoever calls it sets the
    /// pace. An idle system still sleeps with no timeout; the delay follows
    /// steps, not time. `Duration::ZERO` turns it off.
    pub fn slow_motion(mut self, delay: Duration) -> Self {
        self.slow_motion = (!delay.is_zero()).then_some(delay);
        self
    }

    /// Build the system. Nothing runs until [`System::run`] or [`System::start`]
    /// (or, for a [stepped](Self::stepped) system, [`System::step`]).
    pub fn build(self) -> System {
        let n = if self.stepped { 1 } else { self.threads };
        let workers: Vec<Worker<Runnable>> = (0..n).map(|_| Worker::new_fifo()).collect();
        let stealers = workers.iter().map(Worker::stealer).collect();
        let parkers = (0..n)
            .map(|i| match &self.park {
                Some(make) => make(i),
                None => Arc::new(ThreadPark::new()) as Arc<dyn Park>,
            })
            .collect();
        System {
            shared: Arc::new(Shared {
                name: self.name,
                injector: Injector::new(),
                stealers,
                workers: Mutex::new(workers.into_iter().map(Some).collect()),
                idle: Sleepers::new(parkers),
                stop: AtomicBool::new(false),
                keep_alive: AtomicBool::new(false),
                running: AtomicUsize::new(0),
                live: AtomicUsize::new(0),
                registry: ShortLock::new(Slab::new()),
                idle_waiters: Mutex::new(Vec::new()),
                cat: crate::cat::Cat::new(), // the system's CAT (see cat.rs)
                stepper: self.stepped.then(Stepper::default),
                slow_motion: self.slow_motion,
            }),
        }
    }
}

/// A live component as the system tracks it.
///
/// An async component is tracked through its task, which holds the
/// component: one reference count fewer per spawn than keeping both.
pub(crate) enum Registered {
    /// An async component's task (its header holds the component).
    Async(TaskRef),
    /// A threaded component.
    Threaded(ComponentRef),
}

impl Registered {
    /// The component, async or threaded.
    pub(crate) fn component(&self) -> &ComponentRef {
        match self {
            Registered::Async(task) => &task.component,
            Registered::Threaded(component) => component,
        }
    }
}

/// State shared by the system handle, its workers and its tasks.
pub(crate) struct Shared {
    name: String,
    injector: Injector<Runnable>,
    stealers: Vec<Stealer<Runnable>>,
    workers: Mutex<Vec<Option<Worker<Runnable>>>>,
    /// The workers' parkers and which workers sleep.
    idle: Sleepers,
    stop: AtomicBool,
    keep_alive: AtomicBool,
    /// Worker threads currently in their loop.
    running: AtomicUsize,
    live: AtomicUsize,
    /// Live components. A component keeps its slot number (see
    /// `ComponentShared::registry_slot`), so finishing is O(1) without hashing.
    pub(crate) registry: ShortLock<Slab<Registered>>,
    idle_waiters: Mutex<Vec<Waker>>,
    /// The system's CAT (service registry), reached through `System::cat` in cat.rs.
    pub(crate) cat: crate::cat::Cat,
    /// For a stepped system: who drives it now, and what its one worker
    /// keeps between steps.
    stepper: Option<Stepper>,
    /// The delay after every step ([`SystemBuilder::slow_motion`]).
    slow_motion: Option<Duration>,
}

/// A stepped system's driver seat.
#[derive(Default)]
struct Stepper {
    /// Claimed by a step for its duration, and by `run`/`start` (on the
    /// calling thread, released when the worker loop ends), so only one of
    /// them drives the system at a time.
    busy: AtomicBool,
    /// Only touched by whoever holds `busy`.
    state: Mutex<StepState>,
}

impl Stepper {
    /// Take the seat; false if somebody has it.
    fn claim(&self) -> bool {
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

/// How long a step waits for a component to become runnable.
#[derive(Clone, Copy, Debug)]
pub(crate) enum StepWait {
    /// Not at all ([`System::try_step`]).
    No,
    /// Until one is, or no component is left ([`System::step`]).
    Forever,
    /// Until then at the latest ([`System::step_timeout`]).
    Until(Instant),
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
    /// It finished (its outcome is recorded on the component).
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

    fn unpark_all(&self) {
        self.idle.unpark_all();
    }

    fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.stealers.iter().any(|s| !s.is_empty())
    }

    /// A component starts: it counts as live and is listed until it finishes.
    pub(crate) fn register(&self, entry: Registered) {
        self.live.fetch_add(1, Ordering::SeqCst);
        let mut registry = self.registry.lock();
        let slot = registry.vacant_entry();
        entry.component().set_registry_slot(slot.key());
        slot.insert(entry);
    }

    pub(crate) fn component_finished(&self, component: &ComponentRef) {
        if let Some(slot) = component.take_registry_slot() {
            let removed = {
                let mut registry = self.registry.lock();
                // The slot is ours: it was cleared on our side before anyone
                // else could be given it.
                registry
                    .get(slot)
                    .is_some_and(|r| r.component() == component)
                    .then(|| registry.remove(slot))
            };
            // Dropped after the registry's spin lock is released: the entry
            // holds a reference to the task (or component), and whatever its
            // drop runs should not run with other spawns spinning on the lock.
            drop(removed);
        }
        if self.live.fetch_sub(1, Ordering::SeqCst) == 1 {
            let waiters = std::mem::take(&mut *self.idle_waiters.lock());
            for w in waiters {
                w.wake();
            }
            if !self.keep_alive.load(Ordering::SeqCst) {
                self.stop.store(true, Ordering::SeqCst);
                self.unpark_all();
            }
        }
    }

    pub(crate) fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
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
    fn worker_loop(self: &Arc<Self>, index: usize) {
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
        crate::coop::clear();
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
    /// runnable component once and say which it was and what came of it.
    /// `Ok(None)` when no component is left. While none is runnable it
    /// sleeps as an idle worker does (woken by whoever queues work, or by the
    /// last component finishing elsewhere), as long as `wait` allows.
    pub(crate) fn step(self: &Arc<Self>, wait: StepWait) -> Result<Option<(ComponentRef, Ran)>, StepError> {
        let Some(stepper) = &self.stepper else {
            return Err(StepError::NotStepped);
        };
        if !WORKER_OF.with(Cell::get).is_null() || !LOCAL.with(Cell::get).is_null() {
            return Err(StepError::OnSchedulerThread);
        }
        if !stepper.claim() {
            return Err(StepError::Busy);
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
                crate::coop::clear();
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
                let component = task.task().component.clone();
                match run_task(task) {
                    // Nothing ran: look again.
                    Ran::Gone => continue,
                    ran => break Ok(Some((component, ran))),
                }
            }
            if self.live() == 0 {
                break Ok(None);
            }
            let timeout = match wait {
                StepWait::No => break Err(StepError::WouldBlock),
                StepWait::Forever => None,
                StepWait::Until(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => break Err(StepError::TimedOut),
                },
            };
            // So that the last component to finish, on another thread,
            // unparks us (`component_finished`); `start` may have set it.
            self.keep_alive.store(false, Ordering::SeqCst);
            self.idle
                .sleep_timeout(0, timeout, || self.has_work() || self.live() == 0);
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
        crate::coop::reset();
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
                    After::Finished(Outcome::Panicked(component::panic_message(&*panic)))
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
            component::finish(&task.component, outcome);
            Ran::Finished
        }
    }
}

/// A set of components and the scheduler threads that run them.
///
/// Cheap to clone: every clone drives the same system. Spawn components with
/// [`System::spawn`] / [`System::spawn_threaded`], then [`run`](System::run) it
/// (blocking until every component has finished) or [`start`](System::start) it
/// in the background.
#[derive(Clone)]
pub struct System {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for System {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("System")
            .field("name", &self.shared.name)
            .field("threads", &self.shared.idle.workers())
            .field("live_components", &self.shared.live())
            .finish()
    }
}

impl Default for System {
    fn default() -> Self {
        Self::new()
    }
}

impl System {
    /// A system with one scheduler thread per core.
    pub fn new() -> Self {
        SystemBuilder::default().build()
    }

    /// Configure a system.
    pub fn builder() -> SystemBuilder {
        SystemBuilder::default()
    }

    /// Number of scheduler threads (1 for a [stepped](SystemBuilder::stepped)
    /// system: whichever thread steps or runs it).
    pub fn threads(&self) -> usize {
        self.shared.idle.workers()
    }

    /// Whether this is a [stepped](SystemBuilder::stepped) system.
    pub fn is_stepped(&self) -> bool {
        self.shared.stepper.is_some()
    }

    /// Whether scheduler threads are running (inside [`run`](Self::run) or
    /// between [`start`](Self::start) and shutdown, or inside a
    /// [`step`](Self::step)). Components spawned while it is not running wait
    /// until it is.
    pub fn is_running(&self) -> bool {
        self.shared.running.load(Ordering::SeqCst) > 0
    }

    /// Number of components (async and threaded) that have not finished.
    pub fn live_components(&self) -> usize {
        self.shared.live()
    }

    /// Run the scheduler on this thread (plus `threads - 1` more) until every
    /// component has finished. Returns at once if none exist. A
    /// [stepped](SystemBuilder::stepped) system is stepped on this thread
    /// alone (waiting for a [`step`](Self::step) in progress elsewhere to end
    /// first).
    ///
    /// # Panics
    /// On a stepped system that another thread is stepping or running.
    pub fn run(&self) {
        if self.shared.live() == 0 {
            return;
        }
        self.claim_stepper("run");
        self.shared.keep_alive.store(false, Ordering::SeqCst);
        self.shared.stop.store(false, Ordering::SeqCst);
        let handles = self.spawn_workers(1);
        self.shared.worker_loop(0);
        for h in handles {
            let _ = h.join();
        }
    }

    /// Run the scheduler on background threads. The system keeps running (even
    /// with no components) until [`RunningSystem::shutdown`] or
    /// [`RunningSystem::wait`].
    ///
    /// A [stepped](SystemBuilder::stepped) system runs on one background
    /// thread; [`step`](Self::step) answers [`StepError::Busy`] until it has
    /// stopped.
    ///
    /// # Panics
    /// On a stepped system that another thread is stepping or running.
    pub fn start(&self) -> RunningSystem {
        self.claim_stepper("start");
        self.shared.keep_alive.store(true, Ordering::SeqCst);
        self.shared.stop.store(false, Ordering::SeqCst);
        RunningSystem {
            system: self.clone(),
            handles: self.spawn_workers(0),
        }
    }

    /// On a stepped system, take the seat for the worker loop about to start
    /// (which gives it back when it ends).
    fn claim_stepper(&self, what: &str) {
        if let Some(stepper) = &self.shared.stepper {
            assert!(
                stepper.claim(),
                "System::{what} on a stepped system that is being stepped or running already"
            );
        }
    }

    fn spawn_workers(&self, from: usize) -> Vec<JoinHandle<()>> {
        (from..self.threads())
            .map(|i| {
                let shared = self.shared.clone();
                std::thread::Builder::new()
                    .name(format!("{}-worker-{i}", self.shared.name))
                    .spawn(move || shared.worker_loop(i))
                    .expect("could not start a scheduler thread")
            })
            .collect()
    }

    /// A future that resolves when no component is left (for plain async code).
    pub fn all_finished(&self) -> AllFinished {
        AllFinished {
            shared: self.shared.clone(),
        }
    }

    /// Every live component (for tools; see [`System::snapshot`]).
    pub fn components(&self) -> Vec<ComponentRef> {
        let mut v: Vec<_> = self
            .shared
            .registry
            .lock()
            .iter()
            .map(|(_, r)| r.component().clone())
            .collect();
        v.sort_by_key(|c| c.id());
        v
    }
}

/// Future of [`System::all_finished`].
pub struct AllFinished {
    shared: Arc<Shared>,
}

impl std::future::Future for AllFinished {
    type Output = ();
    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.shared.live() == 0 {
            return Poll::Ready(());
        }
        self.shared.idle_waiters.lock().push(cx.waker().clone());
        if self.shared.live() == 0 {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

/// A system running in the background ([`System::start`]).
#[derive(Debug)]
pub struct RunningSystem {
    system: System,
    handles: Vec<JoinHandle<()>>,
}

impl RunningSystem {
    /// The system, for spawning more components.
    pub fn system(&self) -> &System {
        &self.system
    }

    /// Block until every component has finished, then stop the scheduler threads.
    pub fn wait(mut self) {
        crate::threaded::block_on(self.system.all_finished());
        self.stop_workers();
    }

    /// Stop now: the scheduler threads stop, every async component that has not
    /// finished is cancelled (its future dropped, its parent told
    /// [`Outcome::Cancelled`]), and threaded components have their boxes closed so
    /// their blocking calls return `Closed` (their threads are not joined).
    pub fn shutdown(mut self) {
        self.stop_workers();
        shutdown_components(&self.system.shared);
    }

    fn stop_workers(&mut self) {
        let shared = &self.system.shared;
        shared.stop.store(true, Ordering::SeqCst);
        shared.unpark_all();
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

impl Drop for RunningSystem {
    fn drop(&mut self) {
        if !self.handles.is_empty() {
            self.stop_workers();
            shutdown_components(&self.system.shared);
        }
    }
}

fn shutdown_components(shared: &Arc<Shared>) {
    // Slot by slot rather than from a copy of the whole registry: that copy
    // (16 bytes per component) was allocated when the process is at its
    // largest and set the peak. Each component's entry leaves the registry as
    // it finishes below; a threaded one stays until its thread ends.
    let mut key = 0;
    loop {
        let (comp, task) = {
            let registry = shared.registry.lock();
            if key >= registry.capacity() {
                break;
            }
            match registry.get(key) {
                Some(Registered::Async(task)) => (task.component.clone(), Some(task.clone())),
                Some(Registered::Threaded(comp)) => (comp.clone(), None),
                None => {
                    key += 1;
                    continue;
                }
            }
        };
        key += 1;
        match task {
            Some(task) => {
                // SAFETY: every worker thread of this system has been joined
                // (`stop_workers` ran first), so nobody holds the run right and
                // no worker will take it: the queues are drained below and the
                // flag is `finish`ed before anything can queue the task again.
                let dropped = catch_unwind(AssertUnwindSafe(|| unsafe { task.drop_body() }));
                // A body whose destructor panicked was there all the same.
                if dropped.unwrap_or(true) {
                    task.flag.finish();
                    component::finish(&comp, Outcome::Cancelled);
                }
            }
            None => comp.close_boxes(),
        }
    }
    // Drain queued tasks so their references (and the components' boxes) are freed.
    while !shared.injector.is_empty() {
        let _ = shared.injector.steal();
    }
}
