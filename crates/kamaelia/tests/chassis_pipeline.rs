//! Pipeline tests: ports of the reference `Tests/Python/Kamaelia/Chassis/test_Pipeline.py`
//! (each named in a comment), plus type checking, nesting, circular form and a
//! pipeline of 100 stages. No timing: waits are on messages and component ends.

mod common;

use axon::{Component, Outcome, Prefab, Signal, System};
use common::{collect, drain, feed, map, mock, source, Mock, Msg};
use kamaelia::chassis::{ChassisError, Pipeline};
use kamaelia::pipeline;

fn mocks(n: usize) -> (Vec<Prefab>, Vec<Mock>) {
    (0..n).map(|_| mock("mock")).unzip()
}

/// Reference: test_PipelineActivatesChildrenOnlyWhenActivated.
#[test]
fn activates_children_only_when_activated() {
    let (prefabs, mut ms) = mocks(3);
    let p = prefabs.into_iter().collect::<Pipeline>().build();
    assert!(
        ms.iter().all(|m| !m.was_activated()),
        "built, not run: no child active"
    );
    let sys = System::builder().threads(1).build();
    let p = p.spawn(&sys);
    assert!(
        ms.iter().all(|m| !m.was_activated()),
        "spawned, not yet scheduled"
    );
    for m in &mut ms {
        m.stop_now();
    }
    sys.run();
    assert!(ms.iter().all(Mock::was_activated));
    assert_eq!(p.outcome(), Some(Outcome::Finished));
}

/// Reference: test_PipelineTerminatesOnlyWhenAllChildrenHaveTerminated.
#[test]
fn terminates_only_when_all_children_have_terminated() {
    let (prefabs, mut ms) = mocks(3);
    let sys = System::builder().threads(1).build();
    let p = prefabs.into_iter().collect::<Pipeline>().build().spawn(&sys);
    let running = sys.start();
    let n = ms.len();
    for (i, m) in ms.iter_mut().enumerate() {
        assert!(!p.is_finished(), "pipeline ended with children still running");
        m.stop_now();
        // Wait for this child to end: its report box closes when it does.
        while m.seen.recv_blocking().is_ok() {}
        if i + 1 < n {
            assert!(!p.is_finished());
        }
    }
    assert_eq!(p.join(), Ok(Outcome::Finished));
    running.wait();
}

fn running_pipeline(n: usize) -> (System, axon::ComponentRef, Vec<Mock>) {
    let (prefabs, ms) = mocks(n);
    let sys = System::builder().threads(1).build();
    let p = prefabs.into_iter().collect::<Pipeline>().build().spawn(&sys);
    (sys, p, ms)
}

fn finish(sys: &System, p: &axon::ComponentRef, ms: &mut [Mock]) {
    for m in ms.iter_mut() {
        m.stop_now();
    }
    assert_eq!(p.join(), Ok(Outcome::Finished));
    let _ = sys;
}

/// Reference: test_PipelineChildrenWiredOutboxInbox.
#[test]
fn children_wired_outbox_to_inbox() {
    let (sys, p, mut ms) = running_pipeline(4);
    let running = sys.start();
    ms[0].send(Msg::Data(0));
    for (i, m) in (1u32..).zip(ms.iter_mut().skip(1)) {
        assert_eq!(m.next_seen(), ("inbox", Msg::Data(i - 1)));
        m.send(Msg::Data(i));
    }
    finish(&sys, &p, &mut ms);
    running.wait();
}

/// Reference: test_PipelineChildrenWiredSignalControl.
#[test]
fn children_wired_signal_to_control() {
    let (sys, p, mut ms) = running_pipeline(4);
    let running = sys.start();
    ms[0].send(Msg::Sig(Signal::ProducerFinished));
    for m in ms.iter_mut().skip(1) {
        assert_eq!(m.next_seen(), ("control", Msg::Sig(Signal::ProducerFinished)));
        m.send(Msg::Sig(Signal::ProducerFinished));
    }
    finish(&sys, &p, &mut ms);
    running.wait();
}

/// Reference: test_PipelineFirstChildWiredToParentInboxes.
#[test]
fn first_child_wired_to_parent_inboxes() {
    let (sys, p, mut ms) = running_pipeline(4);
    let mut inbox = feed(&p.inbox::<u32>("inbox").unwrap());
    let mut control = feed(&p.inbox::<Signal>("control").unwrap());
    let running = sys.start();
    inbox.try_send(7).unwrap();
    assert_eq!(ms[0].next_seen(), ("inbox", Msg::Data(7)));
    control.try_send(Signal::ShutdownMicroprocess).unwrap();
    assert_eq!(
        ms[0].next_seen(),
        ("control", Msg::Sig(Signal::ShutdownMicroprocess))
    );
    finish(&sys, &p, &mut ms);
    running.wait();
    for m in &mut ms[1..] {
        assert_eq!(m.rest(), []);
    }
}

/// Reference: test_PipelineLastChildWiredToParentOutboxes.
#[test]
fn last_child_wired_to_parent_outboxes() {
    let (sys, p, mut ms) = running_pipeline(4);
    let mut outbox = collect(&p.outbox::<u32>("outbox").unwrap());
    let mut signal = collect(&p.outbox::<Signal>("signal").unwrap());
    let running = sys.start();
    ms[3].send(Msg::Data(9));
    assert_eq!(outbox.recv_blocking(), Ok(9));
    ms[3].send(Msg::Sig(Signal::ProducerFinished));
    assert_eq!(signal.recv_blocking(), Ok(Signal::ProducerFinished));
    finish(&sys, &p, &mut ms);
    running.wait();
    // The pipeline has ended: its outboxes closed.
    assert!(outbox.recv_blocking().is_err());
}

#[test]
fn data_flows_through_and_closure_ripples_down() {
    let sys = System::builder().threads(1).build();
    let p = pipeline![
        source("numbers", (1..=5u32).collect()),
        map("double", |x: u32| x * 2),
        map("show", |x: u32| format!("{x}")),
    ]
    .spawn(&sys);
    let mut out = collect(&p.outbox::<String>("outbox").unwrap());
    sys.run();
    assert_eq!(drain(&mut out), ["2", "4", "6", "8", "10"]);
    assert_eq!(p.outcome(), Some(Outcome::Finished));
    assert_eq!(p.children(), []);
}

#[test]
fn own_boxes_take_the_end_childrens_types() {
    let p = pipeline![map("a", |x: u8| u16::from(x)), map("b", |x: u16| u64::from(x))];
    let declared = p.spec().declared();
    let ty = |n: &str| declared.iter().find(|d| d.0 == n).map(|d| d.2);
    assert_eq!(ty("inbox"), Some(std::any::type_name::<u8>()));
    assert_eq!(ty("outbox"), Some(std::any::type_name::<u64>()));
    assert_eq!(ty("control"), Some(std::any::type_name::<Signal>()));
    assert_eq!(ty("signal"), Some(std::any::type_name::<Signal>()));
}

#[test]
fn type_mismatch_is_found_by_check_naming_both_ends() {
    let p = Pipeline::new()
        .then(map("first", |x: u32| x + 1))
        .then(map("second", |x: String| x));
    let err = p.check().unwrap_err();
    assert_eq!(
        err,
        ChassisError::TypeMismatch {
            source_box: "stage 0 (first).outbox".into(),
            source_type: std::any::type_name::<u32>(),
            sink: "stage 1 (second).inbox".into(),
            sink_type: std::any::type_name::<String>(),
        }
    );
    assert!(p.try_build().is_err());
}

#[test]
fn type_mismatch_at_run_fails_the_pipeline_without_starting_children() {
    let (m, mock_ctl) = mock("mock");
    let sys = System::builder().threads(1).build();
    let p = pipeline![map("first", |x: u32| format!("{x}")), m].spawn(&sys);
    sys.run();
    match p.outcome() {
        Some(Outcome::Failed(msg)) => {
            assert!(msg.to_string().contains("stage 0 (first).outbox"), "{msg}");
            assert!(msg.to_string().contains("stage 1 (mock).inbox"), "{msg}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(!mock_ctl.was_activated());
}

#[test]
fn missing_data_box_between_stages_is_an_error() {
    let sink = Prefab::new(Component::new("sink").inbox::<u32>("inbox"), |_cx| async {});
    let err = Pipeline::new()
        .then(sink)
        .then(map("next", |x: u32| x))
        .check()
        .unwrap_err();
    assert!(
        matches!(err, ChassisError::MissingBox { ref component, .. } if component == "stage 0 (sink)"),
        "{err}"
    );
}

#[test]
fn empty_pipeline_is_an_error() {
    assert!(matches!(Pipeline::new().check(), Err(ChassisError::Empty { .. })));
    let sys = System::builder().threads(1).build();
    let p = Pipeline::new().build().spawn(&sys);
    sys.run();
    assert!(p.outcome().unwrap().is_failure());
}

#[test]
fn pipelines_nest() {
    let sys = System::builder().threads(1).build();
    let p = pipeline![
        source("n", vec![1u32, 2, 3]),
        pipeline![map("inc", |x: u32| x + 1), pipeline![map("sq", |x: u32| x * x)]],
        map("neg", |x: u32| -(x as i64)),
    ]
    .spawn(&sys);
    let mut out = collect(&p.outbox::<i64>("outbox").unwrap());
    sys.run();
    assert_eq!(drain(&mut out), [-4, -9, -16]);
}

#[test]
fn nested_type_mismatch_is_found_by_the_outer_check() {
    let inner = pipeline![map("inner", |x: u32| x)];
    let err = Pipeline::new()
        .then(map("outer", |x: u32| x as u8))
        .then(inner)
        .check()
        .unwrap_err();
    assert!(matches!(err, ChassisError::TypeMismatch { .. }));
}

#[test]
fn circular_pipeline_loops_the_last_stage_into_the_first() {
    // A counter bouncing between two stages; the first ends after 10 rounds,
    // then closure stops the second.
    let first = Prefab::new(
        Component::new("count").inbox_and_outbox::<u32, u32>(),
        |mut cx| async move {
            let mut inbox = cx.inbox::<u32>("inbox")?;
            let mut out = cx.outbox::<u32>("outbox")?;
            out.send(0).await?;
            loop {
                let x = inbox.recv().await?;
                if x >= 10 {
                    return Ok::<_, axon::Error>(());
                }
                out.send(x).await?;
            }
        },
    );
    let sys = System::builder().threads(1).build();
    let p = pipeline![circular: first, map("inc", |x: u32| x + 1)].spawn(&sys);
    assert!(
        p.outbox::<u32>("outbox").is_err(),
        "a circular pipeline has no outbox"
    );
    sys.run();
    assert_eq!(p.outcome(), Some(Outcome::Finished));
}

#[test]
fn pipeline_of_100_stages() {
    let sys = System::builder().threads(1).build();
    let p = (0..100)
        .map(|_| map("inc", |x: u64| x + 1))
        .collect::<Pipeline>()
        .named("hundred")
        .try_build()
        .unwrap()
        .spawn(&sys);
    let mut input = feed(&p.inbox::<u64>("inbox").unwrap());
    let mut out = collect(&p.outbox::<u64>("outbox").unwrap());
    for i in 0..50 {
        input.try_send(i).unwrap();
    }
    drop(input);
    sys.run();
    assert_eq!(drain(&mut out), (100..150).collect::<Vec<u64>>());
    assert_eq!(p.outcome(), Some(Outcome::Finished));
}

#[test]
fn quick_stages_on_two_workers_wire_up_every_time() {
    // With two workers, children run while the pipeline is still linking them;
    // stages that end at once must not break the wiring.
    for _ in 0..50 {
        let sys = System::builder().threads(2).build();
        let quick = Prefab::new(
            Component::new("quick").inbox_and_outbox::<u32, u32>(),
            |_cx| async {},
        );
        let p = pipeline![source("n", vec![1u32, 2, 3]), quick, map("inc", |x: u32| x + 1)].spawn(&sys);
        let mut out = collect(&p.outbox::<u32>("outbox").unwrap());
        sys.run();
        // The source may send before or after `quick` has ended: after, its
        // send is refused (not delivered, and said so), it fails, and the
        // pipeline fails with it (a failed stage fails its chassis). Either
        // way the wiring held: nothing else went wrong.
        match p.outcome() {
            Some(Outcome::Finished) => {}
            Some(Outcome::Failed(e)) => {
                let text = e.to_string();
                assert!(
                    text.contains("stage 0 (n)") && text.contains("not delivered"),
                    "{text}"
                );
            }
            other => panic!("unexpected outcome {other:?}"),
        }
        assert!(drain(&mut out).is_empty());
    }
}

#[test]
fn input_held_in_the_pipeline_inbox_reaches_a_first_stage_already_running() {
    // The input is sent and its sender gone before the pipeline runs, so the
    // messages wait in the pipeline's own inbox; with two workers the first
    // stage may already be waiting on its inbox when the passthrough is made.
    // Every message must arrive (regression: the stage could see "every sender
    // gone, nothing here" before the held messages were moved to it).
    for _ in 0..200 {
        let sys = System::builder().threads(2).build();
        let p = (0..4)
            .map(|_| map("inc", |x: u32| x + 1))
            .collect::<Pipeline>()
            .build()
            .spawn(&sys);
        let mut input = feed(&p.inbox::<u32>("inbox").unwrap());
        let mut out = collect(&p.outbox::<u32>("outbox").unwrap());
        for i in 0..20 {
            input.try_send(i).unwrap();
        }
        drop(input);
        sys.run();
        assert_eq!(drain(&mut out), (4..24).collect::<Vec<u32>>());
    }
}

#[test]
fn a_stage_started_after_its_input_closed_still_ends() {
    // Seq-like: the second pipeline's first stage is linked to a source that
    // was fed and whose senders are gone; it must see the end of its input.
    for _ in 0..200 {
        let sys = System::builder().threads(2).build();
        let p = pipeline![map("a", |x: u32| x), map("b", |x: u32| x)].spawn(&sys);
        let input = feed(&p.inbox::<u32>("inbox").unwrap());
        drop(input);
        let mut out = collect(&p.outbox::<u32>("outbox").unwrap());
        sys.run();
        assert_eq!(p.outcome(), Some(Outcome::Finished));
        assert!(drain(&mut out).is_empty());
    }
}
