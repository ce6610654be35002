//! Carousel tests. The reference's `Test/Chassis/test_Carousel.py` holds no
//! tests ("need writing!"), so these check the behaviour the newer
//! `Kamaelia/Chassis/Carousel.py` implements and documents, each named in a
//! comment: `next` while a child runs waits for it to end (asking it to), a
//! child's end requests the next, `producerFinished` serves what is queued
//! first, `shutdownMicroprocess` drops it.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

use axon::{Component, ComponentRef, Inbox, Outbox, Outcome, Prefab, Signal, System};
use common::{collect, drain, feed, map, mock, Mock, Msg};
use kamaelia::chassis::{Carousel, NextRequest};

/// Aborts the test binary if the test holding it runs for over 30 s, so a
/// bug that leaves something waiting fails instead of hanging the run.
struct Watchdog(#[allow(dead_code)] std::sync::mpsc::Sender<()>);

fn watchdog(test: &'static str) -> Watchdog {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        // Dropping the guard disconnects the channel: the test ended.
        if rx.recv_timeout(std::time::Duration::from_secs(30))
            == Err(std::sync::mpsc::RecvTimeoutError::Timeout)
        {
            eprintln!("{test} still running after 30 s: aborting");
            std::process::abort();
        }
    });
    Watchdog(tx)
}

const SM: Msg = Msg::Sig(Signal::ShutdownMicroprocess);

struct Rig {
    sys: System,
    c: ComponentRef,
    made: mpsc::Receiver<(u32, Mock)>,
    next: Outbox<u32>,
    requests: Inbox<NextRequest>,
    inbox: Outbox<u32>,
    control: Outbox<Signal>,
    out: Inbox<u32>,
    signal: Inbox<Signal>,
}

/// A carousel whose factory makes a mock for each `next` and hands it to the test.
fn rig(first_request: bool) -> Rig {
    rig_with(first_request, true)
}

fn rig_with(first_request: bool, interrupt: bool) -> Rig {
    let (tx, made) = mpsc::channel();
    let carousel = Carousel::<u32, u32, u32>::new(move |arg| {
        let (p, m) = mock("child");
        tx.send((arg, m)).unwrap();
        p
    })
    .make_first_request(first_request)
    .interrupt_on_next(interrupt)
    .build();
    let sys = System::builder().threads(1).build();
    let c = carousel.spawn(&sys);
    Rig {
        next: feed(&c.inbox("next").unwrap()),
        requests: collect(&c.outbox("requestNext").unwrap()),
        inbox: feed(&c.inbox("inbox").unwrap()),
        control: feed(&c.inbox("control").unwrap()),
        out: collect(&c.outbox("outbox").unwrap()),
        signal: collect(&c.outbox("signal").unwrap()),
        sys,
        c,
        made,
    }
}

/// Carousel.py `instantiateNewChild`: a message on "next" makes a child with
/// the factory and wires inbox in and outbox out. The child's own signal is
/// ignored (it is not linked in the reference); its end makes the carousel
/// request the next one (`main`, after the second state).
#[test]
fn next_makes_a_wired_child_and_its_end_requests_another() {
    let _watchdog = watchdog("next_makes_a_wired_child_and_its_end_requests_another");
    let mut r = rig(false);
    let running = r.sys.start();
    r.next.try_send(7).unwrap();
    let (arg, mut m) = r.made.recv().unwrap();
    assert_eq!(arg, 7);
    r.inbox.try_send(3).unwrap();
    assert_eq!(m.next_seen(), ("inbox", Msg::Data(3)));
    m.send(Msg::Data(4));
    assert_eq!(r.out.recv_blocking(), Ok(4));
    // Saying "finished" is not ending: it is neither unplugged nor told anything.
    m.send(Msg::Sig(Signal::ProducerFinished));
    m.send(Msg::Data(5));
    assert_eq!(r.out.recv_blocking(), Ok(5));
    m.stop_now();
    assert_eq!(r.requests.recv_blocking(), Ok(NextRequest));
    assert_eq!(m.rest(), [], "the child was told nothing");
    assert_eq!(drain(&mut r.signal), [], "the child's signal is not passed on");
    drop(r.next); // no more children: the carousel finishes
    assert_eq!(r.c.join(), Ok(Outcome::Finished));
    assert_eq!(drain(&mut r.signal), [Signal::ProducerFinished]);
    assert_eq!(drain(&mut r.requests), [], "one request per ended child");
    running.wait();
}

/// Carousel.py docs: new orders on "next" while a child runs make the
/// carousel ask that child to terminate; as soon as it has, the new child is
/// made and wired in its place. The old child stays wired until it ends, and
/// its end requests nothing (an argument is already waiting).
#[test]
fn next_while_a_child_runs_waits_for_it_to_end() {
    let _watchdog = watchdog("next_while_a_child_runs_waits_for_it_to_end");
    let mut r = rig(false);
    let running = r.sys.start();
    r.next.try_send(1).unwrap();
    let (_, mut m1) = r.made.recv().unwrap();
    r.next.try_send(2).unwrap();
    assert_eq!(m1.next_seen(), ("control", SM));
    // Still the current child until it ends: no second child yet, and the
    // carousel's inbox still reaches the first.
    assert!(
        r.made.try_recv().is_err(),
        "the next child started before the first ended"
    );
    r.inbox.try_send(5).unwrap();
    assert_eq!(m1.next_seen(), ("inbox", Msg::Data(5)));
    m1.stop_now();
    let (arg, mut m2) = r.made.recv().unwrap();
    assert_eq!(arg, 2);
    // Its outbox coming out proves the new child is wired in (inbox first).
    m2.send(Msg::Data(6));
    assert_eq!(r.out.recv_blocking(), Ok(6));
    r.inbox.try_send(8).unwrap();
    assert_eq!(m2.next_seen(), ("inbox", Msg::Data(8)));
    assert_eq!(m1.rest(), [], "the old child got nothing more");
    m2.stop_now();
    assert_eq!(r.requests.recv_blocking(), Ok(NextRequest));
    drop(r.next);
    assert_eq!(r.c.join(), Ok(Outcome::Finished));
    assert_eq!(
        drain(&mut r.requests),
        [],
        "the first child's end requested nothing"
    );
    running.wait();
}

/// `interrupt_on_next(false)`: a queued "next" waits for the running child to
/// end on its own; the child is told nothing.
#[test]
fn without_interrupting_a_queued_next_waits_for_the_child_to_finish() {
    let _watchdog = watchdog("without_interrupting_a_queued_next_waits_for_the_child_to_finish");
    let mut r = rig_with(false, false);
    let running = r.sys.start();
    r.next.try_send(1).unwrap();
    let (_, mut m1) = r.made.recv().unwrap();
    r.next.try_send(2).unwrap();
    r.next.try_send(3).unwrap();
    m1.send(Msg::Data(10));
    assert_eq!(r.out.recv_blocking(), Ok(10));
    assert!(
        r.made.try_recv().is_err(),
        "the next child started before the first ended"
    );
    m1.stop_now();
    assert_eq!(m1.rest(), [], "the running child was not asked to stop");
    let (arg, mut m2) = r.made.recv().unwrap();
    assert_eq!(arg, 2);
    m2.stop_now();
    let (arg, mut m3) = r.made.recv().unwrap();
    assert_eq!(arg, 3);
    m3.stop_now();
    assert_eq!(r.requests.recv_blocking(), Ok(NextRequest));
    drop(r.next);
    assert_eq!(r.c.join(), Ok(Outcome::Finished));
    assert_eq!(m2.rest(), []);
    assert_eq!(m3.rest(), []);
    assert_eq!(
        drain(&mut r.requests),
        [],
        "only the last child's end requested more"
    );
    running.wait();
}

/// Carousel.py docs: on producerFinished it first serves the pending "next"
/// messages (each as above), then passes producerFinished to the last child;
/// once that child has ended it sends producerFinished out of "signal" and
/// ends. Nothing more is requested.
#[test]
fn producer_finished_serves_queued_requests_first() {
    let _watchdog = watchdog("producer_finished_serves_queued_requests_first");
    let mut r = rig(false);
    let running = r.sys.start();
    r.next.try_send(1).unwrap();
    let (_, mut m1) = r.made.recv().unwrap();
    r.next.try_send(2).unwrap();
    r.next.try_send(3).unwrap();
    r.control.try_send(Signal::ProducerFinished).unwrap();
    assert_eq!(m1.next_seen(), ("control", SM), "asked to make way for the queue");
    m1.stop_now();
    let (arg, mut m2) = r.made.recv().unwrap();
    assert_eq!(arg, 2);
    assert_eq!(m2.next_seen(), ("control", SM), "asked to make way for the queue");
    m2.stop_now();
    let (arg, mut m3) = r.made.recv().unwrap();
    assert_eq!(arg, 3);
    assert_eq!(
        m3.next_seen(),
        ("control", Msg::Sig(Signal::ProducerFinished)),
        "the last child is passed the producerFinished"
    );
    assert!(!r.c.is_finished(), "it waits for the last child to end");
    m3.stop_now();
    assert_eq!(r.c.join(), Ok(Outcome::Finished));
    assert_eq!(drain(&mut r.signal), [Signal::ProducerFinished]);
    assert_eq!(drain(&mut r.requests), []);
    assert!(r.c.children().is_empty());
    running.wait();
}

/// Carousel.py docs: on shutdownMicroprocess it passes the message to the
/// child at once; once the child has terminated it sends the message out of
/// "signal" and ends. Queued "next" messages are not served.
#[test]
fn shutdown_passes_on_and_drops_queued_requests() {
    let _watchdog = watchdog("shutdown_passes_on_and_drops_queued_requests");
    // Not interrupting on `next`, so the only shutdown the child sees is the
    // carousel's own.
    let mut r = rig_with(false, false);
    let running = r.sys.start();
    r.next.try_send(1).unwrap();
    let (_, mut m1) = r.made.recv().unwrap();
    r.next.try_send(2).unwrap();
    r.control.try_send(Signal::ShutdownMicroprocess).unwrap();
    assert_eq!(m1.next_seen(), ("control", SM));
    assert!(!r.c.is_finished(), "it waits for the child to end");
    m1.stop_now();
    assert_eq!(r.c.join(), Ok(Outcome::Finished));
    assert_eq!(drain(&mut r.signal), [Signal::ShutdownMicroprocess]);
    assert!(r.made.try_recv().is_err(), "the queued request was not served");
    assert_eq!(drain(&mut r.requests), []);
    assert!(r.c.children().is_empty());
    running.wait();
}

/// Carousel.py docs: with no child at the time, either request ends it at once.
#[test]
fn a_shutdown_or_producer_finished_with_no_child_ends_at_once() {
    let _watchdog = watchdog("a_shutdown_or_producer_finished_with_no_child_ends_at_once");
    for sig in [Signal::ShutdownMicroprocess, Signal::ProducerFinished] {
        let mut r = rig(false);
        let running = r.sys.start();
        r.control.try_send(sig.clone()).unwrap();
        assert_eq!(r.c.join(), Ok(Outcome::Finished));
        assert_eq!(drain(&mut r.signal), [sig]);
        assert!(r.made.try_recv().is_err());
        running.wait();
    }
}

/// A child with no `control` inbox cannot be told: a shutdown stops it
/// (a Rust addition; the reference's children all had one).
#[test]
fn a_shutdown_stops_a_child_that_has_no_control_inbox() {
    let _watchdog = watchdog("a_shutdown_stops_a_child_that_has_no_control_inbox");
    /// Sets its flag when dropped: the child's body has gone.
    struct Gone(Arc<AtomicBool>);
    impl Drop for Gone {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let gone = Arc::new(AtomicBool::new(false));
    let (made_tx, made) = mpsc::channel();
    let flag = gone.clone();
    let carousel = Carousel::<u32, u32, u32>::new(move |_| {
        made_tx.send(()).unwrap();
        let guard = Gone(flag.clone());
        Prefab::new(
            Component::bare("deaf").outbox::<u32>("outbox"),
            move |cx| async move {
                let _guard = guard;
                // Deaf to everything but a stop.
                while !cx.stop_requested() {
                    cx.pause().await;
                }
            },
        )
    })
    .build();
    let sys = System::builder().threads(1).build();
    let c = carousel.spawn(&sys);
    let mut next = feed(&c.inbox::<u32>("next").unwrap());
    let mut control = feed(&c.inbox::<Signal>("control").unwrap());
    let mut signal = collect(&c.outbox::<Signal>("signal").unwrap());
    let running = sys.start();
    next.try_send(1).unwrap();
    // The factory has run: the child is current before control is read again.
    made.recv().unwrap();
    control.try_send(Signal::ShutdownMicroprocess).unwrap();
    assert_eq!(c.join(), Ok(Outcome::Finished));
    assert!(gone.load(Ordering::SeqCst), "the child was not stopped");
    assert_eq!(drain(&mut signal), [Signal::ShutdownMicroprocess]);
    drop(next);
    running.wait();
}

/// Carousel.py `make1stRequest`: ask for the first child at once.
#[test]
fn make_first_request_asks_at_start() {
    let _watchdog = watchdog("make_first_request_asks_at_start");
    let mut r = rig(true);
    let running = r.sys.start();
    assert_eq!(r.requests.recv_blocking(), Ok(NextRequest));
    drop(r.next);
    assert_eq!(r.c.join(), Ok(Outcome::Finished));
    running.wait();
}

/// A child that simply ends (no signal) also gets a successor requested.
#[test]
fn a_child_ending_requests_the_next() {
    let _watchdog = watchdog("a_child_ending_requests_the_next");
    let carousel = Carousel::<u32, u32, u32>::new(|n| common::source("burst", (0..n).collect())).build();
    let sys = System::builder().threads(1).build();
    let c = carousel.spawn(&sys);
    let mut next = feed(&c.inbox::<u32>("next").unwrap());
    let mut requests = collect(&c.outbox::<NextRequest>("requestNext").unwrap());
    let mut out = collect(&c.outbox::<u32>("outbox").unwrap());
    let running = sys.start();
    next.try_send(2).unwrap();
    assert_eq!(requests.recv_blocking(), Ok(NextRequest));
    next.try_send(3).unwrap();
    assert_eq!(requests.recv_blocking(), Ok(NextRequest));
    drop(next);
    assert_eq!(c.join(), Ok(Outcome::Finished));
    running.wait();
    assert_eq!(drain(&mut out), [0, 1, 0, 1, 2]);
}

#[test]
fn a_child_of_the_wrong_types_fails_the_carousel() {
    let _watchdog = watchdog("a_child_of_the_wrong_types_fails_the_carousel");
    let carousel = Carousel::<u32, u32, u32>::new(|_| map("text", |s: String| s)).build();
    let sys = System::builder().threads(1).build();
    let c = carousel.spawn(&sys);
    let mut next = feed(&c.inbox::<u32>("next").unwrap());
    next.try_send(1).unwrap();
    sys.run();
    match c.outcome() {
        Some(Outcome::Failed(msg)) => assert!(
            msg.to_string().contains("Carousel.inbox") && msg.to_string().contains("text.inbox"),
            "{msg}"
        ),
        other => panic!("expected a failure, got {other:?}"),
    }
}
