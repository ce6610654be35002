//! Seq tests. The reference has no test file for `Kamaelia/Chassis/Seq.py`;
//! these check the behaviour its source and docs describe.

mod common;

use axon::{Component, Outcome, Prefab, Signal, System};
use common::{collect, drain, feed, map, mock, source, Msg};
use kamaelia::chassis::{ChassisError, Seq};

/// Seq.py: children run one at a time, in order, each given the Seq's inbox and
/// outbox; a child's signal is not passed on; producerFinished at the end.
#[test]
fn children_run_in_turn_with_the_seqs_boxes() {
    let (p1, mut m1) = mock("first");
    let (p2, mut m2) = mock("second");
    let sys = System::builder().threads(1).build();
    let s = Seq::new().then(p1).then(p2).build().spawn(&sys);
    let mut inbox = feed(&s.inbox::<u32>("inbox").unwrap());
    let mut out = collect(&s.outbox::<u32>("outbox").unwrap());
    let mut signal = collect(&s.outbox::<Signal>("signal").unwrap());
    let running = sys.start();
    inbox.try_send(1).unwrap();
    assert_eq!(m1.next_seen(), ("inbox", Msg::Data(1)));
    assert!(!m2.was_activated(), "the second waits for the first");
    m1.send(Msg::Data(10));
    assert_eq!(out.recv_blocking(), Ok(10));
    m1.send(Msg::Sig(Signal::ProducerFinished));
    m1.stop_now();
    while m1.seen.recv_blocking().is_ok() {}
    // The second child now has the boxes.
    m2.send(Msg::Data(20));
    assert_eq!(out.recv_blocking(), Ok(20));
    inbox.try_send(2).unwrap();
    assert_eq!(m2.next_seen(), ("inbox", Msg::Data(2)));
    assert_eq!(
        drain(&mut signal),
        [],
        "the first child's signal was not passed on"
    );
    m2.stop_now();
    assert_eq!(s.join(), Ok(Outcome::Finished));
    running.wait();
    assert_eq!(drain(&mut signal), [Signal::ProducerFinished]);
}

#[test]
fn input_closure_reaches_each_child_in_turn() {
    let sys = System::builder().threads(1).build();
    let s = Seq::new()
        .say("(a line printed when its turn comes)")
        .then(map("double", |x: u32| x * 2))
        .then(source("tail", vec![100u32]))
        .build()
        .spawn(&sys);
    let mut inbox = feed(&s.inbox::<u32>("inbox").unwrap());
    let mut out = collect(&s.outbox::<u32>("outbox").unwrap());
    for i in 1..=3 {
        inbox.try_send(i).unwrap();
    }
    drop(inbox);
    sys.run();
    assert_eq!(drain(&mut out), [2, 4, 6, 100]);
}

#[test]
fn children_must_agree_on_types() {
    let err = Seq::new()
        .then(source("numbers", vec![1u32]))
        .then(source("words", vec!["one".to_string()]))
        .check()
        .unwrap_err();
    assert!(
        matches!(err, ChassisError::TypeMismatch { ref source_box, ref sink, .. }
        if source_box == "child 0 (numbers).outbox" && sink == "child 1 (words).outbox"),
        "{err}"
    );
}

#[test]
fn empty_seq_just_finishes() {
    let sys = System::builder().threads(1).build();
    let s = Seq::new().build().spawn(&sys);
    let mut signal = collect(&s.outbox::<Signal>("signal").unwrap());
    sys.run();
    assert_eq!(s.outcome(), Some(Outcome::Finished));
    assert_eq!(drain(&mut signal), [Signal::ProducerFinished]);
    let _ = Prefab::new(Component::new("unused"), |_cx| async {});
}

#[test]
fn each_child_in_turn_sees_the_closed_input_on_two_workers() {
    // The input is closed before the Seq runs; each child, linked in turn to
    // the Seq's inbox, must see the rest of the input and then its end.
    for _ in 0..100 {
        let sys = System::builder().threads(2).build();
        let s = Seq::new()
            .then(map("first", |x: u32| x))
            .then(map("second", |x: u32| x + 100))
            .build()
            .spawn(&sys);
        let mut inbox = feed(&s.inbox::<u32>("inbox").unwrap());
        let mut out = collect(&s.outbox::<u32>("outbox").unwrap());
        for i in 0..5 {
            inbox.try_send(i).unwrap();
        }
        drop(inbox);
        sys.run();
        // The first child takes everything; the second sees a closed input.
        assert_eq!(drain(&mut out), [0, 1, 2, 3, 4]);
        assert_eq!(s.outcome(), Some(Outcome::Finished));
    }
}
