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
//! It brings types and functions only (no `Error`, no `Result`, nothing that
//! shadows the standard prelude): name the error type as `axon::Error`.

pub use crate::component::{Component, ComponentRef, Context, Outcome};
pub use crate::handle::Handle;
pub use crate::inbox::Inbox;
pub use crate::linkage::link;
pub use crate::outbox::Outbox;
pub use crate::prefab::Prefab;
pub use crate::scheduler::System;
pub use crate::select::{select2, select3, Either2, Either3};
pub use crate::signal::Signal;
