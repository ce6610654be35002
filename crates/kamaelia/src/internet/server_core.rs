//! [`ServerCore`]: a TCP server that runs one protocol component per
//! connection (Kamaelia's `ServerCore`).
//!
//! For each connection it accepts, `ServerCore` makes a
//! [`ConnectedSocketAdapter`] and a protocol component from your factory,
//! wires them to each other, and starts both as its children:
//!
//! ```text
//!             outbox ──────────► inbox
//!   socket ◄─► adapter            protocol
//!             inbox  ◄────────── outbox
//!             signal ──────────► control
//!             control ◄───────── signal
//! ```
//!
//! The protocol component sees the peer's bytes as [`bytes::Bytes`]
//! chunks, hears `ProducerFinished` when the peer has finished sending, and
//! closes the connection by finishing (its `signal` tells the adapter to
//! flush and close). Both children end, and are forgotten, when the
//! connection is over; nothing per connection outlives it.
//!
//! * **Limits:** at most [`max_connections`](ServerCore::max_connections) at a
//!   time (further ones wait in the listen backlog until one ends); an
//!   [`idle_timeout`](ServerCore::idle_timeout); the size of both inboxes
//!   between socket and protocol ([`box_size`](ServerCore::box_size)), which
//!   bounds the memory of a connection whatever its peer does.
//! * **Stopping:** `ProducerFinished` at `control` stops accepting (the
//!   listening socket closes) and lets the connections finish on their own;
//!   `ShutdownMicroprocess` also closes every connection now. Either way
//!   `ServerCore` ends when its last connection has, passing the signal on
//!   out of `signal`.
//! * **Reporting:** if `outbox` is linked, a [`ConnectionEvent`] goes out of
//!   it as each connection opens and closes; `tracing` logs the same at
//!   debug.
//!
//! ```
//! use axon::Signal;
//! use kamaelia::internet::{Reactor, ServerCore};
//! use kamaelia::util::pure_transformer;
//! use std::io::{Read, Write};
//!
//! let sys = Reactor::system(axon::System::builder().threads(1))?;
//! // An echo server: the protocol sends back what it gets.
//! let server = ServerCore::bind("127.0.0.1:0", |_info| {
//!     pure_transformer(|chunk: bytes::Bytes| Some(chunk))
//! })?;
//! let addr = server.local_addr();
//! let running = sys.start();
//! let core = server.prefab().spawn(&sys);
//!
//! let mut client = std::net::TcpStream::connect(addr)?;
//! client.write_all(b"hello")?;
//! client.shutdown(std::net::Shutdown::Write)?;
//! let mut back = String::new();
//! client.read_to_string(&mut back)?;
//! assert_eq!(back, "hello");
//!
//! let mut stop = axon::Outbox::<Signal>::detached("stop");
//! axon::link(&stop.endpoint(), &core.inbox("control")?)?;
//! stop.try_send(Signal::ShutdownMicroprocess)?;
//! core.join();
//! running.shutdown();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::future::{poll_fn, Future};
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use axon::{ChildExit, Component, ComponentId, ComponentRef, Prefab, RecvError, Signal};
use bytes::Bytes;

use super::csa::{ConnectedSocketAdapter, CsaConfig};
use super::reactor::{IoSource, Reactor};
use super::tcp::{poll_accept, Bound, ConnectionInfo, TcpError};

/// What [`ServerCore`] reports out of its `outbox` (when linked).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionEvent {
    /// A connection was accepted and its protocol component started.
    Opened(ConnectionInfo),
    /// A connection's adapter ended (its socket is closed).
    Closed(ConnectionInfo),
    /// A connection was accepted but its protocol component could not be
    /// wired (for example its `inbox` does not carry `Bytes`); it was closed.
    Refused(ConnectionInfo, String),
}

type Factory = Arc<dyn Fn(ConnectionInfo) -> Prefab + Send + Sync + 'static>;

/// A TCP server running one protocol component per connection; see the
/// [module docs](self).
#[must_use = "a ServerCore is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct ServerCore {
    bound: Bound,
    factory: Factory,
    cfg: CsaConfig,
    max_connections: usize,
}

impl fmt::Debug for ServerCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerCore")
            .field("local_addr", &self.bound.local)
            .field("max_connections", &self.max_connections)
            .field("csa", &self.cfg)
            .finish()
    }
}

/// One live connection, as the server tracks it (keyed by its adapter's id).
struct Conn {
    info: ConnectionInfo,
    /// The adapter, for shutting it down.
    csa: ComponentRef,
}

impl ServerCore {
    /// Listen on `addr` now (port 0 picks a free port); `protocol` makes the
    /// component for each connection (boxes `inbox: Bytes`, `control`,
    /// `outbox: Bytes`, `signal`).
    pub fn bind<F, P>(addr: impl ToSocketAddrs + fmt::Debug, protocol: F) -> Result<ServerCore, TcpError>
    where
        F: Fn(ConnectionInfo) -> P + Send + Sync + 'static,
        P: Into<Prefab>,
    {
        Ok(ServerCore {
            bound: Bound::bind(addr)?,
            factory: Arc::new(move |info| protocol(info).into()),
            cfg: CsaConfig::default(),
            max_connections: 100_000,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.bound.local
    }

    /// At most `n` connections at a time (default 100,000); more wait in the
    /// listen backlog.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Close a connection with no bytes either way for `timeout`.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.cfg.idle_timeout = Some(timeout);
        self
    }

    /// The size limit, in chunks, of the adapter's and the protocol's
    /// `inbox` (default [`DEFAULT_INBOX_SIZE`](super::csa::DEFAULT_INBOX_SIZE)).
    pub fn box_size(mut self, chunks: usize) -> Self {
        self.cfg.inbox_size = chunks.max(1);
        self
    }

    /// The largest chunk read from a socket at once.
    pub fn read_chunk(mut self, bytes: usize) -> Self {
        self.cfg.read_chunk = bytes.max(1);
        self
    }

    /// The component.
    pub fn prefab(self) -> Prefab {
        let ServerCore {
            bound,
            factory,
            cfg,
            max_connections,
        } = self;
        let spec = Component::new("ServerCore")
            .inbox::<()>("inbox")
            .inbox::<Signal>("control")
            .outbox::<ConnectionEvent>("outbox")
            .outbox::<Signal>("signal");
        Prefab::new(spec, move |mut cx| async move {
            let reactor = Reactor::of(cx.system()).map_err(TcpError::Register)?;
            let local = bound.local;
            let mut listener = Some(IoSource::new(&reactor, bound.listener).map_err(TcpError::Register)?);
            let mut control = cx.inbox::<Signal>("control")?;
            let mut events = cx.outbox::<ConnectionEvent>("outbox")?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            tracing::debug!(%local, "server listening");

            let mut conns: HashMap<ComponentId, Conn> = HashMap::new();
            let mut children = 0usize;
            let mut control_open = true;
            let mut stopping: Option<Signal> = None;
            let mut backoff = None;

            enum Ev {
                Control(Signal),
                Exit(Option<ChildExit>),
                Accepted(std::io::Result<(mio::net::TcpStream, SocketAddr)>),
            }

            loop {
                if stopping.is_some() && children == 0 {
                    break;
                }
                let ev = poll_fn(|tcx| {
                    if control_open {
                        match control.poll_recv(tcx) {
                            Poll::Ready(Ok(sig)) => return Poll::Ready(Ev::Control(sig)),
                            Poll::Ready(Err(RecvError::Closed)) => control_open = false,
                            Poll::Pending => {}
                        }
                    }
                    if children > 0 {
                        if let Poll::Ready(exit) = Pin::new(&mut cx.child_exit()).poll(tcx) {
                            return Poll::Ready(Ev::Exit(exit));
                        }
                    }
                    match &listener {
                        Some(l) if conns.len() < max_connections => {
                            poll_accept(l, tcx, &mut backoff).map(Ev::Accepted)
                        }
                        _ => Poll::Pending,
                    }
                })
                .await;
                match ev {
                    Ev::Control(sig) => {
                        // Stop accepting: new connections are refused now.
                        listener = None;
                        if sig.is_shutdown() {
                            for conn in conns.values() {
                                // An adapter always has `control`; one that has
                                // just ended is on its way out anyway.
                                let _ = conn.csa.shutdown();
                            }
                        }
                        tracing::debug!(%local, connections = conns.len(), ?sig, "server stopping");
                        stopping = Some(sig);
                    }
                    Ev::Exit(None) => children = 0,
                    Ev::Exit(Some(exit)) => {
                        children = children.saturating_sub(1);
                        if let Some(conn) = conns.remove(&exit.child.id()) {
                            tracing::debug!(peer = %conn.info.peer, "connection closed");
                            if events.is_linked() {
                                let _ = events.try_send(ConnectionEvent::Closed(conn.info));
                            }
                        }
                    }
                    Ev::Accepted(Err(e)) => {
                        tracing::warn!(%local, error = %e, "accepting a connection failed");
                    }
                    Ev::Accepted(Ok((stream, peer))) => {
                        let _ = stream.set_nodelay(true);
                        let info = ConnectionInfo { peer, local };
                        let csa = ConnectedSocketAdapter::from_mio(stream, cfg.clone()).create_child(&cx);
                        let proto = (factory)(info).create_child(&cx);
                        match wire(csa.component(), proto.component(), cfg.inbox_size) {
                            Ok(()) => {
                                let csa = csa.activate();
                                proto.activate();
                                children += 2;
                                if stopping.as_ref().is_some_and(Signal::is_shutdown) {
                                    let _ = csa.shutdown();
                                }
                                conns.insert(csa.id(), Conn { info, csa });
                                tracing::debug!(%peer, "connection opened");
                                if events.is_linked() {
                                    let _ = events.try_send(ConnectionEvent::Opened(info));
                                }
                            }
                            Err(e) => {
                                // Dropping the dormant children closes the socket.
                                tracing::warn!(%peer, error = %e, "cannot run the protocol for this connection: closing it");
                                if events.is_linked() {
                                    let _ = events.try_send(ConnectionEvent::Refused(info, e.to_string()));
                                }
                            }
                        }
                    }
                }
            }
            let _ = signal.try_send(stopping.unwrap_or(Signal::ProducerFinished));
            Ok(())
        })
    }
}

impl From<ServerCore> for Prefab {
    fn from(s: ServerCore) -> Prefab {
        s.prefab()
    }
}

/// Wire an adapter and a protocol component to each other (see the module
/// docs' picture).
fn wire(csa: &ComponentRef, proto: &ComponentRef, box_size: usize) -> Result<(), axon::Error> {
    let proto_in = proto.inbox::<Bytes>("inbox")?;
    proto_in.set_size(Some(box_size));
    axon::link(&csa.outbox::<Bytes>("outbox")?, &proto_in)?;
    axon::link(&proto.outbox::<Bytes>("outbox")?, &csa.inbox::<Bytes>("inbox")?)?;
    axon::link(
        &csa.outbox::<Signal>("signal")?,
        &proto.inbox::<Signal>("control")?,
    )?;
    axon::link(
        &proto.outbox::<Signal>("signal")?,
        &csa.inbox::<Signal>("control")?,
    )?;
    Ok(())
}
