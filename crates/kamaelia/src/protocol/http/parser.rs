//! The incremental request parser: bytes in, whole [`Request`]s out.
//!
//! The server appends every chunk it reads to one growing buffer and calls
//! [`Parser::next`] until it returns `None` (more bytes needed). Heads are
//! parsed with `httparse`; a `Content-Length` body is split off the buffer
//! without copying once it has all arrived, a chunked body is reassembled as
//! the chunks come. Pipelined requests in one chunk come out one by one;
//! a request split over many chunks comes out when its last byte arrives.
//! Limits are checked as bytes arrive, so the buffer never holds more than a
//! head's limit (or a body's) plus one chunk.

use bytes::{Buf, BytesMut};

use super::error::HttpError;
use super::request::{Request, Span, Version};

/// The most header fields in one request.
pub(crate) const MAX_HEADERS: usize = 100;

/// How long a chunk-size line may be (hex digits plus extensions).
const MAX_CHUNK_LINE: usize = 4096;

/// Below this many buffered bytes the head is re-parsed on every arrival (so
/// garbage is refused at once); above it, only when a blank line has come.
const RESCAN_BELOW: usize = 1024;

/// The limits the parser enforces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_header_bytes: usize,
    pub(crate) max_body_bytes: usize,
}

#[derive(Debug)]
enum Chunk {
    /// Waiting for a chunk-size line.
    Size,
    /// This many data bytes of the current chunk still to come.
    Data(usize),
    /// The CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: trailer fields up to a blank line.
    Trailers,
}

#[derive(Debug)]
enum State {
    Head,
    /// A `Content-Length` body of this many bytes.
    Sized(Box<Request>, usize),
    Chunked(Box<Request>, BytesMut, Chunk),
}

/// What parsing a head gave.
enum Head {
    /// More bytes needed.
    Need,
    /// A request without a body.
    Done(Request),
    /// A head whose body is to be read (the parser holds the request).
    Body,
}

/// See the [module docs](self).
#[derive(Debug)]
pub(crate) struct Parser {
    limits: Limits,
    state: State,
    /// How far the buffer has been searched for the end of the head.
    scanned: usize,
    /// The request being read asked for `100 Continue` and has not had it.
    continue_wanted: bool,
}

fn malformed(why: impl Into<String>) -> HttpError {
    HttpError::Malformed(why.into())
}

/// Whether `buf` holds a blank line (the end of a head) at or after `from`.
/// Stops at the first one found.
fn has_blank_line(buf: &[u8], from: usize) -> bool {
    let b = &buf[from.saturating_sub(3).min(buf.len())..];
    b.iter().enumerate().any(|(i, &c)| {
        c == b'\n'
            && (b.get(i + 1) == Some(&b'\n')
                || (b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n')))
    })
}

fn tokens(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|&b| b == b',')
        .map(|t| t.trim_ascii())
        .filter(|t| !t.is_empty())
}

impl Parser {
    pub(crate) fn new(limits: Limits) -> Self {
        Parser {
            limits,
            state: State::Head,
            scanned: 0,
            continue_wanted: false,
        }
    }

    /// Whether the parser is between requests or in a request's head.
    pub(crate) fn awaiting_head(&self) -> bool {
        matches!(self.state, State::Head)
    }

    /// True once for a request whose head asked for `100 Continue` and whose
    /// body has not all arrived: the server may send the interim response.
    pub(crate) fn take_continue(&mut self) -> bool {
        std::mem::take(&mut self.continue_wanted)
    }

    /// The next whole request in `buf` (which is consumed up to its end), or
    /// `None` if more bytes are needed. After an error the connection must be
    /// closed: the parser's place in the stream is lost.
    pub(crate) fn next(&mut self, buf: &mut BytesMut) -> Result<Option<Request>, HttpError> {
        loop {
            match &mut self.state {
                State::Head => match self.head(buf)? {
                    Head::Need => return Ok(None),
                    Head::Done(req) => return Ok(Some(req)),
                    // A body follows: keep going in the body state.
                    Head::Body => {}
                },
                State::Sized(_, n) => {
                    if buf.len() < *n {
                        return Ok(None);
                    }
                    let n = *n;
                    let State::Sized(mut req, _) = std::mem::replace(&mut self.state, State::Head) else {
                        unreachable!("matched above")
                    };
                    req.body = buf.split_to(n).freeze();
                    self.continue_wanted = false;
                    return Ok(Some(*req));
                }
                State::Chunked(_, body, phase) => {
                    if !Self::chunks(self.limits, buf, body, phase)? {
                        return Ok(None);
                    }
                    let State::Chunked(mut req, body, _) = std::mem::replace(&mut self.state, State::Head)
                    else {
                        unreachable!("matched above")
                    };
                    req.body = body.freeze();
                    self.continue_wanted = false;
                    return Ok(Some(*req));
                }
            }
        }
    }

    /// Parse a head.
    fn head(&mut self, buf: &mut BytesMut) -> Result<Head, HttpError> {
        // Blank lines before a request line are ignored (RFC 9112 2.2).
        let lead = buf.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
        if lead > 0 {
            buf.advance(lead);
            self.scanned = self.scanned.saturating_sub(lead);
        }
        if buf.is_empty() {
            return Ok(Head::Need);
        }
        if buf.len() >= RESCAN_BELOW && !has_blank_line(buf, self.scanned) {
            self.scanned = buf.len();
            return if buf.len() > self.limits.max_header_bytes {
                Err(self.too_large())
            } else {
                Ok(Head::Need)
            };
        }
        let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut fields);
        let len = match parsed.parse(buf) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => {
                self.scanned = buf.len();
                return if buf.len() > self.limits.max_header_bytes {
                    Err(self.too_large())
                } else {
                    Ok(Head::Need)
                };
            }
            Err(httparse::Error::TooManyHeaders) => return Err(self.too_large()),
            Err(e) => return Err(malformed(e.to_string())),
        };
        if len > self.limits.max_header_bytes {
            return Err(self.too_large());
        }
        self.scanned = 0;
        let whole: &[u8] = buf;
        let (Some(method), Some(target), Some(minor)) = (parsed.method, parsed.path, parsed.version) else {
            return Err(malformed("incomplete request line"));
        };
        let version = if minor == 0 {
            Version::Http10
        } else {
            Version::Http11
        };
        let method = Span::of(whole, method.as_bytes());
        let (path, query) = match target.find('?') {
            Some(q) => (&target[..q], Some(&target[q + 1..])),
            None => (target, None),
        };
        if !path.starts_with('/') && path != "*" && !path.contains("://") {
            return Err(malformed(format!("request target {target:?} is not a path")));
        }
        let path = Span::of(whole, path.as_bytes());
        let query = query.map(|q| Span::of(whole, q.as_bytes()));

        let mut headers = Vec::with_capacity(parsed.headers.len());
        let mut length: Option<usize> = None;
        let mut chunked = false;
        let mut close = false;
        let mut keep = false;
        let mut expect_continue = false;
        let mut hosts = 0;
        for h in parsed.headers.iter() {
            headers.push((Span::of(whole, h.name.as_bytes()), Span::of(whole, h.value)));
            let name = h.name;
            if name.eq_ignore_ascii_case("content-length") {
                let v = h.value.trim_ascii();
                let n = std::str::from_utf8(v)
                    .ok()
                    .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or_else(|| malformed("Content-Length is not a number"))?;
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                if length.is_some_and(|l| l != n) {
                    return Err(malformed("conflicting Content-Length headers"));
                }
                length = Some(n);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                for t in tokens(h.value) {
                    if chunked {
                        // Anything after chunked: chunked is not the last coding.
                        return Err(malformed("chunked is not the last transfer coding"));
                    }
                    if t.eq_ignore_ascii_case(b"chunked") {
                        chunked = true;
                    } else {
                        return Err(HttpError::UnsupportedTransferEncoding(
                            String::from_utf8_lossy(t).into_owned(),
                        ));
                    }
                }
            } else if name.eq_ignore_ascii_case("connection") {
                for t in tokens(h.value) {
                    close |= t.eq_ignore_ascii_case(b"close");
                    keep |= t.eq_ignore_ascii_case(b"keep-alive");
                }
            } else if name.eq_ignore_ascii_case("expect") {
                if h.value.trim_ascii().eq_ignore_ascii_case(b"100-continue") {
                    expect_continue = true;
                }
            } else if name.eq_ignore_ascii_case("host") {
                hosts += 1;
            }
        }
        if version == Version::Http11 && hosts != 1 {
            return Err(malformed("an HTTP/1.1 request needs exactly one Host header"));
        }
        if chunked && length.is_some() {
            return Err(malformed("both Transfer-Encoding and Content-Length"));
        }
        if chunked && version == Version::Http10 {
            return Err(malformed("Transfer-Encoding in an HTTP/1.0 request"));
        }
        if let Some(n) = length {
            if n > self.limits.max_body_bytes {
                return Err(HttpError::BodyTooLarge {
                    limit: self.limits.max_body_bytes,
                });
            }
        }
        let keep_alive = match version {
            Version::Http11 => !close,
            Version::Http10 => keep && !close,
        };
        let head = buf.split_to(len).freeze();
        let req = Request {
            head,
            method,
            path,
            query,
            version,
            headers,
            body: bytes::Bytes::new(),
            keep_alive,
            peer: None,
        };
        self.continue_wanted = expect_continue && version == Version::Http11;
        if chunked {
            self.state = State::Chunked(Box::new(req), BytesMut::new(), Chunk::Size);
            return Ok(Head::Body);
        }
        if let Some(n @ 1..) = length {
            self.state = State::Sized(Box::new(req), n);
            return Ok(Head::Body);
        }
        self.continue_wanted = false;
        Ok(Head::Done(req))
    }

    fn too_large(&self) -> HttpError {
        HttpError::HeaderTooLarge {
            limit: self.limits.max_header_bytes,
            max_fields: MAX_HEADERS,
        }
    }

    /// Read chunks from `buf` into `body`; true when the last chunk and the
    /// trailers have been read.
    fn chunks(
        limits: Limits,
        buf: &mut BytesMut,
        body: &mut BytesMut,
        phase: &mut Chunk,
    ) -> Result<bool, HttpError> {
        loop {
            match phase {
                Chunk::Size => match httparse::parse_chunk_size(buf) {
                    Ok(httparse::Status::Complete((used, size))) => {
                        buf.advance(used);
                        if size == 0 {
                            *phase = Chunk::Trailers;
                            continue;
                        }
                        let size = usize::try_from(size).unwrap_or(usize::MAX);
                        if size > limits.max_body_bytes.saturating_sub(body.len()) {
                            return Err(HttpError::BodyTooLarge {
                                limit: limits.max_body_bytes,
                            });
                        }
                        *phase = Chunk::Data(size);
                    }
                    Ok(httparse::Status::Partial) => {
                        if buf.len() > MAX_CHUNK_LINE {
                            return Err(malformed("chunk-size line too long"));
                        }
                        return Ok(false);
                    }
                    Err(_) => return Err(malformed("invalid chunk size")),
                },
                Chunk::Data(left) => {
                    let take = (*left).min(buf.len());
                    body.extend_from_slice(&buf[..take]);
                    buf.advance(take);
                    *left -= take;
                    if *left > 0 {
                        return Ok(false);
                    }
                    *phase = Chunk::DataEnd;
                }
                Chunk::DataEnd => {
                    if buf.len() < 2 {
                        if buf.first().is_some_and(|&b| b != b'\r') {
                            return Err(malformed("chunk data not followed by CRLF"));
                        }
                        return Ok(false);
                    }
                    if &buf[..2] != b"\r\n" {
                        return Err(malformed("chunk data not followed by CRLF"));
                    }
                    buf.advance(2);
                    *phase = Chunk::Size;
                }
                Chunk::Trailers => {
                    if buf.starts_with(b"\r\n") {
                        buf.advance(2);
                        return Ok(true);
                    }
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        // Trailer fields are read and dropped: nothing here uses them.
                        buf.advance(end + 4);
                        return Ok(true);
                    }
                    if buf.len() > limits.max_header_bytes {
                        return Err(HttpError::HeaderTooLarge {
                            limit: limits.max_header_bytes,
                            max_fields: MAX_HEADERS,
                        });
                    }
                    return Ok(false);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_header_bytes: 4096,
            max_body_bytes: 4096,
        }
    }

    const SAMPLE: &[u8] = b"GET /a?b=c HTTP/1.1\r\nHost: h\r\n\r\n\
        POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody\
        PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: 1\r\n\r\n\
        \r\nGET /last HTTP/1.0\r\n\r\n";

    /// Feed `input` in pieces ending at `cuts`; the requests (method, target,
    /// body) or the first error.
    fn run(input: &[u8], cuts: &[usize]) -> Result<Vec<(String, String, Vec<u8>)>, HttpError> {
        let mut p = Parser::new(limits());
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let mut at = 0;
        for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
            let cut = cut.clamp(at, input.len());
            buf.extend_from_slice(&input[at..cut]);
            at = cut;
            while let Some(r) = p.next(&mut buf)? {
                out.push((r.method().to_string(), r.target().to_string(), r.body().to_vec()));
            }
        }
        Ok(out)
    }

    #[test]
    fn every_split_gives_the_same_requests() {
        let whole = run(SAMPLE, &[]).unwrap();
        assert_eq!(whole.len(), 4);
        assert_eq!(whole[2].2, b"abcde");
        for i in 0..SAMPLE.len() {
            for j in (i..SAMPLE.len()).step_by(7) {
                assert_eq!(run(SAMPLE, &[i, j]).unwrap(), whole, "split at {i}, {j}");
            }
        }
        let bytewise: Vec<usize> = (0..SAMPLE.len()).collect();
        assert_eq!(run(SAMPLE, &bytewise).unwrap(), whole);
    }

    #[test]
    fn mangled_input_never_panics() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let noise = b"\r\n:; 0123456789abcdefABCDEF%/?\x00\xff\x7f-chunked";
        for _ in 0..3000 {
            let mut input = SAMPLE.to_vec();
            for _ in 0..(next() % 6) {
                let at = (next() as usize) % input.len();
                match next() % 3 {
                    0 => input[at] = noise[(next() as usize) % noise.len()],
                    1 => {
                        input.remove(at);
                    }
                    _ => input.insert(at, noise[(next() as usize) % noise.len()]),
                }
            }
            let cuts: Vec<usize> = (0..(next() % 5))
                .map(|_| (next() as usize) % input.len())
                .collect();
            let mut cuts = cuts;
            cuts.sort_unstable();
            let _ = run(&input, &cuts);
        }
    }

    #[test]
    fn limits_and_framing_errors() {
        let big = [
            b"GET / HTTP/1.1\r\nHost: h\r\nX: ".as_slice(),
            &[b'a'; 5000],
            b"\r\n\r\n",
        ]
        .concat();
        assert!(matches!(run(&big, &[]), Err(HttpError::HeaderTooLarge { .. })));
        let cl = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n\r\n";
        assert!(matches!(run(cl, &[]), Err(HttpError::BodyTooLarge { .. })));
        let two = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
        assert!(matches!(run(two, &[]), Err(HttpError::Malformed(_))));
        let same = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx";
        assert_eq!(run(same, &[]).unwrap().len(), 1);
        let te = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n";
        assert!(run(te, &[]).is_err());
        let neg = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n";
        assert!(matches!(run(neg, &[]), Err(HttpError::Malformed(_))));
        let target = b"GET nopath HTTP/1.1\r\nHost: h\r\n\r\n";
        assert!(matches!(run(target, &[]), Err(HttpError::Malformed(_))));
    }
}
