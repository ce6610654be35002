//! Waiting on several boxes at once: [`select2`], [`select3`], [`select4`] and
//! their `_biased` forms.
//!
//! A Kamaelia component's everyday loop watches two inboxes, `inbox` and
//! `control`, and acts on whichever has something. `select2(&mut a, &mut b)`
//! waits until one of them is ready and says which, handing over what it
//! received:
//!
//! ```
//! use axon::select::{select2, Either2};
//! use axon::{Inbox, Outbox, RecvError, Signal, link};
//!
//! let mut data = Inbox::<u32>::detached("inbox");
//! let mut control = Inbox::<Signal>::detached("control");
//! let mut feed = Outbox::<u32>::detached("feed");
//! let mut ctl = Outbox::<Signal>::detached("ctl");
//! link(&feed.endpoint(), &data.endpoint())?;
//! link(&ctl.endpoint(), &control.endpoint())?;
//! feed.try_send(7)?;
//!
//! let got = axon::block_on(select2(&mut data, &mut control));
//! assert!(matches!(got, Either2::A(Ok(7))));
//!
//! ctl.try_send(Signal::ShutdownMicroprocess)?;
//! match axon::block_on(select2(&mut data, &mut control)) {
//!     Either2::A(Ok(x)) => unreachable!("no data waiting, got {x}"),
//!     Either2::A(Err(RecvError::Closed)) => unreachable!("feed is still open"),
//!     Either2::B(signal) => assert_eq!(signal, Ok(Signal::ShutdownMicroprocess)),
//! }
//! # Ok::<(), axon::Error>(())
//! ```
//!
//! Sides may carry different message types, and need not be inboxes: anything
//! [`Selectable`] will do — an [`Inbox`], a pinned future (`Pin<&mut F>`, e.g.
//! a [`time::sleep`](crate::runtime::time::sleep) as a timeout or
//! [`Context::child_exit`](crate::Context::child_exit)), an `Option` of either
//! (`None` is never ready: how a loop stops watching a side that has closed),
//! or a library type implementing the trait.
//!
//! # Order: fair or biased
//! * [`select2`] / [`select3`] / [`select4`] are **fair**: each call starts
//!   with a side picked at random (a cheap per-thread generator), so a side
//!   that always has messages cannot starve the others.
//! * [`select2_biased`] / [`select3_biased`] / [`select4_biased`] look at the
//!   sides **in argument order** and take the first that is ready. Put
//!   `control` first to act on a shutdown before any more data — the order
//!   Kamaelia components usually want — knowing that a busy first side then
//!   starves the later ones.
//!
//! # Nothing is lost
//! A side is only asked for a message while nothing has been taken yet: the
//! moment one side hands over a message, the select resolves with it, and the
//! sides not looked at (or looked at and not ready) keep theirs. Dropping an
//! unfinished select loses nothing either. No allocation: the future holds the
//! `&mut` references and one byte of state.
//!
//! # Closed inboxes are always ready
//! An inbox whose senders are all gone resolves at once with
//! `Err(RecvError::Closed)`, every time it is asked. A loop that goes on after
//! a side closed should stop watching it — keep the side in an `Option` and set
//! it to `None` — or with a biased order a closed first side wins forever. A
//! select whose sides are all `None` never resolves.
//!
//! ```
//! use axon::select::{select2_biased, Either2};
//! use axon::{Inbox, Outbox, Signal, link};
//!
//! let mut control = Some(Inbox::<Signal>::detached("control"));
//! let mut data = Inbox::<u32>::detached("inbox");
//! let mut feed = Outbox::<u32>::detached("feed");
//! link(&feed.endpoint(), &data.endpoint())?;
//! let ctl = Outbox::<Signal>::detached("ctl");
//! link(&ctl.endpoint(), &control.as_ref().unwrap().endpoint())?;
//! drop(ctl); // control closes
//! feed.try_send(1)?;
//! drop(feed);
//!
//! let mut got = Vec::new();
//! loop {
//!     match axon::block_on(select2_biased(&mut control, &mut data)) {
//!         Either2::A(Ok(_signal)) => break,
//!         Either2::A(Err(_closed)) => control = None, // stop watching it
//!         Either2::B(Ok(x)) => got.push(x),
//!         Either2::B(Err(_closed)) => break,
//!     }
//! }
//! assert_eq!(got, [1]);
//! # Ok::<(), axon::Error>(())
//! ```

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::boxes::error::RecvError;
use crate::boxes::inbox::Inbox;

/// Something a select can wait on: it can be asked, without blocking, for
/// what it has ready.
///
/// `poll_select` follows the rules of [`Future::poll`]: `Poll::Ready(x)` hands
/// `x` over (and it is then the caller's), `Poll::Pending` keeps nothing and
/// arranges for the task to be woken when asking again may succeed.
///
/// Implemented for [`Inbox<T>`] (`Result<T, RecvError>`, as
/// [`Inbox::recv`]), for pinned futures, for `Option<S>` (`None` is never
/// ready) and for `&mut S`. Implement it for a type of your own that reads
/// boxes (as `kamaelia`'s `Intake` does) to select on it too.
///
/// ```
/// use std::task::{Context, Poll};
/// use axon::select::{select2_biased, Either2, Selectable};
/// use axon::{Inbox, Outbox, RecvError, link};
///
/// /// An inbox that only hands out even numbers (dropping the odd ones).
/// struct Evens(Inbox<u32>);
/// impl Selectable for Evens {
///     type Output = Result<u32, RecvError>;
///     fn poll_select(&mut self, cx: &mut Context<'_>) -> Poll<Self::Output> {
///         loop {
///             match self.0.poll_recv(cx) {
///                 Poll::Ready(Ok(x)) if x % 2 == 1 => continue,
///                 other => return other,
///             }
///         }
///     }
/// }
///
/// let mut evens = Evens(Inbox::detached("evens"));
/// let mut other = Inbox::<String>::detached("other");
/// let mut feed = Outbox::<u32>::detached("feed");
/// link(&feed.endpoint(), &evens.0.endpoint())?;
/// feed.try_send(3)?;
/// feed.try_send(4)?;
/// let got = axon::block_on(select2_biased(&mut evens, &mut other));
/// assert!(matches!(got, Either2::A(Ok(4))));
/// # drop(other);
/// # Ok::<(), axon::Error>(())
/// ```
pub trait Selectable {
    /// What a ready side hands over.
    type Output;

    /// Take what is ready, or register the task's waker and return `Pending`.
    fn poll_select(&mut self, cx: &mut Context<'_>) -> Poll<Self::Output>;
}

impl<T: Send + 'static> Selectable for Inbox<T> {
    type Output = Result<T, RecvError>;

    #[inline]
    fn poll_select(&mut self, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.poll_recv(cx)
    }
}

impl<S: Selectable + ?Sized> Selectable for &mut S {
    type Output = S::Output;

    #[inline]
    fn poll_select(&mut self, cx: &mut Context<'_>) -> Poll<Self::Output> {
        (**self).poll_select(cx)
    }
}

/// `None` is never ready (a side the loop has stopped watching).
impl<S: Selectable> Selectable for Option<S> {
    type Output = S::Output;

    #[inline]
    fn poll_select(&mut self, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self {
            Some(s) => s.poll_select(cx),
            None => Poll::Pending,
        }
    }
}

/// A pinned future is ready when it completes. Do not select on a future
/// again after it has completed (as with polling it again).
///
/// ```
/// use std::pin::pin;
/// use std::time::Duration;
/// use axon::select::{select2_biased, Either2};
/// use axon::Inbox;
///
/// let mut inbox = Inbox::<u32>::detached("quiet");
/// let mut timeout = pin!(axon::time::sleep(Duration::from_millis(1)));
/// let got = axon::block_on(select2_biased(&mut inbox, &mut timeout));
/// assert!(matches!(got, Either2::B(()))); // nothing arrived in time
/// ```
impl<F: Future + ?Sized> Selectable for Pin<&mut F> {
    type Output = F::Output;

    #[inline]
    fn poll_select(&mut self, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.as_mut().poll(cx)
    }
}

/// Which of two sides was ready, with what it handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Either2<A, B> {
    /// The first side.
    A(A),
    /// The second side.
    B(B),
}

/// Which of three sides was ready, with what it handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Either3<A, B, C> {
    /// The first side.
    A(A),
    /// The second side.
    B(B),
    /// The third side.
    C(C),
}

/// Which of four sides was ready, with what it handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Either4<A, B, C, D> {
    /// The first side.
    A(A),
    /// The second side.
    B(B),
    /// The third side.
    C(C),
    /// The fourth side.
    D(D),
}

/// Where a select starts looking: a side number, or `BIASED` for argument
/// order. (Argument order is also where a fair select starting at 0 looks.)
const BIASED: u8 = 0;

thread_local! {
    /// xorshift32 state for fair selects (any non-zero seed will do).
    static RNG: Cell<u32> = const { Cell::new(0x9E37_79B9) };
}

/// A side number in `0..n`, pseudo-random (fair order; not for anything else).
fn fair_start(n: u32) -> u8 {
    RNG.with(|r| {
        let mut x = r.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        r.set(x);
        // Multiply-shift maps x onto 0..n without a division.
        ((u64::from(x) * u64::from(n)) >> 32) as u8
    })
}

macro_rules! select_n {
    (
        $(#[$fut_doc:meta])*
        $Fut:ident, $Either:ident, $n:literal,
        $(#[$fair_doc:meta])*
        $fair:ident,
        $(#[$biased_doc:meta])*
        $biased:ident,
        $( $idx:literal => $S:ident $field:ident $Var:ident ),+
    ) => {
        $(#[$fut_doc])*
        #[must_use = "futures do nothing unless polled"]
        #[derive(Debug)]
        pub struct $Fut<'a, $($S: ?Sized),+> {
            $( $field: &'a mut $S, )+
            start: u8,
        }

        $(#[$fair_doc])*
        pub fn $fair<'a, $($S: Selectable + ?Sized),+>($($field: &'a mut $S),+) -> $Fut<'a, $($S),+> {
            $Fut { $($field,)+ start: fair_start($n) }
        }

        $(#[$biased_doc])*
        pub fn $biased<'a, $($S: Selectable + ?Sized),+>($($field: &'a mut $S),+) -> $Fut<'a, $($S),+> {
            $Fut { $($field,)+ start: BIASED }
        }

        impl<$($S: Selectable + ?Sized),+> Future for $Fut<'_, $($S),+> {
            type Output = $Either<$($S::Output),+>;

            fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                // Only `&mut` references and a `u8`: the future is `Unpin`.
                let this = self.get_mut();
                for k in 0..$n {
                    let side = (this.start + k) % $n;
                    $(
                        if side == $idx {
                            if let Poll::Ready(x) = this.$field.poll_select(cx) {
                                return Poll::Ready($Either::$Var(x));
                            }
                        }
                    )+
                }
                Poll::Pending
            }
        }
    };
}

select_n!(
    /// Future of [`select2`] and [`select2_biased`].
    Select2, Either2, 2,
    /// Wait until `a` or `b` is ready; fair order (see the [module docs](self)).
    ///
    /// ```
    /// use axon::select::{select2, Either2};
    /// use axon::{Inbox, Outbox, link};
    ///
    /// let mut numbers = Inbox::<u32>::detached("numbers");
    /// let mut words = Inbox::<String>::detached("words");
    /// let mut feed = Outbox::<String>::detached("feed");
    /// link(&feed.endpoint(), &words.endpoint())?;
    /// feed.try_send("hello".to_string())?;
    /// match axon::block_on(select2(&mut numbers, &mut words)) {
    ///     Either2::A(n) => unreachable!("{n:?}"),
    ///     Either2::B(w) => assert_eq!(w.as_deref(), Ok("hello")),
    /// }
    /// # Ok::<(), axon::Error>(())
    /// ```
    select2,
    /// Wait until `a` or `b` is ready, looking at `a` first (see the
    /// [module docs](self)).
    ///
    /// ```
    /// use axon::select::{select2_biased, Either2};
    /// use axon::{Inbox, Outbox, Signal, link};
    ///
    /// let mut control = Inbox::<Signal>::detached("control");
    /// let mut data = Inbox::<u32>::detached("inbox");
    /// let mut ctl = Outbox::<Signal>::detached("ctl");
    /// let mut feed = Outbox::<u32>::detached("feed");
    /// link(&ctl.endpoint(), &control.endpoint())?;
    /// link(&feed.endpoint(), &data.endpoint())?;
    /// feed.try_send(1)?;
    /// ctl.try_send(Signal::ShutdownMicroprocess)?;
    /// // Both are ready: control is looked at first.
    /// let got = axon::block_on(select2_biased(&mut control, &mut data));
    /// assert_eq!(got, Either2::A(Ok(Signal::ShutdownMicroprocess)));
    /// assert_eq!(data.try_recv(), Ok(1)); // still there
    /// # Ok::<(), axon::Error>(())
    /// ```
    select2_biased,
    0 => A a A, 1 => B b B
);

select_n!(
    /// Future of [`select3`] and [`select3_biased`].
    Select3, Either3, 3,
    /// Wait until `a`, `b` or `c` is ready; fair order (see the
    /// [module docs](self)).
    ///
    /// ```
    /// use axon::select::{select3, Either3};
    /// use axon::{Inbox, Outbox, link};
    ///
    /// let (mut a, mut b) = (Inbox::<u8>::detached("a"), Inbox::<u16>::detached("b"));
    /// let mut c = Inbox::<char>::detached("c");
    /// let mut feed = Outbox::<char>::detached("feed");
    /// link(&feed.endpoint(), &c.endpoint())?;
    /// feed.try_send('x')?;
    /// let got = axon::block_on(select3(&mut a, &mut b, &mut c));
    /// assert_eq!(got, Either3::C(Ok('x')));
    /// # Ok::<(), axon::Error>(())
    /// ```
    select3,
    /// Wait until `a`, `b` or `c` is ready, looking at them in that order.
    ///
    /// ```
    /// use axon::select::{select3_biased, Either3};
    /// use axon::{Inbox, Outbox, link};
    ///
    /// let (mut a, mut b, mut c) = (Inbox::<u8>::detached("a"), Inbox::<u8>::detached("b"), Inbox::<u8>::detached("c"));
    /// let (mut fb, mut fc) = (Outbox::<u8>::detached("fb"), Outbox::<u8>::detached("fc"));
    /// link(&fb.endpoint(), &b.endpoint())?;
    /// link(&fc.endpoint(), &c.endpoint())?;
    /// fc.try_send(3)?;
    /// fb.try_send(2)?;
    /// assert_eq!(axon::block_on(select3_biased(&mut a, &mut b, &mut c)), Either3::B(Ok(2)));
    /// # Ok::<(), axon::Error>(())
    /// ```
    select3_biased,
    0 => A a A, 1 => B b B, 2 => C c C
);

select_n!(
    /// Future of [`select4`] and [`select4_biased`].
    Select4, Either4, 4,
    /// Wait until one of four sides is ready; fair order (see the
    /// [module docs](self)).
    ///
    /// ```
    /// use axon::select::{select4, Either4};
    /// use axon::{Inbox, Outbox, link};
    ///
    /// let (mut a, mut b) = (Inbox::<u8>::detached("a"), Inbox::<u8>::detached("b"));
    /// let (mut c, mut d) = (Inbox::<u8>::detached("c"), Inbox::<u8>::detached("d"));
    /// let mut feed = Outbox::<u8>::detached("feed");
    /// link(&feed.endpoint(), &d.endpoint())?;
    /// feed.try_send(4)?;
    /// assert_eq!(axon::block_on(select4(&mut a, &mut b, &mut c, &mut d)), Either4::D(Ok(4)));
    /// # Ok::<(), axon::Error>(())
    /// ```
    select4,
    /// Wait until one of four sides is ready, looking at them in argument
    /// order.
    ///
    /// ```
    /// use axon::select::{select4_biased, Either4};
    /// use axon::{Inbox, Outbox, link};
    ///
    /// let (mut a, mut b) = (Inbox::<u8>::detached("a"), Inbox::<u8>::detached("b"));
    /// let (mut c, mut d) = (Inbox::<u8>::detached("c"), Inbox::<u8>::detached("d"));
    /// let (mut fc, mut fd) = (Outbox::<u8>::detached("fc"), Outbox::<u8>::detached("fd"));
    /// link(&fc.endpoint(), &c.endpoint())?;
    /// link(&fd.endpoint(), &d.endpoint())?;
    /// fd.try_send(4)?;
    /// fc.try_send(3)?;
    /// assert_eq!(axon::block_on(select4_biased(&mut a, &mut b, &mut c, &mut d)), Either4::C(Ok(3)));
    /// # Ok::<(), axon::Error>(())
    /// ```
    select4_biased,
    0 => A a A, 1 => B b B, 2 => C c C, 3 => D d D
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fair_start_covers_every_side() {
        for n in 2..=4u32 {
            let mut seen = [0u32; 4];
            for _ in 0..400 {
                let s = fair_start(n);
                assert!(u32::from(s) < n);
                seen[usize::from(s)] += 1;
            }
            for (side, &count) in seen.iter().enumerate().take(n as usize) {
                assert!(count > 20, "side {side} of {n} started {count} times in 400");
            }
        }
    }

    #[test]
    fn select_futures_are_small_and_unpin() {
        fn unpin<T: Unpin>(_: &T) {}
        let mut a = Inbox::<u8>::detached("a");
        let mut b = Inbox::<u8>::detached("b");
        let s = select2(&mut a, &mut b);
        unpin(&s);
        assert!(std::mem::size_of_val(&s) <= 3 * std::mem::size_of::<usize>());
    }
}
