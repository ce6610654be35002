//! [`HttpServer`]: the per-connection HTTP/1.1 protocol component, and its
//! [`HttpConfig`].
//!
//! One component serves one connection. Its loop: append what arrives on
//! `inbox` to a buffer, take every whole request out of it
//! ([`parser`](super::parser)), hand each to the handler, and write the
//! responses out of `outbox` in request order. With a handler function the
//! response is made there and then. With a handler component per request
//! (the reference's resource handlers) a child is started for each request,
//! up to [`HttpConfig::max_pipelined`] at once; each child's `outbox` feeds a
//! small bounded queue of its own, and only the oldest unanswered request's
//! queue is read, so responses leave in order and a streaming handler that is
//! not yet at the front is held back instead of buffered.
//!
//! Reading stops while the pipeline is full, while responses are being written
//! (the `outbox` waits for space), and once the connection is to close, so a
//! client cannot make the server buffer without bound. A request that breaks
//! the rules gets its error response after the earlier ones, then the
//! connection closes; other connections are separate components and are not
//! affected.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use axon::time::Sleep;
use axon::{ChildExit, Component, ComponentRef, Context, Inbox, Outbox, Outcome, Prefab, RecvError, Signal};
use bytes::{Bytes, BytesMut};

use super::error::HttpError;
use super::parser::{Limits, Parser};
use super::request::{Request, Version};
use super::response::{
    bodiless, write_chunk, write_head, Framing, HeadOptions, Response, ResponsePart, LAST_CHUNK,
};

/// Output waiting beyond this many bytes is written before more pipelined
/// requests are parsed, so a burst of small requests cannot pile up responses.
const FLUSH_AT: usize = 64 * 1024;

/// Limits and options of an [`HttpServer`]. Start from `HttpConfig::default()`
/// and change the fields you need.
///
/// ```
/// use std::time::Duration;
/// use kamaelia::protocol::http::HttpConfig;
/// let mut c = HttpConfig::default();
/// c.max_body_bytes = 64 * 1024;
/// c.header_timeout = Some(Duration::from_secs(5));
/// c.server_name = None; // no Server header
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpConfig {
    /// Most bytes in a request line plus headers (also for chunked trailers).
    /// Larger: 431 and close. Default 16 KiB.
    pub max_header_bytes: usize,
    /// Most bytes in a request body (after chunked decoding). Larger: 413 and
    /// close. Default 1 MiB.
    pub max_body_bytes: usize,
    /// How long a request's line and headers may take to arrive, counted from
    /// their first byte (from the connection's start for its first request).
    /// Slower: 408 and close. `None`: no limit. Default 10 s.
    pub header_timeout: Option<Duration>,
    /// How long the connection may sit with nothing received or sent while
    /// the server waits for input and has no response in progress.
    /// Mid-request (a stalled body): 408 and close; between requests: the
    /// connection is closed without a response. `None`: no limit. Default 60 s.
    pub idle_timeout: Option<Duration>,
    /// With a handler component per request: most requests being handled at
    /// once on one connection (pipelining); reading pauses beyond it. Default 16.
    pub max_pipelined: usize,
    /// With a handler component per request: how many response parts each
    /// handler may have queued before its sends wait. Default 8.
    pub response_queue: usize,
    /// The `Server` header sent with every response; `None` for none.
    /// Default `kamaelia-rs`.
    pub server_name: Option<Cow<'static, str>>,
    /// Whether to send a `Date` header. Default true.
    pub date_header: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_header_bytes: 16 * 1024,
            max_body_bytes: 1024 * 1024,
            header_timeout: Some(Duration::from_secs(10)),
            idle_timeout: Some(Duration::from_secs(60)),
            max_pipelined: 16,
            response_queue: 8,
            server_name: Some(Cow::Borrowed("kamaelia-rs")),
            date_header: true,
        }
    }
}

type HandlerFn = dyn Fn(&Request) -> Response + Send + Sync;
type HandlerFactory = dyn Fn(Request) -> Prefab + Send + Sync;

#[derive(Clone)]
enum Handler {
    Function(Arc<HandlerFn>),
    Component(Arc<HandlerFactory>),
}

/// Makes the protocol component of one HTTP connection. Cheap to clone and
/// shareable between threads, so a server's per-connection factory can hold
/// one and call [`build`](Self::build) for every connection.
///
/// The component's boxes: `inbox` ([`Bytes`] read from the peer, chunked any
/// way), `control` ([`Signal`]), `outbox` ([`Bytes`] to write), `signal`
/// ([`Signal`]). `ProducerFinished` on `control` (or `inbox` closing) is the
/// peer's end of stream: requests already whole are answered, then
/// `ProducerFinished` goes out of `signal` and the component ends. It also
/// ends that way when it closes the connection itself (an error, `Connection:
/// close`, HTTP/1.0 without keep-alive): its last bytes first, then
/// `ProducerFinished`. `ShutdownMicroprocess` on `control` stops it at once
/// and is passed on out of `signal`.
///
/// ```
/// use kamaelia::protocol::http::{HttpServer, Response};
/// let server = HttpServer::from_fn(|req| Response::text(200, format!("you asked for {}\n", req.path())));
/// let prefab = server.build(None); // one per connection
/// assert_eq!(prefab.name(), "http");
/// ```
#[derive(Clone)]
pub struct HttpServer {
    handler: Handler,
    config: Arc<HttpConfig>,
}

impl fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.handler {
            Handler::Function(_) => "function",
            Handler::Component(_) => "component per request",
        };
        f.debug_struct("HttpServer")
            .field("handler", &kind)
            .field("config", &self.config)
            .finish()
    }
}

impl HttpServer {
    /// Answer every request with a function, called on the connection's
    /// component. Keep it quick (it holds up that connection); for slow or
    /// streaming work use [`from_components`](Self::from_components). A
    /// panic in it is answered with 500 and the connection closed.
    pub fn from_fn(handler: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Self {
        HttpServer {
            handler: Handler::Function(Arc::new(handler)),
            config: Arc::new(HttpConfig::default()),
        }
    }

    /// Answer every request with a component of its own, made by `factory`
    /// from the request (the reference's resource handlers). The component
    /// sends [`ResponsePart`]s on its `outbox` (see there); it is given
    /// `ShutdownMicroprocess` on its `control`, if it has one, when the
    /// connection stops before it is done. Its `inbox` is not fed: the whole
    /// request, body included, is what the factory gets.
    pub fn from_components(factory: impl Fn(Request) -> Prefab + Send + Sync + 'static) -> Self {
        HttpServer {
            handler: Handler::Component(Arc::new(factory)),
            config: Arc::new(HttpConfig::default()),
        }
    }

    /// Use these limits and options.
    pub fn config(mut self, config: HttpConfig) -> Self {
        self.config = Arc::new(config);
        self
    }

    /// The limits and options in use.
    pub fn settings(&self) -> &HttpConfig {
        &self.config
    }

    /// The protocol component for one connection; `peer` is what
    /// [`Request::peer`] reports.
    pub fn build(&self, peer: Option<SocketAddr>) -> Prefab {
        let handler = self.handler.clone();
        let config = self.config.clone();
        Prefab::new(
            Component::new("http").inbox_and_outbox::<Bytes, Bytes>(),
            move |mut cx| async move {
                let inbox = cx.inbox::<Bytes>("inbox")?;
                let control = cx.inbox::<Signal>("control")?;
                let out = cx.outbox::<Bytes>("outbox")?;
                let mut signal = cx.outbox::<Signal>("signal")?;
                let limits = Limits {
                    max_header_bytes: config.max_header_bytes,
                    max_body_bytes: config.max_body_bytes,
                };
                let mut conn = Conn {
                    cfg: config,
                    handler,
                    peer,
                    inbox,
                    control,
                    control_closed: false,
                    out,
                    buf: BytesMut::new(),
                    parser: Parser::new(limits),
                    wbuf: BytesMut::new(),
                    slots: VecDeque::new(),
                    draining: false,
                    peer_done: false,
                    no_more: false,
                    failure: None,
                    done: false,
                    served: 0,
                    timer: None,
                    idle: None,
                    last_activity: Instant::now(),
                };
                let end = conn.serve(&cx).await;
                conn.stop_handlers();
                let sig = match end {
                    End::Closed => Signal::ProducerFinished,
                    End::Gone => {
                        tracing::debug!(?peer, "http: the connection's writer has gone; ending");
                        Signal::ProducerFinished
                    }
                    End::Stopped(s) => s,
                };
                // No one listening on `signal` is not an error.
                let _ = signal.send(sig).await;
                Ok(())
            },
        )
    }
}

/// What the server needs to remember of a request to frame its response.
#[derive(Debug, Clone, Copy)]
struct Meta {
    head: bool,
    version: Version,
    keep_alive: bool,
}

impl Meta {
    fn of(r: &Request) -> Meta {
        Meta {
            head: r.is_head(),
            version: r.version(),
            keep_alive: r.keep_alive(),
        }
    }
}

enum Stream {
    /// Nothing from the handler yet.
    Waiting,
    /// Head written; body parts follow. `left`: bytes still due with a
    /// `Content-Length`.
    Body {
        framing: Framing,
        left: u64,
        close: bool,
    },
}

/// One request handed to a handler component, not yet fully answered.
struct Slot {
    meta: Meta,
    child: Option<ComponentRef>,
    parts: Inbox<ResponsePart>,
    parts_closed: bool,
    control: Option<Outbox<Signal>>,
    outcome: Option<Outcome>,
    stream: Stream,
}

enum Event {
    Control(Signal),
    Data(Bytes),
    InputEnd,
    Part(ResponsePart),
    PartsEnd,
    Exit(ChildExit),
    Timeout,
    IdleTimeout,
}

enum End {
    /// The connection is to close (flushed).
    Closed,
    /// The `outbox`'s destination has gone.
    Gone,
    /// Told to stop at once.
    Stopped(Signal),
}

struct Conn {
    cfg: Arc<HttpConfig>,
    handler: Handler,
    peer: Option<SocketAddr>,
    inbox: Inbox<Bytes>,
    control: Inbox<Signal>,
    control_closed: bool,
    out: Outbox<Bytes>,
    /// Received, not yet parsed.
    buf: BytesMut,
    parser: Parser,
    /// To write.
    wbuf: BytesMut,
    slots: VecDeque<Slot>,
    /// `ProducerFinished` seen: read what is queued, then the peer is done.
    draining: bool,
    /// The peer sends nothing more.
    peer_done: bool,
    /// Take no more requests (the last one closes the connection, or one was bad).
    no_more: bool,
    /// The error to answer once the earlier requests are answered.
    failure: Option<HttpError>,
    /// Nothing more will be written: flush and close.
    done: bool,
    served: u64,
    /// The header timeout of the request being read.
    timer: Option<Sleep>,
    /// The idle timeout, armed for `last_activity` + the timeout when it was
    /// set; activity since only moves `last_activity` (the timer is checked
    /// and re-armed when it fires, not reset per chunk).
    idle: Option<Sleep>,
    last_activity: Instant,
}

impl Conn {
    /// Write a response head, with the headers the server adds.
    fn put_head(&mut self, r: &Response, framing: Framing, close: bool, version: Version) {
        let opts = HeadOptions {
            server: self.cfg.server_name.as_deref(),
            date: self.cfg.date_header,
            connection: if close {
                Some(true)
            } else if version == Version::Http10 {
                Some(false)
            } else {
                None
            },
        };
        write_head(&mut self.wbuf, r, framing, opts);
    }

    /// Whether more requests may be taken from the buffer.
    fn accepting(&self) -> bool {
        !self.no_more
            && !self.done
            && self.failure.is_none()
            && self.slots.len() < self.cfg.max_pipelined.max(1)
    }

    /// Whether more bytes may be taken from `inbox`.
    fn reading(&self) -> bool {
        !self.peer_done && self.accepting()
    }

    async fn serve(&mut self, cx: &Context) -> End {
        loop {
            let more = self.advance(cx);
            match self.flush().await {
                Ok(()) => {}
                Err(end) => return end,
            }
            if self.done {
                return End::Closed;
            }
            if more {
                continue;
            }
            self.arm_timer();
            let ev = self.next_event(cx).await;
            match ev {
                Event::Control(s) if s.is_shutdown() => return End::Stopped(s),
                Event::Control(_) => self.draining = true,
                Event::Data(b) => {
                    if self.cfg.idle_timeout.is_some() {
                        self.last_activity = Instant::now();
                    }
                    self.buf.extend_from_slice(&b);
                }
                Event::InputEnd => self.peer_done = true,
                Event::Part(p) => self.on_part(p),
                Event::PartsEnd => {
                    if let Some(s) = self.slots.front_mut() {
                        s.parts_closed = true;
                    }
                    self.on_parts_end();
                }
                Event::Exit(e) => {
                    if let Some(s) = self
                        .slots
                        .iter_mut()
                        .find(|s| s.child.as_ref().is_some_and(|c| c.id() == e.child.id()))
                    {
                        s.outcome = Some(e.outcome);
                    }
                    if self.slots.front().is_some_and(|s| s.parts_closed) {
                        self.on_parts_end();
                    }
                }
                Event::IdleTimeout => self.on_idle_timeout(),
                Event::Timeout => {
                    self.timer = None;
                    if let Some(after) = self.cfg.header_timeout {
                        tracing::debug!(peer = ?self.peer, ?after, "http: request header timed out");
                        self.failure = Some(HttpError::HeaderTimeout { after });
                        self.no_more = true;
                    }
                }
            }
        }
    }

    /// Parse and dispatch what can be; write what is answered; decide whether
    /// the connection is done. True if it stopped with requests perhaps left
    /// in the buffer because enough output is waiting: flush, then call again.
    fn advance(&mut self, cx: &Context) -> bool {
        while self.accepting() {
            if self.wbuf.len() >= FLUSH_AT {
                return true;
            }
            match self.parser.next(&mut self.buf) {
                Ok(Some(mut req)) => {
                    self.timer = None;
                    self.served += 1;
                    req.peer = self.peer;
                    if !req.keep_alive() {
                        self.no_more = true;
                    }
                    self.dispatch(cx, req);
                }
                Ok(None) => {
                    if self.parser.take_continue() && self.slots.is_empty() {
                        self.wbuf.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
                    }
                    break;
                }
                Err(e) => {
                    tracing::debug!(peer = ?self.peer, error = %e, "http: bad request");
                    self.failure = Some(e);
                    self.no_more = true;
                }
            }
        }
        if self.slots.is_empty() && !self.done {
            if let Some(e) = self.failure.take() {
                let r = Response::error(e.status());
                self.put_head(&r, Framing::Length(r.body().len() as u64), true, Version::Http11);
                self.wbuf.extend_from_slice(r.body());
                self.done = true;
            } else if self.no_more || self.peer_done {
                self.done = true;
            }
        }
        false
    }

    fn dispatch(&mut self, cx: &Context, req: Request) {
        let meta = Meta::of(&req);
        match &self.handler {
            Handler::Function(f) => {
                let f = f.clone();
                let resp = match catch_unwind(AssertUnwindSafe(|| f(&req))) {
                    Ok(r) => r,
                    Err(_) => {
                        tracing::warn!(peer = ?self.peer, path = req.path(), "http: handler panicked; answering 500 and closing");
                        self.no_more = true;
                        Response::error(500).with_header("Connection", "close")
                    }
                };
                self.write_whole(meta, resp);
            }
            Handler::Component(factory) => {
                let factory = factory.clone();
                let path = req.path().to_string();
                let slot = match catch_unwind(AssertUnwindSafe(|| factory(req))) {
                    Ok(prefab) => self.start_handler(cx, meta, prefab, &path),
                    Err(_) => {
                        tracing::warn!(peer = ?self.peer, %path, "http: handler factory panicked; answering 500");
                        ready_slot(meta, Response::error(500), self.cfg.response_queue)
                    }
                };
                self.slots.push_back(slot);
            }
        }
    }

    fn start_handler(&self, cx: &Context, meta: Meta, prefab: Prefab, path: &str) -> Slot {
        let dormant = prefab.create_child(cx);
        let child = dormant.component().clone();
        let parts = Inbox::<ResponsePart>::detached("response");
        parts.set_size(Some(self.cfg.response_queue.max(1)));
        let linked = child
            .outbox::<ResponsePart>("outbox")
            .map_err(|e| e.to_string())
            .and_then(|o| axon::link(&o, &parts.endpoint()).map_err(|e| e.to_string()));
        if let Err(e) = linked {
            tracing::warn!(handler = child.name(), %path, error = %e, "http: handler has no usable `outbox` of ResponsePart; answering 500");
            drop(dormant);
            return ready_slot(meta, Response::error(500), self.cfg.response_queue);
        }
        let control = child.inbox::<Signal>("control").ok().and_then(|c| {
            let o = Outbox::<Signal>::detached("handler-control");
            axon::link(&o.endpoint(), &c).ok().map(|_| o)
        });
        dormant.activate();
        Slot {
            meta,
            child: Some(child),
            parts,
            parts_closed: false,
            control,
            outcome: None,
            stream: Stream::Waiting,
        }
    }

    /// Write a whole response to a request described by `meta`.
    fn write_whole(&mut self, meta: Meta, mut resp: Response) {
        if !resp.headers_valid() {
            tracing::warn!(
                status = resp.status(),
                "http: handler's response has an invalid status or header; answering 500"
            );
            resp = Response::error(500);
        }
        let close = !meta.keep_alive || wants_close(&resp);
        let status = resp.status();
        let framing = if bodiless(status) {
            Framing::None
        } else {
            Framing::Length(resp.body().len() as u64)
        };
        self.put_head(&resp, framing, close, meta.version);
        if !meta.head && framing != Framing::None {
            self.wbuf.extend_from_slice(resp.body());
        }
        if close {
            self.close_now();
        }
    }

    /// This response closes the connection: answer nothing more.
    fn close_now(&mut self) {
        self.no_more = true;
        self.done = true;
        self.failure = None;
    }

    /// A handler broke its response off half way: the client cannot tell
    /// where it ends, so the connection closes after what was written.
    fn abort(&mut self, why: &str) {
        tracing::warn!(peer = ?self.peer, "http: response broken off ({why}); closing the connection");
        self.slots.pop_front();
        self.close_now();
    }

    fn on_part(&mut self, part: ResponsePart) {
        let Some(slot) = self.slots.front() else { return };
        let meta = slot.meta;
        let streaming = matches!(slot.stream, Stream::Body { .. });
        match (streaming, part) {
            (false, ResponsePart::Whole(r)) => {
                self.slots.pop_front();
                self.write_whole(meta, r);
            }
            (false, ResponsePart::Head(r)) => self.start_body(meta, r),
            (false, ResponsePart::Body(_) | ResponsePart::End) => {
                tracing::warn!("http: handler sent body or end before a head; answering 500");
                self.stop_front();
                self.slots.pop_front();
                self.write_whole(meta, Response::error(500));
            }
            (true, ResponsePart::Body(b)) => self.body(b),
            (true, ResponsePart::End) => self.end_body(),
            (true, ResponsePart::Whole(_) | ResponsePart::Head(_)) => {
                self.stop_front();
                self.abort("a second head in the middle of a body");
            }
        }
    }

    /// Write the head of the front request's streamed response.
    fn start_body(&mut self, meta: Meta, mut r: Response) {
        if !r.headers_valid() {
            tracing::warn!(
                status = r.status(),
                "http: handler's response head has an invalid status or header; answering 500"
            );
            self.stop_front();
            self.slots.pop_front();
            self.write_whole(meta, Response::error(500));
            return;
        }
        let length = r
            .header("content-length")
            .and_then(|v| v.trim().parse::<u64>().ok());
        let (framing, mut close) = if bodiless(r.status()) {
            (Framing::None, false)
        } else if let Some(n) = length {
            (Framing::Length(n), false)
        } else if meta.version == Version::Http11 {
            (Framing::Chunked, false)
        } else {
            (Framing::UntilClose, true)
        };
        close |= !meta.keep_alive || wants_close(&r);
        let first = r.take_body();
        self.put_head(&r, framing, close, meta.version);
        let left = match framing {
            Framing::Length(n) => n,
            _ => 0,
        };
        if let Some(s) = self.slots.front_mut() {
            s.stream = Stream::Body { framing, left, close };
        }
        self.body(first);
    }

    /// Write a body chunk of the front (streaming) response.
    fn body(&mut self, data: Bytes) {
        let Some(slot) = self.slots.front_mut() else {
            return;
        };
        let head = slot.meta.head;
        let Stream::Body { framing, left, .. } = &mut slot.stream else {
            return;
        };
        let framing = *framing;
        if let Framing::Length(_) = framing {
            let n = data.len() as u64;
            if n > *left {
                self.stop_front();
                self.abort("more body than its Content-Length");
                return;
            }
            *left -= n;
        }
        match framing {
            _ if head => {}
            Framing::Length(_) | Framing::UntilClose => self.wbuf.extend_from_slice(&data),
            Framing::Chunked => write_chunk(&mut self.wbuf, &data),
            Framing::None => {
                if !data.is_empty() {
                    tracing::debug!(len = data.len(), "http: body for a status that has none not sent");
                }
            }
        }
    }

    /// The front (streaming) response is complete.
    fn end_body(&mut self) {
        let Some(slot) = self.slots.pop_front() else {
            return;
        };
        let Stream::Body { framing, left, close } = slot.stream else {
            return;
        };
        match framing {
            Framing::Length(_) if left > 0 && !slot.meta.head => {
                self.slots.push_front(slot);
                self.abort("less body than its Content-Length");
                return;
            }
            Framing::Chunked if !slot.meta.head => self.wbuf.extend_from_slice(LAST_CHUNK),
            _ => {}
        }
        if close {
            self.close_now();
        }
    }

    /// The front handler's `outbox` has closed (it ended).
    fn on_parts_end(&mut self) {
        let Some(slot) = self.slots.front() else { return };
        let outcome = slot
            .outcome
            .clone()
            .or_else(|| slot.child.as_ref().and_then(|c| c.outcome()));
        match (&slot.stream, outcome) {
            (Stream::Waiting, outcome) => {
                let meta = slot.meta;
                tracing::warn!(?outcome, "http: handler ended without a response; answering 500");
                self.slots.pop_front();
                self.write_whole(meta, Response::error(500));
            }
            (Stream::Body { .. }, None) => {} // wait for its exit
            (Stream::Body { .. }, Some(Outcome::Finished)) => self.end_body(),
            (Stream::Body { .. }, Some(o)) => self.abort(&format!("handler ended with {o:?}")),
        }
    }

    /// Ask the front handler to stop.
    fn stop_front(&mut self) {
        if let Some(c) = self.slots.front_mut().and_then(|s| s.control.as_mut()) {
            let _ = c.try_send(Signal::ShutdownMicroprocess);
        }
    }

    /// Ask every handler still running to stop.
    fn stop_handlers(&mut self) {
        for s in self.slots.iter_mut() {
            if let Some(c) = s.control.as_mut() {
                let _ = c.try_send(Signal::ShutdownMicroprocess);
            }
        }
        self.slots.clear();
    }

    fn on_idle_timeout(&mut self) {
        self.idle = None;
        let Some(after) = self.cfg.idle_timeout else {
            return;
        };
        let due = self.last_activity + after;
        if Instant::now() < due {
            // Input came since it was armed: wait for the rest.
            self.idle = Some(axon::time::sleep_until(due));
            return;
        }
        if self.buf.is_empty() && self.parser.awaiting_head() {
            tracing::debug!(peer = ?self.peer, ?after, "http: idle connection closed");
            self.close_now();
        } else {
            tracing::debug!(peer = ?self.peer, ?after, "http: request stalled");
            self.failure = Some(HttpError::ReadTimeout { after });
            self.no_more = true;
        }
    }

    fn arm_timer(&mut self) {
        match (self.reading() && self.slots.is_empty(), self.cfg.idle_timeout) {
            (true, Some(t)) => {
                if self.idle.is_none() {
                    // Idle from now: responses in progress were activity.
                    self.last_activity = Instant::now();
                    self.idle = Some(axon::time::sleep_until(self.last_activity + t));
                }
            }
            _ => self.idle = None,
        }
        let want =
            self.reading() && self.parser.awaiting_head() && (!self.buf.is_empty() || self.served == 0);
        match (want, self.cfg.header_timeout) {
            (true, Some(t)) => {
                if self.timer.is_none() {
                    self.timer = Some(axon::time::sleep(t));
                }
            }
            _ => self.timer = None,
        }
    }

    /// Write out what is waiting, watching `control` meanwhile.
    async fn flush(&mut self) -> Result<(), End> {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        let data = self.wbuf.split().freeze();
        if self.cfg.idle_timeout.is_some() {
            self.last_activity = Instant::now();
        }
        let Conn {
            out,
            control,
            control_closed,
            draining,
            ..
        } = self;
        let mut sending = out.send(data);
        poll_fn(|t| {
            while !*control_closed {
                match control.poll_recv(t) {
                    Poll::Ready(Ok(s)) if s.is_shutdown() => return Poll::Ready(Err(End::Stopped(s))),
                    Poll::Ready(Ok(_)) => *draining = true,
                    Poll::Ready(Err(RecvError::Closed)) => *control_closed = true,
                    Poll::Pending => break,
                }
            }
            match Pin::new(&mut sending).poll(t) {
                Poll::Ready(Ok(())) => Poll::Ready(Ok(())),
                Poll::Ready(Err(_)) => Poll::Ready(Err(End::Gone)),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }

    async fn next_event(&mut self, cx: &Context) -> Event {
        let reading = self.reading();
        let components = matches!(self.handler, Handler::Component(_));
        poll_fn(|t| {
            while !self.control_closed {
                match self.control.poll_recv(t) {
                    Poll::Ready(Ok(s)) => return Poll::Ready(Event::Control(s)),
                    Poll::Ready(Err(RecvError::Closed)) => self.control_closed = true,
                    Poll::Pending => break,
                }
            }
            if let Some(front) = self.slots.front_mut() {
                if !front.parts_closed {
                    match front.parts.poll_recv(t) {
                        Poll::Ready(Ok(p)) => return Poll::Ready(Event::Part(p)),
                        Poll::Ready(Err(RecvError::Closed)) => return Poll::Ready(Event::PartsEnd),
                        Poll::Pending => {}
                    }
                }
            }
            if components {
                // `child_exit()` keeps no state between polls.
                if let Poll::Ready(Some(e)) = Pin::new(&mut cx.child_exit()).poll(t) {
                    return Poll::Ready(Event::Exit(e));
                }
            }
            if reading {
                if self.draining && self.inbox.is_empty() {
                    return Poll::Ready(Event::InputEnd);
                }
                match self.inbox.poll_recv(t) {
                    Poll::Ready(Ok(b)) => return Poll::Ready(Event::Data(b)),
                    Poll::Ready(Err(RecvError::Closed)) => return Poll::Ready(Event::InputEnd),
                    Poll::Pending => {}
                }
            }
            if let Some(timer) = self.timer.as_mut() {
                if Pin::new(timer).poll(t).is_ready() {
                    return Poll::Ready(Event::Timeout);
                }
            }
            if let Some(idle) = self.idle.as_mut() {
                if Pin::new(idle).poll(t).is_ready() {
                    return Poll::Ready(Event::IdleTimeout);
                }
            }
            Poll::Pending
        })
        .await
    }
}

/// Whether a response's own `Connection` header asks to close.
fn wants_close(r: &Response) -> bool {
    r.headers().any(|(n, v)| {
        n.eq_ignore_ascii_case("connection") && v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close"))
    })
}

/// A slot already answered with `resp` (no handler runs).
fn ready_slot(meta: Meta, resp: Response, queue: usize) -> Slot {
    let parts = Inbox::<ResponsePart>::detached("response");
    parts.set_size(Some(queue.max(1)));
    let mut feed = Outbox::<ResponsePart>::detached("ready");
    // A fresh detached pair: linking and one send into an empty box succeed.
    if axon::link(&feed.endpoint(), &parts.endpoint()).is_ok() {
        let _ = feed.try_send(ResponsePart::Whole(resp));
    }
    Slot {
        meta,
        child: None,
        parts,
        parts_closed: false,
        control: None,
        outcome: Some(Outcome::Finished),
        stream: Stream::Waiting,
    }
}
