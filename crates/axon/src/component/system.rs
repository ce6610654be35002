//! The [`System`]: the façade that spawns components on the scheduler, runs
//! its workers, and tracks the live components.
//!
//! The scheduler itself (workers, run queues, the wake rules, sleeping) is the
//! runtime layer's (`runtime/scheduler.rs`); this file owns what needs
//! components: the registry of live ones, waiting for them all to finish,
//! shutting them down, and the builder that puts a system together. Public as
//! `axon::scheduler::{System, SystemBuilder, RunningSystem, AllFinished}`.
//!
//! [`System::run`] returns when every component has finished, with a
//! [`RunReport`] of the top-level components that failed.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;
use std::time::Duration;

use slab::Slab;

use crate::component::component::{self, ComponentRef};
use crate::component::report::{Failures, RunReport};
use crate::component::signal::Failure;
use crate::runtime::outcome::Outcome;
use crate::runtime::park::{Park, ThreadPark};
use crate::runtime::scheduler::Shared;
use crate::runtime::sync::{AtomicUsize, Mutex, Ordering, ShortLock};
use crate::runtime::task::TaskRef;

/// Makes the [`Park`] of worker `i`.
type MakePark = Box<dyn Fn(usize) -> Arc<dyn Park> + Send + Sync>;

/// Configures a [`System`].
#[must_use = "a builder does nothing until build() is called"]
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
    /// `step` answers [`StepError::Busy`](crate::StepError::Busy)). Overrides
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
        let parkers = (0..n)
            .map(|i| match &self.park {
                Some(make) => make(i),
                None => Arc::new(ThreadPark::new()) as Arc<dyn Park>,
            })
            .collect();
        System {
            shared: Arc::new(SystemShared {
                core: Arc::new(Shared::new(self.name, parkers, self.stepped, self.slow_motion)),
                active: AtomicUsize::new(0),
                failures: Mutex::new(Failures::default()),
                live: AtomicUsize::new(0),
                registry: ShortLock::new(Slab::new()),
                idle_waiters: Mutex::new(Vec::new()),
                services: OnceLock::new(),
            }),
        }
    }
}

/// A live component as the system tracks it.
///
/// An async component is tracked through its task, which holds the
/// component: one reference count fewer per spawn than keeping both.
pub(crate) enum Registered {
    /// An async component's task (which owns the component).
    Async(TaskRef),
    /// A threaded component.
    Threaded(ComponentRef),
}

impl Registered {
    /// The component, async or threaded.
    pub(crate) fn component(&self) -> &ComponentRef {
        match self {
            Registered::Async(task) => task.owner().expect("an async component's task is owned by it"),
            Registered::Threaded(component) => component,
        }
    }
}

/// A system's state: the scheduler's ([`Shared`], which it derefs to) plus
/// the components it runs. Shared by the [`System`] handles, the components
/// (weakly) and the threads that run it; the tasks hold only the scheduler's.
pub(crate) struct SystemShared {
    /// The scheduler: run queues, workers, sleeping.
    pub(crate) core: Arc<Shared>,
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
    /// The services layer's per-system state, which this layer does not name:
    /// the system's CAT, made on first use (`System::cat` in cat.rs).
    pub(crate) services: OnceLock<Box<dyn Any + Send + Sync>>,
}

impl std::ops::Deref for SystemShared {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.core
    }
}

impl SystemShared {
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
                self.core.stop.store(true, Ordering::SeqCst);
                self.core.unpark_all();
            }
        }
    }

    pub(crate) fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// Whether a run is under way (see `active`). A stepped system counts as
    /// running throughout: whoever steps it drives it, so a join waits for
    /// the steps rather than failing between two of them.
    pub(crate) fn is_active(&self) -> bool {
        self.core.stepper.is_some() || self.active.load(Ordering::SeqCst) > 0
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
}

/// A set of components and the scheduler threads that run them.
///
/// Cheap to clone: every clone drives the same system. Spawn components with
/// [`System::spawn`] / [`System::spawn_threaded`], then [`run`](System::run) it
/// (blocking until every component has finished) or [`start`](System::start) it
/// in the background.
#[derive(Clone)]
pub struct System {
    pub(crate) shared: Arc<SystemShared>,
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

    /// Whether the system runs: inside [`run`](Self::run), or from the moment
    /// [`start`](Self::start) is called until its [`RunningSystem`] has
    /// stopped; a [stepped](SystemBuilder::stepped) system counts as running
    /// throughout (whoever steps it drives it). Components spawned while it is
    /// not running wait until it is; joining one then is an error
    /// ([`crate::JoinError::NotRunning`]).
    pub fn is_running(&self) -> bool {
        self.shared.is_active()
    }

    /// Number of components (async and threaded) that have not finished.
    pub fn live_components(&self) -> usize {
        self.shared.live()
    }

    /// Run the scheduler on this thread (plus `threads - 1` more) until every
    /// component has finished. Returns at once if none exist. A
    /// [stepped](SystemBuilder::stepped) system is stepped on this thread
    /// alone.
    ///
    /// Returns a [`RunReport`] of the top-level components (and orphaned
    /// children) that failed or panicked: `sys.run().into_result()?` makes a
    /// failure an error, `sys.run();` ignores it (each failure is logged at
    /// `warn` level all the same).
    ///
    /// # Panics
    /// On a stepped system that another thread is stepping or running.
    pub fn run(&self) -> RunReport {
        if self.shared.live() == 0 {
            return self.shared.take_report();
        }
        self.claim_stepper("run");
        self.shared.keep_alive.store(false, Ordering::SeqCst);
        self.shared.stop.store(false, Ordering::SeqCst);
        self.shared.started_running();
        let handles = self.spawn_workers(1);
        self.shared.core.worker_loop(0);
        for h in handles {
            let _ = h.join();
        }
        self.shared.stopped_running();
        self.shared.take_report()
    }

    /// Run the scheduler on background threads. The system keeps running (even
    /// with no components) until [`RunningSystem::shutdown`] or
    /// [`RunningSystem::wait`].
    ///
    /// A [stepped](SystemBuilder::stepped) system runs on one background
    /// thread; [`step`](Self::step) answers
    /// [`StepError::Busy`](crate::StepError::Busy) until it has stopped.
    ///
    /// # Panics
    /// On a stepped system that another thread is stepping or running.
    pub fn start(&self) -> RunningSystem {
        self.claim_stepper("start");
        self.shared.keep_alive.store(true, Ordering::SeqCst);
        self.shared.stop.store(false, Ordering::SeqCst);
        self.shared.started_running();
        RunningSystem {
            system: self.clone(),
            handles: self.spawn_workers(0),
            stopped: false,
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
                // The thread holds the whole system, not only the scheduler:
                // the registry's task references (which uncounted run-queue
                // entries rely on, see `Runnable`) outlive its loop.
                let shared = self.shared.clone();
                std::thread::Builder::new()
                    .name(format!("{}-worker-{i}", self.shared.name))
                    .spawn(move || shared.core.worker_loop(i))
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
#[must_use = "futures do nothing unless polled"]
pub struct AllFinished {
    shared: Arc<SystemShared>,
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
#[must_use = "dropping a RunningSystem shuts the system down at once: keep it, then wait() or shutdown()"]
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
        crate::runtime::block_on::block_on(self.system.all_finished());
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

fn shutdown_components(shared: &Arc<SystemShared>) {
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
                Some(r @ Registered::Async(task)) => (r.component().clone(), Some(task.clone())),
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
