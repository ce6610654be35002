//! Stepping: run a system one component step at a time, for tests and teaching.
//!
//! A [stepped](crate::SystemBuilder::stepped) system has no scheduler threads
//! of its own. Its caller drives it: [`System::step`] polls the next runnable
//! component once, on the calling thread, and returns a [`Step`] saying which
//! component ran and what came of it ([`AfterStep`]: waiting, runnable again,
//! or finished with its [`Outcome`]). Steps follow the same rules as a
//! one-thread system's scheduler (see [`crate::scheduler`]): components
//! spawned together take their first steps in spawn order; a component woken
//! by the one that ran usually runs next. So a stepped system shows what the
//! scheduler does, one poll at a time, and a test can check the state of
//! things between two polls.
//!
//! While nothing is runnable but components are alive, `step` sleeps like an
//! idle worker (no busy loop, no timeout): a message from a threaded
//! component or another thread ([`Handle`](crate::Handle), a detached
//! [`Outbox`](crate::Outbox)), a timer ([`crate::time`]) or the last component
//! finishing on another thread wakes it. [`System::try_step`] never waits and
//! [`System::step_timeout`] waits at most so long. `step` returns `Ok(None)`
//! once no component is left. Components spawned between steps, or by a
//! component during a step, are stepped like the rest.
//!
//! [`System::run`] on a stepped system steps it on the calling thread until
//! every component has finished, and [`System::start`] on one background
//! thread. [`SystemBuilder::slow_motion`](crate::SystemBuilder::slow_motion)
//! adds a delay after every step there (and on every worker of a normal
//! system); `step` itself never waits for it, its caller sets the pace.
//!
//! ```
//! use axon::{link, Component, System};
//!
//! let sys = System::builder().stepped().build();
//! let numbers = sys.spawn(Component::new("numbers").outbox::<u32>("outbox"), |mut cx| async move {
//!     let mut out = cx.outbox::<u32>("outbox")?;
//!     for i in 1..=3 {
//!         out.send(i).await?;
//!     }
//!     Ok(())
//! });
//! let double = sys.spawn(Component::new("double").inbox_and_outbox::<u32, u32>(), |mut cx| async move {
//!     let mut inbox = cx.inbox::<u32>("inbox")?;
//!     let mut out = cx.outbox::<u32>("outbox")?;
//!     while let Ok(x) = inbox.recv().await {
//!         out.send(2 * x).await?;
//!     }
//!     Ok(())
//! });
//! let total = sys.spawn(Component::new("total").inbox::<u32>("inbox"), |mut cx| async move {
//!     let mut inbox = cx.inbox::<u32>("inbox")?;
//!     let mut sum = 0;
//!     while let Ok(x) = inbox.recv().await {
//!         sum += x;
//!     }
//!     assert_eq!(sum, 12);
//!     Ok(())
//! });
//! link(&numbers.outbox::<u32>("outbox")?, &double.inbox("inbox")?)?;
//! link(&double.outbox::<u32>("outbox")?, &total.inbox("inbox")?)?;
//!
//! let mut ran = Vec::new();
//! while let Some(step) = sys.step()? {
//!     println!("{step}"); // e.g. "numbers (c1) finished: Finished"
//!     ran.push((step.name().to_string(), step.is_finished()));
//! }
//! // The first three steps go in spawn order: numbers sends all three
//! // numbers and ends in its first step; double and total then take theirs.
//! assert_eq!(ran[0], ("numbers".to_string(), true));
//! assert_eq!(ran[1].0, "double");
//! assert_eq!(ran[2].0, "total");
//! // Every component's last step is the one it finished in.
//! assert_eq!(ran.iter().filter(|(_, finished)| *finished).count(), 3);
//! assert_eq!(sys.live_components(), 0);
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::time::{Duration, Instant};

use crate::component::component::ComponentRef;
use crate::component::system::System;
use crate::id::ComponentId;
use crate::runtime::outcome::Outcome;
use crate::runtime::scheduler::{Ran, StepRefused, StepWait};

/// One component step: which component ran, and what came of it.
#[derive(Clone, Debug)]
pub struct Step {
    component: ComponentRef,
    after: AfterStep,
}

/// What a component step came to.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AfterStep {
    /// It waits for something (a message, a timer, a child) to wake it.
    Waiting,
    /// It was woken again while it ran (it sent to itself, yielded, used up
    /// its budget, or another thread delivered meanwhile): it is queued to
    /// run again.
    Runnable,
    /// It ended in this step.
    Finished(Outcome),
}

impl Step {
    /// The component that ran.
    pub fn component(&self) -> &ComponentRef {
        &self.component
    }

    /// Its id.
    pub fn id(&self) -> ComponentId {
        self.component.id()
    }

    /// Its name.
    pub fn name(&self) -> &str {
        self.component.name()
    }

    /// What came of the step.
    pub fn after(&self) -> &AfterStep {
        &self.after
    }

    /// Whether the component ended in this step.
    pub fn is_finished(&self) -> bool {
        matches!(self.after, AfterStep::Finished(_))
    }

    /// How it ended, if it ended in this step.
    pub fn outcome(&self) -> Option<&Outcome> {
        match &self.after {
            AfterStep::Finished(outcome) => Some(outcome),
            _ => None,
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}) ", self.name(), self.id())?;
        match &self.after {
            AfterStep::Waiting => write!(f, "waiting"),
            AfterStep::Runnable => write!(f, "runnable again"),
            AfterStep::Finished(outcome) => write!(f, "finished: {outcome:?}"),
        }
    }
}

/// Why a step did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StepError {
    /// Only a stepped system can be stepped; this one has scheduler threads.
    #[error("this system is not stepped: build it with SystemBuilder::stepped() to step it")]
    NotStepped,
    /// Another thread is stepping the system, or it runs in [`System::run`] or
    /// [`System::start`].
    #[error(
        "the system is busy: another thread is stepping it or it is running (run/start); \
         step it from one thread at a time, and not while it runs"
    )]
    Busy,
    /// Called on a thread that is running a scheduler (from inside a component,
    /// or a step): a step there would nest inside another.
    #[error(
        "step called on a scheduler thread (inside a component or a step); \
         step from plain code or a threaded component"
    )]
    OnSchedulerThread,
    /// [`System::try_step`]: components are alive but none is runnable now.
    #[error("no component is runnable now (some are alive, waiting to be woken)")]
    WouldBlock,
    /// [`System::step_timeout`]: no component became runnable in time.
    #[error("no component became runnable before the timeout")]
    TimedOut,
}

impl From<StepRefused> for StepError {
    fn from(refused: StepRefused) -> Self {
        match refused {
            StepRefused::NotStepped => StepError::NotStepped,
            StepRefused::Busy => StepError::Busy,
            StepRefused::OnSchedulerThread => StepError::OnSchedulerThread,
            StepRefused::WouldBlock => StepError::WouldBlock,
            StepRefused::TimedOut => StepError::TimedOut,
        }
    }
}

impl System {
    /// Run one component step on this thread ([stepped](crate::SystemBuilder::stepped)
    /// systems only): poll the next runnable component once and return what
    /// ran. Sleeps while no component is runnable but some are alive, until
    /// one is woken (by another thread, a timer, a threaded component).
    /// `Ok(None)` when no component is alive. See [`crate::step`].
    ///
    /// ```
    /// use axon::{Component, System};
    /// let sys = System::builder().stepped().build();
    /// sys.spawn(Component::bare("hello"), |_cx| async {});
    /// let step = sys.step()?.expect("one component to step");
    /// assert_eq!(step.name(), "hello");
    /// assert!(step.is_finished());
    /// assert!(sys.step()?.is_none());
    /// # Ok::<_, axon::step::StepError>(())
    /// ```
    ///
    /// # Errors
    /// [`StepError::NotStepped`] for a system with scheduler threads,
    /// [`StepError::Busy`] while another thread steps or runs it,
    /// [`StepError::OnSchedulerThread`] when called from inside a component.
    pub fn step(&self) -> Result<Option<Step>, StepError> {
        self.step_with(StepWait::Forever)
    }

    /// [`step`](Self::step) without waiting: [`StepError::WouldBlock`] if
    /// components are alive but none is runnable now.
    ///
    /// # Errors
    /// As [`step`](Self::step), and [`StepError::WouldBlock`].
    pub fn try_step(&self) -> Result<Option<Step>, StepError> {
        self.step_with(StepWait::No)
    }

    /// [`step`](Self::step), waiting at most `timeout` for a component to
    /// become runnable: [`StepError::TimedOut`] if none did.
    ///
    /// # Errors
    /// As [`step`](Self::step), and [`StepError::TimedOut`].
    pub fn step_timeout(&self, timeout: Duration) -> Result<Option<Step>, StepError> {
        let wait = match Instant::now().checked_add(timeout) {
            Some(deadline) => StepWait::Until(deadline),
            None => StepWait::Forever,
        };
        self.step_with(wait)
    }

    fn step_with(&self, wait: StepWait) -> Result<Option<Step>, StepError> {
        let shared = &self.shared;
        let Some((task, ran)) = shared.core.step(wait, &|| shared.live())? else {
            return Ok(None);
        };
        let component: ComponentRef = task
            .owner::<ComponentRef>()
            .expect("an async component's task is owned by it")
            .clone();
        let after = match ran {
            Ran::Waiting => AfterStep::Waiting,
            Ran::Requeued => AfterStep::Runnable,
            // `finish` recorded the outcome before the step returned.
            Ran::Finished => AfterStep::Finished(component.outcome().unwrap_or(Outcome::Finished)),
            Ran::Gone => unreachable!("a step that polled nothing is not reported"),
        };
        Ok(Some(Step { component, after }))
    }
}
