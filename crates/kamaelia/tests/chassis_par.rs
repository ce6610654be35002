//! Par tests. The reference has no test file for `PAR`; these check the
//! behaviour its source describes (and the two documented differences).

mod common;

use axon::{Outcome, Signal, System};
use common::{collect, drain, feed, mock, source, Msg};
use kamaelia::chassis::{ChassisError, Par};

/// PAR: every child's outbox comes out of the Par's outbox.
#[test]
fn outputs_are_fanned_in() {
    let sys = System::builder().threads(1).build();
    let p = Par::new()
        .with(source("a", vec![1u32, 2]))
        .with(source("b", vec![10u32, 20]))
        .with(source("c", vec![100u32]))
        .build()
        .spawn(&sys);
    let mut out = collect(&p.outbox::<u32>("outbox").unwrap());
    let mut signal = collect(&p.outbox::<Signal>("signal").unwrap());
    sys.run();
    let mut got = drain(&mut out);
    got.sort();
    assert_eq!(got, [1, 2, 10, 20, 100]);
    assert_eq!(drain(&mut signal), [Signal::ProducerFinished]);
}

/// PAR: control is copied to every child; the shutdown seen goes out of
/// signal once every child has ended; child signals are not passed on.
#[test]
fn control_copied_to_all_children_and_shutdown_passed_on_at_the_end() {
    let (pa, mut a) = mock("a");
    let (pb, mut b) = mock("b");
    let sys = System::builder().threads(1).build();
    let p = Par::new().with(pa).with(pb).build().spawn(&sys);
    let mut control = feed(&p.inbox::<Signal>("control").unwrap());
    let mut signal = collect(&p.outbox::<Signal>("signal").unwrap());
    let running = sys.start();
    a.send(Msg::Sig(Signal::ProducerFinished));
    control.try_send(Signal::ShutdownMicroprocess).unwrap();
    assert_eq!(a.next_seen(), ("control", Msg::Sig(Signal::ShutdownMicroprocess)));
    assert_eq!(b.next_seen(), ("control", Msg::Sig(Signal::ShutdownMicroprocess)));
    assert!(!p.is_finished(), "waits for its children");
    a.stop_now();
    b.stop_now();
    assert_eq!(p.join(), Ok(Outcome::Finished));
    running.wait();
    assert_eq!(drain(&mut signal), [Signal::ShutdownMicroprocess]);
}

#[test]
fn children_must_agree_on_the_outbox_type() {
    let err = Par::new()
        .with(source("n", vec![1u32]))
        .with(source("s", vec![String::new()]))
        .check()
        .unwrap_err();
    assert!(matches!(err, ChassisError::TypeMismatch { .. }), "{err}");
}
