//! Cooperative budget: a component that always finds work yields now and then.
//!
//! The scheduler gives each poll of a component a budget of ready box operations
//! (receives and sends that complete without waiting). When it is spent, the next
//! box operation returns `Pending` after waking the component again, so it goes
//! to the back of the run queue and others get a turn. Outside the scheduler
//! (plain threads, other executors) the budget is unlimited.

use std::cell::Cell;
use std::task::{Context, Poll};

/// Ready box operations allowed per poll of a component.
pub(crate) const BUDGET: u32 = 128;

/// The budget word's value outside the scheduler: no budgeting. A plain
/// `u32` rather than an `Option` keeps the check to one load and one compare.
const UNLIMITED: u32 = u32::MAX;

thread_local! {
    static LEFT: Cell<u32> = const { Cell::new(UNLIMITED) };
}

/// Start a fresh budget for the poll about to run on this thread.
pub(crate) fn reset() {
    LEFT.with(|l| l.set(BUDGET));
}

/// Leave budgeting (the worker stops polling components).
pub(crate) fn clear() {
    LEFT.with(|l| l.set(UNLIMITED));
}

/// Spend one unit; `Pending` (with the task re-woken) when the budget is gone.
#[inline]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    LEFT.with(|l| match l.get() {
        UNLIMITED => Poll::Ready(()),
        0 => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        n => {
            l.set(n - 1);
            Poll::Ready(())
        }
    })
}

/// Give other components a turn: resolves after the calling component has been
/// put at the back of the run queue once. For loops that poll with `try_recv`
/// and would otherwise never yield.
///
/// ```
/// axon::block_on(axon::yield_now());
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// Future of [`yield_now`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct YieldNow {
    yielded: bool,
}

impl std::future::Future for YieldNow {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
