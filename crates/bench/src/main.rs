//! `bench`: the peer-comparison benchmark of kamaelia-rs. Runs fixed
//! workloads (ping-pong, ring, pipeline, bounded pipeline, fan-in, spawn,
//! idle, scale) on our kernel (`axon-1`, `axon-n`) and on peer systems
//! (tokio, actix, ractor, kameo, flume, OS threads), verifies every
//! repetition, and prints a table or TSV. `net` runs the network benchmark
//! (src/net/): kamaelia's example servers against hyper, tokio and nginx,
//! each a separate pinned process.
//!
//! ```text
//! cargo run --release -p bench -- <workload|all> [--peer NAME]... [--tsv] [--quick] [--reps N]
//! cargo run --release -p bench -- net [--only http|echo|proxy|pipe|mem]... [--tsv] [--quick] [--reps N] [--no-build]
//! ```

mod harness;
mod net;
mod systems;
mod workloads;

use std::process::ExitCode;

use clap::{Parser, ValueEnum};

use harness::{Config, Watchdog};
use workloads::{Params, Workload};

#[derive(Parser)]
#[command(
    name = "bench",
    about = "Peer-comparison benchmarks for kamaelia-rs",
    after_help = "Each figure is the median of --reps timed repetitions (default 5) after one \
                  warm-up; the systems take turns, one repetition each per round, so that a \
                  slow spell of the machine falls on all of them alike. Every repetition \
                  verifies its own count or checksum, and the exit status is non-zero if any \
                  verification fails."
)]
struct Cli {
    /// Workload to run; `all` runs every one (not `net`).
    target: Target,
    /// Only these systems (repeatable); default: all of them.
    #[arg(long = "peer", value_name = "NAME")]
    peers: Vec<SystemName>,
    /// Print `workload<TAB>system<TAB>median<TAB>min<TAB>max<TAB>unit` rows only.
    #[arg(long)]
    tsv: bool,
    /// About 1/100 of the sizes (CI smoke test); all verifications still run.
    #[arg(long)]
    quick: bool,
    /// With `spawn-child`: spawn twice and report the second.
    #[arg(long, hide = true)]
    warm: bool,
    /// With `net`: only these parts (repeatable); default: all of them.
    #[arg(long = "only", value_name = "PART")]
    only: Vec<net::NetWorkload>,
    /// With `net`: do not build the peer binaries and kamaelia's examples
    /// first (by default they are built when run through `cargo run`).
    #[arg(long)]
    no_build: bool,
    /// Timed repetitions per figure, after one warm-up.
    #[arg(long, value_name = "N", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..))]
    reps: u32,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Target {
    All,
    Pingpong,
    Ring,
    Pipeline,
    Bounded,
    Fanin,
    /// Time per component, plus the `spawn-mem` row.
    Spawn,
    /// Only the memory row of `spawn`.
    SpawnMem,
    Idle,
    Scale,
    /// Network benchmark: servers as pinned processes vs hyper, tokio, nginx.
    Net,
    /// Internal: one spawn or spawn-mem repetition in a fresh process.
    #[value(hide = true)]
    SpawnChild,
}

impl Target {
    fn workloads(self) -> Vec<Workload> {
        match self {
            Target::All => Workload::ALL.to_vec(),
            Target::Pingpong => vec![Workload::Pingpong],
            Target::Ring => vec![Workload::Ring],
            Target::Pipeline => vec![Workload::Pipeline],
            Target::Bounded => vec![Workload::Bounded],
            Target::Fanin => vec![Workload::Fanin],
            Target::Spawn => vec![Workload::Spawn, Workload::SpawnMem],
            Target::SpawnMem => vec![Workload::SpawnMem],
            Target::Idle => vec![Workload::Idle],
            Target::Scale => vec![Workload::Scale],
            Target::Net | Target::SpawnChild => vec![],
        }
    }
}

/// The system names accepted by `--peer`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SystemName {
    #[value(name = "axon-1")]
    Axon1,
    #[value(name = "axon-n")]
    AxonN,
    #[value(name = "tokio-ct")]
    TokioCt,
    #[value(name = "tokio-mt")]
    TokioMt,
    Actix,
    Ractor,
    Kameo,
    #[value(name = "flume-ct")]
    FlumeCt,
    Threads,
}

impl SystemName {
    fn as_str(self) -> String {
        self.to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default()
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let params = if cli.quick {
        Params::quick()
    } else {
        Params::full()
    };
    let wanted: Vec<String> = cli.peers.iter().map(|p| p.as_str()).collect();
    let systems: Vec<_> = systems::all()
        .into_iter()
        .filter(|s| wanted.is_empty() || wanted.iter().any(|w| w == s.name()))
        .collect();

    match cli.target {
        Target::Net => {
            let dog = Watchdog::start_with(net::kill_all_now);
            let cfg = net::NetConfig {
                quick: cli.quick,
                reps: cli.reps as usize,
                tsv: cli.tsv,
                only: cli.only,
                build: !cli.no_build,
            };
            return net::run(&cfg, &dog);
        }
        Target::SpawnChild => {
            let [sys] = systems.as_slice() else {
                eprintln!("bench: spawn-child needs exactly one --peer");
                return ExitCode::from(2);
            };
            return harness::spawn_child(
                sys.as_ref(),
                &params,
                if cli.warm {
                    harness::ChildRun::Warm
                } else {
                    harness::ChildRun::Cold
                },
            );
        }
        _ => {}
    }

    let cfg = Config {
        params,
        quick: cli.quick,
        reps: cli.reps as usize,
        tsv: cli.tsv,
    };
    if !cfg.tsv {
        println!(
            "kamaelia-rs peer benchmarks ({}): median of {} interleaved repetitions after 1 warm-up; \
             nproc = {}",
            if cfg.quick { "QUICK sizes" } else { "full sizes" },
            cfg.reps,
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        println!("'vs best' = times worse than the best peer (* marks it; axon rows excluded from 'best')");
    }

    let dog = Watchdog::start();
    let mut failures = Vec::new();
    for w in cli.target.workloads() {
        let chosen: Vec<&dyn systems::System> = systems.iter().map(|s| s.as_ref()).collect();
        let rows = harness::run_workload(w, &chosen, &cfg, &dog);
        harness::print_rows(&rows, &cfg);
        failures.extend(rows.into_iter().filter(|r| r.failed()).map(|r| {
            let why = match r.outcome {
                harness::Outcome::Failed(why) => why,
                _ => String::new(),
            };
            format!("{} / {}: {why}", r.workload.name(), r.system)
        }));
    }

    if !cfg.tsv {
        println!("\nsystems:");
        for s in &systems {
            println!("  {:<9} {}", s.name(), s.runtime());
        }
    }
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("bench: {} run(s) FAILED:", failures.len());
        for f in &failures {
            eprintln!("  {f}");
        }
        ExitCode::FAILURE
    }
}
