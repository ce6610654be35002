//! Helpers shared by the kernel's own unit tests and loom models (compiled only
//! for tests): a waker that counts its wakes, and the loom model runner every
//! `loom_tests` module uses.

pub(crate) use counting::counting_waker;

mod counting {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    /// Counts how often the waker made by [`counting_waker`] was woken.
    pub(crate) struct Counter(AtomicUsize);

    impl Counter {
        /// Wakes so far.
        pub(crate) fn wakes(&self) -> usize {
            self.0.load(Ordering::SeqCst)
        }
    }

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A waker and the counter of its wakes.
    pub(crate) fn counting_waker() -> (Arc<Counter>, Waker) {
        let c = Arc::new(Counter(AtomicUsize::new(0)));
        (c.clone(), Waker::from(c))
    }
}

/// Run a loom model with the preemption bound the kernel's models use (3,
/// unless `LOOM_MAX_PREEMPTIONS` says otherwise): enough for every interleaving
/// of the handful of threads a model has, in seconds.
#[cfg(loom)]
pub(crate) fn loom_model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(3);
    }
    b.check(f);
}
