//! Where an idle scheduler thread sleeps.
//!
//! A worker with nothing to run parks in a [`Park`]. The default parks on a
//! condition variable with no timeout, so an idle system makes no wakeups at all;
//! any thread (a delivery from a threaded component, an external handle, a timer)
//! unparks it. The trait exists so an I/O poller can be *the* place a worker
//! sleeps: the network layer supplies a `Park` that blocks in `mio::Poll::poll`
//! and unparks through a `mio::Waker` (see [`SystemBuilder::park`](crate::SystemBuilder::park)).

use std::time::Duration;

use crate::runtime::sync::{Condvar, Mutex};

/// A place for one scheduler thread to sleep until unparked.
///
/// `unpark` before `park` must make the next `park` return at once (a token,
/// like [`std::thread::park`]), otherwise wakeups are lost.
pub trait Park: Send + Sync + 'static {
    /// Sleep until [`unpark`](Park::unpark) is called or `timeout` passes.
    /// Spurious returns are allowed.
    fn park(&self, timeout: Option<Duration>);
    /// Wake the parked thread, or make its next `park` return at once.
    fn unpark(&self);
}

/// The default [`Park`]: a token behind a mutex and a condition variable.
///
/// (Under `--cfg loom` the mutex and condition variable are `loom`'s, so the
/// idle-worker model in `idle.rs` runs this very parker.)
#[derive(Default)]
pub struct ThreadPark {
    notified: Mutex<bool>,
    cv: Condvar,
}

impl std::fmt::Debug for ThreadPark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadPark")
            .field("notified", self.notified.inner_debug())
            .field("cv", &self.cv)
            .finish()
    }
}

impl ThreadPark {
    /// A parker with no token.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Park for ThreadPark {
    fn park(&self, timeout: Option<Duration>) {
        let mut n = self.notified.lock();
        if !*n {
            n = match timeout {
                None => self.cv.wait(n),
                Some(t) => self.cv.wait_for(n, t),
            };
        }
        *n = false;
    }

    fn unpark(&self) {
        let mut n = self.notified.lock();
        *n = true;
        self.cv.notify_one();
    }
}
