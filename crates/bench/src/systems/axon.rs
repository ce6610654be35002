//! ADAPTER STUB for our own kernel, `axon`, as the rows `axon-1` (one
//! scheduler thread) and `axon-n` (one per core).
//!
//! Not written yet: the kernel's API is still being designed, so every
//! method reports [`RunError::NotImplemented`] and the rows print "not yet
//! implemented". To fill it in, implement each [`System`] method following
//! the contract documented on the trait in `systems/mod.rs` (components with
//! their own inboxes, timing starts before the first message is injected,
//! return the check value unverified) and remove the `spawn_memory`
//! override. The `axon` path dependency in Cargo.toml is already there.

use std::time::Duration;

use super::{RunError, RunResult, System};

/// Our kernel, with one scheduler thread or one per core.
pub struct Axon {
    multi: bool,
}

impl Axon {
    /// `axon-1`: a single scheduler thread.
    pub fn single() -> Axon {
        Axon { multi: false }
    }

    /// `axon-n`: one scheduler thread per core.
    pub fn multi() -> Axon {
        Axon { multi: true }
    }
}

impl System for Axon {
    fn name(&self) -> &'static str {
        if self.multi {
            "axon-n"
        } else {
            "axon-1"
        }
    }

    fn runtime(&self) -> &'static str {
        if self.multi {
            "axon kernel, one scheduler thread per core (adapter not yet implemented)"
        } else {
            "axon kernel, one scheduler thread (adapter not yet implemented)"
        }
    }

    fn pingpong(&self, _round_trips: u64, _idle: usize) -> RunResult {
        Err(RunError::NotImplemented)
    }

    fn ring(&self, _actors: usize, _hops: u64) -> RunResult {
        Err(RunError::NotImplemented)
    }

    fn pipeline(&self, _stages: usize, _messages: u64, _capacity: Option<usize>) -> RunResult {
        Err(RunError::NotImplemented)
    }

    fn fanin(&self, _producers: usize, _per_producer: u64) -> RunResult {
        Err(RunError::NotImplemented)
    }

    fn spawn(&self, _n: usize) -> RunResult {
        Err(RunError::NotImplemented)
    }

    fn spawn_memory(&self) -> Result<(), RunError> {
        Err(RunError::NotImplemented)
    }

    fn idle(&self, _n: usize, _window: Duration) -> RunResult {
        Err(RunError::NotImplemented)
    }
}
