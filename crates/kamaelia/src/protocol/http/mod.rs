//! # HTTP/1.1 server, as a protocol component
//!
//! [`HttpServer::build`] makes the component that serves **one connection**:
//! bytes from the peer in on `inbox`, bytes to send out of `outbox`, the usual
//! `control`/`signal` boxes. A TCP server makes one per connection (from a
//! factory) and wires it to the connection's socket adapter; nothing here
//! touches a socket, so the whole protocol can be driven in memory, as below.
//!
//! ## What it does
//!
//! * **Parsing** ([`Request`]): incremental, on `httparse`, over a growing
//!   buffer — requests split over many chunks and several pipelined requests
//!   in one chunk both work. Bodies with `Content-Length` or
//!   `Transfer-Encoding: chunked`; `Expect: 100-continue` is answered.
//! * **Connections**: HTTP/1.1 stays open unless `Connection: close`; HTTP/1.0
//!   closes unless `Connection: keep-alive`. Responses leave in request order,
//!   pipelined or not.
//! * **Handlers**: a function `Fn(&Request) -> Response`
//!   ([`HttpServer::from_fn`]), or a component per request
//!   ([`HttpServer::from_components`], the reference Kamaelia's resource
//!   handlers) made from the request, which sends a whole [`Response`] or a
//!   head and streamed body chunks as [`ResponsePart`]s on its `outbox`.
//!   Bodies go out with `Content-Length`, or chunked when a streamed head
//!   gives no length. `HEAD` gets the headers only. `Date` and `Server` are
//!   added unless turned off in [`HttpConfig`].
//! * **Bad input** ([`HttpError`]): malformed 400, header section too large
//!   431, body too large 413, header too slow 408, unknown transfer coding
//!   501. The error response goes out after the responses to earlier
//!   requests, then the connection closes; each connection is its own
//!   component, so others are not affected.
//! * **Ready-made handlers**: [`StaticFiles`] serves a directory (index.html,
//!   content types, traversal refused, large files streamed); [`hello`]
//!   answers `GET /` with `Hello, world!\n` (the benchmark's server).
//!
//! ## Boxes and ending
//!
//! | box | carries | |
//! |---|---|---|
//! | `inbox` | [`Bytes`](bytes::Bytes) | what the peer sent, chunked any way |
//! | `control` | [`Signal`](axon::Signal) | `ProducerFinished`: the peer has finished sending; `ShutdownMicroprocess`: stop now |
//! | `outbox` | [`Bytes`](bytes::Bytes) | what to send to the peer |
//! | `signal` | [`Signal`](axon::Signal) | `ProducerFinished`: flush what was sent and close; or the shutdown passed on |
//!
//! After `ProducerFinished` on `control` (or `inbox` closing) the requests
//! already whole are answered, then `ProducerFinished` goes out of `signal`
//! and the component ends. When the server closes the connection itself (an
//! error, `Connection: close`, HTTP/1.0) it sends its last bytes, then
//! `ProducerFinished`. `ShutdownMicroprocess` on `control` stops it at once
//! (handler components are told to stop too) and is passed on out of
//! `signal`.
//!
//! ## Driving it in memory
//!
//! ```
//! use std::time::Duration;
//! use axon::{Handle, Signal, System};
//! use bytes::Bytes;
//! use kamaelia::protocol::http::{HttpServer, Response};
//!
//! let server = HttpServer::from_fn(|req| match req.path() {
//!     "/" => Response::text(200, "home\n"),
//!     _ => Response::error(404),
//! });
//! let running = System::builder().threads(1).build().start();
//! let mut conn: Handle<Bytes, Bytes> = Handle::spawn(running.system(), server.build(None))?;
//!
//! // Two pipelined requests in one chunk, the second split in the middle.
//! conn.send_blocking(Bytes::from_static(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HT"))?;
//! conn.send_blocking(Bytes::from_static(b"TP/1.1\r\nHost: x\r\n\r\n"))?;
//! conn.send_control(Signal::ProducerFinished)?; // the peer has finished sending
//!
//! let mut got = Vec::new();
//! while let Ok(chunk) = conn.recv_timeout(Duration::from_secs(10)) {
//!     got.extend_from_slice(&chunk);
//! }
//! let text = String::from_utf8(got)?;
//! assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
//! assert!(text.contains("\r\n\r\nhome\nHTTP/1.1 404 Not Found\r\n"), "{text}");
//! assert_eq!(conn.recv_signal_timeout(Duration::from_secs(10))?, Signal::ProducerFinished);
//! running.wait();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## A handler component per request
//!
//! ```
//! use axon::{Component, Prefab};
//! use bytes::Bytes;
//! use kamaelia::protocol::http::{HttpServer, Response, ResponsePart};
//!
//! // Streams three chunks; with no Content-Length the server sends them chunked.
//! let server = HttpServer::from_components(|req| {
//!     let who = req.query().unwrap_or("world").to_string();
//!     Prefab::new(Component::new("greeter").inbox_and_outbox::<(), ResponsePart>(), move |mut cx| async move {
//!         let mut out = cx.outbox::<ResponsePart>("outbox")?;
//!         out.send(ResponsePart::Head(Response::ok().with_content_type("text/plain"))).await?;
//!         for word in ["hello, ", &who, "\n"] {
//!             out.send(ResponsePart::Body(Bytes::from(word.to_string()))).await?;
//!         }
//!         out.send(ResponsePart::End).await?;
//!         Ok(())
//!     })
//! });
//! # drop(server);
//! ```
//!
//! Handing it to a TCP server is one line in the server's per-connection
//! factory: `move |conn| http.build(Some(conn.peer))`.

mod error;
mod hello;
mod parser;
mod request;
mod response;
mod server;
mod static_files;

pub use error::HttpError;
pub use hello::{hello, HELLO_BODY};
pub use request::{Request, Version};
pub use response::{reason, Response, ResponsePart};
pub use server::{HttpConfig, HttpServer};
pub use static_files::{content_type, StaticFiles, StaticRootError};
