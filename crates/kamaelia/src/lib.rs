//! # Kamaelia: the component library on the axon kernel
//!
//! Components and composites built on [`axon`]'s components, typed boxes and
//! linkages. Every component here is a function or builder returning an
//! [`axon::Prefab`]: a component declared and given a body, activated by the
//! composite (or system) it is put in.
//!
//! * [`chassis`]: components that hold and wire other components —
//!   [`Pipeline`](chassis::Pipeline) ([`pipeline!`]), [`Graphline`](chassis::Graphline)
//!   ([`graphline!`]), [`Carousel`](chassis::Carousel), [`Seq`](chassis::Seq) and
//!   [`Par`](chassis::Par).
//! * [`util`]: everyday components — transformers, filters, sources and sinks,
//!   console reading and echoing, serde marshalling, line splitting and framing
//!   of byte streams, fan-out and splitting, choosers, comparators, rate
//!   limiting, file reading and writing, and a streaming introspector.
//! * [`backplane`]: named publish/subscribe hubs found through the CAT.
//! * [`internet`]: sockets as components — a reactor the scheduler sleeps in,
//!   TCP server, client and connection adapter, `ServerCore`.
//! * [`protocol`]: protocol components on byte streams — an HTTP/1.1 server
//!   ([`protocol::http`]).
//! * [`process`]: other programs as components ([`UnixProcess`](process::UnixProcess))
//!   and raw byte streams in and out ([`ByteReader`](process::ByteReader),
//!   [`ByteWriter`](process::ByteWriter)).

#![warn(missing_docs)]

/// The kernel this library is built on, re-exported: a program needs only
/// `kamaelia` in its `Cargo.toml` and names the kernel as `kamaelia::axon`.
pub use axon;

pub mod prelude;

pub mod backplane;
pub mod chassis;
pub mod internet;
pub mod process;
pub mod protocol;
pub mod util;
