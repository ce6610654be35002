//! Carousel tests. The reference's `Test/Chassis/test_Carousel.py` holds no
//! tests ("need writing!"), so these check the behaviour its source and docs
//! describe (`Kamaelia/Chassis/Carousel.py`), each named in a comment.

mod common;

use std::sync::mpsc;

use axon::{ComponentRef, Inbox, Outbox, Outcome, Signal, System};
use common::{collect, drain, feed, map, mock, Mock, Msg};
use kamaelia::chassis::{Carousel, NextRequest};

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
    let (tx, made) = mpsc::channel();
    let carousel = Carousel::<u32, u32, u32>::new(move |arg| {
        let (p, m) = mock("child");
        tx.send((arg, m)).unwrap();
        p
    })
    .make_first_request(first_request)
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

/// Carousel.py `handleNewChild`: a message on "next" makes a child with the
/// factory and wires inbox in and outbox out.
/// Carousel.py `handleFinishedChild`: the child's producerFinished makes it
/// request the next one and unplug the child (telling it to shut down).
#[test]
fn next_makes_a_wired_child_and_its_finish_requests_another() {
    let mut r = rig(false);
    let running = r.sys.start();
    r.next.try_send(7).unwrap();
    let (arg, mut m) = r.made.recv().unwrap();
    assert_eq!(arg, 7);
    r.inbox.try_send(3).unwrap();
    assert_eq!(m.next_seen(), ("inbox", Msg::Data(3)));
    m.send(Msg::Data(4));
    assert_eq!(r.out.recv_blocking(), Ok(4));
    m.send(Msg::Sig(Signal::ProducerFinished));
    assert_eq!(r.requests.recv_blocking(), Ok(NextRequest));
    assert_eq!(m.next_seen(), ("control", SM));
    // The child's own signal is not passed on.
    assert_eq!(drain(&mut r.signal), []);
    drop(r.next); // no more children: the carousel finishes
    assert_eq!(r.c.join(), Ok(Outcome::Finished));
    assert_eq!(drain(&mut r.signal), [Signal::ProducerFinished]);
    m.stop_now();
    running.wait();
}

/// Carousel.py docs: a new "next" while a child runs replaces it; the old
/// child is told to shut down and no longer receives.
#[test]
fn next_replaces_the_running_child() {
    let mut r = rig(false);
    let running = r.sys.start();
    r.next.try_send(1).unwrap();
    let (_, mut m1) = r.made.recv().unwrap();
    r.next.try_send(2).unwrap();
    let (_, mut m2) = r.made.recv().unwrap();
    assert_eq!(m1.next_seen(), ("control", SM));
    // Its outbox coming out proves the new child is wired in (inbox first).
    m2.send(Msg::Data(6));
    assert_eq!(r.out.recv_blocking(), Ok(6));
    r.inbox.try_send(5).unwrap();
    assert_eq!(m2.next_seen(), ("inbox", Msg::Data(5)));
    m1.stop_now();
    assert_eq!(m1.rest(), [], "the old child got nothing more");
    // Carousel.py `shutdown`: a shutdown on control goes out of signal and
    // the current child is told to stop too.
    r.control.try_send(Signal::ShutdownMicroprocess).unwrap();
    assert_eq!(m2.next_seen(), ("control", SM));
    assert_eq!(r.c.join(), Ok(Outcome::Finished));
    assert!(r.c.children().is_empty());
    assert_eq!(drain(&mut r.signal), [Signal::ShutdownMicroprocess]);
    m2.stop_now();
    running.wait();
}

/// Carousel.py `make1stRequest`: ask for the first child at once.
#[test]
fn make_first_request_asks_at_start() {
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
