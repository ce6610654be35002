//! What a [`UnixProcess`](super::UnixProcess) reports about its child:
//! [`ExitReport`] (how it ended, sent once on the `exit` outbox) and
//! [`ProcessError`] (what went wrong, typed).

use std::fmt;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::Arc;

/// The one message on a [`UnixProcess`](super::UnixProcess)'s `exit` outbox:
/// how the child ended, or why it never started.
pub type Exit = Result<ExitReport, ProcessError>;

/// How a child process ended.
///
/// ```
/// use std::os::unix::process::ExitStatusExt;
/// use kamaelia::process::ExitReport;
///
/// let r = ExitReport {
///     program: "gzip".into(),
///     pid: 42,
///     status: std::process::ExitStatus::from_raw(1 << 8), // exit code 1
///     killed: false,
/// };
/// assert!(!r.success());
/// assert_eq!(r.code(), Some(1));
/// assert_eq!(r.to_string(), "`gzip` (pid 42) exited with code 1");
/// assert!(r.check().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitReport {
    /// The program that ran (as given, e.g. `gzip` or `/bin/sh`).
    pub program: String,
    /// Its process id (no longer valid: the process has been reaped).
    pub pid: u32,
    /// Its exit status.
    pub status: ExitStatus,
    /// True if the component killed it (on `ShutdownMicroprocess`, or because
    /// its output could no longer be delivered).
    pub killed: bool,
}

impl ExitReport {
    /// Whether it exited with code 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Its exit code, if it exited (rather than being killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// The signal that killed it, if one did.
    pub fn signal(&self) -> Option<i32> {
        self.status.signal()
    }

    /// The exit code a shell would report: the code, or 128 + the signal.
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    /// use kamaelia::process::ExitReport;
    /// let r = ExitReport { program: "sleep".into(), pid: 7, status: std::process::ExitStatus::from_raw(9), killed: true };
    /// assert_eq!(r.shell_code(), 137);
    /// ```
    pub fn shell_code(&self) -> i32 {
        match (self.code(), self.signal()) {
            (Some(c), _) => c,
            (None, Some(s)) => 128 + s,
            (None, None) => 1,
        }
    }

    /// `Ok(self)` if it succeeded, otherwise [`ProcessError::Exited`].
    pub fn check(self) -> Result<ExitReport, ProcessError> {
        if self.success() {
            Ok(self)
        } else {
            Err(ProcessError::Exited(self))
        }
    }
}

impl fmt::Display for ExitReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` (pid {}) ", self.program, self.pid)?;
        match (self.code(), self.signal()) {
            (Some(c), _) => write!(f, "exited with code {c}")?,
            (None, Some(s)) => write!(f, "was killed by signal {s}")?,
            (None, None) => write!(f, "ended with status {}", self.status)?,
        }
        if self.killed {
            write!(f, " (stopped by the component)")?;
        }
        Ok(())
    }
}

/// What went wrong running a child process.
///
/// Cheap to clone (an I/O error is shared), so the same error can be both
/// sent on `exit` and returned as the component's failure.
///
/// ```
/// use kamaelia::process::ProcessError;
/// let e = ProcessError::spawn("no-such-tool", std::io::ErrorKind::NotFound.into());
/// assert!(e.is_not_found());
/// assert!(e.to_string().starts_with("could not start `no-such-tool`: "), "{e}");
/// assert!(e.to_string().ends_with("(is it installed and on PATH?)"), "{e}");
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessError {
    /// The program could not be started (not found, not executable, bad
    /// working directory, ...).
    #[error("could not start `{program}`: {source}{hint}", hint = spawn_hint(source))]
    Spawn {
        /// The program as given.
        program: String,
        /// Why the operating system refused.
        #[source]
        source: Arc<io::Error>,
    },
    /// Reading the child's output, writing its input or waiting for it failed.
    #[error("`{program}`: {what} failed: {source}")]
    Io {
        /// The program as given.
        program: String,
        /// What was being done ("reading stdout", "waiting for it to end", ...).
        what: &'static str,
        /// The error.
        #[source]
        source: Arc<io::Error>,
    },
    /// An outbox's destination closed (the component that read the child's
    /// output ended) while there was output left to deliver. The child was
    /// killed.
    #[error("`{program}`: the destination of outbox {outbox:?} has closed (the receiving component ended); the child's output was not delivered and the child was stopped")]
    DestinationClosed {
        /// The program as given.
        program: String,
        /// `"outbox"` (stdout) or `"error"` (stderr).
        outbox: &'static str,
    },
    /// The child ended unsuccessfully (only a failure with
    /// [`check`](super::UnixProcess::check) on, or from [`ExitReport::check`]).
    #[error("{0}")]
    Exited(ExitReport),
}

fn spawn_hint(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::NotFound => " (is it installed and on PATH?)",
        io::ErrorKind::PermissionDenied => " (is it executable?)",
        _ => "",
    }
}

impl ProcessError {
    /// A [`ProcessError::Spawn`].
    pub fn spawn(program: impl Into<String>, source: io::Error) -> Self {
        ProcessError::Spawn {
            program: program.into(),
            source: Arc::new(source),
        }
    }

    pub(crate) fn io(program: &str, what: &'static str, source: io::Error) -> Self {
        ProcessError::Io {
            program: program.to_string(),
            what,
            source: Arc::new(source),
        }
    }

    /// Whether the program was not found (a spawn error of kind `NotFound`).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ProcessError::Spawn { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }
}
