//! [`LineSplitter`]: complete lines out of a stream of byte chunks.
//!
//! Bytes from a socket or a pipe arrive in chunks that pay no attention to
//! line ends: one chunk may hold several lines, a line may be spread over
//! several chunks. The splitter buffers what it has, and sends each complete
//! line (without its `\n`, and without a `\r` before it) as soon as its end
//! arrives.
//!
//! A line longer than the limit (default [`DEFAULT_MAX_LINE`]) is not buffered
//! without bound: as soon as it passes the limit a [`LineError::TooLong`] goes
//! out of the `error` outbox, the bytes so far are dropped, and the rest of that
//! line is skipped up to its `\n`; the lines after it come through as usual.
//!
//! When the input ends (`ProducerFinished`, or every sender gone) a last line
//! without a `\n` is still sent. Shutdown follows the
//! [convention](crate::util#boxes-and-the-shutdown-convention);
//! `ShutdownMicroprocess` drops any partial line.

use axon::{Component, Prefab, Signal};

use super::intake::{error_outbox, report};
use super::Intake;

/// The default longest line, in bytes, not counting the line end: 64 KiB.
///
/// ```
/// assert_eq!(kamaelia::util::DEFAULT_MAX_LINE, 65536);
/// ```
pub const DEFAULT_MAX_LINE: usize = 64 * 1024;

/// Bad input seen by a [`LineSplitter`].
///
/// ```
/// use kamaelia::util::LineError;
/// let e = LineError::TooLong { max: 80, seen: 81 };
/// assert!(e.to_string().starts_with("line too long"), "{e}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// A line grew past the limit; it was dropped up to its end.
    #[error("line too long: more than {max} bytes without a newline ({seen} seen so far); dropped up to the next newline (raise the limit with LineSplitter::max_line_length if such lines are expected)")]
    TooLong {
        /// The limit.
        max: usize,
        /// Bytes of the line seen when the limit was passed.
        seen: usize,
    },
}

/// Splits a stream of byte chunks into lines (see the [module docs](self)).
///
/// Boxes: `inbox: Vec<u8>`, `control` → `outbox: Vec<u8>` (one line each),
/// `error: LineError`, `signal`.
///
/// ```
/// use axon::{Outbox, Signal, System};
/// use kamaelia::util::{collector, LineSplitter};
///
/// let sys = System::builder().threads(1).build();
/// let split = LineSplitter::new().build().spawn(&sys);
/// let (sink, lines) = collector::<Vec<u8>>();
/// let sink = sink.spawn(&sys);
/// let mut feed = Outbox::<Vec<u8>>::detached("feed");
/// axon::link(&feed.endpoint(), &split.inbox("inbox")?)?;
/// axon::link(&split.outbox::<Vec<u8>>("outbox")?, &sink.inbox("inbox")?)?;
/// axon::link(&split.outbox::<Signal>("signal")?, &sink.inbox("control")?)?;
/// for chunk in ["hel", "lo\r\nwor", "ld\nlast"] {
///     feed.try_send(chunk.as_bytes().to_vec())?;
/// }
/// drop(feed);
/// sys.run();
/// assert_eq!(lines.take(), [b"hello".to_vec(), b"world".to_vec(), b"last".to_vec()]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a LineSplitter is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct LineSplitter {
    max: usize,
}

impl Default for LineSplitter {
    fn default() -> Self {
        LineSplitter::new()
    }
}

impl LineSplitter {
    /// A splitter with the default limit ([`DEFAULT_MAX_LINE`]).
    ///
    /// ```
    /// use kamaelia::util::LineSplitter;
    /// let prefab = LineSplitter::new().build();
    /// assert_eq!(prefab.name(), "LineSplitter");
    /// ```
    pub fn new() -> Self {
        LineSplitter {
            max: DEFAULT_MAX_LINE,
        }
    }

    /// The longest line accepted, in bytes, not counting the line end
    /// (`usize::MAX`: no limit).
    ///
    /// ```
    /// use kamaelia::util::LineSplitter;
    /// let prefab = LineSplitter::new().max_line_length(80).build();
    /// # drop(prefab);
    /// ```
    pub fn max_line_length(mut self, max: usize) -> Self {
        self.max = max;
        self
    }

    /// The component, ready to spawn.
    ///
    /// ```
    /// use kamaelia::util::LineSplitter;
    /// let prefab = LineSplitter::default().build();
    /// # drop(prefab);
    /// ```
    pub fn build(self) -> Prefab {
        let max = self.max;
        let spec = Component::new("LineSplitter")
            .inbox_and_outbox::<Vec<u8>, Vec<u8>>()
            .outbox::<LineError>("error");
        Prefab::new(spec, move |mut cx| async move {
            let mut intake = Intake::<Vec<u8>>::take(&mut cx)?;
            let mut out = cx.outbox::<Vec<u8>>("outbox")?;
            let mut errors = error_outbox::<LineError>(&mut cx)?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            let mut state = Splitting::new(max);
            let mut found = Vec::new();
            'run: while let Some(chunk) = intake.recv().await {
                state.push(&chunk, &mut found);
                for item in found.drain(..) {
                    let sent = match item {
                        Ok(line) => intake.send(&mut out, line).await?,
                        Err(e) => {
                            report(&mut errors, e);
                            true
                        }
                    };
                    if !sent {
                        break 'run;
                    }
                }
            }
            if intake.ending() == Some(&Signal::ProducerFinished) {
                match state.finish() {
                    Some(Ok(line)) => {
                        intake.send(&mut out, line).await?;
                    }
                    Some(Err(e)) => {
                        report(&mut errors, e);
                    }
                    None => {}
                }
            }
            intake.finish(&mut signal).await;
            Ok(())
        })
    }
}

impl From<LineSplitter> for Prefab {
    fn from(s: LineSplitter) -> Prefab {
        s.build()
    }
}

/// The splitting state machine, apart from the component.
#[derive(Debug)]
struct Splitting {
    max: usize,
    buf: Vec<u8>,
    /// Skipping the rest of an over-long line.
    skipping: bool,
}

fn trim_cr(mut line: Vec<u8>) -> Vec<u8> {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    line
}

impl Splitting {
    fn new(max: usize) -> Self {
        Splitting {
            max,
            buf: Vec::new(),
            skipping: false,
        }
    }

    /// Take in a chunk; complete lines and errors, in order, go to `found`.
    fn push(&mut self, chunk: &[u8], found: &mut Vec<Result<Vec<u8>, LineError>>) {
        let mut rest = chunk;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            let part = &rest[..i];
            rest = &rest[i + 1..];
            if self.skipping {
                self.skipping = false;
                continue;
            }
            // The buffer holds at most `max + 1` bytes, so this stays bounded.
            let mut line = std::mem::take(&mut self.buf);
            line.extend_from_slice(part);
            // A '\r' right before the '\n' is part of the line end, not the line.
            let line = trim_cr(line);
            if line.len() > self.max {
                found.push(Err(LineError::TooLong {
                    max: self.max,
                    seen: line.len(),
                }));
            } else {
                found.push(Ok(line));
            }
        }
        if self.skipping {
            return;
        }
        // Allow one byte over the limit: it may be the '\r' of a "\r\n".
        let len = self.buf.len() + rest.len();
        if len > self.max.saturating_add(1) {
            found.push(Err(LineError::TooLong {
                max: self.max,
                seen: len,
            }));
            self.buf.clear();
            self.skipping = true;
        } else {
            self.buf.extend_from_slice(rest);
        }
    }

    /// The input has ended: the last line, if it had no line end.
    fn finish(&mut self) -> Option<Result<Vec<u8>, LineError>> {
        if self.skipping || self.buf.is_empty() {
            return None;
        }
        let line = trim_cr(std::mem::take(&mut self.buf));
        if line.len() > self.max {
            return Some(Err(LineError::TooLong {
                max: self.max,
                seen: line.len(),
            }));
        }
        Some(Ok(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Found = Vec<Result<Vec<u8>, LineError>>;

    fn run(max: usize, chunks: &[&[u8]]) -> (Found, Option<Result<Vec<u8>, LineError>>) {
        let mut s = Splitting::new(max);
        let mut found = Vec::new();
        for c in chunks {
            s.push(c, &mut found);
        }
        let last = s.finish();
        (found, last)
    }

    #[test]
    fn every_split_point_gives_the_same_lines() {
        let text: &[u8] = b"alpha\r\nbeta\n\ngamma\ndelta";
        for cut in 0..=text.len() {
            let (a, b) = text.split_at(cut);
            let (found, last) = run(64, &[a, b]);
            let lines: Vec<Vec<u8>> = found.into_iter().map(Result::unwrap).collect();
            assert_eq!(
                lines,
                [b"alpha".to_vec(), b"beta".to_vec(), vec![], b"gamma".to_vec()],
                "cut at {cut}"
            );
            assert_eq!(last, Some(Ok(b"delta".to_vec())));
        }
    }

    #[test]
    fn exactly_the_limit_is_accepted_even_with_crlf_split() {
        let (found, _) = run(3, &[b"abc\r", b"\nxyz\n"]);
        assert_eq!(found, [Ok(b"abc".to_vec()), Ok(b"xyz".to_vec())]);
    }

    #[test]
    fn too_long_line_is_reported_once_and_skipped() {
        let (found, last) = run(4, &[b"ok\nwaytoolong", b"stillgoing", b"end\nnext\n"]);
        assert_eq!(
            found,
            [
                Ok(b"ok".to_vec()),
                Err(LineError::TooLong { max: 4, seen: 10 }),
                Ok(b"next".to_vec())
            ]
        );
        assert_eq!(last, None);
    }

    #[test]
    fn crlf_split_after_a_full_line() {
        let (found, _) = run(3, &[b"abc\r", b"\n"]);
        assert_eq!(found, [Ok(b"abc".to_vec())]);
        let (found, last) = run(3, &[b"abcd"]);
        assert_eq!(found, []);
        assert_eq!(last, Some(Err(LineError::TooLong { max: 3, seen: 4 })));
    }

    #[test]
    fn too_long_line_within_one_chunk() {
        let (found, _) = run(2, &[b"abcdef\nab\n"]);
        assert_eq!(
            found,
            [Err(LineError::TooLong { max: 2, seen: 6 }), Ok(b"ab".to_vec())]
        );
    }
}
