//! Linkages: the three kinds, chains resolving to a final inbox, re-linking,
//! unlinking, one destination per box, and the errors.
//!
//! Ports `test_Linkage.py::linkage_Test` and `test_Postoffice.py::postoffice_Test`
//! / `linkagechaining_Test` (reference catalog §3, §8.1, §8.2; B-9..B-15).
//! Deliberate differences from Axon (DESIGN.md): the link kind follows from the
//! directions of the two ends (no passthrough number); an unlinked outbox holds
//! what is sent on it instead of dropping it; a finished component's inbox
//! closes, so a send into it hands the message back instead of queueing there.

mod common;

use axon::{
    link, link_any, BoxError, Component, ComponentRef, Direction, Inbox, LinkError, LinkKind, Outbox, Signal,
    System, TrySendError,
};
use common::{assert_finished, drain, wait_gone};

/// A component that, if run, sleeps until shut down: only its boxes matter.
fn idle(sys: &System, spec: Component) -> ComponentRef {
    sys.spawn(spec, |cx| async move {
        let _keep = cx;
        std::future::pending::<()>().await
    })
}

/// Ports `test_Linkage.py::test_SmokeTest_MinArguments`,
/// `test_Linkage.py::test_SmokeTest_SpecificBoxesArguments`, `test_Linkage.py::test_SmokeTest_defaultPassthrough`,
/// `test_Linkage.py::test_SmokeTest_inboxPassthrough`, `test_Linkage.py::test_SmokeTest_outboxPassthrough`, both
/// `test_Linkage.py::test_sourcePair`s, and `test_Postoffice.py::test_linkestablishes*` /
/// `test_Component.py::test_link`: each kind is recognised from the directions,
/// the linkage names its ends, and the snapshot shows exactly these linkages.
#[test]
fn link_kind_and_ends_follow_from_the_boxes() {
    let sys = System::builder().threads(1).build();
    let a = idle(&sys, Component::new("a").inbox_and_outbox::<u32, u32>());
    let b = idle(&sys, Component::new("b").inbox_and_outbox::<u32, u32>());
    let c = idle(&sys, Component::new("c").inbox_and_outbox::<u32, u32>());

    let normal = link(&a.outbox::<u32>("outbox").unwrap(), &b.inbox("inbox").unwrap()).unwrap();
    assert_eq!(normal.kind(), LinkKind::Normal);
    assert_eq!(normal.source_label(), "a.outbox");
    assert_eq!(normal.sink_label(), "b.inbox");
    assert_eq!(normal.creator(), None);

    let control = link(
        &a.outbox::<Signal>("signal").unwrap(),
        &b.inbox("control").unwrap(),
    )
    .unwrap();
    assert_eq!(control.kind(), LinkKind::Normal);
    assert_eq!(
        (control.source_label(), control.sink_label()),
        ("a.signal".into(), "b.control".into())
    );

    let inbound = link(&c.inbox::<u32>("inbox").unwrap(), &a.inbox("inbox").unwrap()).unwrap();
    assert_eq!(inbound.kind(), LinkKind::Inbound);
    assert_eq!(
        (inbound.source_label(), inbound.sink_label()),
        ("c.inbox".into(), "a.inbox".into())
    );

    let outbound = link(&b.outbox::<u32>("outbox").unwrap(), &c.outbox("outbox").unwrap()).unwrap();
    assert_eq!(outbound.kind(), LinkKind::Outbound);
    assert_eq!(
        (outbound.source_label(), outbound.sink_label()),
        ("b.outbox".into(), "c.outbox".into())
    );

    let ids = [normal.id(), control.id(), inbound.id(), outbound.id()];
    for (i, x) in ids.iter().enumerate() {
        assert!(!ids[i + 1..].contains(x), "linkage ids are unique");
    }

    let mut seen: Vec<_> = sys
        .snapshot()
        .linkages
        .iter()
        .map(|l| (l.source.clone(), l.sink.clone()))
        .collect();
    seen.sort_by_key(|(s, _)| (s.0, s.1.clone()));
    let mut want = vec![
        (
            (a.id(), "outbox".to_string()),
            (Some(b.id()), "inbox".to_string()),
        ),
        (
            (a.id(), "signal".to_string()),
            (Some(b.id()), "control".to_string()),
        ),
        ((c.id(), "inbox".to_string()), (Some(a.id()), "inbox".to_string())),
        (
            (b.id(), "outbox".to_string()),
            (Some(c.id()), "outbox".to_string()),
        ),
    ];
    want.sort_by_key(|(s, _)| (s.0, s.1.clone()));
    assert_eq!(seen, want, "exactly these linkages, nothing else touched");
}

/// Ports `test_Postoffice.py::linkagechaining_Test::test_Simple`, `test_Postoffice.py::test_SimpleThenInboxPassthrough`
/// and `test_Postoffice.py::test_InboxPassthroughThenNormal` (B-9): a -> b.in -> c.in delivers into
/// c.in whichever linkage is made first, and b.in holds nothing (its
/// `data_ready` stays false: in Axon too, though there `recv` on b would reach
/// through to c; here both look at b's own queue).
#[test]
fn inbox_passthrough_chain_delivers_to_the_final_inbox_in_either_build_order() {
    for passthrough_first in [false, true] {
        let mut a = Outbox::<u32>::detached("a");
        let mut b = Inbox::<u32>::detached("b");
        let mut c = Inbox::<u32>::detached("c");
        if passthrough_first {
            link(&b.endpoint(), &c.endpoint()).unwrap();
            link(&a.endpoint(), &b.endpoint()).unwrap();
        } else {
            link(&a.endpoint(), &b.endpoint()).unwrap();
            link(&b.endpoint(), &c.endpoint()).unwrap();
        }
        a.try_send(7).unwrap();
        a.try_send(8).unwrap();
        assert!(!b.data_ready());
        assert_eq!(b.try_recv(), Err(axon::TryRecvError::Empty));
        assert_eq!(drain(&mut c), [7, 8]);
    }
}

/// Ports `test_Postoffice.py::linkagechaining_Test::test_SimpleThenOutboxPassthrough` and
/// `test_Postoffice.py::test_OutboxPassthroughThenNormal` (B-10): a.out -> b.out -> c.in; sends from
/// a and from b both land in c.in, in either build order.
#[test]
fn outbox_passthrough_chain_carries_both_senders_in_either_build_order() {
    for passthrough_first in [false, true] {
        let mut a = Outbox::<&str>::detached("a");
        let mut b = Outbox::<&str>::detached("b");
        let mut c = Inbox::<&str>::detached("c");
        if passthrough_first {
            link(&a.endpoint(), &b.endpoint()).unwrap();
            link(&b.endpoint(), &c.endpoint()).unwrap();
        } else {
            link(&b.endpoint(), &c.endpoint()).unwrap();
            link(&a.endpoint(), &b.endpoint()).unwrap();
        }
        a.try_send("from a").unwrap();
        b.try_send("from b").unwrap();
        assert_eq!(drain(&mut c), ["from a", "from b"]);
        assert_eq!(a.held() + b.held(), 0);
    }
}

/// Ports `test_Postoffice.py::linkagechaining_Test::test_InboxPassthrougthDeletion` (B-11) and
/// `test_Postoffice.py::postoffice_Test::test_linkdisengages*`: removing a passthrough re-routes
/// later sends; what was delivered stays.
#[test]
fn unlinking_a_passthrough_reroutes_later_sends() {
    // Inbox passthrough.
    let mut a = Outbox::<u32>::detached("a");
    let mut b = Inbox::<u32>::detached("b");
    let mut c = Inbox::<u32>::detached("c");
    link(&a.endpoint(), &b.endpoint()).unwrap();
    let pt = link(&b.endpoint(), &c.endpoint()).unwrap();
    a.try_send(1).unwrap();
    pt.unlink().unwrap();
    a.try_send(2).unwrap();
    assert_eq!(drain(&mut c), [1]);
    assert_eq!(drain(&mut b), [2]);

    // Outbox passthrough: the inner source is cut off and holds its sends.
    let mut x = Outbox::<u32>::detached("x");
    let mut y = Outbox::<u32>::detached("y");
    let mut z = Inbox::<u32>::detached("z");
    let pt = link(&x.endpoint(), &y.endpoint()).unwrap();
    link(&y.endpoint(), &z.endpoint()).unwrap();
    x.try_send(1).unwrap();
    pt.unlink().unwrap();
    x.try_send(2).unwrap();
    y.try_send(3).unwrap();
    assert_eq!(drain(&mut z), [1, 3]);
    assert_eq!(x.held(), 1);
    assert!(matches!(pt.unlink(), Err(LinkError::NotLinked { .. })));
}

/// No direct reference test (catalog B-13, from Axon's `_retarget`): messages
/// waiting in a box move on, in order, when it is linked onward; never past
/// the destination's size limit (issue 16: what does not fit stays behind and
/// follows as room appears).
#[test]
fn extending_a_chain_moves_waiting_messages_in_order() {
    let mut a = Outbox::<u32>::detached("a");
    let b = Inbox::<u32>::detached("b");
    let mut c = Inbox::<u32>::detached("c");
    link(&a.endpoint(), &b.endpoint()).unwrap();
    for i in 0..3 {
        a.try_send(i).unwrap();
    }
    assert_eq!(b.len(), 3);
    c.set_size(Some(1)); // the limit holds: one moves now, two stay behind
    link(&b.endpoint(), &c.endpoint()).unwrap();
    assert_eq!((b.len(), c.len()), (2, 1));
    // Each collect makes room, and the next held message follows at once.
    assert_eq!(drain(&mut c), [0, 1, 2]);
    assert_eq!(b.len(), 0);

    // The same for an outbox holding messages because it was not linked.
    let mut o = Outbox::<u32>::detached("o");
    o.try_send(10).unwrap();
    o.try_send(11).unwrap();
    assert_eq!(o.held(), 2);
    let mut d = Inbox::<u32>::detached("d");
    d.set_size(Some(5));
    link(&o.endpoint(), &d.endpoint()).unwrap();
    o.try_send(12).unwrap();
    assert_eq!(o.held(), 0);
    assert_eq!(drain(&mut d), [10, 11, 12]);
}

/// Ports `test_Postoffice.py::postoffice_Test::test_BoxAlreadyLinkedToDestinationException` (B-12):
/// a box has one destination (no fan-out) until unlinked; fan-in is fine.
#[test]
fn a_box_links_to_one_destination_and_many_may_link_into_one() {
    let sys = System::builder().threads(1).build();
    let c1 = idle(&sys, Component::new("c1").inbox_and_outbox::<u32, u32>());
    let c2 = idle(&sys, Component::new("c2").inbox_and_outbox::<u32, u32>());
    let c3 = idle(&sys, Component::new("c3").inbox_and_outbox::<u32, u32>());
    let c4 = idle(&sys, Component::new("c4").inbox_and_outbox::<u32, u32>());
    let first = link(&c1.outbox::<u32>("outbox").unwrap(), &c2.inbox("inbox").unwrap()).unwrap();
    let err = link(&c1.outbox::<u32>("outbox").unwrap(), &c3.inbox("inbox").unwrap()).unwrap_err();
    assert_eq!(
        err,
        LinkError::AlreadyLinked {
            source_box: "c1.outbox".into(),
            current: "c2.inbox".into(),
            attempted: "c3.inbox".into(),
        }
    );
    let text = err.to_string();
    assert!(text.contains("c1.outbox") && text.contains("c2.inbox") && text.contains("c3.inbox"));
    // Fan-in.
    link(&c4.outbox::<u32>("outbox").unwrap(), &c2.inbox("inbox").unwrap()).unwrap();
    // After unlinking, the new destination is accepted.
    first.unlink().unwrap();
    let moved = link(&c1.outbox::<u32>("outbox").unwrap(), &c3.inbox("inbox").unwrap()).unwrap();
    assert_eq!(moved.sink_label(), "c3.inbox");
}

/// Ports `test_Postoffice.py::postoffice_Test::test_linkregistered` and `test_Postoffice.py::test_linkderegisters`:
/// unlinking one linkage removes only that one.
#[test]
fn unlinking_removes_only_that_linkage() {
    let sys = System::builder().threads(1).build();
    let c1 = idle(&sys, Component::new("c1").inbox_and_outbox::<u32, u32>());
    let c2 = idle(&sys, Component::new("c2").inbox_and_outbox::<u32, u32>());
    let l1 = link(&c1.outbox::<u32>("outbox").unwrap(), &c2.inbox("inbox").unwrap()).unwrap();
    let l2 = link(
        &c1.outbox::<Signal>("signal").unwrap(),
        &c2.inbox("control").unwrap(),
    )
    .unwrap();
    assert_eq!(sys.snapshot().linkages.len(), 2);
    l1.unlink().unwrap();
    let left = sys.snapshot().linkages;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].source, (c1.id(), "signal".to_string()));
    assert!(matches!(l1.unlink(), Err(LinkError::NotLinked { .. })));
    l2.unlink().unwrap();
    assert!(sys.snapshot().linkages.is_empty());
}

/// Ports `test_Component.py::test_linkagesRemovedOnComponentShutdown` (B-15) and
/// the intent of `test_Postoffice.py::postoffice_Test::test_componentlinksderegisters`: when c ends,
/// exactly the linkages c made are removed; d's survive.
///
/// Boxes of a, b and d are detached boxes driven by the test; c is a component.
/// c makes a.out->b.in, c.out->b.out (outbound) and c.in->a.in (inbound); d's
/// linkages d.out->c.in and b.out->d.in are made by the test. Differs from Axon
/// after c ends: c's inbox is closed, so d's send comes back as `Closed` (Axon
/// queued it in c's inbox), and a's send is held in a's unlinked outbox.
#[test]
fn a_components_linkages_are_removed_when_it_ends_and_only_those() {
    let sys = System::builder().threads(1).build();
    let mut a_out = Outbox::<String>::detached("a.out");
    let mut a_in = Inbox::<String>::detached("a.in");
    let mut b_in = Inbox::<String>::detached("b.in");
    let mut b_out = Outbox::<String>::detached("b.out");
    let mut d_out = Outbox::<String>::detached("d.out");
    let mut d_in = Inbox::<String>::detached("d.in");
    let (a_out_ref, a_in_ref, b_in_ref, b_out_ref) = (
        a_out.endpoint(),
        a_in.endpoint(),
        b_in.endpoint(),
        b_out.endpoint(),
    );
    let c = sys.spawn(
        Component::new("c").inbox_and_outbox::<String, String>(),
        move |mut cx| async move {
            let me = cx.me().clone();
            cx.link(&a_out_ref, &b_in_ref)?;
            cx.link(&me.outbox::<String>("outbox")?, &b_out_ref)?;
            cx.link(&me.inbox::<String>("inbox")?, &a_in_ref)?;
            assert_eq!(cx.linkages().len(), 3);
            assert!(cx.linkages().iter().all(|l| l.creator() == Some(cx.id())));
            let mut out = cx.outbox::<String>("outbox")?;
            out.try_send("from c".into())?;
            let mut control = cx.inbox::<Signal>("control")?;
            let _ = control.recv().await;
            Ok::<_, axon::Error>(())
        },
    );
    link(&d_out.endpoint(), &c.inbox("inbox").unwrap()).unwrap();
    link(&b_out.endpoint(), &d_in.endpoint()).unwrap();
    let mut stop = Outbox::<Signal>::detached("stop");
    link(&stop.endpoint(), &c.inbox("control").unwrap()).unwrap();
    let running = sys.start();

    // Before c ends.
    assert_eq!(
        d_in.recv_blocking().as_deref(),
        Ok("from c"),
        "c.out -> b.out -> d.in"
    );
    d_out.try_send("from d".into()).unwrap();
    assert_eq!(drain(&mut a_in), ["from d"], "d.out -> c.in -> a.in");
    a_out.try_send("from a".into()).unwrap();
    assert_eq!(drain(&mut b_in), ["from a"], "a.out -> b.in");
    b_out.try_send("from b".into()).unwrap();
    assert_eq!(drain(&mut d_in), ["from b"], "b.out -> d.in");

    stop.try_send(Signal::ShutdownMicroprocess).unwrap();
    assert_eq!(wait_gone(&sys, &c), axon::Outcome::Finished);

    // After: d.out still ends at c.in, which no longer receives.
    match d_out.try_send("late d".into()) {
        Err(TrySendError::Closed(m)) => assert_eq!(m, "late d"),
        other => panic!("expected Closed, got {other:?}"),
    }
    assert!(a_in.is_empty());
    // a.out -> b.in was c's: gone. a's send is held in a's outbox.
    a_out.try_send("late a".into()).unwrap();
    assert!(b_in.is_empty());
    assert_eq!(a_out.held(), 1);
    // b.out -> d.in was made by d (the test): it survives.
    b_out.try_send("late b".into()).unwrap();
    assert_eq!(drain(&mut d_in), ["late b"]);
    running.shutdown();
}

/// No reference test (new API): linking by name checks the message types at run
/// time; a mismatch names both ends and both types. Also through
/// `Context::link_any`, where a good link belongs to the component.
#[test]
fn by_name_linking_checks_types_and_names_both_ends() {
    let sys = System::builder().threads(1).build();
    let x = idle(&sys, Component::bare("x").outbox::<u32>("numbers"));
    let y = idle(&sys, Component::bare("y").inbox::<String>("words"));
    let z = idle(&sys, Component::bare("z").inbox::<u32>("numbers"));
    let src = x.any_outbox("numbers").unwrap();
    assert_eq!(src.direction(), Direction::Out);
    assert_eq!(src.name(), "numbers");
    assert!(src.type_name().contains("u32"));
    let err = link_any(&src, &y.any_inbox("words").unwrap()).unwrap_err();
    match &err {
        LinkError::TypeMismatch {
            source_box,
            source_type,
            sink,
            sink_type,
        } => {
            assert_eq!(source_box, "x.numbers");
            assert_eq!(sink, "y.words");
            assert!(source_type.contains("u32"));
            assert!(sink_type.contains("String"));
        }
        other => panic!("expected TypeMismatch, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains("x.numbers") && text.contains("y.words"));
    assert!(matches!(x.any_outbox("nope"), Err(BoxError::NotFound { .. })));
    assert!(matches!(
        y.any_inbox("words").unwrap().downcast::<u32>(),
        Err(BoxError::WrongType { .. })
    ));
    assert!(matches!(y.inbox::<u32>("words"), Err(BoxError::WrongType { .. })));

    let (x2, y2, z2) = (x.clone(), y.clone(), z.clone());
    let linker = sys.spawn(Component::bare("linker"), move |cx| async move {
        let bad = cx.link_any(&x2.any_outbox("numbers")?, &y2.any_inbox("words")?);
        assert!(matches!(bad, Err(LinkError::TypeMismatch { .. })));
        assert!(cx.linkages().is_empty());
        let good = cx.link_any(&x2.any_outbox("numbers")?, &z2.any_inbox("numbers")?)?;
        assert_eq!(good.kind(), LinkKind::Normal);
        assert_eq!(good.creator(), Some(cx.id()));
        assert_eq!(cx.linkages().len(), 1);
        Ok::<_, axon::Error>(())
    });
    let running = sys.start();
    assert_eq!(wait_gone(&sys, &linker), axon::Outcome::Finished);
    // The linker's linkage went with it: x.numbers is free again.
    let again = link_any(
        &x.any_outbox("numbers").unwrap(),
        &z.any_inbox("numbers").unwrap(),
    );
    assert!(again.is_ok(), "got {again:?}");
    running.shutdown();
}

/// No reference test: an inbox cannot feed an outbox, typed or by name.
#[test]
fn inbox_to_outbox_is_the_wrong_direction() {
    let i = Inbox::<u8>::detached("i");
    let o = Outbox::<u8>::detached("o");
    assert_eq!(
        link(&i.endpoint(), &o.endpoint()).unwrap_err(),
        LinkError::WrongDirection {
            source_box: "detached.i".into(),
            sink: "detached.o".into(),
        }
    );
    assert!(matches!(
        link_any(&i.endpoint().erase(), &o.endpoint().erase()),
        Err(LinkError::WrongDirection { .. })
    ));
}

/// No reference test (Axon did not check): a chain of boxes may not loop back
/// on itself, nor a box link to itself; the refused link changes nothing.
#[test]
fn loops_of_boxes_and_self_links_are_refused() {
    let mut feed = Outbox::<u8>::detached("feed");
    let a = Inbox::<u8>::detached("a");
    let b = Inbox::<u8>::detached("b");
    let mut c = Inbox::<u8>::detached("c");
    link(&feed.endpoint(), &a.endpoint()).unwrap();
    link(&a.endpoint(), &b.endpoint()).unwrap();
    link(&b.endpoint(), &c.endpoint()).unwrap();
    assert!(matches!(
        link(&c.endpoint(), &a.endpoint()),
        Err(LinkError::Cycle { .. })
    ));
    assert!(matches!(
        link(&c.endpoint(), &c.endpoint()),
        Err(LinkError::SelfLink(_))
    ));
    feed.try_send(1).unwrap();
    assert_eq!(drain(&mut c), [1], "the chain still ends at c");

    let o1 = Outbox::<u8>::detached("o1");
    let o2 = Outbox::<u8>::detached("o2");
    link(&o1.endpoint(), &o2.endpoint()).unwrap();
    assert!(matches!(
        link(&o2.endpoint(), &o1.endpoint()),
        Err(LinkError::Cycle { .. })
    ));
}

/// No reference test: a box whose receiver is gone cannot be linked to.
#[test]
fn linking_to_a_closed_inbox_is_refused() {
    let gone = Inbox::<u8>::detached("gone");
    let gone_ref = gone.endpoint();
    drop(gone);
    let out = Outbox::<u8>::detached("out");
    assert!(matches!(
        link(&out.endpoint(), &gone_ref),
        Err(LinkError::Closed { .. })
    ));
}

/// No reference test: re-linking while a producer is sending loses and
/// duplicates nothing, and keeps order (sends made while unlinked are held and
/// move to the new destination).
#[test]
fn relinking_a_running_producer_loses_nothing() {
    let sys = System::builder().threads(2).build();
    let p = sys.spawn(
        Component::bare("p").outbox::<u32>("outbox"),
        |mut cx| async move {
            let mut out = cx.outbox::<u32>("outbox")?;
            for i in 0..2000 {
                out.send(i).await?;
            }
            Ok::<_, axon::Error>(())
        },
    );
    let mut first = Inbox::<u32>::detached("first");
    let mut second = Inbox::<u32>::detached("second");
    let l = link(&p.outbox::<u32>("outbox").unwrap(), &first.endpoint()).unwrap();
    let running = sys.start();
    while first.is_empty() && !p.is_finished() {
        std::thread::yield_now();
    }
    l.unlink().unwrap();
    link(&p.outbox::<u32>("outbox").unwrap(), &second.endpoint()).unwrap();
    assert_finished(&p);
    running.wait();
    let a = drain(&mut first);
    let b = drain(&mut second);
    assert!(!a.is_empty());
    let all: Vec<u32> = a.iter().chain(b.iter()).copied().collect();
    assert_eq!(all, (0..2000).collect::<Vec<_>>());
}
