//! UDP peers: a bound datagram socket as a component (Kamaelia's `UDP` /
//! `UDP_ng` peers).
//!
//! Three forms, which differ only in where the datagrams from `inbox` go:
//!
//! | here | `inbox` carries | sent to |
//! |---|---|---|
//! | [`SimplePeer`] | [`Bytes`] | the remote address given when it was built |
//! | [`TargettedPeer`] | [`Bytes`] | the last address received on its `target` inbox |
//! | [`PostboxPeer`] | `(SocketAddr, Bytes)` | the address that comes with each datagram |
//!
//! Every datagram the socket receives comes out of `outbox` as
//! `(Bytes, SocketAddr)`: the payload and who sent it. Each `Bytes` sent is
//! one datagram, up to [`MAX_DATAGRAM`] bytes over IPv4.
//!
//! Like the TCP components, the builders bind when you call them, so a port
//! in use is a [`UdpError`] in your hands at once and
//! [`local_addr`](SimplePeer::local_addr) is known before the component runs
//! (bind to port 0 and read it back).
//!
//! ```
//! use bytes::Bytes;
//! use kamaelia::internet::{Reactor, SimplePeer};
//!
//! let sys = Reactor::system(axon::System::builder().threads(1))?;
//! let running = sys.start();
//! let receiver = std::net::UdpSocket::bind("127.0.0.1:0")?;
//! let peer = SimplePeer::bind("127.0.0.1:0", receiver.local_addr()?)?;
//! let from = peer.local_addr();
//! let mut h: axon::Handle<Bytes, (Bytes, std::net::SocketAddr)> = axon::Handle::spawn(&sys, peer.prefab())?;
//! h.send_blocking(Bytes::from_static(b"ping"))?;
//! let mut buf = [0u8; 16];
//! let (n, sender) = receiver.recv_from(&mut buf)?;
//! assert_eq!((&buf[..n], sender), (&b"ping"[..], from));
//! h.shutdown()?;
//! h.join();
//! running.shutdown();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Ends and signals
//!
//! Unlike the reference's peers, which ran until shut down, these end cleanly:
//!
//! | event | what the peer does |
//! |---|---|
//! | `ShutdownMicroprocess` (or a `Failed`) at `control` | closes the socket at once, passes the signal on out of `signal`, ends |
//! | `ProducerFinished` at `control` | sends what `inbox` holds, then closes the socket, sends `ProducerFinished` out of `signal`, ends |
//! | every sender into `inbox` gone | stops sending but keeps receiving |
//! | the consumer of `outbox` gone | stops receiving but keeps sending |
//! | both of the last two | ends, with `ProducerFinished` out of `signal` |
//! | receiving fails (not "would block") | the component fails with [`UdpError::Io`] (so `Failed` goes out of `signal`) |
//!
//! A datagram the kernel refuses to send (too large, no route, wrong address
//! family, ...) is not fatal to a peer that may be talking to many addresses:
//! it is logged at `warn` with the reason, and the peer goes on with the next.
//!
//! ## Flow control, and what UDP does with it
//!
//! * **Receiving:** a datagram the consumer has no room for waits in the peer,
//!   and nothing more is read from the socket until it is delivered. While no
//!   consumer is linked, at most [`DEFAULT_HELD`] datagrams are held in
//!   `outbox`. Datagrams that keep arriving meanwhile queue in the kernel's
//!   socket buffer, and **once that is full the kernel drops them**: UDP has
//!   no way to slow the sender down. Bound the consumer's inbox to bound the
//!   memory; a slow consumer loses datagrams, never grows without limit.
//! * **Sending:** the next datagram is taken from `inbox` (size-limited, see
//!   [`DEFAULT_INBOX_SIZE`]) only when the last one has been handed to the
//!   kernel; when the socket's send buffer is full the peer waits until it is
//!   writable again, so whoever feeds `inbox` is held up rather than having
//!   datagrams thrown away on this side.
//!
//! Received datagrams are read into one 64 KiB buffer per scheduler thread
//! and copied into a `Bytes` of their own size: an idle peer holds no buffer.

use std::cell::RefCell;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::pin;
use std::task::{Context as TaskContext, Poll};

use axon::{Component, Context, Inbox, Prefab, RecvError, Signal};
use bytes::Bytes;
use mio::net::UdpSocket;

use super::csa::poll_control;
use super::reactor::{Direction, IoSource, Reactor};

/// The largest UDP payload over IPv4 (65,535 less the IP and UDP headers).
/// Over IPv6 the kernel accepts up to 65,527.
pub const MAX_DATAGRAM: usize = 65_507;

/// The size limit of a peer's `inbox` (and `target`), by default, in datagrams.
pub const DEFAULT_INBOX_SIZE: usize = 64;

/// How many received datagrams a peer holds in `outbox` while nothing is
/// linked to it; then it stops receiving (see the [module docs](self)).
pub const DEFAULT_HELD: usize = 64;

/// A receive buffer large enough for any UDP datagram.
const RECV_BUFFER: usize = 65_536;

/// A UDP peer could not be set up, or failed while running.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UdpError {
    /// The address did not resolve to anything.
    #[error("could not resolve {addr:?}: {source} (use HOST:PORT, e.g. 127.0.0.1:1500)")]
    Resolve {
        /// The address as given.
        addr: String,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Binding the socket failed.
    #[error("could not bind a UDP socket to {addr}: {source} (is the port in use, or below 1024 without privileges?)")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The socket could not be watched for readiness.
    #[error("could not watch the UDP socket for readiness: {0} (is the process out of file descriptors?)")]
    Register(#[source] io::Error),
    /// Receiving from the socket failed.
    #[error("UDP socket {local}: {op} failed: {source}")]
    Io {
        /// The socket's own address.
        local: SocketAddr,
        /// What failed (`receive`).
        op: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// A box the peer needs is missing (a bug in whoever declared it).
    #[error(transparent)]
    Box(#[from] axon::BoxError),
}

/// Resolve `addr` to its first socket address.
fn resolve(addr: impl ToSocketAddrs + fmt::Debug) -> Result<SocketAddr, UdpError> {
    let text = format!("{addr:?}");
    let mut addrs = addr.to_socket_addrs().map_err(|source| UdpError::Resolve {
        addr: text.clone(),
        source,
    })?;
    addrs.next().ok_or_else(|| UdpError::Resolve {
        addr: text,
        source: io::Error::new(io::ErrorKind::NotFound, "no addresses"),
    })
}

/// A bound socket not yet watched by any reactor, and what every peer
/// builder shares.
struct Bound {
    socket: UdpSocket,
    local: SocketAddr,
    inbox_size: usize,
}

impl fmt::Debug for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bound")
            .field("local", &self.local)
            .field("inbox_size", &self.inbox_size)
            .finish()
    }
}

impl Bound {
    fn bind(addr: impl ToSocketAddrs + fmt::Debug) -> Result<Bound, UdpError> {
        let addr = resolve(addr)?;
        let socket = UdpSocket::bind(addr).map_err(|source| UdpError::Bind { addr, source })?;
        let local = socket
            .local_addr()
            .map_err(|source| UdpError::Bind { addr, source })?;
        Ok(Bound {
            socket,
            local,
            inbox_size: DEFAULT_INBOX_SIZE,
        })
    }

    /// The boxes every peer has; `inbox` carries `I`.
    fn declare<I: Send + 'static>(&self, name: &str) -> Component {
        Component::new(name.to_string())
            .inbox_with_size::<I>("inbox", self.inbox_size)
            .inbox::<Signal>("control")
            .outbox::<(Bytes, SocketAddr)>("outbox")
            .outbox::<Signal>("signal")
    }
}

/// Where a peer's datagrams come from: its `inbox` (and for
/// [`TargettedPeer`], its `target`).
trait Feed: Send {
    /// The next datagram and its destination; `Ready(None)` once no more can
    /// come. `finishing`: `ProducerFinished` was received, so what cannot be
    /// sent now never will be.
    fn poll_next(&mut self, cx: &mut TaskContext<'_>, finishing: bool) -> Poll<Option<(Bytes, SocketAddr)>>;

    /// Whether nothing is waiting in `inbox`.
    fn is_empty(&self) -> bool;
}

/// [`SimplePeer`]'s feed: `inbox` to one fixed address.
struct Fixed {
    inbox: Inbox<Bytes>,
    remote: SocketAddr,
}

impl Feed for Fixed {
    fn poll_next(&mut self, cx: &mut TaskContext<'_>, _: bool) -> Poll<Option<(Bytes, SocketAddr)>> {
        self.inbox
            .poll_recv(cx)
            .map(|r| r.ok().map(|data| (data, self.remote)))
    }

    fn is_empty(&self) -> bool {
        self.inbox.is_empty()
    }
}

/// [`TargettedPeer`]'s feed: `inbox` to the last address seen on `target`.
struct Targetted {
    inbox: Inbox<Bytes>,
    target: Inbox<SocketAddr>,
    target_open: bool,
    remote: Option<SocketAddr>,
}

impl Feed for Targetted {
    fn poll_next(&mut self, cx: &mut TaskContext<'_>, finishing: bool) -> Poll<Option<(Bytes, SocketAddr)>> {
        while self.target_open {
            match self.target.poll_recv(cx) {
                Poll::Ready(Ok(addr)) => {
                    tracing::trace!(%addr, "new UDP target");
                    self.remote = Some(addr);
                }
                Poll::Ready(Err(RecvError::Closed)) => self.target_open = false,
                Poll::Pending => break,
            }
        }
        let Some(remote) = self.remote else {
            // Nowhere to send to: leave the data in `inbox` (holding up its
            // sender) until a target comes, unless none can any more.
            if finishing || !self.target_open {
                let waiting = self.inbox.len();
                if waiting > 0 {
                    tracing::warn!(
                        datagrams = waiting,
                        "UDP peer ends with {waiting} datagrams unsent: it was never given a target"
                    );
                }
                return Poll::Ready(None);
            }
            return Poll::Pending;
        };
        self.inbox
            .poll_recv(cx)
            .map(|r| r.ok().map(|data| (data, remote)))
    }

    fn is_empty(&self) -> bool {
        self.inbox.is_empty()
    }
}

/// [`PostboxPeer`]'s feed: each datagram names its destination.
struct Postbox {
    inbox: Inbox<(SocketAddr, Bytes)>,
}

impl Feed for Postbox {
    fn poll_next(&mut self, cx: &mut TaskContext<'_>, _: bool) -> Poll<Option<(Bytes, SocketAddr)>> {
        self.inbox
            .poll_recv(cx)
            .map(|r| r.ok().map(|(to, data)| (data, to)))
    }

    fn is_empty(&self) -> bool {
        self.inbox.is_empty()
    }
}

/// Kamaelia's `SimplePeer`: a UDP socket bound to a local address, sending
/// each `inbox` [`Bytes`] as one datagram to a fixed remote address.
///
/// Boxes: `inbox: Bytes`, `control: Signal` → `outbox: (Bytes, SocketAddr)`
/// (each datagram received, and its sender), `signal: Signal`. See the
/// [module docs](self) for how it ends and its flow control.
#[derive(Debug)]
#[must_use = "a SimplePeer is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct SimplePeer {
    bound: Bound,
    remote: SocketAddr,
}

impl SimplePeer {
    /// Bind to `local` now (port 0 picks a free port); datagrams from
    /// `inbox` go to `remote`.
    pub fn bind(local: impl ToSocketAddrs + fmt::Debug, remote: SocketAddr) -> Result<SimplePeer, UdpError> {
        Ok(SimplePeer {
            bound: Bound::bind(local)?,
            remote,
        })
    }

    /// The address it is bound to (where others send to reach it).
    pub fn local_addr(&self) -> SocketAddr {
        self.bound.local
    }

    /// Where it sends.
    pub fn remote_addr(&self) -> SocketAddr {
        self.remote
    }

    /// Send to `remote` instead (for two peers that send to each other:
    /// bind both, then tell each the other's address).
    pub fn remote(mut self, remote: SocketAddr) -> Self {
        self.remote = remote;
        self
    }

    /// The size limit of `inbox`, in datagrams (default
    /// [`DEFAULT_INBOX_SIZE`], at least 1).
    pub fn inbox_size(mut self, datagrams: usize) -> Self {
        self.bound.inbox_size = datagrams.max(1);
        self
    }

    /// The component.
    pub fn prefab(self) -> Prefab {
        let SimplePeer { bound, remote } = self;
        Prefab::new(bound.declare::<Bytes>("SimplePeer"), move |mut cx| async move {
            let inbox = cx.inbox::<Bytes>("inbox")?;
            Ok(run(&mut cx, bound, Fixed { inbox, remote }).await?)
        })
    }
}

impl From<SimplePeer> for Prefab {
    fn from(p: SimplePeer) -> Prefab {
        p.prefab()
    }
}

/// Kamaelia's `TargettedPeer`: a [`SimplePeer`] whose destination is set,
/// and changed, by sending a [`SocketAddr`] to its `target` inbox.
///
/// Boxes: as [`SimplePeer`], plus `target: SocketAddr`. A new target applies
/// to the datagrams taken from `inbox` after it arrived (`target` and `inbox`
/// are separate boxes, so there is no order between them: to switch between
/// two datagrams, send the new target once the first has gone). Until it has
/// a target, the peer leaves `inbox` alone (its sender waits); if it is told
/// to finish before it ever had one, the datagrams left are reported at
/// `warn`.
#[derive(Debug)]
#[must_use = "a TargettedPeer is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct TargettedPeer {
    bound: Bound,
    remote: Option<SocketAddr>,
}

impl TargettedPeer {
    /// Bind to `local` now (port 0 picks a free port), with no target yet.
    pub fn bind(local: impl ToSocketAddrs + fmt::Debug) -> Result<TargettedPeer, UdpError> {
        Ok(TargettedPeer {
            bound: Bound::bind(local)?,
            remote: None,
        })
    }

    /// Start with `remote` as the target.
    pub fn target(mut self, remote: SocketAddr) -> Self {
        self.remote = Some(remote);
        self
    }

    /// The address it is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.bound.local
    }

    /// The size limit of `inbox` and `target` (default
    /// [`DEFAULT_INBOX_SIZE`], at least 1).
    pub fn inbox_size(mut self, datagrams: usize) -> Self {
        self.bound.inbox_size = datagrams.max(1);
        self
    }

    /// The component.
    pub fn prefab(self) -> Prefab {
        let TargettedPeer { bound, remote } = self;
        let spec = bound
            .declare::<Bytes>("TargettedPeer")
            .inbox_with_size::<SocketAddr>("target", bound.inbox_size);
        Prefab::new(spec, move |mut cx| async move {
            let feed = Targetted {
                inbox: cx.inbox::<Bytes>("inbox")?,
                target: cx.inbox::<SocketAddr>("target")?,
                target_open: true,
                remote,
            };
            Ok(run(&mut cx, bound, feed).await?)
        })
    }
}

impl From<TargettedPeer> for Prefab {
    fn from(p: TargettedPeer) -> Prefab {
        p.prefab()
    }
}

/// Kamaelia's `PostboxPeer`: a UDP peer with no fixed destination; each
/// message at `inbox` is `(SocketAddr, Bytes)`, the datagram and where it
/// goes.
///
/// Boxes: `inbox: (SocketAddr, Bytes)`, `control: Signal` →
/// `outbox: (Bytes, SocketAddr)`, `signal: Signal`.
#[derive(Debug)]
#[must_use = "a PostboxPeer is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct PostboxPeer {
    bound: Bound,
}

impl PostboxPeer {
    /// Bind to `local` now (port 0 picks a free port).
    pub fn bind(local: impl ToSocketAddrs + fmt::Debug) -> Result<PostboxPeer, UdpError> {
        Ok(PostboxPeer {
            bound: Bound::bind(local)?,
        })
    }

    /// The address it is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.bound.local
    }

    /// The size limit of `inbox` (default [`DEFAULT_INBOX_SIZE`], at least 1).
    pub fn inbox_size(mut self, datagrams: usize) -> Self {
        self.bound.inbox_size = datagrams.max(1);
        self
    }

    /// The component.
    pub fn prefab(self) -> Prefab {
        let PostboxPeer { bound } = self;
        Prefab::new(
            bound.declare::<(SocketAddr, Bytes)>("PostboxPeer"),
            move |mut cx| async move {
                let inbox = cx.inbox::<(SocketAddr, Bytes)>("inbox")?;
                Ok(run(&mut cx, bound, Postbox { inbox }).await?)
            },
        )
    }
}

impl From<PostboxPeer> for Prefab {
    fn from(p: PostboxPeer) -> Prefab {
        p.prefab()
    }
}

thread_local! {
    /// Where datagrams are received into before being copied into a `Bytes`
    /// of their own size.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Receive one datagram through this thread's scratch buffer.
fn recv_datagram(s: &UdpSocket) -> io::Result<(Bytes, SocketAddr)> {
    SCRATCH.with(|b| {
        let mut b = b.borrow_mut();
        if b.len() < RECV_BUFFER {
            b.resize(RECV_BUFFER, 0);
        }
        let (n, from) = s.recv_from(&mut b[..])?;
        Ok((Bytes::copy_from_slice(&b[..n]), from))
    })
}

/// Errors a receive may report for an earlier datagram's fate (an ICMP
/// message), not for the socket: worth a debug line, not the peer's end.
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset | io::ErrorKind::Interrupted
    )
}

/// How the receiving half ended.
enum ReadEnd {
    /// The component behind `outbox` ended.
    ConsumerGone,
    Failed(io::Error),
}

/// How the sending half stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Input {
    Open,
    Done,
}

enum End {
    Done,
    Stop(Signal),
}

/// Run a peer on `bound`, sending what `feed` gives.
async fn run(cx: &mut Context, bound: Bound, mut feed: impl Feed) -> Result<(), UdpError> {
    let mut control = cx.inbox::<Signal>("control")?;
    let out = cx.outbox::<(Bytes, SocketAddr)>("outbox")?;
    let mut signal = cx.outbox::<Signal>("signal")?;
    // While nothing is linked, hold a bounded number of datagrams, then wait.
    out.set_size(Some(DEFAULT_HELD));
    let reactor = Reactor::of(cx.system()).map_err(UdpError::Register)?;
    let local = bound.local;
    let sock = IoSource::new(&reactor, bound.socket).map_err(UdpError::Register)?;
    tracing::debug!(%local, "UDP peer running");

    let sock = &sock;
    let mut reader = pin!(async move {
        let mut out = out;
        loop {
            match sock.read_with(recv_datagram).await {
                Ok(d) => {
                    if out.send(d).await.is_err() {
                        return ReadEnd::ConsumerGone;
                    }
                }
                Err(e) if is_transient(&e) => {
                    tracing::debug!(%local, error = %e, "UDP receive reported an earlier datagram's failure");
                }
                Err(e) => return ReadEnd::Failed(e),
            }
        }
    });

    let mut reader_done = false;
    let mut control_open = true;
    let mut finishing = false;
    let mut input = Input::Open;
    let mut sending: Option<(Bytes, SocketAddr)> = None;

    let end = poll_fn(|tcx| {
        // Control first: a shutdown beats everything else.
        if let Some(sig) = poll_control(&mut control, &mut control_open, &mut finishing, tcx) {
            return Poll::Ready(Ok(End::Stop(sig)));
        }

        if !reader_done {
            if let Poll::Ready(end) = reader.as_mut().poll(tcx) {
                reader_done = true;
                match end {
                    ReadEnd::ConsumerGone => {
                        tracing::debug!(%local, "nothing consumes this UDP peer's datagrams any more: one undelivered, no more received");
                    }
                    ReadEnd::Failed(source) => {
                        return Poll::Ready(Err(UdpError::Io {
                            local,
                            op: "receive",
                            source,
                        }))
                    }
                }
            }
        }

        // The sending half: the current datagram, then the next from the feed.
        while input == Input::Open || sending.is_some() {
            if let Some((data, to)) = &sending {
                match sock.poll_io(Direction::Write, tcx, |s| s.send_to(data, *to)) {
                    Poll::Ready(Ok(n)) => {
                        if n < data.len() {
                            tracing::warn!(%local, %to, sent = n, len = data.len(), "UDP datagram truncated by the kernel");
                        }
                        sending = None;
                    }
                    Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Poll::Ready(Err(e)) => {
                        tracing::warn!(%local, %to, len = data.len(), error = %e, "UDP datagram not sent");
                        sending = None;
                    }
                    Poll::Pending => break,
                }
                continue;
            }
            match feed.poll_next(tcx, finishing) {
                Poll::Ready(Some(d)) => sending = Some(d),
                Poll::Ready(None) => input = Input::Done,
                Poll::Pending => {
                    if finishing && feed.is_empty() {
                        input = Input::Done;
                    }
                    break;
                }
            }
        }

        if input == Input::Done && sending.is_none() && (finishing || reader_done) {
            return Poll::Ready(Ok(End::Done));
        }
        Poll::Pending
    })
    .await?;

    match end {
        End::Stop(sig) => {
            tracing::debug!(%local, "UDP peer told to stop");
            let _ = signal.try_send(sig);
        }
        End::Done => {
            tracing::debug!(%local, "UDP peer finished");
            let _ = signal.try_send(Signal::ProducerFinished);
        }
    }
    Ok(())
}
