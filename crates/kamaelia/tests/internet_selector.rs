//! The Selector service: readiness of raw descriptors as messages.
//! Registrations persist (a message per readiness edge), removal and a
//! closed reply box stop them, an unwatchable descriptor is refused with a
//! reason, racing callers share one Selector, and shutdown withdraws it.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use axon::{Inbox, Outbox, RunningSystem, Signal};
use kamaelia::internet::selector::{
    selector_service, Ready, SelectorRequest, SELECTOR_SERVICE, SELECTOR_SHUTDOWN_SERVICE,
};
use kamaelia::internet::Reactor;

/// Long enough that a bug fails rather than hangs; never reached when it works.
const WAIT: Duration = Duration::from_secs(10);

fn system() -> RunningSystem {
    Reactor::system(axon::System::builder().threads(2))
        .expect("reactor")
        .start()
}

/// The test's side of the selector: a request outbox and a reply inbox.
struct Client {
    requests: Outbox<SelectorRequest>,
    ready: Inbox<Ready>,
}

impl Client {
    fn new(sys: &axon::System) -> Client {
        let requests = Outbox::<SelectorRequest>::detached("requests");
        axon::link(&requests.endpoint(), &selector_service(sys).unwrap()).unwrap();
        Client {
            requests,
            ready: Inbox::detached("ready"),
        }
    }

    fn add_reader(&mut self, fd: RawFd) {
        let reply = self.ready.endpoint();
        self.requests
            .try_send(SelectorRequest::AddReader { fd, reply })
            .unwrap();
    }

    fn add_writer(&mut self, fd: RawFd) {
        let reply = self.ready.endpoint();
        self.requests
            .try_send(SelectorRequest::AddWriter { fd, reply })
            .unwrap();
    }

    fn next(&mut self) -> Ready {
        axon::block_on_timeout(self.ready.recv(), Some(WAIT))
            .expect("a readiness message in time")
            .expect("reply box open")
    }
}

/// Read until it would block; returns the bytes read.
fn drain(s: &mut UnixStream) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return all,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return all,
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// A socket pair whose second end is non-blocking.
fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_reader_gets_a_message_per_edge_until_removed() {
    let running = system();
    let sys = running.system();
    let mut c = Client::new(sys);
    let (mut w, mut r) = pair();
    let fd = r.as_raw_fd();
    c.add_reader(fd);

    w.write_all(b"one").unwrap();
    let m = c.next();
    assert_eq!((m.fd, m.readable, m.hangup, m.refused), (fd, true, false, None));
    assert_eq!(drain(&mut r), b"one");

    // The registration persists: the next write is another message.
    w.write_all(b"two").unwrap();
    assert!(c.next().readable);
    assert_eq!(drain(&mut r), b"two");

    // Removed: no more. A second descriptor, registered after the removal
    // and written after the first, is the proof that the selector has
    // looked past the first one's write.
    c.requests.try_send(SelectorRequest::RemoveReader { fd }).unwrap();
    let (mut w2, r2) = pair();
    c.add_reader(r2.as_raw_fd());
    w.write_all(b"three").unwrap();
    w2.write_all(b"marker").unwrap();
    let m = c.next();
    assert_eq!(m.fd, r2.as_raw_fd(), "no message for the removed reader");
    assert!(
        c.ready.try_recv().is_err(),
        "nothing else came: {:?}",
        c.ready.try_recv()
    );

    // The peer closing is one last message, with hangup.
    c.add_reader(fd);
    drop(w);
    // (Re-added while "three" waits unread, it may first report that.)
    let m = loop {
        let m = c.next();
        if m.hangup {
            break m;
        }
        assert!(m.fd == fd && m.readable, "{m:?}");
    };
    assert_eq!(m.fd, fd);
    assert_eq!(drain(&mut r), b"three");
    c.requests.try_send(SelectorRequest::RemoveReader { fd }).unwrap();
    c.requests
        .try_send(SelectorRequest::RemoveReader { fd: r2.as_raw_fd() })
        .unwrap();
    let reactor = Reactor::of(sys).unwrap();
    wait_until("every descriptor is unwatched", || reactor.sources() == 0);
    running.shutdown();
}

#[test]
fn a_writer_is_told_when_room_comes_back() {
    let running = system();
    let sys = running.system();
    let mut c = Client::new(sys);
    let (mut peer, mut s) = pair();
    let fd = s.as_raw_fd();
    c.add_writer(fd);
    // Writable at once: an added registration reports the state there is.
    let m = c.next();
    assert_eq!((m.fd, m.writable, m.readable), (fd, true, false));

    // Fill it until it would block, then make room: a new message.
    let chunk = [7u8; 4096];
    let mut written = 0;
    loop {
        match s.write(&chunk) {
            Ok(n) => written += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => panic!("write: {e}"),
        }
    }
    let mut buf = vec![0u8; written];
    peer.read_exact(&mut buf).unwrap();
    let m = c.next();
    assert!(m.writable && !m.hangup, "{m:?}");
    running.shutdown();
}

#[test]
fn a_closed_reply_box_ends_its_registrations() {
    let running = system();
    let sys = running.system();
    let reactor = Reactor::of(sys).unwrap();
    let mut c = Client::new(sys);
    let (mut w, r) = pair();
    c.add_reader(r.as_raw_fd());
    w.write_all(b"x").unwrap();
    c.next();
    assert_eq!(reactor.sources(), 1);
    // The component behind the reply box has gone: the next message finds
    // it closed, and the registration goes.
    drop(c.ready);
    w.write_all(b"y").unwrap();
    wait_until("the registration is dropped", || reactor.sources() == 0);
    running.shutdown();
}

#[test]
fn an_unwatchable_descriptor_is_refused_with_a_reason() {
    let running = system();
    let sys = running.system();
    let mut c = Client::new(sys);
    let file = std::fs::File::open(env!("CARGO_MANIFEST_DIR").to_string() + "/Cargo.toml").unwrap();
    c.add_reader(file.as_raw_fd());
    let m = c.next();
    let refused = m.refused.expect("refused");
    assert_eq!(refused.fd, file.as_raw_fd());
    assert!(refused.to_string().contains("regular files"), "{refused}");
    assert!(m.hangup);
    assert_eq!(Reactor::of(sys).unwrap().sources(), 0);
    running.shutdown();
}

#[test]
fn racing_callers_share_one_selector_and_shutdown_withdraws_it() {
    let running = system();
    let sys = running.system().clone();
    let barrier = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (sys, barrier) = (sys.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                selector_service(&sys).unwrap().id()
            })
        })
        .collect();
    let ids: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "one service: {ids:?}");
    let selectors = || {
        sys.components()
            .iter()
            .filter(|c| c.name() == "Selector" && !c.is_finished())
            .count()
    };
    assert_eq!(selectors(), 1);

    // Its control is a service too: shutting it down withdraws both.
    let mut stop = Outbox::<Signal>::detached("stop");
    axon::link(
        &stop.endpoint(),
        &sys.cat().retrieve::<Signal>(SELECTOR_SHUTDOWN_SERVICE).unwrap(),
    )
    .unwrap();
    stop.try_send(Signal::ShutdownMicroprocess).unwrap();
    wait_until("the selector has ended", || selectors() == 0);
    assert!(!sys.cat().has_service(SELECTOR_SERVICE));
    assert!(!sys.cat().has_service(SELECTOR_SHUTDOWN_SERVICE));

    // The next request starts a new one, which works.
    let fresh = selector_service(&sys).unwrap();
    assert_ne!(fresh.id(), ids[0]);
    let mut c = Client::new(&sys);
    let (mut w, r) = pair();
    c.add_reader(r.as_raw_fd());
    w.write_all(b"hi").unwrap();
    assert!(c.next().readable);
    running.shutdown();
}

#[test]
fn messages_for_a_full_reply_box_wait_in_the_selector() {
    let running = system();
    let sys = running.system();
    let mut c = Client::new(sys);
    c.ready.set_size(Some(1));
    let (mut w1, r1) = pair();
    let (mut w2, r2) = pair();
    let (mut w3, r3) = pair();
    c.add_reader(r1.as_raw_fd());
    c.add_reader(r2.as_raw_fd());
    c.add_reader(r3.as_raw_fd());
    w1.write_all(b"1").unwrap();
    w2.write_all(b"2").unwrap();
    w3.write_all(b"3").unwrap();
    // Room for one at a time: all three still come, one each.
    let mut fds: Vec<RawFd> = (0..3).map(|_| c.next().fd).collect();
    fds.sort_unstable();
    let mut want = vec![r1.as_raw_fd(), r2.as_raw_fd(), r3.as_raw_fd()];
    want.sort_unstable();
    assert_eq!(fds, want);
    // And the selector still serves: a new edge is a new message.
    w1.write_all(b"again").unwrap();
    assert_eq!(c.next().fd, r1.as_raw_fd());
    running.shutdown();
}
