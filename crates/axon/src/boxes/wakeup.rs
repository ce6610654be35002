//! Waking the receiver parked on a box, with as little atomic traffic as the
//! waker allows.
//!
//! A box keeps its receiver's waker in a [`RecvSlot`]. The slot *keeps* the waker
//! across wakes and only remembers whether the receiver is parked: a component
//! that parks on the same inbox again (every message, in a pipeline) finds its
//! waker already there (`Waker::will_wake`) and clones nothing.
//!
//! A delivery asks the slot, under the box lock, what to wake
//! ([`RecvSlot::delivered`]) and does it after the lock is released
//! ([`Wakeup::wake`]). When the waker is one of this kernel's task wakers, the
//! wake flag is moved under the lock and the task is queued without touching
//! its reference count if the sender runs on a worker of the task's system (the
//! common case; see [`crate::runtime::task::Runnable`]). Any other waker (a threaded
//! component, a foreign executor) is taken out and woken as usual.
//!
//! Compared with taking the waker on every delivery and cloning it on every
//! park, this saves two atomic read-modify-writes per message hop between async
//! components (docs/BENCHMARKS.md has the before/after figures).
//!
//! ## Arming: parking without the lock
//! A component that takes the last message out of its inbox will, nearly
//! always, come straight back for the next one in the same poll and park. So
//! when a task's receive empties the box, it parks there and then, under the
//! lock it already holds, and the box is *armed* for that task and that poll
//! ([`Armed`]). A receive later in the same poll that finds the box armed for
//! it returns `Pending` without taking the lock: one lock (an atomic
//! read-modify-write) fewer per message hop.
//!
//! Why that is safe: arming happens under the box lock while the task runs, so
//! any delivery after it takes the lock later, finds the receiver parked, and
//! wakes it; the task is `RUNNING`, so the wake marks it `NOTIFIED` and it is
//! requeued when its poll ends. A delivery before the arming put its message in
//! the box, which then was not empty and was not armed. Every delivery disarms
//! the box (under the lock), and a reader that still sees the old arming only
//! returns `Pending` in a poll that delivery has already promised to repeat.
//! An arming from an *earlier* poll proves nothing (a delivery that found the
//! task already queued wakes nobody, and nothing orders its disarming before
//! the new poll's read), hence the poll generation.
//!
//! A box is armed only while it is open: a receive that empties a closed box,
//! or one whose senders are all gone, must see `Closed` next, not `Pending`
//! (the closing paths disarm and wake, but a box that had already ended before
//! the receive would never be woken again). `pause()` parks without arming for
//! the same reason.

use std::task::Waker;

use crate::runtime::sync::{AtomicPtr, AtomicU64, Ordering};
use crate::runtime::task::{Runnable, Task};

/// Whether the receiver of a box is parked, and which task, in which of its
/// polls, armed the box (see the module documentation). Lives beside the box's
/// lock, not under it: written only under the lock, read by the lock-free check
/// of [`armed_for`](Armed::armed_for).
///
/// One tagged word: bit 0 says "parked"; the rest is the arming task's address
/// (tasks are 8-byte aligned) or null. Armed implies parked. Keeping the parked
/// flag here rather than in the store keeps the store at 64 bytes and a box at
/// 184 (a 200-byte allocation with its reference counts, a 208-byte malloc
/// chunk; see `node::tests::node_size`).
#[derive(Debug)]
pub(crate) struct Armed {
    state: AtomicPtr<()>,
    gen: AtomicU64,
}

const PARKED: usize = 1;

impl Default for Armed {
    fn default() -> Self {
        Self::new()
    }
}

impl Armed {
    /// Not parked, not armed.
    pub(crate) fn new() -> Self {
        Armed {
            state: AtomicPtr::new(std::ptr::null_mut()),
            gen: AtomicU64::new(0),
        }
    }

    /// Whether the receiver is parked (under the box lock).
    #[inline]
    fn is_parked(&self) -> bool {
        self.state.load(Ordering::Relaxed).addr() & PARKED != 0
    }

    /// Mark the receiver parked, keeping any arming (under the box lock).
    fn park(&self) {
        let s = self.state.load(Ordering::Relaxed);
        self.state.store(s.map_addr(|a| a | PARKED), Ordering::Release);
    }

    /// Arm for `task`'s current poll (under the box lock).
    fn arm(&self, task: &Task) {
        self.arm_at((task as *const Task).cast(), task.poll_gen());
    }

    /// Park and arm for the receiver identified by `who` (8-byte aligned), in
    /// its poll `gen`.
    fn arm_at(&self, who: *const (), gen: u64) {
        self.gen.store(gen, Ordering::Relaxed);
        self.state
            .store(who.cast_mut().map_addr(|a| a | PARKED), Ordering::Release);
    }

    /// Not parked, not armed (under the box lock).
    fn clear(&self) {
        self.state.store(std::ptr::null_mut(), Ordering::Release);
    }

    /// Whether armed for `who` in its poll `gen` (the check of
    /// [`armed_for`](Self::armed_for), for the loom model).
    #[cfg(all(test, loom))]
    fn armed_at(&self, who: *const (), gen: u64) -> bool {
        let s = self.state.load(Ordering::Acquire);
        s.addr() == who.addr() | PARKED && self.gen.load(Ordering::Relaxed) == gen
    }

    /// Whether the box is armed for the task `waker` wakes, in its current
    /// poll: a receive may then return `Pending` without the lock.
    #[inline]
    pub(crate) fn armed_for(&self, waker: &Waker) -> bool {
        // One load and a compare on the common paths (not armed, or armed for
        // someone else); the waker's kind and the generation only when it
        // matches.
        let s = self.state.load(Ordering::Acquire);
        if s.addr() != waker.data().addr() | PARKED || waker.data().is_null() {
            return false;
        }
        match Task::of_waker(waker) {
            Some(task) => self.gen.load(Ordering::Relaxed) == task.poll_gen(),
            None => false,
        }
    }
}

/// The receiver of a box: its waker, kept between wakes. Whether it is parked
/// lives in the box's [`Armed`], which every method here takes.
#[derive(Debug, Default)]
pub(crate) struct RecvSlot {
    waker: Option<Waker>,
}

impl RecvSlot {
    /// An empty slot: no receiver parked.
    pub(crate) const fn new() -> Self {
        RecvSlot { waker: None }
    }

    fn keep(&mut self, waker: &Waker) {
        match &self.waker {
            Some(w) if w.will_wake(waker) => {}
            _ => self.waker = Some(waker.clone()),
        }
    }

    /// The receiver waits for the next delivery (or for the box to close) and
    /// is to be woken through `waker`. Call under the box lock.
    #[inline]
    pub(crate) fn park(&mut self, waker: &Waker, armed: &Armed) {
        self.keep(waker);
        armed.park();
    }

    /// [`park`](Self::park) a receive that found the box empty *and open*
    /// (not closed, senders not all gone: a receive must not return `Pending`
    /// on a box that has ended), arming it if the receiver is a task.
    #[inline]
    pub(crate) fn park_armed(&mut self, waker: &Waker, armed: &Armed) {
        self.keep(waker);
        match Task::of_waker(waker) {
            Some(task) => armed.arm(task),
            None => armed.park(),
        }
    }

    /// A receive just emptied the box, which is still open (same conditions as
    /// [`park_armed`](Self::park_armed)): if the receiver is a task, park and
    /// arm now, so that its next receive in this poll need not take the lock.
    /// Other receivers are left alone (they would only get a spurious wake).
    #[inline]
    pub(crate) fn emptied(&mut self, waker: &Waker, armed: &Armed) {
        if let Some(task) = Task::of_waker(waker) {
            self.keep(waker);
            armed.arm(task);
        }
    }

    /// Take the waker out, parked or not, to wake it after the lock is released
    /// (the box closed, its senders went, or messages were moved into it: a
    /// spurious wake is harmless there and these paths are rare).
    pub(crate) fn take(&mut self, armed: &Armed) -> Option<Waker> {
        armed.clear();
        self.waker.take()
    }

    /// A message was delivered (call under the box lock): what must be woken
    /// once the lock is released.
    #[inline]
    pub(crate) fn delivered(&mut self, armed: &Armed) -> Wakeup {
        if !armed.is_parked() {
            // Armed implies parked: nothing to disarm either.
            return Wakeup::Nothing;
        }
        armed.clear();
        let Some(w) = &self.waker else {
            return Wakeup::Nothing;
        };
        if let Some(task) = Task::of_waker(w) {
            // The slot's waker keeps the task alive while we look at it; moving
            // its flag here, under the box lock, means the entry made below is
            // the one the flag allows.
            if task.flag.wake() {
                Wakeup::Task(task.shared.claim(task))
            } else {
                Wakeup::Nothing
            }
        } else {
            match self.waker.take() {
                Some(w) => Wakeup::Waker(w),
                None => Wakeup::Nothing,
            }
        }
    }
}

/// What a delivery must wake once the box lock is released.
#[must_use = "a delivery's wakeup must be carried out"]
pub(crate) enum Wakeup {
    /// Nobody was parked (or the task is already queued or running).
    Nothing,
    /// A task of this kernel, its flag already moved to `SCHEDULED`: queue it.
    Task(Runnable),
    /// Any other waker.
    Waker(Waker),
}

impl Wakeup {
    /// Carry the wakeup out (after releasing the lock it was made under).
    #[inline]
    pub(crate) fn wake(self) {
        match self {
            Wakeup::Nothing => {}
            Wakeup::Task(r) => crate::runtime::scheduler::schedule_claimed(r),
            Wakeup::Waker(w) => w.wake(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::counting_waker;

    #[test]
    fn a_parked_foreign_waker_is_woken_once_per_park() {
        let (c, w) = counting_waker();
        let mut slot = RecvSlot::new();
        let armed = Armed::new();
        assert!(
            matches!(slot.delivered(&armed), Wakeup::Nothing),
            "nobody parked yet"
        );
        slot.park_armed(&w, &armed);
        assert!(armed.is_parked());
        slot.delivered(&armed).wake();
        assert_eq!(c.wakes(), 1);
        assert!(!armed.is_parked());
        // Not parked again: a second delivery wakes nothing.
        assert!(matches!(slot.delivered(&armed), Wakeup::Nothing));
        slot.park_armed(&w, &armed);
        slot.delivered(&armed).wake();
        assert_eq!(c.wakes(), 2);
    }

    #[test]
    fn take_hands_the_waker_out_parked_or_not() {
        let (c, w) = counting_waker();
        let mut slot = RecvSlot::new();
        let armed = Armed::new();
        slot.park_armed(&w, &armed);
        let taken = slot.take(&armed).expect("a waker");
        assert!(!armed.is_parked());
        assert!(slot.take(&armed).is_none());
        taken.wake();
        assert_eq!(c.wakes(), 1);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! A model of arming driven the way the kernel drives it: the receiver is a
    //! task with a real [`WakeFlag`](crate::runtime::task::WakeFlag) and poll generation,
    //! the box is a queue under a mutex with a real [`Armed`] (which holds the
    //! `parked` flag) beside it, and senders deliver and wake exactly as
    //! `Store::push` + `RecvSlot::delivered` + `Wakeup::wake` do (minus the
    //! waker indirection: the receiver is the only task). A receive that finds
    //! the box armed for its current poll returns `Pending` without the lock.
    //! Checked: every message is received, no wake is lost, the task is never
    //! queued twice.

    use super::*;
    use crate::runtime::sync::{AtomicUsize, Mutex};
    use crate::runtime::task::WakeFlag;
    use loom::sync::Arc;
    use loom::thread;

    struct BoxSim {
        /// Messages waiting.
        store: Mutex<usize>,
        armed: Armed,
        flag: WakeFlag,
        /// Entries of the task on the run queue.
        queued: Mutex<usize>,
        received: AtomicUsize,
        gen: AtomicU64,
    }

    const ME: *const () = 0x10 as *const ();

    impl BoxSim {
        fn new() -> Arc<Self> {
            Arc::new(BoxSim {
                store: Mutex::new(0),
                armed: Armed::new(),
                flag: WakeFlag::new_scheduled(),
                queued: Mutex::new(1),
                received: AtomicUsize::new(0),
                gen: AtomicU64::new(0),
            })
        }

        fn send(&self) {
            let wake = {
                let mut st = self.store.lock();
                *st += 1;
                if self.armed.is_parked() {
                    self.armed.clear();
                    self.flag.wake()
                } else {
                    false
                }
            };
            if wake {
                let mut q = self.queued.lock();
                assert_eq!(*q, 0, "task queued twice");
                *q += 1;
            }
        }

        /// One poll: `recv` until `Pending` (each receive as `poll_recv`).
        fn poll(&self) {
            let gen = self.gen.load(Ordering::Relaxed) + 1;
            self.gen.store(gen, Ordering::Relaxed);
            loop {
                if self.armed.armed_at(ME, gen) {
                    return;
                }
                let mut st = self.store.lock();
                if *st > 0 {
                    *st -= 1;
                    if *st == 0 {
                        // `emptied`: park and arm now.
                        self.armed.arm_at(ME, gen);
                    }
                    drop(st);
                    self.received.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                self.armed.arm_at(ME, gen);
                return;
            }
        }

        /// A worker: run the task while it is queued.
        fn work(&self) {
            loop {
                {
                    let mut q = self.queued.lock();
                    if *q == 0 {
                        return;
                    }
                    *q -= 1;
                }
                self.flag.start_run();
                self.poll();
                if self.flag.end_run() {
                    *self.queued.lock() += 1;
                }
            }
        }
    }

    impl BoxSim {
        /// Another wake source (a second inbox, a child, a timer): wakes the
        /// task without touching this box.
        fn poke(&self) {
            if self.flag.wake() {
                let mut q = self.queued.lock();
                assert_eq!(*q, 0, "task queued twice");
                *q += 1;
            }
        }
    }

    use crate::testing::loom_model as model;

    /// Two senders deliver while the receiver polls (arming as it empties the
    /// box): both messages are received, by polls the deliveries caused.
    #[test]
    fn loom_arming_loses_no_wake() {
        model(|| {
            let b = BoxSim::new();
            let senders: Vec<_> = (0..2)
                .map(|_| {
                    let b = b.clone();
                    thread::spawn(move || b.send())
                })
                .collect();
            b.work();
            for s in senders {
                s.join().unwrap();
            }
            // A wake that came after the worker looked queued the task again.
            b.work();
            assert_eq!(b.received.load(Ordering::SeqCst), 2);
            assert_eq!(*b.store.lock(), 0);
        });
    }

    /// Two workers share the run queue while a sender delivers: the message is
    /// received and the task ends idle, not parked on a full box.
    #[test]
    fn loom_arming_with_two_workers() {
        model(|| {
            let b = BoxSim::new();
            let sender = {
                let b = b.clone();
                thread::spawn(move || b.send())
            };
            let worker = {
                let b = b.clone();
                thread::spawn(move || b.work())
            };
            b.work();
            sender.join().unwrap();
            worker.join().unwrap();
            b.work();
            assert_eq!(b.received.load(Ordering::SeqCst), 1);
            assert_eq!(*b.store.lock(), 0);
        });
    }

    /// The receiver parks (arming the box) and goes idle; another source wakes
    /// it while a sender delivers. The delivery finds the task already queued,
    /// so it wakes nobody; the next poll must see the message even if it still
    /// sees the old arming (which is why an arming counts only in the poll that
    /// made it).
    #[test]
    fn loom_an_old_arming_does_not_hide_a_delivery() {
        model(|| {
            let b = BoxSim::new();
            // First poll: the box is empty, the task parks and arms it.
            b.work();
            assert_eq!(*b.queued.lock(), 0);
            let poker = {
                let b = b.clone();
                thread::spawn(move || b.poke())
            };
            let sender = {
                let b = b.clone();
                thread::spawn(move || b.send())
            };
            poker.join().unwrap();
            b.work();
            sender.join().unwrap();
            b.work();
            assert_eq!(b.received.load(Ordering::SeqCst), 1);
            assert_eq!(*b.store.lock(), 0);
        });
    }
}
