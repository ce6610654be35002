//! The measuring harness: runs one workload on each system (a warm-up, then
//! N timed rounds in which the systems take turns), verifies every
//! repetition's check value, reduces the figures to median/min/max, prints
//! table or TSV rows, and provides the process helpers (CPU time, RSS, the
//! spawn-mem child process, a watchdog).

use std::fs;
use std::io::{self, Write};
use std::process::{Command, ExitCode};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::systems::{self, RunError, System};
use crate::workloads::{self, Direction, Params, Workload};

/// What the command line asked for.
pub struct Config {
    pub params: Params,
    pub quick: bool,
    pub reps: usize,
    pub tsv: bool,
}

/// Median, min and max of the timed repetitions, in the workload's unit.
#[derive(Clone, Copy, Debug)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// The outcome of one (workload, system) pair.
pub enum Outcome {
    Measured(Stats),
    NotApplicable(&'static str),
    NotImplemented,
    Failed(String),
}

pub struct Row {
    pub workload: Workload,
    pub system: &'static str,
    pub outcome: Outcome,
}

impl Row {
    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Failed(_))
    }
}

/// Median (mean of the middle two for an even count), min and max.
pub fn stats(values: &[f64]) -> Stats {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Stats {
        median,
        min: v[0],
        max: v[n - 1],
    }
}

/// Run workload `w` on every system: one warm-up each, then `cfg.reps` timed
/// rounds. Every repetition, the warm-ups included, must pass verification.
///
/// The repetitions are *interleaved*: each round runs every system once, in
/// turn, rather than all of one system's repetitions before the next
/// system's. On a shared or virtual machine, speed drifts over seconds and
/// minutes; interleaved, a slow spell lands on every system's figures alike
/// instead of on whichever system happened to be running, so the ratios
/// compare like with like. A system that fails, or cannot express the
/// workload, drops out of the later rounds; the others go on.
pub fn run_workload(w: Workload, systems: &[&dyn System], cfg: &Config, dog: &Watchdog) -> Vec<Row> {
    struct Progress {
        values: Vec<f64>,
        spent: Duration,
        ended: Option<Outcome>,
    }
    let mut progress: Vec<Progress> = systems
        .iter()
        .map(|_| Progress {
            values: Vec::with_capacity(cfg.reps),
            spent: Duration::ZERO,
            ended: None,
        })
        .collect();
    for rep in 0..=cfg.reps {
        for (sys, p) in systems.iter().zip(progress.iter_mut()) {
            if p.ended.is_some() {
                continue;
            }
            let label = if rep == 0 {
                "warm-up".to_string()
            } else {
                format!("repetition {rep}")
            };
            dog.arm(
                format!("{} / {} ({label})", w.name(), sys.name()),
                if cfg.quick {
                    Duration::from_secs(120)
                } else {
                    Duration::from_secs(900)
                },
            );
            let started = Instant::now();
            let result = one_repetition(w, *sys, cfg);
            p.spent += started.elapsed();
            dog.disarm();
            match result {
                Ok(v) if rep > 0 => p.values.push(v),
                Ok(_) => {}
                Err(RunError::NotApplicable(why)) => p.ended = Some(Outcome::NotApplicable(why)),
                Err(RunError::NotImplemented) => p.ended = Some(Outcome::NotImplemented),
                Err(RunError::Failed(why)) => {
                    p.ended = Some(Outcome::Failed(format!("{label}: {why}")));
                    report(w, *sys, p.spent, p.ended.as_ref());
                }
            }
            if rep == cfg.reps && p.ended.is_none() {
                report(w, *sys, p.spent, None);
            }
        }
    }
    systems
        .iter()
        .zip(progress)
        .map(|(sys, p)| Row {
            workload: w,
            system: sys.name(),
            outcome: p.ended.unwrap_or_else(|| Outcome::Measured(stats(&p.values))),
        })
        .collect()
}

/// The progress line for a system done with a workload (measured, or failed).
fn report(w: Workload, sys: &dyn System, spent: Duration, failed: Option<&Outcome>) {
    eprintln!(
        "[bench] {:<9} {:<9} {:>6.1} s{}",
        w.name(),
        sys.name(),
        spent.as_secs_f64(),
        if let Some(Outcome::Failed(why)) = failed {
            format!("  FAILED: {why}")
        } else {
            String::new()
        }
    );
}

fn verify(what: &str, got: u64, expected: u64) -> Result<(), RunError> {
    if got == expected {
        Ok(())
    } else {
        Err(RunError::Failed(format!(
            "verification failed ({what}): expected {expected}, got {got}"
        )))
    }
}

fn ns_per(d: Duration, n: u64) -> f64 {
    d.as_nanos() as f64 / n as f64
}

fn per_second(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

/// One repetition: run, verify, convert to the workload's unit.
fn one_repetition(w: Workload, sys: &dyn System, cfg: &Config) -> Result<f64, RunError> {
    let p = &cfg.params;
    match w {
        Workload::Pingpong => {
            let n = p.pingpong_round_trips;
            let s = sys.pingpong(n, 0)?;
            verify("final counter", s.check, workloads::expected_pingpong(n, 0))?;
            Ok(ns_per(s.measured, n))
        }
        Workload::Ring => {
            let s = sys.ring(p.ring_actors, p.ring_hops)?;
            let expected = workloads::expected_ring(p.ring_actors, p.ring_hops);
            verify("token checksum", s.check, expected)?;
            Ok(ns_per(s.measured, p.ring_hops))
        }
        Workload::Pipeline | Workload::Bounded => {
            let capacity = (w == Workload::Bounded).then_some(p.bounded_capacity);
            let s = sys.pipeline(p.pipeline_stages, p.pipeline_messages, capacity)?;
            let expected = workloads::expected_pipeline(p.pipeline_stages, p.pipeline_messages);
            verify("sink sum", s.check, expected)?;
            Ok(per_second(p.pipeline_messages, s.measured))
        }
        Workload::Fanin => {
            let s = sys.fanin(p.fanin_producers, p.fanin_per_producer)?;
            let expected = workloads::expected_fanin(p.fanin_producers, p.fanin_per_producer);
            verify("consumer sum", s.check, expected)?;
            let total = p.fanin_producers as u64 * p.fanin_per_producer;
            Ok(per_second(total, s.measured))
        }
        Workload::Spawn => {
            let n = p.spawn_components;
            let child = spawn_via_child(sys.name(), cfg.quick, ChildRun::Warm)?;
            verify("sum of indices", child.check, workloads::expected_indices(n))?;
            Ok(ns_per(child.measured, n as u64))
        }
        Workload::SpawnMem => {
            sys.spawn_memory()?;
            let n = p.spawn_components;
            let child = spawn_via_child(sys.name(), cfg.quick, ChildRun::Cold)?;
            verify("sum of indices", child.check, workloads::expected_indices(n))?;
            Ok(child.peak_bytes as f64 / n as f64)
        }
        Workload::Idle => {
            let n = p.idle_components;
            let s = sys.idle(n, p.idle_window)?;
            verify("sum of replies", s.check, workloads::expected_indices(n))?;
            Ok(s.measured.as_secs_f64())
        }
        Workload::Scale => {
            let n = p.scale_round_trips;
            let plain = sys.pingpong(n, 0)?;
            verify(
                "plain final counter",
                plain.check,
                workloads::expected_pingpong(n, 0),
            )?;
            let loaded = sys.pingpong(n, p.scale_idle)?;
            let expected = workloads::expected_pingpong(n, p.scale_idle);
            verify("loaded counter + idle started", loaded.check, expected)?;
            Ok(loaded.measured.as_secs_f64() / plain.measured.as_secs_f64())
        }
    }
}

// ---------------------------------------------------------------------------
// spawn and spawn-mem: one fresh child process per repetition, so that what
// ran before (other workloads, other systems) cannot change the figures.
//
// - spawn-mem counts the peak resident memory of one spawn in a fresh process
//   (`Cold`): memory freed by earlier runs and kept by the allocator would
//   otherwise hide the real footprint.
// - spawn times the second of two spawns in one fresh process (`Warm`): the
//   first brings the allocator's heap to the size the workload needs, as the
//   warm-up does for every other workload. Measured in a process shared with
//   other systems, the time depended on whether the allocator had handed the
//   previous system's memory back to the kernel (to be faulted in again, page
//   by page): the same binary measured 384 ns per component after its own
//   runs and 1,232 ns between other systems' runs. And a cold spawn on this
//   virtual machine costs about a nanosecond per byte in page faults, so it
//   would measure the footprint a second time, which spawn-mem already does.

/// Which spawn a `bench spawn-child` run reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildRun {
    /// The first spawn in the process.
    Cold,
    /// The second, after an untimed first one.
    Warm,
}

/// What one `bench spawn-child` run reports.
struct ChildSpawn {
    /// Peak resident set size above the baseline, in bytes.
    peak_bytes: u64,
    /// The workload's check value.
    check: u64,
    /// The time the system measured for spawning the components.
    measured: Duration,
}

/// Run `bench spawn-child --peer NAME [--warm]` and parse
/// `ok BYTES CHECK NANOS`.
fn spawn_via_child(name: &str, quick: bool, run: ChildRun) -> Result<ChildSpawn, RunError> {
    let exe = std::env::current_exe().map_err(|e| systems::failed("current_exe", e))?;
    let mut cmd = Command::new(exe);
    cmd.args(["spawn-child", "--peer", name]);
    if quick {
        cmd.arg("--quick");
    }
    if run == ChildRun::Warm {
        cmd.arg("--warm");
    }
    let out = cmd.output().map_err(|e| systems::failed("spawn child", e))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or("").trim().to_string();
    let fields: Vec<&str> = line.split_whitespace().collect();
    match fields.as_slice() {
        ["ok", bytes, check, nanos] if out.status.success() => Ok(ChildSpawn {
            peak_bytes: bytes.parse().map_err(|e| systems::failed("child bytes", e))?,
            check: check.parse().map_err(|e| systems::failed("child check", e))?,
            measured: Duration::from_nanos(
                nanos
                    .parse()
                    .map_err(|e| systems::failed("child nanoseconds", e))?,
            ),
        }),
        ["notimpl"] => Err(RunError::NotImplemented),
        _ => Err(RunError::Failed(format!(
            "spawn child exited with {} and printed {line:?}; stderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))),
    }
}

/// The child side: spawn the components (twice for [`ChildRun::Warm`],
/// reporting the second) and print
/// `ok <peak RSS - baseline RSS in bytes> <check> <measured nanoseconds>`.
pub fn spawn_child(sys: &dyn System, params: &Params, run: ChildRun) -> ExitCode {
    // Reset the peak (VmHWM) where the kernel allows; in a fresh process the
    // peak so far is small anyway.
    let _ = fs::write("/proc/self/clear_refs", "5");
    let result = rss_bytes().and_then(|base| {
        let first = sys.spawn(params.spawn_components);
        let run = match (run, first) {
            (ChildRun::Warm, Ok(_)) => sys.spawn(params.spawn_components),
            (_, first) => first,
        };
        peak_rss_bytes().map(|peak| (base, peak, run))
    });
    match result {
        Ok((base, peak, Ok(sample))) => {
            println!(
                "ok {} {} {}",
                peak.saturating_sub(base),
                sample.check,
                sample.measured.as_nanos()
            );
            ExitCode::SUCCESS
        }
        Ok((_, _, Err(RunError::NotImplemented))) => {
            println!("notimpl");
            ExitCode::SUCCESS
        }
        Ok((_, _, Err(e))) => {
            println!("error {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            println!("error reading /proc/self/status: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------
// Process helpers.

/// Resident set size now (VmRSS), in bytes.
pub fn rss_bytes() -> io::Result<u64> {
    status_kib("VmRSS:").map(|k| k * 1024)
}

/// Peak resident set size (VmHWM), in bytes.
pub fn peak_rss_bytes() -> io::Result<u64> {
    status_kib("VmHWM:").map(|k| k * 1024)
}

fn status_kib(key: &str) -> io::Result<u64> {
    let status = fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| io::Error::other(format!("no {key} in /proc/self/status")))
}

/// User + system CPU time of the whole process (all threads, living and
/// exited), from /proc/self/stat. Resolution is one clock tick (10 ms at
/// the usual 100 Hz).
pub fn process_cpu_time() -> io::Result<Duration> {
    let stat = fs::read_to_string("/proc/self/stat")?;
    // Fields after the parenthesised command name; utime and stime are
    // fields 14 and 15 of the whole line, i.e. 11 and 12 after the name.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| io::Error::other("malformed /proc/self/stat"))?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| -> io::Result<u64> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| io::Error::other("malformed /proc/self/stat"))
    };
    let ticks = tick(11)? + tick(12)?;
    Ok(Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second()))
}

/// `getconf CLK_TCK`, asked once; 100 if that fails.
fn clock_ticks_per_second() -> f64 {
    static TCK: OnceLock<f64> = OnceLock::new();
    *TCK.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|&t| t > 0.0)
            .unwrap_or(100.0)
    })
}

// ---------------------------------------------------------------------------
// Watchdog: a lost message shows up as a hang, so a hung repetition is
// reported by name and the process exits non-zero.

type Armed = Arc<Mutex<Option<(String, Instant, Duration)>>>;

pub struct Watchdog {
    armed: Armed,
}

impl Watchdog {
    pub fn start() -> Watchdog {
        Watchdog::start_with(|| {})
    }

    /// A watchdog that runs `cleanup` (e.g. killing child processes, whose
    /// destructors will not run) before it exits the process.
    pub fn start_with(cleanup: fn()) -> Watchdog {
        let armed: Armed = Arc::new(Mutex::new(None));
        let seen = Arc::clone(&armed);
        std::thread::Builder::new()
            .name("bench-watchdog".into())
            .spawn(move || loop {
                std::thread::sleep(Duration::from_millis(500));
                let guard = seen.lock().unwrap_or_else(|p| p.into_inner());
                if let Some((what, since, limit)) = guard.as_ref() {
                    if since.elapsed() > *limit {
                        eprintln!(
                            "bench: {what} did not finish within {} s (hang or lost message); aborting",
                            limit.as_secs()
                        );
                        cleanup();
                        std::process::exit(3);
                    }
                }
            })
            .expect("cannot start the watchdog thread");
        Watchdog { armed }
    }

    pub fn arm(&self, what: String, limit: Duration) {
        *self.armed.lock().unwrap_or_else(|p| p.into_inner()) = Some((what, Instant::now(), limit));
    }

    pub fn disarm(&self) {
        *self.armed.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

// ---------------------------------------------------------------------------
// Output.

/// The best peer row (our own rows excluded) by median, if any.
fn best_peer(rows: &[Row]) -> Option<(usize, f64)> {
    let dir = rows.first()?.workload.direction();
    rows.iter()
        .enumerate()
        .filter(|(_, r)| !systems::is_ours(r.system))
        .filter_map(|(i, r)| match r.outcome {
            Outcome::Measured(s) => Some((i, s.median)),
            _ => None,
        })
        .reduce(|a, b| {
            let b_better = match dir {
                Direction::LowerIsBetter => b.1 < a.1,
                Direction::HigherIsBetter => b.1 > a.1,
                Direction::ClosestToOne => b.1.ln().abs() < a.1.ln().abs(),
            };
            if b_better {
                b
            } else {
                a
            }
        })
}

/// How many times worse than the best peer (1.00 = the best; above 1 =
/// slower/bigger; below 1 only for our own rows when they beat every peer).
fn ratio(dir: Direction, best: f64, median: f64) -> Option<f64> {
    let r = match dir {
        Direction::LowerIsBetter => median / best,
        Direction::HigherIsBetter => best / median,
        // The figure itself is the comparison (1.00 = unaffected).
        Direction::ClosestToOne => return None,
    };
    if best == median {
        Some(1.0)
    } else if r.is_finite() {
        Some(r)
    } else {
        None
    }
}

/// A figure for people: thousands grouped above 10,000, more decimals below.
pub fn human(v: f64) -> String {
    if !v.is_finite() {
        format!("{v}")
    } else if v >= 10_000.0 {
        workloads::group(v.round() as u64)
    } else if v >= 100.0 {
        format!("{v:.1}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// Print the rows of one workload, as a table block or as TSV lines.
pub fn print_rows(rows: &[Row], cfg: &Config) {
    let Some(first) = rows.first() else { return };
    let w = first.workload;
    let mut out = io::stdout().lock();
    if cfg.tsv {
        for r in rows {
            let (med, min, max) = match &r.outcome {
                Outcome::Measured(s) => (
                    format!("{:.3}", s.median),
                    format!("{:.3}", s.min),
                    format!("{:.3}", s.max),
                ),
                Outcome::Failed(_) => ("failed".into(), "failed".into(), "failed".into()),
                _ => ("n/a".into(), "n/a".into(), "n/a".into()),
            };
            let _ = writeln!(
                out,
                "{}\t{}\t{med}\t{min}\t{max}\t{}",
                w.name(),
                r.system,
                w.unit()
            );
        }
        let _ = out.flush();
        return;
    }
    let best = best_peer(rows);
    let _ = writeln!(out, "\n{}: {}", w.name(), w.describe(&cfg.params));
    let _ = writeln!(
        out,
        "{:<10} {:<9} {:>14} {:>14} {:>14}  {:<13} {:>9}",
        "workload", "system", "median", "min", "max", "unit", "vs best"
    );
    for (i, r) in rows.iter().enumerate() {
        let _ = match &r.outcome {
            Outcome::Measured(s) => {
                let vs = best
                    .and_then(|(_, b)| ratio(w.direction(), b, s.median))
                    .map(|x| format!("{x:.2}"))
                    .unwrap_or_else(|| "-".into());
                let mark = if best.map(|(b, _)| b) == Some(i) {
                    " *"
                } else {
                    "  "
                };
                writeln!(
                    out,
                    "{:<10} {:<9} {:>14} {:>14} {:>14}  {:<13} {:>9}{mark}",
                    w.name(),
                    r.system,
                    human(s.median),
                    human(s.min),
                    human(s.max),
                    w.unit(),
                    vs
                )
            }
            other => {
                let text = match other {
                    Outcome::NotApplicable(why) => format!("n/a ({why})"),
                    Outcome::NotImplemented => "not yet implemented".to_string(),
                    Outcome::Failed(why) => format!("FAILED: {why}"),
                    Outcome::Measured(_) => unreachable!(),
                };
                writeln!(out, "{:<10} {:<9} {text}", w.name(), r.system)
            }
        };
    }
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_min_max() {
        let s = stats(&[5.0, 1.0, 3.0, 9.0, 4.0]);
        assert_eq!((s.median, s.min, s.max), (4.0, 1.0, 9.0));
        let s = stats(&[2.0, 1.0]);
        assert_eq!(s.median, 1.5);
    }

    #[test]
    fn ratio_direction() {
        assert_eq!(ratio(Direction::LowerIsBetter, 100.0, 200.0), Some(2.0));
        assert_eq!(ratio(Direction::HigherIsBetter, 100.0, 50.0), Some(2.0));
        assert_eq!(ratio(Direction::LowerIsBetter, 0.0, 0.0), Some(1.0));
        assert_eq!(ratio(Direction::LowerIsBetter, 0.0, 0.5), None);
    }

    /// A test system. Its pingpong logs its name, reports the number of
    /// pingpong runs so far plus one as the time taken (in ms), so a row's
    /// figures show which repetitions it ran, and gets the count right unless
    /// it `miscounts` (by one). Its ring is not applicable; the rest is not
    /// implemented.
    struct Double {
        name: &'static str,
        miscounts: bool,
        runs: std::sync::atomic::AtomicU64,
        log: Arc<Mutex<Vec<&'static str>>>,
    }

    impl Double {
        fn new(name: &'static str, miscounts: bool, log: &Arc<Mutex<Vec<&'static str>>>) -> Self {
            Double {
                name,
                miscounts,
                runs: std::sync::atomic::AtomicU64::new(0),
                log: log.clone(),
            }
        }
    }

    impl System for Double {
        fn name(&self) -> &'static str {
            self.name
        }
        fn runtime(&self) -> &'static str {
            "test double"
        }
        fn pingpong(&self, round_trips: u64, idle: usize) -> systems::RunResult {
            self.log.lock().unwrap().push(self.name);
            let n = self.runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(systems::Sample {
                measured: Duration::from_millis(1 + n),
                check: round_trips + idle as u64 - u64::from(self.miscounts),
            })
        }
        fn ring(&self, _: usize, _: u64) -> systems::RunResult {
            Err(RunError::NotApplicable("test"))
        }
        fn pipeline(&self, _: usize, _: u64, _: Option<usize>) -> systems::RunResult {
            Err(RunError::NotImplemented)
        }
        fn fanin(&self, _: usize, _: u64) -> systems::RunResult {
            Err(RunError::NotImplemented)
        }
        fn spawn(&self, _: usize) -> systems::RunResult {
            Err(RunError::NotImplemented)
        }
        fn idle(&self, _: usize, _: Duration) -> systems::RunResult {
            Err(RunError::NotImplemented)
        }
    }

    /// Quick sizes, `reps` timed repetitions, TSV output.
    fn quick_config(reps: usize) -> Config {
        Config {
            params: Params::quick(),
            quick: true,
            reps,
            tsv: true,
        }
    }

    #[test]
    fn a_wrong_check_fails_the_row() {
        let cfg = quick_config(1);
        let dog = Watchdog::start();
        let miscounts = Double::new("miscounts", true, &Arc::default());
        let [row] = run_workload(Workload::Pingpong, &[&miscounts], &cfg, &dog)
            .try_into()
            .ok()
            .expect("one row per system");
        match &row.outcome {
            Outcome::Failed(why) => assert!(why.contains("verification failed"), "{why}"),
            _ => panic!("a miscount must fail the row"),
        }
        assert!(row.failed());
        let rows = run_workload(Workload::Ring, &[&miscounts], &cfg, &dog);
        assert!(matches!(rows[0].outcome, Outcome::NotApplicable(_)));
    }

    /// Rounds take every system in turn; each row holds only its own system's
    /// timed repetitions (not the warm-up); a failing system drops out
    /// without stopping the others.
    #[test]
    fn repetitions_are_interleaved_and_kept_apart() {
        let cfg = quick_config(3);
        let log = Arc::default();
        let a = Double::new("a", false, &log);
        let miscounts = Double::new("miscounts", true, &log);
        let b = Double::new("b", false, &log);
        let dog = Watchdog::start();
        let rows = run_workload(Workload::Pingpong, &[&a, &miscounts, &b], &cfg, &dog);
        // The failing system runs its warm-up only.
        assert_eq!(
            *log.lock().unwrap(),
            ["a", "miscounts", "b", "a", "b", "a", "b", "a", "b"]
        );
        assert!(rows[1].failed());
        for row in [&rows[0], &rows[2]] {
            let Outcome::Measured(s) = row.outcome else {
                panic!("{} was not measured", row.system);
            };
            // The warm-up took 1 ms and is left out; the timed runs took 2, 3 and 4.
            let ms = |k| ns_per(Duration::from_millis(k), cfg.params.pingpong_round_trips);
            assert_eq!((s.min, s.median, s.max), (ms(2), ms(3), ms(4)), "{}", row.system);
        }
    }

    #[test]
    fn proc_helpers_read_something() {
        assert!(rss_bytes().unwrap() > 0);
        assert!(peak_rss_bytes().unwrap() >= rss_bytes().unwrap() / 2);
        let _ = process_cpu_time().unwrap();
    }
}
