//! [`RunReport`]: what [`System::run`](crate::System::run) and
//! [`RunningSystem::wait`](crate::RunningSystem::wait) say about the run — the
//! failures nobody else was told about.
//!
//! A component's parent hears how each child ended ([`Context::child_exit`]),
//! so a composite can handle or pass on a child's failure. A top-level
//! component (spawned on the system, not as a child) has no parent, and neither
//! has a child whose parent has gone: when one of those fails or panics, the
//! system keeps its [`Failure`] for the report, so a program that runs a
//! miswired pipeline says so instead of exiting quietly.
//!
//! ```
//! use axon::{Component, System};
//!
//! let sys = System::builder().threads(1).build();
//! sys.spawn(Component::new("fine"), |_cx| async {});
//! sys.spawn(Component::new("broken"), |_cx| async { Err("no input file".into()) });
//! let report = sys.run();
//! assert!(!report.is_ok());
//! assert_eq!(report.failures()[0].name, "broken");
//! let err = report.into_result().unwrap_err();
//! assert!(err.to_string().contains("broken"));
//! assert!(err.to_string().contains("no input file"));
//! ```
//!
//! [`Context::child_exit`]: crate::Context::child_exit

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::component::signal::Failure;

/// At most this many failures are kept between two reports; later ones are
/// counted ([`RunReport::omitted`]) and logged, so a long-running system whose
/// top-level components keep failing does not grow without bound.
pub const REPORT_LIMIT: usize = 1024;

/// The failures a system collects for its next report.
#[derive(Default)]
pub(crate) struct Failures {
    list: Vec<Failure>,
    omitted: usize,
}

impl Failures {
    pub(crate) fn push(&mut self, failure: Failure) {
        if self.list.len() < REPORT_LIMIT {
            self.list.push(failure);
        } else {
            self.omitted += 1;
        }
    }

    pub(crate) fn take(&mut self) -> RunReport {
        RunReport {
            failures: std::mem::take(&mut self.list),
            omitted: std::mem::take(&mut self.omitted),
            heeded: AtomicBool::new(false),
        }
    }
}

/// How a run went: the top-level components (and orphaned children) that
/// failed or panicked since the last report, in the order they ended.
///
/// Returned by [`System::run`](crate::System::run),
/// [`RunningSystem::wait`](crate::RunningSystem::wait) and
/// [`RunningSystem::shutdown`](crate::RunningSystem::shutdown). Ignoring it is
/// allowed (each failure was also logged at `warn` level through `tracing`);
/// `sys.run().into_result()?` turns it into an error.
///
/// **Never silent.** A report with failures that is dropped without being
/// looked at (no call to any of its methods, no `Display`/`Debug`), in a
/// program with no global `tracing` subscriber to have shown the `warn`
/// lines, prints its list to stderr as it is dropped — so `sys.run();` in a
/// program that set up nothing still says what failed, the way an uncaught
/// panic does.
#[derive(Default)]
pub struct RunReport {
    failures: Vec<Failure>,
    omitted: usize,
    /// Someone looked at it (see the type's documentation).
    heeded: AtomicBool,
}

impl RunReport {
    fn heed(&self) {
        self.heeded.store(true, Ordering::Relaxed);
    }

    fn nothing_failed(&self) -> bool {
        self.failures.is_empty() && self.omitted == 0
    }

    /// Whether nothing failed.
    pub fn is_ok(&self) -> bool {
        self.heed();
        self.nothing_failed()
    }

    /// The failures kept, in the order the components ended (at most
    /// [`REPORT_LIMIT`]). Each says which component, how, and holds the error.
    pub fn failures(&self) -> &[Failure] {
        self.heed();
        &self.failures
    }

    /// How many more failed beyond [`REPORT_LIMIT`] (not kept).
    pub fn omitted(&self) -> usize {
        self.heed();
        self.omitted
    }

    /// `Ok(())` if nothing failed, otherwise a [`RunError`] listing the failures.
    pub fn into_result(mut self) -> Result<(), RunError> {
        self.heed();
        if self.nothing_failed() {
            Ok(())
        } else {
            Err(RunError {
                failures: std::mem::take(&mut self.failures),
                omitted: self.omitted,
            })
        }
    }
}

impl Drop for RunReport {
    fn drop(&mut self) {
        if !self.nothing_failed() && !*self.heeded.get_mut() && !tracing::dispatcher::has_been_set() {
            let text = Listed(self).to_string();
            eprintln!(
                "axon: {text}\n(printed because the RunReport was dropped unread and no tracing subscriber is installed; \
                 use `sys.run().into_result()?` or install a subscriber)"
            );
        }
    }
}

impl Clone for RunReport {
    fn clone(&self) -> Self {
        RunReport {
            failures: self.failures.clone(),
            omitted: self.omitted,
            heeded: AtomicBool::new(self.heeded.load(Ordering::Relaxed)),
        }
    }
}

impl PartialEq for RunReport {
    fn eq(&self, other: &Self) -> bool {
        self.failures == other.failures && self.omitted == other.omitted
    }
}

impl Eq for RunReport {}

impl fmt::Debug for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.heed();
        f.debug_struct("RunReport")
            .field("failures", &self.failures)
            .field("omitted", &self.omitted)
            .finish()
    }
}

/// A report's list, without marking it read.
struct Listed<'a>(&'a RunReport);

impl fmt::Display for Listed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        list(f, &self.0.failures, self.0.omitted)
    }
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.heed();
        if self.nothing_failed() {
            return f.write_str("every top-level component finished without failing");
        }
        list(f, &self.failures, self.omitted)
    }
}

fn list(f: &mut fmt::Formatter<'_>, failures: &[Failure], omitted: usize) -> fmt::Result {
    let n = failures.len() + omitted;
    write!(f, "{n} component{} failed", if n == 1 { "" } else { "s" })?;
    for failure in failures {
        write!(f, "\n  - {failure}")?;
    }
    if omitted > 0 {
        write!(f, "\n  - and {omitted} more (see the warn-level log)")?;
    }
    Ok(())
}

/// A run in which components failed ([`RunReport::into_result`],
/// [`Prefab::run`](crate::Prefab::run)). Its message lists each failure: the
/// component's name and id, whether it failed or panicked, and why.
///
/// `{:?}` shows that same list (so `fn main() -> Result<(), RunError>` prints
/// something readable); `{:#?}` shows the structure.
#[derive(Clone, PartialEq, Eq)]
pub struct RunError {
    failures: Vec<Failure>,
    omitted: usize,
}

impl fmt::Debug for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            f.debug_struct("RunError")
                .field("failures", &self.failures)
                .field("omitted", &self.omitted)
                .finish()
        } else {
            list(f, &self.failures, self.omitted)
        }
    }
}

impl RunError {
    /// The failures (see [`RunReport::failures`]).
    pub fn failures(&self) -> &[Failure] {
        &self.failures
    }

    /// How many more failed beyond [`REPORT_LIMIT`].
    pub fn omitted(&self) -> usize {
        self.omitted
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        list(f, &self.failures, self.omitted)
    }
}

impl std::error::Error for RunError {
    /// The first failure's error, when it returned one (a panic has none).
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.failures
            .first()
            .and_then(|f| f.error.as_ref())
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
