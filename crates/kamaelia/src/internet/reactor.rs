//! The reactor: socket readiness for components, and the place an idle
//! scheduler worker sleeps.
//!
//! Kamaelia's Selector was a threaded component calling `select` with a 50 ms
//! timeout and sending a message per ready socket, which the socket's owner
//! then had to answer by registering again. Here readiness goes straight from
//! the kernel's event queue to the waker of the component waiting on it:
//!
//! * A [`Reactor`] owns one `mio::Poll` (epoll on Linux). Every socket a
//!   component uses is registered once, edge-triggered, for reading and
//!   writing ([`IoSource`]); the registration stays until the socket is
//!   dropped.
//! * **The scheduler sleeps in it.** A system built with [`Reactor::system`]
//!   gives each worker an [`IoPark`]: a worker with nothing to run parks *in*
//!   `epoll_wait` if no other worker is there already, otherwise on its own
//!   condition variable (as tokio's driver does). An event wakes the waiting
//!   component's task on that very worker: no extra thread, no message. A
//!   wake from anywhere else (another worker, a threaded component, a timer)
//!   interrupts `epoll_wait` through a `mio::Waker`. There is no timeout
//!   anywhere: an idle server makes no wakeups at all.
//! * **Hand-over.** A worker that comes back from `epoll_wait` with events has
//!   work to do; if another worker sleeps on its condition variable, it is
//!   woken so that it takes over the poller and readiness keeps being seen
//!   while the first one runs components.
//! * **Any system works.** For a system built without it, [`Reactor::of`]
//!   starts a reactor on a thread of its own the first time a component asks
//!   (the reference's "created on first request"); events then reach
//!   components as cross-thread wakes.
//!
//! The reactor is found through the system's CAT (the tracked value
//! [`REACTOR_VALUE`]), so components need nothing but their
//! [`Context`](axon::Context).
//!
//! ## Readiness
//!
//! Each registration keeps a readiness word (readable, writable, read closed,
//! write closed, error) and a tick counting the events delivered to it. A
//! reader waits until readable, tries the operation, and on `WouldBlock`
//! clears "readable" — only if no event arrived since it looked (the tick is
//! unchanged), so an edge that lands between the failed read and the clear is
//! never lost. One reader and one writer task per registration may wait at a
//! time (a connected socket adapter reads and writes from the same task).
//!
//! ```
//! use std::io::{Read, Write};
//! use kamaelia::internet::{IoSource, Reactor};
//!
//! let sys = Reactor::system(axon::System::builder().threads(1))?;
//! let reactor = Reactor::of(&sys)?;
//! let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
//! let addr = listener.local_addr()?;
//! let mut client = std::net::TcpStream::connect(addr)?;
//! let (server_side, _) = listener.accept()?;
//! server_side.set_nonblocking(true)?;
//! let sock = IoSource::new(&reactor, mio::net::TcpStream::from_std(server_side))?;
//! client.write_all(b"hello")?;
//! let c = sys.spawn(axon::Component::new("reader"), move |_cx| async move {
//!     let mut buf = [0u8; 16];
//!     let n = sock.read_with(|mut s| s.read(&mut buf)).await?;
//!     assert_eq!(&buf[..n], b"hello");
//!     Ok(())
//! });
//! sys.run();
//! assert_eq!(c.outcome(), Some(axon::Outcome::Finished));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axon::{Park, System, SystemBuilder};
use mio::event::{Event, Source};
use mio::{Events, Interest, Token};
use parking_lot::Mutex;
use slab::Slab;

use super::park::{Driver, Parker, PARKED_CONDVAR};

/// The name under which a system's reactor is tracked in its CAT.
pub const REACTOR_VALUE: &str = "kamaelia.reactor";

/// The token of the reactor's own `mio::Waker`.
const WAKE_TOKEN: Token = Token(usize::MAX);

/// How many events one `epoll_wait` returns at most.
const EVENTS_PER_TURN: usize = 1024;

// Readiness bits (the low byte of `IoState::readiness`; the tick is above).
const READABLE: usize = 1;
const WRITABLE: usize = 2;
const READ_CLOSED: usize = 4;
const WRITE_CLOSED: usize = 8;
const ERROR: usize = 16;
const BITS: usize = 0xff;
const TICK_SHIFT: usize = 8;

/// Which way a task waits on a registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Waiting to read (or accept).
    Read,
    /// Waiting to write (or for a connect to complete).
    Write,
}

impl Direction {
    fn mask(self) -> usize {
        match self {
            Direction::Read => READABLE | READ_CLOSED | ERROR,
            Direction::Write => WRITABLE | WRITE_CLOSED | ERROR,
        }
    }

    /// The bit cleared when the operation would block (closed and error
    /// states are final and stay).
    fn clearable(self) -> usize {
        match self {
            Direction::Read => READABLE,
            Direction::Write => WRITABLE,
        }
    }

    fn slot(self) -> usize {
        match self {
            Direction::Read => 0,
            Direction::Write => 1,
        }
    }
}

/// Readiness seen by a waiting task, to be passed back to
/// [`IoSource::clear_ready`] when the operation would block.
#[derive(Clone, Copy, Debug)]
pub struct ReadyEvent {
    tick: usize,
    dir: Direction,
}

/// The readiness of one registered source and the tasks waiting on it.
#[derive(Default)]
struct IoState {
    /// Low byte: readiness bits; above: the tick (events delivered so far).
    readiness: AtomicUsize,
    /// The reading and the writing task's wakers.
    wakers: Mutex<[Option<Waker>; 2]>,
}

impl IoState {
    fn dispatch(&self, ev: &Event) {
        let mut ready = 0;
        if ev.is_readable() {
            ready |= READABLE;
        }
        if ev.is_writable() {
            ready |= WRITABLE;
        }
        if ev.is_read_closed() {
            ready |= READ_CLOSED;
        }
        if ev.is_write_closed() {
            ready |= WRITE_CLOSED;
        }
        if ev.is_error() {
            ready |= ERROR;
        }
        self.set(ready);
    }

    /// Add `ready` bits, count an event, and wake whoever waits for them.
    fn set(&self, ready: usize) {
        let _ = self
            .readiness
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                let tick = (cur >> TICK_SHIFT).wrapping_add(1);
                Some((tick << TICK_SHIFT) | (cur & BITS) | ready)
            });
        let (r, w) = {
            let mut wakers = self.wakers.lock();
            let r = if ready & Direction::Read.mask() != 0 {
                wakers[0].take()
            } else {
                None
            };
            let w = if ready & Direction::Write.mask() != 0 {
                wakers[1].take()
            } else {
                None
            };
            (r, w)
        };
        if let Some(r) = r {
            r.wake();
        }
        if let Some(w) = w {
            w.wake();
        }
    }

    fn poll_ready(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<ReadyEvent> {
        let ready = |cur: usize| ReadyEvent {
            tick: cur >> TICK_SHIFT,
            dir,
        };
        let cur = self.readiness.load(Ordering::Acquire);
        if cur & dir.mask() != 0 {
            return Poll::Ready(ready(cur));
        }
        {
            let mut wakers = self.wakers.lock();
            let slot = &mut wakers[dir.slot()];
            match slot {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => *slot = Some(cx.waker().clone()),
            }
        }
        // An event dispatched between the first load and storing the waker
        // found no waker: look again now that it is stored.
        let cur = self.readiness.load(Ordering::Acquire);
        if cur & dir.mask() != 0 {
            return Poll::Ready(ready(cur));
        }
        Poll::Pending
    }

    fn clear_ready(&self, ev: ReadyEvent) {
        let _ = self
            .readiness
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                (cur >> TICK_SHIFT == ev.tick).then_some(cur & !ev.dir.clearable())
            });
    }
}

/// What the reactor shares between its handles, its parkers and its thread.
struct Inner {
    registry: mio::Registry,
    waker: mio::Waker,
    poller: Mutex<Poller>,
    sources: Mutex<Slab<Arc<IoState>>>,
    /// The workers' parkers (for the hand-over); weak, as they hold us.
    parkers: Mutex<Vec<Weak<ParkInner>>>,
    /// Set to end the reactor's own thread (thread mode).
    stopping: AtomicBool,
    /// Events delivered so far (for tests and statistics).
    events: AtomicUsize,
}

struct Poller {
    poll: mio::Poll,
    events: Events,
}

impl Inner {
    /// One `epoll_wait` and the dispatch of what it returned. Returns the
    /// number of source events dispatched.
    fn turn(&self, poller: &mut Poller, timeout: Option<Duration>) -> usize {
        let Poller { poll, events } = poller;
        if let Err(e) = poll.poll(events, timeout) {
            if e.kind() != io::ErrorKind::Interrupted {
                tracing::warn!(error = %e, "reactor: waiting for socket events failed");
            }
            return 0;
        }
        let mut n = 0;
        let sources = self.sources.lock();
        for ev in events.iter() {
            if ev.token() == WAKE_TOKEN {
                continue;
            }
            // A stale event for a slot freed (and perhaps reused) since is
            // harmless: readiness is a hint, the operation is retried.
            if let Some(state) = sources.get(ev.token().0) {
                state.dispatch(ev);
                n += 1;
            }
        }
        drop(sources);
        if n > 0 {
            self.events.fetch_add(n, Ordering::Relaxed);
        }
        n
    }
}

/// A socket readiness reactor (Kamaelia's Selector, on `mio`). Cheap to clone.
///
/// See the [module docs](self) for how it works. Most code never touches it:
/// the socket components find their system's reactor themselves.
#[derive(Clone)]
pub struct Reactor {
    inner: Arc<Inner>,
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("sources", &self.inner.sources.lock().len())
            .field("events", &self.inner.events.load(Ordering::Relaxed))
            .finish()
    }
}

/// What the CAT tracks: the reactor, and for a reactor with its own thread,
/// what stops that thread when the system (and so its CAT) goes away.
struct Tracked {
    reactor: Reactor,
    _thread: Option<StopThread>,
}

struct StopThread(Arc<Inner>);

impl Drop for StopThread {
    fn drop(&mut self) {
        self.0.stopping.store(true, Ordering::SeqCst);
        let _ = self.0.waker.wake();
    }
}

impl Reactor {
    /// A new reactor, not yet attached to any system.
    pub fn new() -> io::Result<Reactor> {
        let poll = mio::Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = mio::Waker::new(poll.registry(), WAKE_TOKEN)?;
        Ok(Reactor {
            inner: Arc::new(Inner {
                registry,
                waker,
                poller: Mutex::new(Poller {
                    poll,
                    events: Events::with_capacity(EVENTS_PER_TURN),
                }),
                sources: Mutex::new(Slab::new()),
                parkers: Mutex::new(Vec::new()),
                stopping: AtomicBool::new(false),
                events: AtomicUsize::new(0),
            }),
        })
    }

    /// Build a system whose idle workers sleep in a new reactor's poller, and
    /// register that reactor in the system's CAT. The way to build a system
    /// that does networking.
    ///
    /// ```
    /// let sys = kamaelia::internet::Reactor::system(axon::System::builder().threads(2))?;
    /// assert!(kamaelia::internet::Reactor::of(&sys)?.sleeps_in_scheduler());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn system(builder: SystemBuilder) -> io::Result<System> {
        let reactor = Reactor::new()?;
        let r = reactor.clone();
        let sys = builder
            .park(move |_| Arc::new(r.parker()) as Arc<dyn Park>)
            .build();
        sys.cat()
            .track_value(
                REACTOR_VALUE,
                Tracked {
                    reactor,
                    _thread: None,
                },
            )
            .map_err(io::Error::other)?;
        Ok(sys)
    }

    /// The reactor of `sys`: the one it was built with ([`Reactor::system`]),
    /// or else one with a thread of its own, started now if no component has
    /// asked before.
    pub fn of(sys: &System) -> io::Result<Reactor> {
        let cat = sys.cat();
        if let Ok(t) = cat.retrieve_value_arc::<Tracked>(REACTOR_VALUE) {
            return Ok(t.reactor.clone());
        }
        let reactor = Reactor::new()?;
        let inner = reactor.inner.clone();
        let tracked = Tracked {
            reactor: reactor.clone(),
            _thread: Some(StopThread(inner.clone())),
        };
        match cat.track_value(REACTOR_VALUE, tracked) {
            Ok(()) => {
                std::thread::Builder::new()
                    .name("kamaelia-reactor".into())
                    .spawn(move || loop {
                        let mut poller = inner.poller.lock();
                        if inner.stopping.load(Ordering::SeqCst) {
                            break;
                        }
                        inner.turn(&mut poller, None);
                    })?;
                Ok(reactor)
            }
            // Another component got there first: use that one.
            Err(_) => cat
                .retrieve_value_arc::<Tracked>(REACTOR_VALUE)
                .map(|t| t.reactor.clone())
                .map_err(io::Error::other),
        }
    }

    /// Whether the system's workers sleep in this reactor (built with
    /// [`Reactor::system`]) rather than a thread of its own.
    pub fn sleeps_in_scheduler(&self) -> bool {
        !self.inner.parkers.lock().is_empty()
    }

    /// A parker for one scheduler worker (see [`SystemBuilder::park`]).
    pub fn parker(&self) -> IoPark {
        let p = Arc::new(Parker::new(self.inner.clone()));
        self.inner.parkers.lock().push(Arc::downgrade(&p));
        IoPark(p)
    }

    /// Number of sources registered now.
    pub fn sources(&self) -> usize {
        self.inner.sources.lock().len()
    }

    /// Number of socket events delivered so far.
    pub fn events(&self) -> usize {
        self.inner.events.load(Ordering::Relaxed)
    }

    /// Register `source` for reading and writing readiness.
    fn register(&self, source: &mut impl Source) -> io::Result<Registration> {
        let state = Arc::new(IoState::default());
        let key = self.inner.sources.lock().insert(state.clone());
        if let Err(e) =
            self.inner
                .registry
                .register(source, Token(key), Interest::READABLE | Interest::WRITABLE)
        {
            self.inner.sources.lock().remove(key);
            return Err(e);
        }
        Ok(Registration {
            reactor: self.clone(),
            key,
            state,
        })
    }
}

/// A source's registration: its readiness, and its slot in the reactor.
struct Registration {
    reactor: Reactor,
    key: usize,
    state: Arc<IoState>,
}

impl Registration {
    fn poll_ready(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<ReadyEvent> {
        self.state.poll_ready(dir, cx)
    }

    fn clear_ready(&self, ev: ReadyEvent) {
        self.state.clear_ready(ev)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.reactor.inner.sources.lock().try_remove(self.key);
    }
}

/// A non-blocking socket (any `mio` source) registered with a [`Reactor`].
///
/// The `*_with` methods run an operation when the socket is ready and wait
/// again when it would block; the `poll_*` forms are for hand-written futures
/// that wait on several things at once (a socket and a component's boxes).
pub struct IoSource<S: Source> {
    io: S,
    reg: Registration,
}

impl<S: Source + fmt::Debug> fmt::Debug for IoSource<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoSource")
            .field("io", &self.io)
            .field("token", &self.reg.key)
            .finish()
    }
}

impl<S: Source> IoSource<S> {
    /// Register `io` (already non-blocking) with `reactor`.
    pub fn new(reactor: &Reactor, mut io: S) -> io::Result<Self> {
        let reg = reactor.register(&mut io)?;
        Ok(IoSource { io, reg })
    }

    /// The socket.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// Run `op` once the socket is ready in direction `dir`, waiting again
    /// (and clearing the readiness) each time it reports `WouldBlock`.
    pub fn poll_io<R>(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let ev = match self.reg.poll_ready(dir, cx) {
                Poll::Ready(ev) => ev,
                Poll::Pending => return Poll::Pending,
            };
            match op(&self.io) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.reg.clear_ready(ev),
                r => return Poll::Ready(r),
            }
        }
    }

    /// Wait until the socket is ready in direction `dir` (without doing
    /// anything). Readiness is a hint: the operation may still block.
    pub fn poll_ready(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<ReadyEvent> {
        self.reg.poll_ready(dir, cx)
    }

    /// Forget readiness seen in `ev` after an operation would block.
    pub fn clear_ready(&self, ev: ReadyEvent) {
        self.reg.clear_ready(ev)
    }

    /// Read with `op` once readable (see [`poll_io`](Self::poll_io)).
    pub async fn read_with<R>(&self, mut op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        poll_fn(|cx| self.poll_io(Direction::Read, cx, &mut op)).await
    }

    /// Write with `op` once writable (see [`poll_io`](Self::poll_io)).
    pub async fn write_with<R>(&self, mut op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        poll_fn(|cx| self.poll_io(Direction::Write, cx, &mut op)).await
    }

    /// Wait until writable (a non-blocking connect completes this way).
    pub async fn writable(&self) {
        poll_fn(|cx| self.reg.poll_ready(Direction::Write, cx).map(|_| ())).await
    }
}

impl<S: Source> Drop for IoSource<S> {
    fn drop(&mut self) {
        // Before the socket closes; the slot goes with `reg` right after.
        let _ = self.reg.reactor.inner.registry.deregister(&mut self.io);
    }
}

impl Driver for Arc<Inner> {
    fn try_turn(&self, timeout: Option<Duration>, enter: &mut dyn FnMut() -> bool) -> Option<usize> {
        let mut poller = self.poller.try_lock()?;
        if !enter() {
            return Some(0);
        }
        Some(self.turn(&mut poller, timeout))
    }

    fn wake(&self) {
        if let Err(e) = self.waker.wake() {
            tracing::warn!(error = %e, "reactor: could not interrupt the poller");
        }
    }

    fn hand_over(&self) {
        let parkers = self.parkers.lock();
        for p in parkers.iter().filter_map(Weak::upgrade) {
            if p.state.load(Ordering::SeqCst) == PARKED_CONDVAR {
                p.unpark();
                return;
            }
        }
    }
}

type ParkInner = Parker<Arc<Inner>>;

/// Where a scheduler worker sleeps in a system built with
/// [`Reactor::system`]: in the reactor's poller if it is free, otherwise on a
/// condition variable (see the [module docs](self)).
pub struct IoPark(Arc<ParkInner>);

impl fmt::Debug for IoPark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoPark")
            .field("state", &self.0.state.load(Ordering::Relaxed))
            .finish()
    }
}

impl Park for IoPark {
    fn park(&self, timeout: Option<Duration>) {
        self.0.park(timeout)
    }

    fn unpark(&self) {
        self.0.unpark()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clear_keeps_readiness_that_arrived_after_the_look() {
        let s = IoState::default();
        s.set(READABLE);
        let w = futures_noop_waker();
        let mut cx = Context::from_waker(&w);
        let ev = match s.poll_ready(Direction::Read, &mut cx) {
            Poll::Ready(ev) => ev,
            Poll::Pending => panic!("readable was set"),
        };
        // A new edge lands between the failed read and the clear.
        s.set(READABLE);
        s.clear_ready(ev);
        assert!(s.poll_ready(Direction::Read, &mut cx).is_ready());
        // Without one, the clear takes effect.
        let ev = match s.poll_ready(Direction::Read, &mut cx) {
            Poll::Ready(ev) => ev,
            Poll::Pending => unreachable!(),
        };
        s.clear_ready(ev);
        assert!(s.poll_ready(Direction::Read, &mut cx).is_pending());
        // Closed states are final.
        s.set(READ_CLOSED);
        let ev = match s.poll_ready(Direction::Read, &mut cx) {
            Poll::Ready(ev) => ev,
            Poll::Pending => panic!("read closed was set"),
        };
        s.clear_ready(ev);
        assert!(s.poll_ready(Direction::Read, &mut cx).is_ready());
        assert!(s.poll_ready(Direction::Write, &mut cx).is_pending());
    }

    #[test]
    fn unpark_before_park_is_a_token_and_wakes_the_poller() {
        let r = Reactor::new().unwrap();
        let p = r.parker();
        p.unpark();
        p.park(None); // returns at once: the token
        let p = Arc::new(p);
        let q = p.clone();
        let t = std::thread::spawn(move || q.park(None)); // in the driver
        std::thread::sleep(Duration::from_millis(20));
        p.unpark();
        t.join().unwrap();
    }

    #[test]
    fn a_second_parker_sleeps_on_its_condvar_and_is_unparked() {
        let r = Reactor::new().unwrap();
        let a = Arc::new(r.parker());
        let b = Arc::new(r.parker());
        let (a2, b2) = (a.clone(), b.clone());
        let ta = std::thread::spawn(move || a2.park(None));
        let tb = std::thread::spawn(move || b2.park(None));
        std::thread::sleep(Duration::from_millis(20));
        a.unpark();
        b.unpark();
        ta.join().unwrap();
        tb.join().unwrap();
    }

    fn futures_noop_waker() -> Waker {
        Waker::noop().clone()
    }
}
