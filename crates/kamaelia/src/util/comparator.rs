//! [`comparator`] and [`combiner`]: pair up two streams item by item
//! (Kamaelia's `Comparator`).
//!
//! Items arrive on `inA` and `inB`; each time both have one, the two are
//! taken (the oldest of each) and `outbox` gets the result: `a == b` for
//! [`comparator`], any `FnMut(A, B) -> U` for [`combiner`] (the reference's
//! "override `combine`"). A side running ahead waits in its inbox.
//!
//! Ending: `ShutdownMicroprocess` at `control` stops it at once; after
//! `ProducerFinished` it pairs what has already arrived and ends; it also ends
//! (with `ProducerFinished`) once either input has closed and holds nothing
//! more, since no further pair can form. It has an `inbox` (carrying `()`,
//! unused) so a chassis can wire it like any other component.

use std::future::poll_fn;
use std::task::Poll;

use axon::{Component, Inbox, Prefab, Signal};

use super::Intake;

/// A component sending `true` for each pair of equal items on `inA` and
/// `inB`, `false` otherwise.
///
/// Boxes: `inA: T`, `inB: T`, `inbox: ()` (unused), `control` → `outbox: bool`,
/// `signal`.
///
/// ```
/// use axon::{Signal, System};
/// use kamaelia::util::{collector, comparator, data_source};
///
/// let sys = System::builder().threads(1).build();
/// let a = data_source(["x", "y", "z"]).spawn(&sys);
/// let b = data_source(["x", "q", "z"]).spawn(&sys);
/// let cmp = comparator::<&str>().spawn(&sys);
/// let (sink, got) = collector::<bool>();
/// let sink = sink.spawn(&sys);
/// axon::link(&a.outbox::<&str>("outbox")?, &cmp.inbox("inA")?)?;
/// axon::link(&b.outbox::<&str>("outbox")?, &cmp.inbox("inB")?)?;
/// axon::link(&cmp.outbox::<bool>("outbox")?, &sink.inbox("inbox")?)?;
/// sys.run();
/// assert_eq!(got.take(), [true, false, true]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn comparator<T: PartialEq + Send + 'static>() -> Prefab {
    combiner(|a: T, b: T| a == b)
}

/// A component sending `combine(a, b)` for each pair of an item on `inA` and
/// one on `inB`.
///
/// Boxes: `inA: A`, `inB: B`, `inbox: ()` (unused), `control` → `outbox: U`,
/// `signal`.
///
/// ```
/// use axon::{Signal, System};
/// use kamaelia::util::{collector, combiner, data_source};
///
/// let sys = System::builder().threads(1).build();
/// let a = data_source([1u32, 2, 3]).spawn(&sys);
/// let b = data_source([10u32, 20]).spawn(&sys);
/// let add = combiner(|a: u32, b: u32| a + b).spawn(&sys);
/// let (sink, got) = collector::<u32>();
/// let sink = sink.spawn(&sys);
/// axon::link(&a.outbox::<u32>("outbox")?, &add.inbox("inA")?)?;
/// axon::link(&b.outbox::<u32>("outbox")?, &add.inbox("inB")?)?;
/// axon::link(&add.outbox::<u32>("outbox")?, &sink.inbox("inbox")?)?;
/// axon::link(&add.outbox::<Signal>("signal")?, &sink.inbox("control")?)?;
/// sys.run();
/// assert_eq!(got.take(), [11, 22]); // the 3 has no partner
/// assert_eq!(got.ending(), Some(Signal::ProducerFinished));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn combiner<A, B, U, F>(combine: F) -> Prefab
where
    A: Send + 'static,
    B: Send + 'static,
    U: Send + 'static,
    F: FnMut(A, B) -> U + Send + 'static,
{
    let spec = Component::new("Comparator")
        .inbox_and_outbox::<(), U>()
        .inbox::<A>("inA")
        .inbox::<B>("inB");
    Prefab::new(spec, move |mut cx| async move {
        let mut combine = combine;
        // `inA` read under the shutdown convention; `inB` alongside it.
        let mut intake = Intake::new(cx.inbox::<A>("inA")?, cx.inbox::<Signal>("control")?);
        let _unused = cx.inbox::<()>("inbox")?;
        let mut in_b: Inbox<B> = cx.inbox::<B>("inB")?;
        let mut out = cx.outbox::<U>("outbox")?;
        let mut signal = cx.outbox::<Signal>("signal")?;
        while let Some(a) = intake.recv().await {
            // Wait for the partner, staying stoppable.
            let b = poll_fn(|tcx| {
                if intake.poll_stop(tcx).is_ready() {
                    return Poll::Ready(None);
                }
                if intake.is_draining() && in_b.is_empty() {
                    return Poll::Ready(None); // no partner has arrived, none will be waited for
                }
                in_b.poll_recv(tcx).map(Result::ok)
            })
            .await;
            let Some(b) = b else { break };
            if !intake.send(&mut out, combine(a, b)).await? {
                break;
            }
        }
        intake.finish(&mut signal).await;
        Ok(())
    })
}
