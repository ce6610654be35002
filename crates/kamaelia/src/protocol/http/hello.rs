//! [`hello`]: the smallest useful handler, used by the network benchmark.
//!
//! `GET /` (or `HEAD /`) answers `200 OK` with `Hello, world!\n`; other
//! methods on `/` get 405, other paths 404. The success path allocates
//! nothing: the body and content type are static.

use bytes::Bytes;

use super::request::Request;
use super::response::Response;

/// The body `hello` answers with.
pub const HELLO_BODY: &[u8] = b"Hello, world!\n";

/// Answer `GET /` (or `HEAD /`) with `200 OK` and `Hello, world!\n`; other
/// methods on `/` get 405, other paths 404. The success path allocates
/// nothing (static body and content type).
///
/// ```
/// use kamaelia::protocol::http::{hello, Request};
/// let r = hello(&Request::parse(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")?);
/// assert_eq!((r.status(), &r.body()[..]), (200, &b"Hello, world!\n"[..]));
/// assert_eq!(hello(&Request::parse(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n")?).status(), 404);
/// # Ok::<(), kamaelia::protocol::http::HttpError>(())
/// ```
pub fn hello(req: &Request) -> Response {
    match (req.method(), req.path()) {
        ("GET" | "HEAD", "/") => Response::new(200)
            .with_content_type("text/plain")
            .with_body(Bytes::from_static(HELLO_BODY)),
        (_, "/") => Response::error(405).with_header("Allow", "GET, HEAD"),
        _ => Response::error(404),
    }
}
