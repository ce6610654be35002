//! The systems under comparison. Each module adapts one implementation
//! (our kernel or a peer) to the [`System`] trait, which is all the harness
//! knows about them.
//!
//! Conventions every adapter follows, so that rows are comparable:
//! - A *component* is whatever the system calls an actor or task, together
//!   with its own inbox (for plain tokio/flume tasks and threads: a task or
//!   thread plus a channel receiver it owns).
//! - Set-up (runtime, spawning the workload's components) is outside the
//!   timed section unless spawning is what the workload measures; the timed
//!   section starts just before the first message is injected and ends when
//!   the driver has received the final result.
//! - Every run returns a [`Sample`] whose `check` the harness compares with
//!   the value in `workloads.rs`; adapters never verify themselves.
//! - Each call builds and tears down its own runtime, so repetitions are
//!   independent.

pub mod actix;
pub mod axon;
pub mod flume;
pub mod kameo;
pub mod ractor;
pub mod threads;
pub mod tokio;

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// What one repetition measured.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Wall time of the timed section; for `idle`, the process CPU time
    /// (user + system, all threads) consumed during the idle window.
    pub measured: Duration,
    /// The count or checksum the run observed (see `workloads::expected_*`).
    pub check: u64,
}

/// Why a run produced no figure.
#[derive(Clone, Debug)]
pub enum RunError {
    /// The system cannot express this workload; the row says `n/a`.
    NotApplicable(&'static str),
    /// The adapter is not written yet (the axon stubs); the row says so.
    NotImplemented,
    /// The run went wrong; the benchmark exits non-zero.
    Failed(String),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::NotApplicable(why) => write!(f, "n/a: {why}"),
            RunError::NotImplemented => write!(f, "not yet implemented"),
            RunError::Failed(why) => write!(f, "failed: {why}"),
        }
    }
}

/// Shorthand for adapters.
pub type RunResult = Result<Sample, RunError>;

/// Turn any displayable error into [`RunError::Failed`].
pub fn failed(context: &str, e: impl fmt::Display) -> RunError {
    RunError::Failed(format!("{context}: {e}"))
}

/// The interface each system implements. All methods are blocking: they
/// build whatever runtime they need, run the workload once, tear it down and
/// return what they measured.
pub trait System: Send + Sync {
    /// The row name (`tokio-ct`, `axon-1`, ...).
    fn name(&self) -> &'static str;

    /// One line: executor, threads and channel/mailbox flavour used.
    fn runtime(&self) -> &'static str;

    /// Ping-pong: component A sends a counter to B, B replies with it plus
    /// one, `round_trips` times. Before timing, `idle` further components
    /// are spawned, each waiting on its own empty inbox, and the run waits
    /// until all of them have started (each increments a shared counter when
    /// it starts). `check` = final counter + number of idle components that
    /// started. `idle` is 0 for the `pingpong` workload and large for
    /// `scale`.
    fn pingpong(&self, round_trips: u64, idle: usize) -> RunResult;

    /// Thread ring: `actors` components in a cycle; a token `(remaining,
    /// acc)` is injected at component 0 with `remaining = hops`; a component
    /// receiving it with `remaining > 0` adds its own index to `acc` and
    /// forwards it with `remaining - 1`; with `remaining == 0` it reports
    /// `acc` (the check).
    fn ring(&self, actors: usize, hops: u64) -> RunResult;

    /// Pipeline: a source component sends `0..messages` to the first of
    /// `stages` components, each adds 1 and forwards; the sink sums and
    /// reports after `messages` values (`check` = the sum). `capacity` None
    /// means unbounded channels/mailboxes; `Some(n)` bounds every one to `n`
    /// with senders waiting for room (the `bounded` workload).
    fn pipeline(&self, stages: usize, messages: u64, capacity: Option<usize>) -> RunResult;

    /// Fan-in: `producers` components, producer `p` sends
    /// `p*per_producer .. (p+1)*per_producer` to one consumer, which sums
    /// and reports after all of them (`check` = the sum).
    fn fanin(&self, producers: usize, per_producer: u64) -> RunResult;

    /// Spawn: create `n` components, each with its own inbox; each sends
    /// its index to the parent once started. Timed from the first creation
    /// to the parent having received all `n` messages; `check` = sum of the
    /// indices. The components must all still be alive at that point (they
    /// are torn down after timing), so that peak RSS over `n` is a
    /// per-component footprint.
    fn spawn(&self, n: usize) -> RunResult;

    /// Whether [`System::spawn`] keeps all `n` components alive, so that the
    /// `spawn-mem` row is meaningful. Default: yes.
    fn spawn_memory(&self) -> Result<(), RunError> {
        Ok(())
    }

    /// Idle: spawn `n` components waiting on their inboxes, wait until all
    /// have started, then leave the system running (its executor parked as
    /// it would be with nothing to do, timers enabled) for `window`.
    /// `measured` = process CPU time over the window
    /// (`harness::process_cpu_time`). Then wake each component once; each
    /// replies with its index; `check` = sum of the replies.
    fn idle(&self, n: usize, window: Duration) -> RunResult;
}

/// Every system, in row order.
pub fn all() -> Vec<Box<dyn System>> {
    vec![
        Box::new(axon::Axon::single()),
        Box::new(axon::Axon::multi()),
        Box::new(tokio::Tokio::current_thread()),
        Box::new(tokio::Tokio::multi_thread()),
        Box::new(actix::Actix),
        Box::new(ractor::Ractor),
        Box::new(kameo::Kameo),
        Box::new(flume::FlumeLocal),
        Box::new(threads::Threads),
    ]
}

/// True for our own kernel's rows, which are compared against the peers
/// rather than counted among them.
pub fn is_ours(name: &str) -> bool {
    name.starts_with("axon")
}

/// A counter components bump when they start, and a way to wait for it.
#[derive(Clone, Default)]
pub struct Started(std::sync::Arc<AtomicUsize>);

impl Started {
    pub fn new() -> Started {
        Started::default()
    }

    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }

    pub fn count(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }
}
