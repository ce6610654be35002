//! [`collector`]: a sink that keeps what it receives where plain code can read
//! it — the way tests and small programs get results out of a system.
//!
//! The component and its [`Collected`] handle share one buffer. The handle can
//! take or copy the messages at any time, and can block until a number of them
//! have arrived or the collector has ended (both with a timeout, as a guard
//! against hanging, not as a measurement). Shutdown follows the
//! [convention](crate::util#boxes-and-the-shutdown-convention); the signal it
//! ended on is recorded.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axon::{Component, Prefab, Signal};

use super::Intake;

#[derive(Debug)]
struct State<T> {
    items: Vec<T>,
    ending: Option<Signal>,
}

#[derive(Debug)]
struct Shared<T> {
    state: Mutex<State<T>>,
    changed: Condvar,
}

/// The reading end of a [`collector`]: cheap to clone, usable from any thread.
///
/// ```
/// use axon::{Outbox, System};
/// use kamaelia::util::collector;
///
/// let sys = System::builder().threads(1).build();
/// let running = sys.start();
/// let (sink, got) = collector::<u32>();
/// let sink = sink.spawn(&sys);
/// let mut feed = Outbox::<u32>::detached("feed");
/// axon::link(&feed.endpoint(), &sink.inbox("inbox")?)?;
/// feed.send_blocking(7)?;
/// let reader = got.clone();
/// let t = std::thread::spawn(move || reader.wait_for(1, std::time::Duration::from_secs(10)));
/// assert!(t.join().unwrap());
/// drop(feed);
/// running.wait();
/// assert_eq!(got.take(), [7]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Collected<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for Collected<T> {
    fn clone(&self) -> Self {
        Collected {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Collected<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panic while holding this lock cannot leave the state inconsistent
        // (every critical section is a single push or take), so carry on.
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Take every message collected so far, leaving the buffer empty.
    ///
    /// ```
    /// # use axon::{Outbox, System};
    /// # use kamaelia::util::collector;
    /// # let sys = System::builder().threads(1).build();
    /// # let (sink, got) = collector::<u32>();
    /// # let sink = sink.spawn(&sys);
    /// # let mut feed = Outbox::<u32>::detached("feed");
    /// # axon::link(&feed.endpoint(), &sink.inbox("inbox")?)?;
    /// # for i in 1..=3 { feed.try_send(i)?; }
    /// # drop(feed);
    /// # sys.run();
    /// // got: a collector's handle that has received 1, 2, 3
    /// assert_eq!(got.take(), [1, 2, 3]);
    /// assert!(got.take().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn take(&self) -> Vec<T> {
        std::mem::take(&mut self.lock().items)
    }

    /// A copy of the messages collected so far (not taken).
    ///
    /// ```
    /// # use axon::{Outbox, System};
    /// # use kamaelia::util::collector;
    /// # let sys = System::builder().threads(1).build();
    /// # let (sink, got) = collector::<u32>();
    /// # let sink = sink.spawn(&sys);
    /// # let mut feed = Outbox::<u32>::detached("feed");
    /// # axon::link(&feed.endpoint(), &sink.inbox("inbox")?)?;
    /// # for i in 1..=3 { feed.try_send(i)?; }
    /// # drop(feed);
    /// # sys.run();
    /// assert_eq!(got.snapshot(), [1, 2, 3]);
    /// assert_eq!(got.len(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn snapshot(&self) -> Vec<T>
    where
        T: Clone,
    {
        self.lock().items.clone()
    }

    /// How many messages are waiting in the buffer.
    ///
    /// ```
    /// # use axon::{Outbox, System};
    /// # use kamaelia::util::collector;
    /// # let sys = System::builder().threads(1).build();
    /// # let (sink, got) = collector::<u32>();
    /// # let sink = sink.spawn(&sys);
    /// # let mut feed = Outbox::<u32>::detached("feed");
    /// # axon::link(&feed.endpoint(), &sink.inbox("inbox")?)?;
    /// # for i in 1..=3 { feed.try_send(i)?; }
    /// # drop(feed);
    /// # sys.run();
    /// assert_eq!(got.len(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn len(&self) -> usize {
        self.lock().items.len()
    }

    /// Whether the buffer is empty.
    ///
    /// ```
    /// # use axon::{Outbox, System};
    /// # use kamaelia::util::collector;
    /// # let sys = System::builder().threads(1).build();
    /// # let (sink, got) = collector::<u32>();
    /// # let sink = sink.spawn(&sys);
    /// # let mut feed = Outbox::<u32>::detached("feed");
    /// # axon::link(&feed.endpoint(), &sink.inbox("inbox")?)?;
    /// # for i in 1..=3 { feed.try_send(i)?; }
    /// # drop(feed);
    /// # sys.run();
    /// assert!(!got.is_empty());
    /// got.take();
    /// assert!(got.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The signal the collector ended on (and passed on out of `signal`):
    /// `ProducerFinished` for a finished or closed input. `None` while it runs.
    ///
    /// ```
    /// # use axon::{Outbox, System};
    /// # use kamaelia::util::collector;
    /// # let sys = System::builder().threads(1).build();
    /// # let (sink, got) = collector::<u32>();
    /// # let sink = sink.spawn(&sys);
    /// # let mut feed = Outbox::<u32>::detached("feed");
    /// # axon::link(&feed.endpoint(), &sink.inbox("inbox")?)?;
    /// # for i in 1..=3 { feed.try_send(i)?; }
    /// # drop(feed);
    /// # sys.run();
    /// assert_eq!(got.ending(), Some(axon::Signal::ProducerFinished));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ending(&self) -> Option<Signal> {
        self.lock().ending.clone()
    }

    /// Block until at least `n` messages are in the buffer or the collector has
    /// ended, at most `timeout`. True if `n` are there.
    ///
    /// ```
    /// # use axon::{Outbox, System};
    /// # use kamaelia::util::collector;
    /// # let sys = System::builder().threads(1).build();
    /// # let (sink, got) = collector::<u32>();
    /// # let sink = sink.spawn(&sys);
    /// # let mut feed = Outbox::<u32>::detached("feed");
    /// # axon::link(&feed.endpoint(), &sink.inbox("inbox")?)?;
    /// # for i in 1..=3 { feed.try_send(i)?; }
    /// # drop(feed);
    /// # sys.run();
    /// use std::time::Duration;
    /// assert!(got.wait_for(3, Duration::from_secs(10)));
    /// assert!(!got.wait_for(4, Duration::from_secs(10))); // ended: returns at once
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_for(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = self.lock();
        while st.items.len() < n && st.ending.is_none() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            st = match self.shared.changed.wait_timeout(st, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        st.items.len() >= n
    }

    /// Block until the collector has ended, at most `timeout`; the signal it
    /// ended on, or `None` on timeout.
    ///
    /// ```
    /// # use axon::{Outbox, System};
    /// # use kamaelia::util::collector;
    /// # let sys = System::builder().threads(1).build();
    /// # let (sink, got) = collector::<u32>();
    /// # let sink = sink.spawn(&sys);
    /// # let mut feed = Outbox::<u32>::detached("feed");
    /// # axon::link(&feed.endpoint(), &sink.inbox("inbox")?)?;
    /// # for i in 1..=3 { feed.try_send(i)?; }
    /// # drop(feed);
    /// # sys.run();
    /// use std::time::Duration;
    /// assert_eq!(got.wait_ending(Duration::from_secs(10)), Some(axon::Signal::ProducerFinished));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_ending(&self, timeout: Duration) -> Option<Signal> {
        let deadline = Instant::now() + timeout;
        let mut st = self.lock();
        while st.ending.is_none() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            st = match self.shared.changed.wait_timeout(st, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        st.ending.clone()
    }

    fn push(&self, x: T) {
        self.lock().items.push(x);
        self.shared.changed.notify_all();
    }

    fn end(&self, sig: Signal) {
        self.lock().ending = Some(sig);
        self.shared.changed.notify_all();
    }
}

/// A sink keeping every message it receives, and the handle to read them.
///
/// Boxes: `inbox: T`, `control` → `outbox: T` (never used), `signal`.
///
/// ```
/// use axon::{Outbox, Signal, System};
/// use kamaelia::util::collector;
///
/// let sys = System::builder().threads(1).build();
/// let (sink, got) = collector::<&str>();
/// let sink = sink.spawn(&sys);
/// let mut feed = Outbox::<&str>::detached("feed");
/// axon::link(&feed.endpoint(), &sink.inbox("inbox")?)?;
/// feed.try_send("hello")?;
/// feed.try_send("world")?;
/// drop(feed); // the collector's inbox closes: it ends
/// sys.run();
/// assert_eq!(got.take(), ["hello", "world"]);
/// assert_eq!(got.ending(), Some(Signal::ProducerFinished));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn collector<T: Send + 'static>() -> (Prefab, Collected<T>) {
    let handle = Collected {
        shared: Arc::new(Shared {
            state: Mutex::new(State {
                items: Vec::new(),
                ending: None,
            }),
            changed: Condvar::new(),
        }),
    };
    let mine = handle.clone();
    let prefab = Prefab::new(
        Component::new("Collector").inbox_and_outbox::<T, T>(),
        move |mut cx| async move {
            let mut intake = Intake::<T>::take(&mut cx)?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            while let Some(x) = intake.recv().await {
                mine.push(x);
            }
            let ending = intake.ending().cloned().unwrap_or(Signal::ProducerFinished);
            intake.finish(&mut signal).await;
            mine.end(ending);
            Ok(())
        },
    );
    (prefab, handle)
}
