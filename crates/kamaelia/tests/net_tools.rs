//! The network examples run as processes and driven by real clients: `nc`
//! and `socat` for the echo and chat servers, `curl` for HTTP, plain sockets
//! for the proxy's byte-exact round trip, the slow reader and bad input, and
//! `/proc` for CPU and memory. Nothing here asserts a time.

mod tools;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use tools::{cpu_ticks, have, random_bytes, rss_kib, sh, Tool};

const T: Option<Duration> = Some(Duration::from_secs(20));

fn connect(tool: &Tool) -> TcpStream {
    let s = TcpStream::connect(tool.addr).expect("connect");
    s.set_read_timeout(T).unwrap();
    s.set_write_timeout(T).unwrap();
    s
}

/// Send `data` and read back as many bytes (the echo servers' check).
fn echo_round_trip(s: &mut TcpStream, data: &[u8]) -> Vec<u8> {
    s.write_all(data).unwrap();
    let mut back = vec![0; data.len()];
    s.read_exact(&mut back).unwrap();
    back
}

#[test]
fn echo_server_with_nc_and_socat() {
    if !have("nc") || !have("socat") {
        return;
    }
    let tool = Tool::start("echo_server", &["--listen", "127.0.0.1:0"]);
    let (host, port) = (tool.addr.ip().to_string(), tool.addr.port().to_string());
    let out = sh(&format!("timeout 10 nc -N {host} {port}"), b"hello, kamaelia\n");
    assert_eq!(out, b"hello, kamaelia\n");
    let data = random_bytes(1 << 20, 7);
    let out = sh(&format!("timeout 20 socat -t 10 - TCP:{host}:{port}"), &data);
    assert!(
        out == data,
        "socat got {} of {} bytes back, or different ones",
        out.len(),
        data.len()
    );
    let (ok, err) = tool.stop();
    assert!(ok, "echo_server did not stop cleanly on Ctrl-C: {err}");
}

#[test]
fn echo_server_serves_1000_concurrent_connections() {
    let tool = Tool::start("echo_server", &["--listen", "127.0.0.1:0"]);
    let mut conns: Vec<TcpStream> = (0..1000).map(|_| connect(&tool)).collect();
    for (i, c) in conns.iter_mut().enumerate() {
        c.write_all(format!("connection {i:04}\n").as_bytes()).unwrap();
    }
    for (i, c) in conns.iter_mut().enumerate() {
        let mut line = [0u8; 16];
        c.read_exact(&mut line).unwrap();
        assert_eq!(line, format!("connection {i:04}\n").as_bytes());
    }
}

#[test]
fn echo_server_half_close_instant_close_and_garbage() {
    let tool = Tool::start("echo_server", &["--listen", "127.0.0.1:0"]);
    // Connections closed at once, or after garbage, or reset.
    for i in 0..50 {
        let mut s = connect(&tool);
        if i % 2 == 0 {
            let _ = s.write_all(&random_bytes(1000, i));
        }
        drop(s);
    }
    // Half close: the echo still comes back, then EOF.
    let mut s = connect(&tool);
    s.write_all(b"last words").unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let mut back = Vec::new();
    s.read_to_end(&mut back).unwrap();
    assert_eq!(back, b"last words");
    // And the server still serves.
    let mut s = connect(&tool);
    assert_eq!(echo_round_trip(&mut s, b"still here"), b"still here");
}

#[test]
fn echo_server_slow_reader_is_bounded_and_others_are_served() {
    let tool = Tool::start("echo_server", &["--listen", "127.0.0.1:0"]);
    let before = rss_kib(tool.pid());
    // A client that sends a lot and never reads.
    let mut hog = connect(&tool);
    hog.set_nonblocking(true).unwrap();
    let chunk = vec![b'x'; 64 * 1024];
    let mut sent = 0usize;
    let mut stalled_since = None::<Instant>;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) && sent < 512 << 20 {
        match hog.write(&chunk) {
            Ok(n) => {
                sent += n;
                stalled_since = None;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                let since = *stalled_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_secs(1) {
                    break; // the server stopped taking bytes: flow control
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("write: {e}"),
        }
    }
    let grown = rss_kib(tool.pid()).saturating_sub(before);
    assert!(
        sent < 512 << 20,
        "the server took {sent} bytes from a client that never reads"
    );
    assert!(
        grown < 64 * 1024,
        "the server grew by {grown} KiB holding a slow reader's data"
    );
    // Another client is served meanwhile.
    let mut other = connect(&tool);
    assert_eq!(echo_round_trip(&mut other, b"me too"), b"me too");
    eprintln!("slow reader: server took {sent} bytes, grew {grown} KiB");
}

#[test]
fn idle_server_uses_no_cpu() {
    let tool = Tool::start("echo_server", &["--listen", "127.0.0.1:0"]);
    // One connection served and left open, then nothing for five seconds.
    let mut s = connect(&tool);
    assert_eq!(echo_round_trip(&mut s, b"ping"), b"ping");
    std::thread::sleep(Duration::from_millis(200));
    let before = cpu_ticks(tool.pid());
    std::thread::sleep(Duration::from_secs(5));
    let used = cpu_ticks(tool.pid()) - before;
    // A tick is 10 ms: an idle server should use none; allow a couple.
    assert!(used <= 2, "the idle server used {used} ticks of CPU in 5 s");
    drop(s);
}

/// A chat client: lines it hears arrive on a channel (a reader thread per
/// client, so no read ever times out half-way through a line).
struct ChatClient {
    s: TcpStream,
    heard: std::sync::mpsc::Receiver<String>,
}

impl ChatClient {
    fn connect(tool: &Tool) -> ChatClient {
        let s = connect(tool);
        let r = BufReader::new(s.try_clone().unwrap());
        let (tx, heard) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in r.lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        ChatClient { s, heard }
    }

    fn say(&mut self, line: &str) {
        self.s.write_all(format!("{line}\n").as_bytes()).unwrap();
    }

    /// Whether a line starting with `prefix` arrives within `wait`.
    fn hears(&self, prefix: &str, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.heard.recv_timeout(left) {
                Ok(l) if l.starts_with(prefix) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
        false
    }
}

#[test]
fn chat_server_lines_reach_every_other_client() {
    if !have("socat") {
        return;
    }
    let tool = Tool::start("chat_server", &["--listen", "127.0.0.1:0"]);
    let mut a = ChatClient::connect(&tool);
    let b = ChatClient::connect(&tool);
    let mut c = ChatClient::connect(&tool);
    // A subscription goes live a moment after the connection is accepted: a
    // says "ready?" until b and c have both heard it, then c until a has.
    let short = Duration::from_millis(100);
    let (mut b_live, mut c_live) = (false, false);
    for n in 0..300 {
        a.say(&format!("a: ready? {n}"));
        b_live = b_live || b.hears("a: ready?", short);
        c_live = c_live || c.hears("a: ready?", short);
        if b_live && c_live {
            break;
        }
    }
    assert!(b_live && c_live, "b or c never heard a");
    let mut a_live = false;
    for n in 0..300 {
        c.say(&format!("c: ready? {n}"));
        if a.hears("c: ready?", short) {
            a_live = true;
            break;
        }
    }
    assert!(a_live, "a never heard c");
    // Now every line reaches every other client.
    let long = Duration::from_secs(20);
    let mut b = b;
    b.say("b: hello from b");
    assert!(c.hears("b: hello from b", long));
    assert!(a.hears("b: hello from b", long));
    c.say("c: hello from c");
    assert!(a.hears("c: hello from c", long));
    assert!(b.hears("c: hello from c", long));
    // socat as a client: its line reaches a, not itself.
    let (host, port) = (tool.addr.ip().to_string(), tool.addr.port().to_string());
    let own = sh(
        &format!("timeout 10 socat -t 1 - TCP:{host}:{port}"),
        b"s: from socat\n",
    );
    assert!(a.hears("s: from socat", long));
    assert!(
        !String::from_utf8_lossy(&own).contains("s: from socat"),
        "socat heard itself"
    );
    drop((a, b, c));
    let (ok, err) = tool.stop();
    assert!(ok, "chat_server did not stop cleanly: {err}");
}

#[test]
fn proxy_relays_8_mb_byte_exact_and_closes_on_refused_upstream() {
    let upstream = Tool::start("echo_server", &["--listen", "127.0.0.1:0"]);
    let to = upstream.addr.to_string();
    let proxy = Tool::start("proxy", &["--listen", "127.0.0.1:0", "--to", &to]);
    let data = random_bytes(8 << 20, 42);
    let mut s = connect(&proxy);
    let mut w = s.try_clone().unwrap();
    let send = data.clone();
    let writer = std::thread::spawn(move || {
        w.write_all(&send).unwrap();
        w.shutdown(Shutdown::Write).unwrap();
    });
    let mut back = Vec::new();
    s.read_to_end(&mut back).unwrap();
    writer.join().unwrap();
    assert!(
        back == data,
        "got {} of {} bytes back, or different ones",
        back.len(),
        data.len()
    );

    // An upstream that refuses: the client's connection is closed.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let proxy2 = Tool::start("proxy", &["--listen", "127.0.0.1:0", "--to", &dead]);
    let mut s = connect(&proxy2);
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf); // EOF or reset, not a hang
    assert!(buf.is_empty());
    let (ok, err) = proxy2.stop();
    assert!(ok, "{err}");
    assert!(
        err.contains("could not connect"),
        "the refused upstream is logged: {err}"
    );
}

/// Read one HTTP response (head and Content-Length body) from `r`.
fn read_response(r: &mut BufReader<TcpStream>) -> (String, Vec<u8>) {
    let mut head = String::new();
    loop {
        let mut l = String::new();
        r.read_line(&mut l).unwrap();
        assert!(!l.is_empty(), "connection closed mid-response: {head}");
        head.push_str(&l);
        if l == "\r\n" {
            break;
        }
    }
    let len = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_string())
        })
        .map_or(0, |v| v.parse().unwrap());
    let mut body = vec![0; len];
    r.read_exact(&mut body).unwrap();
    (head, body)
}

#[test]
fn http_server_with_curl_keep_alive_chunked_404_and_traversal() {
    if !have("curl") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("kamaelia-http-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("index.html"), "<h1>hi</h1>\n").unwrap();
    std::fs::write(dir.join("sub/data.txt"), "some data\n").unwrap();
    let files = Tool::start(
        "http_server",
        &["--listen", "127.0.0.1:0", "--dir", dir.to_str().unwrap()],
    );
    let base = format!("http://{}", files.addr);
    // Two requests on one connection (curl reuses it).
    let out = sh(
        &format!("timeout 10 curl -sv {base}/ {base}/sub/data.txt 2>&1"),
        b"",
    );
    let out = String::from_utf8_lossy(&out);
    assert!(out.contains("<h1>hi</h1>") && out.contains("some data"), "{out}");
    assert!(
        out.contains("Re-using existing connection") || out.contains("Reusing existing connection"),
        "curl did not keep the connection alive: {out}"
    );
    let code = |url: &str, extra: &str| {
        String::from_utf8(sh(
            &format!("timeout 10 curl -s -o /dev/null -w '%{{http_code}}' {extra} '{url}'"),
            b"",
        ))
        .unwrap()
    };
    assert_eq!(code(&format!("{base}/nope.txt"), ""), "404");
    assert_eq!(code(&format!("{base}/../../etc/passwd"), "--path-as-is"), "403");
    assert_eq!(
        code(&format!("{base}/%2e%2e/%2e%2e/etc/passwd"), "--path-as-is"),
        "403"
    );

    // The hello/echo server: a chunked upload comes back whole.
    let app = Tool::start("http_server", &["--listen", "127.0.0.1:0"]);
    let body = random_bytes(300_000, 3);
    let path = dir.join("upload.bin");
    std::fs::write(&path, &body).unwrap();
    let back = sh(
        &format!(
            "timeout 10 curl -s -H 'Transfer-Encoding: chunked' --data-binary @{} http://{}/echo",
            path.display(),
            app.addr
        ),
        b"",
    );
    assert!(
        back == body,
        "the chunked upload came back as {} bytes",
        back.len()
    );

    // Three pipelined requests in one write, answered in order.
    let mut s = connect(&app);
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /missing HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut r = BufReader::new(s);
    let statuses: Vec<String> = (0..3)
        .map(|_| read_response(&mut r).0.lines().next().unwrap().to_string())
        .collect();
    assert_eq!(
        statuses,
        ["HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found", "HTTP/1.1 200 OK"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn http_server_bad_input_closes_only_that_connection() {
    let app = Tool::start(
        "http_server",
        &["--listen", "127.0.0.1:0", "--header-timeout", "1"],
    );
    let status_of = |req: &[u8]| {
        let mut s = connect(&app);
        let _ = s.write_all(req);
        let mut all = Vec::new();
        let _ = s.read_to_end(&mut all); // the server closes after answering
        String::from_utf8_lossy(&all)
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(status_of(b"GARBAGE\r\n\r\n"), "HTTP/1.1 400 Bad Request");
    let mut big = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 64 * 1024));
    big.extend_from_slice(b"\r\n\r\n");
    assert!(status_of(&big).starts_with("HTTP/1.1 431"));
    // Slowloris: half a request, then nothing: 408 and closed.
    let mut slow = connect(&app);
    slow.write_all(b"GET / HTTP/1.1\r\nHo").unwrap();
    // Meanwhile others are served.
    let mut ok = connect(&app);
    ok.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let (head, body) = read_response(&mut BufReader::new(ok));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, b"Hello, world!\n");
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    assert!(
        String::from_utf8_lossy(&rest).starts_with("HTTP/1.1 408"),
        "slowloris got {rest:?}"
    );
}
