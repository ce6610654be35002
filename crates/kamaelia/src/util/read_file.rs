//! [`ReadFileAdaptor`]: a file as a stream of byte chunks or lines, at a pace
//! you choose (Kamaelia's `File/ReadFileAdaptor`), and [`FileError`], the
//! typed error of the file components.
//!
//! The file is opened when the adaptor is made ([`ReadFileAdaptor::open`]), so
//! a missing or unreadable file is an error you get at once, with the path in
//! it, rather than a component failing later. The component is threaded (file
//! reads block). It sends `bytes::Bytes` out of `outbox`:
//!
//! * chunks of up to [`chunk_size`](ReadFileAdaptor::chunk_size) bytes (4096
//!   by default, the reference's "block" mode), or
//! * [`lines`](ReadFileAdaptor::lines), each with its `\n` (the last may lack
//!   one); a line longer than [`DEFAULT_MAX_LINE`]
//!   comes in pieces of that size, so a file with no newlines cannot use up
//!   memory.
//!
//! Pace: as fast as the consumer takes them (sends wait for space), or one
//! read per [`every`](ReadFileAdaptor::every) interval (the reference's
//! `steptime`), or a [`bitrate`](ReadFileAdaptor::bitrate) (bits per second in
//! so many chunks per second). At end of file it sends `ProducerFinished` out
//! of `signal` and ends. `ShutdownMicroprocess` at `control` stops it at once,
//! even mid-wait (the reference ignored `control`); `ProducerFinished` there
//! changes nothing, as for other sources. A read error ends it with a failure
//! carrying [`FileError::Read`].

use std::fs::File;
use std::future::poll_fn;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::task::{Context as TaskContext, Waker};
use std::time::{Duration, Instant};

use axon::{Component, Prefab, Signal};
use bytes::Bytes;

use super::{Intake, DEFAULT_MAX_LINE};

/// What went wrong with a file, naming it.
///
/// ```
/// use kamaelia::util::{FileError, ReadFileAdaptor};
/// let err = ReadFileAdaptor::open("/no/such/file").unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
/// assert!(matches!(err, FileError::Open { .. }));
/// assert!(err.to_string().contains("/no/such/file"), "{err}");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The file could not be opened for reading.
    #[error("cannot open {path:?} for reading: {source} (check that it exists and is readable)")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The file could not be created or opened for writing.
    #[error("cannot open {path:?} for writing: {source} (check that its directory exists and is writable)")]
    Create {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Reading failed part-way.
    #[error("reading {path:?} failed: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Writing failed part-way (a full disk, ...).
    #[error("writing {path:?} failed: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

impl FileError {
    /// The underlying I/O error's kind (`NotFound`, `PermissionDenied`, ...).
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            FileError::Open { source, .. }
            | FileError::Create { source, .. }
            | FileError::Read { source, .. }
            | FileError::Write { source, .. } => source.kind(),
        }
    }

    /// The file concerned.
    pub fn path(&self) -> &Path {
        match self {
            FileError::Open { path, .. }
            | FileError::Create { path, .. }
            | FileError::Read { path, .. }
            | FileError::Write { path, .. } => path,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Chunks(usize),
    Lines,
}

/// Reads a file into `Bytes` messages. Make it with [`open`](Self::open),
/// choose the mode and pace, then [`build`](Self::build).
///
/// Boxes: `inbox: ()` (unused), `control` → `outbox: Bytes`, `signal`.
///
/// ```
/// use axon::{Signal, System};
/// use bytes::Bytes;
/// use kamaelia::pipeline;
/// use kamaelia::util::{collector, ReadFileAdaptor};
///
/// let path = std::env::temp_dir().join(format!("rfa-doc-{}.txt", std::process::id()));
/// std::fs::write(&path, "first line\nsecond line\n")?;
///
/// let sys = System::builder().threads(1).build();
/// let reader = ReadFileAdaptor::open(&path)?.lines().build();
/// let (sink, got) = collector::<Bytes>();
/// // A threaded component spawned on its own starts at once; in a pipeline
/// // it starts with the others, when the system runs.
/// pipeline![reader, sink].spawn(&sys);
/// sys.run();
/// assert_eq!(got.take(), [Bytes::from("first line\n"), Bytes::from("second line\n")]);
/// assert_eq!(got.ending(), Some(Signal::ProducerFinished));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[must_use = "a ReadFileAdaptor is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct ReadFileAdaptor {
    path: PathBuf,
    file: File,
    mode: Mode,
    every: Option<Duration>,
}

impl ReadFileAdaptor {
    /// Open `path` for reading: chunks of 4096 bytes, as fast as they are
    /// taken. Fails with [`FileError::Open`] if the file cannot be opened.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, FileError> {
        let path = path.as_ref().to_path_buf();
        match File::open(&path) {
            Ok(file) => Ok(ReadFileAdaptor {
                path,
                file,
                mode: Mode::Chunks(4096),
                every: None,
            }),
            Err(source) => Err(FileError::Open { path, source }),
        }
    }

    /// Send chunks of up to `bytes` bytes (at least 1).
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.mode = Mode::Chunks(bytes.max(1));
        self
    }

    /// Send a line at a time, each with its `\n`.
    pub fn lines(mut self) -> Self {
        self.mode = Mode::Lines;
        self
    }

    /// One chunk or line per `interval` (the first at once).
    pub fn every(mut self, interval: Duration) -> Self {
        self.every = Some(interval);
        self
    }

    /// About `bits_per_second`, as `chunks_per_second` chunks a second (each
    /// of `bits_per_second / 8 / chunks_per_second` bytes, at least 1; zeros
    /// are taken as 1). Switches to chunk mode.
    ///
    /// ```
    /// # use kamaelia::util::ReadFileAdaptor;
    /// # let path = std::env::temp_dir().join(format!("rfa-rate-{}.bin", std::process::id()));
    /// # std::fs::write(&path, [0u8; 10])?;
    /// // 64 kbit/s in 8 chunks a second: 1000-byte chunks every 125 ms.
    /// let reader = ReadFileAdaptor::open(&path)?.bitrate(64_000, 8).build();
    /// # drop(reader);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bitrate(self, bits_per_second: u64, chunks_per_second: u32) -> Self {
        let chunks = chunks_per_second.max(1);
        let bytes = (bits_per_second.max(1) / 8 / u64::from(chunks)).max(1);
        self.chunk_size(usize::try_from(bytes).unwrap_or(usize::MAX))
            .every(Duration::from_secs(1) / chunks)
    }

    /// The component.
    pub fn build(self) -> Prefab {
        let ReadFileAdaptor {
            path,
            file,
            mode,
            every,
        } = self;
        let name = format!("ReadFileAdaptor({})", path.display());
        Prefab::threaded(
            Component::new(name).inbox_and_outbox::<(), Bytes>(),
            move |mut cx| {
                let mut intake = Intake::<()>::take(&mut cx)?;
                let mut out = cx.outbox::<Bytes>("outbox")?;
                let mut signal = cx.outbox::<Signal>("signal")?;
                let mut reader = BufReader::new(file);
                let mut next = Instant::now();
                loop {
                    let stop = match every {
                        Some(step) => {
                            let now = Instant::now();
                            let wait = next.saturating_duration_since(now);
                            next = next.max(now) + step; // late: no catching up in a burst
                                                         // Sleep until the next read, woken at once by a shutdown.
                            axon::block_on_timeout(poll_fn(|tcx| intake.poll_stop(tcx)), Some(wait)).is_some()
                        }
                        None => intake
                            .poll_stop(&mut TaskContext::from_waker(Waker::noop()))
                            .is_ready(),
                    };
                    if stop {
                        break;
                    }
                    let chunk = read_one(&mut reader, mode).map_err(|source| FileError::Read {
                        path: path.clone(),
                        source,
                    })?;
                    if chunk.is_empty() {
                        break; // end of file
                    }
                    if !axon::block_on(intake.send(&mut out, chunk))? {
                        break;
                    }
                }
                intake.finish_blocking(&mut signal);
                Ok(())
            },
        )
    }
}

impl From<ReadFileAdaptor> for Prefab {
    fn from(r: ReadFileAdaptor) -> Prefab {
        r.build()
    }
}

/// The next chunk or line; empty at end of file.
fn read_one(reader: &mut BufReader<File>, mode: Mode) -> io::Result<Bytes> {
    let mut buf = Vec::new();
    match mode {
        Mode::Chunks(n) => {
            reader.by_ref().take(n as u64).read_to_end(&mut buf)?;
        }
        Mode::Lines => {
            reader
                .by_ref()
                .take(DEFAULT_MAX_LINE as u64)
                .read_until(b'\n', &mut buf)?;
        }
    }
    Ok(Bytes::from(buf))
}
