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
//! [`System::run`] returns when every component has finished, with a
//! [`RunReport`] of the top-level components that failed;
//! [`System::start`] runs in the background and returns a [`RunningSystem`] for
//! waiting or shutting down.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use std::thread::JoinHandle;

use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use slab::Slab;

use crate::component::{self, ComponentRef, Outcome};
use crate::idle::Sleepers;
use crate::park::{Park, ThreadPark};
use crate::report::{Failures, RunReport};
use crate::signal::Failure;
use crate::sync::{AtomicBool, AtomicUsize, Mutex, Ordering, ShortLock};
use crate::task::{Runnable, Task, TaskRef};

/// Makes the [`Park`] of worker `i`.
type MakePark = Box<dyn Fn(usize) -> Arc<dyn Park> + Send + Sync>;

/// Configures a [`System`].
pub struct SystemBuilder {
    threads: usize,
    name: String,
    park: Option<MakePark>,
}

impl std::fmt::Debug for SystemBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemBuilder")
            .field("threads", &self.threads)
            .field("name", &self.name)
            .finish()
    }
}

impl Default for SystemBuilder {
    fn default() -> Self {
        SystemBuilder {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            name: "axon".into(),
            park: None,
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

    /// Build the system. Nothing runs until [`System::run`] or [`System::start`].
    pub fn build(self) -> System {
        let n = self.threads;
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
                active: AtomicUsize::new(0),
                failures: Mutex::new(Failures::default()),
                live: AtomicUsize::new(0),
                registry: ShortLock::new(Slab::new()),
                idle_waiters: Mutex::new(Vec::new()),
                cat: crate::cat::Cat::new(), // the system's CAT (see cat.rs)
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
    /// Runs under way: inside `System::run`, or from `System::start` until its
    /// `RunningSystem` has stopped (see `ComponentRef::finished`).
    active: AtomicUsize,
    /// Failures of top-level components since the last report.
    failures: Mutex<Failures>,
    live: AtomicUsize,
    /// Live components. A component keeps its slot number (see
    /// `ComponentShared::registry_slot`), so finishing is O(1) without hashing.
    pub(crate) registry: ShortLock<Slab<Registered>>,
    idle_waiters: Mutex<Vec<Waker>>,
    /// The system's CAT (service registry), reached through `System::cat` in cat.rs.
    pub(crate) cat: crate::cat::Cat,
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
    /// The state of the worker loop running on this thread (null if none). It
    /// lives in `worker_loop`'s frame, which sets this pointer on entry and
    /// restores the previous value (normally or while unwinding) before the
    /// state is dropped; see [`with_local`]. A plain pointer rather than a
    /// `RefCell<Option<Local>>`: a wake (every message hop) reads it without a
    /// borrow count to bump and restore.
    static LOCAL: Cell<*const Local> = const { Cell::new(std::ptr::null()) };
    /// The system whose worker loop runs on this thread (null if none): lets a
    /// wake decide, without looking at `LOCAL`, whether it may queue a task
    /// without a reference count (see [`Runnable`]).
    static WORKER_OF: Cell<*const Shared> = const { Cell::new(std::ptr::null()) };
}

/// Run `f` with this thread's worker state, if a worker loop runs here.
#[inline]
fn with_local<R>(f: impl for<'a> FnOnce(Option<&'a Local>) -> R) -> R {
    let p = LOCAL.with(Cell::get);
    // SAFETY: `LOCAL` is non-null only while the `Local` it points to is alive:
    // `worker_loop` points it at a `Local` in its own frame and a guard declared
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
        // thread runs its loop; we are inside it.
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
            // before its worker loop can end.
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

    /// Whether a run is under way (see `active`).
    pub(crate) fn is_active(&self) -> bool {
        self.active.load(Ordering::SeqCst) > 0
    }

    /// Keep a top-level component's failure for the next report.
    pub(crate) fn note_failure(&self, failure: Failure) {
        self.failures.lock().push(failure);
    }

    /// The failures since the last report.
    fn take_report(&self) -> RunReport {
        self.failures.lock().take()
    }

    /// A run begins (`active` counts it) before any worker starts.
    fn started_running(&self) {
        self.active.fetch_add(1, Ordering::SeqCst);
    }

    /// A run has ended: whoever waits for a component that has not ended
    /// looks again, and is told the system no longer runs (see
    /// `ComponentRef::finished`).
    fn stopped_running(&self) {
        if self.active.fetch_sub(1, Ordering::SeqCst) != 1 {
            return;
        }
        // Nothing registered (the usual end of `run`): nobody to wake, and no
        // scan of a registry that may have held a million components.
        if self.live() == 0 {
            return;
        }
        let mut key = 0;
        loop {
            let comp = {
                let registry = self.registry.lock();
                if key >= registry.capacity() {
                    break;
                }
                registry.get(key).map(|r| r.component().clone())
            };
            key += 1;
            if let Some(comp) = comp {
                comp.wake_joiners();
            }
        }
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

    fn worker_loop(self: &Arc<Self>, index: usize) {
        self.running.fetch_add(1, Ordering::SeqCst);
        let _running = RunningGuard(&self.running);
        let queue = self.workers.lock()[index]
            .take()
            .expect("scheduler worker started twice");
        let local = Local {
            shared: self.clone(),
            queue,
            lifo: Cell::new(None),
            streak: Cell::new(0),
            helper: Cell::new(Helper::Quiet),
        };
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
            let next = (|| {
                let local = &local;
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
            })();
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

/// Poll one task once, isolating panics.
fn run_task(r: Runnable) {
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
                return; // ended already
            }
            After::Finished(Outcome::Stopped)
        } else {
            match catch_unwind(AssertUnwindSafe(|| unsafe { task.poll_body(&mut cx) })) {
                Ok(None) => return,
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
        After::Idle => drop(r),
        After::Requeue => {
            let shared: *const Shared = &*r.task().shared;
            // SAFETY: this worker's `Local::shared` keeps the system alive while
            // its loop runs (we are inside it), and the task came off this
            // system's queues.
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
        }
        After::Finished(outcome) => {
            // Finishing removes the task from the registry, whose reference an
            // uncounted entry relies on: hold a counted one from here.
            let task = r.into_ref();
            task.flag.finish();
            component::finish(&task.component, outcome);
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

    /// Number of scheduler threads.
    pub fn threads(&self) -> usize {
        self.shared.idle.workers()
    }

    /// Whether the system runs: inside [`run`](Self::run), or from the moment
    /// [`start`](Self::start) is called until its [`RunningSystem`] has
    /// stopped. Components spawned while it is not running wait until it is;
    /// joining one then is an error ([`crate::JoinError::NotRunning`]).
    pub fn is_running(&self) -> bool {
        self.shared.is_active()
    }

    /// Number of components (async and threaded) that have not finished.
    pub fn live_components(&self) -> usize {
        self.shared.live()
    }

    /// Run the scheduler on this thread (plus `threads - 1` more) until every
    /// component has finished. Returns at once if none exist.
    ///
    /// Returns a [`RunReport`] of the top-level components (and orphaned
    /// children) that failed or panicked: `sys.run().into_result()?` makes a
    /// failure an error, `sys.run();` ignores it (each failure is logged at
    /// `warn` level all the same).
    pub fn run(&self) -> RunReport {
        if self.shared.live() == 0 {
            return self.shared.take_report();
        }
        self.shared.keep_alive.store(false, Ordering::SeqCst);
        self.shared.stop.store(false, Ordering::SeqCst);
        self.shared.started_running();
        let handles = self.spawn_workers(1);
        self.shared.worker_loop(0);
        for h in handles {
            let _ = h.join();
        }
        self.shared.stopped_running();
        self.shared.take_report()
    }

    /// Run the scheduler on background threads. The system keeps running (even
    /// with no components) until [`RunningSystem::shutdown`] or
    /// [`RunningSystem::wait`].
    pub fn start(&self) -> RunningSystem {
        self.shared.keep_alive.store(true, Ordering::SeqCst);
        self.shared.stop.store(false, Ordering::SeqCst);
        self.shared.started_running();
        RunningSystem {
            system: self.clone(),
            handles: self.spawn_workers(0),
            stopped: false,
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
    /// `stop` has run.
    stopped: bool,
}

impl RunningSystem {
    /// The system, for spawning more components.
    pub fn system(&self) -> &System {
        &self.system
    }

    /// Block until every component has finished, then stop the scheduler
    /// threads. Returns the [`RunReport`] (see [`System::run`]).
    pub fn wait(mut self) -> RunReport {
        crate::threaded::block_on(self.system.all_finished());
        self.stop(false);
        self.system.shared.take_report()
    }

    /// Stop now: the scheduler threads stop, every async component that has not
    /// finished is cancelled (its future dropped, its parent told
    /// [`Outcome::Cancelled`]), and threaded components have their boxes closed so
    /// their blocking calls return `Closed` (their threads are not joined).
    /// Returns the [`RunReport`] of failures before that (being cancelled is
    /// not a failure).
    pub fn shutdown(mut self) -> RunReport {
        self.stop(true);
        self.system.shared.take_report()
    }

    /// Stop the workers (and cancel what is left, if `cancel`), then mark the
    /// run over.
    fn stop(&mut self, cancel: bool) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        let shared = &self.system.shared;
        shared.stop.store(true, Ordering::SeqCst);
        shared.unpark_all();
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
        if cancel {
            shutdown_components(shared);
        }
        shared.stopped_running();
    }
}

impl Drop for RunningSystem {
    fn drop(&mut self) {
        self.stop(true);
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
