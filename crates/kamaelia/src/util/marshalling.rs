//! [`Marshaller`] and [`DeMarshaller`]: turn values into a wire form and back
//! (Kamaelia's `Util/Marshalling`).
//!
//! Kamaelia's versions take a class with `marshall`/`demarshall` static
//! methods; here that is a [`Codec`]. [`Json`] (bytes) and [`JsonString`] (text)
//! cover any serde type. Framing the encoded messages on a byte stream is left
//! to other components ([`Framer`](super::Framer),
//! [`LineSplitter`](super::LineSplitter)).
//!
//! A value that cannot be encoded, or bytes that do not decode, are bad input,
//! not a bug: each gives a [`MarshalError`] on the `error` outbox and the
//! component carries on with the next message. With
//! [`fail_on_error`](Marshaller::fail_on_error) the component instead ends on
//! the first error (after reporting it), and the kernel sends
//! [`Signal::Failed`] out of `signal`. Shutdown follows the
//! [convention](crate::util#boxes-and-the-shutdown-convention).
//!
//! ```
//! use axon::{Signal, System};
//! use kamaelia::util::{collector, data_source, DeMarshaller, Json, Marshaller};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! struct Point { x: i32, y: i32 }
//!
//! let sys = System::builder().threads(1).build();
//! let src = data_source([Point { x: 1, y: 2 }]).spawn(&sys);
//! let enc = Marshaller::<Point, _>::new(Json).build().spawn(&sys);
//! let dec = DeMarshaller::<Point, _>::new(Json).build().spawn(&sys);
//! let (sink, got) = collector::<Point>();
//! let sink = sink.spawn(&sys);
//! axon::link(&src.outbox::<Point>("outbox")?, &enc.inbox("inbox")?)?;
//! axon::link(&enc.outbox::<Vec<u8>>("outbox")?, &dec.inbox("inbox")?)?;
//! axon::link(&dec.outbox::<Point>("outbox")?, &sink.inbox("inbox")?)?;
//! for (a, b) in [(&src, &enc), (&enc, &dec), (&dec, &sink)] {
//!     axon::link(&a.outbox::<Signal>("signal")?, &b.inbox("control")?)?;
//! }
//! sys.run();
//! assert_eq!(got.take(), [Point { x: 1, y: 2 }]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::marker::PhantomData;

use axon::{Component, Prefab, Signal};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::intake::{error_outbox, report};
use super::Intake;

/// Which way a [`MarshalError`] happened.
///
/// ```
/// use kamaelia::util::{MarshalError, MarshalErrorKind};
/// let e = MarshalError { kind: MarshalErrorKind::Encode, type_name: "T", input_len: None, reason: "no".into() };
/// assert_eq!(e.kind, MarshalErrorKind::Encode);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MarshalErrorKind {
    /// A value could not be turned into its wire form.
    Encode,
    /// Input could not be turned back into a value.
    Decode,
}

/// A message that could not be marshalled or demarshalled. The message itself
/// is not kept; `input_len` says how big the wire input was, for decoding.
///
/// ```
/// use kamaelia::util::{MarshalError, MarshalErrorKind};
/// let e = MarshalError {
///     kind: MarshalErrorKind::Decode,
///     type_name: "u32",
///     input_len: Some(3),
///     reason: "expected value".into(),
/// };
/// assert_eq!(
///     e.to_string(),
///     "could not decode a u32 from 3 bytes of input (message skipped): expected value"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {reason}", describe(.kind, .type_name, .input_len))]
pub struct MarshalError {
    /// Encoding or decoding.
    pub kind: MarshalErrorKind,
    /// The Rust type being encoded or decoded.
    pub type_name: &'static str,
    /// For decoding: the length of the input (bytes or characters).
    pub input_len: Option<usize>,
    /// What the codec said went wrong.
    pub reason: String,
}

fn describe(kind: &MarshalErrorKind, type_name: &str, input_len: &Option<usize>) -> String {
    match (kind, input_len) {
        (MarshalErrorKind::Encode, _) => format!("could not encode a {type_name}"),
        (MarshalErrorKind::Decode, Some(n)) => {
            format!("could not decode a {type_name} from {n} bytes of input (message skipped)")
        }
        (MarshalErrorKind::Decode, None) => format!("could not decode a {type_name} (message skipped)"),
    }
}

/// How values of `T` are written and read back (Kamaelia's class with
/// `marshall`/`demarshall`).
///
/// ```
/// use kamaelia::util::{Codec, Json};
/// let wire = Codec::<Vec<u32>>::marshal(&Json, &vec![1, 2]).unwrap();
/// assert_eq!(wire, b"[1,2]");
/// let back: Vec<u32> = Json.demarshal(wire).unwrap();
/// assert_eq!(back, [1, 2]);
/// ```
pub trait Codec<T>: Send + 'static {
    /// The wire form: bytes, text, ...
    type Wire: Send + 'static;
    /// Encode a value. The error is a human-readable reason.
    ///
    /// ```
    /// use kamaelia::util::{Codec, JsonString};
    /// assert_eq!(Codec::<Option<u8>>::marshal(&JsonString, &None).unwrap(), "null");
    /// ```
    fn marshal(&self, value: &T) -> Result<Self::Wire, String>;
    /// Decode a value.
    ///
    /// ```
    /// use kamaelia::util::{Codec, JsonString};
    /// let v: Vec<bool> = JsonString.demarshal("[true]".to_string()).unwrap();
    /// assert_eq!(v, [true]);
    /// ```
    fn demarshal(&self, wire: Self::Wire) -> Result<T, String>;
    /// The size of a wire message, for error reports (default: unknown).
    ///
    /// ```
    /// use kamaelia::util::{Codec, Json};
    /// assert_eq!(Codec::<u8>::wire_len(&Json, &b"12".to_vec()), Some(2));
    /// ```
    fn wire_len(&self, _wire: &Self::Wire) -> Option<usize> {
        None
    }
}

/// JSON as bytes (`Vec<u8>`), for any serde type.
///
/// ```
/// use kamaelia::util::{Codec, Json};
/// let err = Codec::<u8>::demarshal(&Json, b"300".to_vec()).unwrap_err();
/// assert!(err.contains("u8"), "{err}");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

impl<T: Serialize + DeserializeOwned> Codec<T> for Json {
    type Wire = Vec<u8>;
    fn marshal(&self, value: &T) -> Result<Vec<u8>, String> {
        serde_json::to_vec(value).map_err(|e| e.to_string())
    }
    fn demarshal(&self, wire: Vec<u8>) -> Result<T, String> {
        serde_json::from_slice(&wire).map_err(|e| e.to_string())
    }
    fn wire_len(&self, wire: &Vec<u8>) -> Option<usize> {
        Some(wire.len())
    }
}

/// JSON as text (`String`), for any serde type.
///
/// ```
/// use kamaelia::util::{Codec, JsonString};
/// let wire = Codec::<(u8, bool)>::marshal(&JsonString, &(1, true)).unwrap();
/// assert_eq!(wire, "[1,true]");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonString;

impl<T: Serialize + DeserializeOwned> Codec<T> for JsonString {
    type Wire = String;
    fn marshal(&self, value: &T) -> Result<String, String> {
        serde_json::to_string(value).map_err(|e| e.to_string())
    }
    fn demarshal(&self, wire: String) -> Result<T, String> {
        serde_json::from_str(&wire).map_err(|e| e.to_string())
    }
    fn wire_len(&self, wire: &String) -> Option<usize> {
        Some(wire.len())
    }
}

/// Encodes each value received on `inbox` with a [`Codec`], sending the wire
/// form out of `outbox` (see the [module docs](self)).
///
/// Boxes: `inbox: T`, `control` → `outbox: C::Wire`, `error: MarshalError`,
/// `signal`.
///
/// ```
/// use axon::{Inbox, Outbox, System};
/// use kamaelia::util::{JsonString, Marshaller};
///
/// let sys = System::builder().threads(1).build();
/// let enc = Marshaller::<Vec<u8>, _>::new(JsonString).build().spawn(&sys);
/// let mut feed = Outbox::<Vec<u8>>::detached("feed");
/// let mut text = Inbox::<String>::detached("text");
/// axon::link(&feed.endpoint(), &enc.inbox("inbox")?)?;
/// axon::link(&enc.outbox::<String>("outbox")?, &text.endpoint())?;
/// feed.try_send(vec![1, 2, 3])?;
/// drop(feed);
/// sys.run();
/// assert_eq!(text.try_recv().as_deref(), Ok("[1,2,3]"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a Marshaller is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct Marshaller<T, C> {
    codec: C,
    fail_on_error: bool,
    _t: PhantomData<fn(T)>,
}

/// Decodes each wire message received on `inbox` with a [`Codec`], sending the
/// value out of `outbox` (see the [module docs](self)).
///
/// Boxes: `inbox: C::Wire`, `control` → `outbox: T`, `error: MarshalError`,
/// `signal`.
///
/// ```
/// use axon::{Inbox, Outbox, System};
/// use kamaelia::util::{DeMarshaller, Json, MarshalError, MarshalErrorKind};
///
/// let sys = System::builder().threads(1).build();
/// let dec = DeMarshaller::<u32, _>::new(Json).build().spawn(&sys);
/// let mut feed = Outbox::<Vec<u8>>::detached("feed");
/// let mut values = Inbox::<u32>::detached("values");
/// let mut errors = Inbox::<MarshalError>::detached("errors");
/// axon::link(&feed.endpoint(), &dec.inbox("inbox")?)?;
/// axon::link(&dec.outbox::<u32>("outbox")?, &values.endpoint())?;
/// axon::link(&dec.outbox::<MarshalError>("error")?, &errors.endpoint())?;
/// feed.try_send(b"not json".to_vec())?;
/// feed.try_send(b"42".to_vec())?;
/// drop(feed);
/// sys.run();
/// assert_eq!(errors.try_recv()?.kind, MarshalErrorKind::Decode);
/// assert_eq!(values.try_recv(), Ok(42)); // carried on after the bad one
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a DeMarshaller is only a description: put it where a child or stage is taken, or make it a Prefab and spawn it"]
pub struct DeMarshaller<T, C> {
    codec: C,
    fail_on_error: bool,
    _t: PhantomData<fn(T)>,
}

impl<T, C: fmt::Debug> fmt::Debug for Marshaller<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Marshaller")
            .field("codec", &self.codec)
            .field("type", &std::any::type_name::<T>())
            .field("fail_on_error", &self.fail_on_error)
            .finish()
    }
}

impl<T, C: fmt::Debug> fmt::Debug for DeMarshaller<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeMarshaller")
            .field("codec", &self.codec)
            .field("type", &std::any::type_name::<T>())
            .field("fail_on_error", &self.fail_on_error)
            .finish()
    }
}

impl<T: Send + 'static, C: Codec<T>> From<Marshaller<T, C>> for Prefab {
    fn from(c: Marshaller<T, C>) -> Prefab {
        c.build()
    }
}

impl<T: Send + 'static, C: Codec<T>> Marshaller<T, C> {
    /// A marshaller using `codec`.
    ///
    /// ```
    /// use kamaelia::util::{Json, Marshaller};
    /// let m = Marshaller::<String, _>::new(Json).build();
    /// assert_eq!(m.name(), "Marshaller");
    /// ```
    pub fn new(codec: C) -> Self {
        Marshaller {
            codec,
            fail_on_error: false,
            _t: PhantomData,
        }
    }

    /// End on the first error (after sending it out of `error`) instead of
    /// skipping the message.
    ///
    /// ```
    /// use kamaelia::util::{Json, Marshaller};
    /// let m = Marshaller::<String, _>::new(Json).fail_on_error().build();
    /// # drop(m);
    /// ```
    pub fn fail_on_error(mut self) -> Self {
        self.fail_on_error = true;
        self
    }

    /// The component, ready to spawn.
    ///
    /// ```
    /// use kamaelia::util::{Json, Marshaller};
    /// let prefab = Marshaller::<u8, _>::new(Json).build();
    /// # drop(prefab);
    /// ```
    pub fn build(self) -> Prefab {
        let Marshaller {
            codec, fail_on_error, ..
        } = self;
        let spec = Component::new("Marshaller")
            .inbox_and_outbox::<T, C::Wire>()
            .outbox::<MarshalError>("error");
        Prefab::new(spec, move |mut cx| async move {
            let mut intake = Intake::<T>::take(&mut cx)?;
            let mut out = cx.outbox::<C::Wire>("outbox")?;
            let mut errors = error_outbox::<MarshalError>(&mut cx)?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            while let Some(x) = intake.recv().await {
                match codec.marshal(&x) {
                    Ok(w) => {
                        intake.send(&mut out, w).await?;
                    }
                    Err(reason) => {
                        let e = MarshalError {
                            kind: MarshalErrorKind::Encode,
                            type_name: std::any::type_name::<T>(),
                            input_len: None,
                            reason,
                        };
                        tracing::debug!(error = %e, "Marshaller: skipping a message");
                        report(&mut errors, e.clone());
                        if fail_on_error {
                            return Err(e.into());
                        }
                    }
                }
            }
            intake.finish(&mut signal).await;
            Ok(())
        })
    }
}

impl<T: Send + 'static, C: Codec<T>> From<DeMarshaller<T, C>> for Prefab {
    fn from(c: DeMarshaller<T, C>) -> Prefab {
        c.build()
    }
}

impl<T: Send + 'static, C: Codec<T>> DeMarshaller<T, C> {
    /// A demarshaller using `codec`.
    ///
    /// ```
    /// use kamaelia::util::{DeMarshaller, JsonString};
    /// let d = DeMarshaller::<Vec<i64>, _>::new(JsonString).build();
    /// assert_eq!(d.name(), "DeMarshaller");
    /// ```
    pub fn new(codec: C) -> Self {
        DeMarshaller {
            codec,
            fail_on_error: false,
            _t: PhantomData,
        }
    }

    /// End on the first error (after sending it out of `error`) instead of
    /// skipping the message.
    ///
    /// ```
    /// use kamaelia::util::{DeMarshaller, Json};
    /// let d = DeMarshaller::<String, _>::new(Json).fail_on_error().build();
    /// # drop(d);
    /// ```
    pub fn fail_on_error(mut self) -> Self {
        self.fail_on_error = true;
        self
    }

    /// The component, ready to spawn.
    ///
    /// ```
    /// use kamaelia::util::{DeMarshaller, Json};
    /// let prefab = DeMarshaller::<u8, _>::new(Json).build();
    /// # drop(prefab);
    /// ```
    pub fn build(self) -> Prefab {
        let DeMarshaller {
            codec, fail_on_error, ..
        } = self;
        let spec = Component::new("DeMarshaller")
            .inbox_and_outbox::<C::Wire, T>()
            .outbox::<MarshalError>("error");
        Prefab::new(spec, move |mut cx| async move {
            let mut intake = Intake::<C::Wire>::take(&mut cx)?;
            let mut out = cx.outbox::<T>("outbox")?;
            let mut errors = error_outbox::<MarshalError>(&mut cx)?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            while let Some(w) = intake.recv().await {
                let input_len = codec.wire_len(&w);
                match codec.demarshal(w) {
                    Ok(x) => {
                        intake.send(&mut out, x).await?;
                    }
                    Err(reason) => {
                        let e = MarshalError {
                            kind: MarshalErrorKind::Decode,
                            type_name: std::any::type_name::<T>(),
                            input_len,
                            reason,
                        };
                        tracing::debug!(error = %e, "DeMarshaller: skipping a message");
                        report(&mut errors, e.clone());
                        if fail_on_error {
                            return Err(e.into());
                        }
                    }
                }
            }
            intake.finish(&mut signal).await;
            Ok(())
        })
    }
}
