//! Receiving collects in batches (see "Collecting in batches" in the `inbox`
//! module docs): a receive that finds several messages in a box without a size
//! limit takes them all into the handle. These tests pin down what a user can
//! observe of that: order, counts, closure, passthrough links, `pause()` and
//! `any_ready()`, and that a size-limited box is never collected in batches.

mod common;

use axon::{block_on, link, Component, Inbox, Outbox, RecvError, System, TryRecvError};
use proptest::prelude::*;

#[test]
fn a_receive_collects_the_rest_and_order_is_kept_with_later_arrivals() {
    let mut out = Outbox::<u32>::detached("out");
    let mut inbox = Inbox::<u32>::detached("in");
    link(&out.endpoint(), &inbox.endpoint()).unwrap();
    for i in 1..=5 {
        out.try_send(i).unwrap();
    }
    assert_eq!(block_on(inbox.recv()), Ok(1));
    // 2..=5 now sit in the handle, not in the box.
    assert_eq!(inbox.endpoint().len(), 0, "the box itself was emptied");
    assert_eq!(inbox.len(), 4, "the handle's messages count");
    assert!(inbox.data_ready());
    for i in 6..=8 {
        out.try_send(i).unwrap();
    }
    assert_eq!(inbox.len(), 7);
    let mut got = Vec::new();
    for _ in 0..7 {
        got.push(block_on(inbox.recv()).unwrap());
    }
    assert_eq!(got, [2, 3, 4, 5, 6, 7, 8]);
    assert!(inbox.is_empty());
    assert_eq!(inbox.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn closure_is_reported_only_after_the_handle_is_drained() {
    let mut out = Outbox::<u32>::detached("out");
    let mut inbox = Inbox::<u32>::detached("in");
    link(&out.endpoint(), &inbox.endpoint()).unwrap();
    for i in 0..3 {
        out.try_send(i).unwrap();
    }
    drop(out);
    assert_eq!(block_on(inbox.recv()), Ok(0));
    assert_eq!(block_on(inbox.recv()), Ok(1));
    assert_eq!(inbox.try_recv(), Ok(2));
    assert_eq!(block_on(inbox.recv()), Err(RecvError::Closed));
}

#[test]
fn a_size_limited_box_is_never_collected_in_batches() {
    let mut out = Outbox::<u32>::detached("out");
    let mut inbox = Inbox::<u32>::detached("in");
    inbox.set_size(Some(4));
    link(&out.endpoint(), &inbox.endpoint()).unwrap();
    for i in 0..4 {
        out.try_send(i).unwrap();
    }
    assert!(out.try_send(99).is_err(), "full");
    assert_eq!(block_on(inbox.recv()), Ok(0));
    assert_eq!(inbox.endpoint().len(), 3, "one message left the box, not all");
    out.try_send(4).unwrap(); // exactly one slot was freed
    assert!(out.try_send(99).is_err(), "full again");
    let rest: Vec<u32> = (0..4).map(|_| block_on(inbox.recv()).unwrap()).collect();
    assert_eq!(rest, [1, 2, 3, 4]);
}

#[test]
fn linking_onward_moves_the_box_but_not_what_the_handle_collected() {
    let mut out = Outbox::<u32>::detached("out");
    let mut inbox = Inbox::<u32>::detached("in");
    let mut child = Inbox::<u32>::detached("child");
    link(&out.endpoint(), &inbox.endpoint()).unwrap();
    for i in 0..3 {
        out.try_send(i).unwrap();
    }
    assert_eq!(block_on(inbox.recv()), Ok(0)); // collects 1 and 2
    out.try_send(3).unwrap(); // in the box
    link(&inbox.endpoint(), &child.endpoint()).unwrap(); // passthrough: 3 moves on
    out.try_send(4).unwrap(); // goes straight to the child
    assert_eq!(
        common::drain(&mut inbox),
        [1, 2],
        "collected before the link: the owner's"
    );
    assert_eq!(common::drain(&mut child), [3, 4]);
}

#[test]
fn pause_and_any_ready_see_what_the_handle_holds() {
    let sys = System::new();
    let comp = sys.spawn(
        Component::new("c").inbox_and_outbox::<u32, u32>(),
        |mut cx| async move {
            let mut inbox = cx.inbox::<u32>("inbox")?;
            let mut out = cx.outbox::<u32>("outbox")?;
            let first = inbox.recv().await?; // collects the other two
            assert_eq!(cx.any_ready().as_deref(), Some("inbox"));
            // Must not sleep: two messages are waiting (and the sender is still
            // there, so closure news cannot be what ends the pause).
            cx.pause().await;
            out.send(first).await?;
            for _ in 0..2 {
                out.send(inbox.recv().await?).await?;
            }
            Ok::<_, axon::Error>(())
        },
    );
    let mut input = Outbox::<u32>::detached("input");
    let mut output = Inbox::<u32>::detached("output");
    link(&input.endpoint(), &comp.inbox("inbox").unwrap()).unwrap();
    link(&comp.outbox("outbox").unwrap(), &output.endpoint()).unwrap();
    for i in 0..3 {
        input.try_send(i).unwrap();
    }
    sys.run();
    drop(input);
    common::assert_finished(&comp);
    assert_eq!(common::drain(&mut output), [0, 1, 2]);
}

/// One step of a single-sender, single-receiver session on an unbounded box.
#[derive(Clone, Debug)]
enum Op {
    Send(u8),
    Recv,
    TryRecv,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1u8..6).prop_map(Op::Send),
        2 => Just(Op::Recv),
        1 => Just(Op::TryRecv),
    ]
}

proptest! {
    /// Whatever mix of bursts of sends, batch-collecting receives and
    /// one-at-a-time `try_recv`s: every message comes out once, in order, and
    /// `len()` is always what was sent minus what was received.
    #[test]
    fn no_message_is_lost_duplicated_or_reordered(ops in proptest::collection::vec(op(), 1..60)) {
        let mut out = Outbox::<u32>::detached("out");
        let mut inbox = Inbox::<u32>::detached("in");
        link(&out.endpoint(), &inbox.endpoint()).unwrap();
        let (mut sent, mut got) = (0u32, Vec::new());
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        for op in ops {
            match op {
                Op::Send(n) => {
                    for _ in 0..n {
                        out.try_send(sent).unwrap();
                        sent += 1;
                    }
                }
                Op::Recv => {
                    if let std::task::Poll::Ready(r) = inbox.poll_recv(&mut cx) {
                        got.push(r.unwrap());
                    }
                }
                Op::TryRecv => {
                    if let Ok(m) = inbox.try_recv() {
                        got.push(m);
                    }
                }
            }
            prop_assert_eq!(inbox.len(), sent as usize - got.len());
        }
        drop(out);
        while let Ok(m) = block_on(inbox.recv()) {
            got.push(m);
        }
        prop_assert_eq!(got, (0..sent).collect::<Vec<_>>());
    }
}

/// Producers on their own threads, a consumer that collects in batches on
/// another: every message arrives once, and each producer's in order.
#[test]
fn threaded_producers_and_a_batch_collecting_consumer_lose_and_reorder_nothing() {
    const PRODUCERS: u32 = 4;
    const EACH: u32 = 20_000;
    let mut inbox = Inbox::<(u32, u32)>::detached("in");
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let mut out = Outbox::<(u32, u32)>::detached(format!("producer{p}"));
            link(&out.endpoint(), &inbox.endpoint()).unwrap();
            std::thread::spawn(move || {
                for i in 0..EACH {
                    out.send_blocking((p, i)).unwrap();
                }
            })
        })
        .collect();
    let consumer = std::thread::spawn(move || {
        let mut next = [0u32; PRODUCERS as usize];
        while let Ok((p, i)) = inbox.recv_blocking() {
            assert_eq!(i, next[p as usize], "producer {p} out of order");
            next[p as usize] += 1;
        }
        next
    });
    for p in producers {
        p.join().unwrap();
    }
    assert_eq!(consumer.join().unwrap(), [EACH; PRODUCERS as usize]);
}

/// The same with kernel components on a two-worker system: the consumer
/// collects in batches while producers on the other worker keep sending.
#[test]
fn component_producers_and_consumer_on_two_workers_lose_and_reorder_nothing() {
    const PRODUCERS: u32 = 4;
    const EACH: u32 = 20_000;
    let sys = System::builder().threads(2).build();
    let consumer = sys.spawn(
        Component::new("consumer")
            .inbox::<(u32, u32)>("inbox")
            .outbox::<Vec<u32>>("outbox"),
        |mut cx| async move {
            let mut inbox = cx.inbox::<(u32, u32)>("inbox")?;
            let mut out = cx.outbox::<Vec<u32>>("outbox")?;
            let mut next = vec![0u32; PRODUCERS as usize];
            while let Ok((p, i)) = inbox.recv().await {
                assert_eq!(i, next[p as usize], "producer {p} out of order");
                next[p as usize] += 1;
            }
            out.send(next).await?;
            Ok::<_, axon::Error>(())
        },
    );
    for p in 0..PRODUCERS {
        let producer = sys.spawn(
            Component::new("producer").outbox::<(u32, u32)>("outbox"),
            move |mut cx| async move {
                let mut out = cx.outbox::<(u32, u32)>("outbox")?;
                for i in 0..EACH {
                    out.send((p, i)).await?;
                }
                Ok::<_, axon::Error>(())
            },
        );
        link(
            &producer.outbox::<(u32, u32)>("outbox").unwrap(),
            &consumer.inbox("inbox").unwrap(),
        )
        .unwrap();
    }
    let mut result = Inbox::<Vec<u32>>::detached("result");
    link(&consumer.outbox("outbox").unwrap(), &result.endpoint()).unwrap();
    sys.run();
    common::assert_finished(&consumer);
    assert_eq!(result.try_recv(), Ok(vec![EACH; PRODUCERS as usize]));
}
