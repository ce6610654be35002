//! TCP components: [`TcpServer`] (accepts, hands out an adapter per
//! connection), [`TcpClient`] (connects, then is the adapter) and
//! [`SingleServer`] (one connection, as a component).
//!
//! All three bind or resolve when you build them, so a bad address is an
//! error in your hands at once ([`TcpError`]), and a server's
//! [`local_addr`](TcpServer::local_addr) is known before it runs (bind to
//! port 0 and read it back).

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use axon::{Component, Prefab, RecvError, Signal};
use mio::net::{TcpListener, TcpStream};

use super::csa::{self, ConnectedSocketAdapter, CsaConfig, CsaError};
use super::reactor::{Direction, IoSource, Reactor};

/// Who is at each end of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConnectionInfo {
    /// The remote end.
    pub peer: SocketAddr,
    /// Our end.
    pub local: SocketAddr,
}

impl fmt::Display for ConnectionInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}", self.peer, self.local)
    }
}

/// A TCP address could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TcpError {
    /// The address did not resolve to anything.
    #[error("could not resolve {addr:?}: {source} (use HOST:PORT, e.g. 127.0.0.1:8080)")]
    Resolve {
        /// The address as given.
        addr: String,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Listening failed.
    #[error("could not listen on {addr}: {source} (is the port in use, or below 1024 without privileges?)")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Connecting failed.
    #[error("could not connect to {addr}: {source}")]
    Connect {
        /// The address.
        addr: SocketAddr,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Connecting took longer than the timeout.
    #[error("could not connect to {addr}: no answer within {timeout:?}")]
    ConnectTimeout {
        /// The address.
        addr: SocketAddr,
        /// The timeout.
        timeout: Duration,
    },
    /// The socket could not be watched for readiness.
    #[error("could not watch the socket for readiness: {0} (is the process out of file descriptors?)")]
    Register(#[source] io::Error),
    /// The connection failed once established.
    #[error(transparent)]
    Connection(#[from] CsaError),
    /// A box the component needs is missing.
    #[error(transparent)]
    Box(#[from] axon::BoxError),
}

/// Resolve `addr` to its first socket address.
pub fn resolve(addr: impl ToSocketAddrs + fmt::Debug) -> Result<SocketAddr, TcpError> {
    let text = format!("{addr:?}");
    let mut addrs = addr.to_socket_addrs().map_err(|source| TcpError::Resolve {
        addr: text.clone(),
        source,
    })?;
    addrs.next().ok_or_else(|| TcpError::Resolve {
        addr: text,
        source: io::Error::new(io::ErrorKind::NotFound, "no addresses"),
    })
}

/// A bound, listening socket not yet watched by any reactor.
pub(crate) struct Bound {
    pub(crate) listener: TcpListener,
    pub(crate) local: SocketAddr,
}

impl Bound {
    pub(crate) fn bind(addr: impl ToSocketAddrs + fmt::Debug) -> Result<Bound, TcpError> {
        let addr = resolve(addr)?;
        // mio's bind sets SO_REUSEADDR and a backlog of 1024.
        let listener = TcpListener::bind(addr).map_err(|source| TcpError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| TcpError::Bind { addr, source })?;
        Ok(Bound { listener, local })
    }
}

/// Accept one connection, waiting for it. Errors that mean "try again later"
/// (out of file descriptors, a connection aborted before we took it) are
/// logged and waited out here rather than returned, so the caller's loop
/// cannot spin on them.
pub(crate) fn poll_accept(
    listener: &IoSource<TcpListener>,
    tcx: &mut std::task::Context<'_>,
    backoff: &mut Option<axon::time::Sleep>,
) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
    loop {
        if let Some(sleep) = backoff.as_mut() {
            if Pin::new(sleep).poll(tcx).is_pending() {
                return Poll::Pending;
            }
            *backoff = None;
        }
        match listener.poll_io(Direction::Read, tcx, |l| l.accept()) {
            Poll::Ready(Ok(c)) => return Poll::Ready(Ok(c)),
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
            Poll::Ready(Err(e)) if is_resource_limit(&e) => {
                tracing::warn!(error = %e, "cannot accept connections now; trying again in 100 ms");
                *backoff = Some(axon::time::sleep(Duration::from_millis(100)));
            }
            other => return other,
        }
    }
}

fn is_resource_limit(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// A connection [`TcpServer`] accepted: who it is with, and the adapter
/// component for it, ready to spawn (wire its boxes before activating it:
/// [`Prefab::create_child`]).
pub struct NewConnection {
    /// Both ends' addresses.
    pub info: ConnectionInfo,
    /// A [`ConnectedSocketAdapter`] for the connection.
    pub csa: Prefab,
}

impl fmt::Debug for NewConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewConnection").field("info", &self.info).finish()
    }
}

/// Kamaelia's `TCPServer`: listens, and sends a [`NewConnection`] out of
/// `outbox` for every connection accepted.
///
/// Boxes: `inbox: ()` (unused), `control: Signal` → `outbox: NewConnection`,
/// `signal: Signal`. Any signal at `control` closes the listening socket; the
/// server passes it on out of `signal` and ends. Connections already handed
/// out are not its business any more.
///
/// Most servers want [`ServerCore`](super::ServerCore), which also runs a
/// protocol component per connection and cleans up after it.
#[must_use = "a TcpServer is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct TcpServer {
    bound: Bound,
    cfg: CsaConfig,
}

impl TcpServer {
    /// Listen on `addr` now (port 0 picks a free port).
    pub fn bind(addr: impl ToSocketAddrs + fmt::Debug) -> Result<TcpServer, TcpError> {
        Ok(TcpServer {
            bound: Bound::bind(addr)?,
            cfg: CsaConfig::default(),
        })
    }

    /// The settings of the adapters it makes.
    pub fn csa_config(mut self, cfg: CsaConfig) -> Self {
        self.cfg = cfg;
        self
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.bound.local
    }

    /// The component.
    pub fn prefab(self) -> Prefab {
        let TcpServer { bound, cfg } = self;
        let spec = Component::new("TcpServer")
            .inbox::<()>("inbox")
            .inbox::<Signal>("control")
            .outbox::<NewConnection>("outbox")
            .outbox::<Signal>("signal");
        Prefab::new(spec, move |mut cx| async move {
            let reactor = Reactor::of(cx.system()).map_err(TcpError::Register)?;
            let listener = IoSource::new(&reactor, bound.listener).map_err(TcpError::Register)?;
            let mut control = cx.inbox::<Signal>("control")?;
            let mut out = cx.outbox::<NewConnection>("outbox")?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            let mut backoff = None;
            let mut control_open = true;
            loop {
                let ev = poll_fn(|tcx| {
                    if control_open {
                        match control.poll_recv(tcx) {
                            Poll::Ready(Ok(sig)) => return Poll::Ready(Err(Some(sig))),
                            Poll::Ready(Err(RecvError::Closed)) => control_open = false,
                            Poll::Pending => {}
                        }
                    }
                    poll_accept(&listener, tcx, &mut backoff).map(|r| {
                        r.map_err(|e| {
                            tracing::warn!(error = %e, "accept failed");
                            None
                        })
                    })
                })
                .await;
                match ev {
                    Ok((stream, peer)) => {
                        let _ = stream.set_nodelay(true);
                        let info = ConnectionInfo {
                            peer,
                            local: bound.local,
                        };
                        tracing::debug!(%peer, "connection accepted");
                        let csa = ConnectedSocketAdapter::from_mio(stream, cfg.clone());
                        if out.send(NewConnection { info, csa }).await.is_err() {
                            tracing::debug!("nobody takes new connections any more: stopping");
                            break;
                        }
                    }
                    Err(Some(sig)) => {
                        drop(listener);
                        let _ = signal.try_send(sig);
                        return Ok(());
                    }
                    Err(None) => {}
                }
            }
            let _ = signal.try_send(Signal::ProducerFinished);
            Ok(())
        })
    }
}

impl From<TcpServer> for Prefab {
    fn from(s: TcpServer) -> Prefab {
        s.prefab()
    }
}

/// Kamaelia's `TCPClient`: connects, then works as a
/// [`ConnectedSocketAdapter`] on the connection (same boxes, same behaviour).
///
/// A connection that cannot be made fails the component with
/// [`TcpError::Connect`] or [`TcpError::ConnectTimeout`] (so `Failed` goes out
/// of its `signal`).
///
/// ```
/// use kamaelia::internet::{Reactor, TcpClient};
/// let sys = Reactor::system(axon::System::builder().threads(1))?;
/// // Nothing listens on port 1 here: the client fails with a clear error.
/// let c = TcpClient::new("127.0.0.1:1".parse()?).prefab().spawn(&sys);
/// sys.run();
/// let outcome = format!("{:?}", c.outcome());
/// assert!(outcome.contains("could not connect to 127.0.0.1:1"), "{outcome}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a TcpClient is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct TcpClient {
    addr: SocketAddr,
    timeout: Duration,
    cfg: CsaConfig,
}

impl TcpClient {
    /// A client for `addr` (connect timeout 60 s, like the reference's).
    pub fn new(addr: SocketAddr) -> TcpClient {
        TcpClient {
            addr,
            timeout: Duration::from_secs(60),
            cfg: CsaConfig::default(),
        }
    }

    /// Give up connecting after `timeout`.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The settings of the adapter it becomes.
    pub fn csa_config(mut self, cfg: CsaConfig) -> Self {
        self.cfg = cfg;
        self
    }

    /// The component.
    pub fn prefab(self) -> Prefab {
        let TcpClient { addr, timeout, cfg } = self;
        Prefab::new(
            ConnectedSocketAdapter::declare("TcpClient", &cfg),
            move |mut cx| async move {
                let mut boxes = csa::Boxes::take(&mut cx)?;
                let reactor = Reactor::of(cx.system()).map_err(TcpError::Register)?;
                let stream = TcpStream::connect(addr).map_err(|source| TcpError::Connect { addr, source })?;
                let sock = IoSource::new(&reactor, stream).map_err(TcpError::Register)?;
                let mut deadline = axon::time::sleep(timeout);
                let mut control_open = true;
                // Writable means connected or failed; `peer_addr` tells which.
                let connected = poll_fn(|tcx| loop {
                    if control_open {
                        match boxes.control.poll_recv(tcx) {
                            Poll::Ready(Ok(sig)) if sig.is_shutdown() => return Poll::Ready(Ok(Some(sig))),
                            // ProducerFinished before we are connected: connect,
                            // write what `inbox` holds, then FIN (and read on).
                            Poll::Ready(Ok(_)) => {
                                boxes.finish = true;
                                continue;
                            }
                            Poll::Ready(Err(RecvError::Closed)) => control_open = false,
                            Poll::Pending => {}
                        }
                    }
                    if Pin::new(&mut deadline).poll(tcx).is_ready() {
                        return Poll::Ready(Err(TcpError::ConnectTimeout { addr, timeout }));
                    }
                    let ev = match sock.poll_ready(Direction::Write, tcx) {
                        Poll::Ready(ev) => ev,
                        Poll::Pending => return Poll::Pending,
                    };
                    if let Ok(Some(e)) | Err(e) = sock.get_ref().take_error() {
                        return Poll::Ready(Err(TcpError::Connect { addr, source: e }));
                    }
                    match sock.get_ref().peer_addr() {
                        Ok(_) => return Poll::Ready(Ok(None)),
                        Err(e) if e.kind() == io::ErrorKind::NotConnected => sock.clear_ready(ev),
                        Err(e) => return Poll::Ready(Err(TcpError::Connect { addr, source: e })),
                    }
                })
                .await;
                if let Some(sig) = connected? {
                    let _ = boxes.signal.try_send(sig);
                    return Ok(());
                }
                let _ = sock.get_ref().set_nodelay(true);
                tracing::debug!(%addr, "connected");
                csa::run(boxes, sock, cfg).await?;
                Ok(())
            },
        )
    }
}

impl From<TcpClient> for Prefab {
    fn from(c: TcpClient) -> Prefab {
        c.prefab()
    }
}

/// Kamaelia's `SingleServer`: listens, takes one connection, and is then the
/// adapter for it (its `inbox` goes to the client, the client's bytes come
/// out of its `outbox`); it ends when the connection does, with
/// `ProducerFinished` out of `signal`.
#[must_use = "a SingleServer is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct SingleServer {
    bound: Bound,
    cfg: CsaConfig,
}

impl SingleServer {
    /// Listen on `addr` now (port 0 picks a free port).
    pub fn bind(addr: impl ToSocketAddrs + fmt::Debug) -> Result<SingleServer, TcpError> {
        Ok(SingleServer {
            bound: Bound::bind(addr)?,
            cfg: CsaConfig::default(),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.bound.local
    }

    /// The settings of the adapter it becomes.
    pub fn csa_config(mut self, cfg: CsaConfig) -> Self {
        self.cfg = cfg;
        self
    }

    /// The component.
    pub fn prefab(self) -> Prefab {
        let SingleServer { bound, cfg } = self;
        Prefab::new(
            ConnectedSocketAdapter::declare("SingleServer", &cfg),
            move |mut cx| async move {
                let mut boxes = csa::Boxes::take(&mut cx)?;
                let reactor = Reactor::of(cx.system()).map_err(TcpError::Register)?;
                let listener = IoSource::new(&reactor, bound.listener).map_err(TcpError::Register)?;
                let mut backoff = None;
                let mut control_open = true;
                let accepted = poll_fn(|tcx| {
                    if control_open {
                        match boxes.control.poll_recv(tcx) {
                            Poll::Ready(Ok(sig)) => return Poll::Ready(Err(sig)),
                            Poll::Ready(Err(RecvError::Closed)) => control_open = false,
                            Poll::Pending => {}
                        }
                    }
                    poll_accept(&listener, tcx, &mut backoff).map(Ok)
                })
                .await;
                drop(listener);
                match accepted {
                    Err(sig) => {
                        let _ = boxes.signal.try_send(sig);
                        Ok(())
                    }
                    Ok(Err(e)) => Err(TcpError::Bind {
                        addr: bound.local,
                        source: e,
                    }
                    .into()),
                    Ok(Ok((stream, peer))) => {
                        let _ = stream.set_nodelay(true);
                        tracing::debug!(%peer, "connection accepted");
                        let sock = IoSource::new(&reactor, stream).map_err(TcpError::Register)?;
                        csa::run(boxes, sock, cfg).await?;
                        Ok(())
                    }
                }
            },
        )
    }
}

impl From<SingleServer> for Prefab {
    fn from(s: SingleServer) -> Prefab {
        s.prefab()
    }
}
