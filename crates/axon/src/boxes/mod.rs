//! Layer 2, the boxes: typed inboxes and outboxes, the store behind each,
//! and the linkage graph between them.
//!
//! A box is a [`Node`](node): its [`store`] (queue, limit, waiting senders),
//! its place in the [`topology`] (which final inbox a chain of [`linkage`]s
//! resolves to, what closing a box does), and the waker of whoever waits on it
//! (`wakeup.rs`). [`Inbox`](inbox) and [`Outbox`](outbox) are the two ends a
//! component holds; [`select`] waits on several inboxes at once. The errors
//! of box operations and linking are here too (`error.rs`).
//!
//! **May import:** `runtime` (a box wakes a task through the scheduler;
//! blocking receives use `runtime::block_on`), the leaf modules (`id`, `name`)
//! and itself. Never `component` or `services`: `tests/layering.rs` checks.

pub(crate) mod error;
pub(crate) mod inbox;
pub mod linkage;
pub(crate) mod node;
pub(crate) mod outbox;
pub mod select;
pub mod store;
pub mod topology;
pub(crate) mod wakeup;
