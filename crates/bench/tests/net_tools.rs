//! Integration tests for `bench net`'s helper binaries (`net_load`, the
//! tokio and hyper peers) and for `bench net` itself on the rows that need
//! no extra tools, driven as processes the way the harness drives them.
//! Nothing here asserts a timing; every wait is bounded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const NET_LOAD: &str = env!("CARGO_BIN_EXE_net_load");
const TOKIO_ECHO: &str = env!("CARGO_BIN_EXE_tokio_echo");
const TOKIO_PROXY: &str = env!("CARGO_BIN_EXE_tokio_proxy");
const HYPER_HELLO: &str = env!("CARGO_BIN_EXE_hyper_hello");
const BENCH: &str = env!("CARGO_BIN_EXE_bench");

/// A child killed when the test ends, however it ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start a server and read its `listening on ADDR` line.
fn server(program: &str, args: &[&str]) -> (Guard, SocketAddr) {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let guard = Guard(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(out).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(30)).expect("ready line");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("not a ready line: {line:?}"))
        .parse()
        .unwrap();
    (guard, addr)
}

/// Run to completion within `limit`; (success, stdout).
fn run(mut cmd: Command, stdin: Option<Vec<u8>>, limit: Duration) -> (bool, String) {
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(data) = stdin {
        let mut sin = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            let _ = sin.write_all(&data);
        });
    }
    let mut out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        let _ = tx.send(s);
    });
    let mut guard = Guard(child);
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = guard.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "{cmd:?} did not finish in {limit:?}");
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
    (status.success(), out)
}

fn numbers(line: &str) -> Vec<u64> {
    line.trim()
        .strip_prefix("ok")
        .unwrap_or_else(|| panic!("not an ok line: {line:?}"))
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect()
}

#[test]
fn echo_client_against_the_tokio_echo_server() {
    let (_srv, addr) = server(TOKIO_ECHO, &["--listen", "127.0.0.1:0"]);
    let mut cmd = Command::new(NET_LOAD);
    cmd.args([
        "echo",
        "--to",
        &addr.to_string(),
        "--conns",
        "100",
        "--secs",
        "0.3",
    ]);
    let (ok, out) = run(cmd, None, Duration::from_secs(60));
    assert!(ok, "{out}");
    let n = numbers(&out);
    assert!(n[0] >= 100, "every connection did at least one round trip: {out}");
}

/// An "echo" server that changes one byte: the client must notice.
#[test]
fn echo_client_rejects_a_wrong_byte() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in listener.incoming().take(4) {
            let Ok(mut s) = s else { return };
            std::thread::spawn(move || {
                let mut buf = [0u8; 64];
                let mut total = 0usize;
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        return;
                    }
                    for (i, b) in buf[..n].iter_mut().enumerate() {
                        if total + i == 100 {
                            *b ^= 0x40;
                        }
                    }
                    total += n;
                    if s.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    let mut cmd = Command::new(NET_LOAD);
    cmd.args(["echo", "--to", &addr.to_string(), "--conns", "2", "--secs", "2"]);
    let (ok, out) = run(cmd, None, Duration::from_secs(60));
    assert!(!ok, "{out}");
    assert!(out.contains("differ"), "{out}");
}

#[test]
fn stream_reaches_the_sink_directly_and_through_the_tokio_proxy() {
    let (_sink, sink) = server(NET_LOAD, &["sink", "--listen", "127.0.0.1:0"]);
    let (_proxy, proxy) = server(
        TOKIO_PROXY,
        &["--listen", "127.0.0.1:0", "--to", &sink.to_string()],
    );
    for to in [sink, proxy] {
        let mut cmd = Command::new(NET_LOAD);
        cmd.args(["stream", "--to", &to.to_string(), "--bytes", "3000001"]);
        let (ok, out) = run(cmd, None, Duration::from_secs(60));
        assert!(ok, "{out}");
        assert_eq!(numbers(&out)[0], 3_000_001, "{out}");
    }
}

#[test]
fn count_checks_its_input() {
    let mut cmd = Command::new(NET_LOAD);
    cmd.arg("count");
    let (ok, out) = run(cmd, Some(vec![0; 1_000_003]), Duration::from_secs(60));
    assert!(ok, "{out}");
    assert_eq!(numbers(&out)[0], 1_000_003);
    let mut cmd = Command::new(NET_LOAD);
    cmd.arg("count");
    let mut data = vec![0; 10_000];
    data[5_000] = 1;
    let (ok, out) = run(cmd, Some(data), Duration::from_secs(60));
    assert!(!ok && out.starts_with("error"), "{out}");
}

#[test]
fn hold_keeps_connections_until_stdin_closes() {
    let (_srv, addr) = server(TOKIO_ECHO, &["--listen", "127.0.0.1:0"]);
    let mut cmd = Command::new(NET_LOAD);
    cmd.args(["hold", "--to", &addr.to_string(), "--conns", "200"]);
    // Our stdin write ends (closes) at once: it reports ready, then exits.
    let (ok, out) = run(cmd, Some(Vec::new()), Duration::from_secs(60));
    assert!(ok, "{out}");
    assert_eq!(out.lines().next(), Some("ready 200"), "{out}");
}

#[test]
fn hyper_hello_serves_the_body_and_keeps_alive() {
    let (_srv, addr) = server(HYPER_HELLO, &["--listen", "127.0.0.1:0"]);
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // Two requests on one connection, the second closing it.
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut all = String::new();
    s.read_to_string(&mut all).unwrap();
    assert_eq!(all.matches("HTTP/1.1 200 OK").count(), 2, "{all}");
    assert_eq!(all.matches("\r\n\r\nHello, world!\n").count(), 2, "{all}");
}

/// `bench net` end to end on the rows that need no installed tools: every
/// row measured or reported missing, none failed, no process left behind.
#[test]
fn bench_net_runs_the_pipe_and_proxy_rows() {
    let mut cmd = Command::new(BENCH);
    cmd.args([
        "net",
        "--quick",
        "--reps",
        "1",
        "--only",
        "pipe",
        "--only",
        "proxy",
        "--tsv",
        "--no-build",
    ]);
    let (ok, out) = run(cmd, None, Duration::from_secs(300));
    assert!(ok, "{out}");
    let rows: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
    for want in ["pipe\tshell", "proxy\ttokio", "proxy\tdirect"] {
        let row = rows
            .iter()
            .find(|r| r.len() == 6 && format!("{}\t{}", r[0], r[1]) == want)
            .unwrap_or_else(|| panic!("no {want} row in {out}"));
        assert!(row[2].parse::<f64>().unwrap() > 0.0, "{out}");
    }
    for r in &rows {
        assert_eq!(r.len(), 6, "{out}");
        assert_ne!(r[2], "failed", "{out}");
    }
}
