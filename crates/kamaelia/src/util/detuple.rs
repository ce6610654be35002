//! [`detuple`]: take one field out of each tuple (Kamaelia's
//! `SimpleDetupler`).
//!
//! The reference indexes whatever arrives (`msg[index]`); here the index is a
//! const parameter checked when compiling: `detuple::<(A, B, C), 1>()` receives
//! `(A, B, C)` and sends the `B`. Tuples of two to four fields are supported
//! ([`TupleField`]); for anything else use
//! [`pure_transformer`](super::pure_transformer) with a closure. Shutdown
//! follows the [convention](crate::util#boxes-and-the-shutdown-convention).

use axon::{Component, Prefab, Signal};

use super::Intake;

/// A tuple whose field `I` can be taken out by value.
///
/// Implemented for tuples of 2, 3 and 4 fields; an index past the end does
/// not compile:
///
/// ```compile_fail
/// use kamaelia::util::detuple;
/// let _ = detuple::<(u8, u8), 2>();
/// ```
pub trait TupleField<const I: usize>: Send + 'static {
    /// The type of field `I`.
    type Field: Send + 'static;
    /// Field `I`, dropping the others.
    fn field(self) -> Self::Field;
}

macro_rules! tuple_field {
    ($( $i:tt => $F:ident in ($($T:ident),+); )+) => {$(
        impl<$($T: Send + 'static),+> TupleField<$i> for ($($T,)+) {
            type Field = $F;
            fn field(self) -> $F {
                self.$i
            }
        }
    )+};
}

tuple_field! {
    0 => A in (A, B);
    1 => B in (A, B);
    0 => A in (A, B, C);
    1 => B in (A, B, C);
    2 => C in (A, B, C);
    0 => A in (A, B, C, D);
    1 => B in (A, B, C, D);
    2 => C in (A, B, C, D);
    3 => D in (A, B, C, D);
}

/// A component receiving tuples `T` and sending their field `I`.
///
/// Boxes: `inbox: T`, `control` → `outbox: T::Field`, `signal`.
///
/// ```
/// use axon::{Signal, System};
/// use kamaelia::util::{collector, data_source, detuple};
///
/// let sys = System::builder().threads(1).build();
/// // (sender, payload) pairs: keep the payload.
/// let src = data_source([("10.0.0.1", 1u8), ("10.0.0.2", 2)]).spawn(&sys);
/// let payload = detuple::<(&str, u8), 1>().spawn(&sys);
/// let (sink, got) = collector::<u8>();
/// let sink = sink.spawn(&sys);
/// axon::link(&src.outbox::<(&str, u8)>("outbox")?, &payload.inbox("inbox")?)?;
/// axon::link(&src.outbox::<Signal>("signal")?, &payload.inbox("control")?)?;
/// axon::link(&payload.outbox::<u8>("outbox")?, &sink.inbox("inbox")?)?;
/// sys.run();
/// assert_eq!(got.take(), [1, 2]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn detuple<T: TupleField<I>, const I: usize>() -> Prefab {
    Prefab::new(
        Component::new(format!("Detuple({I})")).inbox_and_outbox::<T, T::Field>(),
        |mut cx| async move {
            let mut intake = Intake::<T>::take(&mut cx)?;
            let mut out = cx.outbox::<T::Field>("outbox")?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            while let Some(t) = intake.recv().await {
                if !intake.send(&mut out, t.field()).await? {
                    break;
                }
            }
            intake.finish(&mut signal).await;
            Ok(())
        },
    )
}
