//! Threaded components: a blocking body on its own OS thread, over the very same
//! boxes as async components.
//!
//! Ports `test_ThreadedComponent.py::threadedcomponent_Test` and
//! `threadedadaptivecommscomponent_Test` (reference catalog §5; B-30..B-33).
//! Deliberate difference from Axon (DESIGN.md §2, "direct plumbing"): there are
//! no internal queues between the thread and its boxes. Axon's tests that
//! counted "inbox size + internal queue length" (`test_RestrictedInboxSize`,
//! `test_NoSpaceInBoxExceptionsReachThread`,
//! `test_TakingFromDestinationAllowsMoreToBeDelivered`,
//! `test_localprocessterminatesOnlyIfOutqueueFlushed`) are adapted to "inbox
//! size only"; the queue-size tests (`test_ThereIsADefaultOutgoingQueueSize`,
//! `test_CanSetOutgoingQueueSize`, `test_smoketest_oneargs`) have nothing to
//! port.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axon::{link, Component, Direction, Inbox, Kind, Outbox, Outcome, Signal, System, TrySendError};
use common::{assert_finished, drain, quiet, wait_gone, wait_until};

/// Ports `test_ThreadedComponent.py::threadedcomponent_Test::test_smoketest_init`,
/// `test_ThreadedComponent.py::test_threadisseparate` and `test_ThreadedComponent.py::test_localprocessterminates` (B-30): default
/// boxes, its own OS thread, and when its body returns it ends and an otherwise
/// empty system stops.
#[test]
fn a_threaded_component_has_the_default_boxes_runs_on_its_own_thread_and_ends() {
    let sys = System::builder().threads(1).build();
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    let t = sys.spawn_threaded(Component::new("t").inbox_and_outbox::<u8, u8>(), move |_cx| {
        *s.lock().unwrap() = Some(std::thread::current().id());
    });
    assert_eq!(t.kind(), Kind::Threaded);
    let mut ins = t.box_names(Direction::In);
    let mut outs = t.box_names(Direction::Out);
    ins.sort();
    outs.sort();
    assert_eq!(ins, ["control", "inbox"]);
    assert_eq!(outs, ["outbox", "signal"]);
    sys.run(); // the scheduler runs on this thread
    assert_finished(&t);
    let other = seen.lock().unwrap().expect("the body ran");
    assert_ne!(other, std::thread::current().id());
    assert_eq!(sys.live_components(), 0);
}

/// Ports `test_ThreadedComponent.py::test_flow_in` and `test_ThreadedComponent.py::test_flow_out` (B-30): an async component's message
/// reaches the thread's blocking `recv`; the thread's `send` reaches an async
/// recorder.
#[test]
fn messages_flow_into_and_out_of_a_threaded_component() {
    let sys = System::builder().threads(1).build();
    let sender = sys.spawn(
        Component::bare("sender").outbox::<String>("outbox"),
        |mut cx| async move {
            let mut out = cx.outbox::<String>("outbox")?;
            out.send("hello".to_string()).await?;
            Ok::<_, axon::Error>(())
        },
    );
    let t = sys.spawn_threaded(
        Component::new("t").inbox_and_outbox::<String, String>(),
        |mut cx| {
            let mut inbox = cx.inbox::<String>("inbox").expect("declared");
            let mut out = cx.outbox::<String>("outbox").expect("declared");
            while let Ok(m) = inbox.recv_blocking() {
                out.send_blocking(format!("{m}, world")).expect("recorder alive");
            }
        },
    );
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    let recorder = sys.spawn(
        Component::bare("recorder").inbox::<String>("inbox"),
        move |mut cx| async move {
            let mut inbox = cx.inbox::<String>("inbox")?;
            while let Ok(m) = inbox.recv().await {
                g.lock().unwrap().push(m);
            }
            Ok::<_, axon::Error>(())
        },
    );
    link(
        &sender.outbox::<String>("outbox").unwrap(),
        &t.inbox("inbox").unwrap(),
    )
    .unwrap();
    link(
        &t.outbox::<String>("outbox").unwrap(),
        &recorder.inbox("inbox").unwrap(),
    )
    .unwrap();
    sys.run();
    for c in [&sender, &t, &recorder] {
        assert_finished(c);
    }
    assert_eq!(*got.lock().unwrap(), ["hello, world"]);
}

/// Ports `test_ThreadedComponent.py::test_RestrictedInboxSize` (B-31), adapted: a threaded component that
/// never reads its inbox (limit 10) accepts exactly 10 messages from an async
/// sender, not 10 plus an internal queue.
#[test]
fn a_threaded_components_inbox_limit_is_the_whole_buffer() {
    let sys = System::builder().threads(1).build();
    let t = sys.spawn_threaded(
        Component::new("t").inbox_with_size::<u32>("inbox", 10),
        |mut cx| {
            let mut control = cx.inbox::<Signal>("control").expect("declared");
            let _ = control.recv_blocking();
        },
    );
    let mut accepted = Inbox::<usize>::detached("accepted");
    let acc = accepted.endpoint();
    let sender = sys.spawn(
        Component::bare("sender")
            .outbox::<u32>("outbox")
            .outbox::<usize>("report"),
        move |mut cx| async move {
            let me = cx.me().clone();
            cx.link(&me.outbox("report")?, &acc)?;
            let mut out = cx.outbox::<u32>("outbox")?;
            let mut report = cx.outbox::<usize>("report")?;
            let mut n = 0;
            while out.try_send(n as u32).is_ok() {
                n += 1;
            }
            report.try_send(n)?;
            Ok::<_, axon::Error>(())
        },
    );
    link(
        &sender.outbox::<u32>("outbox").unwrap(),
        &t.inbox("inbox").unwrap(),
    )
    .unwrap();
    let mut stop = Outbox::<Signal>::detached("stop");
    link(&stop.endpoint(), &t.inbox("control").unwrap()).unwrap();
    let running = sys.start();
    assert_eq!(accepted.recv_blocking(), Ok(10));
    stop.try_send(Signal::ShutdownMicroprocess).unwrap();
    assert_finished(&t);
    running.wait();
}

/// Ports `test_ThreadedComponent.py::test_NoSpaceInBoxExceptionsReachThread` and
/// `test_ThreadedComponent.py::test_TakingFromDestinationAllowsMoreToBeDelivered` (B-31), adapted: the
/// thread is refused after exactly the destination's limit (10); it then
/// blocks in `send_blocking`, and each item the consumer takes lets exactly
/// one more in.
#[test]
fn back_pressure_reaches_the_thread_and_collecting_unblocks_it() {
    let sys = System::builder().threads(1).build();
    let mut dest = Inbox::<u32>::detached("dest");
    dest.set_size(Some(10));
    let mut reports = Inbox::<String>::detached("reports");
    let (rep, dst) = (reports.endpoint(), dest.endpoint());
    // The body starts at once on its thread: it links its own boxes first.
    let t = sys.spawn_threaded(
        Component::new("t")
            .outbox::<u32>("outbox")
            .outbox::<String>("report"),
        move |mut cx| {
            cx.link(&cx.me().outbox("report").expect("declared"), &rep)
                .expect("links");
            cx.link(&cx.me().outbox("outbox").expect("declared"), &dst)
                .expect("links");
            let mut out = cx.outbox::<u32>("outbox").expect("declared");
            let mut report = cx.outbox::<String>("report").expect("declared");
            let mut n = 0;
            while out.try_send(n).is_ok() {
                n += 1;
            }
            report.try_send(format!("refused after {n}")).unwrap();
            for _ in 0..5 {
                out.send_blocking(n).expect("dest open");
                n += 1;
            }
            let full = matches!(out.try_send(n), Err(TrySendError::Full(_)));
            report.try_send(format!("sent {n}, full again: {full}")).unwrap();
        },
    );
    let running = sys.start();
    assert_eq!(reports.recv_blocking().as_deref(), Ok("refused after 10"));
    // The thread now waits for space.
    quiet();
    assert!(reports.is_empty());
    assert_eq!(dest.len(), 10);
    for want in 0..5 {
        assert_eq!(dest.try_recv(), Ok(want));
    }
    assert_eq!(
        reports.recv_blocking().as_deref(),
        Ok("sent 15, full again: true")
    );
    assert_eq!(drain(&mut dest), (5..15).collect::<Vec<_>>());
    assert_finished(&t);
    running.wait();
}

/// Ports `test_ThreadedComponent.py::test_localprocessterminatesOnlyIfOutqueueFlushed` (B-32), adapted:
/// with no internal queue, every send the thread saw accepted has been
/// delivered by the time it ends, and nothing more.
#[test]
fn every_send_a_thread_saw_accepted_is_delivered() {
    let sys = System::builder().threads(1).build();
    let mut dest = Inbox::<u32>::detached("dest");
    dest.set_size(Some(1));
    let count = Arc::new(Mutex::new(0));
    let c = count.clone();
    let dst = dest.endpoint();
    let t = sys.spawn_threaded(Component::new("t").outbox::<u32>("outbox"), move |mut cx| {
        // The body starts at once on its thread: it links its own outbox first.
        cx.link(&cx.me().outbox("outbox").expect("declared"), &dst)
            .expect("links");
        let mut out = cx.outbox::<u32>("outbox").expect("declared");
        let mut n = 0;
        while out.try_send(n).is_ok() {
            n += 1;
        }
        *c.lock().unwrap() = n;
    });
    sys.run();
    assert_finished(&t);
    dest.set_size(Some(999));
    let got = drain(&mut dest);
    assert_eq!(got.len(), *count.lock().unwrap() as usize);
    assert_eq!(got, [0]);
    assert_eq!(dest.try_recv(), Err(axon::TryRecvError::Closed));
}

/// Ports `test_ThreadedComponent.py::test_localprocessterminatesifInQueueFull` (B-32): a full data inbox
/// does not keep `control` from reaching the thread, and unread data does not
/// keep the finished component alive (senders then get their message back).
#[test]
fn a_full_inbox_does_not_block_control_or_keep_the_component_alive() {
    let sys = System::builder().threads(1).build();
    let t = sys.spawn_threaded(
        Component::new("t").inbox_with_size::<u32>("inbox", 5),
        |mut cx| {
            let mut control = cx.inbox::<Signal>("control").expect("declared");
            assert_eq!(control.recv_blocking(), Ok(Signal::ProducerFinished));
        },
    );
    let mut feed = Outbox::<u32>::detached("feed");
    let mut ctl = Outbox::<Signal>::detached("ctl");
    link(&feed.endpoint(), &t.inbox("inbox").unwrap()).unwrap();
    link(&ctl.endpoint(), &t.inbox("control").unwrap()).unwrap();
    for i in 0..5 {
        feed.try_send(i).unwrap();
    }
    assert!(matches!(feed.try_send(5), Err(TrySendError::Full(5))));
    ctl.try_send(Signal::ProducerFinished).unwrap();
    sys.run();
    assert_finished(&t);
    assert!(matches!(feed.try_send(6), Err(TrySendError::Closed(6))));
}

/// No reference test (DESIGN.md: threaded components use the same wakeups):
/// `pause_blocking` with a timeout returns even if nothing happens, and without
/// one it returns when a message is delivered.
#[test]
fn pause_blocking_returns_on_timeout_and_on_delivery() {
    let sys = System::builder().threads(1).build();
    let mut steps = Inbox::<&'static str>::detached("steps");
    let st = steps.endpoint();
    let t = sys.spawn_threaded(
        Component::new("t")
            .inbox::<u32>("inbox")
            .outbox::<&'static str>("steps"),
        move |mut cx| {
            cx.link(&cx.me().outbox("steps").expect("declared"), &st)
                .expect("links");
            let mut inbox = cx.inbox::<u32>("inbox").expect("declared");
            let mut out = cx.outbox::<&'static str>("steps").expect("declared");
            cx.pause_blocking(Some(Duration::from_millis(20)));
            out.try_send("timed out").unwrap();
            while inbox.is_empty() {
                cx.pause_blocking(None);
            }
            out.try_send("woken by delivery").unwrap();
            assert_eq!(inbox.try_recv(), Ok(5));
        },
    );
    let mut feed = Outbox::<u32>::detached("feed");
    link(&feed.endpoint(), &t.inbox("inbox").unwrap()).unwrap();
    let running = sys.start();
    assert_eq!(steps.recv_blocking(), Ok("timed out"));
    feed.try_send(5).unwrap();
    assert_eq!(steps.recv_blocking(), Ok("woken by delivery"));
    assert_finished(&t);
    running.wait();
}

/// No reference test: a threaded component shows up in the snapshot like any
/// other, with its boxes and queue lengths.
#[test]
fn a_threaded_component_is_in_the_snapshot() {
    let sys = System::builder().threads(1).build();
    let t = sys.spawn_threaded(
        Component::new("t").inbox_with_size::<u32>("inbox", 3),
        |mut cx| {
            let mut control = cx.inbox::<Signal>("control").expect("declared");
            let _ = control.recv_blocking();
        },
    );
    let mut feed = Outbox::<u32>::detached("feed");
    link(&feed.endpoint(), &t.inbox("inbox").unwrap()).unwrap();
    feed.try_send(1).unwrap();
    feed.try_send(2).unwrap();
    let snap = sys.snapshot();
    let info = snap.component(t.id()).expect("listed");
    assert_eq!(info.kind, Kind::Threaded);
    assert_eq!(info.name, "t");
    let inbox = info
        .boxes
        .iter()
        .find(|b| b.name == "inbox")
        .expect("inbox listed");
    assert_eq!((inbox.len, inbox.limit), (2, Some(3)));
    let mut stop = Outbox::<Signal>::detached("stop");
    link(&stop.endpoint(), &t.inbox("control").unwrap()).unwrap();
    stop.try_send(Signal::ShutdownMicroprocess).unwrap();
    assert_eq!(wait_gone(&sys, &t), Outcome::Finished);
    assert!(sys.snapshot().component(t.id()).is_none());
}

/// No reference test: a threaded child's end (normal or a panic) is reported
/// to its async parent, and a panic sends `Signal::Failed`.
#[test]
fn a_threaded_childs_end_is_reported_to_its_parent() {
    let sys = System::builder().threads(1).build();
    let mut signals = Inbox::<Signal>::detached("signals");
    let sig = signals.endpoint();
    let parent = sys.spawn(Component::bare("parent"), move |cx| async move {
        let ok = cx.spawn_threaded_child(Component::new("ok"), |_cx| {});
        let bad = cx.spawn_threaded_child(Component::new("bad").inbox::<()>("go"), |mut cx| {
            let mut go = cx.inbox::<()>("go").expect("declared");
            if go.recv_blocking().is_ok() {
                panic!("thread boom");
            }
        });
        cx.link(&bad.outbox::<Signal>("signal")?, &sig)?;
        let mut go = Outbox::<()>::detached("go");
        cx.link(&go.endpoint(), &bad.inbox("go")?)?;
        go.try_send(())?;
        let mut exits = Vec::new();
        while let Some(e) = cx.child_exit().await {
            exits.push((e.child, e.outcome));
        }
        assert_eq!(exits.len(), 2);
        assert!(exits.contains(&(ok, Outcome::Finished)));
        assert!(exits.contains(&(bad, Outcome::Panicked("thread boom".into()))));
        Ok::<_, axon::Error>(())
    });
    sys.run();
    assert_finished(&parent);
    match signals.try_recv() {
        Ok(Signal::Failed(f)) => assert!(f.panicked && f.name == "bad"),
        other => panic!("expected a failure signal, got {other:?}"),
    }
}

/// Ports `test_ThreadedComponent.py::test_linksafe` (B-33), as a stress test: the thread links and unlinks
/// its own outbox -> inbox while this thread links and unlinks its signal ->
/// control; nothing deadlocks, every message sent while linked arrives, and
/// no linkage is left over.
#[test]
fn linking_from_the_thread_and_from_outside_at_once_is_safe() {
    let sys = System::builder().threads(1).build();
    let t = sys.spawn_threaded(
        Component::new("t")
            .inbox_and_outbox::<u32, u32>()
            .inbox::<()>("done"),
        |mut cx| {
            let me = cx.me().clone();
            let mut done = cx.inbox::<()>("done").expect("declared");
            let mut inbox = cx.inbox::<u32>("inbox").expect("declared");
            let mut out = cx.outbox::<u32>("outbox").expect("declared");
            for i in 0..500 {
                let l = cx
                    .link(&me.outbox::<u32>("outbox").unwrap(), &me.inbox("inbox").unwrap())
                    .expect("links");
                out.try_send(i).expect("room");
                assert_eq!(inbox.try_recv(), Ok(i));
                cx.unlink(&l).expect("unlinks");
            }
            assert!(cx.linkages().is_empty());
            // Stay alive until the outside has finished its part.
            let _ = done.recv_blocking();
        },
    );
    let finished = Outbox::<()>::detached("finished");
    link(&finished.endpoint(), &t.inbox("done").unwrap()).unwrap();
    for _ in 0..500 {
        let l = link(
            &t.outbox::<Signal>("signal").unwrap(),
            &t.inbox("control").unwrap(),
        )
        .unwrap();
        l.unlink().unwrap();
    }
    drop(finished);
    sys.run();
    assert_finished(&t);
    assert!(sys.snapshot().linkages.is_empty());
}

/// Ports `test_ThreadedComponent.py::threadedadaptivecommscomponent_Test::test_addInbox` and
/// `test_ThreadedComponent.py::test_addOutbox` (B-33): from the thread, add an inbox that outside code
/// can deliver to at once, and add an outbox, link it and send through it.
#[test]
fn a_thread_can_add_boxes_and_use_them_at_once() {
    let sys = System::builder().threads(1).build();
    let mut names = Inbox::<String>::detached("names");
    let mut recorder = Inbox::<String>::detached("recorder");
    let (nm, rec) = (names.endpoint(), recorder.endpoint());
    let t = sys.spawn_threaded(Component::new("t").outbox::<String>("names"), move |mut cx| {
        cx.link(&cx.me().outbox("names").expect("declared"), &nm)
            .expect("links");
        let mut report = cx.outbox::<String>("names").expect("declared");
        let (name, mut newbox) = cx.add_inbox::<String>("newbox");
        report.try_send(name).unwrap();
        let got = newbox.recv_blocking().expect("delivered");
        let (oname, mut newout) = cx.add_outbox::<String>("newout");
        cx.link(&cx.me().outbox(&oname).expect("added"), &rec)
            .expect("links");
        newout.try_send(format!("{got} back")).unwrap();
    });
    let running = sys.start();
    let name = names.recv_blocking().unwrap();
    assert_eq!(name, "newbox");
    let mut feed = Outbox::<String>::detached("feed");
    link(&feed.endpoint(), &t.inbox(&name).unwrap()).unwrap();
    feed.try_send("hello".into()).unwrap();
    assert_eq!(recorder.recv_blocking().as_deref(), Ok("hello back"));
    assert_finished(&t);
    running.wait();
    wait_until("nothing left", || sys.live_components() == 0);
}
