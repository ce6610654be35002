//! Process control for `bench net`: every server, load client and pipeline
//! stage runs as a child process owned by a [`Proc`] guard that stops it
//! (SIGINT, then SIGKILL for it and every descendant after a grace period)
//! when dropped, on every path out, errors included. Also: where the
//! binaries are, CPU pinning with `taskset`, the open-file limit, a
//! process's resident memory, and a temporary directory guard.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::NetError;

/// How long a process has to exit after SIGINT before it is killed.
const GRACE: Duration = Duration::from_secs(3);
/// The most of a child's stderr kept for error messages.
const STDERR_TAIL: usize = 4096;

/// Root pids of every live [`Proc`], for [`kill_all_now`].
static LIVE: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// A child process that is stopped when the guard goes.
pub struct Proc {
    name: String,
    child: Child,
    /// Lines of its stdout, when the guard captures it.
    lines: Option<Receiver<String>>,
    stderr: Arc<Mutex<String>>,
    stopped: bool,
}

impl Proc {
    /// Start `cmd` as `name`. Its stdin is `stdin`; its stdout is captured
    /// line by line (read with [`Proc::next_line`]) unless `stdout` is
    /// given; its stderr is kept (the last few KiB) for error messages. The
    /// child gets SIGKILL if this process dies first.
    pub fn spawn(
        name: &str,
        mut cmd: Command,
        stdin: Stdio,
        stdout: Option<Stdio>,
    ) -> Result<Proc, NetError> {
        let capture = stdout.is_none();
        cmd.stdin(stdin)
            .stdout(stdout.unwrap_or_else(Stdio::piped))
            .stderr(Stdio::piped());
        // SAFETY: the closure runs in the forked child before exec and only
        // makes the async-signal-safe prctl system call; it touches no
        // memory of the parent and allocates nothing.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| NetError::Spawn {
            what: format!("{name} ({})", describe(&cmd)),
            source: e,
        })?;
        LIVE.lock().unwrap_or_else(|p| p.into_inner()).push(child.id());
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut err) = child.stderr.take() {
            let tail = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = err.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
                    t.push_str(&String::from_utf8_lossy(&buf[..n]));
                    if t.len() > 2 * STDERR_TAIL {
                        let cut = t.len() - STDERR_TAIL;
                        let cut = (cut..t.len()).find(|&i| t.is_char_boundary(i)).unwrap_or(0);
                        t.drain(..cut);
                    }
                }
            });
        }
        let lines = if capture {
            child.stdout.take().map(|out| {
                let (tx, rx) = mpsc::channel();
                // Reads to the end, so a chatty child never blocks on a
                // full pipe; lines nobody asks for are dropped with the
                // receiver.
                std::thread::spawn(move || {
                    for line in BufReader::new(out).lines() {
                        let Ok(line) = line else { break };
                        let _ = tx.send(line);
                    }
                });
                rx
            })
        } else {
            None
        };
        Ok(Proc {
            name: name.to_string(),
            child,
            lines,
            stderr,
            stopped: false,
        })
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its stdin, if it was given `Stdio::piped()`.
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.child.stdin.take()
    }

    /// Its stdout, if it was given `Some(Stdio::piped())`.
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// The next line of its stdout, waiting at most `timeout`.
    pub fn next_line(&mut self, timeout: Duration) -> Result<String, NetError> {
        let Some(rx) = &self.lines else {
            return Err(NetError::Failed(format!("{}: stdout is not captured", self.name)));
        };
        match rx.recv_timeout(timeout) {
            Ok(line) => Ok(line),
            Err(RecvTimeoutError::Timeout) => Err(NetError::Failed(format!(
                "{}: no output within {} s{}",
                self.name,
                timeout.as_secs(),
                self.stderr_note()
            ))),
            Err(RecvTimeoutError::Disconnected) => {
                let status = self.wait_exit(Duration::from_secs(2));
                Err(NetError::Failed(format!(
                    "{}: ended ({}) without the expected output{}",
                    self.name,
                    status.map_or_else(|| "still running".to_string(), |s| s.to_string()),
                    self.stderr_note()
                )))
            }
        }
    }

    /// Wait for the server's ready line, `listening on <ADDR>`, and return
    /// ADDR, which must be a loopback address. Lines before it (a log line
    /// on stdout, say) are skipped, up to 100 of them.
    pub fn listening(&mut self, timeout: Duration) -> Result<SocketAddr, NetError> {
        let deadline = Instant::now() + timeout;
        let mut skipped = Vec::new();
        let line = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.next_line(left)?;
            if line.starts_with("listening on ") {
                break line;
            }
            skipped.push(line);
            if skipped.len() >= 100 {
                return Err(NetError::Failed(format!(
                    "{}: no `listening on <ADDR>` line in its first 100 lines of output: {:?}",
                    self.name,
                    &skipped[..3]
                )));
            }
        };
        let addr: SocketAddr = line
            .strip_prefix("listening on ")
            .and_then(|a| a.trim().parse().ok())
            .ok_or_else(|| {
                NetError::Failed(format!(
                    "{}: expected `listening on <ADDR>`, got {line:?}",
                    self.name
                ))
            })?;
        if !addr.ip().is_loopback() {
            return Err(NetError::Failed(format!(
                "{}: listens on {addr}, not a loopback address",
                self.name
            )));
        }
        Ok(addr)
    }

    /// For a load client: its result line (the first line starting with
    /// `ok` or `error`), then its exit, all within `timeout`. `error ...`
    /// or a failed exit is a failure.
    pub fn result(mut self, timeout: Duration) -> Result<String, NetError> {
        let deadline = Instant::now() + timeout;
        let line = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.next_line(left)?;
            if line.starts_with("ok") || line.starts_with("error") {
                break line;
            }
        };
        let left = deadline.saturating_duration_since(Instant::now());
        let status = self.wait_exit(left.max(Duration::from_secs(1)));
        if let Some(why) = line.strip_prefix("error") {
            return Err(NetError::Failed(format!("{}: {}", self.name, why.trim())));
        }
        match status {
            Some(s) if s.success() => Ok(line),
            Some(s) => Err(NetError::Failed(format!(
                "{}: exited with {s} after {line:?}{}",
                self.name,
                self.stderr_note()
            ))),
            None => Err(NetError::Failed(format!(
                "{}: did not exit after {line:?}",
                self.name
            ))),
        }
    }

    /// Wait up to `timeout` for the child to exit on its own.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(s)) => {
                    self.forget();
                    return Some(s);
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                _ => return None,
            }
        }
    }

    /// `; stderr: ...` with the end of what the child wrote there, if any.
    pub fn stderr_note(&self) -> String {
        // Give the reader thread a moment to collect a dying child's last words.
        std::thread::sleep(Duration::from_millis(20));
        let t = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        let t = t.trim();
        if t.is_empty() {
            String::new()
        } else {
            let start = t.len().saturating_sub(600);
            let start = (start..t.len()).find(|&i| t.is_char_boundary(i)).unwrap_or(0);
            format!("; stderr: {}", &t[start..])
        }
    }

    /// Stop it: SIGINT to it and its descendants, up to [`GRACE`] to exit,
    /// then SIGKILL to whatever of them is left. Idempotent.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        if let Ok(Some(_)) = self.child.try_wait() {
            self.forget();
            return;
        }
        let pid = self.child.id();
        let family = descendants(pid);
        signal(pid, libc::SIGINT);
        for &p in family.keys() {
            signal(p, libc::SIGINT);
        }
        if self.wait_exit(GRACE).is_none() {
            signal(pid, libc::SIGKILL);
            let _ = self.child.wait();
            self.forget();
        }
        // Descendants that outlived their parent (nginx workers, a shell
        // pipeline's stages): kill those still running (same pid, same
        // start time) after the grace period.
        let deadline = Instant::now() + GRACE;
        for (p, born) in family {
            while started_at(p) == Some(born) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if started_at(p) == Some(born) {
                signal(p, libc::SIGKILL);
            }
        }
    }

    fn forget(&mut self) {
        self.stopped = true;
        let pid = self.child.id();
        LIVE.lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|&p| p != pid);
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// SIGKILL every live [`Proc`] and its descendants at once (the watchdog's
/// last act before it exits the process, when no destructor will run).
pub fn kill_all_now() {
    let live = LIVE.lock().unwrap_or_else(|p| p.into_inner()).clone();
    for pid in live {
        let family = descendants(pid);
        signal(pid, libc::SIGKILL);
        for p in family.into_keys() {
            signal(p, libc::SIGKILL);
        }
    }
}

fn signal(pid: u32, sig: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    // The pid is one of our children (or its descendants, checked by start
    // time just before): a positive pid, never 0 or -1.
    if pid > 0 {
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// Identity of a running process: its start time in clock ticks since
/// boot (field 22 of /proc/PID/stat), which stays the same across exec and
/// tells a reused pid apart. `None` if it is gone or a zombie.
fn started_at(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the command name: state is field 3 of the line, starttime 22.
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// `(pid, ppid)` of every process, from /proc.
fn process_table() -> Vec<(u32, u32)> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (_, rest) = stat.rsplit_once(')')?;
            let ppid = rest.split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect()
}

/// Every live descendant of `root`, with its start time.
fn descendants(root: u32) -> HashMap<u32, u64> {
    let table = process_table();
    let mut found: HashMap<u32, u64> = HashMap::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for &(pid, ppid) in &table {
            if ppid == parent && !found.contains_key(&pid) {
                if let Some(t) = started_at(pid) {
                    found.insert(pid, t);
                }
                frontier.push(pid);
            }
        }
    }
    found
}

fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Resident set size (VmRSS) of process `pid`, in bytes.
pub fn rss_of(pid: u32) -> Result<u64, NetError> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| NetError::Io {
        what: format!("reading /proc/{pid}/status"),
        source: e,
    })?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .ok_or_else(|| NetError::Failed(format!("no VmRSS in /proc/{pid}/status")))
}

/// Raise this process's soft open-file limit to at least `want` (raising
/// the hard limit too where we are allowed to). Children inherit it.
/// Returns the soft limit in force afterwards.
pub fn raise_nofile(want: u64) -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only the struct we pass, which outlives the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if lim.rlim_cur >= want {
        return Ok(lim.rlim_cur);
    }
    if lim.rlim_max < want {
        let higher = libc::rlimit {
            rlim_cur: want,
            rlim_max: want,
        };
        // SAFETY: setrlimit reads only the struct we pass. Raising the hard
        // limit needs privilege; if refused, we fall back to the hard limit.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &higher) } == 0 {
            return Ok(want);
        }
    }
    lim.rlim_cur = want.min(lim.rlim_max);
    // SAFETY: as above.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(lim.rlim_cur)
}

/// The CPUs this process may run on (`Cpus_allowed_list`), in order.
pub fn allowed_cpus() -> Vec<usize> {
    let list = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                .map(|l| l.trim().to_string())
        })
        .unwrap_or_default();
    parse_cpu_list(&list)
}

/// Parse a kernel CPU list such as `0-3,8,10-11`.
pub fn parse_cpu_list(list: &str) -> Vec<usize> {
    let mut cpus = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) {
                    cpus.extend(a..=b.min(a + 4096));
                }
            }
            None => cpus.extend(part.parse::<usize>().ok()),
        }
    }
    cpus
}

/// The executable `name` on `PATH`, if any.
pub fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Which CPU the servers and the load get, and whether `taskset` pins them.
#[derive(Clone, Debug)]
pub struct Pinning {
    /// `taskset`, if installed.
    pub taskset: Option<PathBuf>,
    /// The CPU of the system under test.
    pub server: usize,
    /// The CPU of the load generator.
    pub load: usize,
}

impl Pinning {
    /// The first two allowed CPUs (the same one twice on a 1-CPU machine).
    pub fn detect() -> Pinning {
        let cpus = allowed_cpus();
        let server = cpus.first().copied().unwrap_or(0);
        let load = cpus.get(1).copied().unwrap_or(server);
        Pinning {
            taskset: find_in_path("taskset"),
            server,
            load,
        }
    }

    /// A command running `program` on `cpu` (through `taskset -c CPU`,
    /// which execs it: the pid is the program's own).
    pub fn command(&self, cpu: usize, program: impl AsRef<OsStr>) -> Command {
        match &self.taskset {
            Some(t) => {
                let mut c = Command::new(t);
                c.arg("-c").arg(cpu.to_string()).arg(program);
                c
            }
            None => Command::new(program),
        }
    }

    /// One line for the report header.
    pub fn describe(&self) -> String {
        match &self.taskset {
            Some(_) if self.server != self.load => format!(
                "system under test on cpu {}, load on cpu {} (taskset)",
                self.server, self.load
            ),
            Some(_) => format!(
                "only cpu {} available: server and load share it (figures not comparable with 2-cpu runs)",
                self.server
            ),
            None => "taskset not installed: processes NOT pinned".to_string(),
        }
    }
}

/// Where the binaries live: the directory of the running `bench` (for
/// `hyper_hello`, `tokio_echo`, `tokio_proxy`, `net_load`) and its
/// `examples/` (for kamaelia's `echo_server`, `http_server`, `proxy`, `pipe`).
#[derive(Clone, Debug)]
pub struct Layout {
    /// `target/<profile>`.
    pub bin_dir: PathBuf,
}

impl Layout {
    /// From the path of the running executable (`target/<profile>/bench`,
    /// or `target/<profile>/deps/bench-HASH` under `cargo test`).
    pub fn from_current_exe() -> io::Result<Layout> {
        let exe = std::env::current_exe()?;
        let mut dir = exe
            .parent()
            .ok_or_else(|| io::Error::other("the executable has no directory"))?
            .to_path_buf();
        if dir.file_name() == Some(OsStr::new("deps")) {
            dir.pop();
        }
        Ok(Layout { bin_dir: dir })
    }

    /// A binary of the bench crate (`src/bin/NAME.rs`).
    pub fn bench_bin(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }

    /// A kamaelia example.
    pub fn example(&self, name: &str) -> PathBuf {
        self.bin_dir.join("examples").join(name)
    }

    /// The cargo profile these binaries were built with.
    pub fn profile(&self) -> String {
        match self.bin_dir.file_name().and_then(OsStr::to_str) {
            Some("debug") | None => "dev".to_string(),
            Some(p) => p.to_string(),
        }
    }

    /// The cargo target directory.
    pub fn target_dir(&self) -> Option<&Path> {
        self.bin_dir.parent()
    }
}

/// A directory under the system's temporary directory, removed on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Make a fresh, uniquely named directory.
    pub fn new(prefix: &str) -> Result<TempDir, NetError> {
        static N: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "{prefix}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&path).map_err(|e| NetError::Io {
            what: format!("creating {}", path.display()),
            source: e,
        })?;
        Ok(TempDir { path })
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-1"), vec![0, 1]);
        assert_eq!(parse_cpu_list("0,2-4,7\n"), vec![0, 2, 3, 4, 7]);
        assert_eq!(parse_cpu_list(""), Vec::<usize>::new());
        assert_eq!(parse_cpu_list("x,3"), vec![3]);
    }

    /// Dropping the guard ends the child and a grandchild that ignores
    /// SIGINT (covers the `kill` and `prctl` unsafe blocks).
    #[test]
    fn drop_kills_the_whole_family() {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("sh -c 'trap \"\" INT; echo child $$; exec sleep 30' & wait");
        let mut p = Proc::spawn("family", cmd, Stdio::null(), None).unwrap();
        let line = p.next_line(Duration::from_secs(10)).unwrap();
        let grandchild: u32 = line.strip_prefix("child ").unwrap().trim().parse().unwrap();
        assert!(started_at(grandchild).is_some());
        let started = Instant::now();
        drop(p);
        assert!(started.elapsed() < Duration::from_secs(20));
        // Reaped by init or a subreaper soon after the kill.
        let deadline = Instant::now() + Duration::from_secs(10);
        while started_at(grandchild).is_some() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            started_at(grandchild).is_none(),
            "grandchild {grandchild} survived"
        );
    }

    #[test]
    fn result_line_and_failure() {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg("echo noise; echo ok 5 7");
        let p = Proc::spawn("ok", cmd, Stdio::null(), None).unwrap();
        assert_eq!(p.result(Duration::from_secs(10)).unwrap(), "ok 5 7");
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg("echo oops >&2; exit 3");
        let p = Proc::spawn("bad", cmd, Stdio::null(), None).unwrap();
        let e = p.result(Duration::from_secs(10)).unwrap_err().to_string();
        assert!(e.contains("oops"), "{e}");
    }

    #[test]
    fn ready_line_after_noise() {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("echo 'INFO starting'; echo 'listening on 127.0.0.1:4567'; sleep 30");
        let mut p = Proc::spawn("noisy", cmd, Stdio::null(), None).unwrap();
        let addr = p.listening(Duration::from_secs(10)).unwrap();
        assert_eq!(addr, "127.0.0.1:4567".parse().unwrap());
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg("echo 'listening on 10.1.2.3:80'");
        let mut p = Proc::spawn("outside", cmd, Stdio::null(), None).unwrap();
        let e = p.listening(Duration::from_secs(10)).unwrap_err().to_string();
        assert!(e.contains("not a loopback"), "{e}");
    }

    #[test]
    fn nofile_and_rss() {
        let got = raise_nofile(1024).unwrap();
        assert!(got >= 1024 || got > 0);
        assert!(rss_of(std::process::id()).unwrap() > 0);
    }
}
