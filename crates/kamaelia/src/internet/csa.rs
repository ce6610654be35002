//! [`ConnectedSocketAdapter`]: one connected TCP socket as a component.
//!
//! Bytes read from the socket come out of `outbox` as [`Bytes`] chunks (at most
//! [`CsaConfig::read_chunk`] each, one copy out of the kernel and none after:
//! a chunk moves between components by reference count). Chunks arriving at
//! `inbox` are written to the socket in order, partial writes resumed where
//! they stopped.
//!
//! ## Flow control, both ways
//!
//! * A chunk the consumer has no room for waits in the adapter, and nothing
//!   more is read from the socket until it is delivered: a slow consumer
//!   fills the kernel's socket buffer, and TCP stops the peer.
//! * The next chunk is taken from `inbox` only once the current one is fully
//!   written, and `inbox` is size-limited ([`CsaConfig::inbox_size`]): a
//!   peer that does not read stops whoever sends to the adapter.
//!
//! So a connection never holds more than its boxes' limits, whatever the
//! peers do.
//!
//! ## Ends and signals
//!
//! | event | what the adapter does |
//! |---|---|
//! | the peer closes its side (EOF) | sends `ProducerFinished` out of `signal`, stops reading, keeps writing |
//! | `ProducerFinished` at `control`, or `inbox` closed | writes what `inbox` holds, then shuts down the socket's write side (FIN) |
//! | both of the above done, or the consumer of `outbox` gone | closes the socket and ends |
//! | `ShutdownMicroprocess` (or a `Failed`) at `control` | closes the socket at once, passes the signal on out of `signal`, ends |
//! | the peer resets the connection | logged at debug, treated as a close |
//! | any other socket error | the component fails with [`CsaError`] (so `Failed` goes out of `signal`) |
//! | no bytes either way for [`CsaConfig::idle_timeout`] | closes the socket and ends |
//!
//! A protocol component wired the [`ServerCore`](super::ServerCore) way
//! (adapter `outbox` → protocol `inbox`, protocol `outbox` → adapter
//! `inbox`, adapter `signal` → protocol `control`, protocol `signal` →
//! adapter `control`) therefore hears when the peer has finished sending,
//! and closes the connection by finishing itself.

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use axon::{Component, Context, Inbox, Outbox, Prefab, RecvError, Signal};
use bytes::{Buf, Bytes};
use mio::net::TcpStream;

use super::reactor::{Direction, IoSource, Reactor};

/// The largest chunk read from a socket at once, by default.
pub const DEFAULT_READ_CHUNK: usize = 64 * 1024;

/// The size limit of an adapter's `inbox`, by default (in chunks).
pub const DEFAULT_INBOX_SIZE: usize = 8;

/// Settings of a [`ConnectedSocketAdapter`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CsaConfig {
    /// The largest chunk read at once (default [`DEFAULT_READ_CHUNK`]).
    pub read_chunk: usize,
    /// The size limit of `inbox`, in chunks (default [`DEFAULT_INBOX_SIZE`]).
    pub inbox_size: usize,
    /// Close the connection after this long with no bytes either way
    /// (default: never).
    pub idle_timeout: Option<Duration>,
}

impl Default for CsaConfig {
    fn default() -> Self {
        CsaConfig {
            read_chunk: DEFAULT_READ_CHUNK,
            inbox_size: DEFAULT_INBOX_SIZE,
            idle_timeout: None,
        }
    }
}

impl CsaConfig {
    /// Set [`read_chunk`](Self::read_chunk) (at least 1).
    pub fn read_chunk(mut self, bytes: usize) -> Self {
        self.read_chunk = bytes.max(1);
        self
    }

    /// Set [`inbox_size`](Self::inbox_size) (at least 1).
    pub fn inbox_size(mut self, chunks: usize) -> Self {
        self.inbox_size = chunks.max(1);
        self
    }

    /// Set [`idle_timeout`](Self::idle_timeout).
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }
}

/// Why a connected socket adapter failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CsaError {
    /// Reading from or writing to the socket failed.
    #[error("connection with {peer}: {op} failed: {source}")]
    Io {
        /// The peer's address (or `?` if unknown).
        peer: String,
        /// `read` or `write`.
        op: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The socket could not be registered with the reactor.
    #[error("could not watch the socket for readiness: {0} (is the process out of file descriptors?)")]
    Register(#[source] io::Error),
    /// A box the adapter needs is missing (a bug in whoever declared it).
    #[error(transparent)]
    Box(#[from] axon::BoxError),
}

/// Kamaelia's `ConnectedSocketAdapter`: a component for one connected socket.
///
/// Boxes: `inbox: Bytes` (to write), `control: Signal` → `outbox: Bytes`
/// (read), `signal: Signal`. See the [module docs](self) for what it does.
///
/// Usually made for you by [`ServerCore`](super::ServerCore),
/// [`TcpServer`](super::TcpServer) or [`TcpClient`](super::TcpClient).
pub struct ConnectedSocketAdapter;

impl ConnectedSocketAdapter {
    /// The component's declaration (its boxes), named `name`.
    pub fn declare(name: &str, cfg: &CsaConfig) -> Component {
        Component::new(name.to_string())
            .inbox_with_size::<Bytes>("inbox", cfg.inbox_size)
            .inbox::<Signal>("control")
            .outbox::<Bytes>("outbox")
            .outbox::<Signal>("signal")
    }

    /// An adapter for an accepted or connected socket (set non-blocking here).
    pub fn from_std(stream: std::net::TcpStream, cfg: CsaConfig) -> io::Result<Prefab> {
        stream.set_nonblocking(true)?;
        Ok(Self::from_mio(TcpStream::from_std(stream), cfg))
    }

    /// An adapter for a `mio` socket (already non-blocking).
    pub fn from_mio(stream: TcpStream, cfg: CsaConfig) -> Prefab {
        Prefab::new(
            Self::declare("ConnectedSocketAdapter", &cfg),
            move |mut cx| async move {
                let boxes = Boxes::take(&mut cx)?;
                let reactor = Reactor::of(cx.system()).map_err(CsaError::Register)?;
                let sock = IoSource::new(&reactor, stream).map_err(CsaError::Register)?;
                Ok(run(boxes, sock, cfg).await?)
            },
        )
    }
}

/// Take what has arrived at `control` (a socket component's first step in
/// every poll): returns a shutdown to act on now; a `ProducerFinished` sets
/// `*finishing`; once `control` closes (nobody can signal any more) `*open`
/// goes false and it is not looked at again.
pub(crate) fn poll_control(
    control: &mut Inbox<Signal>,
    open: &mut bool,
    finishing: &mut bool,
    tcx: &mut std::task::Context<'_>,
) -> Option<Signal> {
    while *open {
        match control.poll_recv(tcx) {
            Poll::Ready(Ok(sig)) if sig.is_shutdown() => return Some(sig),
            Poll::Ready(Ok(_)) => *finishing = true,
            Poll::Ready(Err(RecvError::Closed)) => *open = false,
            Poll::Pending => break,
        }
    }
    None
}

/// A peer's address as messages show it (`?` if unknown).
#[derive(Clone, Copy)]
struct PeerAddr(Option<SocketAddr>);

impl std::fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(a) => a.fmt(f),
            None => f.write_str("?"),
        }
    }
}

/// How the read half ended.
enum ReadEnd {
    /// The peer closed its sending side (or reset the connection).
    Eof,
    /// The component behind `outbox` ended: nobody wants what we read.
    ConsumerGone(usize),
    Failed(io::Error),
}

thread_local! {
    /// Where sockets are read into before the bytes read are copied into a
    /// chunk of their own size: an idle connection holds no read buffer.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// One read into this thread's scratch buffer; `None` at end of stream.
fn read_chunk(s: &TcpStream, max: usize) -> io::Result<Option<Bytes>> {
    SCRATCH.with(|b| {
        let mut b = b.borrow_mut();
        if b.len() < max {
            b.resize(max, 0);
        }
        let mut s = s;
        let n = s.read(&mut b[..max])?;
        Ok((n > 0).then(|| Bytes::copy_from_slice(&b[..n])))
    })
}

fn is_disconnect(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe
    )
}

/// How the write half stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Input {
    Open,
    /// `ProducerFinished` seen: write what `inbox` holds, then finish.
    Finishing,
    Done,
}

/// The boxes an adapter works with, taken from its context.
pub(crate) struct Boxes {
    pub(crate) inbox: Inbox<Bytes>,
    pub(crate) control: Inbox<Signal>,
    pub(crate) out: Outbox<Bytes>,
    pub(crate) signal: Outbox<Signal>,
    /// `ProducerFinished` arrived before the adapter started (a client told
    /// to finish while still connecting): write what `inbox` holds, then FIN.
    pub(crate) finish: bool,
}

impl Boxes {
    /// Take the boxes declared by [`ConnectedSocketAdapter::declare`].
    pub(crate) fn take(cx: &mut Context) -> Result<Boxes, axon::BoxError> {
        Ok(Boxes {
            inbox: cx.inbox("inbox")?,
            control: cx.inbox("control")?,
            out: cx.outbox("outbox")?,
            signal: cx.outbox("signal")?,
            finish: false,
        })
    }
}

/// Run the adapter on `sock` with `boxes`. Shared with the TCP client and the
/// single-connection server, which become adapters once connected.
pub(crate) async fn run(boxes: Boxes, sock: IoSource<TcpStream>, cfg: CsaConfig) -> Result<(), CsaError> {
    let Boxes {
        mut inbox,
        mut control,
        out,
        mut signal,
        finish,
    } = boxes;
    // The peer's address, for messages (no allocation per connection).
    let peer = PeerAddr(sock.get_ref().peer_addr().ok());
    // Milliseconds since `base` of the last byte moved (for the idle timeout).
    let base = Instant::now();
    let last_activity = AtomicU64::new(0);
    let touch = |a: &AtomicU64| a.store(base.elapsed().as_millis() as u64, Ordering::Relaxed);

    let sock = &sock;
    let read_max = cfg.read_chunk.max(1);
    let activity = &last_activity;
    let mut reader = pin!(async move {
        let mut out = out;
        loop {
            match sock.read_with(|s| read_chunk(s, read_max)).await {
                Ok(Some(chunk)) => {
                    touch(activity);
                    if let Err(e) = out.send(chunk).await {
                        return ReadEnd::ConsumerGone(e.into_inner().len());
                    }
                }
                Ok(None) => return ReadEnd::Eof,
                Err(e) if is_disconnect(&e) => {
                    tracing::debug!(%e, "connection reset by peer");
                    return ReadEnd::Eof;
                }
                Err(e) => return ReadEnd::Failed(e),
            }
        }
    });

    let mut idle = cfg.idle_timeout.map(|t| (t, axon::time::sleep(t)));
    let mut reader_done = false;
    let mut finished_sent = false;
    let mut control_open = true;
    let mut input = if finish { Input::Finishing } else { Input::Open };
    let mut writing: Option<Bytes> = None;
    let mut write_shut = false;

    enum End {
        Done,
        Stop(Signal),
        Idle,
    }

    let end = poll_fn(|tcx| {
        // Control first: a shutdown beats everything else.
        let mut finishing = false;
        if let Some(sig) = poll_control(&mut control, &mut control_open, &mut finishing, tcx) {
            return Poll::Ready(Ok(End::Stop(sig)));
        }
        if finishing && input == Input::Open {
            input = Input::Finishing;
        }

        if !reader_done {
            if let Poll::Ready(end) = reader.as_mut().poll(tcx) {
                reader_done = true;
                match end {
                    ReadEnd::Eof => {
                        tracing::trace!(%peer, "peer finished sending");
                        let _ = signal.try_send(Signal::ProducerFinished);
                        finished_sent = true;
                    }
                    ReadEnd::ConsumerGone(n) => {
                        tracing::debug!(%peer, bytes = n, "nothing consumes this connection's input any more: closing it, {n} bytes read from it undelivered");
                    }
                    ReadEnd::Failed(e) => {
                        return Poll::Ready(Err(CsaError::Io {
                            peer: peer.to_string(),
                            op: "read",
                            source: e,
                        }))
                    }
                }
            }
        }

        // The write half: the current chunk, then the next from `inbox`.
        while !write_shut {
            if let Some(buf) = writing.as_mut() {
                match sock.poll_io(Direction::Write, tcx, |mut s| s.write(buf)) {
                    Poll::Ready(Ok(n)) => {
                        touch(&last_activity);
                        buf.advance(n);
                        if buf.is_empty() {
                            writing = None;
                        }
                        continue;
                    }
                    Poll::Ready(Err(e)) if is_disconnect(&e) => {
                        tracing::debug!(%peer, %e, "peer went away while we were writing");
                        return Poll::Ready(Ok(End::Done));
                    }
                    Poll::Ready(Err(e)) => {
                        return Poll::Ready(Err(CsaError::Io {
                            peer: peer.to_string(),
                            op: "write",
                            source: e,
                        }))
                    }
                    Poll::Pending => break,
                }
            }
            if input == Input::Done {
                // Everything written: tell the peer we have finished.
                let _ = sock.get_ref().shutdown(Shutdown::Write);
                write_shut = true;
                break;
            }
            match inbox.poll_recv(tcx) {
                Poll::Ready(Ok(chunk)) => {
                    if !chunk.is_empty() {
                        writing = Some(chunk);
                    }
                }
                Poll::Ready(Err(RecvError::Closed)) => input = Input::Done,
                Poll::Pending => {
                    if input == Input::Finishing && inbox.is_empty() {
                        input = Input::Done;
                        continue;
                    }
                    break;
                }
            }
        }

        if write_shut && reader_done {
            return Poll::Ready(Ok(End::Done));
        }

        if let Some((timeout, sleep)) = idle.as_mut() {
            while std::pin::Pin::new(&mut *sleep).poll(tcx).is_ready() {
                let due = base + Duration::from_millis(last_activity.load(Ordering::Relaxed)) + *timeout;
                if due <= Instant::now() {
                    return Poll::Ready(Ok(End::Idle));
                }
                sleep.reset(due);
            }
        }
        Poll::Pending
    })
    .await?;

    // Whatever else arrived at `control` (a second stop request, say) has
    // been answered by ending.
    while control.try_recv().is_ok() {}
    match end {
        End::Stop(sig) => {
            tracing::trace!(%peer, "adapter told to stop");
            let _ = signal.try_send(sig);
        }
        End::Idle => {
            tracing::debug!(%peer, "closing an idle connection");
            if !finished_sent {
                let _ = signal.try_send(Signal::ProducerFinished);
            }
        }
        End::Done => {
            if !finished_sent {
                let _ = signal.try_send(Signal::ProducerFinished);
            }
        }
    }
    Ok(())
}
