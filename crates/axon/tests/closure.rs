//! Closure: an inbox reports `Closed` once every sender linked into it is gone
//! and it is drained; a send into an inbox that no longer receives hands the
//! message back; an unlinked outbox holds what is sent until it is linked.
//!
//! No Axon test covers these (Axon had no closure: consumers relied on
//! `producerFinished` messages, and a send on an unlinked outbox was silently
//! dropped, catalog B-3). They are kamaelia-rs additions (DESIGN.md glossary:
//! "a consumer learns when every producer is gone"; "never lose a message").
//! Deliberate difference from Axon: an unlinked outbox holds instead of
//! dropping.

mod common;

use std::sync::Arc;

use axon::{
    block_on, link, Component, Inbox, Outbox, RecvError, SendError, System, TryRecvError, TrySendError,
};
use common::{assert_finished, drain, quiet, spawn_counted, wait_gone, wait_parked};

/// An inbox closes only after its last sender is gone and it is drained.
#[test]
fn recv_reports_closed_after_every_sender_is_gone_and_the_box_is_drained() {
    let mut inbox = Inbox::<u32>::detached("in");
    let mut a = Outbox::<u32>::detached("a");
    let mut b = Outbox::<u32>::detached("b");
    link(&a.endpoint(), &inbox.endpoint()).unwrap();
    link(&b.endpoint(), &inbox.endpoint()).unwrap();
    a.try_send(1).unwrap();
    drop(a);
    assert_eq!(inbox.try_recv(), Ok(1));
    assert_eq!(inbox.try_recv(), Err(TryRecvError::Empty), "b is still there");
    b.try_send(2).unwrap();
    b.try_send(3).unwrap();
    drop(b);
    assert_eq!(inbox.recv_blocking(), Ok(2));
    assert_eq!(inbox.recv_blocking(), Ok(3));
    assert_eq!(inbox.recv_blocking(), Err(RecvError::Closed));
    assert_eq!(inbox.try_recv(), Err(TryRecvError::Closed));
}

/// Senders reaching an inbox through passthrough linkages count too: the
/// inbox closes when the last outbox upstream of it is gone.
#[test]
fn senders_upstream_through_passthroughs_count_as_senders() {
    let mut inner = Outbox::<u32>::detached("child.outbox");
    let outer = Outbox::<u32>::detached("parent.outbox");
    let mid = Inbox::<u32>::detached("mid");
    let mut last = Inbox::<u32>::detached("last");
    link(&inner.endpoint(), &outer.endpoint()).unwrap();
    link(&outer.endpoint(), &mid.endpoint()).unwrap();
    link(&mid.endpoint(), &last.endpoint()).unwrap();
    inner.try_send(1).unwrap();
    drop(outer);
    assert_eq!(last.try_recv(), Ok(1));
    assert_eq!(
        last.try_recv(),
        Err(TryRecvError::Empty),
        "the inner outbox still sends"
    );
    inner.try_send(2).unwrap();
    drop(inner);
    assert_eq!(drain(&mut last), [2]);
    assert_eq!(last.try_recv(), Err(TryRecvError::Closed));
}

/// A component waiting in `recv` is woken by the closure and ends.
#[test]
fn a_waiting_consumer_is_woken_by_closure_and_ends() {
    let sys = System::builder().threads(1).build();
    let (c, counts) = spawn_counted(
        &sys,
        Component::bare("c").inbox::<u32>("inbox"),
        |mut cx| async move {
            let mut inbox = cx.inbox::<u32>("inbox")?;
            let mut n = 0;
            while inbox.recv().await.is_ok() {
                n += 1;
            }
            assert_eq!(n, 0);
            Ok::<_, axon::Error>(())
        },
    );
    let feed = Outbox::<u32>::detached("feed");
    link(&feed.endpoint(), &c.inbox("inbox").unwrap()).unwrap();
    let running = sys.start();
    wait_parked(&counts, 1);
    drop(feed);
    assert_finished(&c);
    assert_eq!(counts.polls(), 2, "woken exactly once, by the closure");
    running.wait();
}

/// An inbox nothing was ever linked to does not close: it may still be
/// linked later.
#[test]
fn a_never_linked_inbox_does_not_close() {
    let mut inbox = Inbox::<u32>::detached("lonely");
    assert_eq!(inbox.try_recv(), Err(TryRecvError::Empty));

    let sys = System::builder().threads(1).build();
    let (c, counts) = spawn_counted(
        &sys,
        Component::bare("c").inbox::<u32>("inbox"),
        |mut cx| async move {
            let mut inbox = cx.inbox::<u32>("inbox")?;
            assert_eq!(inbox.recv().await, Ok(5));
            Ok::<_, axon::Error>(())
        },
    );
    let running = sys.start();
    wait_parked(&counts, 1);
    quiet();
    assert!(!c.is_finished(), "still waiting for a sender");
    let mut late = Outbox::<u32>::detached("late");
    link(&late.endpoint(), &c.inbox("inbox").unwrap()).unwrap();
    late.try_send(5).unwrap();
    assert_finished(&c);
    running.wait();
}

/// A send into the inbox of a component that has finished hands the message
/// back as `Closed`, whether tried, awaited, or blocking.
#[test]
fn sending_to_a_finished_components_inbox_hands_the_message_back() {
    let sys = System::builder().threads(1).build();
    let c = sys.spawn(
        Component::bare("c").inbox::<String>("inbox"),
        |mut cx| async move {
            let _inbox = cx.inbox::<String>("inbox")?;
            Ok::<_, axon::Error>(())
        },
    );
    let mut feed = Outbox::<String>::detached("feed");
    link(&feed.endpoint(), &c.inbox("inbox").unwrap()).unwrap();
    let running = sys.start();
    wait_gone(&sys, &c);
    match feed.try_send("one".into()) {
        Err(TrySendError::Closed(m)) => assert_eq!(m, "one"),
        other => panic!("expected Closed, got {other:?}"),
    }
    assert_eq!(
        block_on(feed.send("two".into())),
        Err(SendError::new("two".to_string()))
    );
    assert_eq!(
        feed.send_blocking("three".into()),
        Err(SendError::new("three".to_string()))
    );
    assert_eq!(feed.held(), 0, "nothing was kept");
    running.wait();

    // Dropping a detached inbox closes it the same way.
    let gone = Inbox::<u8>::detached("gone");
    let mut out = Outbox::<u8>::detached("out");
    link(&out.endpoint(), &gone.endpoint()).unwrap();
    drop(gone);
    assert!(matches!(out.try_send(1), Err(TrySendError::Closed(1))));
}

/// A sender waiting for space when the destination closes gets its message
/// back instead of waiting forever.
#[test]
fn a_sender_waiting_for_space_gets_its_message_back_when_the_destination_closes() {
    let inbox = Inbox::<String>::detached("full");
    inbox.set_size(Some(1));
    let mut out = Outbox::<String>::detached("out");
    link(&out.endpoint(), &inbox.endpoint()).unwrap();
    out.try_send("fills it".into()).unwrap();
    let started = Arc::new(std::sync::Barrier::new(2));
    let s = started.clone();
    let waiter = std::thread::spawn(move || {
        s.wait();
        out.send_blocking("waits".into())
    });
    started.wait();
    // Whether or not the thread is already waiting, the answer is the same.
    drop(inbox);
    assert_eq!(waiter.join().unwrap(), Err(SendError::new("waits".to_string())));
}

/// Sends on an outbox that is not linked are held there, in order, and move to
/// the destination when it is linked, also for a component that sent before
/// anyone linked it (Axon dropped them).
#[test]
fn an_unlinked_outbox_holds_messages_until_it_is_linked() {
    let mut out = Outbox::<u32>::detached("out");
    for i in 0..3 {
        out.try_send(i).unwrap();
    }
    assert_eq!(out.held(), 3);
    let mut inbox = Inbox::<u32>::detached("in");
    link(&out.endpoint(), &inbox.endpoint()).unwrap();
    out.try_send(3).unwrap();
    assert_eq!(out.held(), 0);
    assert_eq!(drain(&mut inbox), [0, 1, 2, 3]);

    let sys = System::builder().threads(1).build();
    let p = sys.spawn(
        Component::bare("p").outbox::<u32>("outbox"),
        |mut cx| async move {
            let mut out = cx.outbox::<u32>("outbox")?;
            for i in 10..15 {
                out.send(i).await?;
            }
            Ok::<_, axon::Error>(())
        },
    );
    sys.run(); // p finishes with nothing linked
    assert_finished(&p);
    let mut late = Inbox::<u32>::detached("late");
    link(&p.outbox::<u32>("outbox").unwrap(), &late.endpoint()).unwrap();
    assert_eq!(drain(&mut late), [10, 11, 12, 13, 14]);
    // That the stream is then complete (Closed) is checked in
    // `an_inbox_fed_only_by_a_finished_sender_closes_once_drained`.
}

/// An inbox linked to an outbox whose owner is already gone receives what the
/// outbox held and then, drained with no sender left, reports `Closed`, as for
/// a sender that goes away after linking. Otherwise a consumer of a finished
/// producer's output waits forever.
#[test]
fn an_inbox_fed_only_by_a_finished_sender_closes_once_drained() {
    // A component that sent into its unlinked outbox and finished.
    let sys = System::builder().threads(1).build();
    let p = sys.spawn(
        Component::bare("p").outbox::<u32>("outbox"),
        |mut cx| async move {
            let mut out = cx.outbox::<u32>("outbox")?;
            out.try_send(1)?;
            Ok::<_, axon::Error>(())
        },
    );
    sys.run();
    assert_finished(&p);
    let mut late = Inbox::<u32>::detached("late");
    link(&p.outbox::<u32>("outbox").unwrap(), &late.endpoint()).unwrap();
    assert_eq!(late.try_recv(), Ok(1));
    assert_eq!(late.try_recv(), Err(TryRecvError::Closed));

    // The same with a detached outbox dropped before it was linked.
    let mut out = Outbox::<u32>::detached("out");
    out.try_send(2).unwrap();
    let out_ref = out.endpoint();
    drop(out);
    let mut inbox = Inbox::<u32>::detached("in");
    link(&out_ref, &inbox.endpoint()).unwrap();
    assert_eq!(inbox.try_recv(), Ok(2));
    assert_eq!(inbox.try_recv(), Err(TryRecvError::Closed));
}

/// No reference test (a regression test for our lock-free re-park, see
/// `wakeup.rs`, "Arming"): a component that takes the last message out of an
/// inbox whose senders are already gone, and receives again in the same poll,
/// is told `Closed` instead of waiting forever. Also with the component
/// receiving several messages per poll, on one and two worker threads.
#[test]
fn a_receiver_that_drains_a_box_whose_senders_are_gone_sees_closed_in_the_same_poll() {
    for (threads, messages) in [(1, 1u32), (1, 5), (2, 1), (2, 5)] {
        let sys = System::builder().threads(threads).build();
        let mut feeder = Outbox::<u32>::detached("feeder");
        let got = Arc::new(std::sync::Mutex::new(Vec::new()));
        let g = got.clone();
        let consumer = sys.spawn(
            Component::new("consumer").inbox_and_outbox::<u32, u32>(),
            move |mut cx| async move {
                let mut inbox = cx.inbox::<u32>("inbox")?;
                loop {
                    match inbox.recv().await {
                        Ok(x) => g.lock().unwrap().push(x),
                        Err(RecvError::Closed) => return Ok::<_, axon::Error>(()),
                    }
                }
            },
        );
        link(&feeder.endpoint(), &consumer.inbox::<u32>("inbox").unwrap()).unwrap();
        for i in 0..messages {
            feeder.try_send(i).unwrap();
        }
        // Every sender is gone before the consumer first runs.
        drop(feeder);
        let running = sys.start();
        assert_finished(&consumer);
        running.wait();
        assert_eq!(*got.lock().unwrap(), (0..messages).collect::<Vec<_>>());
    }
}

/// Issue 16: closure means the senders ended. A third party unlinking the last
/// linkage into an inbox (rewiring) does not close it; a new sender linked in
/// feeds it; only when that one ends does the stream end.
#[test]
fn rewiring_does_not_close() {
    let mut a = Outbox::<u32>::detached("a");
    let mut inbox = Inbox::<u32>::detached("in");
    let la = link(&a.endpoint(), &inbox.endpoint()).unwrap();
    a.try_send(1).unwrap();
    la.unlink().unwrap();
    assert_eq!(inbox.try_recv(), Ok(1));
    assert_eq!(
        inbox.try_recv(),
        Err(TryRecvError::Empty),
        "unlinked is not ended"
    );
    let mut b = Outbox::<u32>::detached("b");
    link(&b.endpoint(), &inbox.endpoint()).unwrap();
    b.try_send(2).unwrap();
    drop(a); // cut off already: its end is not this inbox's
    assert_eq!(inbox.try_recv(), Ok(2));
    assert_eq!(inbox.try_recv(), Err(TryRecvError::Empty));
    drop(b);
    assert_eq!(inbox.try_recv(), Err(TryRecvError::Closed));
}

/// The same with components, as a Carousel does it: a parent swaps which
/// child feeds a consumer; the consumer, waiting in `recv().await`, never sees
/// its stream end in between, and sees it end when the last child ends.
#[test]
fn a_consumer_rewired_between_producers_sees_one_stream() {
    let sys = System::builder().threads(1).build();
    let consumer = sys.spawn(
        Component::bare("consumer").inbox::<u32>("inbox"),
        |mut cx| async move {
            let mut inbox = cx.inbox::<u32>("inbox")?;
            let mut got = Vec::new();
            while let Ok(x) = inbox.recv().await {
                got.push(x);
            }
            assert_eq!(got, [1, 2, 3, 4]);
            Ok::<_, axon::Error>(())
        },
    );
    let target = consumer.inbox::<u32>("inbox").unwrap();
    let parent = sys.spawn(Component::bare("parent"), move |cx| async move {
        for pair in [[1u32, 2], [3, 4]] {
            // A child that sends its pair then waits to be told to go.
            let child = cx.spawn_child(
                Component::bare("child").outbox::<u32>("outbox").inbox::<()>("go"),
                move |mut cx| async move {
                    let mut out = cx.outbox::<u32>("outbox")?;
                    let mut go = cx.inbox::<()>("go")?;
                    for x in pair {
                        out.send(x).await?;
                    }
                    let _ = go.recv().await;
                    Ok::<_, axon::Error>(())
                },
            );
            let l = cx.link(&child.outbox::<u32>("outbox")?, &target)?;
            // Let the child send, then cut it off while it still runs.
            for _ in 0..4 {
                axon::yield_now().await;
            }
            cx.unlink(&l)?;
            // The child ends after the unlink: that is not this stream's end.
            let mut go = Outbox::<()>::detached("go");
            cx.link(&go.endpoint(), &child.inbox::<()>("go")?)?;
            go.try_send(())?;
            let _ = cx.child_exit().await;
        }
        // The last sender of the stream ends: a sender that ends.
        let last = Outbox::<u32>::detached("last");
        cx.link(&last.endpoint(), &target)?;
        drop(last);
        Ok::<_, axon::Error>(())
    });
    let running = sys.start();
    assert_finished(&parent);
    assert_finished(&consumer);
    running.wait();
}

/// A component that ends closes the inboxes it fed, also through a linkage it
/// made itself (its outboxes close before its linkages are removed).
#[test]
fn an_ending_component_closes_what_it_fed_through_its_own_links() {
    let sys = System::builder().threads(1).build();
    let mut inbox = Inbox::<u32>::detached("in");
    let target = inbox.endpoint();
    let p = sys.spawn(
        Component::bare("p").outbox::<u32>("outbox"),
        move |mut cx| async move {
            let mut out = cx.outbox::<u32>("outbox")?;
            cx.link(&cx.me().outbox::<u32>("outbox")?, &target)?;
            out.send(5).await?;
            Ok::<_, axon::Error>(())
        },
    );
    sys.run();
    assert_finished(&p);
    assert_eq!(inbox.try_recv(), Ok(5));
    assert_eq!(inbox.try_recv(), Err(TryRecvError::Closed));
}
