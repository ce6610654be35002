//! Layer 1, the runtime: running futures and sleeping when there is nothing to run.
//!
//! Everything here is about *tasks*, not components or boxes: the scheduler's
//! workers, run queues and wake rules ([`scheduler`]), the task header and its
//! at-most-once-queued wake flag ([`task`]), idle workers and where they sleep
//! (`idle.rs`, `park.rs`), the cooperative budget (`coop.rs`), timers
//! ([`time`]), blocking a plain thread on a future (`block_on.rs`), and the
//! synchronisation primitives the rest of the kernel uses (`sync.rs`, swapped
//! for `loom`'s under `--cfg loom`, and `spin.rs`).
//!
//! **May import:** the leaf modules (`id`, `name`) and itself. Never
//! `boxes`, `component` or `services`: the layers above build on this one, and
//! `tests/layering.rs` fails if an import points up.

pub(crate) mod block_on;
pub(crate) mod coop;
pub(crate) mod idle;
pub(crate) mod outcome;
pub(crate) mod park;
pub(crate) mod scheduler;
pub(crate) mod spin;
pub(crate) mod sync;
pub mod task;
pub mod time;
