//! The UDP peers on 127.0.0.1: a round trip between two peers, a targetted
//! peer switching targets, a postbox peer, each form ending on its control
//! signals, typed bind errors, the largest datagram, and many datagrams in
//! order.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use axon::{Handle, Outbox, Outcome, RunningSystem, Signal};
use bytes::Bytes;
use kamaelia::internet::udp::MAX_DATAGRAM;
use kamaelia::internet::{PostboxPeer, Reactor, SimplePeer, TargettedPeer, UdpError};

/// Long enough that a bug fails rather than hangs; never reached when it works.
const WAIT: Duration = Duration::from_secs(10);

type Peer = Handle<Bytes, (Bytes, SocketAddr)>;

fn system() -> RunningSystem {
    Reactor::system(axon::System::builder().threads(2))
        .expect("reactor")
        .start()
}

/// A plain socket on loopback to talk to the peers, with a receive timeout.
fn plain() -> (UdpSocket, SocketAddr) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let a = s.local_addr().unwrap();
    (s, a)
}

fn recv(s: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = vec![0u8; 65_536];
    let (n, from) = s.recv_from(&mut buf).expect("a datagram within the timeout");
    buf.truncate(n);
    (buf, from)
}

fn next(h: &Handle<impl Send + 'static, (Bytes, SocketAddr)>) -> (Bytes, SocketAddr) {
    h.recv_timeout(WAIT).expect("a datagram out of the peer's outbox")
}

fn ends_with(h: &Handle<impl Send + 'static, impl Send + 'static>, sig: Signal) {
    assert_eq!(h.recv_signal_timeout(WAIT).expect("a signal"), sig);
    assert_eq!(h.join_timeout(WAIT), Ok(Outcome::Finished));
}

#[test]
fn two_simple_peers_talk_to_each_other() {
    let running = system();
    let sys = running.system();
    let a = SimplePeer::bind("127.0.0.1:0", "127.0.0.1:9".parse().unwrap()).unwrap();
    let b = SimplePeer::bind("127.0.0.1:0", a.local_addr()).unwrap();
    let (a_addr, b_addr) = (a.local_addr(), b.local_addr());
    assert_ne!(a_addr.port(), 0, "port 0 is resolved at bind");
    let a = a.remote(b_addr);
    assert_eq!(a.remote_addr(), b_addr);
    let mut ha: Peer = Handle::spawn(sys, a.prefab()).unwrap();
    let mut hb: Peer = Handle::spawn(sys, b).unwrap();

    ha.send_blocking(Bytes::from_static(b"ping")).unwrap();
    assert_eq!(next(&hb), (Bytes::from_static(b"ping"), a_addr));
    hb.send_blocking(Bytes::from_static(b"pong")).unwrap();
    assert_eq!(next(&ha), (Bytes::from_static(b"pong"), b_addr));

    // The largest IPv4 datagram goes through whole.
    let big = Bytes::from((0..MAX_DATAGRAM).map(|i| i as u8).collect::<Vec<u8>>());
    ha.send_blocking(big.clone()).unwrap();
    assert_eq!(next(&hb), (big, a_addr));

    // One the kernel refuses is reported (at warn) and skipped; the peer
    // goes on with the next.
    ha.send_blocking(Bytes::from(vec![0u8; MAX_DATAGRAM + 1]))
        .unwrap();
    ha.send_blocking(Bytes::from_static(b"after")).unwrap();
    assert_eq!(next(&hb), (Bytes::from_static(b"after"), a_addr));

    ha.shutdown().unwrap();
    hb.shutdown().unwrap();
    ends_with(&ha, Signal::ShutdownMicroprocess);
    ends_with(&hb, Signal::ShutdownMicroprocess);
    running.wait();
}

#[test]
fn targetted_peer_waits_for_a_target_and_switches_targets() {
    let running = system();
    let sys = running.system();
    let (r1, a1) = plain();
    let (r2, a2) = plain();
    let peer = TargettedPeer::bind("127.0.0.1:0").unwrap();
    let me = peer.local_addr();
    let mut h: Peer = Handle::spawn(sys, peer.prefab()).unwrap();
    let mut target = Outbox::<SocketAddr>::detached("target");
    axon::link(&target.endpoint(), &h.component().inbox("target").unwrap()).unwrap();

    // No target yet: the datagram waits in the peer's inbox, not dropped.
    h.send_blocking(Bytes::from_static(b"held")).unwrap();
    target.try_send(a1).unwrap();
    assert_eq!(recv(&r1), (b"held".to_vec(), me));
    h.send_blocking(Bytes::from_static(b"one")).unwrap();
    assert_eq!(recv(&r1), (b"one".to_vec(), me));

    target.try_send(a2).unwrap();
    // The target applies to what is taken from inbox after it arrived; wait
    // until it has been taken (the peer's target inbox is empty).
    let target_in = h.component().inbox::<SocketAddr>("target").unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    while !target_in.is_empty() {
        assert!(std::time::Instant::now() < deadline, "target never taken");
        std::thread::sleep(Duration::from_millis(1));
    }
    h.send_blocking(Bytes::from_static(b"two")).unwrap();
    assert_eq!(recv(&r2), (b"two".to_vec(), me));
    r1.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 16];
    assert!(
        r1.recv_from(&mut buf).is_err(),
        "nothing more went to the first target"
    );

    // It receives as well.
    r2.send_to(b"back", me).unwrap();
    assert_eq!(next(&h), (Bytes::from_static(b"back"), a2));

    h.send_control(Signal::ProducerFinished).unwrap();
    ends_with(&h, Signal::ProducerFinished);
    running.wait();
}

#[test]
fn postbox_peer_sends_each_datagram_where_it_says() {
    let running = system();
    let sys = running.system();
    let (r1, a1) = plain();
    let (r2, a2) = plain();
    let peer = PostboxPeer::bind("127.0.0.1:0").unwrap();
    let me = peer.local_addr();
    let mut h: Handle<(SocketAddr, Bytes), (Bytes, SocketAddr)> = Handle::spawn(sys, peer).unwrap();
    h.send_blocking((a1, Bytes::from_static(b"to one"))).unwrap();
    h.send_blocking((a2, Bytes::from_static(b"to two"))).unwrap();
    assert_eq!(recv(&r1), (b"to one".to_vec(), me));
    assert_eq!(recv(&r2), (b"to two".to_vec(), me));
    r1.send_to(b"from one", me).unwrap();
    assert_eq!(next(&h), (Bytes::from_static(b"from one"), a1));
    h.shutdown().unwrap();
    ends_with(&h, Signal::ShutdownMicroprocess);
    running.wait();
}

#[test]
fn producer_finished_sends_what_is_queued_then_ends_each_form() {
    let running = system();
    let sys = running.system();
    let (r, ra) = plain();

    // Queue datagrams before the peer runs (a paused system would do too):
    // they are all sent before it ends.
    let simple = SimplePeer::bind("127.0.0.1:0", ra).unwrap();
    let mut h: Peer = Handle::spawn(sys, simple.prefab()).unwrap();
    for i in 0..20u8 {
        h.send_blocking(Bytes::from(vec![i])).unwrap();
    }
    h.send_control(Signal::ProducerFinished).unwrap();
    for i in 0..20u8 {
        assert_eq!(recv(&r).0, vec![i]);
    }
    ends_with(&h, Signal::ProducerFinished);

    let targetted = TargettedPeer::bind("127.0.0.1:0").unwrap().target(ra);
    let mut h: Peer = Handle::spawn(sys, targetted.prefab()).unwrap();
    h.send_blocking(Bytes::from_static(b"t")).unwrap();
    h.send_control(Signal::ProducerFinished).unwrap();
    assert_eq!(recv(&r).0, b"t");
    ends_with(&h, Signal::ProducerFinished);

    let postbox = PostboxPeer::bind("127.0.0.1:0").unwrap();
    let mut h: Handle<(SocketAddr, Bytes), (Bytes, SocketAddr)> =
        Handle::spawn(sys, postbox.prefab()).unwrap();
    h.send_blocking((ra, Bytes::from_static(b"p"))).unwrap();
    h.send_control(Signal::ProducerFinished).unwrap();
    assert_eq!(recv(&r).0, b"p");
    ends_with(&h, Signal::ProducerFinished);
    running.wait();
}

#[test]
fn shutdown_ends_each_form_and_frees_its_port() {
    let running = system();
    let sys = running.system();
    let (_r, ra) = plain();
    let forms: Vec<(SocketAddr, axon::Prefab)> = vec![
        {
            let p = SimplePeer::bind("127.0.0.1:0", ra).unwrap();
            (p.local_addr(), p.prefab())
        },
        {
            // Never given a target: shutdown still ends it at once.
            let p = TargettedPeer::bind("127.0.0.1:0").unwrap();
            (p.local_addr(), p.prefab())
        },
        {
            let p = PostboxPeer::bind("127.0.0.1:0").unwrap();
            (p.local_addr(), p.prefab())
        },
    ];
    for (addr, prefab) in forms {
        let c = prefab.spawn(sys);
        let mut signal = axon::Inbox::<Signal>::detached("signal");
        axon::link(&c.outbox("signal").unwrap(), &signal.endpoint()).unwrap();
        let mut stop = Outbox::<Signal>::detached("stop");
        axon::link(&stop.endpoint(), &c.inbox("control").unwrap()).unwrap();
        stop.try_send(Signal::ShutdownMicroprocess).unwrap();
        assert_eq!(
            axon::block_on_timeout(signal.recv(), Some(WAIT)).expect("in time"),
            Ok(Signal::ShutdownMicroprocess)
        );
        assert_eq!(c.join(), Ok(Outcome::Finished));
        // The socket is closed: its address can be bound again.
        UdpSocket::bind(addr).expect("port freed");
    }
    running.wait();
}

#[test]
fn bind_errors_are_typed() {
    let (_taken, addr) = plain();
    match SimplePeer::bind(addr, addr) {
        Err(e @ UdpError::Bind { .. }) => assert!(e.to_string().contains(&addr.to_string()), "{e}"),
        other => panic!("expected a bind error, got {other:?}"),
    }
    assert!(matches!(TargettedPeer::bind(addr), Err(UdpError::Bind { .. })));
    assert!(matches!(PostboxPeer::bind(addr), Err(UdpError::Bind { .. })));
    match PostboxPeer::bind("no port here") {
        Err(e @ UdpError::Resolve { .. }) => assert!(e.to_string().contains("HOST:PORT"), "{e}"),
        other => panic!("expected a resolve error, got {other:?}"),
    }
}

#[test]
fn many_datagrams_arrive_in_order_without_duplicates() {
    const N: u32 = 2_000;
    let running = system();
    let sys = running.system();
    let rx = SimplePeer::bind("127.0.0.1:0", "127.0.0.1:9".parse().unwrap()).unwrap();
    let tx = SimplePeer::bind("127.0.0.1:0", rx.local_addr()).unwrap();
    let tx_addr = tx.local_addr();
    let hrx: Peer = Handle::spawn(sys, rx.prefab()).unwrap();
    let mut htx: Peer = Handle::spawn(sys, tx.prefab()).unwrap();
    for i in 0..N {
        htx.send_blocking(Bytes::copy_from_slice(&i.to_be_bytes()))
            .unwrap();
    }
    // Loopback does not drop at this rate, but UDP may: collect until the
    // last arrives (or nothing comes for a while), then check the order.
    let mut got = Vec::new();
    while let Ok((d, from)) = hrx.recv_timeout(Duration::from_secs(2)) {
        assert_eq!(from, tx_addr);
        let seq = u32::from_be_bytes(d[..].try_into().expect("4 bytes"));
        got.push(seq);
        if seq == N - 1 {
            break;
        }
    }
    assert!(
        got.windows(2).all(|w| w[0] < w[1]),
        "no duplicates, no reordering"
    );
    assert!(!got.is_empty());
    // Whatever was lost under load, one sent after waiting arrives.
    htx.send_blocking(Bytes::from_static(b"last")).unwrap();
    loop {
        let (d, _) = next(&hrx);
        if &d[..] == b"last" {
            break;
        }
        // A straggler from the burst: still in order.
        let seq = u32::from_be_bytes(d[..].try_into().expect("4 bytes"));
        assert!(got.last().is_none_or(|&l| l < seq));
        got.push(seq);
    }
    eprintln!("{} of {N} datagrams arrived", got.len());
    drop(htx);
    drop(hrx);
    running.shutdown();
}

#[test]
fn a_peer_with_no_room_stops_receiving_and_holds_a_bounded_number() {
    use kamaelia::internet::udp::DEFAULT_HELD;
    const N: u32 = 1_000;
    let running = system();
    let sys = running.system();
    let (s, _) = plain();
    let peer = SimplePeer::bind("127.0.0.1:0", "127.0.0.1:9".parse().unwrap()).unwrap();
    let me = peer.local_addr();
    // Nothing linked to its outbox yet: nobody takes what it receives.
    let c = peer.prefab().spawn(sys);
    let outbox = c.outbox::<(Bytes, SocketAddr)>("outbox").unwrap();
    for i in 0..N {
        s.send_to(&i.to_be_bytes(), me).unwrap();
    }
    let deadline = std::time::Instant::now() + WAIT;
    while outbox.len() < DEFAULT_HELD {
        assert!(
            std::time::Instant::now() < deadline,
            "peer never filled its outbox"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    // Give it every chance to take more than it may.
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(outbox.len(), DEFAULT_HELD, "held in the peer: bounded");

    // A consumer comes: what was held, then what the kernel kept, in order.
    let mut inbox = axon::Inbox::<(Bytes, SocketAddr)>::detached("consumer");
    axon::link(&outbox, &inbox.endpoint()).unwrap();
    let mut got = Vec::new();
    while let Some(Ok((d, _))) = axon::block_on_timeout(inbox.recv(), Some(Duration::from_millis(500))) {
        got.push(u32::from_be_bytes(d[..].try_into().unwrap()));
    }
    assert_eq!(
        got[..DEFAULT_HELD],
        (0..DEFAULT_HELD as u32).collect::<Vec<_>>()[..]
    );
    assert!(got.windows(2).all(|w| w[0] < w[1]), "in order, no duplicates");
    // Receiving resumed: one sent now arrives.
    s.send_to(b"now", me).unwrap();
    let (d, _) = axon::block_on_timeout(inbox.recv(), Some(WAIT)).unwrap().unwrap();
    assert_eq!(&d[..], b"now");
    eprintln!(
        "{} of {N} datagrams kept (the kernel dropped the rest)",
        got.len()
    );
    running.shutdown();
}
