//! [`HttpError`]: what can go wrong with a request before a handler sees it,
//! and the status code the server answers with.
//!
//! Every one of these ends the connection: the server sends the matching
//! error response (after the responses to earlier pipelined requests), then
//! closes. Errors from reading the served files (static files) are answered
//! with their own status and do not close the connection.

use std::time::Duration;

/// A request the server could not accept. [`status`](HttpError::status) is the
/// code sent back; the connection is closed after it.
///
/// ```
/// use kamaelia::protocol::http::HttpError;
/// let e = HttpError::BodyTooLarge { limit: 10 };
/// assert_eq!(e.status(), 413);
/// assert!(e.to_string().contains("10"), "{e}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The bytes are not an HTTP/1.x request (bad request line, bad header,
    /// bad chunk framing, conflicting lengths, missing `Host`, ...): 400.
    #[error("malformed request: {0}; the client must send a valid HTTP/1.1 request")]
    Malformed(String),
    /// The request line and headers are longer than the configured limit, or
    /// there are too many header fields: 431.
    #[error("request header section larger than {limit} bytes (or more than {max_fields} fields); raise HttpConfig::max_header_bytes if such requests are expected")]
    HeaderTooLarge {
        /// The configured limit in bytes.
        limit: usize,
        /// The most header fields accepted.
        max_fields: usize,
    },
    /// The request body is longer than the configured limit: 413.
    #[error("request body larger than the limit of {limit} bytes; raise HttpConfig::max_body_bytes if such uploads are expected")]
    BodyTooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// The request line and headers did not arrive within the configured
    /// time: 408.
    #[error("request header not complete within {after:?}; the client is too slow (or idle after opening the connection)")]
    HeaderTimeout {
        /// The configured timeout.
        after: Duration,
    },
    /// Nothing arrived for the configured idle time in the middle of a
    /// request (a stalled body): 408.
    #[error("no request bytes for {after:?} in the middle of a request; the client stalled")]
    ReadTimeout {
        /// The configured idle timeout.
        after: Duration,
    },
    /// A `Transfer-Encoding` other than `chunked` (alone or last): 501.
    #[error("transfer-encoding {0:?} is not supported; only chunked is")]
    UnsupportedTransferEncoding(String),
}

impl HttpError {
    /// The HTTP status code answered for this error.
    ///
    /// ```
    /// use kamaelia::protocol::http::HttpError;
    /// assert_eq!(HttpError::Malformed("x".into()).status(), 400);
    /// ```
    pub fn status(&self) -> u16 {
        match self {
            HttpError::Malformed(_) => 400,
            HttpError::HeaderTooLarge { .. } => 431,
            HttpError::BodyTooLarge { .. } => 413,
            HttpError::HeaderTimeout { .. } | HttpError::ReadTimeout { .. } => 408,
            HttpError::UnsupportedTransferEncoding(_) => 501,
        }
    }
}
