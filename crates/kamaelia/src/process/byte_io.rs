//! Raw byte streams in and out of a system: [`ByteReader`] (any `Read`, such
//! as this program's stdin, as [`Bytes`] chunks) and [`ByteWriter`] (chunks
//! written to any `Write`, such as stdout).
//!
//! They are the ends of a byte pipeline around a [`UnixProcess`](super::UnixProcess)
//! (`ByteReader::stdin() → UnixProcess → ByteWriter::stdout()` is the `pipe`
//! example). [`ConsoleReader`](crate::util::ConsoleReader) and
//! [`ConsoleEchoer`](crate::util::ConsoleEchoer) work in lines of text; these
//! pass bytes through unchanged. Both are threaded components (their reads and
//! writes block) and unbuffered: stdin and stdout are used through their file
//! descriptors, not Rust's line-buffered handles.
//!
//! ```
//! use axon::{Signal, System};
//! use kamaelia::process::{ByteReader, ByteWriter};
//! use std::sync::{Arc, Mutex};
//!
//! #[derive(Clone, Default)]
//! struct Shared(Arc<Mutex<Vec<u8>>>);
//! impl std::io::Write for Shared {
//!     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.0.lock().unwrap().write(b) }
//!     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
//! }
//! let sink = Shared::default();
//! let sys = System::builder().threads(1).build();
//! // Threaded components start at once: create, link, then activate.
//! let r = ByteReader::from_reader(&[7u8; 100_000][..]).build().create(&sys);
//! let w = ByteWriter::to_writer(sink.clone()).build().create(&sys);
//! let (rc, wc) = (r.component(), w.component());
//! axon::link(&rc.outbox::<bytes::Bytes>("outbox")?, &wc.inbox("inbox")?)?;
//! axon::link(&rc.outbox::<Signal>("signal")?, &wc.inbox("control")?)?;
//! w.activate();
//! r.activate();
//! sys.run();
//! assert_eq!(*sink.0.lock().unwrap(), vec![7u8; 100_000]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::fs::File;
use std::future::{poll_fn, Future};
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::pin::pin;
use std::task::Poll;

use axon::{block_on, Component, Prefab, Signal, TryRecvError};
use bytes::{Bytes, BytesMut};

use super::unix_process::{DEFAULT_CHUNK, DEFAULT_INBOX_SIZE};
use crate::util::{DestinationClosed, Intake};

/// Reads a byte stream (stdin by default) and sends it out of `outbox` in
/// [`Bytes`] chunks of up to 64 KiB, then `ProducerFinished` out of `signal`
/// at end of input.
///
/// A threaded component. A signal at `control` is passed on and ends it —
/// at once if it is waiting for its consumer, after the read in progress
/// otherwise (a blocking read cannot be interrupted). A read error ends it
/// with a failure.
///
/// Boxes: `inbox: ()` (unused), `control` → `outbox: Bytes`, `signal`.
///
/// ```
/// use axon::{Inbox, Signal, System};
/// use bytes::Bytes;
/// use kamaelia::process::ByteReader;
///
/// let sys = System::builder().threads(1).build();
/// let r = ByteReader::from_reader(&b"abcdef"[..]).chunk_size(4).build().create(&sys);
/// let mut got = Inbox::<Bytes>::detached("got");
/// axon::link(&r.component().outbox::<Bytes>("outbox")?, &got.endpoint())?;
/// r.activate(); // linked first: a threaded component starts at once
/// sys.run();
/// assert_eq!(got.try_recv()?, "abcd");
/// assert_eq!(got.try_recv()?, "ef");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a ByteReader is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct ByteReader {
    source: Source,
    chunk_size: usize,
}

enum Source {
    /// Read through the file descriptor, into memory that is not zeroed first.
    File(File),
    Reader(Box<dyn Read + Send>),
}

impl fmt::Debug for ByteReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ByteReader")
            .field("chunk_size", &self.chunk_size)
            .finish_non_exhaustive()
    }
}

impl ByteReader {
    /// Read this program's standard input (unbuffered, through its file
    /// descriptor).
    ///
    /// ```no_run
    /// use kamaelia::process::ByteReader;
    /// let reader = ByteReader::stdin().build();
    /// # drop(reader);
    /// ```
    pub fn stdin() -> Self {
        match io::stdin().as_fd().try_clone_to_owned() {
            Ok(fd) => ByteReader::from_file(File::from(fd)),
            Err(_) => ByteReader::from_reader(io::stdin()),
        }
    }

    /// Read from `reader`.
    ///
    /// ```
    /// use kamaelia::process::ByteReader;
    /// let reader = ByteReader::from_reader(std::io::Cursor::new(vec![1u8, 2, 3])).build();
    /// assert_eq!(reader.name(), "ByteReader");
    /// ```
    pub fn from_reader(reader: impl Read + Send + 'static) -> Self {
        ByteReader {
            source: Source::Reader(Box::new(reader)),
            chunk_size: DEFAULT_CHUNK,
        }
    }

    /// Read from a file, pipe or anything else with a file descriptor: like
    /// [`from_reader`](Self::from_reader) but reading straight into the
    /// chunks' memory without zeroing it first (the fast path `stdin` uses).
    ///
    /// ```
    /// use kamaelia::process::ByteReader;
    /// let reader = ByteReader::from_file(std::fs::File::open("/dev/null")?).build();
    /// # drop(reader);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_file(file: File) -> Self {
        ByteReader {
            source: Source::File(file),
            chunk_size: DEFAULT_CHUNK,
        }
    }

    /// Most bytes read (so sent) at once (default 64 KiB; at least 1).
    ///
    /// ```
    /// use kamaelia::process::ByteReader;
    /// let reader = ByteReader::from_reader(&b""[..]).chunk_size(1024);
    /// # drop(reader);
    /// ```
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = bytes.max(1);
        self
    }

    /// The component, ready to spawn.
    ///
    /// ```
    /// use kamaelia::process::ByteReader;
    /// assert_eq!(ByteReader::from_reader(&b""[..]).build().name(), "ByteReader");
    /// ```
    pub fn build(self) -> Prefab {
        let ByteReader {
            mut source,
            chunk_size,
        } = self;
        let spec = Component::new("ByteReader").inbox_and_outbox::<(), Bytes>();
        Prefab::threaded(spec, move |mut cx| -> Result<(), axon::Error> {
            let mut control = cx.inbox::<Signal>("control")?;
            let mut out = cx.outbox::<Bytes>("outbox")?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            // See `pump` in unix_process.rs: chunks split off a reused block.
            let block = chunk_size.saturating_mul(4);
            let mut buf = BytesMut::with_capacity(block);
            let ending = 'read: loop {
                match control.try_recv() {
                    Ok(sig) if sig.is_shutdown() => break sig,
                    Ok(_) | Err(TryRecvError::Empty | TryRecvError::Closed) => {}
                }
                let read = match &mut source {
                    Source::File(f) => super::sys::read_fd(f.as_fd(), &mut buf, chunk_size),
                    Source::Reader(r) => read_zeroed(r.as_mut(), &mut buf, chunk_size, block),
                };
                let data = match read {
                    Ok(0) => break Signal::ProducerFinished,
                    Ok(_) => buf.split().freeze(),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e.into()),
                };
                // Wait for room, but hear a shutdown meanwhile.
                let mut send = pin!(out.send(data));
                let mut control_open = true;
                let step = block_on(poll_fn(|cx| {
                    if let Poll::Ready(r) = send.as_mut().poll(cx) {
                        return Poll::Ready(Ok(r.is_ok()));
                    }
                    while control_open {
                        match control.poll_recv(cx) {
                            Poll::Ready(Ok(sig)) if sig.is_shutdown() => return Poll::Ready(Err(sig)),
                            Poll::Ready(Ok(_)) => {}
                            Poll::Ready(Err(_)) => control_open = false,
                            Poll::Pending => break,
                        }
                    }
                    Poll::Pending
                }));
                match step {
                    Ok(true) => {}
                    Ok(false) => {
                        return Err(DestinationClosed {
                            outbox: "outbox".into(),
                        }
                        .into())
                    }
                    Err(sig) => break 'read sig,
                }
            };
            let _ = signal.send_blocking(ending);
            Ok(())
        })
    }
}

/// Read up to `max` bytes from `r`, appended to `buf` (which must hold no
/// unsent bytes): zeroed memory first, as a `Read` may look at its buffer.
fn read_zeroed(r: &mut (dyn Read + Send), buf: &mut BytesMut, max: usize, block: usize) -> io::Result<usize> {
    debug_assert!(buf.is_empty());
    if buf.capacity() < max {
        *buf = BytesMut::with_capacity(block.max(max));
    }
    buf.resize(max, 0);
    let n = r.read(&mut buf[..]);
    buf.truncate(*n.as_ref().unwrap_or(&0));
    n
}

impl From<ByteReader> for Prefab {
    fn from(r: ByteReader) -> Prefab {
        r.build()
    }
}

/// Writes every [`Bytes`] chunk it receives to a `Write` (stdout by
/// default), flushing whenever its inbox runs empty.
///
/// A threaded component with a bounded `inbox` (16 chunks by default), so a
/// slow writer holds up whoever feeds it rather than piling data up. Shutdown
/// follows the [convention](crate::util#boxes-and-the-shutdown-convention)
/// (a write in progress finishes first). A write error (such as the reader of
/// stdout going away) ends it with a failure.
///
/// Boxes: `inbox: Bytes`, `control` → `outbox: ()` (unused), `signal`.
///
/// ```
/// use axon::{Outbox, System};
/// use bytes::Bytes;
/// use kamaelia::process::ByteWriter;
///
/// let sys = System::builder().threads(1).build();
/// let w = ByteWriter::to_writer(std::io::sink()).build().spawn(&sys);
/// let mut feed = Outbox::<Bytes>::detached("feed");
/// axon::link(&feed.endpoint(), &w.inbox("inbox")?)?;
/// feed.try_send(Bytes::from_static(b"gone"))?;
/// drop(feed);
/// sys.run();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a ByteWriter is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct ByteWriter {
    writer: Box<dyn Write + Send>,
    inbox_size: usize,
}

impl fmt::Debug for ByteWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ByteWriter")
            .field("inbox_size", &self.inbox_size)
            .finish_non_exhaustive()
    }
}

impl ByteWriter {
    /// Write to this program's standard output (unbuffered, through its file
    /// descriptor).
    ///
    /// ```no_run
    /// use kamaelia::process::ByteWriter;
    /// let writer = ByteWriter::stdout().build();
    /// # drop(writer);
    /// ```
    pub fn stdout() -> Self {
        match io::stdout().as_fd().try_clone_to_owned() {
            Ok(fd) => ByteWriter::to_writer(File::from(fd)),
            Err(_) => ByteWriter::to_writer(io::stdout()),
        }
    }

    /// Write to `writer`.
    ///
    /// ```
    /// use kamaelia::process::ByteWriter;
    /// let writer = ByteWriter::to_writer(Vec::new()).build();
    /// assert_eq!(writer.name(), "ByteWriter");
    /// ```
    pub fn to_writer(writer: impl Write + Send + 'static) -> Self {
        ByteWriter {
            writer: Box::new(writer),
            inbox_size: DEFAULT_INBOX_SIZE,
        }
    }

    /// Limit of `inbox`, in chunks (default 16; at least 1).
    ///
    /// ```
    /// use kamaelia::process::ByteWriter;
    /// let writer = ByteWriter::to_writer(Vec::new()).inbox_size(2);
    /// # drop(writer);
    /// ```
    pub fn inbox_size(mut self, chunks: usize) -> Self {
        self.inbox_size = chunks.max(1);
        self
    }

    /// The component, ready to spawn.
    ///
    /// ```
    /// use kamaelia::process::ByteWriter;
    /// assert_eq!(ByteWriter::to_writer(Vec::new()).build().name(), "ByteWriter");
    /// ```
    pub fn build(self) -> Prefab {
        let ByteWriter {
            mut writer,
            inbox_size,
        } = self;
        let spec = Component::new("ByteWriter")
            .inbox_and_outbox::<Bytes, ()>()
            .inbox_with_size::<Bytes>("inbox", inbox_size);
        Prefab::threaded(spec, move |mut cx| -> Result<(), axon::Error> {
            let mut intake = Intake::<Bytes>::take(&mut cx)?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            while let Some(chunk) = intake.recv_blocking() {
                writer.write_all(&chunk)?;
                if intake.inbox().is_empty() {
                    writer.flush()?;
                }
            }
            writer.flush()?;
            intake.finish_blocking(&mut signal);
            Ok(())
        })
    }
}

impl From<ByteWriter> for Prefab {
    fn from(w: ByteWriter) -> Prefab {
        w.build()
    }
}
