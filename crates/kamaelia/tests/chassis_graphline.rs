//! Graphline tests: ports of the reference `Tests/Python/Kamaelia/Chassis/test_Graphline.py`
//! (each named in a comment; where the reference linked boxes of different
//! kinds, e.g. an outbox of data into a `control` inbox, the port pairs boxes of
//! one type, since Rust boxes are typed), plus error cases, the macro, nesting
//! and a feedback loop (a cycle). No timing: waits are on messages and ends.

mod common;

use axon::{Component, ComponentRef, Outcome, Prefab, Signal, System};
use common::{collect, drain, feed, map, mock, Mock, Msg};
use kamaelia::chassis::{ChassisError, Graphline, SELF};
use kamaelia::{graphline, pipeline};

/// A linkage as the tests write it: `(from, to)`.
type Link<'a> = ((&'a str, &'a str), (&'a str, &'a str));

const PF: Msg = Msg::Sig(Signal::ProducerFinished);
const SM: Msg = Msg::Sig(Signal::ShutdownMicroprocess);

/// Three mocks A, B, C (or more) and a Graphline of them with `links`.
fn setup(names: &[&'static str], links: &[Link]) -> (System, ComponentRef, Vec<Mock>) {
    let mut g = Graphline::new();
    let mut ms = Vec::new();
    for n in names {
        let (p, m) = mock(n);
        g = g.child(*n, p);
        ms.push(m);
    }
    for (from, to) in links {
        g = g.link(*from, *to);
    }
    g.check().unwrap();
    let sys = System::builder().threads(1).build();
    let g = g.build().spawn(&sys);
    (sys, g, ms)
}

/// Stop every mock, wait for the Graphline to end, and check nothing arrived
/// anywhere that the test did not take.
fn stop_all(g: &ComponentRef, ms: &mut [Mock]) {
    for m in ms.iter_mut() {
        m.stop_now();
    }
    assert_eq!(g.join(), Ok(Outcome::Finished));
    for (i, m) in ms.iter_mut().enumerate() {
        assert_eq!(m.rest(), [], "mock {i} saw something unexpected");
    }
}

/// Reference: test_smokeTest, test_graphlineNoLinkagesArg. A missing linkages
/// argument cannot happen with the builder; the nearest case, no children and
/// no linkages, is valid (test_graphlineNoComponentsEmptyLinkagesArg) and ends
/// at once, saying ProducerFinished.
#[test]
fn no_children_no_linkages() {
    assert!(Graphline::new().check().is_ok());
    let sys = System::builder().threads(1).build();
    let g = Graphline::new().build().spawn(&sys);
    let mut signal = collect(&g.outbox::<Signal>("signal").unwrap());
    sys.run();
    assert_eq!(g.outcome(), Some(Outcome::Finished));
    assert_eq!(drain(&mut signal), [Signal::ProducerFinished]);
}

/// Reference: test_graphlineEmptyLinkagesArg.
#[test]
fn children_and_empty_linkages() {
    let (a, _ma) = mock("A");
    let (b, _mb) = mock("B");
    assert!(Graphline::new().child("A", a).child("B", b).try_build().is_ok());
}

/// Reference: test_graphlineHasChildren and test_unactivatedGraphlineHasNoChildren.
#[test]
fn children_only_once_activated() {
    let (sys, g, mut ms) = setup(&["A", "B"], &[]);
    assert_eq!(g.children(), [], "not run yet: no children");
    let running = sys.start();
    ms[0].send(Msg::Data(1)); // unlinked: held in A's outbox; proves A runs
    while !ms.iter().all(Mock::was_activated) {
        std::thread::yield_now();
    }
    let names: Vec<String> = g.children().iter().map(|c| c.name().to_string()).collect();
    assert_eq!(names, ["A", "B"]);
    stop_all(&g, &mut ms);
    running.wait();
}

/// Reference: test_activatesChildrenOnlyWhenActivatedNotLinked and
/// test_activatesChildrenOnlyWhenActivatedLinked (a cycle A->B->C->A).
#[test]
fn activates_children_only_when_activated() {
    for links in [
        vec![],
        vec![
            (("A", "outbox"), ("B", "inbox")),
            (("B", "outbox"), ("C", "inbox")),
            (("C", "outbox"), ("A", "inbox")),
        ],
    ] {
        let (sys, g, mut ms) = setup(&["A", "B", "C"], &links);
        assert!(ms.iter().all(|m| !m.was_activated()));
        for m in &mut ms {
            m.stop_now();
        }
        sys.run();
        assert!(ms.iter().all(Mock::was_activated));
        assert_eq!(g.outcome(), Some(Outcome::Finished));
    }
}

/// Reference: test_linkagesBetweenComponents.
#[test]
fn linkage_between_children() {
    let (sys, g, mut ms) = setup(&["A", "B"], &[(("A", "outbox"), ("B", "inbox"))]);
    let running = sys.start();
    ms[0].send(Msg::Data(5));
    assert_eq!(ms[1].next_seen(), ("inbox", Msg::Data(5)));
    stop_all(&g, &mut ms);
    running.wait();
}

/// Reference: test_severalLinkagesBetweenComponents (data to data, signals to
/// controls).
#[test]
fn several_linkages_between_children() {
    let (sys, g, mut ms) = setup(
        &["A", "B", "C", "D"],
        &[
            (("A", "outbox"), ("B", "inbox")),
            (("C", "outbox"), ("D", "inbox")),
            (("C", "signal"), ("A", "control")),
            (("B", "signal"), ("D", "control")),
        ],
    );
    let running = sys.start();
    ms[0].send(Msg::Data(1));
    assert_eq!(ms[1].next_seen(), ("inbox", Msg::Data(1)));
    ms[2].send(Msg::Data(2));
    assert_eq!(ms[3].next_seen(), ("inbox", Msg::Data(2)));
    ms[2].send(SM);
    assert_eq!(ms[0].next_seen(), ("control", SM));
    ms[1].send(PF);
    assert_eq!(ms[3].next_seen(), ("control", PF));
    stop_all(&g, &mut ms);
    running.wait();
}

/// Reference: test_terminateWhenAllChildrenHaveTerminated.
#[test]
fn terminates_when_all_children_have_terminated() {
    let (sys, g, mut ms) = setup(&["A", "B", "C"], &[(("A", "outbox"), ("B", "inbox"))]);
    let running = sys.start();
    for m in ms.iter_mut() {
        assert!(!g.is_finished());
        m.stop_now();
        while m.seen.recv_blocking().is_ok() {}
    }
    assert_eq!(g.join(), Ok(Outcome::Finished));
    running.wait();
}

/// Reference: test_specifyingPassthruInLinkage and
/// test_specifyingPassthruInLinkageNewBox: a linkage from ("self", X) passes the
/// Graphline's inbox X (created if new, with the child's type) through.
#[test]
fn passthrough_in_linkages() {
    for (in1, in2) in [("inbox", "control"), ("novel-inbox", "another-novel-inbox")] {
        let (sys, g, mut ms) = setup(
            &["A", "B", "C"],
            &[
                ((SELF, in1), ("A", "control")),
                ((SELF, in2), ("B", "inbox")),
                (("C", "outbox"), ("A", "inbox")),
            ],
        );
        let mut to_a = feed(&g.inbox::<Signal>(in1).unwrap());
        let mut to_b = feed(&g.inbox::<u32>(in2).unwrap());
        let running = sys.start();
        to_a.try_send(Signal::ShutdownMicroprocess).unwrap();
        assert_eq!(ms[0].next_seen(), ("control", SM));
        to_b.try_send(3).unwrap();
        assert_eq!(ms[1].next_seen(), ("inbox", Msg::Data(3)));
        stop_all(&g, &mut ms);
        running.wait();
    }
}

/// Reference: test_specifyingPassthruOutLinkage and
/// test_specifyingPassthruOutLinkageNewBox: a linkage to ("self", X) brings the
/// child's outbox out of the Graphline's outbox X.
#[test]
fn passthrough_out_linkages() {
    for (out1, out2) in [("signal", "outbox"), ("novel-boxname", "another-novel-boxname")] {
        let (sys, g, mut ms) = setup(
            &["A", "B", "C"],
            &[
                (("A", "outbox"), (SELF, out1)),
                (("B", "signal"), (SELF, out2)),
                (("C", "outbox"), ("A", "inbox")),
            ],
        );
        let mut from_a = collect(&g.outbox::<u32>(out1).unwrap());
        let mut from_b = collect(&g.outbox::<Signal>(out2).unwrap());
        let running = sys.start();
        ms[0].send(Msg::Data(8));
        assert_eq!(from_a.recv_blocking(), Ok(8));
        ms[1].send(PF);
        assert_eq!(from_b.recv_blocking(), Ok(Signal::ProducerFinished));
        stop_all(&g, &mut ms);
        running.wait();
    }
}

#[test]
fn only_self_names_the_graphline() {
    // The reference took any unknown name ("", "flurble", ...) as the Graphline
    // itself; here only "self" does and the rest are errors.
    for name in ["", "flurble", "pig"] {
        let (a, _m) = mock("A");
        let err = Graphline::new()
            .child("A", a)
            .link((name, "inbox"), ("A", "inbox"))
            .check()
            .unwrap_err();
        assert!(
            matches!(err, ChassisError::UnknownChild { name: ref n, .. } if n == name),
            "{err}"
        );
    }
}

/// Reference: test_emissionOfShutdownSignal_1.
#[test]
fn emits_producer_finished_when_signal_unlinked() {
    let (sys, g, mut ms) = setup(&["A", "B", "C"], &[(("A", "outbox"), ("B", "inbox"))]);
    let mut signal = collect(&g.outbox::<Signal>("signal").unwrap());
    let running = sys.start();
    ms[0].send(Msg::Data(1));
    assert_eq!(ms[1].next_seen(), ("inbox", Msg::Data(1)));
    assert_eq!(drain(&mut signal), [], "nothing emitted while children run");
    stop_all(&g, &mut ms);
    running.wait();
    assert_eq!(drain(&mut signal), [Signal::ProducerFinished]);
}

/// Reference: test_emissionOfShutdownSignal_2 and test_receivesShutdownAndPropagates.
#[test]
fn emits_the_shutdown_it_received_when_control_and_signal_unlinked() {
    let (sys, g, mut ms) = setup(&["A", "B", "C"], &[(("A", "signal"), ("B", "control"))]);
    let mut control = feed(&g.inbox::<Signal>("control").unwrap());
    let mut signal = collect(&g.outbox::<Signal>("signal").unwrap());
    let running = sys.start();
    control.try_send(Signal::ShutdownMicroprocess).unwrap();
    assert_eq!(ms[0].next_seen(), ("control", SM));
    assert_eq!(ms[2].next_seen(), ("control", SM));
    assert!(
        !g.is_finished(),
        "children still run: the Graphline waits for them"
    );
    assert_eq!(drain(&mut signal), []);
    stop_all(&g, &mut ms);
    running.wait();
    assert_eq!(drain(&mut signal), [Signal::ShutdownMicroprocess]);
}

/// Reference: test_receivesShutdownAndPropagates2.
#[test]
fn emits_producer_finished_after_other_control_messages() {
    let (sys, g, mut ms) = setup(&["A", "B", "C"], &[(("A", "signal"), ("B", "control"))]);
    let mut control = feed(&g.inbox::<Signal>("control").unwrap());
    let mut signal = collect(&g.outbox::<Signal>("signal").unwrap());
    let running = sys.start();
    control.try_send(Signal::ProducerFinished).unwrap();
    assert_eq!(ms[0].next_seen(), ("control", PF));
    assert_eq!(ms[2].next_seen(), ("control", PF));
    stop_all(&g, &mut ms);
    running.wait();
    assert_eq!(drain(&mut signal), [Signal::ProducerFinished]);
}

/// Reference: test_receivesShutdownAndPropagates23.
#[test]
fn emits_producer_finished_when_control_is_linked() {
    for msg in [Signal::ProducerFinished, Signal::ShutdownMicroprocess] {
        let (sys, g, mut ms) = setup(
            &["A", "B", "C"],
            &[
                ((SELF, "control"), ("A", "control")),
                (("A", "signal"), ("B", "control")),
            ],
        );
        let mut control = feed(&g.inbox::<Signal>("control").unwrap());
        let mut signal = collect(&g.outbox::<Signal>("signal").unwrap());
        let running = sys.start();
        control.try_send(msg.clone()).unwrap();
        assert_eq!(ms[0].next_seen(), ("control", Msg::Sig(msg)));
        stop_all(&g, &mut ms);
        running.wait();
        assert_eq!(drain(&mut signal), [Signal::ProducerFinished]);
    }
}

/// Reference: test_receivesShutdownPassesThru.
#[test]
fn linked_control_flows_only_along_its_linkage() {
    let (sys, g, mut ms) = setup(&["A", "B", "C"], &[((SELF, "control"), ("A", "control"))]);
    let mut control = feed(&g.inbox::<Signal>("control").unwrap());
    let running = sys.start();
    control.try_send(Signal::ShutdownMicroprocess).unwrap();
    assert_eq!(ms[0].next_seen(), ("control", SM));
    stop_all(&g, &mut ms); // B and C saw nothing
    running.wait();
}

/// Reference: test_receivesShutdownDisseminated: control copied to children
/// whose control no linkage feeds (A and C), not to B.
#[test]
fn unlinked_control_is_copied_to_children_with_unfed_control() {
    let (sys, g, mut ms) = setup(&["A", "B", "C"], &[(("A", "signal"), ("B", "control"))]);
    let mut control = feed(&g.inbox::<Signal>("control").unwrap());
    let running = sys.start();
    control.try_send(Signal::ShutdownMicroprocess).unwrap();
    assert_eq!(ms[0].next_seen(), ("control", SM));
    assert_eq!(ms[2].next_seen(), ("control", SM));
    stop_all(&g, &mut ms); // checks B saw nothing
    running.wait();
}

/// Reference: test_doesNotPropagateShutdownMsg.
#[test]
fn linked_signal_gets_no_message_of_the_graphlines_own() {
    let (sys, g, mut ms) = setup(
        &["A", "B", "C"],
        &[
            (("A", "signal"), (SELF, "signal")),
            (("A", "outbox"), ("B", "inbox")),
        ],
    );
    let mut control = feed(&g.inbox::<Signal>("control").unwrap());
    let mut signal = collect(&g.outbox::<Signal>("signal").unwrap());
    let running = sys.start();
    control.try_send(Signal::ProducerFinished).unwrap();
    control.try_send(Signal::ShutdownMicroprocess).unwrap();
    for m in &mut ms {
        assert_eq!(m.next_seen(), ("control", PF));
        assert_eq!(m.next_seen(), ("control", SM));
    }
    assert_eq!(drain(&mut signal), []);
    stop_all(&g, &mut ms);
    running.wait();
    assert_eq!(drain(&mut signal), []);
}

/// Reference: test_manuallyImplementedShutdownOverrides.
#[test]
fn linked_control_and_signal_override_the_shutdown_rules() {
    let (sys, g, mut ms) = setup(
        &["A", "B", "C"],
        &[
            ((SELF, "control"), ("A", "control")),
            (("A", "signal"), (SELF, "signal")),
            (("B", "outbox"), ("C", "inbox")),
        ],
    );
    // No linkage names ("self", "outbox"), so it does not exist (the reference's
    // Graphline always had one, and nothing came out of it).
    assert!(g.outbox::<u32>("outbox").is_err());
    let mut control = feed(&g.inbox::<Signal>("control").unwrap());
    let mut signal = collect(&g.outbox::<Signal>("signal").unwrap());
    let running = sys.start();
    control.try_send(Signal::ShutdownMicroprocess).unwrap();
    assert_eq!(ms[0].next_seen(), ("control", SM));
    ms[0].send(PF);
    assert_eq!(signal.recv_blocking(), Ok(Signal::ProducerFinished));
    ms[1].send(Msg::Data(4));
    assert_eq!(ms[2].next_seen(), ("inbox", Msg::Data(4)));
    stop_all(&g, &mut ms);
    running.wait();
    assert_eq!(drain(&mut signal), []);
}

#[test]
fn errors_are_typed_and_name_the_problem() {
    let build = |links: &[Link]| {
        let mut g = Graphline::new();
        for n in ["A", "B"] {
            g = g.child(n, mock(n).0);
        }
        for (f, t) in links {
            g = g.link(*f, *t);
        }
        g.check().unwrap_err()
    };
    let e = build(&[(("A", "outbox"), ("X", "inbox"))]);
    assert!(
        matches!(e, ChassisError::UnknownChild { ref name, ref known, .. } if name == "X" && known == "A, B"),
        "{e}"
    );
    let e = build(&[(("A", "nonesuch"), ("B", "inbox"))]);
    assert!(
        matches!(e, ChassisError::MissingBox { ref component, ref name, .. } if component == "A" && name == "nonesuch"),
        "{e}"
    );
    assert!(
        e.to_string().contains("signal, outbox"),
        "lists the boxes it has: {e}"
    );
    let e = build(&[(("A", "outbox"), ("B", "control"))]);
    assert!(
        matches!(e, ChassisError::TypeMismatch { ref source_box, ref sink, .. } if source_box == "A.outbox" && sink == "B.control"),
        "{e}"
    );
    let e = build(&[
        (("A", "outbox"), ("B", "inbox")),
        (("A", "outbox"), ("A", "inbox")),
    ]);
    assert!(matches!(e, ChassisError::DuplicateSource { .. }), "{e}");
    let e = build(&[((SELF, "inbox"), (SELF, "outbox"))]);
    assert!(matches!(e, ChassisError::SelfToSelf(_)), "{e}");
    let e = build(&[(("A", "outbox"), (SELF, "out")), (("B", "signal"), (SELF, "out"))]);
    assert!(
        matches!(e, ChassisError::TypeMismatch { .. }),
        "fan-in of two types: {e}"
    );
    let e = Graphline::new()
        .child("A", mock("A").0)
        .child("A", mock("A").0)
        .check()
        .unwrap_err();
    assert_eq!(e, ChassisError::DuplicateChild("A".into()));
}

#[test]
fn wiring_error_at_run_fails_the_graphline_before_children_start() {
    let (a, ma) = mock("A");
    let sys = System::builder().threads(1).build();
    let g = Graphline::new()
        .child("A", a)
        .link(("A", "outbox"), ("A", "control"))
        .build()
        .spawn(&sys);
    sys.run();
    match g.outcome() {
        Some(Outcome::Failed(msg)) => assert!(
            msg.to_string().contains("A.outbox") && msg.to_string().contains("A.control"),
            "{msg}"
        ),
        other => panic!("expected failure, got {other:?}"),
    }
    assert!(!ma.was_activated());
}

/// A feedback loop: a cycle between two children that stops after N rounds.
#[test]
fn feedback_loop_cycle_stops_after_n_rounds() {
    const ROUNDS: u64 = 1000;
    let counter = Prefab::new(
        Component::new("counter")
            .inbox_and_outbox::<u64, u64>()
            .outbox::<u64>("result"),
        |mut cx| async move {
            let mut inbox = cx.inbox::<u64>("inbox")?;
            let mut out = cx.outbox::<u64>("outbox")?;
            let mut result = cx.outbox::<u64>("result")?;
            out.send(0).await?;
            let mut rounds = 0;
            loop {
                let x = inbox.recv().await?;
                rounds += 1;
                if rounds == ROUNDS {
                    result.send(x).await?;
                    return Ok::<_, axon::Error>(());
                }
                out.send(x).await?;
            }
        },
    );
    let g = graphline! {
        COUNTER = counter,
        ADD = map("add", |x: u64| x + 2);
        ("COUNTER", "outbox") => ("ADD", "inbox"),
        ("ADD", "outbox") => ("COUNTER", "inbox"),
        ("COUNTER", "result") => ("self", "outbox"),
    };
    let sys = System::builder().threads(1).build();
    let g = g.spawn(&sys);
    let mut out = collect(&g.outbox::<u64>("outbox").unwrap());
    let mut signal = collect(&g.outbox::<Signal>("signal").unwrap());
    sys.run();
    assert_eq!(drain(&mut out), [2 * ROUNDS]);
    assert_eq!(drain(&mut signal), [Signal::ProducerFinished]);
    assert_eq!(g.outcome(), Some(Outcome::Finished));
}

#[test]
fn graphline_as_a_pipeline_stage() {
    let inner = graphline! {
        DOUBLE = map("double", |x: u32| x * 2),
        SHOW = map("show", |x: u32| format!("#{x}"));
        ("self", "inbox") => ("DOUBLE", "inbox"),
        ("DOUBLE", "outbox") => ("SHOW", "inbox"),
        ("SHOW", "outbox") => ("self", "outbox"),
    };
    let sys = System::builder().threads(1).build();
    let p = pipeline![common::source("n", vec![1u32, 2]), inner].spawn(&sys);
    let mut out = collect(&p.outbox::<String>("outbox").unwrap());
    sys.run();
    assert_eq!(drain(&mut out), ["#2", "#4"]);
}

#[test]
fn feedback_loop_on_two_workers() {
    for _ in 0..50 {
        let sys = System::builder().threads(2).build();
        let counter = Prefab::new(
            Component::new("counter").inbox_and_outbox::<u64, u64>(),
            |mut cx| async move {
                let mut inbox = cx.inbox::<u64>("inbox")?;
                let mut out = cx.outbox::<u64>("outbox")?;
                out.send(0).await?;
                for round in 1..=100 {
                    let x = inbox.recv().await?;
                    if round < 100 {
                        out.send(x).await?;
                    }
                }
                Ok::<_, axon::Error>(())
            },
        );
        let g = graphline! {
            C = counter,
            INC = map("inc", |x: u64| x + 1),
            TAP = map("tap", |x: u64| x);
            ("C", "outbox") => ("INC", "inbox"),
            ("INC", "outbox") => ("TAP", "inbox"),
            ("TAP", "outbox") => ("C", "inbox"),
        }
        .spawn(&sys);
        let mut signal = collect(&g.outbox::<Signal>("signal").unwrap());
        sys.run();
        assert_eq!(g.outcome(), Some(Outcome::Finished));
        assert_eq!(drain(&mut signal), [Signal::ProducerFinished]);
        assert!(sys.components().is_empty(), "every child ended");
    }
}
