//! `net_load`: the load side of `bench net`, one process per run, pinned by
//! the harness to its own CPU. Each mode prints one result line on stdout
//! (`ok ...`, or `error <why>` with a non-zero exit) that the harness parses
//! and verifies:
//!
//! - `echo --to ADDR --conns 100 --size 64 --secs S`: each connection sends
//!   a message, waits for all of it back (checked byte by byte), and
//!   repeats until `S` seconds are up; one thread over `mio`, so the load
//!   generator itself needs little CPU. Prints `ok <round trips> <ns>`.
//! - `hold --to ADDR --conns N`: opens N connections, does one 1-byte round
//!   trip on each (so the server has surely accepted it), prints
//!   `ready <N>`, and keeps them open until stdin closes. For the memory row.
//! - `stream --to ADDR --bytes N`: sends N bytes, half-closes, and waits for
//!   the sink's count. Prints `ok <count the sink saw> <ns>`.
//! - `sink --listen ADDR`: prints `listening on <ADDR>`, then per connection
//!   counts bytes to end of stream and answers `<count>\n`.
//! - `count`: counts stdin to end of file, checks every byte is zero (the
//!   input is `/dev/zero`). Prints `ok <count> <ns from first byte to EOF>`
//!   (`ok 0 0` for empty input).
//!
//! Every loop is bounded in time (deadlines and socket timeouts) and count.

use std::io::{self, BufRead, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use mio::net::TcpStream as MioStream;
use mio::{Events, Interest, Poll, Token};

#[derive(Parser)]
#[command(about = "Load generator, sink and counter of `bench net`")]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Echo round trips on many connections for a fixed time.
    Echo {
        #[arg(long)]
        to: SocketAddr,
        #[arg(long, default_value_t = 100)]
        conns: usize,
        /// Message size in bytes.
        #[arg(long, default_value_t = 64)]
        size: usize,
        #[arg(long, default_value_t = 5.0)]
        secs: f64,
        /// Stop after this many round trips in all, even if time is left.
        #[arg(long, default_value_t = 1_000_000_000)]
        max: u64,
    },
    /// Open N connections, prove each accepted, hold them until stdin closes.
    Hold {
        #[arg(long)]
        to: SocketAddr,
        #[arg(long)]
        conns: usize,
        /// Give up holding after this long even if stdin stays open.
        #[arg(long, default_value_t = 600)]
        max_secs: u64,
    },
    /// Send N bytes, half-close, read back the sink's count.
    Stream {
        #[arg(long)]
        to: SocketAddr,
        #[arg(long)]
        bytes: u64,
    },
    /// Count bytes per connection and answer the count.
    Sink {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// Exit after this many connections.
        #[arg(long, default_value_t = 10_000)]
        max_conns: u64,
    },
    /// Count stdin (all zero bytes) to end of file.
    Count,
}

/// Longest wait for any single socket operation before the run fails.
const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// Connect timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let result = match Cli::parse().mode {
        Mode::Echo {
            to,
            conns,
            size,
            secs,
            max,
        } => echo(to, conns, size.max(1), Duration::from_secs_f64(secs), max),
        Mode::Hold { to, conns, max_secs } => hold(to, conns, Duration::from_secs(max_secs)),
        Mode::Stream { to, bytes } => stream(to, bytes),
        Mode::Sink { listen, max_conns } => sink(listen, max_conns),
        Mode::Count => count(),
    };
    match result {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(why) => {
            println!("error {why}");
            ExitCode::FAILURE
        }
    }
}

fn connect(to: SocketAddr) -> Result<TcpStream, String> {
    let s = TcpStream::connect_timeout(&to, CONNECT_TIMEOUT).map_err(|e| format!("connect {to}: {e}"))?;
    s.set_read_timeout(Some(IO_TIMEOUT))
        .and_then(|()| s.set_write_timeout(Some(IO_TIMEOUT)))
        .map_err(|e| format!("socket options: {e}"))?;
    Ok(s)
}

// ---------------------------------------------------------------------------
// echo

/// One echo connection's state.
struct Conn {
    stream: MioStream,
    id: u32,
    seq: u64,
    msg: Vec<u8>,
    back: Vec<u8>,
    sent: usize,
    got: usize,
    /// A message is out and not all of it has come back.
    busy: bool,
}

impl Conn {
    /// Fill the message for (id, seq): both numbers, then a pattern that
    /// depends on them, so a byte from another connection or an earlier
    /// message cannot pass the check.
    fn next_message(&mut self) {
        let n = self.msg.len();
        for (i, b) in self.msg.iter_mut().enumerate() {
            *b = (self.id as u64)
                .wrapping_mul(31)
                .wrapping_add(self.seq.wrapping_mul(7))
                .wrapping_add(i as u64) as u8;
        }
        let head = self.id.to_le_bytes().into_iter().chain(self.seq.to_le_bytes());
        for (slot, b) in self.msg.iter_mut().zip(head).take(n) {
            *slot = b;
        }
        self.sent = 0;
        self.got = 0;
        self.busy = true;
    }

    /// Make as much progress as the socket allows. Returns the round trips
    /// completed; starts new ones only while `go()` says so.
    fn drive(&mut self, go: &mut dyn FnMut() -> bool) -> Result<u64, String> {
        let mut done = 0;
        loop {
            if !self.busy {
                if !go() {
                    return Ok(done);
                }
                self.next_message();
            }
            while self.sent < self.msg.len() {
                match self.stream.write(&self.msg[self.sent..]) {
                    Ok(0) => return Err(format!("connection {}: write returned 0", self.id)),
                    Ok(n) => self.sent += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(done),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(format!("connection {}: write: {e}", self.id)),
                }
            }
            while self.got < self.sent {
                match self.stream.read(&mut self.back[self.got..self.sent]) {
                    Ok(0) => {
                        return Err(format!(
                            "connection {}: server closed after {} round trips",
                            self.id, self.seq
                        ))
                    }
                    Ok(n) => {
                        let range = self.got..self.got + n;
                        if self.back[range.clone()] != self.msg[range] {
                            return Err(format!(
                                "connection {}: round trip {}: echoed bytes differ from those sent",
                                self.id, self.seq
                            ));
                        }
                        self.got += n;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(done),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(format!("connection {}: read: {e}", self.id)),
                }
            }
            self.busy = false;
            self.seq += 1;
            done += 1;
        }
    }
}

fn echo(to: SocketAddr, conns: usize, size: usize, secs: Duration, max: u64) -> Result<String, String> {
    let mut poll = Poll::new().map_err(|e| format!("epoll: {e}"))?;
    let mut all = Vec::with_capacity(conns);
    for i in 0..conns {
        let s = connect(to)?;
        s.set_nodelay(true)
            .and_then(|()| s.set_nonblocking(true))
            .map_err(|e| format!("socket options: {e}"))?;
        let mut stream = MioStream::from_std(s);
        poll.registry()
            .register(&mut stream, Token(i), Interest::READABLE | Interest::WRITABLE)
            .map_err(|e| format!("epoll register: {e}"))?;
        all.push(Conn {
            stream,
            id: i as u32,
            seq: 0,
            msg: vec![0; size],
            back: vec![0; size],
            sent: 0,
            got: 0,
            busy: false,
        });
    }
    let start = Instant::now();
    let deadline = start + secs;
    // However the server behaves, the run ends by then.
    let hard_stop = deadline + IO_TIMEOUT;
    let mut total = 0u64;
    let go = |total: u64| total < max && Instant::now() < deadline;
    for c in &mut all {
        total += c.drive(&mut || go(total))?;
    }
    let mut events = Events::with_capacity(1024);
    let mut last_progress = Instant::now();
    loop {
        if !go(total) && all.iter().all(|c| !c.busy) {
            break;
        }
        let now = Instant::now();
        if now > hard_stop || now.duration_since(last_progress) > IO_TIMEOUT {
            let waiting = all.iter().filter(|c| c.busy).count();
            return Err(format!(
                "no echo for {} s on {waiting} connection(s) ({total} round trips done)",
                now.duration_since(last_progress).as_secs()
            ));
        }
        match poll.poll(&mut events, Some(Duration::from_millis(100))) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("epoll wait: {e}")),
        }
        for ev in events.iter() {
            let Some(c) = all.get_mut(ev.token().0) else {
                continue;
            };
            let n = c.drive(&mut || go(total))?;
            if n > 0 {
                last_progress = Instant::now();
            }
            total += n;
        }
    }
    let elapsed = start.elapsed();
    Ok(format!("ok {total} {}", elapsed.as_nanos()))
}

// ---------------------------------------------------------------------------
// hold

fn hold(to: SocketAddr, conns: usize, max: Duration) -> Result<String, String> {
    raise_nofile(conns as u64 + 64);
    let mut held = Vec::with_capacity(conns);
    for i in 0..conns {
        let mut s = connect(to).map_err(|e| format!("connection {i}: {e}"))?;
        let b = [(i % 251) as u8];
        s.write_all(&b)
            .map_err(|e| format!("connection {i}: write: {e}"))?;
        let mut back = [0u8];
        s.read_exact(&mut back)
            .map_err(|e| format!("connection {i}: no echo: {e}"))?;
        if back != b {
            return Err(format!("connection {i}: echoed {back:?}, sent {b:?}"));
        }
        held.push(s);
    }
    let mut out = io::stdout().lock();
    writeln!(out, "ready {}", held.len()).map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    drop(out);
    // Hold until the harness closes our stdin (or the time bound passes).
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = io::stdin().lock().read_until(b'\0', &mut sink);
        let _ = tx.send(());
    });
    let _ = rx.recv_timeout(max);
    Ok(format!("ok {}", held.len()))
}

/// Raise the soft open-file limit towards `want` (up to the hard limit).
fn raise_nofile(want: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read or write the rlimit struct we
    // pass, which lives on this stack frame for the duration of the call.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < want {
            lim.rlim_cur = want.min(lim.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

// ---------------------------------------------------------------------------
// stream and sink

/// Zeros to send; large writes keep the sender's system-call count low.
const CHUNK: usize = 256 * 1024;

fn stream(to: SocketAddr, bytes: u64) -> Result<String, String> {
    let mut s = connect(to)?;
    let buf = vec![0u8; CHUNK];
    let start = Instant::now();
    let mut left = bytes;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        s.write_all(&buf[..n])
            .map_err(|e| format!("write after {} bytes: {e}", bytes - left))?;
        left -= n as u64;
    }
    s.shutdown(Shutdown::Write)
        .map_err(|e| format!("half close: {e}"))?;
    let mut reply = String::new();
    (&mut s)
        .take(64)
        .read_to_string(&mut reply)
        .map_err(|e| format!("waiting for the sink's count (does the proxy pass a half close on?): {e}"))?;
    let elapsed = start.elapsed();
    let seen: u64 = reply.trim().parse().map_err(|_| {
        format!("the sink's reply is not a count: {reply:?} (connection closed without one?)")
    })?;
    Ok(format!("ok {seen} {}", elapsed.as_nanos()))
}

fn sink(listen: SocketAddr, max_conns: u64) -> Result<String, String> {
    let listener = TcpListener::bind(listen).map_err(|e| format!("bind {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {addr}").map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    drop(out);
    for _ in 0..max_conns {
        let (s, peer) = match listener.accept() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("net_load sink: accept: {e}");
                continue;
            }
        };
        std::thread::spawn(move || {
            if let Err(e) = sink_one(s) {
                eprintln!("net_load sink: {peer}: {e}");
            }
        });
    }
    Ok(format!("ok {max_conns}"))
}

fn sink_one(mut s: TcpStream) -> io::Result<()> {
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut buf = vec![0u8; CHUNK];
    let mut seen = 0u64;
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => seen += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    s.write_all(format!("{seen}\n").as_bytes())?;
    s.shutdown(Shutdown::Write)
}

// ---------------------------------------------------------------------------
// count

fn count() -> Result<String, String> {
    let mut stdin = io::stdin().lock();
    let mut buf = vec![0u8; CHUNK];
    let mut seen = 0u64;
    let mut first: Option<Instant> = None;
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("read stdin after {seen} bytes: {e}")),
        };
        first.get_or_insert_with(Instant::now);
        if buf[..n].iter().any(|&b| b != 0) {
            return Err(format!(
                "a non-zero byte within bytes {seen}..{}",
                seen + n as u64
            ));
        }
        seen += n as u64;
    }
    let ns = first.map_or(0, |t| t.elapsed().as_nanos());
    Ok(format!("ok {seen} {ns}"))
}
