//! `bench net`: the network benchmark of issue 18. Every system under test
//! runs as its own process pinned to one CPU (`taskset -c 0`), every load
//! generator as another pinned to a second CPU (`taskset -c 1`), the same
//! for every system; the harness only starts, measures and stops them.
//!
//! Rows (each: warm-up, then `--reps` rounds in which the systems take
//! turns, as in the rest of the bench):
//! - `http-rps`, `http-p99`: `GET /` → 200 `Hello, world!\n`, keep-alive,
//!   driven by `wrk -t1 -c50 --latency`: ours (`http_server`) vs hyper
//!   (`hyper_hello`) vs nginx (`crates/bench/nginx/hello.conf`).
//! - `echo`: 100 connections each sending 64 bytes and waiting for them
//!   back, byte-checked (`net_load echo`): ours (`echo_server`) vs tokio
//!   (`tokio_echo`).
//! - `proxy`: 1 GB (quick: 64 MB) from `net_load stream` through the proxy
//!   to `net_load sink`, which counts it: ours (`proxy`) vs tokio
//!   `copy_bidirectional` (`tokio_proxy`) vs no proxy.
//! - `pipe`: `head -c N /dev/zero | SYSTEM | net_load count`: ours
//!   (`pipe -- cat`) vs a shell pipe (`sh -c 'cat | cat'`).
//! - `idle-mem`: the server's VmRSS growth per idle connection with 10,000
//!   (quick: 1,000) connections open: ours (`echo_server`) vs `tokio_echo`.
//!
//! Our systems are kamaelia's examples (`target/<profile>/examples/`); a
//! binary that is not built gives a `missing` row, a tool that is not
//! installed (wrk, nginx) a `skipped` row; neither fails the run. A failed
//! verification does, like everywhere in the bench.

mod http;
mod proc;

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::ValueEnum;

use crate::harness::{human, stats, Stats, Watchdog};
use proc::{Layout, Pinning, Proc};

pub use proc::kill_all_now;

/// The parts of `bench net`, for `--only`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum NetWorkload {
    /// HTTP hello with wrk (requests/s and p99).
    Http,
    /// Echo round trips on 100 connections.
    Echo,
    /// A byte stream through a TCP proxy.
    Proxy,
    /// A byte stream through `cat` in a child process.
    Pipe,
    /// Memory per idle connection.
    Mem,
}

impl NetWorkload {
    const ALL: [NetWorkload; 5] = [
        NetWorkload::Http,
        NetWorkload::Echo,
        NetWorkload::Proxy,
        NetWorkload::Pipe,
        NetWorkload::Mem,
    ];

    fn name(self) -> &'static str {
        match self {
            NetWorkload::Http => "http",
            NetWorkload::Echo => "echo",
            NetWorkload::Proxy => "proxy",
            NetWorkload::Pipe => "pipe",
            NetWorkload::Mem => "idle-mem",
        }
    }
}

/// What `bench net` was asked to do.
pub struct NetConfig {
    /// Small sizes (CI smoke test); every verification still runs.
    pub quick: bool,
    /// Timed repetitions after one warm-up.
    pub reps: usize,
    /// TSV rows instead of tables.
    pub tsv: bool,
    /// Only these parts (all when empty).
    pub only: Vec<NetWorkload>,
    /// Build the binaries first when run through cargo.
    pub build: bool,
}

/// Why a row has no figure.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A binary of ours or of a peer is not built; the row says so and the
    /// run goes on.
    #[error("missing: {0}")]
    Missing(String),
    /// A tool is not installed or the machine cannot run the row; the row
    /// says so and the run goes on.
    #[error("skipped: {0}")]
    Skipped(String),
    /// The run or its verification went wrong; the bench exits non-zero.
    #[error("{0}")]
    Failed(String),
    /// A process could not be started.
    #[error("cannot start {what}: {source}")]
    Spawn {
        /// Which process, with its command line.
        what: String,
        /// Why.
        source: io::Error,
    },
    /// A file or system call went wrong.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: io::Error,
    },
}

/// The fixed sizes of a run.
#[derive(Clone, Copy, Debug)]
struct Sizes {
    http_secs: u32,
    http_conns: u32,
    echo_secs: f64,
    echo_conns: usize,
    echo_size: usize,
    stream_bytes: u64,
    idle_conns: usize,
}

impl Sizes {
    fn new(quick: bool) -> Sizes {
        Sizes {
            http_secs: if quick { 2 } else { 10 },
            http_conns: 50,
            echo_secs: if quick { 1.0 } else { 5.0 },
            echo_conns: 100,
            echo_size: 64,
            stream_bytes: if quick { 64_000_000 } else { 1_000_000_000 },
            idle_conns: if quick { 1_000 } else { 10_000 },
        }
    }
}

/// How one system of a row is run.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// A kamaelia example server: `target/<profile>/examples/NAME`.
    Example(&'static str),
    /// A peer server of this crate: `target/<profile>/NAME`.
    Peer(&'static str),
    /// nginx with the repo's config.
    Nginx,
    /// The proxy row without a proxy.
    Direct,
    /// `sh -c 'cat | cat'`.
    ShellPipe,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    name: &'static str,
    ours: bool,
    kind: Kind,
}

const fn entry(name: &'static str, ours: bool, kind: Kind) -> Entry {
    Entry { name, ours, kind }
}

/// A target the figures are compared with.
#[derive(Clone, Copy, Debug)]
enum Goal {
    /// Ours at least (higher-is-better) or at most (lower-is-better)
    /// `factor` times system `of`.
    Relative { of: &'static str, factor: f64 },
    /// Ours at least / at most this figure.
    Absolute(f64),
}

/// One figure a row reports.
#[derive(Clone, Copy, Debug)]
struct Metric {
    name: &'static str,
    unit: &'static str,
    higher_is_better: bool,
    /// The system the `vs` column divides by.
    reference: &'static str,
    goals: &'static [Goal],
}

impl NetWorkload {
    fn entries(self) -> &'static [Entry] {
        const HTTP: &[Entry] = &[
            entry("ours", true, Kind::Example("http_server")),
            entry("hyper", false, Kind::Peer("hyper_hello")),
            entry("nginx", false, Kind::Nginx),
        ];
        const ECHO: &[Entry] = &[
            entry("ours", true, Kind::Example("echo_server")),
            entry("tokio", false, Kind::Peer("tokio_echo")),
        ];
        const PROXY: &[Entry] = &[
            entry("ours", true, Kind::Example("proxy")),
            entry("tokio", false, Kind::Peer("tokio_proxy")),
            entry("direct", false, Kind::Direct),
        ];
        const PIPE: &[Entry] = &[
            entry("ours", true, Kind::Example("pipe")),
            entry("shell", false, Kind::ShellPipe),
        ];
        match self {
            NetWorkload::Http => HTTP,
            NetWorkload::Echo | NetWorkload::Mem => ECHO,
            NetWorkload::Proxy => PROXY,
            NetWorkload::Pipe => PIPE,
        }
    }

    fn metrics(self) -> &'static [Metric] {
        match self {
            NetWorkload::Http => &[
                Metric {
                    name: "http-rps",
                    unit: "req/s",
                    higher_is_better: true,
                    reference: "hyper",
                    goals: &[Goal::Relative {
                        of: "hyper",
                        factor: 1.0,
                    }],
                },
                Metric {
                    name: "http-p99",
                    unit: "ms",
                    higher_is_better: false,
                    reference: "hyper",
                    goals: &[Goal::Relative {
                        of: "hyper",
                        factor: 1.0,
                    }],
                },
            ],
            NetWorkload::Echo => &[Metric {
                name: "echo",
                unit: "roundtrip/s",
                higher_is_better: true,
                reference: "tokio",
                goals: &[Goal::Relative {
                    of: "tokio",
                    factor: 1.0,
                }],
            }],
            NetWorkload::Proxy => &[Metric {
                name: "proxy",
                unit: "MB/s",
                higher_is_better: true,
                reference: "direct",
                goals: &[
                    Goal::Relative {
                        of: "direct",
                        factor: 0.8,
                    },
                    Goal::Relative {
                        of: "tokio",
                        factor: 1.0,
                    },
                ],
            }],
            NetWorkload::Pipe => &[Metric {
                name: "pipe",
                unit: "MB/s",
                higher_is_better: true,
                reference: "shell",
                goals: &[Goal::Relative {
                    of: "shell",
                    factor: 0.9,
                }],
            }],
            NetWorkload::Mem => &[Metric {
                name: "idle-mem",
                unit: "B/conn",
                higher_is_better: false,
                reference: "tokio",
                goals: &[
                    Goal::Absolute(4096.0),
                    Goal::Relative {
                        of: "tokio",
                        factor: 1.0,
                    },
                ],
            }],
        }
    }

    fn describe(self, s: &Sizes) -> String {
        match self {
            NetWorkload::Http => format!(
                "GET / -> 200 {:?} over keep-alive; wrk -t1 -c{} -d{}s --latency",
                http::BODY,
                s.http_conns,
                s.http_secs
            ),
            NetWorkload::Echo => format!(
                "{} connections, each sends {} B and waits for them back (byte-checked), {} s",
                s.echo_conns, s.echo_size, s.echo_secs
            ),
            NetWorkload::Proxy => format!(
                "{} MB from a client through the proxy to a sink that counts them (count checked)",
                s.stream_bytes / 1_000_000
            ),
            NetWorkload::Pipe => format!(
                "head -c {} /dev/zero | SYSTEM | counter (count and zeros checked)",
                s.stream_bytes
            ),
            NetWorkload::Mem => format!(
                "server VmRSS growth / {} idle connections (each proved accepted by a 1-byte echo)",
                s.idle_conns
            ),
        }
    }
}

/// Everything a repetition needs to know about the machine.
struct Ctx {
    layout: Layout,
    pin: Pinning,
    sizes: Sizes,
    wrk: Option<PathBuf>,
    nginx: Option<PathBuf>,
    /// The soft open-file limit in force (inherited by every child).
    nofile: u64,
}

impl Ctx {
    fn net_load(&self) -> PathBuf {
        self.layout.bench_bin("net_load")
    }
}

/// A server kept up across the repetitions of a row.
enum Running {
    Bin(Proc, SocketAddr),
    Nginx(http::Nginx),
}

impl Running {
    fn addr(&self) -> SocketAddr {
        match self {
            Running::Bin(_, a) => *a,
            Running::Nginx(n) => n.addr,
        }
    }
}

/// The result of one system on one workload.
enum Outcome {
    /// Per metric.
    Measured(Vec<Stats>),
    Missing(String),
    Skipped(String),
    Failed(String),
}

struct Row {
    entry: Entry,
    outcome: Outcome,
}

/// Run `bench net`; prints the tables (or TSV) and returns the exit status:
/// failure if any verification failed.
pub fn run(cfg: &NetConfig, dog: &Watchdog) -> ExitCode {
    let layout = match Layout::from_current_exe() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("bench net: cannot find the bench executable's directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    if cfg.build {
        build(&layout);
    }
    let sizes = Sizes::new(cfg.quick);
    let want_fds = sizes.idle_conns as u64 + 1024;
    let nofile = proc::raise_nofile(want_fds).unwrap_or_else(|e| {
        eprintln!("bench net: cannot read or raise RLIMIT_NOFILE: {e}");
        0
    });
    let ctx = Ctx {
        layout,
        pin: Pinning::detect(),
        sizes,
        wrk: proc::find_in_path("wrk"),
        nginx: proc::find_in_path("nginx").or_else(|| {
            let p = PathBuf::from("/usr/sbin/nginx");
            p.is_file().then_some(p)
        }),
        nofile,
    };
    if !cfg.tsv {
        println!(
            "kamaelia-rs network benchmarks ({}): median of {} interleaved repetitions after 1 warm-up",
            if cfg.quick { "QUICK sizes" } else { "full sizes" },
            cfg.reps
        );
        println!(
            "{}; binaries from {}",
            ctx.pin.describe(),
            ctx.layout.bin_dir.display()
        );
        println!("load average at start: {}", load_average());
        println!("'vs X' = median / X's median; goals below each table");
    }
    let mut failures = Vec::new();
    let mut tally = [0usize; 3];
    for w in NetWorkload::ALL {
        if !cfg.only.is_empty() && !cfg.only.contains(&w) {
            continue;
        }
        let rows = run_workload(w, &ctx, cfg, dog);
        for r in &rows {
            if let Outcome::Failed(why) = &r.outcome {
                failures.push(format!("{} / {}: {why}", w.name(), r.entry.name));
            }
        }
        let t = print_workload(w, &rows, &ctx.sizes, cfg.tsv);
        for (a, b) in tally.iter_mut().zip(t) {
            *a += b;
        }
    }
    if !cfg.tsv {
        println!(
            "\ngoals: {} met, {} missed, {} not measured",
            tally[0], tally[1], tally[2]
        );
        println!(
            "load average at end: {} (above ~0.5 on this machine, other work shared the CPUs)",
            load_average()
        );
    }
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("bench net: {} run(s) FAILED:", failures.len());
        for f in &failures {
            eprintln!("  {f}");
        }
        ExitCode::FAILURE
    }
}

/// The 1, 5 and 15 minute load averages, from /proc/loadavg.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

/// When run through cargo (`CARGO` is set), build the peer binaries and
/// kamaelia's examples with the same profile and target directory as this
/// executable. Failures are reported and the run goes on with what exists.
fn build(layout: &Layout) {
    let Some(cargo) = std::env::var_os("CARGO") else {
        return;
    };
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
    for what in [["-p", "bench", "--bins"], ["-p", "kamaelia", "--examples"]] {
        let mut cmd = Command::new(&cargo);
        cmd.arg("build")
            .arg("--manifest-path")
            .arg(&manifest)
            .arg("--profile")
            .arg(layout.profile())
            .args(what)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        if let Some(t) = layout.target_dir() {
            cmd.arg("--target-dir").arg(t);
        }
        eprintln!("[bench] net: cargo build {}", what.join(" "));
        match cmd.status() {
            Ok(s) if s.success() => {}
            Ok(s) => eprintln!(
                "[bench] net: `cargo build {}` failed ({s}); going on with the binaries that exist",
                what.join(" ")
            ),
            Err(e) => eprintln!("[bench] net: cannot run cargo: {e}"),
        }
    }
}

/// Run one workload on all its systems: warm-up, then interleaved rounds.
fn run_workload(w: NetWorkload, ctx: &Ctx, cfg: &NetConfig, dog: &Watchdog) -> Vec<Row> {
    let entries = w.entries();
    let n_metrics = w.metrics().len();
    let mut ended: Vec<Option<Outcome>> = entries
        .iter()
        .map(|e| {
            available(w, *e, ctx)
                .err()
                .map(|err| outcome_of(err.to_string(), &err))
        })
        .collect();
    let mut values: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); n_metrics]; entries.len()];
    let mut servers: Vec<Option<Running>> = entries.iter().map(|_| None).collect();
    let mut spent = vec![Duration::ZERO; entries.len()];
    // The proxy row's sink, shared by all systems, on the load CPU.
    let mut sink: Option<(Proc, SocketAddr)> = None;
    if w == NetWorkload::Proxy && ended.iter().any(Option::is_none) {
        match start_sink(ctx) {
            Ok(s) => sink = Some(s),
            Err(e) => {
                for slot in ended.iter_mut().filter(|s| s.is_none()) {
                    *slot = Some(outcome_of(e.to_string(), &e));
                }
            }
        }
    }
    let limit = if cfg.quick {
        Duration::from_secs(180)
    } else {
        Duration::from_secs(900)
    };
    for rep in 0..=cfg.reps {
        for (i, e) in entries.iter().enumerate() {
            if ended[i].is_some() {
                continue;
            }
            let label = if rep == 0 {
                "warm-up".to_string()
            } else {
                format!("repetition {rep}")
            };
            dog.arm(format!("net {} / {} ({label})", w.name(), e.name), limit);
            let started = Instant::now();
            let sink_addr = sink.as_ref().map(|s| s.1);
            let result = one_rep(w, *e, &mut servers[i], sink_addr, ctx);
            spent[i] += started.elapsed();
            dog.disarm();
            match result {
                Ok(v) if rep > 0 => {
                    for (m, x) in v.into_iter().enumerate().take(n_metrics) {
                        values[i][m].push(x);
                    }
                }
                Ok(_) => {}
                Err(err) => {
                    servers[i] = None;
                    let text = match &err {
                        NetError::Failed(_) | NetError::Spawn { .. } | NetError::Io { .. } => {
                            format!("{label}: {err}")
                        }
                        _ => err.to_string(),
                    };
                    ended[i] = Some(outcome_of(text, &err));
                }
            }
            if rep == cfg.reps || ended[i].is_some() {
                let why = match &ended[i] {
                    Some(Outcome::Failed(why)) => format!("  FAILED: {why}"),
                    _ => String::new(),
                };
                if !spent[i].is_zero() {
                    eprintln!(
                        "[bench] net {:<9} {:<7} {:>6.1} s{why}",
                        w.name(),
                        e.name,
                        spent[i].as_secs_f64()
                    );
                }
            }
        }
    }
    drop(servers);
    drop(sink);
    entries
        .iter()
        .zip(ended)
        .zip(values)
        .map(|((e, end), vals)| Row {
            entry: *e,
            outcome: end.unwrap_or_else(|| Outcome::Measured(vals.iter().map(|v| stats(v)).collect())),
        })
        .collect()
}

fn outcome_of(text: String, e: &NetError) -> Outcome {
    match e {
        NetError::Missing(why) => Outcome::Missing(why.clone()),
        NetError::Skipped(why) => Outcome::Skipped(why.clone()),
        _ => Outcome::Failed(text),
    }
}

/// Whether a system can run here: its binary built, its tools installed.
fn available(w: NetWorkload, e: Entry, ctx: &Ctx) -> Result<(), NetError> {
    if w == NetWorkload::Http && ctx.wrk.is_none() {
        return Err(NetError::Skipped(
            "wrk not installed (apt-get install wrk)".into(),
        ));
    }
    if w != NetWorkload::Http && !ctx.net_load().is_file() {
        return Err(NetError::Missing(format!(
            "{} not built (cargo build --release -p bench --bins)",
            ctx.net_load().display()
        )));
    }
    if w == NetWorkload::Mem && ctx.nofile < ctx.sizes.idle_conns as u64 + 64 {
        return Err(NetError::Skipped(format!(
            "open-file limit {} is below {} connections (raise ulimit -n)",
            ctx.nofile, ctx.sizes.idle_conns
        )));
    }
    match e.kind {
        Kind::Example(name) => {
            let p = ctx.layout.example(name);
            if !p.is_file() {
                return Err(NetError::Missing(format!(
                    "{} not built (cargo build --release -p kamaelia --examples)",
                    p.display()
                )));
            }
        }
        Kind::Peer(name) => {
            let p = ctx.layout.bench_bin(name);
            if !p.is_file() {
                return Err(NetError::Missing(format!(
                    "{} not built (cargo build --release -p bench --bins)",
                    p.display()
                )));
            }
        }
        Kind::Nginx => {
            if ctx.nginx.is_none() {
                return Err(NetError::Skipped(
                    "nginx not installed (apt-get install nginx-light)".into(),
                ));
            }
        }
        Kind::ShellPipe => {
            if proc::find_in_path("sh").is_none() {
                return Err(NetError::Skipped("sh not found".into()));
            }
        }
        Kind::Direct => {}
    }
    if w == NetWorkload::Pipe && proc::find_in_path("head").is_none() {
        return Err(NetError::Skipped("head not found".into()));
    }
    Ok(())
}

/// Start a server binary on the server CPU with `--listen 127.0.0.1:0` and
/// `extra` arguments, and read its address from its ready line.
fn start_bin(ctx: &Ctx, name: &str, path: PathBuf, extra: &[String]) -> Result<Running, NetError> {
    let mut cmd = ctx.pin.command(ctx.pin.server, path);
    cmd.arg("--listen").arg("127.0.0.1:0").args(extra);
    // The same log level for every system: warnings only.
    cmd.env("RUST_LOG", "warn");
    let mut p = Proc::spawn(name, cmd, Stdio::null(), None)?;
    let addr = p.listening(Duration::from_secs(15))?;
    Ok(Running::Bin(p, addr))
}

/// Start the server of system `e` for workload `w` (not for `Direct` or
/// the pipe row).
fn start_server(w: NetWorkload, e: Entry, sink: Option<SocketAddr>, ctx: &Ctx) -> Result<Running, NetError> {
    let extra = match (w, sink) {
        (NetWorkload::Proxy, Some(s)) => vec!["--to".to_string(), s.to_string()],
        (NetWorkload::Proxy, None) => return Err(NetError::Failed("no sink for the proxy".into())),
        _ => Vec::new(),
    };
    let server = match e.kind {
        Kind::Example(name) => start_bin(ctx, e.name, ctx.layout.example(name), &extra)?,
        Kind::Peer(name) => start_bin(ctx, e.name, ctx.layout.bench_bin(name), &extra)?,
        Kind::Nginx => {
            let nginx = ctx
                .nginx
                .as_ref()
                .ok_or_else(|| NetError::Skipped("nginx not installed".into()))?;
            Running::Nginx(http::Nginx::start(nginx, &ctx.pin)?)
        }
        Kind::Direct | Kind::ShellPipe => return Err(NetError::Failed(format!("{} has no server", e.name))),
    };
    if w == NetWorkload::Http {
        http::check_hello(server.addr())?;
    }
    Ok(server)
}

fn start_sink(ctx: &Ctx) -> Result<(Proc, SocketAddr), NetError> {
    let mut cmd = ctx.pin.command(ctx.pin.load, ctx.net_load());
    cmd.arg("sink").arg("--listen").arg("127.0.0.1:0");
    let mut p = Proc::spawn("sink", cmd, Stdio::null(), None)?;
    let addr = p.listening(Duration::from_secs(15))?;
    Ok((p, addr))
}

/// Run `net_load MODE ARGS` on the load CPU and return the numbers of its
/// `ok` line.
fn load(ctx: &Ctx, args: &[String], timeout: Duration) -> Result<Vec<u64>, NetError> {
    let mut cmd = ctx.pin.command(ctx.pin.load, ctx.net_load());
    cmd.args(args);
    let what = format!("net_load {}", args.first().map_or("", String::as_str));
    let p = Proc::spawn(&what, cmd, Stdio::null(), None)?;
    let line = p.result(timeout)?;
    parse_ok(&line).ok_or_else(|| NetError::Failed(format!("{what}: unreadable result {line:?}")))
}

/// The numbers after `ok`.
fn parse_ok(line: &str) -> Option<Vec<u64>> {
    let rest = line.strip_prefix("ok")?;
    rest.split_whitespace().map(|n| n.parse().ok()).collect()
}

fn seconds(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// Timeout for moving `bytes` (at no less than 10 MB/s, plus a minute).
fn stream_timeout(bytes: u64) -> Duration {
    Duration::from_secs(60 + bytes / 10_000_000)
}

/// One repetition of workload `w` on system `e`; one value per metric.
fn one_rep(
    w: NetWorkload,
    e: Entry,
    server: &mut Option<Running>,
    sink: Option<SocketAddr>,
    ctx: &Ctx,
) -> Result<Vec<f64>, NetError> {
    let s = &ctx.sizes;
    let ensure = |server: &mut Option<Running>| -> Result<SocketAddr, NetError> {
        if server.is_none() {
            *server = Some(start_server(w, e, sink, ctx)?);
        }
        Ok(server.as_ref().map(Running::addr).expect("started just above"))
    };
    match w {
        NetWorkload::Http => {
            let addr = ensure(server)?;
            let wrk = ctx
                .wrk
                .as_ref()
                .ok_or_else(|| NetError::Skipped("wrk not installed".into()))?;
            let r = http::run_wrk(wrk, &ctx.pin, addr, s.http_conns, s.http_secs)?;
            Ok(vec![r.per_second, r.p99_ms])
        }
        NetWorkload::Echo => {
            let addr = ensure(server)?;
            let args = [
                "echo".to_string(),
                "--to".into(),
                addr.to_string(),
                "--conns".into(),
                s.echo_conns.to_string(),
                "--size".into(),
                s.echo_size.to_string(),
                "--secs".into(),
                s.echo_secs.to_string(),
            ];
            let timeout = Duration::from_secs_f64(s.echo_secs) + Duration::from_secs(120);
            match load(ctx, &args, timeout)?.as_slice() {
                [n, ns] if *n > 0 && *ns > 0 => Ok(vec![*n as f64 / seconds(*ns)]),
                other => Err(NetError::Failed(format!("echo: no round trips ({other:?})"))),
            }
        }
        NetWorkload::Proxy => {
            let addr = match e.kind {
                Kind::Direct => sink.ok_or_else(|| NetError::Failed("no sink".into()))?,
                _ => ensure(server)?,
            };
            let args = [
                "stream".to_string(),
                "--to".into(),
                addr.to_string(),
                "--bytes".into(),
                s.stream_bytes.to_string(),
            ];
            match load(ctx, &args, stream_timeout(s.stream_bytes))?.as_slice() {
                [seen, ns] if *seen == s.stream_bytes && *ns > 0 => {
                    Ok(vec![*seen as f64 / 1e6 / seconds(*ns)])
                }
                [seen, _] => Err(NetError::Failed(format!(
                    "verification failed (bytes at the sink): expected {}, got {seen}",
                    s.stream_bytes
                ))),
                other => Err(NetError::Failed(format!("stream: unreadable result {other:?}"))),
            }
        }
        NetWorkload::Pipe => pipe_rep(e, ctx),
        NetWorkload::Mem => {
            // A fresh server each time: memory freed and kept by the
            // allocator in an earlier repetition would hide the cost.
            *server = None;
            let result = mem_rep(w, e, sink, ctx);
            *server = None;
            result
        }
    }
}

/// `head -c N /dev/zero | SYSTEM | net_load count`, the system on the
/// server CPU, head and the counter on the load CPU.
fn pipe_rep(e: Entry, ctx: &Ctx) -> Result<Vec<f64>, NetError> {
    let n = ctx.sizes.stream_bytes;
    let mut head_cmd = ctx.pin.command(ctx.pin.load, "head");
    head_cmd.arg("-c").arg(n.to_string()).arg("/dev/zero");
    let mut head = Proc::spawn("head", head_cmd, Stdio::null(), Some(Stdio::piped()))?;
    let head_out = head
        .take_stdout()
        .ok_or_else(|| NetError::Failed("head: no stdout".into()))?;
    let mut cmd = match e.kind {
        Kind::Example(name) => {
            let mut c = ctx.pin.command(ctx.pin.server, ctx.layout.example(name));
            c.arg("--").arg("cat");
            c
        }
        _ => {
            let mut c = ctx.pin.command(ctx.pin.server, "sh");
            c.arg("-c").arg("cat | cat");
            c
        }
    };
    cmd.env("RUST_LOG", "warn");
    let mut sys = Proc::spawn(e.name, cmd, Stdio::from(head_out), Some(Stdio::piped()))?;
    let sys_out = sys
        .take_stdout()
        .ok_or_else(|| NetError::Failed(format!("{}: no stdout", e.name)))?;
    let mut count = ctx.pin.command(ctx.pin.load, ctx.net_load());
    count.arg("count");
    let counter = Proc::spawn("net_load count", count, Stdio::from(sys_out), None)?;
    let line = counter.result(stream_timeout(n))?;
    let status = sys.wait_exit(Duration::from_secs(10));
    match status {
        Some(st) if st.success() => {}
        Some(st) => {
            return Err(NetError::Failed(format!(
                "{} exited with {st}{}",
                e.name,
                sys.stderr_note()
            )))
        }
        None => {
            return Err(NetError::Failed(format!(
                "{} did not exit within 10 s of the end of its input",
                e.name
            )))
        }
    }
    let _ = head.wait_exit(Duration::from_secs(5));
    match parse_ok(&line).as_deref() {
        Some([seen, ns]) if *seen == n && *ns > 0 => Ok(vec![n as f64 / 1e6 / seconds(*ns)]),
        Some([seen, _]) => Err(NetError::Failed(format!(
            "verification failed (bytes counted): expected {n}, got {seen}"
        ))),
        _ => Err(NetError::Failed(format!("count: unreadable result {line:?}"))),
    }
}

/// Start a fresh server, read its VmRSS, open the idle connections (each
/// proved accepted by a 1-byte echo), read VmRSS again.
fn mem_rep(w: NetWorkload, e: Entry, sink: Option<SocketAddr>, ctx: &Ctx) -> Result<Vec<f64>, NetError> {
    let n = ctx.sizes.idle_conns;
    let server = start_server(w, e, sink, ctx)?;
    let Running::Bin(p, addr) = &server else {
        return Err(NetError::Failed("idle-mem needs a server process".into()));
    };
    let pid = p.pid();
    // Let start-up work settle before the baseline.
    std::thread::sleep(Duration::from_millis(200));
    let before = proc::rss_of(pid)?;
    let mut cmd = ctx.pin.command(ctx.pin.load, ctx.net_load());
    cmd.arg("hold")
        .arg("--to")
        .arg(addr.to_string())
        .arg("--conns")
        .arg(n.to_string());
    let mut holder = Proc::spawn("net_load hold", cmd, Stdio::piped(), None)?;
    let line = holder.next_line(Duration::from_secs(120 + n as u64 / 100))?;
    if line != format!("ready {n}") {
        let more = holder.next_line(Duration::from_secs(1)).unwrap_or_default();
        return Err(NetError::Failed(format!(
            "net_load hold: expected `ready {n}`, got {line:?} {more}"
        )));
    }
    std::thread::sleep(Duration::from_millis(200));
    let after = proc::rss_of(pid)?;
    // Closing its stdin lets the holder close the connections and exit.
    drop(holder.take_stdin());
    holder.result(Duration::from_secs(30))?;
    drop(server);
    Ok(vec![(after as f64 - before as f64) / n as f64])
}

// ---------------------------------------------------------------------------
// Output.

fn median_of<'a>(rows: &'a [Row], name: &str, metric: usize) -> Option<&'a Stats> {
    rows.iter()
        .find(|r| r.entry.name == name)
        .and_then(|r| match &r.outcome {
            Outcome::Measured(s) => s.get(metric),
            _ => None,
        })
}

fn the_ours(rows: &[Row]) -> Option<&Row> {
    rows.iter().find(|r| r.entry.ours)
}

/// Judge one goal: `(text, the ratio or figure judged, Some(met), or None
/// when ours or the system compared with has no figure)`.
fn judge(m: &Metric, idx: usize, g: Goal, rows: &[Row]) -> (String, Option<f64>, Option<bool>) {
    let cmp = if m.higher_is_better { "≥" } else { "≤" };
    let ours = the_ours(rows)
        .and_then(|_| median_of(rows, "ours", idx))
        .map(|s| s.median);
    match g {
        Goal::Relative { of, factor } => {
            let text = format!("ours {cmp} {factor:.2} × {of}");
            let theirs = median_of(rows, of, idx).map(|s| s.median);
            match (ours, theirs) {
                (Some(a), Some(b)) if b != 0.0 => {
                    let r = a / b;
                    let met = if m.higher_is_better {
                        r >= factor
                    } else {
                        r <= factor
                    };
                    (text, Some(r), Some(met))
                }
                _ => (text, None, None),
            }
        }
        Goal::Absolute(limit) => {
            let text = format!("ours {cmp} {limit:.0} {}", m.unit);
            match ours {
                Some(a) => {
                    let met = if m.higher_is_better {
                        a >= limit
                    } else {
                        a <= limit
                    };
                    (text, Some(a), Some(met))
                }
                None => (text, None, None),
            }
        }
    }
}

/// Print one workload's tables; returns `[met, missed, not measured]` goals.
fn print_workload(w: NetWorkload, rows: &[Row], sizes: &Sizes, tsv: bool) -> [usize; 3] {
    let mut tally = [0; 3];
    for (idx, m) in w.metrics().iter().enumerate() {
        if tsv {
            for r in rows {
                let cells = match &r.outcome {
                    Outcome::Measured(s) => {
                        let s = s[idx];
                        [s.median, s.min, s.max].map(|v| format!("{v:.3}"))
                    }
                    Outcome::Missing(_) => ["missing".to_string(), "missing".into(), "missing".into()],
                    Outcome::Skipped(_) => ["skipped".to_string(), "skipped".into(), "skipped".into()],
                    Outcome::Failed(_) => ["failed".to_string(), "failed".into(), "failed".into()],
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    m.name, r.entry.name, cells[0], cells[1], cells[2], m.unit
                );
            }
        } else {
            println!("\n{}: {}", m.name, w.describe(sizes));
            let vs = format!("vs {}", m.reference);
            println!(
                "{:<9} {:<7} {:>14} {:>14} {:>14}  {:<12} {:>10}",
                "metric", "system", "median", "min", "max", "unit", vs
            );
            let reference = median_of(rows, m.reference, idx).map(|s| s.median);
            for r in rows {
                match &r.outcome {
                    Outcome::Measured(s) => {
                        let s = s[idx];
                        let ratio = reference
                            .filter(|&b| b != 0.0)
                            .map_or_else(|| "-".to_string(), |b| format!("{:.2}", s.median / b));
                        println!(
                            "{:<9} {:<7} {:>14} {:>14} {:>14}  {:<12} {:>10}",
                            m.name,
                            r.entry.name,
                            human(s.median),
                            human(s.min),
                            human(s.max),
                            m.unit,
                            ratio
                        );
                    }
                    Outcome::Missing(why) => println!("{:<9} {:<7} missing: {why}", m.name, r.entry.name),
                    Outcome::Skipped(why) => println!("{:<9} {:<7} skipped: {why}", m.name, r.entry.name),
                    Outcome::Failed(why) => println!("{:<9} {:<7} FAILED: {why}", m.name, r.entry.name),
                }
            }
        }
        for g in m.goals {
            let (text, value, met) = judge(m, idx, *g, rows);
            tally[match met {
                Some(true) => 0,
                Some(false) => 1,
                None => 2,
            }] += 1;
            if tsv {
                continue;
            }
            let shown = value.map_or_else(
                || "-".to_string(),
                |v| {
                    if matches!(g, Goal::Relative { .. }) {
                        format!("{v:.2}")
                    } else {
                        human(v)
                    }
                },
            );
            let verdict = match met {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "not measured",
            };
            println!("  goal: {text:<24} {shown:>10}  {verdict}");
        }
    }
    tally
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &'static str, ours: bool, median: Option<f64>) -> Row {
        Row {
            entry: entry(name, ours, Kind::Direct),
            outcome: match median {
                Some(m) => Outcome::Measured(vec![stats(&[m])]),
                None => Outcome::Missing("not built".into()),
            },
        }
    }

    #[test]
    fn goals_are_judged_in_the_metric_direction() {
        let proxy = NetWorkload::Proxy.metrics()[0];
        let rows = [
            row("ours", true, Some(850.0)),
            row("tokio", false, Some(900.0)),
            row("direct", false, Some(1000.0)),
        ];
        let (_, r, met) = judge(&proxy, 0, proxy.goals[0], &rows);
        assert_eq!((r, met), (Some(0.85), Some(true)));
        let (_, _, met) = judge(&proxy, 0, proxy.goals[1], &rows);
        assert_eq!(met, Some(false));

        let mem = NetWorkload::Mem.metrics()[0];
        let rows = [row("ours", true, Some(3000.0)), row("tokio", false, Some(2000.0))];
        assert_eq!(judge(&mem, 0, mem.goals[0], &rows).2, Some(true));
        assert_eq!(judge(&mem, 0, mem.goals[1], &rows).2, Some(false));
    }

    #[test]
    fn a_missing_system_leaves_its_goals_unmeasured() {
        let echo = NetWorkload::Echo.metrics()[0];
        let rows = [row("ours", true, None), row("tokio", false, Some(1.0))];
        assert_eq!(judge(&echo, 0, echo.goals[0], &rows).2, None);
        assert_eq!(
            print_workload(NetWorkload::Echo, &rows, &Sizes::new(true), true),
            [0, 0, 1]
        );
    }

    #[test]
    fn ok_lines() {
        assert_eq!(parse_ok("ok 5 7"), Some(vec![5, 7]));
        assert_eq!(parse_ok("ok"), Some(vec![]));
        assert_eq!(parse_ok("ok x"), None);
        assert_eq!(parse_ok("error boom"), None);
    }

    #[test]
    fn every_metric_has_its_reference_among_the_systems() {
        for w in NetWorkload::ALL {
            let names: Vec<_> = w.entries().iter().map(|e| e.name).collect();
            assert_eq!(w.entries().iter().filter(|e| e.ours).count(), 1);
            for m in w.metrics() {
                assert!(names.contains(&m.reference), "{}", m.name);
                for g in m.goals {
                    if let Goal::Relative { of, .. } = g {
                        assert!(names.contains(of), "{}", m.name);
                    }
                }
            }
        }
    }
}
