//! The TCP components through the library API: ServerCore's limits,
//! reporting and stopping; TcpServer handing out adapters; TcpClient's
//! errors; SingleServer; the adapter's half close and flow control; and a
//! system built without the reactor (the reactor then runs on its own thread).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::Duration;

use axon::{Component, Handle, Outbox, Outcome, Prefab, Signal, System};
use bytes::Bytes;
use kamaelia::internet::{
    ConnectionEvent, ConnectionInfo, NewConnection, Reactor, ServerCore, SingleServer, TcpClient, TcpError,
    TcpServer,
};
use kamaelia::util::pure_transformer;

const T: Option<Duration> = Some(Duration::from_secs(20));

fn connect(addr: std::net::SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(T).unwrap();
    s
}

fn echo(_: ConnectionInfo) -> Prefab {
    pure_transformer(|b: Bytes| Some(b))
}

fn control_of(c: &axon::ComponentRef) -> Outbox<Signal> {
    let out = Outbox::<Signal>::detached("test-control");
    axon::link(&out.endpoint(), &c.inbox("control").unwrap()).unwrap();
    out
}

#[test]
fn server_core_reports_connections_and_stops_on_shutdown() {
    let sys = Reactor::system(System::builder().threads(2)).unwrap();
    let running = sys.start();
    let server = ServerCore::bind("127.0.0.1:0", echo).unwrap();
    let addr = server.local_addr();
    let core = Handle::<(), ConnectionEvent>::spawn(&sys, server.prefab()).unwrap();
    let mut a = connect(addr);
    let ev = core.recv_timeout(Duration::from_secs(20)).unwrap();
    let ConnectionEvent::Opened(info) = ev else {
        panic!("{ev:?}")
    };
    assert_eq!(info.peer, a.local_addr().unwrap());
    assert_eq!(info.local, addr);
    a.write_all(b"abc").unwrap();
    let mut buf = [0; 3];
    a.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"abc");
    a.shutdown(Shutdown::Write).unwrap();
    assert_eq!(
        a.read(&mut buf).unwrap(),
        0,
        "the server closes after the peer's EOF"
    );
    assert_eq!(
        core.recv_timeout(Duration::from_secs(20)).unwrap(),
        ConnectionEvent::Closed(info)
    );
    // A second connection, then a shutdown: it is closed and the server ends.
    let mut b = connect(addr);
    assert!(matches!(
        core.recv_timeout(Duration::from_secs(20)).unwrap(),
        ConnectionEvent::Opened(_)
    ));
    let mut stop = control_of(core.component());
    stop.try_send(Signal::ShutdownMicroprocess).unwrap();
    assert_eq!(
        b.read(&mut buf).unwrap_or(0),
        0,
        "shutdown closes open connections"
    );
    assert_eq!(core.join(), Ok(Outcome::Finished));
    assert_eq!(
        core.recv_signal_timeout(Duration::from_secs(5)).unwrap(),
        Signal::ShutdownMicroprocess
    );
    // The listening socket is closed.
    assert!(TcpStream::connect(addr).is_err());
    running.shutdown();
}

#[test]
fn server_core_max_connections_holds_the_rest_in_the_backlog() {
    let sys = Reactor::system(System::builder().threads(1)).unwrap();
    let running = sys.start();
    let server = ServerCore::bind("127.0.0.1:0", echo).unwrap().max_connections(2);
    let addr = server.local_addr();
    let core = Handle::<(), ConnectionEvent>::spawn(&sys, server.prefab()).unwrap();
    let mut conns: Vec<TcpStream> = (0..3).map(|_| connect(addr)).collect();
    for _ in 0..2 {
        assert!(matches!(
            core.recv_timeout(Duration::from_secs(20)).unwrap(),
            ConnectionEvent::Opened(_)
        ));
    }
    // The third is connected (backlog) but not served.
    assert!(core.recv_timeout(Duration::from_millis(300)).is_err());
    conns[2].write_all(b"x").unwrap();
    // One ends: the third is taken and served.
    conns.remove(0);
    let mut saw_open = false;
    for _ in 0..2 {
        match core.recv_timeout(Duration::from_secs(20)).unwrap() {
            ConnectionEvent::Opened(_) => saw_open = true,
            ConnectionEvent::Closed(_) => {}
            ev => panic!("{ev:?}"),
        }
    }
    assert!(saw_open);
    let mut b = [0; 1];
    conns[1].read_exact(&mut b).unwrap();
    assert_eq!(&b, b"x");
    running.shutdown();
}

#[test]
fn server_core_idle_timeout_closes_quiet_connections() {
    let sys = Reactor::system(System::builder().threads(1)).unwrap();
    let running = sys.start();
    let server = ServerCore::bind("127.0.0.1:0", echo)
        .unwrap()
        .idle_timeout(Duration::from_millis(100));
    let addr = server.local_addr();
    let _core = server.prefab().spawn(&sys);
    let mut a = connect(addr);
    let mut buf = [0; 8];
    assert_eq!(a.read(&mut buf).unwrap(), 0, "an idle connection is closed");
    running.shutdown();
}

#[test]
fn server_core_refuses_a_protocol_of_the_wrong_type_and_goes_on() {
    let sys = Reactor::system(System::builder().threads(1)).unwrap();
    let running = sys.start();
    // The protocol's inbox carries String, not Bytes.
    let server = ServerCore::bind("127.0.0.1:0", |_| pure_transformer(|s: String| Some(s))).unwrap();
    let addr = server.local_addr();
    let core = Handle::<(), ConnectionEvent>::spawn(&sys, server.prefab()).unwrap();
    let mut a = connect(addr);
    match core.recv_timeout(Duration::from_secs(20)).unwrap() {
        ConnectionEvent::Refused(_, why) => assert!(why.contains("String"), "{why}"),
        ev => panic!("{ev:?}"),
    }
    let mut buf = [0; 1];
    assert_eq!(a.read(&mut buf).unwrap_or(0), 0);
    assert!(!core.is_finished(), "the server goes on");
    running.shutdown();
}

#[test]
fn producer_finished_stops_accepting_and_lets_connections_finish() {
    let sys = Reactor::system(System::builder().threads(1)).unwrap();
    let running = sys.start();
    let server = ServerCore::bind("127.0.0.1:0", echo).unwrap();
    let addr = server.local_addr();
    let core = Handle::<(), ConnectionEvent>::spawn(&sys, server.prefab()).unwrap();
    let mut a = connect(addr);
    assert!(matches!(
        core.recv_timeout(Duration::from_secs(20)).unwrap(),
        ConnectionEvent::Opened(_)
    ));
    let mut stop = control_of(core.component());
    stop.try_send(Signal::ProducerFinished).unwrap();
    // Still served after the stop request...
    a.write_all(b"drain").unwrap();
    let mut buf = [0; 5];
    a.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"drain");
    assert!(!core.is_finished());
    // ...and the server ends once it has closed.
    drop(a);
    assert_eq!(core.join(), Ok(Outcome::Finished));
    running.shutdown();
}

#[test]
fn tcp_server_hands_out_adapters() {
    let sys = Reactor::system(System::builder().threads(1)).unwrap();
    let running = sys.start();
    let server = TcpServer::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr();
    let listener = Handle::<(), NewConnection>::spawn(&sys, server.prefab()).unwrap();
    let mut client = connect(addr);
    let conn = listener.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(conn.info.peer, client.local_addr().unwrap());
    // Drive the adapter directly: bytes in, bytes out.
    let mut csa = Handle::<Bytes, Bytes>::spawn(&sys, conn.csa).unwrap();
    client.write_all(b"from the client").unwrap();
    assert_eq!(&csa.recv_blocking().unwrap()[..], b"from the client");
    csa.send_blocking(Bytes::from_static(b"from the server")).unwrap();
    let mut buf = [0; 15];
    client.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"from the server");
    // The peer's EOF comes out of the adapter's signal.
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(csa.recv_signal_blocking().unwrap(), Signal::ProducerFinished);
    // ProducerFinished at its control: FIN to the client, and the adapter ends.
    csa.send_control(Signal::ProducerFinished).unwrap();
    assert_eq!(client.read(&mut buf).unwrap(), 0);
    assert_eq!(csa.join(), Ok(Outcome::Finished));
    running.shutdown();
}

#[test]
fn tcp_client_errors_are_typed() {
    let sys = Reactor::system(System::builder().threads(1)).unwrap();
    let dead = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let refused = TcpClient::new(dead).prefab().spawn(&sys);
    sys.run();
    match refused.outcome() {
        Some(Outcome::Failed(why)) => assert!(
            why.to_string().contains(&format!("could not connect to {dead}")),
            "{why}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        ServerCore::bind("no-such-host.invalid:80", echo),
        Err(TcpError::Resolve { .. })
    ));
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let err = TcpServer::bind(taken.local_addr().unwrap())
        .err()
        .expect("port in use");
    assert!(err.to_string().contains("could not listen on"), "{err}");
}

#[test]
fn tcp_client_talks_and_half_closes() {
    let sys = Reactor::system(System::builder().threads(1)).unwrap();
    let running = sys.start();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut client = Handle::<Bytes, Bytes>::spawn(&sys, TcpClient::new(addr).prefab()).unwrap();
    let (mut peer, _) = listener.accept().unwrap();
    peer.set_read_timeout(T).unwrap();
    client.send_blocking(Bytes::from_static(b"request")).unwrap();
    client.send_control(Signal::ProducerFinished).unwrap();
    let mut got = Vec::new();
    peer.read_to_end(&mut got).unwrap(); // EOF: the client half-closed
    assert_eq!(got, b"request");
    // The other direction still works after our FIN.
    peer.write_all(b"response").unwrap();
    drop(peer);
    assert_eq!(&client.recv_blocking().unwrap()[..], b"response");
    assert_eq!(client.recv_signal_blocking().unwrap(), Signal::ProducerFinished);
    assert_eq!(client.join(), Ok(Outcome::Finished));
    running.shutdown();
}

#[test]
fn single_server_serves_one_connection() {
    let sys = Reactor::system(System::builder().threads(1)).unwrap();
    let running = sys.start();
    let server = SingleServer::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr();
    let mut h = Handle::<Bytes, Bytes>::spawn(&sys, server.prefab()).unwrap();
    let mut c = connect(addr);
    c.write_all(b"one").unwrap();
    assert_eq!(&h.recv_blocking().unwrap()[..], b"one");
    h.send_blocking(Bytes::from_static(b"two")).unwrap();
    let mut buf = [0; 3];
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"two");
    drop(c);
    assert_eq!(h.recv_signal_blocking().unwrap(), Signal::ProducerFinished);
    h.send_control(Signal::ProducerFinished).unwrap();
    assert_eq!(h.join(), Ok(Outcome::Finished));
    running.shutdown();
}

#[test]
fn adapter_flow_control_stops_reading_while_the_consumer_is_full() {
    // A protocol that takes one chunk and then never reads again.
    let sys = Reactor::system(System::builder().threads(1)).unwrap();
    let running = sys.start();
    let stuck = |_: ConnectionInfo| {
        Prefab::new(
            Component::new("stuck").inbox_and_outbox::<Bytes, Bytes>(),
            |mut cx| async move {
                let mut inbox = cx.inbox::<Bytes>("inbox")?;
                let _first = inbox.recv().await;
                std::future::pending::<()>().await;
                Ok::<_, axon::Error>(())
            },
        )
    };
    let server = ServerCore::bind("127.0.0.1:0", stuck)
        .unwrap()
        .box_size(2)
        .read_chunk(1024);
    let addr = server.local_addr();
    let core = server.prefab().spawn(&sys);
    let mut c = connect(addr);
    c.set_nonblocking(true).unwrap();
    let mut sent = 0usize;
    let mut idle_rounds = 0;
    while idle_rounds < 50 && sent < 256 << 20 {
        match c.write(&[0u8; 65536]) {
            Ok(n) => {
                sent += n;
                idle_rounds = 0;
            }
            Err(_) => {
                idle_rounds += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    assert!(sent < 256 << 20, "the server kept reading: {sent} bytes");
    // What the server holds in boxes: at most the protocol's inbox (2 chunks)
    // plus the one the adapter could not deliver.
    let snap = sys.snapshot();
    let held: usize = snap
        .components
        .iter()
        .flat_map(|c| c.boxes.iter())
        .filter(|b| b.name == "inbox")
        .map(|b| b.len)
        .sum();
    assert!(held <= 3, "boxes hold {held} chunks");
    drop(core);
    running.shutdown();
}

#[test]
fn a_system_without_the_reactor_gets_one_on_its_own_thread() {
    let sys = System::builder().threads(1).build();
    let running = sys.start();
    let server = ServerCore::bind("127.0.0.1:0", echo).unwrap();
    let addr = server.local_addr();
    server.prefab().spawn(&sys);
    let mut c = connect(addr);
    c.write_all(b"threaded reactor").unwrap();
    let mut buf = [0; 16];
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"threaded reactor");
    let reactor = Reactor::of(&sys).unwrap();
    assert!(!reactor.sleeps_in_scheduler());
    assert!(reactor.events() > 0);
    running.shutdown();
}
