//! [`Response`] and [`ResponsePart`]: what handlers give back, and how it is
//! written on the wire.
//!
//! A handler function returns a whole [`Response`]. A handler component sends
//! [`ResponsePart`]s on its `outbox`: one [`Whole`](ResponsePart::Whole)
//! response, or a [`Head`](ResponsePart::Head) followed by
//! [`Body`](ResponsePart::Body) chunks and [`End`](ResponsePart::End) (ending
//! the component also ends the body). The server frames the body: with
//! `Content-Length` for a whole response, or for a streamed one whose head
//! sets it; otherwise `Transfer-Encoding: chunked` (HTTP/1.1 clients) or the
//! end of the connection (HTTP/1.0 clients).

use std::borrow::Cow;
use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};

type Text = Cow<'static, str>;

/// An HTTP response: status, headers and body.
///
/// Built with the constructors and `with_*` helpers; names and values given
/// as `&'static str` are not copied. The server adds `Content-Length` (or
/// chunked framing), `Connection`, and by default `Date` and `Server`; a
/// `Content-Length` or `Transfer-Encoding` set here on a whole response is
/// replaced by the real length.
///
/// ```
/// use kamaelia::protocol::http::Response;
/// let r = Response::text(200, "hi\n").with_header("Cache-Control", "no-store");
/// assert_eq!(r.status(), 200);
/// assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
/// assert_eq!(r.header("cache-control"), Some("no-store"));
/// assert_eq!(&r.body()[..], b"hi\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    content_type: Option<Text>,
    headers: Vec<(Text, Text)>,
    body: Bytes,
}

impl Response {
    /// A response with this status, no headers and no body.
    pub fn new(status: u16) -> Self {
        Response {
            status,
            content_type: None,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// `200 OK` with no body.
    pub fn ok() -> Self {
        Response::new(200)
    }

    /// A `text/plain; charset=utf-8` response.
    pub fn text(status: u16, body: impl Into<Bytes>) -> Self {
        Response::new(status)
            .with_content_type("text/plain; charset=utf-8")
            .with_body(body)
    }

    /// A `text/html; charset=utf-8` response.
    pub fn html(status: u16, body: impl Into<Bytes>) -> Self {
        Response::new(status)
            .with_content_type("text/html; charset=utf-8")
            .with_body(body)
    }

    /// A short plain-text error page, e.g. `404 Not Found\n`.
    ///
    /// ```
    /// use kamaelia::protocol::http::Response;
    /// assert_eq!(&Response::error(404).body()[..], b"404 Not Found\n");
    /// ```
    pub fn error(status: u16) -> Self {
        Response::text(status, format!("{status} {}\n", reason(status)))
    }

    /// Change the status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Add a header (a second one with the same name is sent as well).
    /// `Content-Type` goes to [`with_content_type`](Self::with_content_type).
    pub fn with_header(mut self, name: impl Into<Text>, value: impl Into<Text>) -> Self {
        let name = name.into();
        if name.eq_ignore_ascii_case("content-type") {
            self.content_type = Some(value.into());
        } else {
            self.headers.push((name, value.into()));
        }
        self
    }

    /// Set the `Content-Type`.
    pub fn with_content_type(mut self, content_type: impl Into<Text>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Set the body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The `Content-Type`, if set.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The first header named `name` (any case), `Content-Type` included.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Every header set on it, `Content-Type` first.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.content_type
            .as_deref()
            .map(|v| ("Content-Type", v))
            .into_iter()
            .chain(self.headers.iter().map(|(n, v)| (&**n, &**v)))
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Take the body out (leaving it empty).
    pub(crate) fn take_body(&mut self) -> Bytes {
        std::mem::take(&mut self.body)
    }

    /// Whether every header name is a token and no value holds CR, LF or NUL
    /// (so a header cannot inject another, or end the head early).
    pub(crate) fn headers_valid(&self) -> bool {
        let token = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        };
        let value = |s: &str| !s.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0);
        self.headers().all(|(n, v)| token(n) && value(v)) && (100..=999).contains(&self.status)
    }
}

/// One message from a handler component, sent on its `outbox`: one
/// [`Whole`](ResponsePart::Whole) response, or a [`Head`](ResponsePart::Head)
/// followed by [`Body`](ResponsePart::Body) chunks and [`End`](ResponsePart::End)
/// (the component ending does the same as `End`). A streamed body goes out
/// with the head's `Content-Length` if it sets one, otherwise chunked
/// (HTTP/1.1 clients) or delimited by closing the connection (HTTP/1.0).
///
/// ```
/// use kamaelia::protocol::http::{Response, ResponsePart};
/// let part: ResponsePart = Response::text(200, "done").into();
/// assert!(matches!(part, ResponsePart::Whole(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponsePart {
    /// A complete response; nothing more is read from the handler.
    Whole(Response),
    /// Status and headers; the response's body (if any) is the first body
    /// chunk, [`Body`](ResponsePart::Body) parts follow. If the head sets
    /// `Content-Length`, exactly that many body bytes must follow (fewer or
    /// more and the connection is closed, since the client could not tell
    /// where the response ends).
    Head(Response),
    /// More of the body.
    Body(Bytes),
    /// The body is complete (the handler ending does the same).
    End,
}

impl From<Response> for ResponsePart {
    fn from(r: Response) -> Self {
        ResponsePart::Whole(r)
    }
}

/// The reason phrase of a status code (`"Not Found"` for 404; `""` if unknown).
///
/// ```
/// assert_eq!(kamaelia::protocol::http::reason(431), "Request Header Fields Too Large");
/// ```
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// How a response body is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// No length: the body ends when the connection closes.
    UntilClose,
    /// No body at all and no length header (1xx, 204, 304).
    None,
}

/// What the server adds to every head.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeadOptions<'a> {
    pub(crate) server: Option<&'a str>,
    pub(crate) date: bool,
    /// `Some(true)`: `Connection: close`; `Some(false)`: `Connection:
    /// keep-alive` (for HTTP/1.0 clients); `None`: nothing.
    pub(crate) connection: Option<bool>,
}

/// Whether a status never has a body.
pub(crate) fn bodiless(status: u16) -> bool {
    (100..200).contains(&status) || status == 204 || status == 304
}

/// Whether the user's header is one the server writes itself.
fn framing_header(name: &str) -> bool {
    name.eq_ignore_ascii_case("content-length")
        || name.eq_ignore_ascii_case("transfer-encoding")
        || name.eq_ignore_ascii_case("connection")
}

/// Write the status line and headers of `r`, ending with the blank line.
pub(crate) fn write_head(out: &mut BytesMut, r: &Response, framing: Framing, opts: HeadOptions<'_>) {
    out.put_slice(b"HTTP/1.1 ");
    put_u64(out, u64::from(r.status));
    out.put_u8(b' ');
    out.put_slice(reason(r.status).as_bytes());
    out.put_slice(b"\r\n");
    let mut has_date = false;
    let mut has_server = false;
    for (n, v) in r.headers() {
        if framing_header(n) {
            continue;
        }
        has_date |= n.eq_ignore_ascii_case("date");
        has_server |= n.eq_ignore_ascii_case("server");
        out.put_slice(n.as_bytes());
        out.put_slice(b": ");
        out.put_slice(v.as_bytes());
        out.put_slice(b"\r\n");
    }
    if let (Some(s), false) = (opts.server, has_server) {
        out.put_slice(b"Server: ");
        out.put_slice(s.as_bytes());
        out.put_slice(b"\r\n");
    }
    if opts.date && !has_date {
        out.put_slice(b"Date: ");
        out.put_slice(&http_date_now());
        out.put_slice(b"\r\n");
    }
    match framing {
        Framing::Length(n) => {
            out.put_slice(b"Content-Length: ");
            put_u64(out, n);
            out.put_slice(b"\r\n");
        }
        Framing::Chunked => out.put_slice(b"Transfer-Encoding: chunked\r\n"),
        Framing::UntilClose | Framing::None => {}
    }
    match opts.connection {
        Some(true) => out.put_slice(b"Connection: close\r\n"),
        Some(false) => out.put_slice(b"Connection: keep-alive\r\n"),
        None => {}
    }
    out.put_slice(b"\r\n");
}

/// Write one chunk of a chunked body (nothing for an empty one: an empty
/// chunk would end the body).
pub(crate) fn write_chunk(out: &mut BytesMut, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let mut hex = [0u8; 16];
    let mut n = data.len();
    let mut i = hex.len();
    while {
        i -= 1;
        hex[i] = b"0123456789abcdef"[n % 16];
        n /= 16;
        n > 0
    } {}
    out.put_slice(&hex[i..]);
    out.put_slice(b"\r\n");
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

/// The last chunk of a chunked body.
pub(crate) const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

fn put_u64(out: &mut BytesMut, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&digits[i..]);
}

/// The current time as an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`),
/// formatted at most once a second per thread.
fn http_date_now() -> [u8; 29] {
    thread_local! {
        static CACHE: Cell<(u64, [u8; 29])> = const { Cell::new((u64::MAX, [0; 29])) };
    }
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    CACHE.with(|c| {
        let (at, text) = c.get();
        if at == secs {
            return text;
        }
        let text = http_date(secs);
        c.set((secs, text));
        text
    })
}

/// Format seconds since the Unix epoch as an HTTP date.
pub(crate) fn http_date(secs: u64) -> [u8; 29] {
    const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    out[..3].copy_from_slice(DAYS[(days % 7) as usize]);
    let two = |v: u64| [b'0' + (v / 10 % 10) as u8, b'0' + (v % 10) as u8];
    out[5..7].copy_from_slice(&two(day as u64));
    out[8..11].copy_from_slice(MONTHS[(month - 1) as usize]);
    let y = year.clamp(0, 9999) as u64;
    out[12..16].copy_from_slice(&[
        b'0' + (y / 1000) as u8,
        b'0' + (y / 100 % 10) as u8,
        b'0' + (y / 10 % 10) as u8,
        b'0' + (y % 10) as u8,
    ]);
    out[17..19].copy_from_slice(&two(h));
    out[20..22].copy_from_slice(&two(m));
    out[23..25].copy_from_slice(&two(s));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(&http_date(0), b"Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(&http_date(784_111_777), b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(&http_date(951_782_400), b"Tue, 29 Feb 2000 00:00:00 GMT");
    }

    #[test]
    fn chunks() {
        let mut b = BytesMut::new();
        write_chunk(&mut b, &[b'x'; 26]);
        assert_eq!(&b[..4], b"1a\r\n");
    }
}
