//! Synchronisation primitives used by the kernel, swappable for `loom` models.
//!
//! Under `--cfg loom` the atomics, mutex and condition variable come from `loom`
//! so the concurrency models (`loom_tests` modules in `task.rs`, `idle.rs` and
//! `store.rs`) explore every interleaving of the real kernel code: the task wake
//! flag, the idle-worker hand-off and the waiting-sender queue. Otherwise they are
//! `std` atomics and a `parking_lot` mutex and condition variable. Short critical
//! sections (a box's store and topology, a component's state, the registry) are
//! guarded by [`ShortLock`]: the kernel's spin lock (`spin.rs`, which has its own
//! loom model) in normal builds, loom's mutex under loom. Run the models with
//! `RUSTFLAGS="--cfg loom" cargo test -p axon --release --lib loom`.
//!
//! Not swapped (the models never reach them, and the crate still builds under
//! loom): the global topology lock (`topology::TOPOLOGY`, a `static` spin lock,
//! and a `parking_lot` const mutex under loom, whose atomics cannot be made in
//! a `static`), the id counters and the thread-locals of the scheduler, `coop` and
//! `threaded`. A model that used them would block a real OS thread or share state
//! between loom threads, so models drive `Store`, `WakeFlag` and `Sleepers`
//! directly.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize,
};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize,
};

pub(crate) use std::sync::atomic::Ordering;

/// A mutex with the `parking_lot` calling convention (no poisoning) in both builds.
#[derive(Debug, Default)]
pub(crate) struct Mutex<T> {
    #[cfg(not(loom))]
    inner: parking_lot::Mutex<T>,
    #[cfg(loom)]
    inner: loom::sync::Mutex<T>,
}

#[cfg(not(loom))]
pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;
#[cfg(loom)]
pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Mutex {
            #[cfg(not(loom))]
            inner: parking_lot::Mutex::new(value),
            #[cfg(loom)]
            inner: loom::sync::Mutex::new(value),
        }
    }

    #[cfg(not(loom))]
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.inner.lock()
    }

    #[cfg(loom)]
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.inner.lock().unwrap()
    }

    /// The underlying mutex, for a `Debug` that looks like the plain type's.
    pub(crate) fn inner_debug(&self) -> &dyn std::fmt::Debug
    where
        T: std::fmt::Debug,
    {
        &self.inner
    }
}

/// A condition variable for [`Mutex`]: `parking_lot`'s in normal builds, `loom`'s
/// under `--cfg loom`. Waits take the guard and hand it back.
#[derive(Default)]
pub(crate) struct Condvar {
    #[cfg(not(loom))]
    inner: parking_lot::Condvar,
    #[cfg(loom)]
    inner: loom::sync::Condvar,
}

impl Condvar {
    /// Block until notified (spurious returns allowed).
    #[cfg(not(loom))]
    pub(crate) fn wait<'a, T>(&self, mut guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.inner.wait(&mut guard);
        guard
    }

    /// Block until notified or `timeout` passes (spurious returns allowed).
    #[cfg(not(loom))]
    pub(crate) fn wait_for<'a, T>(
        &self,
        mut guard: MutexGuard<'a, T>,
        timeout: std::time::Duration,
    ) -> MutexGuard<'a, T> {
        self.inner.wait_for(&mut guard, timeout);
        guard
    }

    #[cfg(loom)]
    pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.inner.wait(guard).unwrap()
    }

    /// Under loom a timed wait is an untimed one (loom has no clock).
    #[cfg(loom)]
    pub(crate) fn wait_for<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: std::time::Duration,
    ) -> MutexGuard<'a, T> {
        self.inner.wait_timeout(guard, timeout).unwrap().0
    }

    /// Wake one waiting thread.
    pub(crate) fn notify_one(&self) {
        self.inner.notify_one();
    }
}

impl std::fmt::Debug for Condvar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

/// The lock of the kernel's short, non-blocking critical sections: a box's
/// store and its place in the linkage graph, a component's boxes and family,
/// the system's registry. A spin lock whose unlock is a plain `Release` store,
/// where `parking_lot`'s unlock is a read-modify-write (see `spin.rs`): every
/// message hop takes the store's lock, and spawning and wiring a component
/// takes the others about ten times.
#[cfg(not(loom))]
pub(crate) type ShortLock<T> = crate::runtime::spin::SpinLock<T>;
/// The guard of a [`ShortLock`].
#[cfg(not(loom))]
pub(crate) type ShortLockGuard<'a, T> = crate::runtime::spin::SpinGuard<'a, T>;
/// Under loom these keep loom's mutex: the models check the logic around the
/// locks; `spin.rs` has its own model of the lock.
#[cfg(loom)]
pub(crate) type ShortLock<T> = Mutex<T>;
/// The guard of a [`ShortLock`].
#[cfg(loom)]
pub(crate) type ShortLockGuard<'a, T> = MutexGuard<'a, T>;
