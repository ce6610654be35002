//! Components: their boxes, send/receive, children, and what happens when one
//! ends (including failure isolation).
//!
//! Ports `test_Component.py::Component_Test` (reference catalog §2.1, B-1, B-2,
//! B-24). Deliberate differences from Axon (DESIGN.md): a component is paused by
//! default and runs only when woken; `data_ready`/`recv` both look at the box's
//! own queue; an inbox closes when its owner ends.

mod common;

use std::sync::{Arc, Mutex};

use axon::{
    link, BoxError, Component, ComponentRef, Direction, Inbox, Outbox, Outcome, Signal, System, TryRecvError,
};
use common::{assert_finished, quiet, spawn_counted, wait_until, yield_now};

/// Ports `test_Component.py::test_SmokeTest_NoArguments` (B-1) and
/// `test_Component.py::test___str__relaxed` (the Debug form names the component).
#[test]
fn new_component_has_the_default_boxes_empty_and_no_children() {
    let sys = System::builder().threads(1).build();
    let c = sys.spawn(
        Component::new("plain").inbox_and_outbox::<u32, u32>(),
        |mut cx| async move {
            // The owner's handles: each can be taken once, with the declared type.
            let inbox = cx.inbox::<u32>("inbox")?;
            assert!(inbox.is_empty());
            assert!(matches!(
                cx.inbox::<u32>("inbox"),
                Err(BoxError::AlreadyTaken { .. })
            ));
            assert!(matches!(
                cx.outbox::<String>("outbox"),
                Err(BoxError::WrongType { .. })
            ));
            assert!(matches!(cx.inbox::<u32>("nope"), Err(BoxError::NotFound { .. })));
            assert!(cx.children().is_empty());
            assert!(cx.children_done());
            assert_eq!(cx.any_ready(), None);
            Ok::<_, axon::Error>(())
        },
    );
    let mut ins = c.box_names(Direction::In);
    let mut outs = c.box_names(Direction::Out);
    ins.sort();
    outs.sort();
    assert_eq!(ins, ["control", "inbox"]);
    assert_eq!(outs, ["outbox", "signal"]);
    assert!(c.children().is_empty());
    assert!(c.parent().is_none());
    assert!(format!("{c:?}").contains("plain"));
    let snap = sys.snapshot();
    let info = snap.component(c.id()).expect("listed");
    assert_eq!(info.boxes.len(), 4);
    // Inboxes unbounded; outboxes hold at most the default while unlinked.
    assert!(info.boxes.iter().all(|b| b.len == 0));
    for b in &info.boxes {
        let want = match b.direction {
            Direction::In => None,
            Direction::Out => Some(axon::DEFAULT_OUTBOX_LIMIT),
        };
        assert_eq!(b.limit, want, "{}", b.name);
    }
    assert!(c.inbox::<Signal>("control").is_ok());
    assert!(c.outbox::<Signal>("signal").is_ok());

    // `bare` really has no boxes.
    let b = sys.spawn(Component::bare("bare"), |_cx| async {});
    assert!(b.box_names(Direction::In).is_empty());
    assert!(b.box_names(Direction::Out).is_empty());

    sys.run();
    assert_finished(&c);
    assert_finished(&b);
}

/// Ports `test_Component.py::test_dataReady`, `test_Component.py::test_recv` and `test_Component.py::test_send` (B-2):
/// delivery happens at send time, in order, with no scheduler step in between,
/// on the data boxes and on signal->control alike. Axon's "pop through the
/// sender's outbox" trick is not possible here (an outbox cannot receive), so
/// FIFO arrival is checked at the receiver.
#[test]
fn delivery_is_immediate_and_fifo_on_data_and_control_boxes() {
    let sys = System::builder().threads(1).build();
    let c = sys.spawn(
        Component::new("loop").inbox_and_outbox::<String, String>(),
        |mut cx| async move {
            let me = cx.me().clone();
            cx.link(&me.outbox::<String>("outbox")?, &me.inbox::<String>("inbox")?)?;
            cx.link(&me.outbox::<Signal>("signal")?, &me.inbox::<Signal>("control")?)?;
            let mut inbox = cx.inbox::<String>("inbox")?;
            let mut outbox = cx.outbox::<String>("outbox")?;
            let mut control = cx.inbox::<Signal>("control")?;
            let mut signal = cx.outbox::<Signal>("signal")?;

            assert!(!inbox.data_ready());
            assert_eq!(inbox.try_recv(), Err(TryRecvError::Empty));
            outbox.try_send("a".to_string())?;
            assert!(inbox.data_ready(), "a send lands at once");
            assert_eq!(cx.any_ready().as_deref(), Some("inbox"));
            assert_eq!(inbox.try_recv().as_deref(), Ok("a"));
            assert!(!inbox.data_ready());
            outbox.try_send("b".to_string())?;
            outbox.try_send("c".to_string())?;
            assert_eq!(inbox.len(), 2);
            assert_eq!(inbox.recv().await.as_deref(), Ok("b"));
            assert!(inbox.data_ready());
            assert_eq!(inbox.recv().await.as_deref(), Ok("c"));
            assert!(!inbox.data_ready());
            assert_eq!(inbox.try_recv(), Err(TryRecvError::Empty));

            signal.try_send(Signal::ProducerFinished)?;
            signal.try_send(Signal::ShutdownMicroprocess)?;
            assert_eq!(cx.any_ready().as_deref(), Some("control"));
            assert_eq!(control.try_recv(), Ok(Signal::ProducerFinished));
            assert_eq!(control.try_recv(), Ok(Signal::ShutdownMicroprocess));
            assert_eq!(control.try_recv(), Err(TryRecvError::Empty));
            assert_eq!(cx.any_ready(), None);

            for i in 0..1000 {
                outbox.try_send(i.to_string())?;
                assert_eq!(inbox.try_recv(), Ok(i.to_string()));
            }
            Ok::<_, axon::Error>(())
        },
    );
    sys.run();
    assert_finished(&c);
}

/// The same FIFO delivery between two separate components: X sends to Y and
/// then signals it; Y sees everything in order, then the signal.
/// Ports the two-child-container part of `test_Component.py::test_dataReady`.
#[test]
fn messages_and_signal_flow_from_one_component_to_another_in_order() {
    let sys = System::builder().threads(2).build();
    let x = sys.spawn(Component::new("X").outbox::<u32>("outbox"), |mut cx| async move {
        let mut out = cx.outbox::<u32>("outbox")?;
        let mut signal = cx.outbox::<Signal>("signal")?;
        for i in 0..100 {
            out.send(i).await?;
        }
        signal.send(Signal::ProducerFinished).await?;
        Ok::<_, axon::Error>(())
    });
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    let y = sys.spawn(
        Component::new("Y").inbox::<u32>("inbox"),
        move |mut cx| async move {
            let mut inbox = cx.inbox::<u32>("inbox")?;
            let mut control = cx.inbox::<Signal>("control")?;
            assert_eq!(control.recv().await, Ok(Signal::ProducerFinished));
            // X sent everything before its signal: all of it is already here.
            g.lock()
                .unwrap()
                .extend(std::iter::from_fn(|| inbox.try_recv().ok()));
            Ok::<_, axon::Error>(())
        },
    );
    link(&x.outbox::<u32>("outbox").unwrap(), &y.inbox("inbox").unwrap()).unwrap();
    link(
        &x.outbox::<Signal>("signal").unwrap(),
        &y.inbox("control").unwrap(),
    )
    .unwrap();
    sys.run();
    assert_finished(&x);
    assert_finished(&y);
    assert_eq!(*got.lock().unwrap(), (0..100).collect::<Vec<_>>());
}

/// A body that panics with "boom".
fn explode() {
    panic!("boom");
}

/// A component that waits on its `go` inbox until every sender is gone.
fn waiter(sys: &System, name: &'static str) -> (ComponentRef, Outbox<()>) {
    let c = sys.spawn(Component::bare(name).inbox::<()>("go"), |mut cx| async move {
        let mut go = cx.inbox::<()>("go")?;
        while go.recv().await.is_ok() {}
        Ok::<_, axon::Error>(())
    });
    let feed = Outbox::<()>::detached("feed");
    link(&feed.endpoint(), &c.inbox("go").unwrap()).unwrap();
    (c, feed)
}

/// Three [`waiter`]s, `k1` to `k3`, and their feeds.
fn three_waiters(sys: &System) -> ([ComponentRef; 3], [Outbox<()>; 3]) {
    let (k1, f1) = waiter(sys, "k1");
    let (k2, f2) = waiter(sys, "k2");
    let (k3, f3) = waiter(sys, "k3");
    ([k1, k2, k3], [f1, f2, f3])
}

/// Ports `test_Component.py::test_addChildren` and `test_Component.py::test_childComponents`:
/// each added child is listed exactly once (adding one twice changes nothing),
/// and the parent hears of each child's end.
#[test]
fn added_children_are_listed_once_and_their_ends_reported() {
    let sys = System::builder().threads(1).build();
    let (ks, feeds) = three_waiters(&sys);
    let kids = ks.clone();
    let parent = sys.spawn(Component::bare("parent"), move |cx| async move {
        cx.add_child(&kids[0]);
        cx.add_child(&kids[1]);
        cx.add_child(&kids[0]);
        assert_eq!(cx.children(), [kids[0].clone(), kids[1].clone()]);
        cx.add_child(&kids[2]);
        let children = cx.children();
        assert_eq!(children.len(), 3);
        for k in &kids {
            assert_eq!(children.iter().filter(|c| *c == k).count(), 1);
            assert_eq!(k.parent().as_ref(), Some(cx.me()));
        }
        assert!(!cx.children_done());
        // Let the children go: dropping their feeds closes their inboxes.
        drop(feeds);
        let mut ended = Vec::new();
        while let Some(exit) = cx.child_exit().await {
            assert_eq!(exit.outcome, Outcome::Finished);
            ended.push(exit.child);
        }
        assert_eq!(ended.len(), 3);
        assert!(kids.iter().all(|k| ended.contains(k)));
        assert!(cx.children_done());
        assert!(cx.children().is_empty());
        Ok::<_, axon::Error>(())
    });
    sys.run();
    assert_finished(&parent);
    for k in &ks {
        assert_finished(k);
    }
}

/// Ports `test_Component.py::test_removeChild`: removing a child forgets it and
/// removes the linkages the parent made that touch it (Axon recorded an "unlink
/// by component" call on a fake post office; we look at the parent's linkages).
#[test]
fn remove_child_forgets_it_and_removes_the_parents_links_to_it() {
    let sys = System::builder().threads(1).build();
    let kid = sys.spawn(
        Component::bare("kid").inbox::<u32>("inbox"),
        |mut cx| async move {
            let mut inbox = cx.inbox::<u32>("inbox")?;
            let mut n = 0;
            while inbox.recv().await.is_ok() {
                n += 1;
            }
            assert_eq!(n, 0, "nothing reaches a removed child");
            Ok::<_, axon::Error>(())
        },
    );
    let mut elsewhere = Inbox::<u32>::detached("elsewhere");
    let elsewhere_ref = elsewhere.endpoint();
    let k = kid.clone();
    let parent = sys.spawn(
        Component::bare("parent")
            .outbox::<u32>("toKid")
            .outbox::<u32>("other"),
        move |mut cx| async move {
            let me = cx.me().clone();
            cx.add_child(&k);
            cx.link(&me.outbox::<u32>("toKid")?, &k.inbox::<u32>("inbox")?)?;
            let keep = cx.link(&me.outbox::<u32>("other")?, &elsewhere_ref)?;
            assert_eq!(cx.linkages().len(), 2);
            cx.remove_child(&k);
            assert!(cx.children().is_empty());
            assert!(k.parent().is_none());
            let left = cx.linkages();
            assert_eq!(left.len(), 1);
            assert_eq!(left[0].id(), keep.id());
            let mut to_kid = cx.outbox::<u32>("toKid")?;
            to_kid.try_send(1)?;
            assert_eq!(
                to_kid.held(),
                1,
                "the link to the child is gone: the message waits here"
            );
            let mut other = cx.outbox::<u32>("other")?;
            other.try_send(2)?;
            // The removed child's end is not reported to us.
            assert!(cx.child_exit().await.is_none());
            Ok::<_, axon::Error>(())
        },
    );
    let running = sys.start();
    assert_finished(&parent);
    // Its only sender was unlinked, not ended: the child's inbox stays open
    // (issue 16: closure means the senders ended) and the child waits...
    common::quiet();
    assert!(!kid.is_finished(), "an unlink alone closed the child's inbox");
    // ...until a sender that does end has been linked in.
    let feed = Outbox::<u32>::detached("feed");
    link(&feed.endpoint(), &kid.inbox::<u32>("inbox").unwrap()).unwrap();
    drop(feed);
    assert_finished(&kid);
    running.wait();
    assert_eq!(elsewhere.try_recv(), Ok(2));
}

/// No reference test (catalog "gaps": B-24): a child's end wakes its parent;
/// after `remove_child`, that child's end no longer does.
#[test]
fn child_termination_wakes_the_parent_but_not_after_remove_child() {
    let sys = System::builder().threads(1).build();
    let (kept, feed_kept) = waiter(&sys, "kept");
    let (removed, feed_removed) = waiter(&sys, "removed");
    let mut heard = Inbox::<(ComponentRef, Outcome)>::detached("heard");
    let heard_ref = heard.endpoint();
    let (k, r) = (kept.clone(), removed.clone());
    let (parent, counts) = spawn_counted(
        &sys,
        Component::bare("parent").outbox::<(ComponentRef, Outcome)>("report"),
        move |mut cx| async move {
            let me = cx.me().clone();
            cx.link(&me.outbox("report")?, &heard_ref)?;
            let mut report = cx.outbox::<(ComponentRef, Outcome)>("report")?;
            cx.add_child(&k);
            cx.add_child(&r);
            cx.remove_child(&r);
            cx.pause().await;
            let exit = cx.child_exit().await.expect("kept ended");
            report.try_send((exit.child, exit.outcome))?;
            std::future::pending::<()>().await;
            Ok::<_, axon::Error>(())
        },
    );
    let running = sys.start();
    wait_until("the parent sleeps", || counts.parked_after(1));
    drop(feed_removed);
    assert_eq!(removed.join(), Ok(Outcome::Finished));
    quiet();
    assert_eq!(
        counts.polls(),
        1,
        "a removed child's end must not wake the parent"
    );
    drop(feed_kept);
    let (child, outcome) = heard.recv_blocking().unwrap();
    assert_eq!(child, kept);
    assert_eq!(outcome, Outcome::Finished);
    assert_eq!(counts.polls(), 2, "woken exactly once, by the child's end");
    running.shutdown();
    assert_eq!(parent.outcome(), Some(Outcome::Cancelled));
}

/// No direct reference test (Axon has no failure isolation tests): each way a
/// child can end reaches its parent through `child_exit`.
#[test]
fn parent_hears_how_each_child_ended() {
    let sys = System::builder().threads(1).build();
    let parent = sys.spawn(Component::bare("parent"), |cx| async move {
        let ok = cx.spawn_child(Component::new("ok"), |_cx| async {});
        let err = cx.spawn_child(Component::new("err"), |_cx| async { Err("nope".into()) });
        let boom = cx.spawn_child(Component::new("boom"), |_cx| async { explode() });
        let threaded = cx.spawn_threaded_child(Component::new("thr"), |_cx| {});
        let mut seen = Vec::new();
        while let Some(e) = cx.child_exit().await {
            seen.push(e);
        }
        assert_eq!(seen.len(), 4);
        let outcome_of = |c: &ComponentRef| seen.iter().find(|e| e.child == *c).unwrap().outcome.clone();
        assert_eq!(outcome_of(&ok), Outcome::Finished);
        assert_eq!(outcome_of(&err), Outcome::Failed("nope".into()));
        assert_eq!(outcome_of(&boom), Outcome::Panicked("boom".into()));
        assert_eq!(outcome_of(&threaded), Outcome::Finished);
        assert!(cx.child_exit().await.is_none());
    });
    sys.run();
    assert_finished(&parent);
}

/// No reference test (new in kamaelia-rs, DESIGN.md: failure isolation): a
/// panicking component ends alone with `Outcome::Panicked`, a `Signal::Failed`
/// comes out of its `signal` outbox, its parent hears, and an unrelated
/// component keeps working.
#[test]
fn a_panicking_component_ends_alone_and_is_reported() {
    let sys = System::builder().threads(2).build();
    let doubler = sys.spawn(
        Component::new("doubler").inbox_and_outbox::<u32, u32>(),
        |mut cx| async move {
            let mut inbox = cx.inbox::<u32>("inbox")?;
            let mut out = cx.outbox::<u32>("outbox")?;
            while let Ok(x) = inbox.recv().await {
                out.send(x * 2).await?;
            }
            Ok::<_, axon::Error>(())
        },
    );
    let mut feed = Outbox::<u32>::detached("feed");
    let mut results = Inbox::<u32>::detached("results");
    link(&feed.endpoint(), &doubler.inbox("inbox").unwrap()).unwrap();
    link(&doubler.outbox("outbox").unwrap(), &results.endpoint()).unwrap();

    let mut signals = Inbox::<Signal>::detached("signals");
    let mut heard = Inbox::<Outcome>::detached("heard");
    let (sig_ref, heard_ref) = (signals.endpoint(), heard.endpoint());
    let bomb_slot = Arc::new(Mutex::new(None));
    let slot = bomb_slot.clone();
    let parent = sys.spawn(
        Component::bare("parent").outbox::<Outcome>("report"),
        move |mut cx| async move {
            let me = cx.me().clone();
            cx.link(&me.outbox("report")?, &heard_ref)?;
            let mut report = cx.outbox::<Outcome>("report")?;
            let bomb = cx.spawn_child(Component::new("bomb"), |_cx| async { explode() });
            // Linked maybe after the panic: the failure waits in the outbox.
            cx.link(&bomb.outbox::<Signal>("signal")?, &sig_ref)?;
            *slot.lock().unwrap() = Some(bomb.clone());
            let exit = cx.child_exit().await.expect("the child ends");
            assert_eq!(exit.child, bomb);
            report.send(exit.outcome).await?;
            Ok::<_, axon::Error>(())
        },
    );
    let running = sys.start();
    feed.send_blocking(1).unwrap();
    assert_eq!(results.recv_blocking(), Ok(2));

    // The parent hears after the kernel has sent the failure signal (waiting on
    // `signals` first races with the signal box closing; see
    // `failure_signal_arrives_before_the_signal_box_closes`).
    assert_eq!(heard.recv_blocking(), Ok(Outcome::Panicked("boom".into())));
    match signals.try_recv() {
        Ok(Signal::Failed(f)) => {
            assert!(f.panicked);
            assert_eq!(f.name, "bomb");
            assert_eq!(f.reason, "boom");
        }
        other => panic!("expected a failure signal, got {other:?}"),
    }
    let bomb = bomb_slot.lock().unwrap().clone().expect("spawned");
    assert_eq!(bomb.join(), Ok(Outcome::Panicked("boom".into())));
    assert!(bomb.outcome().unwrap().is_failure());

    // The rest runs on.
    feed.send_blocking(21).unwrap();
    assert_eq!(results.recv_blocking(), Ok(42));
    assert_finished(&parent);
    drop(feed);
    assert_finished(&doubler);
    running.wait();
}

/// Like the panic case, for a body that returns an error: `Outcome::Failed` and
/// a `Signal::Failed` with `panicked == false`.
#[test]
fn a_failing_component_sends_failed_out_of_its_signal_box() {
    let sys = System::builder().threads(1).build();
    let c = sys.spawn(Component::new("failing"), |_cx| async {
        Err::<(), axon::Error>("bad input".into())
    });
    let mut signals = Inbox::<Signal>::detached("signals");
    link(&c.outbox("signal").unwrap(), &signals.endpoint()).unwrap();
    sys.run();
    assert_eq!(c.outcome(), Some(Outcome::Failed("bad input".into())));
    match signals.try_recv() {
        Ok(Signal::Failed(f)) => {
            assert!(!f.panicked);
            assert_eq!(f.component, c.id());
            assert_eq!(f.reason, "bad input");
            assert!(f.to_string().contains("failing"));
        }
        other => panic!("expected a failure signal, got {other:?}"),
    }
}

/// A consumer already waiting on `control` for a component that then fails
/// must receive the kernel's `Signal::Failed`, not `Closed`: the failure is the
/// last thing the component sends. The failing body does not keep its context
/// (a `|_cx| async { .. }` body drops it, and with it the `signal` handle, when
/// it starts) and yields once before failing, which gives the waiting consumer
/// its turn. Single thread, consumer spawned first: deterministic.
fn waiting_consumer_sees(panics: bool) -> Result<Signal, axon::RecvError> {
    let sys = System::builder().threads(1).build();
    let mut seen = Inbox::<Result<Signal, axon::RecvError>>::detached("seen");
    let seen_ref = seen.endpoint();
    let consumer = sys.spawn(
        Component::new("consumer").outbox::<Result<Signal, axon::RecvError>>("seen"),
        move |mut cx| async move {
            let me = cx.me().clone();
            cx.link(&me.outbox("seen")?, &seen_ref)?;
            let mut control = cx.inbox::<Signal>("control")?;
            let mut out = cx.outbox::<Result<Signal, axon::RecvError>>("seen")?;
            out.try_send(control.recv().await)?;
            Ok::<_, axon::Error>(())
        },
    );
    let failing = sys.spawn(Component::new("failing"), move |_cx| async move {
        yield_now().await;
        if panics {
            explode();
        }
        Err("late".into())
    });
    link(
        &failing.outbox::<Signal>("signal").unwrap(),
        &consumer.inbox("control").unwrap(),
    )
    .unwrap();
    sys.run();
    assert!(failing.outcome().unwrap().is_failure());
    seen.try_recv().expect("the consumer reported")
}

/// See [`waiting_consumer_sees`]; the body returns an error.
#[test]
fn failure_signal_arrives_before_the_signal_box_closes() {
    let got = waiting_consumer_sees(false);
    assert!(
        matches!(got, Ok(Signal::Failed(ref f)) if f.reason == "late"),
        "got {got:?}"
    );
}

/// See [`waiting_consumer_sees`]; the body panics.
#[test]
fn panic_signal_arrives_before_the_signal_box_closes() {
    let got = waiting_consumer_sees(true);
    assert!(
        matches!(got, Ok(Signal::Failed(ref f)) if f.panicked),
        "got {got:?}"
    );
}

/// Children are listed in the order they were created, whatever the order they
/// were added in; and a parent of thousands of children (kept by id, so adding
/// or losing one does not scan the others) hears every one of them end, once.
#[test]
fn children_are_listed_in_creation_order_and_many_are_tracked_exactly() {
    let sys = System::builder().threads(1).build();
    let (kids, feeds) = three_waiters(&sys);
    const MANY: usize = 3000;
    let parent = sys.spawn(Component::bare("parent"), move |cx| async move {
        cx.add_child(&kids[2]);
        cx.add_child(&kids[0]);
        cx.add_child(&kids[1]);
        assert_eq!(cx.children(), kids.to_vec());
        drop(feeds);
        let mut spawned = Vec::with_capacity(MANY);
        for _ in 0..MANY {
            spawned.push(cx.spawn_child(Component::bare("kid"), |_cx| async move {}));
        }
        let mut ended = std::collections::HashSet::new();
        while let Some(exit) = cx.child_exit().await {
            assert_eq!(exit.outcome, Outcome::Finished);
            assert!(ended.insert(exit.child.id()), "{:?} reported twice", exit.child);
        }
        assert_eq!(ended.len(), MANY + 3);
        assert!(spawned.iter().all(|k| ended.contains(&k.id())));
        assert!(cx.children().is_empty());
        Ok::<_, axon::Error>(())
    });
    sys.run();
    assert_finished(&parent);
}
