//! The HTTP row of `bench net`: a check that a server answers `GET /` with
//! 200 `Hello, world!\n`, the nginx peer (config rendered from
//! `crates/bench/nginx/hello.conf` into a temporary directory), and running
//! `wrk --latency` and reading its report.

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::proc::{Pinning, Proc, TempDir};
use super::NetError;

/// The body every HTTP system must serve for `GET /`.
pub const BODY: &str = "Hello, world!\n";

/// The nginx configuration template; `@PORT@` is replaced at run time.
const NGINX_CONF: &str = include_str!("../../nginx/hello.conf");

/// One plain request with `Connection: close`; the response must be 200
/// with exactly [`BODY`] (by Content-Length or to end of stream).
pub fn check_hello(addr: SocketAddr) -> Result<(), NetError> {
    let fail = |why: String| NetError::Failed(format!("GET / on {addr}: {why}"));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| fail(format!("connect: {e}")))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .and_then(|()| s.set_write_timeout(Some(Duration::from_secs(10))))
        .map_err(|e| fail(e.to_string()))?;
    s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .map_err(|e| fail(format!("write: {e}")))?;
    let mut raw = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 4096];
    // Read until the whole body is in (by Content-Length) or end of stream.
    loop {
        if let Some(done) = complete_response(&raw) {
            raw.truncate(done);
            break;
        }
        if raw.len() > 64 * 1024 || Instant::now() > deadline {
            return Err(fail("response too long or too slow".into()));
        }
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(fail(format!(
                    "no complete HTTP response within 10 s; got {:?}",
                    String::from_utf8_lossy(&raw[..raw.len().min(200)])
                )))
            }
            Err(e) => return Err(fail(format!("read: {e}"))),
        }
    }
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| fail(format!("no complete response head in {text:?}")))?;
    let status = head.lines().next().unwrap_or_default();
    if !status.starts_with("HTTP/1.1 200") {
        return Err(fail(format!("status line {status:?}, expected 200")));
    }
    if body != BODY {
        return Err(fail(format!("body {body:?}, expected {BODY:?}")));
    }
    Ok(())
}

/// The length of the first complete response in `raw` if it carries a
/// Content-Length and all of it has arrived.
fn complete_response(raw: &[u8]) -> Option<usize> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&raw[..end]);
    let len: usize = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse().ok())?
    })?;
    (raw.len() >= end + len).then_some(end + len)
}

/// nginx serving the hello body from a temporary prefix directory.
pub struct Nginx {
    /// Declared before `_dir` so the process stops before its files go.
    _proc: Proc,
    /// Where it listens.
    pub addr: SocketAddr,
    _dir: TempDir,
}

impl Nginx {
    /// Render the config with a free loopback port, start nginx pinned to
    /// the server CPU, and wait until it accepts connections.
    pub fn start(nginx: &Path, pin: &Pinning) -> Result<Nginx, NetError> {
        let dir = TempDir::new("bench-nginx")?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| NetError::Io {
                what: "finding a free port".into(),
                source: e,
            })?
            .port();
        let conf = dir.path().join("nginx.conf");
        let io = |what: String| move |e| NetError::Io { what, source: e };
        fs::write(&conf, NGINX_CONF.replace("@PORT@", &port.to_string()))
            .map_err(io(format!("writing {}", conf.display())))?;
        fs::create_dir_all(dir.path().join("tmp"))
            .map_err(io(format!("creating {}/tmp", dir.path().display())))?;
        let mut cmd = pin.command(pin.server, nginx);
        cmd.arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg("stderr")
            .arg("-c")
            .arg(&conf)
            .arg("-g")
            .arg("daemon off;");
        let mut proc = Proc::spawn("nginx", cmd, Stdio::null(), None)?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                break;
            }
            if let Some(status) = proc.wait_exit(Duration::from_millis(50)) {
                return Err(NetError::Failed(format!(
                    "nginx exited with {status} on start{}",
                    proc.stderr_note()
                )));
            }
            if Instant::now() > deadline {
                return Err(NetError::Failed(format!(
                    "nginx did not accept on {addr} within 10 s{}",
                    proc.stderr_note()
                )));
            }
        }
        Ok(Nginx {
            _proc: proc,
            addr,
            _dir: dir,
        })
    }
}

/// What one wrk run reported.
#[derive(Clone, Debug, PartialEq)]
pub struct WrkReport {
    /// Requests completed.
    pub requests: u64,
    /// `Requests/sec`.
    pub per_second: f64,
    /// The 99th percentile latency, in milliseconds.
    pub p99_ms: f64,
    /// `Non-2xx or 3xx responses` (0 when absent).
    pub non_2xx: u64,
    /// The sum of connect, read, write and timeout socket errors.
    pub socket_errors: u64,
}

/// `wrk -t1 -cCONNS -dSECSs --latency http://ADDR/`, pinned to the load CPU.
pub fn run_wrk(
    wrk: &Path,
    pin: &Pinning,
    addr: SocketAddr,
    conns: u32,
    secs: u32,
) -> Result<WrkReport, NetError> {
    let mut cmd = pin.command(pin.load, wrk);
    cmd.arg("-t1")
        .arg(format!("-c{conns}"))
        .arg(format!("-d{secs}s"))
        .arg("--latency")
        .arg(format!("http://{addr}/"));
    let mut p = Proc::spawn("wrk", cmd, Stdio::null(), None)?;
    let mut out = String::new();
    let deadline = Instant::now() + Duration::from_secs(u64::from(secs) + 60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match p.next_line(left) {
            Ok(line) => {
                out.push_str(&line);
                out.push('\n');
            }
            // End of its output (or the deadline): it has said all it will.
            Err(e) => {
                if p.wait_exit(Duration::from_secs(5)).is_none() {
                    return Err(e);
                }
                break;
            }
        }
    }
    let report = parse_wrk(&out)?;
    if report.non_2xx > 0 || report.socket_errors > 0 || report.requests == 0 {
        return Err(NetError::Failed(format!(
            "wrk: {} requests, {} non-2xx responses, {} socket errors:\n{out}",
            report.requests, report.non_2xx, report.socket_errors
        )));
    }
    Ok(report)
}

/// Read wrk's text report.
pub fn parse_wrk(out: &str) -> Result<WrkReport, NetError> {
    let bad = |what: &str| NetError::Failed(format!("cannot read {what} in wrk's output:\n{out}"));
    let mut requests = None;
    let mut per_second = None;
    let mut p99_ms = None;
    let mut non_2xx = 0;
    let mut socket_errors = 0;
    for line in out.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("Requests/sec:") {
            per_second = rest.trim().parse::<f64>().ok();
        } else if let Some(rest) = line.strip_prefix("99%") {
            p99_ms = duration_ms(rest.trim());
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            non_2xx = rest.trim().parse().map_err(|_| bad("Non-2xx"))?;
        } else if let Some(rest) = line.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 0"
            for part in rest.split(',') {
                let n = part.split_whitespace().nth(1).and_then(|n| n.parse::<u64>().ok());
                socket_errors += n.ok_or_else(|| bad("Socket errors"))?;
            }
        } else if let Some((n, _)) = line.split_once(" requests in ") {
            requests = n.trim().parse::<u64>().ok();
        }
    }
    Ok(WrkReport {
        requests: requests.ok_or_else(|| bad("the request count"))?,
        per_second: per_second.ok_or_else(|| bad("Requests/sec"))?,
        p99_ms: p99_ms.ok_or_else(|| bad("the 99% latency"))?,
        non_2xx,
        socket_errors,
    })
}

/// wrk's durations: `812.00us`, `1.23ms`, `2.01s`, `1.50m`.
fn duration_ms(s: &str) -> Option<f64> {
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (n, unit) = s.split_at(split);
    let n: f64 = n.parse().ok()?;
    let factor = match unit.trim() {
        "us" => 0.001,
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        _ => return None,
    };
    Some(n * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
Running 2s test @ http://127.0.0.1:8080/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   812.33us  101.20us   3.10ms   90.00%
    Req/Sec    61.50k     1.20k   63.00k    75.00%
  Latency Distribution
     50%  800.00us
     75%  850.00us
     90%  900.00us
     99%    1.23ms
  122456 requests in 2.00s, 10.28MB read
Requests/sec:  61228.00
Transfer/sec:      5.14MB
";

    #[test]
    fn reads_a_clean_report() {
        let r = parse_wrk(SAMPLE).unwrap();
        assert_eq!(r.requests, 122_456);
        assert_eq!(r.per_second, 61_228.0);
        assert!((r.p99_ms - 1.23).abs() < 1e-9);
        assert_eq!((r.non_2xx, r.socket_errors), (0, 0));
    }

    #[test]
    fn reads_errors_and_units() {
        let out = format!(
            "{SAMPLE}  Non-2xx or 3xx responses: 7\n  Socket errors: connect 1, read 2, write 0, timeout 3\n"
        )
        .replace("1.23ms", "812.00us");
        let r = parse_wrk(&out).unwrap();
        assert_eq!((r.non_2xx, r.socket_errors), (7, 6));
        assert!((r.p99_ms - 0.812).abs() < 1e-9);
        assert!((duration_ms("2.01s").unwrap() - 2010.0).abs() < 1e-9);
        assert_eq!(duration_ms("junk"), None);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse_wrk("").is_err());
        assert!(parse_wrk("Requests/sec: lots\n").is_err());
    }

    #[test]
    fn response_completion() {
        let r = b"HTTP/1.1 200 OK\r\ncontent-length: 14\r\n\r\nHello, world!\n";
        assert_eq!(complete_response(r), Some(r.len()));
        assert_eq!(complete_response(&r[..r.len() - 1]), None);
        assert_eq!(complete_response(b"HTTP/1.1 200 OK\r\n"), None);
    }

    #[test]
    fn the_nginx_template_has_its_placeholder() {
        assert!(NGINX_CONF.contains("listen 127.0.0.1:@PORT@;"));
        assert!(NGINX_CONF.contains("return 200 \"Hello, world!\\n\";"));
    }
}
