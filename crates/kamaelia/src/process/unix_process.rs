//! [`UnixProcess`]: run a command as a component — `inbox` to its stdin, its
//! stdout out of `outbox`, its stderr out of `error` — losslessly and with
//! back-pressure both ways (Kamaelia's `UnixProcess2`, not the first version,
//! which dropped data).
//!
//! ## How it works
//!
//! The component itself is async and only coordinates: it starts the child,
//! watches `control`, and collects events from four helper threads, each
//! doing one blocking job over the component's own boxes:
//!
//! * **stdin**: takes chunks from `inbox` and writes them to the child. It takes
//!   the next chunk only once the previous one is written, so a child that does
//!   not read leaves chunks in `inbox` and the sender waits (the inbox is
//!   bounded).
//! * **stdout** / **stderr**: read up to [`chunk_size`](UnixProcess::chunk_size)
//!   bytes at a time and send them on `outbox` / `error`, waiting while the
//!   destination is full — and not reading meanwhile, so a slow consumer makes
//!   the child block on its writes, as in a shell pipe.
//! * **reaper**: waits for the child to end and reaps it.
//!
//! Every wait on a box can be abandoned when the component is told to stop,
//! so a stuck consumer or producer never keeps it from shutting down.
//!
//! ## Ending
//!
//! * `ProducerFinished` at `control`, or `inbox` closing: what is already in
//!   `inbox` is written, the child's stdin is closed, its stdout and stderr
//!   are read to the end, it is reaped, its [`ExitReport`] goes out of `exit`,
//!   then `ProducerFinished` out of `signal`.
//! * The child ending by itself (without reading all its input): same, once
//!   its output is drained. Input it never read is logged (`warn`) with its
//!   size, not delivered anywhere.
//! * `ShutdownMicroprocess` (or a `Failed` passed down a chain): the child is
//!   killed (`SIGKILL`, or `SIGTERM` then `SIGKILL` after
//!   [`kill_grace`](UnixProcess::kill_grace)), with its whole process group by
//!   default, and reaped; the report (with `killed: true`) goes out of `exit`
//!   and the signal is passed on out of `signal`.
//! * The consumer of `outbox` ending while output remains: the child is
//!   killed and reaped, and the component fails with
//!   [`ProcessError::DestinationClosed`]. (The consumer of `error` ending
//!   only sends the rest of stderr to the log, as [`Stderr::Log`] does.)
//! * The program cannot be started: `Err(ProcessError::Spawn)` goes out of
//!   `exit` and the component fails with the same error.
//!
//! The child is always reaped: also if the component is cancelled (its
//! system shut down while it runs), a guard kills the child and waits for it.
//!
//! Like a shell's `$(...)`, the output is read to its end: if the child
//! leaves something running in the background that keeps its stdout or
//! stderr open, the component ends when that does (or on a shutdown, which
//! kills the child's whole process group — unless
//! [`own_process_group(false)`](UnixProcess::own_process_group), where only
//! the child is killed and the component still waits for the pipes to close).

use std::ffi::OsStr;
use std::fmt;
use std::future::poll_fn;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::Poll;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use axon::{block_on, Component, Inbox, Outbox, Prefab, Signal, TrySendError};
use bytes::{Bytes, BytesMut};

use super::exit::{Exit, ExitReport, ProcessError};
use super::phase::{until, Phase, DRAIN, RUNNING, STOP};
use super::sys;

/// Default most bytes read from the child's stdout or stderr at once.
pub const DEFAULT_CHUNK: usize = 64 * 1024;

/// Default limit of the component's `inbox`, in chunks.
pub const DEFAULT_INBOX_SIZE: usize = 16;

/// How many chunks `outbox` holds while it is not linked (then the child
/// waits: nothing is dropped).
const UNLINKED_OUTBOX: usize = 16;

/// How many chunks `error` holds while it is not linked; past that, stderr is
/// logged instead (see [`Stderr::Outbox`]).
const UNLINKED_ERROR: usize = 64;

/// Where the child's stderr goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Stderr {
    /// Out of the `error` outbox as byte chunks, with back-pressure while it
    /// is linked. While `error` is not linked it holds up to 64 chunks; what
    /// comes after that is logged (`tracing`, `debug`, as with
    /// [`Stderr::Log`]) rather than stalling the child. So is everything
    /// after its consumer has ended.
    #[default]
    Outbox,
    /// Logged a line at a time through `tracing` at `debug` level (target
    /// `kamaelia::process`, with the program's name).
    Log,
    /// Shared with this process's stderr.
    Inherit,
    /// Discarded (`/dev/null`).
    Null,
}

/// A component running a command: `inbox` bytes to its stdin, its stdout out
/// of `outbox`, its stderr out of `error`, how it ended out of `exit`.
///
/// Boxes:
///
/// | box | type | |
/// |---|---|---|
/// | `inbox` | [`Bytes`] | written to the child's stdin (bounded: [`inbox_size`](Self::inbox_size)) |
/// | `control` | [`Signal`] | `ProducerFinished`: close stdin when written, drain, end; `ShutdownMicroprocess`: kill |
/// | `outbox` | [`Bytes`] | the child's stdout, in chunks of up to [`chunk_size`](Self::chunk_size) |
/// | `error` | [`Bytes`] | the child's stderr (see [`Stderr`]) |
/// | `exit` | [`Exit`] | once: `Ok(`[`ExitReport`]`)` when reaped, or `Err` if it could not start |
/// | `signal` | [`Signal`] | `ProducerFinished` after a normal end (whatever the exit code), the shutdown passed on, or `Failed` |
///
/// A non-zero exit is reported on `exit` and logged at `warn`; with
/// [`check(true)`](Self::check) it also makes the component fail. See the
/// [module docs](self) for the full story of how it ends.
///
/// The command runs directly (no shell) unless made with
/// [`shell`](Self::shell). By default it gets a process group of its own, so
/// a shutdown kills everything it started and a Ctrl-C at the terminal
/// reaches this program only (which then shuts the pipeline down).
///
/// ```
/// use axon::{Inbox, Outbox, Signal, System};
/// use bytes::Bytes;
/// use kamaelia::process::{Exit, UnixProcess};
///
/// let sys = System::builder().threads(1).build();
/// let tr = UnixProcess::new("tr").args(["a-z", "A-Z"]).build().spawn(&sys);
/// let mut feed = Outbox::<Bytes>::detached("feed");
/// let mut out = Inbox::<Bytes>::detached("out");
/// let mut exit = Inbox::<Exit>::detached("exit");
/// axon::link(&feed.endpoint(), &tr.inbox("inbox")?)?;
/// axon::link(&tr.outbox::<Bytes>("outbox")?, &out.endpoint())?;
/// axon::link(&tr.outbox::<Exit>("exit")?, &exit.endpoint())?;
/// feed.try_send(Bytes::from_static(b"hello"))?;
/// drop(feed); // inbox closes: stdin is closed once written
/// sys.run();
/// let text: Vec<u8> = std::iter::from_fn(|| out.try_recv().ok()).flatten().collect();
/// assert_eq!(text, b"HELLO");
/// assert!(exit.try_recv()?.expect("started").success());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a UnixProcess is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct UnixProcess {
    command: Command,
    program: String,
    stderr: Stderr,
    chunk_size: usize,
    inbox_size: usize,
    own_group: bool,
    kill_grace: Option<Duration>,
    check: bool,
}

impl fmt::Debug for UnixProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixProcess")
            .field("command", &self.command)
            .field("stderr", &self.stderr)
            .field("chunk_size", &self.chunk_size)
            .field("inbox_size", &self.inbox_size)
            .field("own_group", &self.own_group)
            .field("kill_grace", &self.kill_grace)
            .field("check", &self.check)
            .finish()
    }
}

impl UnixProcess {
    /// Run `program` (looked up on `PATH` if it has no `/`), with no
    /// arguments yet, no shell.
    ///
    /// ```
    /// use kamaelia::process::UnixProcess;
    /// let p = UnixProcess::new("gzip").arg("-c");
    /// assert_eq!(p.program(), "gzip");
    /// ```
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        UnixProcess::from_command(Command::new(program))
    }

    /// Run `command_line` with `/bin/sh -c` (pipes, redirections, globbing:
    /// whatever the shell does).
    ///
    /// ```
    /// use kamaelia::process::UnixProcess;
    /// let p = UnixProcess::shell("gzip -c | gunzip");
    /// assert_eq!(p.program(), "/bin/sh");
    /// ```
    pub fn shell(command_line: impl AsRef<OsStr>) -> Self {
        UnixProcess::new("/bin/sh").arg("-c").arg(command_line)
    }

    /// Run a [`Command`] set up by hand (its stdin, stdout and stderr
    /// settings are replaced: stdin and stdout are always pipes, stderr
    /// follows [`stderr`](Self::stderr)).
    ///
    /// ```
    /// use kamaelia::process::UnixProcess;
    /// let mut cmd = std::process::Command::new("cat");
    /// cmd.env("LC_ALL", "C");
    /// let p = UnixProcess::from_command(cmd);
    /// assert_eq!(p.program(), "cat");
    /// ```
    pub fn from_command(command: Command) -> Self {
        let program = command.get_program().to_string_lossy().into_owned();
        UnixProcess {
            command,
            program,
            stderr: Stderr::default(),
            chunk_size: DEFAULT_CHUNK,
            inbox_size: DEFAULT_INBOX_SIZE,
            own_group: true,
            kill_grace: None,
            check: false,
        }
    }

    /// The program it runs, as given.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// Add an argument.
    ///
    /// ```
    /// use kamaelia::process::UnixProcess;
    /// let p = UnixProcess::new("echo").arg("hello");
    /// # drop(p);
    /// ```
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.command.arg(arg);
        self
    }

    /// Add arguments.
    ///
    /// ```
    /// use kamaelia::process::UnixProcess;
    /// let p = UnixProcess::new("head").args(["-c", "100"]);
    /// # drop(p);
    /// ```
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command.args(args);
        self
    }

    /// Set an environment variable for the child.
    ///
    /// ```
    /// use kamaelia::process::UnixProcess;
    /// let p = UnixProcess::new("sort").env("LC_ALL", "C");
    /// # drop(p);
    /// ```
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    /// Remove an environment variable for the child.
    ///
    /// ```
    /// use kamaelia::process::UnixProcess;
    /// let p = UnixProcess::new("env").env_remove("HOME");
    /// # drop(p);
    /// ```
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.command.env_remove(key);
        self
    }

    /// Start the child with no environment but what [`env`](Self::env) sets.
    ///
    /// ```
    /// use kamaelia::process::UnixProcess;
    /// let p = UnixProcess::new("/usr/bin/env").env_clear().env("A", "1");
    /// # drop(p);
    /// ```
    pub fn env_clear(mut self) -> Self {
        self.command.env_clear();
        self
    }

    /// Run the child in directory `dir`.
    ///
    /// ```
    /// use kamaelia::process::UnixProcess;
    /// let p = UnixProcess::new("ls").current_dir("/");
    /// # drop(p);
    /// ```
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.command.current_dir(dir);
        self
    }

    /// Where the child's stderr goes (default: the `error` outbox).
    ///
    /// ```
    /// use kamaelia::process::{Stderr, UnixProcess};
    /// let p = UnixProcess::new("ffmpeg").stderr(Stderr::Log);
    /// # drop(p);
    /// ```
    pub fn stderr(mut self, stderr: Stderr) -> Self {
        self.stderr = stderr;
        self
    }

    /// Most bytes read from stdout or stderr at once, so the largest chunk
    /// sent (default 64 KiB; at least 1).
    ///
    /// ```
    /// use kamaelia::process::UnixProcess;
    /// let p = UnixProcess::new("cat").chunk_size(16 * 1024);
    /// # drop(p);
    /// ```
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = bytes.max(1);
        self
    }

    /// Limit of `inbox`, in chunks (default 16; at least 1). A sender waits
    /// while it is full.
    ///
    /// ```
    /// use kamaelia::process::UnixProcess;
    /// let p = UnixProcess::new("cat").inbox_size(4);
    /// # drop(p);
    /// ```
    pub fn inbox_size(mut self, chunks: usize) -> Self {
        self.inbox_size = chunks.max(1);
        self
    }

    /// On shutdown, send `SIGTERM` first and `SIGKILL` only if the child is
    /// still there after `grace` (default: `SIGKILL` at once).
    ///
    /// ```
    /// use kamaelia::process::UnixProcess;
    /// let p = UnixProcess::new("ffmpeg").kill_grace(std::time::Duration::from_secs(2));
    /// # drop(p);
    /// ```
    pub fn kill_grace(mut self, grace: Duration) -> Self {
        self.kill_grace = Some(grace);
        self
    }

    /// Whether the child gets a process group of its own (default: yes).
    /// With one, a kill reaches everything the child started, and terminal
    /// signals (Ctrl-C) reach only this program. Without, it shares this
    /// program's group, and only the child itself is killed.
    ///
    /// ```
    /// use kamaelia::process::UnixProcess;
    /// let p = UnixProcess::new("less").own_process_group(false);
    /// # drop(p);
    /// ```
    pub fn own_process_group(mut self, own: bool) -> Self {
        self.own_group = own;
        self
    }

    /// Make an unsuccessful exit (non-zero code, or a signal it did not get
    /// from this component) a failure of the component:
    /// [`ProcessError::Exited`], so `Failed` goes out of `signal` instead of
    /// `ProducerFinished`. Default: no (the exit is reported on `exit` and
    /// logged at `warn`).
    ///
    /// ```
    /// use kamaelia::process::UnixProcess;
    /// let p = UnixProcess::new("gzip").arg("-t").check(true);
    /// # drop(p);
    /// ```
    pub fn check(mut self, check: bool) -> Self {
        self.check = check;
        self
    }

    /// The component, ready to spawn.
    ///
    /// ```
    /// use kamaelia::process::UnixProcess;
    /// let prefab = UnixProcess::new("cat").build();
    /// assert_eq!(prefab.name(), "UnixProcess");
    /// ```
    pub fn build(self) -> Prefab {
        let spec = Component::new("UnixProcess")
            .inbox_with_size::<Bytes>("inbox", self.inbox_size)
            .outbox::<Bytes>("outbox")
            .outbox::<Bytes>("error")
            .outbox::<Exit>("exit");
        Prefab::new(spec, move |mut cx| async move {
            let boxes = Boxes {
                inbox: cx.inbox::<Bytes>("inbox")?,
                control: cx.inbox::<Signal>("control")?,
                out: cx.outbox::<Bytes>("outbox")?,
                error: cx.outbox::<Bytes>("error")?,
                exit: cx.outbox::<Exit>("exit")?,
                signal: cx.outbox::<Signal>("signal")?,
            };
            self.run(boxes).await.map_err(axon::Error::from)
        })
    }

    async fn run(self, boxes: Boxes) -> Result<(), ProcessError> {
        let Boxes {
            inbox,
            mut control,
            out,
            error,
            mut exit,
            mut signal,
        } = boxes;
        let UnixProcess {
            mut command,
            program,
            stderr,
            chunk_size,
            own_group,
            kill_grace,
            check,
            ..
        } = self;
        out.set_size(Some(UNLINKED_OUTBOX));
        error.set_size(Some(UNLINKED_ERROR));

        command.stdin(Stdio::piped()).stdout(Stdio::piped());
        command.stderr(match stderr {
            Stderr::Outbox | Stderr::Log => Stdio::piped(),
            Stderr::Inherit => Stdio::inherit(),
            Stderr::Null => Stdio::null(),
        });
        if own_group {
            command.process_group(0);
        }
        let mut child = match command.spawn() {
            Ok(c) => c,
            Err(e) => {
                let e = ProcessError::spawn(&program, e);
                tracing::warn!(target: "kamaelia::process", error = %e, "process not started");
                let _ = exit.send(Err(e.clone())).await;
                return Err(e);
            }
        };
        let pid = child.id();
        tracing::debug!(target: "kamaelia::process", %program, pid, "process started");
        let pipes = (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let shared = Arc::new(ChildShared {
            program: program.clone(),
            pid,
            group: own_group,
            state: Mutex::new(ChildState {
                child,
                status: None,
                killed: false,
                reaper: false,
            }),
            reaped: Condvar::new(),
        });
        let phase = Arc::new(Phase::default());
        // From here on the child is killed and reaped whatever happens.
        let _guard = Guard {
            shared: shared.clone(),
            phase: phase.clone(),
        };

        let mut events = Inbox::<Event>::detached("events");
        let mut threads = Threads::default();
        let (stdin, stdout, child_stderr) = pipes;
        if let Some(stdin) = stdin {
            let tx = event_sender(&events)?;
            let phase = phase.clone();
            let name = program.clone();
            threads.spawn(&program, "stdin", move || {
                let program = name;
                let (inbox, undelivered, error) = feed_stdin(inbox, stdin, &phase);
                let error = error.map(|e| ProcessError::io(&program, "writing its stdin", e));
                send_event(
                    tx,
                    Event::Stdin {
                        inbox,
                        undelivered,
                        error,
                    },
                );
            })?;
        }
        let mut stdout_done = stdout.is_none();
        if let Some(stdout) = stdout {
            let tx = event_sender(&events)?;
            let phase = phase.clone();
            let name = program.clone();
            threads.spawn(&program, "stdout", move || {
                let program = name;
                let mut sink = Sink::Outbox {
                    out,
                    name: "outbox",
                    log_when_unlinked: false,
                    log: LineLog::default(),
                };
                let r = pump(
                    stdout,
                    &mut sink,
                    &phase,
                    chunk_size,
                    &program,
                    "reading its stdout",
                );
                send_event(tx, Event::Stdout(r));
            })?;
        }
        let mut stderr_done = child_stderr.is_none();
        if let Some(pipe) = child_stderr {
            let tx = event_sender(&events)?;
            let phase = phase.clone();
            let name = program.clone();
            threads.spawn(&program, "stderr", move || {
                let program = name;
                let mut sink = match stderr {
                    Stderr::Log => Sink::Log(LineLog::default()),
                    _ => Sink::Outbox {
                        out: error,
                        name: "error",
                        log_when_unlinked: true,
                        log: LineLog::default(),
                    },
                };
                let r = pump(
                    pipe,
                    &mut sink,
                    &phase,
                    chunk_size,
                    &program,
                    "reading its stderr",
                );
                send_event(tx, Event::Stderr(r));
            })?;
        }
        {
            let tx = event_sender(&events)?;
            let shared2 = shared.clone();
            shared.lock().reaper = true;
            let started = threads.spawn(&program, "reaper", move || {
                let r = shared2.reap();
                send_event(tx, Event::Reaped(r));
            });
            if let Err(e) = started {
                shared.lock().reaper = false;
                return Err(e);
            }
        }

        let mut stdin_done = threads.stdin.is_none();
        let mut control_open = true;
        let mut reaped: Option<Result<ExitStatus, ProcessError>> = None;
        let mut ending: Option<Signal> = None;
        let mut failure: Option<ProcessError> = None;
        let mut undelivered = 0u64;
        let mut leftover_inbox: Option<Inbox<Bytes>> = None;
        let fail = |e: ProcessError, failure: &mut Option<ProcessError>| {
            tracing::debug!(target: "kamaelia::process", error = %e, "stopping the child");
            failure.get_or_insert(e);
            shared.kill(None);
            phase.raise(STOP);
        };

        loop {
            if reaped.is_some() && stdout_done && stderr_done {
                // Nothing will read stdin any more.
                phase.raise(STOP);
                if stdin_done {
                    break;
                }
            }
            let step = poll_fn(|cx| {
                if let Poll::Ready(ev) = events.poll_recv(cx) {
                    return Poll::Ready(Step::Event(ev.ok()));
                }
                if control_open {
                    if let Poll::Ready(sig) = control.poll_recv(cx) {
                        return Poll::Ready(Step::Control(sig.ok()));
                    }
                }
                Poll::Pending
            })
            .await;
            match step {
                Step::Control(Some(Signal::ProducerFinished)) => {
                    if phase.get() == RUNNING {
                        tracing::debug!(target: "kamaelia::process", %program, pid, "input finished: closing stdin once written");
                    }
                    phase.raise(DRAIN);
                }
                Step::Control(Some(sig)) => {
                    if ending.is_none() {
                        tracing::debug!(target: "kamaelia::process", %program, pid, signal = ?sig, "shutdown: killing the child");
                        ending = Some(sig);
                        shared.stop(kill_grace);
                    }
                    phase.raise(STOP);
                }
                Step::Control(None) => control_open = false,
                Step::Event(Some(Event::Stdin {
                    inbox,
                    undelivered: n,
                    error,
                })) => {
                    stdin_done = true;
                    undelivered += n;
                    leftover_inbox = Some(inbox);
                    if let Some(e) = error {
                        fail(e, &mut failure);
                    }
                }
                Step::Event(Some(Event::Stdout(r))) => {
                    stdout_done = true;
                    if let Err(e) = r {
                        fail(e, &mut failure);
                    }
                }
                Step::Event(Some(Event::Stderr(r))) => {
                    stderr_done = true;
                    if let Err(e) = r {
                        fail(e, &mut failure);
                    }
                }
                Step::Event(Some(Event::Reaped(r))) => reaped = Some(r),
                Step::Event(None) => {
                    // Every helper thread has gone without saying so: one panicked.
                    let e = ProcessError::io(
                        &program,
                        "running its I/O threads",
                        io::Error::other("an I/O thread ended unexpectedly"),
                    );
                    failure.get_or_insert(e);
                    break;
                }
            }
        }
        threads.join();

        // Input that never reached the child.
        let mut chunks = 0u64;
        if let Some(mut inbox) = leftover_inbox {
            while let Ok(chunk) = inbox.try_recv() {
                undelivered += chunk.len() as u64;
                chunks += 1;
            }
        }
        if undelivered > 0 {
            if ending.is_some() {
                tracing::debug!(target: "kamaelia::process", %program, pid, bytes = undelivered, "input not written to the child (shut down)");
            } else {
                tracing::warn!(target: "kamaelia::process", %program, pid, bytes = undelivered, chunks_left_in_inbox = chunks, "the child stopped reading its stdin: this input was not delivered");
            }
        }

        let status = match reaped {
            Some(Ok(status)) => status,
            Some(Err(e)) => return Err(failure.unwrap_or(e)),
            None => {
                return Err(failure.unwrap_or_else(|| {
                    ProcessError::io(&program, "waiting for it to end", io::Error::other("not reaped"))
                }))
            }
        };
        let report = ExitReport {
            program: program.clone(),
            pid,
            status,
            killed: shared.lock().killed,
        };
        if report.success() || report.killed {
            tracing::debug!(target: "kamaelia::process", "{report}");
        } else {
            tracing::warn!(target: "kamaelia::process", "{report}");
        }
        let _ = exit.send(Ok(report.clone())).await;
        if let Some(e) = failure {
            return Err(e);
        }
        if check && ending.is_none() && !report.success() {
            return Err(ProcessError::Exited(report));
        }
        let _ = signal.send(ending.unwrap_or(Signal::ProducerFinished)).await;
        Ok(())
    }
}

impl From<UnixProcess> for Prefab {
    fn from(p: UnixProcess) -> Prefab {
        p.build()
    }
}

struct Boxes {
    inbox: Inbox<Bytes>,
    control: Inbox<Signal>,
    out: Outbox<Bytes>,
    error: Outbox<Bytes>,
    exit: Outbox<Exit>,
    signal: Outbox<Signal>,
}

enum Step {
    Control(Option<Signal>),
    Event(Option<Event>),
}

/// What a helper thread reports (its last act).
enum Event {
    Stdin {
        inbox: Inbox<Bytes>,
        undelivered: u64,
        error: Option<ProcessError>,
    },
    Stdout(Result<(), ProcessError>),
    Stderr(Result<(), ProcessError>),
    Reaped(Result<ExitStatus, ProcessError>),
}

fn event_sender(events: &Inbox<Event>) -> Result<Outbox<Event>, ProcessError> {
    let tx = Outbox::<Event>::detached("event");
    axon::link(&tx.endpoint(), &events.endpoint()).map_err(|e| {
        ProcessError::io(
            "UnixProcess",
            "linking its event box",
            io::Error::other(e.to_string()),
        )
    })?;
    Ok(tx)
}

fn send_event(mut tx: Outbox<Event>, ev: Event) {
    // The events inbox is unbounded; it is closed only if the component has
    // gone (cancelled), and then nobody is left to tell.
    let _ = tx.try_send(ev);
}

#[derive(Default)]
struct Threads {
    stdin: Option<JoinHandle<()>>,
    others: Vec<JoinHandle<()>>,
}

impl Threads {
    fn spawn(
        &mut self,
        program: &str,
        role: &'static str,
        f: impl FnOnce() + Send + 'static,
    ) -> Result<(), ProcessError> {
        let h = std::thread::Builder::new()
            .name(format!("process-{role}"))
            .spawn(f)
            .map_err(|e| ProcessError::io(program, "starting an I/O thread", e))?;
        if role == "stdin" {
            self.stdin = Some(h);
        } else {
            self.others.push(h);
        }
        Ok(())
    }

    /// Called once every thread has sent its last event: the joins are
    /// immediate.
    fn join(self) {
        for h in self.stdin.into_iter().chain(self.others) {
            let _ = h.join();
        }
    }
}

/// The child, shared by the coordinator, the reaper and whoever kills it.
struct ChildShared {
    program: String,
    pid: u32,
    group: bool,
    state: Mutex<ChildState>,
    reaped: Condvar,
}

struct ChildState {
    child: Child,
    status: Option<ExitStatus>,
    killed: bool,
    /// A reaper thread is running (so only it reaps).
    reaper: bool,
}

impl ChildShared {
    fn lock(&self) -> MutexGuard<'_, ChildState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Send `sig` (default `SIGKILL`) to the child (and its group) if it has
    /// not been reaped.
    fn kill(&self, sig: Option<libc::c_int>) {
        let mut st = self.lock();
        if st.status.is_some() {
            return;
        }
        let sig = sig.unwrap_or(libc::SIGKILL);
        let mut r = Ok(());
        if self.group {
            r = sys::send_signal(self.pid, true, sig);
        }
        // Also the child itself, in case it left the group.
        r = r.and(sys::send_signal(self.pid, false, sig));
        if let Err(e) = r {
            tracing::warn!(target: "kamaelia::process", program = %self.program, pid = self.pid, error = %e, "could not signal the child");
        }
        st.killed = true;
    }

    /// Stop it: `SIGKILL`, or `SIGTERM` and `SIGKILL` after `grace`.
    fn stop(self: &Arc<Self>, grace: Option<Duration>) {
        let Some(grace) = grace else {
            return self.kill(None);
        };
        self.kill(Some(libc::SIGTERM));
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name("process-kill".into())
            .spawn(move || {
                if me.wait_reaped(grace).is_none() {
                    me.kill(None);
                }
            });
        if spawned.is_err() {
            self.kill(None);
        }
    }

    /// The reaper: wait for the child to end, then reap it under the lock.
    fn reap(&self) -> Result<ExitStatus, ProcessError> {
        let waited = sys::wait_ended_unreaped(self.pid);
        let mut st = self.lock();
        let r = match waited {
            Ok(()) => st.child.wait(),
            Err(e) => {
                tracing::debug!(target: "kamaelia::process", error = %e, "waitid failed; polling for the child's end");
                loop {
                    match st.child.try_wait() {
                        Ok(Some(s)) => break Ok(s),
                        Ok(None) => {
                            drop(st);
                            std::thread::sleep(Duration::from_millis(10));
                            st = self.lock();
                        }
                        Err(e) => break Err(e),
                    }
                }
            }
        };
        let r = r.map_err(|e| ProcessError::io(&self.program, "waiting for it to end", e));
        st.status = Some(match &r {
            Ok(s) => *s,
            // Cannot be waited for (e.g. SIGCHLD ignored): count it as gone.
            Err(_) => std::os::unix::process::ExitStatusExt::from_raw(0),
        });
        drop(st);
        self.reaped.notify_all();
        r
    }

    /// Wait up to `timeout` for it to be reaped.
    fn wait_reaped(&self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        let mut st = self.lock();
        loop {
            if let Some(s) = st.status {
                return Some(s);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            st = self
                .reaped
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

/// Kills and reaps the child if the component ends (or is dropped) without
/// having done so, and tells the I/O threads to stop.
struct Guard {
    shared: Arc<ChildShared>,
    phase: Arc<Phase>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.phase.raise(STOP);
        if self.shared.lock().status.is_some() {
            return;
        }
        self.shared.kill(None);
        let reaper = self.shared.lock().reaper;
        if reaper {
            if self.shared.wait_reaped(Duration::from_secs(10)).is_none() {
                tracing::warn!(target: "kamaelia::process", program = %self.shared.program, pid = self.shared.pid, "child not reaped 10 s after SIGKILL; its reaper thread will reap it when it ends");
            }
        } else {
            let mut st = self.shared.lock();
            if let Ok(s) = st.child.wait() {
                st.status = Some(s);
            }
        }
    }
}

/// The stdin thread: write what arrives on `inbox` to the child. Returns the
/// inbox (with whatever is left in it), the bytes of a chunk the child would
/// not take, and an error other than the child closing its stdin.
fn feed_stdin(
    mut inbox: Inbox<Bytes>,
    mut stdin: ChildStdin,
    phase: &Phase,
) -> (Inbox<Bytes>, u64, Option<io::Error>) {
    loop {
        let level = phase.get();
        if level >= STOP {
            break;
        }
        let chunk = if level >= DRAIN {
            // Whatever was sent before ProducerFinished is already here.
            match inbox.try_recv() {
                Ok(c) => c,
                Err(_) => break,
            }
        } else {
            match block_on(until(inbox.recv(), phase, DRAIN)) {
                None => continue,
                Some(Ok(c)) => c,
                Some(Err(_)) => break, // inbox closed: as ProducerFinished
            }
        };
        if let Err(e) = write_chunk(&mut stdin, &chunk) {
            let n = chunk.len() as u64;
            if e.kind() == io::ErrorKind::BrokenPipe {
                // The child closed its stdin (or ended): it wants no more.
                return (inbox, n, None);
            }
            return (inbox, n, Some(e));
        }
    }
    drop(stdin); // the child sees end of input
    (inbox, 0, None)
}

fn write_chunk(stdin: &mut ChildStdin, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        match stdin.write(data) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Where a reader thread puts what it reads.
enum Sink {
    Outbox {
        out: Outbox<Bytes>,
        name: &'static str,
        /// If it is unlinked and full, log rather than wait (stderr).
        log_when_unlinked: bool,
        log: LineLog,
    },
    Log(LineLog),
}

/// Reads a pipe to its end, sending what it reads to `sink`. `Ok` also when
/// stopped early by `phase`.
fn pump(
    pipe: impl AsFd,
    sink: &mut Sink,
    phase: &Phase,
    chunk: usize,
    program: &str,
    what: &'static str,
) -> Result<(), ProcessError> {
    // Reads go into a block of several chunks, split off as they are filled:
    // no copy, each chunk valid as long as someone holds it, and the block's
    // memory reused once they have all been dropped.
    let mut buf = BytesMut::with_capacity(chunk.saturating_mul(4));
    loop {
        if phase.get() >= STOP {
            return Ok(());
        }
        let n =
            sys::read_fd(pipe.as_fd(), &mut buf, chunk).map_err(|e| ProcessError::io(program, what, e))?;
        if n == 0 {
            break;
        }
        let data = buf.split().freeze();
        match sink {
            Sink::Log(log) => log.push(program, &data),
            Sink::Outbox {
                out,
                name,
                log_when_unlinked,
                log,
            } => {
                let data = match out.try_send(data) {
                    Ok(()) => continue,
                    Err(TrySendError::Full(d)) if *log_when_unlinked && !out.is_linked() => {
                        log.push(program, &d);
                        continue;
                    }
                    Err(TrySendError::Full(d)) => d,
                    Err(TrySendError::Closed(d)) => d,
                };
                let undelivered = match block_on(until(out.send(data), phase, STOP)) {
                    None => return Ok(()),
                    Some(Ok(())) => continue,
                    Some(Err(e)) => e.into_inner(),
                };
                if !*log_when_unlinked {
                    return Err(closed(program, name));
                }
                // Nobody takes stderr any more: log the rest of it.
                tracing::debug!(target: "kamaelia::process", %program, "the destination of `error` closed: logging stderr instead");
                let mut log = std::mem::take(log);
                log.push(program, &undelivered);
                *sink = Sink::Log(log);
            }
        }
    }
    match sink {
        Sink::Log(log) | Sink::Outbox { log, .. } => log.flush(program),
    }
    Ok(())
}

fn closed(program: &str, outbox: &'static str) -> ProcessError {
    ProcessError::DestinationClosed {
        program: program.to_string(),
        outbox,
    }
}

/// Logs bytes a line at a time (`debug`), keeping a partial line until its
/// end arrives (or it grows past 4 KiB).
#[derive(Default)]
struct LineLog {
    partial: Vec<u8>,
}

impl LineLog {
    const MAX: usize = 4096;

    fn push(&mut self, program: &str, data: &[u8]) {
        // Progress meters end their lines with \r.
        for piece in data.split_inclusive(|&b| b == b'\n' || b == b'\r') {
            self.partial.extend_from_slice(piece);
            if piece.ends_with(b"\n") || piece.ends_with(b"\r") || self.partial.len() >= Self::MAX {
                self.flush(program);
            }
        }
    }

    fn flush(&mut self, program: &str) {
        let line = String::from_utf8_lossy(&self.partial);
        let line = line.trim_end();
        if !line.is_empty() {
            tracing::debug!(target: "kamaelia::process", %program, "{line}");
        }
        self.partial.clear();
    }
}
