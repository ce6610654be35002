//! Console input and output: [`ConsoleReader`] and [`ConsoleEchoer`]
//! (Kamaelia's `Util/Console`).
//!
//! `ConsoleReader` is a threaded component (reading a line blocks) sending each
//! line it reads out of `outbox`. `ConsoleEchoer` writes each message it
//! receives, optionally passing it on. Both read from / write to the real
//! console by default and to any `BufRead` / `Write` when told, which is how
//! they are tested.
//!
//! ```
//! use axon::{Signal, System};
//! use kamaelia::util::{ConsoleEchoer, ConsoleReader};
//! use std::sync::{Arc, Mutex};
//!
//! // Echo what is "typed", a line at a time (here: from a string, into a buffer).
//! #[derive(Clone, Default)]
//! struct Shared(Arc<Mutex<Vec<u8>>>);
//! impl std::io::Write for Shared {
//!     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.0.lock().unwrap().write(b) }
//!     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
//! }
//! let screen = Shared::default();
//! let sys = System::builder().threads(1).build();
//! let reader = ConsoleReader::from_reader(&b"hello\nworld\n"[..]).eol("\n").build().spawn(&sys);
//! let echo = ConsoleEchoer::<String>::new().writer(screen.clone()).build().spawn(&sys);
//! axon::link(&reader.outbox::<String>("outbox")?, &echo.inbox("inbox")?)?;
//! axon::link(&reader.outbox::<Signal>("signal")?, &echo.inbox("control")?)?;
//! sys.run();
//! assert_eq!(screen.0.lock().unwrap().as_slice(), b"hello\nworld\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::io::{BufRead, BufReader, Write};

use axon::{Component, Prefab, Signal, TryRecvError};

use super::{DestinationClosed, Intake};

/// Reads lines from the console (or any `BufRead`) and sends each out of
/// `outbox` as a `String`.
///
/// A threaded component. Lines are sent without their line terminator (`\n` or
/// `\r\n`) unless [`eol`](Self::eol) says what to put back (Kamaelia's default
/// was `"\n"`). At end of input it sends `ProducerFinished` out of `signal` and
/// ends. A signal at `control` is passed on and ends it — but only once the
/// line being read has arrived: a blocking console read cannot be interrupted.
/// Input that is not UTF-8, or a read error, ends it with a failure.
///
/// Boxes: `inbox: ()` (never used), `control` → `outbox: String`, `signal`.
///
/// ```
/// use axon::{Inbox, Signal, System};
/// use kamaelia::util::ConsoleReader;
///
/// let sys = System::builder().threads(1).build();
/// let reader = ConsoleReader::from_reader(&b"one\r\ntwo"[..]).build().spawn(&sys);
/// let mut lines = Inbox::<String>::detached("lines");
/// let mut done = Inbox::<Signal>::detached("done");
/// axon::link(&reader.outbox::<String>("outbox")?, &lines.endpoint())?;
/// axon::link(&reader.outbox::<Signal>("signal")?, &done.endpoint())?;
/// sys.run();
/// assert_eq!(lines.try_recv().as_deref(), Ok("one"));
/// assert_eq!(lines.try_recv().as_deref(), Ok("two"));
/// assert_eq!(done.try_recv(), Ok(Signal::ProducerFinished));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a ConsoleReader is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct ConsoleReader {
    reader: Box<dyn BufRead + Send>,
    prompt: Option<(String, Box<dyn Write + Send>)>,
    eol: String,
}

impl fmt::Debug for ConsoleReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleReader")
            .field("prompt", &self.prompt.as_ref().map(|p| &p.0))
            .field("eol", &self.eol)
            .finish_non_exhaustive()
    }
}

impl ConsoleReader {
    /// Read from standard input.
    ///
    /// ```no_run
    /// use kamaelia::util::ConsoleReader;
    /// let sys = axon::System::new();
    /// let reader = ConsoleReader::stdin().prompt(">>> ").build().spawn(&sys);
    /// # drop(reader);
    /// ```
    pub fn stdin() -> Self {
        ConsoleReader::from_reader(BufReader::new(std::io::stdin()))
    }

    /// Read from `reader` (a file, a byte slice, a socket ...).
    ///
    /// ```
    /// use kamaelia::util::ConsoleReader;
    /// let reader = ConsoleReader::from_reader(std::io::Cursor::new("a line\n")).build();
    /// assert_eq!(reader.name(), "ConsoleReader");
    /// ```
    pub fn from_reader(reader: impl BufRead + Send + 'static) -> Self {
        ConsoleReader {
            reader: Box::new(reader),
            prompt: None,
            eol: String::new(),
        }
    }

    /// Write `prompt` to standard output before reading each line.
    ///
    /// ```
    /// use kamaelia::util::ConsoleReader;
    /// let reader = ConsoleReader::from_reader(&b""[..]).prompt("> ").build();
    /// # drop(reader);
    /// ```
    pub fn prompt(self, prompt: impl Into<String>) -> Self {
        self.prompt_to(prompt, std::io::stdout())
    }

    /// Write `prompt` to `out` before reading each line.
    ///
    /// ```
    /// use axon::System;
    /// use kamaelia::util::ConsoleReader;
    /// let sys = System::builder().threads(1).build();
    /// let reader = ConsoleReader::from_reader(&b"x\n"[..]).prompt_to("> ", std::io::sink()).build();
    /// reader.spawn(&sys);
    /// sys.run();
    /// ```
    pub fn prompt_to(mut self, prompt: impl Into<String>, out: impl Write + Send + 'static) -> Self {
        self.prompt = Some((prompt.into(), Box::new(out)));
        self
    }

    /// Put `eol` on the end of every line sent (default: nothing).
    ///
    /// ```
    /// use kamaelia::util::ConsoleReader;
    /// let reader = ConsoleReader::from_reader(&b"x\n"[..]).eol("\n").build();
    /// # drop(reader);
    /// ```
    pub fn eol(mut self, eol: impl Into<String>) -> Self {
        self.eol = eol.into();
        self
    }

    /// The component, ready to spawn.
    ///
    /// ```
    /// use kamaelia::util::ConsoleReader;
    /// let prefab = ConsoleReader::from_reader(&b""[..]).build();
    /// assert_eq!(prefab.name(), "ConsoleReader");
    /// ```
    pub fn build(self) -> Prefab {
        let ConsoleReader {
            mut reader,
            mut prompt,
            eol,
        } = self;
        let spec = Component::new("ConsoleReader").inbox_and_outbox::<(), String>();
        Prefab::threaded(spec, move |mut cx| -> Result<(), axon::Error> {
            let mut control = cx.inbox::<Signal>("control")?;
            let mut out = cx.outbox::<String>("outbox")?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            let mut buf = String::new();
            let ending = loop {
                match control.try_recv() {
                    Ok(sig) => break sig,
                    Err(TryRecvError::Empty | TryRecvError::Closed) => {}
                }
                if let Some((p, w)) = prompt.as_mut() {
                    w.write_all(p.as_bytes())?;
                    w.flush()?;
                }
                buf.clear();
                if reader.read_line(&mut buf)? == 0 {
                    break Signal::ProducerFinished;
                }
                let line = buf.strip_suffix('\n').unwrap_or(&buf);
                let line = line.strip_suffix('\r').unwrap_or(line);
                let msg = format!("{line}{eol}");
                out.send_blocking(msg).map_err(|_| DestinationClosed {
                    outbox: "outbox".into(),
                })?;
            };
            let _ = signal.send_blocking(ending);
            Ok(())
        })
    }
}

impl From<ConsoleReader> for Prefab {
    fn from(r: ConsoleReader) -> Prefab {
        r.build()
    }
}

type Format<T> = Box<dyn FnMut(&T) -> String + Send>;

/// Writes every message it receives to the console (or any `Write`).
///
/// Each message is formatted (with `Display` from [`new`](Self::new), `Debug`
/// from [`debug`](Self::debug) — Kamaelia's `use_repr` — or a function of your
/// own), prefixed by the [`tag`](Self::tag) and written as is, with no newline
/// added, then flushed. As a [`forwarder`](Self::forwarder) it also sends each
/// message on out of `outbox`, unchanged. A write error ends it with a failure.
/// Shutdown follows the [convention](crate::util#boxes-and-the-shutdown-convention).
///
/// It is an ordinary (async) component, as in Kamaelia: a write to a terminal
/// or buffer is quick. Give it a slow `Write` and it holds up its scheduler
/// thread while writing.
///
/// Boxes: `inbox: T`, `control` → `outbox: T` (forwarder only), `signal`.
///
/// ```
/// use axon::{Outbox, Inbox, System};
/// use kamaelia::util::ConsoleEchoer;
///
/// let sys = System::builder().threads(1).build();
/// let echo = ConsoleEchoer::<u32>::debug().tag("n=").forwarder(true).build().spawn(&sys);
/// let mut feed = Outbox::<u32>::detached("feed");
/// let mut passed = Inbox::<u32>::detached("passed");
/// axon::link(&feed.endpoint(), &echo.inbox("inbox")?)?;
/// axon::link(&echo.outbox::<u32>("outbox")?, &passed.endpoint())?;
/// feed.try_send(7)?; // prints "n=7"
/// drop(feed);
/// sys.run();
/// assert_eq!(passed.try_recv(), Ok(7));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a ConsoleEchoer is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct ConsoleEchoer<T> {
    format: Format<T>,
    writer: Box<dyn Write + Send>,
    tag: String,
    forwarder: bool,
}

impl<T> fmt::Debug for ConsoleEchoer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleEchoer")
            .field("tag", &self.tag)
            .field("forwarder", &self.forwarder)
            .finish_non_exhaustive()
    }
}

impl<T: fmt::Display + Send + 'static> ConsoleEchoer<T> {
    /// Write each message with `Display` to standard output.
    ///
    /// ```
    /// use kamaelia::util::ConsoleEchoer;
    /// let echo = ConsoleEchoer::<String>::new().build();
    /// assert_eq!(echo.name(), "ConsoleEchoer");
    /// ```
    pub fn new() -> Self {
        ConsoleEchoer::with_format(|x: &T| x.to_string())
    }
}

impl<T: fmt::Display + Send + 'static> Default for ConsoleEchoer<T> {
    fn default() -> Self {
        ConsoleEchoer::new()
    }
}

impl<T: fmt::Debug + Send + 'static> ConsoleEchoer<T> {
    /// Write each message with `Debug` (Kamaelia's `use_repr`).
    ///
    /// ```
    /// use kamaelia::util::ConsoleEchoer;
    /// let echo = ConsoleEchoer::<Vec<u8>>::debug().build();
    /// # drop(echo);
    /// ```
    pub fn debug() -> Self {
        ConsoleEchoer::with_format(|x: &T| format!("{x:?}"))
    }
}

impl<T: Send + 'static> ConsoleEchoer<T> {
    /// Write each message as `format` renders it.
    ///
    /// ```
    /// use kamaelia::util::ConsoleEchoer;
    /// let echo = ConsoleEchoer::with_format(|line: &String| format!("{line}\n")).build();
    /// # drop(echo);
    /// ```
    pub fn with_format(format: impl FnMut(&T) -> String + Send + 'static) -> Self {
        ConsoleEchoer {
            format: Box::new(format),
            writer: Box::new(std::io::stdout()),
            tag: String::new(),
            forwarder: false,
        }
    }

    /// Write to `writer` instead of standard output.
    ///
    /// ```
    /// use kamaelia::util::ConsoleEchoer;
    /// let echo = ConsoleEchoer::<u8>::new().writer(std::io::stderr()).build();
    /// # drop(echo);
    /// ```
    pub fn writer(mut self, writer: impl Write + Send + 'static) -> Self {
        self.writer = Box::new(writer);
        self
    }

    /// Put `tag` before every message written.
    ///
    /// ```
    /// use kamaelia::util::ConsoleEchoer;
    /// let echo = ConsoleEchoer::<u8>::new().tag("got: ").build();
    /// # drop(echo);
    /// ```
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = tag.into();
        self
    }

    /// Also send every message on out of `outbox` (default: no).
    ///
    /// ```
    /// use kamaelia::util::ConsoleEchoer;
    /// let echo = ConsoleEchoer::<u8>::new().forwarder(true).build();
    /// # drop(echo);
    /// ```
    pub fn forwarder(mut self, forward: bool) -> Self {
        self.forwarder = forward;
        self
    }

    /// The component, ready to spawn.
    ///
    /// ```
    /// use kamaelia::util::ConsoleEchoer;
    /// let prefab = ConsoleEchoer::<u8>::new().build();
    /// assert_eq!(prefab.name(), "ConsoleEchoer");
    /// ```
    pub fn build(self) -> Prefab {
        let ConsoleEchoer {
            mut format,
            mut writer,
            tag,
            forwarder,
        } = self;
        Prefab::new(
            Component::new("ConsoleEchoer").inbox_and_outbox::<T, T>(),
            move |mut cx| async move {
                let mut intake = Intake::<T>::take(&mut cx)?;
                let mut out = cx.outbox::<T>("outbox")?;
                let mut signal = cx.outbox::<Signal>("signal")?;
                while let Some(x) = intake.recv().await {
                    let text = format(&x);
                    writer.write_all(tag.as_bytes())?;
                    writer.write_all(text.as_bytes())?;
                    writer.flush()?;
                    if forwarder {
                        intake.send(&mut out, x).await?;
                    }
                }
                intake.finish(&mut signal).await;
                Ok(())
            },
        )
    }
}

impl<T: Send + 'static> From<ConsoleEchoer<T>> for Prefab {
    fn from(e: ConsoleEchoer<T>) -> Prefab {
        e.build()
    }
}
