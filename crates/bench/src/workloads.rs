//! The workloads: their names, fixed parameters (full and `--quick`), units,
//! and the check value every repetition must reproduce.
//!
//! The parameters are fixed so that figures from different runs and machines
//! stay comparable; `--quick` divides the counts by about 100 for a CI smoke
//! test but keeps every verification.

use std::time::Duration;

/// One workload of the benchmark. `Spawn` and `SpawnMem` are the two rows
/// of the `spawn` workload (time and memory per component).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    Pingpong,
    Ring,
    Pipeline,
    Bounded,
    Fanin,
    Spawn,
    SpawnMem,
    Idle,
    Scale,
}

/// Whether a smaller or a larger figure is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    LowerIsBetter,
    HigherIsBetter,
    /// A ratio whose ideal is 1.0 (`scale`: idle components should change
    /// nothing); below 1 is noise, not a win.
    ClosestToOne,
}

impl Workload {
    /// Every workload, in the order `all` runs them.
    pub const ALL: [Workload; 9] = [
        Workload::Pingpong,
        Workload::Ring,
        Workload::Pipeline,
        Workload::Bounded,
        Workload::Fanin,
        Workload::Spawn,
        Workload::SpawnMem,
        Workload::Idle,
        Workload::Scale,
    ];

    /// The name printed in the first column of the table and the TSV.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Pingpong => "pingpong",
            Workload::Ring => "ring",
            Workload::Pipeline => "pipeline",
            Workload::Bounded => "bounded",
            Workload::Fanin => "fanin",
            Workload::Spawn => "spawn",
            Workload::SpawnMem => "spawn-mem",
            Workload::Idle => "idle",
            Workload::Scale => "scale",
        }
    }

    /// The unit of the figures.
    pub fn unit(self) -> &'static str {
        match self {
            Workload::Pingpong => "ns/roundtrip",
            Workload::Ring => "ns/hop",
            Workload::Pipeline | Workload::Bounded | Workload::Fanin => "msg/s",
            Workload::Spawn => "ns/component",
            Workload::SpawnMem => "B/component",
            Workload::Idle => "cpu-s",
            Workload::Scale => "x-plain",
        }
    }

    pub fn direction(self) -> Direction {
        match self {
            Workload::Pipeline | Workload::Bounded | Workload::Fanin => Direction::HigherIsBetter,
            Workload::Scale => Direction::ClosestToOne,
            _ => Direction::LowerIsBetter,
        }
    }

    /// One line saying what is measured, printed above the table block.
    pub fn describe(self, p: &Params) -> String {
        match self {
            Workload::Pingpong => format!(
                "two components bounce a counter {} round trips",
                group(p.pingpong_round_trips)
            ),
            Workload::Ring => format!(
                "{} components pass a token {} hops (Savina thread ring)",
                p.ring_actors,
                group(p.ring_hops)
            ),
            Workload::Pipeline => format!(
                "source -> {} stages (+1 each) -> sink, {} u64, unbounded",
                p.pipeline_stages,
                group(p.pipeline_messages)
            ),
            Workload::Bounded => format!(
                "the pipeline with every channel/mailbox bounded to {}",
                p.bounded_capacity
            ),
            Workload::Fanin => format!(
                "{} producers x {} messages into one consumer",
                p.fanin_producers,
                group(p.fanin_per_producer)
            ),
            Workload::Spawn => format!(
                "create {} components (each with an inbox), each sends one message to the parent; \
                 timed in a fresh child process, after one untimed spawn there",
                group(p.spawn_components as u64)
            ),
            Workload::SpawnMem => format!(
                "peak RSS above baseline / {} live components, fresh child process per repetition",
                group(p.spawn_components as u64)
            ),
            Workload::Idle => format!(
                "{} paused components for {:.1} s: process CPU seconds consumed",
                group(p.idle_components as u64),
                p.idle_window.as_secs_f64()
            ),
            Workload::Scale => format!(
                "pingpong ({} round trips) with {} idle components alive / plain pingpong",
                group(p.scale_round_trips),
                group(p.scale_idle as u64)
            ),
        }
    }
}

/// The fixed parameters of all workloads.
#[derive(Clone, Debug)]
pub struct Params {
    pub pingpong_round_trips: u64,
    pub ring_actors: usize,
    pub ring_hops: u64,
    pub pipeline_stages: usize,
    pub pipeline_messages: u64,
    pub bounded_capacity: usize,
    pub fanin_producers: usize,
    pub fanin_per_producer: u64,
    pub spawn_components: usize,
    pub idle_components: usize,
    pub idle_window: Duration,
    pub scale_idle: usize,
    pub scale_round_trips: u64,
}

impl Params {
    /// The published sizes.
    pub fn full() -> Params {
        Params {
            pingpong_round_trips: 1_000_000,
            ring_actors: 100,
            ring_hops: 1_000_000,
            pipeline_stages: 10,
            pipeline_messages: 2_000_000,
            bounded_capacity: 16,
            fanin_producers: 8,
            fanin_per_producer: 500_000,
            spawn_components: 100_000,
            idle_components: 10_000,
            idle_window: Duration::from_secs(5),
            scale_idle: 1_000_000,
            scale_round_trips: 1_000_000,
        }
    }

    /// About 1/100 of the counts, for a CI smoke test.
    pub fn quick() -> Params {
        Params {
            pingpong_round_trips: 10_000,
            ring_actors: 100,
            ring_hops: 10_000,
            pipeline_stages: 10,
            pipeline_messages: 20_000,
            bounded_capacity: 16,
            fanin_producers: 8,
            fanin_per_producer: 5_000,
            spawn_components: 1_000,
            idle_components: 100,
            idle_window: Duration::from_millis(500),
            scale_idle: 10_000,
            scale_round_trips: 10_000,
        }
    }
}

/// Check value of pingpong: the final counter (incremented once per round
/// trip) plus the number of idle components that confirmed they started.
pub fn expected_pingpong(round_trips: u64, idle: usize) -> u64 {
    round_trips + idle as u64
}

/// Check value of the ring: the token starts at component 0 with `hops`
/// remaining; every component that forwards it adds its own index, so the
/// sum is that of `h % actors` for `h` in `0..hops`.
pub fn expected_ring(actors: usize, hops: u64) -> u64 {
    let r = actors as u64;
    let full_laps = hops / r;
    let rest = hops % r;
    full_laps * (r * (r - 1) / 2) + rest * (rest.saturating_sub(1)) / 2
}

/// Check value of the pipeline: the source sends `0..messages`, each stage
/// adds one, the sink sums.
pub fn expected_pipeline(stages: usize, messages: u64) -> u64 {
    triangle(messages) + stages as u64 * messages
}

/// Check value of fan-in: producer `p` sends `p*per .. (p+1)*per`, so the
/// consumer's sum is that of `0..producers*per`.
pub fn expected_fanin(producers: usize, per_producer: u64) -> u64 {
    triangle(producers as u64 * per_producer)
}

/// Check value of spawn and idle: each component reports its index once.
pub fn expected_indices(n: usize) -> u64 {
    triangle(n as u64)
}

/// Sum of `0..n`.
fn triangle(n: u64) -> u64 {
    if n == 0 {
        0
    } else {
        n * (n - 1) / 2
    }
}

/// `1234567` as `1,234,567`.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_check_matches_a_simulation() {
        for (actors, hops) in [(100usize, 1_000u64), (3, 10), (100, 0), (100, 99), (7, 700)] {
            let simulated: u64 = (0..hops).map(|h| h % actors as u64).sum();
            assert_eq!(expected_ring(actors, hops), simulated, "{actors} {hops}");
        }
    }

    #[test]
    fn sums() {
        assert_eq!(expected_pipeline(10, 3), 3 + 30);
        assert_eq!(expected_fanin(2, 2), 6);
        assert_eq!(expected_indices(4), 6);
        assert_eq!(group(1_000_000), "1,000,000");
        assert_eq!(group(999), "999");
    }
}
