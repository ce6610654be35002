//! Running other programs as components, and raw byte streams in and out of a
//! system (Kamaelia's `File/UnixProcess2`).
//!
//! * [`UnixProcess`]: run a command; `inbox` bytes go to its stdin, its stdout
//!   comes out of `outbox`, its stderr out of `error`, how it ended out of
//!   `exit` ([`Exit`]: an [`ExitReport`], or the [`ProcessError`] that kept it
//!   from starting). Lossless and back-pressured both ways; the child is
//!   always reaped.
//! * [`ByteReader`] / [`ByteWriter`]: a `Read` (stdin) as a stream of
//!   [`Bytes`](bytes::Bytes) chunks, and chunks written to a `Write` (stdout),
//!   the two ends of a byte pipeline around a process.
//!
//! ```
//! use axon::{Signal, System};
//! use bytes::Bytes;
//! use kamaelia::process::{ByteReader, ByteWriter, UnixProcess};
//! use std::sync::{Arc, Mutex};
//!
//! // Bytes through `gzip -c | gunzip` and back, as `pipe -- sh -c 'gzip -c | gunzip'` would.
//! #[derive(Clone, Default)]
//! struct Shared(Arc<Mutex<Vec<u8>>>);
//! impl std::io::Write for Shared {
//!     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.0.lock().unwrap().write(b) }
//!     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
//! }
//! let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
//! let got = Shared::default();
//! let sys = System::builder().threads(1).build();
//! // Created, linked, then activated: the threaded reader and writer would
//! // otherwise start before they are linked.
//! let src = ByteReader::from_reader(std::io::Cursor::new(data.clone())).build().create(&sys);
//! let zip = UnixProcess::shell("gzip -c | gunzip").build().create(&sys);
//! let dst = ByteWriter::to_writer(got.clone()).build().create(&sys);
//! for (a, b) in [(&src, &zip), (&zip, &dst)] {
//!     let (a, b) = (a.component(), b.component());
//!     axon::link(&a.outbox::<Bytes>("outbox")?, &b.inbox("inbox")?)?;
//!     axon::link(&a.outbox::<Signal>("signal")?, &b.inbox("control")?)?;
//! }
//! for c in [dst, zip, src] {
//!     c.activate();
//! }
//! sys.run();
//! assert!(*got.0.lock().unwrap() == data);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod byte_io;
pub mod exit;
mod phase;
mod sys;
pub mod unix_process;

pub use byte_io::{ByteReader, ByteWriter};
pub use exit::{Exit, ExitReport, ProcessError};
pub use unix_process::{Stderr, UnixProcess, DEFAULT_CHUNK, DEFAULT_INBOX_SIZE};
