//! Protocol components: byte streams in, byte streams out.
//!
//! A protocol component sits between a connected socket (the
//! `ConnectedSocketAdapter` a server makes per connection) and the
//! application. It reads the bytes the peer sent on `inbox`, writes the bytes
//! to send back on `outbox`, and follows the usual `control`/`signal`
//! convention: `ProducerFinished` on `control` is the peer's end of stream,
//! `ProducerFinished` out of `signal` asks the socket side to flush and close.
//! Nothing here touches a socket, so every protocol can be driven and tested in
//! memory.
//!
//! * [`http`]: an HTTP/1.1 server (keep-alive, pipelining, chunked bodies, a
//!   handler function or a handler component per request, static files).

pub mod http;
