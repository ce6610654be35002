//! [`Request`]: one parsed HTTP request, as a handler sees it.
//!
//! The request line and headers are kept as the bytes that arrived (one
//! reference-counted buffer, no copy) with the positions of each part, so
//! making a `Request` costs one small allocation for the header index, and the
//! accessors hand out `&str` / `&[u8]` views. The body is a [`Bytes`]: the
//! received bytes for a `Content-Length` body, the reassembled data for a
//! chunked one.

use std::fmt;
use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};

use super::error::HttpError;
use super::parser::{Limits, Parser};

/// The HTTP version of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// HTTP/1.0: the connection closes after each response unless the client
    /// asks for `Connection: keep-alive`.
    Http10,
    /// HTTP/1.1: the connection stays open unless either side says
    /// `Connection: close`.
    Http11,
}

impl Version {
    /// `"HTTP/1.0"` or `"HTTP/1.1"`.
    ///
    /// ```
    /// assert_eq!(kamaelia::protocol::http::Version::Http11.as_str(), "HTTP/1.1");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a part lies in the head buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Span {
    /// The span of `part`, a slice of `whole`.
    pub(crate) fn of(whole: &[u8], part: &[u8]) -> Span {
        let start = part.as_ptr() as usize - whole.as_ptr() as usize;
        Span {
            start,
            end: start + part.len(),
        }
    }
}

/// One HTTP request: method, target (path and query), version, headers and
/// the whole body.
///
/// ```
/// use kamaelia::protocol::http::{Request, Version};
/// let req = Request::parse(b"GET /a/b?x=1 HTTP/1.1\r\nHost: example\r\n\r\n")?;
/// assert_eq!(req.method(), "GET");
/// assert_eq!(req.path(), "/a/b");
/// assert_eq!(req.query(), Some("x=1"));
/// assert_eq!(req.version(), Version::Http11);
/// assert_eq!(req.header("host"), Some("example"));
/// assert!(req.body().is_empty());
/// assert!(req.keep_alive());
/// # Ok::<(), kamaelia::protocol::http::HttpError>(())
/// ```
#[derive(Clone)]
pub struct Request {
    pub(crate) head: Bytes,
    pub(crate) method: Span,
    pub(crate) path: Span,
    pub(crate) query: Option<Span>,
    pub(crate) version: Version,
    pub(crate) headers: Vec<(Span, Span)>,
    pub(crate) body: Bytes,
    pub(crate) keep_alive: bool,
    pub(crate) peer: Option<SocketAddr>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method())
            .field("path", &self.path())
            .field("query", &self.query())
            .field("version", &self.version)
            .field("headers", &self.headers.len())
            .field("body", &self.body.len())
            .field("peer", &self.peer)
            .finish()
    }
}

impl Request {
    /// Parse one complete request (head and body) with the default limits of
    /// [`HttpConfig`](super::HttpConfig). For tests and tools; the server
    /// parses incrementally.
    ///
    /// ```
    /// use kamaelia::protocol::http::{HttpError, Request};
    /// let r = Request::parse(b"POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc")?;
    /// assert_eq!(&r.body()[..], b"abc");
    /// assert!(matches!(Request::parse(b"GET / HTTP/1.1\r\n"), Err(HttpError::Malformed(_))));
    /// # Ok::<(), HttpError>(())
    /// ```
    pub fn parse(bytes: &[u8]) -> Result<Request, HttpError> {
        let d = super::HttpConfig::default();
        let mut parser = Parser::new(Limits {
            max_header_bytes: d.max_header_bytes,
            max_body_bytes: d.max_body_bytes,
        });
        let mut buf = BytesMut::from(bytes);
        match parser.next(&mut buf)? {
            Some(r) => Ok(r),
            None => Err(HttpError::Malformed("incomplete request".into())),
        }
    }

    fn str_at(&self, s: Span) -> &str {
        // Checked to be UTF-8 (ASCII for tokens) when the request was parsed.
        std::str::from_utf8(&self.head[s.start..s.end]).unwrap_or("")
    }

    /// The method, as sent (`GET`, `POST`, ...; methods are case-sensitive).
    pub fn method(&self) -> &str {
        self.str_at(self.method)
    }

    /// Whether this is a `HEAD` request (the server sends headers only).
    pub fn is_head(&self) -> bool {
        self.method() == "HEAD"
    }

    /// The request target as sent: path and `?query`, still percent-encoded.
    pub fn target(&self) -> &str {
        let end = self.query.map_or(self.path.end, |q| q.end);
        self.str_at(Span {
            start: self.path.start,
            end,
        })
    }

    /// The path part of the target, still percent-encoded.
    pub fn path(&self) -> &str {
        self.str_at(self.path)
    }

    /// The query (after `?`), if any, still percent-encoded.
    pub fn query(&self) -> Option<&str> {
        self.query.map(|q| self.str_at(q))
    }

    /// HTTP/1.0 or HTTP/1.1.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The first header named `name` (any case), if its value is UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_bytes(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The first header named `name` (any case), as bytes.
    pub fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Every header, in order: `(name as sent, value)`.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.headers
            .iter()
            .map(|&(n, v)| (self.str_at(n), &self.head[v.start..v.end]))
    }

    /// The body (empty if none was sent).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Whether the connection stays open after this request's response (the
    /// HTTP/1.1 and HTTP/1.0 rules applied to its `Connection` header).
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// The peer's address, if the server was told it.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }
}
