//! Size-limited boxes: `try_send` hands a refused message back, limits can be
//! changed at any time, and only the final inbox of a chain has a say.
//!
//! Ports `test_Postoffice.py::SizeLimitedBoxes_Test` (reference catalog §8.3;
//! B-4..B-8). Deliberate differences from Axon (DESIGN.md): `try_send` returns
//! the message in `TrySendError::Full` instead of raising `noSpaceInBox` (nothing
//! is lost); an unlinked outbox holds what is sent (optionally up to its own
//! limit) instead of dropping it.

mod common;

use axon::{link, Component, Inbox, Outbox, System, TrySendError};
use common::{assert_finished, drain, spawn_counted, wait_until};

/// Send `n` messages, all of which must be accepted.
#[track_caller]
fn send_ok(out: &mut Outbox<u32>, n: u32) {
    for i in 0..n {
        if let Err(e) = out.try_send(i) {
            panic!("send {i} of {n} refused: {e}");
        }
    }
}

#[track_caller]
fn assert_full(out: &mut Outbox<u32>, msg: u32) {
    match out.try_send(msg) {
        Err(TrySendError::Full(back)) => assert_eq!(back, msg, "the refused message comes back"),
        other => panic!("expected Full, got {other:?}"),
    }
}

/// Ports `test_Postoffice.py::SizeLimitedBoxes_Test::test_smoketest`, `test_Postoffice.py::test_BoxSizeGetsLimited` and
/// `test_Postoffice.py::test_ExceedBoxSizeAndGetException` (B-4), on a component's declared inbox:
/// five sends fit, the sixth is refused at the sender with the message handed
/// back, and the limit shows in the snapshot.
#[test]
fn a_bounded_inbox_takes_its_limit_then_refuses_with_the_message_back() {
    let sys = System::builder().threads(1).build();
    let y = sys.spawn(
        Component::bare("y").inbox_with_size::<String>("inbox", 5),
        |cx| async move {
            let _keep = cx;
            std::future::pending::<()>().await
        },
    );
    let mut out = Outbox::<String>::detached("x");
    link(&out.endpoint(), &y.inbox("inbox").unwrap()).unwrap();
    for i in 0..5 {
        out.try_send(format!("m{i}")).unwrap();
    }
    match out.try_send("sixth".to_string()) {
        Err(e @ TrySendError::Full(_)) => {
            assert!(e.is_full());
            assert_eq!(e.into_inner(), "sixth");
        }
        other => panic!("expected Full, got {other:?}"),
    }
    let snap = sys.snapshot();
    let b = snap
        .component(y.id())
        .unwrap()
        .boxes
        .iter()
        .find(|b| b.name == "inbox")
        .unwrap()
        .clone();
    assert_eq!((b.len, b.limit), (5, Some(5)));

    // The same with a limit set on a plain inbox.
    let mut inbox = Inbox::<u32>::detached("limited");
    assert_eq!(inbox.size(), None);
    inbox.set_size(Some(5));
    assert_eq!(inbox.size(), Some(5));
    let mut out = Outbox::<u32>::detached("out");
    link(&out.endpoint(), &inbox.endpoint()).unwrap();
    send_ok(&mut out, 5);
    assert_full(&mut out, 99);
    assert_eq!(drain(&mut inbox), [0, 1, 2, 3, 4]);
}

/// Ports `test_Postoffice.py::SizeLimitedBoxes_Test::test_removingFromInboxAllowsYouToPutMoreIn`
/// (B-5): taking k from a full box lets exactly k more in.
#[test]
fn collecting_frees_exactly_as_many_slots() {
    let mut inbox = Inbox::<u32>::detached("in");
    inbox.set_size(Some(5));
    let mut out = Outbox::<u32>::detached("out");
    link(&out.endpoint(), &inbox.endpoint()).unwrap();
    send_ok(&mut out, 5);
    for want in 0..3 {
        assert_eq!(inbox.try_recv(), Ok(want));
    }
    send_ok(&mut out, 3);
    assert_full(&mut out, 100);
    assert_eq!(inbox.len(), 5);
}

/// Ports `test_Postoffice.py::SizeLimitedBoxes_Test::test_SettingSizeLimitToNoneSetsToUnlimited` and
/// `test_Postoffice.py::test_TurningOffSizeLimit` (B-6).
#[test]
fn no_limit_means_unbounded_and_the_limit_can_be_lifted_when_full() {
    let inbox = Inbox::<u32>::detached("in");
    inbox.set_size(None);
    let mut out = Outbox::<u32>::detached("out");
    link(&out.endpoint(), &inbox.endpoint()).unwrap();
    send_ok(&mut out, 9999);
    assert_eq!(inbox.len(), 9999);

    let inbox = Inbox::<u32>::detached("in2");
    inbox.set_size(Some(5));
    let mut out = Outbox::<u32>::detached("out2");
    link(&out.endpoint(), &inbox.endpoint()).unwrap();
    send_ok(&mut out, 5);
    assert_full(&mut out, 5);
    inbox.set_size(None);
    send_ok(&mut out, 500);
    assert_eq!(inbox.len(), 505);
}

/// No reference test (Axon's `setSize` is untested beyond the above): lowering
/// the limit below what is queued keeps the messages and refuses sends until
/// the consumer has caught up.
#[test]
fn lowering_the_limit_keeps_what_is_there_and_refuses_until_caught_up() {
    let mut inbox = Inbox::<u32>::detached("in");
    inbox.set_size(Some(5));
    let mut out = Outbox::<u32>::detached("out");
    link(&out.endpoint(), &inbox.endpoint()).unwrap();
    send_ok(&mut out, 4);
    inbox.set_size(Some(2));
    assert_eq!(inbox.len(), 4);
    assert_full(&mut out, 10);
    assert_eq!(inbox.try_recv(), Ok(0));
    assert_eq!(inbox.try_recv(), Ok(1));
    assert_full(&mut out, 11); // 2 queued, limit 2
    assert_eq!(inbox.try_recv(), Ok(2));
    out.try_send(12).unwrap();
    assert_full(&mut out, 13);
    assert_eq!(drain(&mut inbox), [3, 12]);
    // Through a BoxRef (how a parent would set a child's limit).
    inbox.endpoint().set_size(Some(1));
    assert_eq!(inbox.size(), Some(1));
}

/// No reference test: raising the limit lets a sender that is already waiting
/// in `send().await` in at once.
#[test]
fn raising_the_limit_lets_a_waiting_sender_in() {
    let sys = System::builder().threads(1).build();
    let mut inbox = Inbox::<u32>::detached("in");
    inbox.set_size(Some(1));
    let (p, counts) = spawn_counted(
        &sys,
        Component::bare("p").outbox::<u32>("outbox"),
        |mut cx| async move {
            let mut out = cx.outbox::<u32>("outbox")?;
            out.send(1).await?;
            out.send(2).await?;
            Ok::<_, axon::Error>(())
        },
    );
    link(&p.outbox::<u32>("outbox").unwrap(), &inbox.endpoint()).unwrap();
    let running = sys.start();
    wait_until("the producer waits for space", || counts.parked_after(1));
    assert_eq!(inbox.len(), 1);
    inbox.set_size(Some(2));
    assert_finished(&p);
    assert_eq!(drain(&mut inbox), [1, 2]);
    running.wait();
}

/// Ports `test_Postoffice.py::SizeLimitedBoxes_Test::test_SizeLimitMidLinkageChainHasNoEffect` and
/// `test_Postoffice.py::test_SizeLimitMidLinkageChainComesIntoEffectIfChainBroken` (B-7): a limit
/// on a box in the middle of a chain has no effect; when the chain is cut there,
/// that box is final and its limit applies from scratch.
#[test]
fn only_the_final_inbox_limit_counts() {
    let mut a = Outbox::<u32>::detached("a");
    let b = Inbox::<u32>::detached("b");
    let c = Inbox::<u32>::detached("c");
    b.set_size(Some(5));
    link(&a.endpoint(), &b.endpoint()).unwrap();
    let pt = link(&b.endpoint(), &c.endpoint()).unwrap();
    send_ok(&mut a, 10);
    assert_eq!(c.len(), 10);
    assert_eq!(b.len(), 0);
    pt.unlink().unwrap();
    send_ok(&mut a, 5);
    assert_full(&mut a, 5);
    assert_eq!(b.len(), 5);
    assert_eq!(c.len(), 10);
}

/// Ports `test_Postoffice.py::SizeLimitedBoxes_Test::test_AllProducersExperienceSameSizeLimit` (B-8):
/// a and b feed e (limit 16), c and d feed e through b's outbox; sending round
/// robin, the first 16 sends succeed, whoever makes them, and every later one
/// is refused.
#[test]
fn every_producer_meets_the_same_final_limit() {
    let mut e = Inbox::<u32>::detached("e");
    e.set_size(Some(16));
    let mut a = Outbox::<u32>::detached("a");
    let mut b = Outbox::<u32>::detached("b");
    let mut c = Outbox::<u32>::detached("c");
    let mut d = Outbox::<u32>::detached("d");
    link(&a.endpoint(), &e.endpoint()).unwrap();
    link(&b.endpoint(), &e.endpoint()).unwrap();
    link(&c.endpoint(), &b.endpoint()).unwrap();
    link(&d.endpoint(), &b.endpoint()).unwrap();
    let limit = e.size().unwrap() as u32;
    let mut producers = [&mut a, &mut b, &mut c, &mut d];
    for n in 0..40u32 {
        let p = &mut producers[(n % 4) as usize];
        let r = p.try_send(n);
        if n < limit {
            assert!(r.is_ok(), "send {n} refused");
        } else {
            assert!(
                matches!(r, Err(TrySendError::Full(m)) if m == n),
                "send {n} not refused"
            );
        }
    }
    assert_eq!(drain(&mut e), (0..16).collect::<Vec<_>>());
}

/// No reference test (Axon dropped sends on an unlinked outbox): an unlinked
/// outbox holds sends, up to its own limit if it has one; once linked, only the
/// final inbox's limit applies.
#[test]
fn an_unlinked_outbox_holds_up_to_its_own_limit() {
    let mut out = Outbox::<u32>::detached("out");
    out.set_size(Some(2));
    send_ok(&mut out, 2);
    assert_full(&mut out, 2);
    assert_eq!(out.held(), 2);
    let mut inbox = Inbox::<u32>::detached("in");
    inbox.set_size(Some(4));
    link(&out.endpoint(), &inbox.endpoint()).unwrap();
    assert_eq!(out.held(), 0);
    out.try_send(10).unwrap();
    out.try_send(11).unwrap();
    assert_full(&mut out, 12);
    assert_eq!(drain(&mut inbox), [0, 1, 10, 11]);
}

/// A refused message is moved back, not copied: works for types that are not
/// `Clone`.
#[test]
fn the_refused_message_itself_comes_back() {
    struct Token(Box<u64>);
    let inbox = Inbox::<Token>::detached("in");
    inbox.set_size(Some(0));
    let mut out = Outbox::<Token>::detached("out");
    link(&out.endpoint(), &inbox.endpoint()).unwrap();
    let back = out.try_send(Token(Box::new(42))).unwrap_err().into_inner();
    assert_eq!(*back.0, 42);
    assert!(inbox.is_empty());
}

/// Issue 16: an outbox with nothing linked holds at most the default limit
/// (1000) and then pushes back — a threaded component's outbox too — and a
/// waiting `send` goes through once it is linked.
#[test]
fn an_unlinked_threaded_outbox_refuses_the_1001st_send() {
    assert_eq!(axon::DEFAULT_OUTBOX_LIMIT, 1000);
    let sys = System::builder().threads(1).build();
    let (tx, rx) = std::sync::mpsc::channel::<&'static str>();
    let p = sys.spawn_threaded(Component::new("p").outbox::<u32>("outbox"), move |mut cx| {
        let mut out = cx.outbox::<u32>("outbox").expect("declared");
        for i in 0..1000 {
            out.try_send(i).expect("fits");
        }
        match out.try_send(1000) {
            Err(TrySendError::Full(1000)) => {}
            other => panic!("the 1001st send: {other:?}"),
        }
        tx.send("full").unwrap();
        // Blocks until linked (and then until there is room).
        out.send_blocking(1000).expect("delivered once linked");
    });
    let running = sys.start();
    assert_eq!(rx.recv_timeout(std::time::Duration::from_secs(10)), Ok("full"));
    let mut sink = Inbox::<u32>::detached("sink");
    link(&p.outbox::<u32>("outbox").unwrap(), &sink.endpoint()).unwrap();
    assert_finished(&p);
    assert_eq!(drain(&mut sink), (0..=1000).collect::<Vec<_>>());
    running.wait();
}

/// Issue 16: a held batch linked into a size-5 inbox: five move, the rest stay
/// behind (later sends queue behind them) and follow, in order, as the
/// consumer makes room; the inbox never holds more than five.
#[test]
fn a_held_batch_moved_into_a_size_5_inbox_never_exceeds_5() {
    let mut out = Outbox::<u32>::detached("out");
    send_ok(&mut out, 20);
    let mut inbox = Inbox::<u32>::detached("in");
    inbox.set_size(Some(5));
    link(&out.endpoint(), &inbox.endpoint()).unwrap();
    assert_eq!((inbox.len(), out.held()), (5, 15));
    // Sent after the link: behind the held ones, in the outbox for now.
    out.try_send(20).unwrap();
    assert_eq!(out.held(), 16);
    let mut got = Vec::new();
    while let Ok(m) = inbox.try_recv() {
        assert!(inbox.len() <= 5, "over the limit: {}", inbox.len());
        got.push(m);
    }
    assert_eq!(got, (0..=20).collect::<Vec<_>>());
    assert_eq!(out.held(), 0);
    // Drained: sends go straight to the inbox again, and its limit applies.
    send_ok(&mut out, 5);
    assert_full(&mut out, 5);
    assert_eq!(inbox.len(), 5);
}

/// Issue 16: the same while a producer thread keeps sending (awaiting room)
/// and a consumer thread receives: nothing lost, duplicated or reordered, the
/// inbox never over its limit, and the end of the stream comes after the
/// held messages.
#[test]
fn draining_under_load_keeps_order_and_the_limit() {
    const HELD: u32 = 300;
    const MORE: u32 = 2000;
    let mut out = Outbox::<u32>::detached("out");
    out.set_size(None);
    send_ok(&mut out, HELD);
    let mut inbox = Inbox::<u32>::detached("in");
    inbox.set_size(Some(5));
    let target = inbox.endpoint();
    let out_ep = out.endpoint();
    let consumer = std::thread::spawn(move || {
        let mut got = Vec::new();
        while let Ok(m) = inbox.recv_blocking() {
            assert!(inbox.len() <= 5, "over the limit: {}", inbox.len());
            got.push(m);
        }
        got
    });
    let producer = std::thread::spawn(move || {
        for i in HELD..HELD + MORE {
            out.send_blocking(i).expect("the consumer is there");
        }
        // Dropping `out` ends the stream once everything has arrived.
    });
    // Linked while the producer is sending (into the outbox, held, until now).
    link(&out_ep, &target).unwrap();
    producer.join().unwrap();
    let got = consumer.join().unwrap();
    assert_eq!(got, (0..HELD + MORE).collect::<Vec<_>>());
}
