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
//! common case; see [`crate::task::Runnable`]). Any other waker (a threaded
//! component, a foreign executor) is taken out and woken as usual.
//!
//! Compared with taking the waker on every delivery and cloning it on every
//! park, this saves two atomic read-modify-writes per message hop between async
//! components (docs/BENCHMARKS.md has the before/after figures).

use std::task::Waker;

use crate::task::{Runnable, Task};

/// The receiver of a box: its waker and whether it waits for a delivery.
#[derive(Debug, Default)]
pub(crate) struct RecvSlot {
    waker: Option<Waker>,
    parked: bool,
}

impl RecvSlot {
    /// An empty slot: no receiver parked.
    pub(crate) const fn new() -> Self {
        RecvSlot {
            waker: None,
            parked: false,
        }
    }

    /// The receiver waits for the next delivery (or for the box to close) and
    /// is to be woken through `waker`.
    #[inline]
    pub(crate) fn park(&mut self, waker: &Waker) {
        self.parked = true;
        match &self.waker {
            Some(w) if w.will_wake(waker) => {}
            _ => self.waker = Some(waker.clone()),
        }
    }

    /// Whether a receiver is parked here.
    #[allow(dead_code)] // the unit tests look
    pub(crate) fn is_parked(&self) -> bool {
        self.parked
    }

    /// Take the waker out, parked or not, to wake it after the lock is released
    /// (the box closed, its senders went, or messages were moved into it: a
    /// spurious wake is harmless there and these paths are rare).
    pub(crate) fn take(&mut self) -> Option<Waker> {
        self.parked = false;
        self.waker.take()
    }

    /// A message was delivered (call under the box lock): what must be woken
    /// once the lock is released.
    #[inline]
    pub(crate) fn delivered(&mut self) -> Wakeup {
        if !self.parked {
            return Wakeup::Nothing;
        }
        self.parked = false;
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
            Wakeup::Task(r) => crate::scheduler::schedule_claimed(r),
            Wakeup::Waker(w) => w.wake(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Counter(AtomicUsize);
    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_parked_foreign_waker_is_woken_once_per_park() {
        let c = Arc::new(Counter(AtomicUsize::new(0)));
        let w = Waker::from(c.clone());
        let mut slot = RecvSlot::new();
        assert!(matches!(slot.delivered(), Wakeup::Nothing), "nobody parked yet");
        slot.park(&w);
        assert!(slot.is_parked());
        slot.delivered().wake();
        assert_eq!(c.0.load(Ordering::SeqCst), 1);
        assert!(!slot.is_parked());
        // Not parked again: a second delivery wakes nothing.
        assert!(matches!(slot.delivered(), Wakeup::Nothing));
        slot.park(&w);
        slot.delivered().wake();
        assert_eq!(c.0.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn take_hands_the_waker_out_parked_or_not() {
        let c = Arc::new(Counter(AtomicUsize::new(0)));
        let w = Waker::from(c.clone());
        let mut slot = RecvSlot::new();
        slot.park(&w);
        let taken = slot.take().expect("a waker");
        assert!(!slot.is_parked());
        assert!(slot.take().is_none());
        taken.wake();
        assert_eq!(c.0.load(Ordering::SeqCst), 1);
    }
}
