//! Threaded components, and blocking on box operations from plain threads.
//!
//! A threaded component runs its body on its own OS thread, for code that must
//! block (a console read, a blocking library call, a slow consumer). It uses the
//! *very same* boxes as async components — [`Inbox::recv_blocking`],
//! [`Outbox::send_blocking`] (which waits for space), [`Context::pause_blocking`]
//! with an optional timeout — with no shuttling queues in between: the boxes are
//! thread-safe, and a thread waiting on one is woken exactly like a task is. It
//! links, wakes, reports its end and shows up in introspection like any other
//! component.
//!
//! [`block_on`] is the primitive: it polls a future on the current thread,
//! parking the thread between polls, with a waker that unparks it. It lives in
//! the runtime layer (`runtime/block_on.rs`, beside the scheduler) because the
//! boxes below use it for their blocking forms; it is re-exported here.
//!
//! [`Inbox::recv_blocking`]: crate::Inbox::recv_blocking
//! [`Outbox::send_blocking`]: crate::Outbox::send_blocking
//! [`Context::pause_blocking`]: crate::Context::pause_blocking

use crate::component::component::{Component, ComponentRef, Context, Termination};
use crate::component::system::System;

pub use crate::runtime::block_on::{block_on, block_on_timeout};

impl System {
    /// Spawn a threaded component: `main` runs on a new OS thread and may block.
    ///
    /// ```
    /// use axon::{Component, Inbox, Outbox, System, link};
    /// let sys = System::builder().threads(1).build();
    /// let echo = sys.spawn_threaded(Component::new("echo").inbox_and_outbox::<String, String>(), |mut cx| {
    ///     let mut inbox = cx.inbox::<String>("inbox").unwrap();
    ///     let mut out = cx.outbox::<String>("outbox").unwrap();
    ///     while let Ok(line) = inbox.recv_blocking() {
    ///         out.send_blocking(line.to_uppercase()).unwrap();
    ///     }
    /// });
    /// let mut feed = Outbox::<String>::detached("feed");
    /// let mut got = Inbox::<String>::detached("got");
    /// link(&feed.endpoint(), &echo.inbox("inbox").unwrap()).unwrap();
    /// link(&echo.outbox("outbox").unwrap(), &got.endpoint()).unwrap();
    /// feed.send_blocking("hi".to_string()).unwrap();
    /// drop(feed);
    /// sys.run();
    /// assert_eq!(got.try_recv().unwrap(), "HI");
    /// ```
    pub fn spawn_threaded<F, R>(&self, spec: Component, main: F) -> ComponentRef
    where
        F: FnOnce(Context) -> R + Send + 'static,
        R: Termination + 'static,
    {
        self.spawn_threaded_with_parent(spec, main, None)
    }
}
