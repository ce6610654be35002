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
//! atomics ([`WakeFlag`]); the `loom_*` models at the end of this file check
//! them under loom.
//!
//! ## One allocation per task
//! A task's header (`Task`: flag, reference count, system), its owner (the
//! component, a `TaskOwner` the runtime knows only through that trait) and
//! its body (the component's future) share one heap block, a `TaskCell<O, F>`;
//! a small per-type vtable polls, drops and frees it and reaches the owner. `TaskRef` is the
//! counted reference (the `Arc` pattern, with its own loom model); run-queue
//! entries (`Runnable`) and wakers point at the header and stay one word.

use std::any::TypeId;
use std::cell::UnsafeCell;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::Arc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use crate::runtime::outcome::Outcome;
use crate::runtime::scheduler::Shared;
use crate::runtime::sync::{fence, AtomicU64, AtomicUsize, Ordering};

const IDLE: u64 = 0;
const SCHEDULED: u64 = 1;
const RUNNING: u64 = 2;
const NOTIFIED: u64 = 3;
const DONE: u64 = 4;
/// The state is the low three bits; the rest counts polls (see
/// [`WakeFlag::poll_gen`]).
const STATE: u64 = 0b111;
const GEN_SHIFT: u32 = 3;

/// The at-most-once-queued wake flag of a task.
///
/// The same word also counts the task's polls (the bits above the state): the
/// holder of the run right bumps it in [`start_run`](Self::start_run) with a
/// plain store, and every transition keeps it, so it costs no space and no
/// extra atomic operation. An inbox uses it to tell an arming made in the
/// current poll from an older one (`wakeup.rs`).
#[derive(Debug)]
pub struct WakeFlag(AtomicU64);

impl Default for WakeFlag {
    fn default() -> Self {
        Self::new()
    }
}

impl WakeFlag {
    /// A flag for a task that is not queued (it must be woken to run).
    pub fn new() -> Self {
        WakeFlag(AtomicU64::new(IDLE))
    }

    /// Whether the task is idle: not queued, not running, not done (a
    /// component paused until something wakes it).
    pub fn is_idle(&self) -> bool {
        self.0.load(Ordering::Acquire) & STATE == IDLE
    }

    /// A flag for a task that is being put on a run queue right now.
    pub fn new_scheduled() -> Self {
        WakeFlag(AtomicU64::new(SCHEDULED))
    }

    /// Record a wake. Returns true if the caller must put the task on a run
    /// queue (it was idle); false if it is already queued, running (it will be
    /// requeued when its poll ends) or done.
    pub fn wake(&self) -> bool {
        let mut cur = self.0.load(Ordering::Acquire);
        loop {
            let next = match cur & STATE {
                IDLE => SCHEDULED,
                RUNNING => NOTIFIED,
                _ => return false,
            };
            match self.0.compare_exchange_weak(
                cur,
                (cur & !STATE) | next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return cur & STATE == IDLE,
                Err(actual) => cur = actual,
            }
        }
    }

    /// A worker took the task off a run queue and is about to poll it: the
    /// state becomes `RUNNING` and the poll count goes up by one.
    pub fn start_run(&self) {
        // Nobody else writes while the task is SCHEDULED (a wake then changes
        // nothing), so a load and a store do.
        let cur = self.0.load(Ordering::Relaxed);
        let gen = (cur >> GEN_SHIFT).wrapping_add(1);
        self.0.store((gen << GEN_SHIFT) | RUNNING, Ordering::Release);
    }

    /// The poll returned `Pending`. Returns true if the task was woken during the
    /// poll and must be requeued by the caller.
    pub fn end_run(&self) -> bool {
        let gen = self.0.load(Ordering::Relaxed) & !STATE;
        match self
            .0
            .compare_exchange(gen | RUNNING, gen | IDLE, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => false,
            Err(_) => {
                // NOTIFIED: only this worker moves it on from here.
                self.0.store(gen | SCHEDULED, Ordering::Release);
                true
            }
        }
    }

    /// The task finished; later wakes do nothing.
    pub fn finish(&self) {
        // A swap rather than a store: a wake may be moving RUNNING to NOTIFIED at
        // this moment. Either is correct in the memory model, but loom (0.7) can
        // misorder a plain store against a concurrent read-modify-write
        // (tokio-rs/loom#254), and the swap keeps the model exact.
        let gen = self.0.load(Ordering::Relaxed) & !STATE;
        self.0.swap(gen | DONE, Ordering::AcqRel);
    }

    /// Whether the task has finished (the loom models check it).
    #[cfg(all(loom, test))]
    pub fn is_done(&self) -> bool {
        self.0.load(Ordering::Acquire) & STATE == DONE
    }

    /// How many polls have started (wrapping; 61 bits). Read by the holder of
    /// the run right, or by code running inside the current poll.
    pub fn poll_gen(&self) -> u64 {
        self.0.load(Ordering::Relaxed) >> GEN_SHIFT
    }

    /// The state bits alone (for the loom models).
    #[cfg(all(test, loom))]
    fn state(&self) -> u64 {
        self.0.load(Ordering::SeqCst) & STATE
    }
}

/// The reference count of a task allocation (the `Arc` pattern, kept in the
/// task's header so the header can sit in the same allocation as the body).
///
/// Taking a reference is a `Relaxed` increment (the taker already holds one);
/// giving one back is a `Release` decrement, and whoever gives back the last
/// one runs an `Acquire` fence before freeing, so every other holder's uses
/// happen before the free. `loom_last_reference_sees_every_use` checks that.
#[derive(Debug)]
struct RefCount(AtomicUsize);

impl RefCount {
    /// One reference: the creator's.
    fn new() -> Self {
        RefCount(AtomicUsize::new(1))
    }

    /// Take one more reference (the caller holds one).
    fn inc(&self) {
        let old = self.0.fetch_add(1, Ordering::Relaxed);
        // As `Arc` does: a count this high means references are being leaked
        // in a loop; wrapping would free a live task.
        if old > isize::MAX as usize {
            std::process::abort();
        }
    }

    /// Give one back. Returns true if it was the last: the caller frees.
    fn dec(&self) -> bool {
        if self.0.fetch_sub(1, Ordering::Release) != 1 {
            return false;
        }
        fence(Ordering::Acquire);
        true
    }

    #[cfg(all(test, not(loom)))]
    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// An async component as the scheduler sees it: the header of one allocation
/// that also holds the component's body (its future).
///
/// Body and header share one allocation (a `TaskCell<O, F>`, typed by the
/// owner and the body),
/// which saves an allocation per spawned component; everything that needs the
/// body's type (polling it, dropping it, freeing the whole) goes through the
/// `vtable` the constructor filled in for that type. Run queues and wakers
/// point at the header, so they stay one word.
///
/// Reference counted ([`TaskRef`]): the system's registry holds one reference
/// from spawn until the task is `DONE`, and every [`Waker`] of the task holds
/// one. Run queues need not: see [`Runnable`].
pub(crate) struct Task {
    refs: RefCount,
    pub(crate) flag: WakeFlag,
    vtable: &'static BodyVtable,
    /// The whole `TaskCell<O, F>`, as `Box::into_raw` returned it. The body and
    /// the allocation are reached through this pointer, never by offsetting
    /// from a `&Task`: a pointer derived from a reference to the header only
    /// covers the header.
    cell: NonNull<()>,
    /// The body has not been dropped yet. Read and written only by the holder
    /// of the run right (see [`Task::poll_body`]), or by whoever frees the
    /// allocation (the last reference, so nobody else can look).
    has_body: UnsafeCell<bool>,
    /// [`ComponentRef::stop`](crate::ComponentRef::stop) was called: the next
    /// run drops the body instead of polling it. Beside `has_body`, in what was
    /// padding, so the check costs no cache line the poll does not touch.
    pub(crate) stop: crate::runtime::sync::AtomicBool,
    pub(crate) shared: Arc<Shared>,
}

/// What a task belongs to, as the runtime sees it: something to tell how the
/// task ended. The component layer implements it for its component handle;
/// the runtime stores the owner beside the body (a `TaskCell<O, F>`) and never
/// names its type, so this layer does not import the one above.
pub(crate) trait TaskOwner: Send + Sync + 'static {
    /// The task has ended with `outcome`: its body is gone and its flag is
    /// `DONE`.
    fn task_finished(&self, outcome: Outcome);
}

/// What needs the body's type, for one body type `F`.
struct BodyVtable {
    /// Poll the body (which is present).
    poll: unsafe fn(NonNull<()>, &mut Context<'_>) -> Poll<Outcome>,
    /// Drop the body in place (which is present).
    drop_body: unsafe fn(NonNull<()>),
    /// Free the allocation (dropping the body if it is still present).
    dealloc: unsafe fn(NonNull<()>),
    /// The owner (of type `owner_type`), which lives as long as the allocation.
    owner: unsafe fn(NonNull<()>) -> NonNull<()>,
    /// The owner's type.
    owner_type: fn() -> TypeId,
    /// Tell the owner how the task ended ([`TaskOwner::task_finished`]).
    finish: unsafe fn(NonNull<()>, Outcome),
}

/// A task allocation: the header, the owner, then the body. The body never
/// moves (it is pinned in place from the first poll until it is dropped in
/// place); the owner is dropped with the allocation.
struct TaskCell<O, F> {
    header: Task,
    owner: O,
    body: UnsafeCell<ManuallyDrop<F>>,
}

impl<O, F> Drop for TaskCell<O, F> {
    fn drop(&mut self) {
        if *self.header.has_body.get_mut() {
            // SAFETY: the body is present (the flag) and is dropped only here
            // or by `drop_body`, which clears the flag first.
            unsafe { ManuallyDrop::drop(self.body.get_mut()) };
        }
    }
}

impl<O: TaskOwner, F: Future<Output = Outcome> + Send + 'static> TaskCell<O, F> {
    const VTABLE: BodyVtable = BodyVtable {
        poll: Self::poll,
        drop_body: Self::drop_body,
        dealloc: Self::dealloc,
        owner: Self::owner,
        owner_type: TypeId::of::<O>,
        finish: Self::finish,
    };

    /// # Safety
    /// `cell` is the `cell` of a live task of this type whose body is present,
    /// and the caller holds its run right.
    unsafe fn poll(cell: NonNull<()>, cx: &mut Context<'_>) -> Poll<Outcome> {
        let cell = cell.cast::<TaskCell<O, F>>().as_ptr();
        // SAFETY: the run right makes this the only access to the body (the
        // caller's contract); the body lives in the allocation until it is
        // dropped in place, so pinning it is sound.
        let body = unsafe { Pin::new_unchecked(&mut **(*cell).body.get()) };
        body.poll(cx)
    }

    /// # Safety
    /// As for [`poll`](Self::poll); the caller clears `has_body` first.
    unsafe fn drop_body(cell: NonNull<()>) {
        let cell = cell.cast::<TaskCell<O, F>>().as_ptr();
        // SAFETY: the body is present and only the run-right holder reaches
        // it (the caller's contract); it is dropped in place, never moved.
        unsafe { ManuallyDrop::drop(&mut *(*cell).body.get()) };
    }

    /// # Safety
    /// `cell` is the `cell` of a task of this type whose last reference the
    /// caller has just given back.
    unsafe fn dealloc(cell: NonNull<()>) {
        // SAFETY: the allocation came from `Box::into_raw` in `Task::allocate` with
        // this type, and no reference is left to use it.
        drop(unsafe { Box::from_raw(cell.cast::<TaskCell<O, F>>().as_ptr()) });
    }

    /// # Safety
    /// `cell` is the `cell` of a live task of this type.
    unsafe fn owner(cell: NonNull<()>) -> NonNull<()> {
        let cell = cell.cast::<TaskCell<O, F>>().as_ptr();
        // SAFETY: the allocation is live (the caller's contract); the owner is
        // never written after `Task::allocate`, so a pointer to it may be
        // shared. `addr_of_mut!` makes no reference to the cell.
        unsafe { NonNull::new_unchecked(std::ptr::addr_of_mut!((*cell).owner)).cast() }
    }

    /// # Safety
    /// As for [`owner`](Self::owner).
    unsafe fn finish(cell: NonNull<()>, outcome: Outcome) {
        // SAFETY: as in `owner`: a live, never-written `O`, and `O: Sync`.
        let owner = unsafe { Self::owner(cell).cast::<O>().as_ref() };
        owner.task_finished(outcome);
    }
}

// SAFETY: `Task` is shared between threads through `TaskRef`s, run-queue
// entries and wakers. Its plain fields are `Sync`; `cell` is only read, and
// so is the owner it leads to (`O: Sync`).
// `has_body` and the body it describes are only reached by the holder of the
// run right: the worker that moved the flag SCHEDULED -> RUNNING
// (`start_run`) until it leaves RUNNING (`end_run`/`finish`), or the system's
// shutdown after every worker thread has been joined, or whoever frees the
// allocation. The flag queues a task at most once, so at most one worker holds
// the right at a time; `loom_requeued_task_is_never_polled_twice_at_once` and
// `loom_wake_during_run_is_never_lost` below check exactly that, and the
// `AcqRel` transitions order one holder's writes before the next holder's
// reads. The body is `Send` (`Task::allocate` requires it), so polling and dropping
// it on any worker is fine.
unsafe impl Sync for Task {}

impl Task {
    /// Allocate a task for `body`, belonging to `owner`, `SCHEDULED` (the
    /// caller queues it), with one reference: the returned one.
    pub(crate) fn allocate<O, F>(body: F, shared: Arc<Shared>, owner: O) -> TaskRef
    where
        O: TaskOwner,
        F: Future<Output = Outcome> + Send + 'static,
    {
        let raw = Box::into_raw(Box::new(TaskCell {
            header: Task {
                refs: RefCount::new(),
                flag: WakeFlag::new_scheduled(),
                vtable: &TaskCell::<O, F>::VTABLE,
                cell: NonNull::dangling(),
                has_body: UnsafeCell::new(true),
                stop: crate::runtime::sync::AtomicBool::new(false),
                shared,
            },
            owner,
            body: UnsafeCell::new(ManuallyDrop::new(body)),
        }));
        // SAFETY: `raw` is a fresh, valid allocation that nothing else sees
        // yet; both writes and the header pointer go through `raw` itself, so
        // they keep its provenance over the whole cell.
        unsafe {
            (*raw).header.cell = NonNull::new_unchecked(raw).cast();
            TaskRef(NonNull::new_unchecked(std::ptr::addr_of_mut!((*raw).header)))
        }
    }

    /// Poll the body once. `None` if the body is gone already (the task
    /// finished or was cancelled). When the body completes it is dropped here.
    ///
    /// # Safety
    /// The caller holds the run right: it is the worker that called
    /// [`WakeFlag::start_run`] for this task and has not yet called `end_run` or
    /// `finish`, or every worker of the system has stopped (shutdown).
    pub(crate) unsafe fn poll_body(&self, cx: &mut Context<'_>) -> Option<Poll<Outcome>> {
        // SAFETY: the run right makes us the only reader and writer of
        // `has_body` and the body (the caller's contract).
        unsafe {
            if !*self.has_body.get() {
                return None;
            }
            let out = (self.vtable.poll)(self.cell, cx);
            if out.is_ready() {
                self.drop_body();
            }
            Some(out)
        }
    }

    /// Drop the body in place if it is still there; returns whether it was. A
    /// panic from the body's destructor propagates, and the body counts as
    /// dropped all the same.
    ///
    /// # Safety
    /// As for [`poll_body`](Self::poll_body).
    pub(crate) unsafe fn drop_body(&self) -> bool {
        // SAFETY: as in `poll_body`. The flag is cleared before the drop, so
        // a destructor that panics is never run twice.
        unsafe {
            if !*self.has_body.get() {
                return false;
            }
            *self.has_body.get() = false;
            (self.vtable.drop_body)(self.cell);
        }
        true
    }

    /// The task's owner, if it is an `O` (in this kernel it is always the
    /// component, a `ComponentRef`).
    pub(crate) fn owner<O: 'static>(&self) -> Option<&O> {
        if (self.vtable.owner_type)() != TypeId::of::<O>() {
            return None;
        }
        // SAFETY: `cell` is this live task's allocation (`&self` keeps it
        // alive), whose owner is an `O` (checked above) and never written.
        Some(unsafe { (self.vtable.owner)(self.cell).cast::<O>().as_ref() })
    }

    /// Tell the owner how the task ended ([`TaskOwner::task_finished`]); the
    /// caller has dropped the body and moved the flag to `DONE`.
    pub(crate) fn finish_owner(&self, outcome: Outcome) {
        // SAFETY: `cell` is this live task's allocation, of the vtable's type.
        unsafe { (self.vtable.finish)(self.cell, outcome) }
    }

    /// Which poll of this task is current (or was the last): see
    /// [`WakeFlag::poll_gen`].
    pub(crate) fn poll_gen(&self) -> u64 {
        self.flag.poll_gen()
    }

    /// A new counted reference to this task.
    pub(crate) fn to_ref(&self) -> TaskRef {
        self.refs.inc();
        TaskRef(NonNull::from(self))
    }

    /// Wake through a reference: queue the task if the flag says so.
    pub(crate) fn wake_by_ref(&self) {
        if self.flag.wake() {
            self.shared.schedule_woken(self);
        }
    }

    /// A waker that borrows this task's reference for as long as `self` is
    /// borrowed (no reference-count traffic), for the worker polling it. Whoever
    /// keeps it (an inbox parking its receiver) clones it, which takes a reference.
    pub(crate) fn borrowed_waker(&self) -> ManuallyDrop<Waker> {
        let raw = RawWaker::new((self as *const Task).cast(), &TASK_WAKER);
        // SAFETY: `TASK_WAKER`'s functions uphold the `RawWaker` contract for a
        // pointer to an `Arc`-held `Task` (see each below). The waker is never
        // dropped (`ManuallyDrop`), so it does not give back a reference it never
        // took; the borrow of `self` keeps the task alive while it is used.
        ManuallyDrop::new(unsafe { Waker::from_raw(raw) })
    }

    /// If `waker` wakes a task of this kernel, that task.
    pub(crate) fn of_waker(waker: &Waker) -> Option<&Task> {
        if std::ptr::eq(waker.vtable(), &TASK_WAKER) {
            // SAFETY: only `borrowed_waker` and `waker_clone` build wakers with
            // `TASK_WAKER`, and their data pointer is an `Arc`-held `Task` the
            // waker keeps alive (or, for a borrowed waker, its lender does) for
            // as long as the waker is borrowed here.
            Some(unsafe { &*waker.data().cast::<Task>() })
        } else {
            None
        }
    }
}

/// A counted reference to a task (what `Arc<Task>` would be, for a task whose
/// allocation also holds its body).
pub(crate) struct TaskRef(NonNull<Task>);

// SAFETY: a `TaskRef` shares a `Sync + Send` task (see `Task`) and owns one
// reference, which any thread may give back (the last one frees the
// allocation through the body's vtable, dropping a `Send` body).
unsafe impl Send for TaskRef {}
// SAFETY: as above; `&TaskRef` only gives `&Task`.
unsafe impl Sync for TaskRef {}

impl TaskRef {
    /// Give up the reference without dropping it (see [`from_raw`](Self::from_raw)).
    fn into_raw(self) -> NonNull<Task> {
        ManuallyDrop::new(self).0
    }

    /// Take back a reference given up by [`into_raw`](Self::into_raw).
    ///
    /// # Safety
    /// `p` came from `into_raw` (or the caller took a reference with
    /// `RefCount::inc` for it), and that reference is not used elsewhere.
    unsafe fn from_raw(p: NonNull<Task>) -> Self {
        TaskRef(p)
    }

    /// How many references there are (for tests).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn ref_count(&self) -> usize {
        self.refs.get()
    }
}

impl std::ops::Deref for TaskRef {
    type Target = Task;
    fn deref(&self) -> &Task {
        // SAFETY: this reference keeps the task alive.
        unsafe { self.0.as_ref() }
    }
}

impl Clone for TaskRef {
    fn clone(&self) -> Self {
        self.to_ref()
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        // SAFETY: our reference keeps the task alive until `dec` gives it
        // back; what freeing needs is read before that, since once it is given
        // back another holder may free the task at any moment.
        let t = unsafe { self.0.as_ref() };
        let (vtable, cell) = (t.vtable, t.cell);
        if t.refs.dec() {
            // SAFETY: that was the last reference: nobody else can reach the
            // task, and `cell` is its allocation, of the vtable's type.
            unsafe { (vtable.dealloc)(cell) };
        }
    }
}

/// The waker functions of a task: the data pointer is the task's header, and
/// the waker owns a counted reference ([`TaskRef::into_raw`]), except in a
/// borrowed waker, which never drops.
static TASK_WAKER: RawWakerVTable =
    RawWakerVTable::new(waker_clone, waker_wake, waker_wake_by_ref, waker_drop);

unsafe fn waker_clone(p: *const ()) -> RawWaker {
    // SAFETY: `p` is a task kept alive by the waker being cloned; the clone
    // owns the reference taken here.
    unsafe { &*p.cast::<Task>() }.refs.inc();
    RawWaker::new(p, &TASK_WAKER)
}

unsafe fn waker_wake(p: *const ()) {
    // SAFETY: a waker consumed by `wake` owns one reference (borrowed wakers are
    // never consumed: they sit in a `ManuallyDrop`).
    let task = unsafe { TaskRef::from_raw(task_ptr(p)) };
    if task.flag.wake() {
        let shared = task.shared.clone();
        shared.schedule(Runnable::counted(task));
    }
}

unsafe fn waker_wake_by_ref(p: *const ()) {
    // SAFETY: the waker we are called through keeps the task alive.
    unsafe { &*p.cast::<Task>() }.wake_by_ref();
}

unsafe fn waker_drop(p: *const ()) {
    // SAFETY: a dropped waker owns one reference.
    drop(unsafe { TaskRef::from_raw(task_ptr(p)) });
}

/// A waker's data pointer as the task it points at.
fn task_ptr(p: *const ()) -> NonNull<Task> {
    // SAFETY: wakers of `TASK_WAKER` are only built on task pointers, which
    // are never null.
    unsafe { NonNull::new_unchecked(p.cast::<Task>().cast_mut()) }
}

/// A task on a run queue or in a worker's LIFO slot.
///
/// A wake from one of the system's own workers queues the task *without* a
/// reference count (an uncounted entry), which saves two atomic
/// read-modify-writes per message hop (the increment when queued, the decrement
/// after the poll). That is sound because of who keeps the task alive meanwhile:
///
/// * An entry exists only while the flag is `SCHEDULED` (one entry at most, and
///   the worker that takes it moves the flag to `RUNNING`).
/// * A task leaves the system's registry (which holds a reference) only after
///   its flag is `DONE`, and only the holder of the run right, or the system's
///   shutdown after every worker has been joined, can make it `DONE`.
/// * Uncounted entries are made only on worker threads of the task's system,
///   and go straight onto that worker's own queue or slot; a worker that stops
///   moves them to the injector, which shutdown drains without looking at them.
///   (A stepped system's step counts as a worker here; between steps its
///   queue and slot keep their entries, which only the next step or worker
///   loop takes out: see `StepState` in `scheduler.rs`.)
///
/// So while a worker holds or can steal an uncounted entry, the registry's
/// reference keeps the task alive. Wakes from other threads (threaded
/// components, timers, plain code) queue a counted entry as before.
///
/// One word: the task's address with its low bit set for a counted entry
/// ([`COUNTED`]; a task is 8-byte aligned). A run queue slot is 8 bytes rather
/// than 16, which matters when a parent queues 100,000 new children at once
/// (the queue's buffers were 16 bytes a component of the `spawn-mem` peak).
pub(crate) struct Runnable {
    task: NonNull<Task>,
}

/// The tag bit of a counted [`Runnable`].
const COUNTED: usize = 1;
const _: () = assert!(std::mem::align_of::<Task>() > COUNTED);

// SAFETY: a `Runnable` is a pointer to a `Sync` task plus, when `counted`, an
// owned `Arc` reference, which may move between threads; an uncounted one is
// only ever dereferenced by workers of the task's system (see above).
unsafe impl Send for Runnable {}

impl Runnable {
    /// An entry that owns a reference (any thread may queue it).
    pub(crate) fn counted(task: TaskRef) -> Self {
        let tagged = task.into_raw().as_ptr().map_addr(|a| a | COUNTED);
        Runnable {
            // SAFETY: a task pointer is never null, and setting a bit keeps
            // it so.
            task: unsafe { NonNull::new_unchecked(tagged) },
        }
    }

    /// An entry without a reference.
    ///
    /// # Safety
    /// The caller runs on a worker thread of `task`'s system, has just moved the
    /// task's flag to `SCHEDULED` (or was told to requeue it by `end_run`), and
    /// puts the entry on this worker's own queue or LIFO slot.
    pub(crate) unsafe fn uncounted(task: &Task) -> Self {
        // The low bit of an aligned address is clear: uncounted.
        Runnable {
            task: NonNull::from(task),
        }
    }

    /// Whether this entry owns a reference to its task.
    pub(crate) fn is_counted(&self) -> bool {
        self.task.as_ptr().addr() & COUNTED != 0
    }

    /// The task's address, without the tag.
    #[inline]
    fn ptr(&self) -> NonNull<Task> {
        // SAFETY: clearing the tag of a non-null, 8-aligned address leaves it
        // non-null.
        unsafe { NonNull::new_unchecked(self.task.as_ptr().map_addr(|a| a & !COUNTED)) }
    }

    /// The task. Valid while this entry exists and its holder has not let the
    /// flag leave `SCHEDULED`/`RUNNING` (after `end_run` returns false, or after
    /// `finish`, the task may be freed by someone else: use [`into_ref`] first).
    ///
    /// [`into_ref`]: Runnable::into_ref
    pub(crate) fn task(&self) -> &Task {
        // SAFETY: see the type's documentation: a counted entry owns a
        // reference; an uncounted one is kept alive by the registry while the
        // flag is SCHEDULED or RUNNING, which the holder's contract guarantees.
        unsafe { self.ptr().as_ref() }
    }

    /// A counted reference to the task (for a task about to finish, which
    /// leaves the registry and so loses the reference an uncounted entry
    /// relies on).
    pub(crate) fn into_ref(self) -> TaskRef {
        let this = ManuallyDrop::new(self);
        if this.is_counted() {
            // SAFETY: a counted entry owns one reference; `ManuallyDrop` stops
            // `Drop` from giving it back as well.
            unsafe { TaskRef::from_raw(this.ptr()) }
        } else {
            this.task().to_ref()
        }
    }
}

impl Drop for Runnable {
    fn drop(&mut self) {
        if self.is_counted() {
            // SAFETY: a counted entry owns one reference. (An uncounted entry is
            // never dereferenced here: shutdown drops entries of tasks it has
            // already freed.)
            drop(unsafe { TaskRef::from_raw(self.ptr()) });
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::component::component::ComponentRef;

    /// The tag bit of a run-queue entry: a counted entry owns exactly one
    /// reference and gives it back once, an uncounted one none; both reach
    /// the same task.
    #[test]
    fn runnable_entries_tag_their_reference() {
        let (sys, comp) = fixture();
        for _ in 0..1000 {
            let t = Task::allocate(async { Outcome::Finished }, sys.shared.core.clone(), comp.clone());
            assert_eq!(t.ref_count(), 1);
            let r = Runnable::counted(t.clone());
            assert!(r.is_counted());
            assert!(std::ptr::eq(r.task(), &*t));
            assert_eq!(t.ref_count(), 2);
            drop(r);
            assert_eq!(t.ref_count(), 1);
            let a = Runnable::counted(t.clone()).into_ref();
            assert!(std::ptr::eq(&*a, &*t));
            assert_eq!(t.ref_count(), 2);
            drop(a);
            // SAFETY: `t` keeps the task alive for as long as the entry exists
            // (the contract's other terms concern the scheduler, not used here).
            let r = unsafe { Runnable::uncounted(&t) };
            assert!(!r.is_counted());
            assert!(std::ptr::eq(r.task(), &*t));
            assert_eq!(t.ref_count(), 1);
            let a = r.into_ref();
            assert_eq!(t.ref_count(), 2);
            drop(a);
            // SAFETY: as above.
            drop(unsafe { Runnable::uncounted(&t) });
            assert_eq!(t.ref_count(), 1);
        }
    }

    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    /// A body's guard that counts how often it is dropped.
    struct Counted(Arc<AtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    /// A system, and a component of it for tasks to belong to.
    fn fixture() -> (crate::System, ComponentRef) {
        let sys = crate::System::builder().threads(1).build();
        let comp = sys.spawn(crate::Component::bare("c"), |_cx| async {});
        (sys, comp)
    }

    /// A task of `sys` whose body `body` makes around a drop-counting guard,
    /// and the guard's count.
    fn counted_task<F>(
        sys: &crate::System,
        comp: &ComponentRef,
        body: impl FnOnce(Counted) -> F,
    ) -> (TaskRef, Arc<AtomicUsize>)
    where
        F: Future<Output = Outcome> + Send + 'static,
    {
        let drops = Arc::new(AtomicUsize::new(0));
        let t = Task::allocate(
            body(Counted(drops.clone())),
            sys.shared.core.clone(),
            comp.clone(),
        );
        (t, drops)
    }

    /// The body lives in the task's allocation: whichever thread gives back the
    /// last of many references frees it, and the body is dropped exactly once.
    #[test]
    fn a_task_and_its_body_are_freed_once_whichever_thread_is_last() {
        let (sys, comp) = fixture();
        for round in 0..200 {
            // A body bigger than a pointer, so it really sits beside the header.
            let pad = [round as u8; 96];
            let (t, drops) = counted_task(&sys, &comp, |guard| async move {
                let _keep = (&guard, pad);
                Outcome::Finished
            });
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    let mine = t.clone();
                    std::thread::spawn(move || {
                        for _ in 0..50 {
                            drop(mine.clone());
                        }
                        drop(mine);
                    })
                })
                .collect();
            drop(t);
            for h in threads {
                h.join().unwrap();
            }
            assert_eq!(drops.load(SeqCst), 1, "round {round}");
        }
    }

    /// `drop_body` drops the body in place once; freeing the task afterwards
    /// does not drop it again, and polling it then finds nothing.
    #[test]
    fn a_dropped_body_is_not_dropped_again_or_polled() {
        let (sys, comp) = fixture();
        let (t, drops) = counted_task(&sys, &comp, |guard| async move {
            let _keep = &guard;
            std::future::pending::<()>().await;
            Outcome::Finished
        });
        let waker = t.borrowed_waker();
        let mut cx = Context::from_waker(&waker);
        // SAFETY: nothing else knows this task: this thread holds the run right.
        unsafe {
            assert!(t.poll_body(&mut cx).is_some_and(|p| p.is_pending()));
            assert!(t.drop_body());
            assert_eq!(drops.load(SeqCst), 1);
            assert!(!t.drop_body());
            assert!(t.poll_body(&mut cx).is_none());
        }
        drop(t);
        assert_eq!(drops.load(SeqCst), 1);
    }

    /// A finished body is dropped by the poll that finished it.
    #[test]
    fn a_finished_body_is_dropped_by_its_last_poll() {
        let (sys, comp) = fixture();
        let (t, drops) = counted_task(&sys, &comp, |guard| async move {
            drop(guard);
            Outcome::Failed("done".into())
        });
        let waker = t.borrowed_waker();
        let mut cx = Context::from_waker(&waker);
        // SAFETY: as above.
        let out = unsafe { t.poll_body(&mut cx) };
        assert_eq!(out, Some(Poll::Ready(Outcome::Failed("done".into()))));
        assert_eq!(drops.load(SeqCst), 1);
        // SAFETY: as above.
        assert!(!unsafe { t.drop_body() });
        drop(t);
        assert_eq!(drops.load(SeqCst), 1);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Models of [`WakeFlag`] driven the way the scheduler drives it: a worker
    //! takes the task off a run queue, `start_run`, polls, `end_run` (requeueing
    //! if told to); a waker delivers a message under the box mutex, then `wake`s
    //! and queues the task if told to. The run queue is a counter behind a mutex.
    //!
    //! The message goes through a mutex on purpose: that is how every kernel wake
    //! source delivers (box stores, the component's inner state). A wake that
    //! finds the task already `SCHEDULED` or `NOTIFIED` writes nothing, so it
    //! gives the next poll no happens-before edge of its own; a waker whose data
    //! is published only by a `Release` store it did not otherwise synchronise
    //! would not be covered.

    use super::*;
    use crate::runtime::sync::{AtomicBool, AtomicUsize, Mutex};
    use loom::thread;

    use crate::testing::loom_model as model;

    #[derive(Default)]
    struct Sim {
        flag: WakeFlag,
        /// Entries of this task on the run queue.
        queued: Mutex<usize>,
        /// The component's inbox (messages sent, not yet received).
        inbox: Mutex<usize>,
        /// Messages the polls received.
        received: AtomicUsize,
        /// A poll is in progress.
        polling: AtomicBool,
    }

    impl Sim {
        fn scheduled() -> Arc<Self> {
            Arc::new(Sim {
                flag: WakeFlag::new_scheduled(),
                queued: Mutex::new(1),
                ..Sim::default()
            })
        }

        fn enqueue(&self) {
            let mut q = self.queued.lock();
            assert_eq!(*q, 0, "task queued twice");
            *q += 1;
        }

        fn dequeue(&self) -> bool {
            let mut q = self.queued.lock();
            if *q == 0 {
                return false;
            }
            *q -= 1;
            true
        }

        /// A worker: run the task while it is on the queue.
        fn work(&self) {
            while self.dequeue() {
                self.flag.start_run();
                assert!(!self.polling.swap(true, Ordering::SeqCst), "polled concurrently");
                let n = std::mem::take(&mut *self.inbox.lock());
                self.received.fetch_add(n, Ordering::SeqCst);
                self.polling.store(false, Ordering::SeqCst);
                if self.flag.end_run() {
                    self.enqueue();
                }
            }
        }

        /// A producer: deliver a message, then wake the task.
        fn send(&self) {
            *self.inbox.lock() += 1;
            if self.flag.wake() {
                self.enqueue();
            }
        }
    }

    /// Many wakes of an idle task: exactly one of them queues it.
    #[test]
    fn loom_wake_queues_an_idle_task_once() {
        model(|| {
            let flag = Arc::new(WakeFlag::new());
            let others: Vec<_> = (0..2)
                .map(|_| {
                    let flag = flag.clone();
                    thread::spawn(move || flag.wake())
                })
                .collect();
            let mut queued = usize::from(flag.wake());
            for t in others {
                queued += usize::from(t.join().unwrap());
            }
            assert_eq!(queued, 1);
            assert!(!flag.wake());
        });
    }

    /// One worker runs a queued task while two producers send to it and wake it.
    /// No message is left unreceived (a wake during a poll requeues the task), the
    /// task is never on the queue twice, and it ends idle.
    #[test]
    fn loom_wake_during_run_is_never_lost() {
        model(|| {
            let sim = Sim::scheduled();
            let producers: Vec<_> = (0..2)
                .map(|_| {
                    let sim = sim.clone();
                    thread::spawn(move || sim.send())
                })
                .collect();
            sim.work();
            for p in producers {
                p.join().unwrap();
            }
            // A wake that found the task idle after the worker stopped looking
            // queued it: a worker picks it up later.
            sim.work();
            assert_eq!(sim.received.load(Ordering::SeqCst), 2);
            assert_eq!(*sim.queued.lock(), 0);
            assert_eq!(sim.flag.state(), IDLE);
        });
    }

    /// Two workers share the run queue while a producer wakes the task: the task
    /// is never polled by both at once and the message is received.
    #[test]
    fn loom_requeued_task_is_never_polled_twice_at_once() {
        model(|| {
            let sim = Sim::scheduled();
            let producer = {
                let sim = sim.clone();
                thread::spawn(move || sim.send())
            };
            let worker = {
                let sim = sim.clone();
                thread::spawn(move || sim.work())
            };
            sim.work();
            producer.join().unwrap();
            worker.join().unwrap();
            sim.work();
            assert_eq!(sim.received.load(Ordering::SeqCst), 1);
            assert_eq!(sim.flag.state(), IDLE);
        });
    }

    /// A wake racing with the task finishing never queues it; it ends done.
    #[test]
    fn loom_wakes_after_finish_are_ignored() {
        model(|| {
            let flag = Arc::new(WakeFlag::new_scheduled());
            let waker = {
                let flag = flag.clone();
                thread::spawn(move || flag.wake())
            };
            flag.start_run();
            flag.finish();
            let w = waker.join().unwrap();
            assert!(flag.is_done(), "state {} wake {}", flag.state(), w);
            assert!(!w);
            assert!(!flag.wake());
        });
    }

    /// [`RefCount`], the way `TaskRef` uses it: three holders (this thread and
    /// two others) each read the task, then give their reference back; the
    /// one that gives back the last frees it (here: writes to it). Loom's cell
    /// checks that every read happens before that write, whichever holder is
    /// last, and that exactly one holder frees.
    #[test]
    fn loom_last_reference_sees_every_use() {
        struct Obj {
            refs: RefCount,
            data: loom::cell::UnsafeCell<u64>,
            frees: AtomicUsize,
        }
        fn use_then_release(obj: &Obj) {
            // SAFETY: a holder only reads; the write below needs the last
            // reference (that is what the model checks).
            let v = obj.data.with(|p| unsafe { *p });
            assert_eq!(v, 7);
            if obj.refs.dec() {
                // SAFETY: as above.
                obj.data.with_mut(|p| unsafe { *p = 0 });
                obj.frees.fetch_add(1, Ordering::Relaxed);
            }
        }
        model(|| {
            let obj = std::sync::Arc::new(Obj {
                refs: RefCount::new(),
                data: loom::cell::UnsafeCell::new(7),
                frees: AtomicUsize::new(0),
            });
            let holders: Vec<_> = (0..2)
                .map(|_| {
                    obj.refs.inc();
                    let obj = obj.clone();
                    thread::spawn(move || use_then_release(&obj))
                })
                .collect();
            use_then_release(&obj);
            for h in holders {
                h.join().unwrap();
            }
            assert_eq!(obj.frees.load(Ordering::Relaxed), 1);
        });
    }
}
