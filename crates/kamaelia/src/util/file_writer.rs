//! [`SimpleFileWriter`]: write everything received to a file (Kamaelia's
//! `File/Writing.SimpleFileWriter`).
//!
//! The file is created (emptied if it exists) or opened for appending when
//! the writer is made, so a path that cannot be written is a
//! [`FileError`] at once, naming the file. The component is threaded (writes
//! block) and takes any message that is bytes — `bytes::Bytes`, `Vec<u8>`,
//! `String`, `&'static str` (`AsRef<[u8]>`) — writing each in order, buffered,
//! flushing whenever it has caught up with its input. Shutdown follows the
//! [convention](crate::util#boxes-and-the-shutdown-convention): on
//! `ProducerFinished` (or its input closing) it writes what is queued, flushes,
//! closes the file and passes the signal on; `ShutdownMicroprocess` flushes
//! what it has written and stops. A write error ends it with a failure
//! carrying [`FileError::Write`].

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use axon::{Component, Prefab, Signal};

use super::{FileError, Intake};

/// Writes its input to a file. Make it with [`create`](Self::create) or
/// [`append`](Self::append), then [`build`](Self::build) for the message type.
///
/// Boxes: `inbox: T` (`AsRef<[u8]>`), `control` → `outbox: ()` (unused),
/// `signal`.
///
/// ```
/// use axon::{Signal, System};
/// use kamaelia::util::{data_source, SimpleFileWriter};
///
/// let path = std::env::temp_dir().join(format!("sfw-doc-{}.txt", std::process::id()));
/// let sys = System::builder().threads(1).build();
/// let src = data_source(["hello ", "world\n"]).spawn(&sys);
/// let writer = SimpleFileWriter::create(&path)?.build::<&str>().spawn(&sys);
/// axon::link(&src.outbox::<&str>("outbox")?, &writer.inbox("inbox")?)?;
/// axon::link(&src.outbox::<Signal>("signal")?, &writer.inbox("control")?)?;
/// sys.run();
/// assert_eq!(std::fs::read_to_string(&path)?, "hello world\n");
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[must_use = "a SimpleFileWriter is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct SimpleFileWriter {
    path: PathBuf,
    file: File,
}

impl SimpleFileWriter {
    /// Create `path`, or empty it if it exists (as the reference does).
    pub fn create(path: impl AsRef<Path>) -> Result<Self, FileError> {
        Self::with(
            path.as_ref(),
            OpenOptions::new().write(true).create(true).truncate(true),
        )
    }

    /// Open `path` for appending, creating it if need be.
    ///
    /// ```
    /// use kamaelia::util::{FileError, SimpleFileWriter};
    /// let err = SimpleFileWriter::append("/no/such/dir/log.txt").unwrap_err();
    /// assert!(matches!(err, FileError::Create { .. }));
    /// ```
    pub fn append(path: impl AsRef<Path>) -> Result<Self, FileError> {
        Self::with(path.as_ref(), OpenOptions::new().append(true).create(true))
    }

    fn with(path: &Path, options: &OpenOptions) -> Result<Self, FileError> {
        match options.open(path) {
            Ok(file) => Ok(SimpleFileWriter {
                path: path.to_path_buf(),
                file,
            }),
            Err(source) => Err(FileError::Create {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// The component, taking messages of type `T`.
    pub fn build<T: AsRef<[u8]> + Send + 'static>(self) -> Prefab {
        let SimpleFileWriter { path, file } = self;
        let name = format!("SimpleFileWriter({})", path.display());
        Prefab::threaded(Component::new(name).inbox_and_outbox::<T, ()>(), move |mut cx| {
            let mut intake = Intake::<T>::take(&mut cx)?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            let _unused = cx.outbox::<()>("outbox")?;
            let mut file = BufWriter::new(file);
            let failed = |source| FileError::Write {
                path: path.clone(),
                source,
            };
            while let Some(m) = intake.recv_blocking() {
                file.write_all(m.as_ref()).map_err(failed)?;
                if intake.inbox().is_empty() {
                    file.flush().map_err(failed)?;
                }
            }
            file.flush().map_err(failed)?;
            drop(file); // closed before anyone hears we are done
            intake.finish_blocking(&mut signal);
            Ok(())
        })
    }
}
