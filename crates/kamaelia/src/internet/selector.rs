//! The Selector's message interface: readiness of any file descriptor as
//! messages, from a CAT service (Kamaelia's `Selector` service).
//!
//! The socket components here do not need it: they wait on the
//! [`Reactor`] directly, with no message in between. This is
//! for code written the reference's way, and for descriptors the library has
//! no component for (a pipe, a terminal, a device, a socket made elsewhere):
//! a component asks the selector to watch a raw descriptor and is sent a
//! [`Ready`] message whenever it becomes ready.
//!
//! * [`selector_service`]`(sys)` returns the service, the `notify` inbox of
//!   the system's Selector component, starting that component if no service
//!   is registered as [`SELECTOR_SERVICE`] yet. Callers racing to do so all
//!   get the same one (the CAT lets exactly one registration win; the losers'
//!   components are never started).
//! * Link an outbox to it and send [`SelectorRequest`]s:
//!   [`AddReader`](SelectorRequest::AddReader) /
//!   [`AddWriter`](SelectorRequest::AddWriter) name a descriptor and the box
//!   the [`Ready`] messages go to; [`RemoveReader`](SelectorRequest::RemoveReader)
//!   / [`RemoveWriter`](SelectorRequest::RemoveWriter) stop them.
//!
//! ## What a message means
//!
//! **Registrations persist** (the reference's were one-shot, to be renewed
//! after every notification). The selector watches edge-triggered: a
//! [`Ready`] message is sent each time the descriptor *becomes* ready, so it
//! means "do I/O on it until it would block". Readiness is a hint: the I/O
//! may still find nothing, and then simply waits for the next message. A
//! registration made (or made again) while the descriptor is already ready
//! gets a message at once.
//!
//! When the descriptor is closed at the other end, in error, or no longer
//! open, one last message comes with [`hangup`](Ready::hangup) set (possibly
//! with `readable` too: read what is left until end of file), and nothing
//! more for that direction until it is added again. A descriptor that cannot
//! be watched at all (a regular file, one not open, one the reactor already
//! watches for a socket component) gets one message with
//! [`refused`](Ready::refused) saying why.
//!
//! A registration ends when it is removed, or when its reply box has closed
//! (its component ended): the selector finds out on the next message it would
//! send there. A reply box stays linked from the selector after its last
//! registration is removed (so that its owner does not see it close between
//! a remove and its next add); the selector keeps up to
//! [`MAX_IDLE_REPLIES`] such links, then lets the least recently used go. **Remove before you close the descriptor**: a closed number
//! may be reused by the next file opened. (The selector checks, by the
//! descriptor's inode, that it does not unwatch somebody else's file.)
//!
//! Messages are never dropped: if a reply box is full, its messages wait in
//! the selector (one per descriptor, merged) while the other registrations
//! carry on.
//!
//! ## Lifetime
//!
//! The Selector lives as long as the system, like the reference's: a system
//! using it is stopped with [`RunningSystem::shutdown`](axon::RunningSystem::shutdown),
//! or by sending [`Signal::ShutdownMicroprocess`] to the
//! [`SELECTOR_SHUTDOWN_SERVICE`] (its `control`). It then unwatches every
//! descriptor, withdraws both services and ends; the next
//! [`selector_service`] call starts a new one.
//!
//! ```
//! use std::io::Write;
//! use std::os::fd::AsRawFd;
//! use kamaelia::internet::selector::{selector_service, Ready, SelectorRequest};
//!
//! let sys = kamaelia::internet::Reactor::system(axon::System::builder().threads(1))?;
//! let running = sys.start();
//! let (mut writer, reader) = std::os::unix::net::UnixStream::pair()?;
//!
//! let mut requests = axon::Outbox::<SelectorRequest>::detached("requests");
//! axon::link(&requests.endpoint(), &selector_service(&sys)?)?;
//! let mut ready = axon::Inbox::<Ready>::detached("ready");
//! requests.try_send(SelectorRequest::AddReader { fd: reader.as_raw_fd(), reply: ready.endpoint() })?;
//!
//! writer.write_all(b"hello")?;
//! let msg = axon::block_on_timeout(ready.recv(), Some(std::time::Duration::from_secs(10))).unwrap()?;
//! assert!(msg.readable && msg.fd == reader.as_raw_fd());
//!
//! requests.try_send(SelectorRequest::RemoveReader { fd: reader.as_raw_fd() })?;
//! running.shutdown();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Wake, Waker};

use axon::cat::{Cat, CatError};
use axon::{AnyBoxRef, BoxId, BoxRef, Component, Outbox, Prefab, RecvError, Signal, System, TrySendError};
use mio::event::Source;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use parking_lot::Mutex;
use slab::Slab;

use super::reactor::{Direction, IoSource, Reactor};

/// The CAT service name of the Selector's request inbox (as in Kamaelia).
pub const SELECTOR_SERVICE: &str = "selector";

/// The CAT service name of the Selector's `control` inbox (as in Kamaelia):
/// `ShutdownMicroprocess` there stops it.
pub const SELECTOR_SHUTDOWN_SERVICE: &str = "selectorshutdown";

/// A request to the Selector ([`SELECTOR_SERVICE`]).
#[derive(Debug)]
pub enum SelectorRequest {
    /// Send a [`Ready`] to `reply` each time `fd` becomes readable. Replaces
    /// an earlier reader registration of `fd`.
    AddReader {
        /// The descriptor (set it non-blocking: you read until it would block).
        fd: RawFd,
        /// Where the messages go.
        reply: BoxRef<Ready>,
    },
    /// Send a [`Ready`] to `reply` each time `fd` becomes writable. Replaces
    /// an earlier writer registration of `fd`.
    AddWriter {
        /// The descriptor (set it non-blocking).
        fd: RawFd,
        /// Where the messages go.
        reply: BoxRef<Ready>,
    },
    /// Stop watching `fd` for reading (ignored if it is not watched).
    RemoveReader {
        /// The descriptor.
        fd: RawFd,
    },
    /// Stop watching `fd` for writing (ignored if it is not watched).
    RemoveWriter {
        /// The descriptor.
        fd: RawFd,
    },
}

/// What the Selector sends a registration's reply box: `fd` has become ready.
/// See the [module docs](self) for what to do with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ready {
    /// The descriptor.
    pub fd: RawFd,
    /// It can be read (or is at end of file).
    pub readable: bool,
    /// It can be written.
    pub writable: bool,
    /// Closed at the other end, in error, or no longer open: the last message
    /// for this direction until it is added again.
    pub hangup: bool,
    /// The descriptor could not be watched at all (the only message).
    pub refused: Option<Refused>,
}

/// Why a descriptor could not be watched.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot watch file descriptor {fd} for readiness: {reason}")]
pub struct Refused {
    /// The descriptor.
    pub fd: RawFd,
    /// What the system said, and what it usually means.
    pub reason: String,
}

impl Refused {
    fn new(fd: RawFd, e: &io::Error) -> Refused {
        let hint = match e.raw_os_error() {
            Some(libc::EPERM) => " (regular files and directories are always ready and cannot be watched)",
            Some(libc::EBADF) => " (it is not an open descriptor)",
            Some(libc::EEXIST) => " (the reactor watches it already, for a socket component)",
            _ => "",
        };
        Refused {
            fd,
            reason: format!("{e}{hint}"),
        }
    }
}

/// The Selector service could not be found or started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SelectorError {
    /// The system's reactor could not be made.
    #[error("could not start the selector: no reactor: {0} (is the process out of file descriptors?)")]
    Reactor(#[source] io::Error),
    /// The CAT refused (for example, another type of service is registered
    /// as [`SELECTOR_SERVICE`]).
    #[error("the selector service: {0}")]
    Cat(#[from] CatError),
    /// The Selector component lacks a box (a bug).
    #[error(transparent)]
    Box(#[from] axon::BoxError),
    /// The Selector could not link to its own `notify` inbox (a bug).
    #[error(transparent)]
    Link(#[from] axon::LinkError),
}

/// The system's Selector service (its request inbox), starting the Selector
/// if none is registered as [`SELECTOR_SERVICE`]. Link an
/// `Outbox<SelectorRequest>` to it. Concurrent callers get the same one.
pub fn selector_service(sys: &System) -> Result<BoxRef<SelectorRequest>, SelectorError> {
    let cat = sys.cat();
    let mut tries = 0;
    loop {
        tries += 1;
        match cat.retrieve::<SelectorRequest>(SELECTOR_SERVICE) {
            Ok(s) => return Ok(s),
            Err(CatError::NoSuchService { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        // Make sure the reactor exists before the component needs it, so
        // its failure is this call's error.
        Reactor::of(sys).map_err(SelectorError::Reactor)?;
        let dormant = selector().create(sys);
        match cat.register_service(SELECTOR_SERVICE, dormant.component(), "notify") {
            Ok(()) => {
                // Ours: the shutdown service cannot be taken by anyone else
                // except a stale registration, which this replaces.
                let _ = cat.deregister_service(SELECTOR_SHUTDOWN_SERVICE);
                cat.register_service(SELECTOR_SHUTDOWN_SERVICE, dormant.component(), "control")?;
                let c = dormant.activate();
                tracing::debug!("selector started");
                return Ok(c.inbox::<SelectorRequest>("notify")?);
            }
            // Another caller won the race: its selector is the one (ours is
            // dropped unstarted). Look again; after a few tries something
            // else is wrong.
            Err(CatError::ServiceAlreadyExists { .. }) if tries < 100 => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// How many reply boxes no registration uses the Selector keeps linked.
pub const MAX_IDLE_REPLIES: usize = 1024;

/// A raw descriptor as a `mio` source, remembering which open file it named
/// when it was registered.
struct Fd {
    fd: RawFd,
    identity: Option<(u64, u64)>,
}

/// The device and inode of the file `fd` names now (`None` if it is not
/// open, or `/proc` is not there).
fn identity(fd: RawFd) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/self/fd/{fd}"))
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

impl Source for Fd {
    fn register(&mut self, registry: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        SourceFd(&self.fd).register(registry, token, interests)
    }

    fn reregister(&mut self, registry: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        SourceFd(&self.fd).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        // Closed since (the kernel forgot it then), perhaps reopened as
        // another file that someone else watches: not ours to unwatch.
        if self.identity.is_some() && identity(self.fd) != self.identity {
            return Ok(());
        }
        SourceFd(&self.fd).deregister(registry)
    }
}

/// What a descriptor is ready for right now.
#[derive(Clone, Copy, Debug, Default)]
struct Level {
    readable: bool,
    writable: bool,
    read_hangup: bool,
    write_hangup: bool,
}

/// Ask the kernel what `fd` is ready for now, without waiting.
fn level(fd: RawFd) -> Level {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN | libc::POLLOUT | libc::POLLRDHUP,
        revents: 0,
    };
    let n = loop {
        // SAFETY: `p` is one initialised `pollfd` that outlives the call and
        // `nfds` is 1, so `poll` reads and writes only that struct; a
        // timeout of 0 returns at once. A descriptor that is not open is
        // reported in `revents` (POLLNVAL), it is not undefined behaviour.
        let n = unsafe { libc::poll(&mut p, 1, 0) };
        if n >= 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            break n;
        }
    };
    if n < 0 {
        // Cannot tell: say ready both ways (a hint; the I/O will tell).
        return Level {
            readable: true,
            writable: true,
            ..Level::default()
        };
    }
    let r = p.revents;
    let broken = r & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0;
    Level {
        readable: r & libc::POLLIN != 0,
        writable: r & libc::POLLOUT != 0,
        read_hangup: broken || r & libc::POLLRDHUP != 0,
        write_hangup: broken,
    }
}

/// The message for a descriptor that cannot be watched any more.
fn hangup_msg(fd: RawFd) -> Ready {
    Ready {
        fd,
        readable: false,
        writable: false,
        hangup: true,
        refused: None,
    }
}

/// Registrations whose readiness changed, and the task to wake for them.
#[derive(Default)]
struct Woken {
    keys: Mutex<Vec<usize>>,
    task: Mutex<Option<Waker>>,
}

/// The waker a registration's readiness wakes: it queues the registration
/// and wakes the Selector, so that only registrations with news are polled.
struct KeyWaker {
    key: usize,
    queued: AtomicBool,
    woken: Arc<Woken>,
}

impl KeyWaker {
    fn queue(&self) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.woken.keys.lock().push(self.key);
        }
    }
}

impl Wake for KeyWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.queue();
        let task = self.woken.task.lock().clone();
        if let Some(t) = task {
            t.wake();
        }
    }
}

/// One direction of a registration.
struct Watch {
    reply: BoxId,
    /// The hangup message went: nothing more until added again.
    hung_up: bool,
}

/// One watched descriptor.
struct Reg {
    fd: RawFd,
    /// `None` only if registering it again failed (both directions have
    /// then hung up).
    source: Option<IoSource<Fd>>,
    flag: Arc<KeyWaker>,
    waker: Waker,
    reader: Option<Watch>,
    writer: Option<Watch>,
}

type Sending = Pin<Box<dyn Future<Output = (Outbox<Ready>, bool)> + Send>>;

/// A reply box, shared by the registrations that name it.
struct Reply {
    /// Linked to the reply box; `None` while a send waits for room.
    out: Option<Outbox<Ready>>,
    sending: Option<Sending>,
    /// Messages waiting for room (one per descriptor, merged).
    queue: VecDeque<Ready>,
    /// Registrations (directions) using it.
    users: usize,
}

impl Reply {
    fn push(&mut self, msg: Ready) {
        if msg.refused.is_none() {
            if let Some(q) = self
                .queue
                .iter_mut()
                .find(|q| q.fd == msg.fd && q.refused.is_none())
            {
                q.readable |= msg.readable;
                q.writable |= msg.writable;
                q.hangup |= msg.hangup;
                return;
            }
        }
        self.queue.push_back(msg);
    }

    /// Deliver what is queued. `false` if the reply box has closed.
    fn pump(&mut self, cx: &mut TaskContext<'_>) -> bool {
        loop {
            if let Some(f) = self.sending.as_mut() {
                match f.as_mut().poll(cx) {
                    Poll::Ready((out, delivered)) => {
                        self.sending = None;
                        if !delivered {
                            return false;
                        }
                        self.out = Some(out);
                    }
                    Poll::Pending => return true,
                }
            }
            let Some(msg) = self.queue.pop_front() else {
                return true;
            };
            let Some(out) = self.out.as_mut() else {
                return true;
            };
            match out.try_send(msg) {
                Ok(()) => {}
                Err(TrySendError::Full(msg)) => {
                    let Some(mut out) = self.out.take() else {
                        return true;
                    };
                    self.sending = Some(Box::pin(async move {
                        let delivered = out.send(msg).await.is_ok();
                        (out, delivered)
                    }));
                }
                Err(TrySendError::Closed(_)) => return false,
            }
        }
    }
}

/// The Selector's state.
struct Selector {
    reactor: Reactor,
    regs: Slab<Reg>,
    by_fd: HashMap<RawFd, usize>,
    replies: HashMap<BoxId, Reply>,
    /// Replies with something to deliver.
    dirty: Vec<BoxId>,
    /// Replies released by their last registration, oldest first (may
    /// name some in use again, or gone: checked when evicting).
    idle: VecDeque<BoxId>,
    woken: Arc<Woken>,
}

impl Selector {
    fn handle(&mut self, req: SelectorRequest) {
        match req {
            SelectorRequest::AddReader { fd, reply } => self.add(fd, reply, Direction::Read),
            SelectorRequest::AddWriter { fd, reply } => self.add(fd, reply, Direction::Write),
            SelectorRequest::RemoveReader { fd } => self.remove(fd, Direction::Read),
            SelectorRequest::RemoveWriter { fd } => self.remove(fd, Direction::Write),
        }
    }

    fn watch(reg: &mut Reg, dir: Direction) -> &mut Option<Watch> {
        match dir {
            Direction::Read => &mut reg.reader,
            Direction::Write => &mut reg.writer,
        }
    }

    fn add(&mut self, fd: RawFd, reply: BoxRef<Ready>, dir: Direction) {
        let id = reply.id();
        match self.replies.entry(id) {
            Entry::Occupied(mut e) => e.get_mut().users += 1,
            Entry::Vacant(v) => {
                let out = Outbox::<Ready>::detached(format!("ready({fd})"));
                if let Err(e) = axon::link(&out.endpoint(), &reply) {
                    tracing::debug!(fd, error = %e, "selector: the reply box cannot be linked (has its component ended?): not watching");
                    return;
                }
                v.insert(Reply {
                    out: Some(out),
                    sending: None,
                    queue: VecDeque::new(),
                    users: 1,
                });
            }
        }

        // A fresh registration, even for a descriptor watched already: it
        // reports readiness there is now (an added registration's promise),
        // and clears any hangup seen before.
        let (old_reader, old_writer) = match self.by_fd.remove(&fd) {
            Some(key) => {
                let reg = self.regs.remove(key);
                (reg.reader, reg.writer)
            }
            None => (None, None),
        };
        let (mut reader, mut writer) = (old_reader, old_writer);
        let replaced = match dir {
            Direction::Read => reader.replace(Watch {
                reply: id,
                hung_up: false,
            }),
            Direction::Write => writer.replace(Watch {
                reply: id,
                hung_up: false,
            }),
        };
        if let Some(w) = replaced {
            self.release(w.reply);
        }
        for w in [reader.as_mut(), writer.as_mut()].into_iter().flatten() {
            w.hung_up = false;
        }

        let src = Fd {
            fd,
            identity: identity(fd),
        };
        match IoSource::new(&self.reactor, src) {
            Ok(source) => {
                let entry = self.regs.vacant_entry();
                let key = entry.key();
                let flag = Arc::new(KeyWaker {
                    key,
                    queued: AtomicBool::new(false),
                    woken: self.woken.clone(),
                });
                let waker = Waker::from(flag.clone());
                entry.insert(Reg {
                    fd,
                    source: Some(source),
                    flag: flag.clone(),
                    waker,
                    reader,
                    writer,
                });
                self.by_fd.insert(fd, key);
                flag.queue();
            }
            Err(e) => {
                let refused = Refused::new(fd, &e);
                tracing::warn!(fd, error = %refused, "selector: cannot watch a descriptor");
                for w in [reader, writer].into_iter().flatten() {
                    self.send(
                        w.reply,
                        Ready {
                            fd,
                            readable: false,
                            writable: false,
                            hangup: true,
                            refused: Some(refused.clone()),
                        },
                    );
                    self.release(w.reply);
                }
            }
        }
    }

    fn remove(&mut self, fd: RawFd, dir: Direction) {
        let Some(&key) = self.by_fd.get(&fd) else {
            return;
        };
        let Some(reg) = self.regs.get_mut(key) else {
            return;
        };
        if let Some(w) = Self::watch(reg, dir).take() {
            // Nothing more for this direction, not even what waits for room.
            if let Some(r) = self.replies.get_mut(&w.reply) {
                for q in r.queue.iter_mut().filter(|q| q.fd == fd) {
                    match dir {
                        Direction::Read => q.readable = false,
                        Direction::Write => q.writable = false,
                    }
                }
                r.queue
                    .retain(|q| q.fd != fd || q.readable || q.writable || q.refused.is_some());
            }
            self.release(w.reply);
        }
        self.drop_if_unused(key);
    }

    /// Forget a registration with no direction left (unwatching it).
    fn drop_if_unused(&mut self, key: usize) {
        if let Some(reg) = self.regs.get(key) {
            if reg.reader.is_none() && reg.writer.is_none() {
                let reg = self.regs.remove(key);
                self.by_fd.remove(&reg.fd);
            }
        }
    }

    /// One registration (direction) fewer uses reply `id`. A reply box no
    /// registration uses stays linked (unlinking could close it under its
    /// owner's feet, between a remove and the next add), up to
    /// [`MAX_IDLE_REPLIES`] of them, least recently released first out.
    fn release(&mut self, id: BoxId) {
        if let Some(r) = self.replies.get_mut(&id) {
            r.users = r.users.saturating_sub(1);
            if r.users == 0 {
                self.idle.push_back(id);
            }
        }
        while self.idle.len() > MAX_IDLE_REPLIES {
            let Some(old) = self.idle.pop_front() else {
                break;
            };
            if self
                .replies
                .get(&old)
                .is_some_and(|r| r.users == 0 && r.queue.is_empty() && r.sending.is_none())
            {
                self.replies.remove(&old);
            }
        }
    }

    fn send(&mut self, id: BoxId, msg: Ready) {
        if let Some(r) = self.replies.get_mut(&id) {
            r.push(msg);
            self.dirty.push(id);
        }
    }

    /// Look at the registrations whose readiness changed.
    fn poll_woken(&mut self) {
        let keys = std::mem::take(&mut *self.woken.keys.lock());
        for key in keys {
            // Stale keys (a registration removed, its slot reused) just
            // make an extra look.
            if let Some(reg) = self.regs.get(key) {
                reg.flag.queued.store(false, Ordering::Release);
                self.poll_reg(key);
            }
        }
    }

    fn poll_reg(&mut self, key: usize) {
        let mut out: Vec<(BoxId, Ready)> = Vec::new();
        let Some(reg) = self.regs.get_mut(key) else {
            return;
        };
        let waker = reg.waker.clone();
        let mut tcx = TaskContext::from_waker(&waker);
        for dir in [Direction::Read, Direction::Write] {
            // One message per direction per look. Readiness reported with
            // no message for it is news already covered (the I/O was done
            // before we looked; or, after a message, a new edge which that
            // message, not yet handled, covers: its reader does I/O until
            // it would block) — or, when it keeps coming, a state stuck in
            // the reactor (an error the kernel has cleared since): then the
            // descriptor is registered afresh.
            let mut sent = false;
            let mut empty = 0;
            while let Some(w) = Self::watch(reg, dir).as_ref() {
                if w.hung_up {
                    break;
                }
                let reply = w.reply;
                let Some(source) = reg.source.as_ref() else {
                    break;
                };
                let ev = match source.poll_ready(dir, &mut tcx) {
                    Poll::Ready(ev) => ev,
                    Poll::Pending => break,
                };
                source.clear_ready(ev);
                if !sent {
                    let now = level(reg.fd);
                    let (ready, hangup) = match dir {
                        Direction::Read => (now.readable, now.read_hangup),
                        Direction::Write => (now.writable, now.write_hangup),
                    };
                    if hangup || ready {
                        sent = true;
                        out.push((
                            reply,
                            Ready {
                                fd: reg.fd,
                                readable: dir == Direction::Read && now.readable,
                                writable: dir == Direction::Write && now.writable,
                                hangup,
                                refused: None,
                            },
                        ));
                        if hangup {
                            if let Some(w) = Self::watch(reg, dir).as_mut() {
                                w.hung_up = true;
                            }
                            break;
                        }
                        continue;
                    }
                }
                empty += 1;
                if empty >= 2 {
                    // The reactor keeps reporting a state (an error) that
                    // the kernel has cleared: register afresh (the old
                    // registration goes first: a descriptor cannot be
                    // registered twice).
                    let identity = reg.source.as_ref().and_then(|s| s.get_ref().identity);
                    reg.source = None;
                    let fresh = IoSource::new(&self.reactor, Fd { fd: reg.fd, identity });
                    match fresh {
                        Ok(fresh) => {
                            reg.source = Some(fresh);
                            reg.flag.queue();
                            waker.wake_by_ref();
                        }
                        Err(e) => {
                            tracing::warn!(fd = reg.fd, error = %e, "selector: cannot watch a descriptor again");
                            for d in [Direction::Read, Direction::Write] {
                                if let Some(w) = Self::watch(reg, d).as_mut() {
                                    w.hung_up = true;
                                    out.push((w.reply, hangup_msg(reg.fd)));
                                }
                            }
                        }
                    }
                    break;
                }
            }
        }
        for (id, msg) in out {
            self.send(id, msg);
        }
    }

    /// Deliver queued messages; forget the registrations of reply boxes
    /// that have closed.
    fn pump(&mut self, cx: &mut TaskContext<'_>) {
        let mut ids = std::mem::take(&mut self.dirty);
        ids.extend(
            self.replies
                .iter()
                .filter(|(_, r)| r.sending.is_some())
                .map(|(id, _)| *id),
        );
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            let Some(r) = self.replies.get_mut(&id) else {
                continue;
            };
            if r.pump(cx) {
                continue;
            }
            tracing::debug!("selector: a reply box has closed: dropping its registrations");
            self.replies.remove(&id);
            let keys: Vec<usize> = self.regs.iter().map(|(k, _)| k).collect();
            for key in keys {
                if let Some(reg) = self.regs.get_mut(key) {
                    for dir in [Direction::Read, Direction::Write] {
                        let w = Self::watch(reg, dir);
                        if w.as_ref().is_some_and(|w| w.reply == id) {
                            *w = None;
                        }
                    }
                }
                self.drop_if_unused(key);
            }
        }
    }
}

/// Withdraws the Selector's services however it ends.
struct Services {
    cat: Cat,
    services: Vec<(&'static str, AnyBoxRef)>,
}

impl Drop for Services {
    fn drop(&mut self) {
        for (name, service) in &self.services {
            let _ = self.cat.deregister_service_of(name, service);
        }
    }
}

impl fmt::Debug for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Selector")
            .field("descriptors", &self.regs.len())
            .field("replies", &self.replies.len())
            .finish()
    }
}

/// The Selector component (started by [`selector_service`]).
fn selector() -> Prefab {
    let spec = Component::new("Selector").inbox::<SelectorRequest>("notify");
    Prefab::new(spec, |mut cx| async move {
        let mut notify = cx.inbox::<SelectorRequest>("notify")?;
        let mut control = cx.inbox::<Signal>("control")?;
        let mut signal = cx.outbox::<Signal>("signal")?;
        let _services = Services {
            cat: cx.system().cat().clone(),
            services: vec![
                (SELECTOR_SERVICE, cx.me().any_inbox("notify")?),
                (SELECTOR_SHUTDOWN_SERVICE, cx.me().any_inbox("control")?),
            ],
        };
        // Requesters come and go; keep `notify` open between them.
        let keep_open = Outbox::<SelectorRequest>::detached("keep-open");
        axon::link(&keep_open.endpoint(), &notify.endpoint())?;
        let reactor = Reactor::of(cx.system()).map_err(SelectorError::Reactor)?;
        let mut sel = Selector {
            reactor,
            regs: Slab::new(),
            by_fd: HashMap::new(),
            replies: HashMap::new(),
            dirty: Vec::new(),
            idle: VecDeque::new(),
            woken: Arc::new(Woken::default()),
        };
        let mut control_open = true;
        let stop = poll_fn(|tcx| {
            while control_open {
                match control.poll_recv(tcx) {
                    Poll::Ready(Ok(sig)) if sig.is_shutdown() => return Poll::Ready(sig),
                    // It serves the whole system: nothing else ends it.
                    Poll::Ready(Ok(_)) => {}
                    Poll::Ready(Err(RecvError::Closed)) => control_open = false,
                    Poll::Pending => break,
                }
            }
            {
                let mut task = sel.woken.task.lock();
                if !task.as_ref().is_some_and(|t| t.will_wake(tcx.waker())) {
                    *task = Some(tcx.waker().clone());
                }
            }
            // (`notify` never closes: `keep_open` feeds it.)
            while let Poll::Ready(Ok(req)) = notify.poll_recv(tcx) {
                sel.handle(req);
            }
            sel.poll_woken();
            sel.pump(tcx);
            Poll::Pending
        })
        .await;
        tracing::debug!(?sel, "selector stopping");
        drop(sel);
        drop(_services);
        let _ = signal.try_send(stop);
        Ok(())
    })
}
