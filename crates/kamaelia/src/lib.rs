//! # Kamaelia: the component library on the axon kernel
//!
//! Components and composites built on [`axon`]'s components, typed boxes and
//! linkages. Every component here is a function returning an
//! [`axon::Prefab`] (a component declared and given a body, activated by the
//! composite or system it is put in), or a builder that converts into one:
//! either goes as is wherever a child or stage is taken — `Pipeline::then`,
//! `Graphline::child`, `Seq::then`, `Par::with`, `axon::Handle::spawn` and the
//! macros — and either is started on its own with `.spawn(&sys)`
//! ([`axon::Spawn`], in the [`prelude`]); a builder's `.build()` gives the
//! `Prefab` itself.
//!
//! `kamaelia` re-exports the kernel as [`kamaelia::axon`](axon), and
//! [`prelude`] brings the everyday names (the kernel's and this crate's) in one
//! `use`:
//!
//! ```
//! use kamaelia::prelude::*;
//!
//! let sys = System::new();
//! pipeline![
//!     data_source(["hello", "kamaelia"]),
//!     pure_transformer(|s: &str| Some(format!("{}\n", s.to_uppercase()))),
//!     ConsoleEchoer::<String>::new(),
//! ]
//! .spawn(&sys);
//! sys.run();
//! ```
//!
//! A component of your own is a body returning `()` or
//! `Result<(), axon::Error>`, ending with a plain `Ok(())`:
//!
//! ```
//! use kamaelia::prelude::*;
//!
//! fn shout() -> Prefab {
//!     Prefab::new(Component::new("shout").inbox_and_outbox::<String, String>(), |mut cx| async move {
//!         let mut inbox = cx.inbox::<String>("inbox")?;
//!         let mut out = cx.outbox::<String>("outbox")?;
//!         while let Ok(s) = inbox.recv().await {
//!             out.send(s.to_uppercase()).await?;
//!         }
//!         Ok(())
//!     })
//! }
//!
//! let sys = System::new();
//! let (sink, seen) = kamaelia::util::collector::<String>();
//! pipeline![data_source(["hi".to_string()]), shout(), sink].spawn(&sys);
//! sys.run();
//! assert_eq!(seen.take(), ["HI"]);
//! ```
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
