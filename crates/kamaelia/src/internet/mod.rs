//! Networking: sockets as components, on a reactor the scheduler sleeps in.
//!
//! Kamaelia's network subsystem, rebuilt on `mio`:
//!
//! | here | Kamaelia | what it does |
//! |---|---|---|
//! | [`Reactor`] | `Selector` | socket readiness; the scheduler's idle workers sleep in its `epoll_wait` |
//! | [`ConnectedSocketAdapter`] | `ConnectedSocketAdapter` | one connected socket: `inbox` bytes are written, read bytes come out of `outbox` |
//! | [`TcpServer`] | `TCPServer` | listens; a [`NewConnection`] (with its adapter) per connection |
//! | [`TcpClient`] | `TCPClient` | connects, then works as an adapter |
//! | [`ServerCore`] | `ServerCore` | a server running a protocol component per connection |
//! | [`SingleServer`] | `SingleServer` | one connection, as a component |
//! | [`SimplePeer`], [`TargettedPeer`], [`PostboxPeer`] | `UDP.SimplePeer`, ... | UDP datagrams in and out, ending on control |
//! | [`selector_service`] | `Selector`'s messages | the reference's message interface: readiness messages for any fd, as a CAT service |
//!
//! ## A server in a few lines
//!
//! Build the system with [`Reactor::system`] (its idle workers then sleep in
//! the poller), bind a [`ServerCore`] with a factory for the per-connection
//! protocol component, spawn it:
//!
//! ```no_run
//! use kamaelia::internet::{Reactor, ServerCore};
//! use kamaelia::util::pure_transformer;
//!
//! let sys = Reactor::system(axon::System::builder())?;
//! let server = ServerCore::bind("127.0.0.1:1601", |_info| pure_transformer(|b: bytes::Bytes| Some(b)))?;
//! println!("listening on {}", server.local_addr());
//! server.prefab().spawn(&sys);
//! sys.run();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## What the design guarantees
//!
//! * **No polling.** An idle server makes no wakeups: the poller waits with no
//!   timeout, and so does every component.
//! * **Bounded memory per connection.** Reads stop while the consumer is
//!   full; the adapter takes the next chunk to write only when the last is
//!   written; its inbox is size-limited ([`csa`] explains both directions).
//!   An idle connection holds no read buffer.
//! * **Errors are values.** A bad address, a port in use, a refused connect:
//!   a [`TcpError`] when you build the component, or the component's failure
//!   (so `Failed` goes out of its `signal`), never a panic.
//!
//! ## Non-goals
//!
//! TLS (put a protocol component in front), and platforms without `mio`.

pub mod csa;
mod park;
pub mod reactor;
pub mod selector;
pub mod server_core;
pub mod tcp;
pub mod udp;

pub use csa::{ConnectedSocketAdapter, CsaConfig, CsaError};
pub use reactor::{Direction, IoPark, IoSource, Reactor, ReadyEvent};
pub use selector::{selector_service, Ready, SelectorRequest};
pub use server_core::{ConnectionEvent, ServerCore};
pub use tcp::{resolve, ConnectionInfo, NewConnection, SingleServer, TcpClient, TcpError, TcpServer};
pub use udp::{PostboxPeer, SimplePeer, TargettedPeer, UdpError};
