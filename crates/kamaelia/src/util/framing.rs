//! Length-prefixed framing: [`Framer`] and [`DeFramer`] keep message
//! boundaries across a byte stream (the job of Kamaelia's `Protocol/Framing`).
//!
//! A frame is a 4-byte big-endian length followed by that many bytes of
//! payload. The `Framer` turns each payload it receives into one frame; the
//! `DeFramer` takes byte chunks however they were cut up on the way (several
//! frames in a chunk, a frame or even its length spread over chunks) and sends
//! each payload once all of it has arrived.
//!
//! Both refuse payloads over a limit (default [`DEFAULT_MAX_FRAME`]), so a
//! corrupt or hostile length cannot make the receiver reserve gigabytes:
//!
//! * the `Framer` reports a too-big payload as [`FrameError::TooLong`] on its
//!   `error` outbox and skips it;
//! * the `DeFramer` cannot find the next frame after a bad length (the stream
//!   has lost its boundaries), so it reports [`FrameError::TooLong`] on `error`
//!   and then fails, which sends [`Signal::Failed`] out of `signal`;
//! * input ending in the middle of a frame gives [`FrameError::Truncated`] on
//!   `error`, then the usual ending.
//!
//! Shutdown follows the [convention](crate::util#boxes-and-the-shutdown-convention).
//!
//! ```
//! use axon::{Signal, System};
//! use kamaelia::util::{collector, data_source, DeFramer, Framer};
//!
//! let sys = System::builder().threads(1).build();
//! let src = data_source([b"first".to_vec(), b"".to_vec(), b"third".to_vec()]).spawn(&sys);
//! let framer = Framer::new().build().spawn(&sys);
//! let deframer = DeFramer::new().build().spawn(&sys);
//! let (sink, got) = collector::<Vec<u8>>();
//! let sink = sink.spawn(&sys);
//! for (a, b) in [(&src, &framer), (&framer, &deframer), (&deframer, &sink)] {
//!     axon::link(&a.outbox::<Vec<u8>>("outbox")?, &b.inbox("inbox")?)?;
//!     axon::link(&a.outbox::<Signal>("signal")?, &b.inbox("control")?)?;
//! }
//! sys.run();
//! assert_eq!(got.take(), [b"first".to_vec(), vec![], b"third".to_vec()]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use axon::{Component, Prefab, Signal};

use super::intake::{error_outbox, report};
use super::Intake;

/// The default largest payload, in bytes: 16 MiB.
///
/// ```
/// assert_eq!(kamaelia::util::DEFAULT_MAX_FRAME, 16 << 20);
/// ```
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;

/// Bytes in a frame's length prefix.
const HEADER: usize = 4;

/// A framing problem.
///
/// ```
/// use kamaelia::util::FrameError;
/// let e = FrameError::Truncated { expected: 9, got: 5 };
/// assert!(e.to_string().contains("5 of 9 bytes"), "{e}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A payload (to frame, or announced by a received length) is over the
    /// limit.
    #[error("frame too long: {len} bytes, the limit is {max} (raise it with max_frame_length if such frames are expected; a received length this big may also mean the stream is corrupt or not framed)")]
    TooLong {
        /// The payload length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The input ended part way through a frame.
    #[error("input ended in the middle of a frame: {got} of {expected} bytes (prefix included) arrived; the partial frame was dropped")]
    Truncated {
        /// Bytes the frame needed, length prefix included (0 if the prefix
        /// itself was incomplete).
        expected: usize,
        /// Bytes that arrived.
        got: usize,
    },
}

/// Frames each payload received on `inbox` (see the [module docs](self)).
///
/// Boxes: `inbox: Vec<u8>` (payloads), `control` → `outbox: Vec<u8>`
/// (frames), `error: FrameError`, `signal`.
///
/// ```
/// use axon::{Inbox, Outbox, System};
/// use kamaelia::util::Framer;
///
/// let sys = System::builder().threads(1).build();
/// let framer = Framer::new().build().spawn(&sys);
/// let mut feed = Outbox::<Vec<u8>>::detached("feed");
/// let mut frames = Inbox::<Vec<u8>>::detached("frames");
/// axon::link(&feed.endpoint(), &framer.inbox("inbox")?)?;
/// axon::link(&framer.outbox::<Vec<u8>>("outbox")?, &frames.endpoint())?;
/// feed.try_send(b"hi".to_vec())?;
/// drop(feed);
/// sys.run();
/// assert_eq!(frames.try_recv()?, [0, 0, 0, 2, b'h', b'i']);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a Framer is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct Framer {
    max: usize,
}

/// Recovers payloads from a framed byte stream (see the [module docs](self)).
///
/// Boxes: `inbox: Vec<u8>` (chunks), `control` → `outbox: Vec<u8>`
/// (payloads), `error: FrameError`, `signal`.
///
/// ```
/// use axon::{Inbox, Outbox, System};
/// use kamaelia::util::DeFramer;
///
/// let sys = System::builder().threads(1).build();
/// let deframer = DeFramer::new().build().spawn(&sys);
/// let mut feed = Outbox::<Vec<u8>>::detached("feed");
/// let mut payloads = Inbox::<Vec<u8>>::detached("payloads");
/// axon::link(&feed.endpoint(), &deframer.inbox("inbox")?)?;
/// axon::link(&deframer.outbox::<Vec<u8>>("outbox")?, &payloads.endpoint())?;
/// // One frame split across two chunks, the length prefix cut in half.
/// feed.try_send(vec![0, 0])?;
/// feed.try_send(vec![0, 3, b'a', b'b', b'c'])?;
/// drop(feed);
/// sys.run();
/// assert_eq!(payloads.try_recv()?, b"abc");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a DeFramer is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct DeFramer {
    max: usize,
}

impl Default for Framer {
    fn default() -> Self {
        Framer::new()
    }
}

impl Default for DeFramer {
    fn default() -> Self {
        DeFramer::new()
    }
}

/// The frame for `payload`, or why there cannot be one.
fn frame(payload: &[u8], max: usize) -> Result<Vec<u8>, FrameError> {
    let too_long = FrameError::TooLong {
        len: payload.len(),
        max,
    };
    if payload.len() > max {
        return Err(too_long);
    }
    let len = u32::try_from(payload.len()).map_err(|_| too_long)?;
    let mut f = Vec::with_capacity(HEADER + payload.len());
    f.extend_from_slice(&len.to_be_bytes());
    f.extend_from_slice(payload);
    Ok(f)
}

impl Framer {
    /// A framer with the default limit ([`DEFAULT_MAX_FRAME`]).
    ///
    /// ```
    /// use kamaelia::util::Framer;
    /// assert_eq!(Framer::new().build().name(), "Framer");
    /// ```
    pub fn new() -> Self {
        Framer {
            max: DEFAULT_MAX_FRAME,
        }
    }

    /// The largest payload accepted, in bytes (at most `u32::MAX`, the most
    /// the prefix can say).
    ///
    /// ```
    /// use kamaelia::util::Framer;
    /// let prefab = Framer::new().max_frame_length(1024).build();
    /// # drop(prefab);
    /// ```
    pub fn max_frame_length(mut self, max: usize) -> Self {
        self.max = max;
        self
    }

    /// The component, ready to spawn.
    ///
    /// ```
    /// use kamaelia::util::Framer;
    /// let prefab = Framer::default().build();
    /// # drop(prefab);
    /// ```
    pub fn build(self) -> Prefab {
        let max = self.max;
        let spec = Component::new("Framer")
            .inbox_and_outbox::<Vec<u8>, Vec<u8>>()
            .outbox::<FrameError>("error");
        Prefab::new(spec, move |mut cx| async move {
            let mut intake = Intake::<Vec<u8>>::take(&mut cx)?;
            let mut out = cx.outbox::<Vec<u8>>("outbox")?;
            let mut errors = error_outbox::<FrameError>(&mut cx)?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            while let Some(payload) = intake.recv().await {
                match frame(&payload, max) {
                    Ok(f) => {
                        if !intake.send(&mut out, f).await? {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "Framer: skipping a payload");
                        report(&mut errors, e);
                    }
                }
            }
            intake.finish(&mut signal).await;
            Ok(())
        })
    }
}

impl From<Framer> for Prefab {
    fn from(f: Framer) -> Prefab {
        f.build()
    }
}

/// The de-framing state machine, apart from the component.
#[derive(Debug)]
struct Deframing {
    max: usize,
    buf: Vec<u8>,
}

impl Deframing {
    /// Take in a chunk; complete payloads go to `found`. An error means the
    /// stream cannot be followed any further.
    fn push(&mut self, chunk: &[u8], found: &mut Vec<Vec<u8>>) -> Result<(), FrameError> {
        self.buf.extend_from_slice(chunk);
        let mut at = 0;
        let result = loop {
            let rest = &self.buf[at..];
            let Some(header) = rest.first_chunk::<HEADER>() else {
                break Ok(());
            };
            let len = u32::from_be_bytes(*header) as usize;
            if len > self.max {
                break Err(FrameError::TooLong { len, max: self.max });
            }
            if rest.len() < HEADER + len {
                break Ok(());
            }
            found.push(rest[HEADER..HEADER + len].to_vec());
            at += HEADER + len;
        };
        self.buf.drain(..at);
        result
    }

    /// The input has ended: an error if it stopped part way through a frame.
    fn finish(&self) -> Result<(), FrameError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let expected = self
            .buf
            .first_chunk::<HEADER>()
            .map_or(0, |h| HEADER + u32::from_be_bytes(*h) as usize);
        Err(FrameError::Truncated {
            expected,
            got: self.buf.len(),
        })
    }
}

impl DeFramer {
    /// A de-framer with the default limit ([`DEFAULT_MAX_FRAME`]).
    ///
    /// ```
    /// use kamaelia::util::DeFramer;
    /// assert_eq!(DeFramer::new().build().name(), "DeFramer");
    /// ```
    pub fn new() -> Self {
        DeFramer {
            max: DEFAULT_MAX_FRAME,
        }
    }

    /// The largest payload accepted, in bytes.
    ///
    /// ```
    /// use kamaelia::util::DeFramer;
    /// let prefab = DeFramer::new().max_frame_length(1024).build();
    /// # drop(prefab);
    /// ```
    pub fn max_frame_length(mut self, max: usize) -> Self {
        self.max = max;
        self
    }

    /// The component, ready to spawn.
    ///
    /// ```
    /// use kamaelia::util::DeFramer;
    /// let prefab = DeFramer::default().build();
    /// # drop(prefab);
    /// ```
    pub fn build(self) -> Prefab {
        let max = self.max;
        let spec = Component::new("DeFramer")
            .inbox_and_outbox::<Vec<u8>, Vec<u8>>()
            .outbox::<FrameError>("error");
        Prefab::new(spec, move |mut cx| async move {
            let mut intake = Intake::<Vec<u8>>::take(&mut cx)?;
            let mut out = cx.outbox::<Vec<u8>>("outbox")?;
            let mut errors = error_outbox::<FrameError>(&mut cx)?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            let mut state = Deframing { max, buf: Vec::new() };
            let mut found = Vec::new();
            'run: while let Some(chunk) = intake.recv().await {
                let pushed = state.push(&chunk, &mut found);
                for payload in found.drain(..) {
                    if !intake.send(&mut out, payload).await? {
                        break 'run;
                    }
                }
                if let Err(e) = pushed {
                    report(&mut errors, e.clone());
                    return Err(e.into());
                }
            }
            if intake.ending() == Some(&Signal::ProducerFinished) {
                if let Err(e) = state.finish() {
                    report(&mut errors, e);
                }
            }
            intake.finish(&mut signal).await;
            Ok(())
        })
    }
}

impl From<DeFramer> for Prefab {
    fn from(d: DeFramer) -> Prefab {
        d.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_split_point_gives_the_same_payloads() {
        let payloads: [&[u8]; 3] = [b"one", b"", b"three"];
        let stream: Vec<u8> = payloads.iter().flat_map(|p| frame(p, 100).unwrap()).collect();
        for a in 0..=stream.len() {
            for b in a..=stream.len() {
                let mut d = Deframing {
                    max: 100,
                    buf: Vec::new(),
                };
                let mut found = Vec::new();
                for chunk in [&stream[..a], &stream[a..b], &stream[b..]] {
                    d.push(chunk, &mut found).unwrap();
                }
                assert_eq!(found, payloads, "cuts at {a},{b}");
                assert_eq!(d.finish(), Ok(()));
            }
        }
    }

    #[test]
    fn oversized_length_is_refused_before_buffering() {
        let mut d = Deframing {
            max: 10,
            buf: Vec::new(),
        };
        let mut found = Vec::new();
        assert_eq!(
            d.push(&[0xff, 0xff, 0xff, 0xff, 1], &mut found),
            Err(FrameError::TooLong {
                len: u32::MAX as usize,
                max: 10
            })
        );
        assert!(found.is_empty());
        assert_eq!(frame(&[0; 11], 10), Err(FrameError::TooLong { len: 11, max: 10 }));
    }

    #[test]
    fn truncated_input_is_reported() {
        let mut d = Deframing {
            max: 10,
            buf: Vec::new(),
        };
        let mut found = Vec::new();
        d.push(&[0, 0, 0, 5, b'a'], &mut found).unwrap();
        assert_eq!(d.finish(), Err(FrameError::Truncated { expected: 9, got: 5 }));
        let mut d = Deframing {
            max: 10,
            buf: Vec::new(),
        };
        d.push(&[0, 0], &mut found).unwrap();
        assert_eq!(d.finish(), Err(FrameError::Truncated { expected: 0, got: 2 }));
    }
}
