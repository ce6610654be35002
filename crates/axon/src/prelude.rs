//! The names almost every program using axon needs, in one import:
//!
//! ```
//! use axon::prelude::*;
//!
//! let sys = System::new();
//! let echo = sys.spawn(Component::new("echo").inbox_and_outbox::<u32, u32>(), |mut cx| async move {
//!     let mut inbox = cx.inbox::<u32>("inbox")?;
//!     let mut out = cx.outbox::<u32>("outbox")?;
//!     while let Ok(x) = inbox.recv().await {
//!         out.send(x).await?;
//!     }
//!     Ok(())
//! });
//! echo.send_control(Signal::ShutdownMicroprocess).ok();
//! # drop(sys);
//! ```
//!
//! It brings types, the [`Spawn`] trait and functions only (no `Error`, no
//! `Result`, nothing that shadows the standard prelude): name the error type as
//! `axon::Error`.
//!
//! ## Bodies need no type annotations
//!
//! A body returns `()` or `Result<(), axon::Error>` ([`Termination`](crate::Termination)):
//! end it with a plain `Ok(())` and use `?` on any error, a send error of any
//! message type included.
//!
//! ## Mistakes the compiler warns about
//!
//! Futures, declarations, prefabs, builders and running systems are
//! `#[must_use]`, so the usual slips are warnings (errors here, with
//! `#![deny(unused_must_use)]`). Written correctly, this compiles:
//!
//! ```
//! #![deny(unused_must_use)]
//! use axon::prelude::*;
//!
//! let sys = System::builder().threads(1).build();
//! let c = Prefab::new(Component::new("c"), |cx| async move {
//!     cx.pause().await;
//! })
//! .spawn(&sys);
//! let running = sys.start();
//! c.stop();
//! running.wait();
//! ```
//!
//! A `pause()` without `.await` does nothing:
//!
//! ```compile_fail
//! #![deny(unused_must_use)]
//! use axon::prelude::*;
//!
//! let sys = System::new();
//! sys.spawn(Component::new("c"), |cx| async move {
//!     cx.pause(); // warning: unused `Pause` that must be used
//! });
//! ```
//!
//! A prefab that is never spawned never runs:
//!
//! ```compile_fail
//! #![deny(unused_must_use)]
//! use axon::prelude::*;
//!
//! Prefab::new(Component::new("c"), |_cx| async move {}); // warning: unused `Prefab`
//! ```
//!
//! A running system dropped at once shuts down at once:
//!
//! ```compile_fail
//! #![deny(unused_must_use)]
//! use axon::prelude::*;
//!
//! let sys = System::new();
//! sys.start(); // warning: unused `RunningSystem`
//! ```

pub use crate::link;
pub use crate::select::{select2, select3, Either2, Either3};
pub use crate::Handle;
pub use crate::Inbox;
pub use crate::Outbox;
pub use crate::Signal;
pub use crate::System;
pub use crate::{Component, ComponentRef, Context, Outcome};
pub use crate::{Prefab, Spawn};
