//! Blocking a plain thread on a future: [`block_on`] and [`block_on_timeout`].
//!
//! The primitive under every blocking box operation (`Inbox::recv_blocking`,
//! `Outbox::send_blocking`, the handle's calls) and under threaded components:
//! it polls a future on the current thread, parking the thread between polls,
//! with a waker that unparks it. Public as `axon::block_on` and
//! `axon::threaded::block_on`.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

thread_local! {
    static WAKER: Waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
}

/// Drive `fut` to completion on this thread, sleeping between polls.
///
/// For threaded components and plain code. Calling it inside an async component
/// would block a scheduler thread: don't.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    WAKER.with(|waker| {
        let mut cx = TaskContext::from_waker(waker);
        loop {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::park();
        }
    })
}

/// [`block_on`], giving up after `timeout` (if given). `None` if it timed out.
pub fn block_on_timeout<F: Future>(fut: F, timeout: Option<Duration>) -> Option<F::Output> {
    let Some(timeout) = timeout else {
        return Some(block_on(fut));
    };
    let deadline = Instant::now() + timeout;
    let mut fut = pin!(fut);
    WAKER.with(|waker| {
        let mut cx = TaskContext::from_waker(waker);
        loop {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return Some(v);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            std::thread::park_timeout(deadline - now);
        }
    })
}
