//! [`SpinLock`]: the lock of the kernel's short critical sections.
//!
//! A box's critical sections are a handful of instructions (push or pop a
//! message, look at the waiting-sender queue), and on the hot path the lock is
//! uncontended: a sender and its receiver meet on it once per message. There
//! the cost of a lock is its atomic read-modify-writes. `parking_lot::Mutex`
//! takes one to lock and one to unlock (the unlock must learn whether a thread
//! is parked); this lock unlocks with a plain `Release` store, which saves one
//! per critical section — three per message hop (send, receive, and the receive
//! that finds the box empty). See docs/BENCHMARKS.md for the before/after.
//!
//! The same holds for the other short sections on the spawn-and-wire path: a
//! box's place in the linkage graph, the global topology lock, a component's
//! boxes and family, and the system's registry ([`ShortLock`](crate::runtime::sync)
//! names them all). Spawning a component, taking its boxes and linking it takes
//! these about ten times; each saves a read-modify-write.
//!
//! Contention is handled by [`crossbeam_utils::Backoff`]: spin briefly, then
//! yield the thread to the OS, so a waiter whose holder was preempted does not
//! burn its time slice. Nothing here parks, so the lock must only guard short,
//! non-blocking sections: no allocation-heavy work, no waking of wakers (the
//! kernel collects wakers under the lock and wakes them after releasing it).
//!
//! Mutual exclusion is checked under loom (`loom_tests` below) and by the
//! kernel's concurrent property and stress tests, which run every box
//! operation through this lock.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};

use crate::runtime::sync::{AtomicBool, Ordering};

/// A test-and-test-and-set spin lock with back-off.
pub(crate) struct SpinLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `value` to one thread at a time (the one
// whose `compare_exchange` moved `locked` from false to true, until its guard
// stores false); the `Acquire`/`Release` pair orders one holder's writes before
// the next holder's reads. So sharing the lock shares `T` only by moving access
// between threads, which `T: Send` allows.
unsafe impl<T: Send> Sync for SpinLock<T> {}
// SAFETY: the lock owns its `T`.
unsafe impl<T: Send> Send for SpinLock<T> {}

impl<T: Default> Default for SpinLock<T> {
    fn default() -> Self {
        SpinLock::new(T::default())
    }
}

impl<T> SpinLock<T> {
    /// An unlocked lock (`const`, so a `static` can hold one).
    #[cfg(not(loom))]
    pub(crate) const fn new(value: T) -> Self {
        SpinLock {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// An unlocked lock (loom's atomics cannot be made in a `const`).
    #[cfg(loom)]
    pub(crate) fn new(value: T) -> Self {
        SpinLock {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Take the lock, spinning (then yielding) while another thread holds it.
    #[inline]
    pub(crate) fn lock(&self) -> SpinGuard<'_, T> {
        if self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        SpinGuard { lock: self }
    }

    #[cold]
    fn lock_contended(&self) {
        let backoff = crossbeam_utils::Backoff::new();
        loop {
            // Test before test-and-set: spin on a shared cache line, not a
            // write that bounces it between cores.
            while self.locked.load(Ordering::Relaxed) {
                relax(&backoff);
            }
            if self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
            relax(&backoff);
        }
    }
}

#[cfg(not(loom))]
fn relax(backoff: &crossbeam_utils::Backoff) {
    backoff.snooze();
}

#[cfg(loom)]
fn relax(_: &crossbeam_utils::Backoff) {
    loom::thread::yield_now();
}

impl<T: std::fmt::Debug> std::fmt::Debug for SpinLock<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpinLock").finish_non_exhaustive()
    }
}

/// Access to the value of a [`SpinLock`]; unlocks when dropped.
pub(crate) struct SpinGuard<'a, T> {
    lock: &'a SpinLock<T>,
}

impl<T> Deref for SpinGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: this guard exists only while its thread holds the lock (see
        // the `Sync` impl), so no `&mut T` exists elsewhere.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for SpinGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as for `deref`; `&mut self` makes this the only reference
        // derived from this guard.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Four threads each add 1 a hundred thousand times to a counter that is
    /// read and written in two steps: any lost update shows in the total.
    #[test]
    fn increments_under_contention_are_never_lost() {
        let lock = Arc::new(SpinLock::new((0u64, 0u64)));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    for _ in 0..100_000 {
                        let mut g = lock.lock();
                        let seen = g.0;
                        std::hint::black_box(&mut *g);
                        g.0 = seen + 1;
                        g.1 += 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*lock.lock(), (400_000, 400_000));
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    /// Two threads update a two-step counter under the lock: loom explores every
    /// interleaving and reports a data race on the `UnsafeCell` if exclusion or
    /// the Acquire/Release hand-off were wrong.
    #[test]
    fn loom_spin_lock_excludes_and_publishes() {
        loom::model(|| {
            let lock = Arc::new(SpinLock::new(loom::cell::UnsafeCell::new(0u32)));
            let other = {
                let lock = lock.clone();
                thread::spawn(move || {
                    let g = lock.lock();
                    // SAFETY: loom checks this access for races; that is the test.
                    g.with_mut(|v| unsafe { *v += 1 });
                })
            };
            {
                let g = lock.lock();
                // SAFETY: as above.
                g.with_mut(|v| unsafe { *v += 1 });
            }
            other.join().unwrap();
            let g = lock.lock();
            // SAFETY: as above.
            assert_eq!(g.with(|v| unsafe { *v }), 2);
        });
    }
}
