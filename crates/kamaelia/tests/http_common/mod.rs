//! Test helpers for the HTTP protocol component: run one connection's
//! component on a system, feed it bytes through a `Handle`, and split what it
//! writes back into responses.
#![allow(dead_code)]

use std::time::Duration;

use axon::{Handle, RecvTimeoutError, RunningSystem, Signal, System};
use bytes::Bytes;
use kamaelia::protocol::http::HttpServer;

/// How long any single wait may take before the test fails (a bound, not a
/// timing assertion).
pub const WAIT: Duration = Duration::from_secs(20);

/// One connection: the protocol component and what it has written so far.
pub struct Conn {
    pub h: Handle<Bytes, Bytes>,
    pub got: Vec<u8>,
    /// Where the next unparsed response starts in `got`.
    pub at: usize,
    pub closed: bool,
}

/// A started system (one worker).
pub fn system() -> RunningSystem {
    System::builder().threads(1).build().start()
}

impl Conn {
    pub fn open(sys: &RunningSystem, server: &HttpServer) -> Conn {
        Conn {
            h: Handle::spawn(sys.system(), server.build(None)).expect("spawn"),
            got: Vec::new(),
            at: 0,
            closed: false,
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.h
            .send_blocking(Bytes::copy_from_slice(bytes))
            .expect("the component takes input");
    }

    /// The peer has finished sending.
    pub fn eof(&mut self) {
        self.h.send_control(Signal::ProducerFinished).expect("control");
    }

    /// Take one more chunk of output; false once the component has ended.
    fn pull(&mut self) -> bool {
        match self.h.recv_timeout(WAIT) {
            Ok(b) => {
                self.got.extend_from_slice(&b);
                true
            }
            Err(RecvTimeoutError::Closed) => {
                self.closed = true;
                false
            }
            Err(RecvTimeoutError::Timeout) => panic!(
                "no output in {WAIT:?}; so far: {:?}",
                String::from_utf8_lossy(&self.got)
            ),
        }
    }

    /// The next response (for a request that was not HEAD).
    pub fn response(&mut self) -> Resp {
        self.response_to(false)
    }

    /// The next response; `head`: it answers a HEAD request (no body).
    pub fn response_to(&mut self, head: bool) -> Resp {
        loop {
            if let Some((r, used)) = parse_response(&self.got[self.at..], head) {
                self.at += used;
                return r;
            }
            if !self.pull() {
                panic!(
                    "the component ended before a whole response; got {:?}",
                    String::from_utf8_lossy(&self.got[self.at..])
                );
            }
        }
    }

    /// Everything until the component ends; then its signal.
    pub fn rest(&mut self) -> (Vec<u8>, Signal) {
        while self.pull() {}
        let rest = self.got[self.at..].to_vec();
        self.at = self.got.len();
        let sig = self.h.recv_signal_timeout(WAIT).expect("a signal when it ends");
        (rest, sig)
    }

    /// Wait for the component to end with nothing more written, and return
    /// its signal.
    pub fn ends(&mut self) -> Signal {
        let (rest, sig) = self.rest();
        assert!(
            rest.is_empty(),
            "unexpected output: {:?}",
            String::from_utf8_lossy(&rest)
        );
        sig
    }
}

/// One parsed response.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub chunked: bool,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// Parse one whole response off the front of `b`: the response and the bytes
/// it took, or `None` if it is not all there.
pub fn parse_response(b: &[u8], head: bool) -> Option<(Resp, usize)> {
    let mut hs = [httparse::EMPTY_HEADER; 64];
    let mut r = httparse::Response::new(&mut hs);
    let n = match r.parse(b).expect("a valid response head") {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return None,
    };
    let status = r.code.unwrap();
    let headers: Vec<(String, String)> = r
        .headers
        .iter()
        .map(|h| (h.name.to_string(), String::from_utf8(h.value.to_vec()).unwrap()))
        .collect();
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    if head || status == 204 || status == 304 || (100..200).contains(&status) {
        return Some((
            Resp {
                status,
                headers,
                body: Vec::new(),
                chunked: false,
            },
            n,
        ));
    }
    if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut at = n;
        let mut body = Vec::new();
        loop {
            let (used, size) = match httparse::parse_chunk_size(&b[at..]).expect("valid chunk size") {
                httparse::Status::Complete(x) => x,
                httparse::Status::Partial => return None,
            };
            at += used;
            let size = size as usize;
            if size == 0 {
                if b.len() < at + 2 {
                    return None;
                }
                assert_eq!(&b[at..at + 2], b"\r\n", "no trailers expected");
                at += 2;
                return Some((
                    Resp {
                        status,
                        headers,
                        body,
                        chunked: true,
                    },
                    at,
                ));
            }
            if b.len() < at + size + 2 {
                return None;
            }
            body.extend_from_slice(&b[at..at + size]);
            assert_eq!(&b[at + size..at + size + 2], b"\r\n");
            at += size + 2;
        }
    }
    let len: usize = find("content-length").expect("a length").parse().unwrap();
    if b.len() < n + len {
        return None;
    }
    Some((
        Resp {
            status,
            headers,
            body: b[n..n + len].to_vec(),
            chunked: false,
        },
        n + len,
    ))
}

/// A fresh empty directory under the system temp dir.
pub fn temp_dir(tag: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "kamaelia-http-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
