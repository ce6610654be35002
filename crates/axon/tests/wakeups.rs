//! Wakeups: delivery wakes the final inbox's owner only; collecting wakes the
//! senders waiting for space, up any chain of linkages, including chains changed
//! after the send.
//!
//! Ports `test_Component.py::MessageDeliveryNotifications_Test` (reference
//! catalog §2.2; B-16..B-23) and the seed-2 scenarios (B-19, the inbox4->inbox2
//! late link). Each component's polls are counted (tests/common): a component
//! not woken is polled exactly once.
//!
//! Deliberate differences from Axon (DESIGN.md): components are paused by
//! default; collecting wakes only senders that are *waiting* for space (Axon
//! woke every upstream outbox owner on every collection), in FIFO order, and a
//! `send().await` waiter is woken with a slot reserved for it, one per freed
//! slot. Kamaelia-style senders (`try_send`, `Full`, `cx.pause()`) are all woken
//! when space appears, as in Axon. When a linkage change re-routes a waiting
//! sender, the kernel wakes it at once to resolve its chain again.

mod common;

use std::sync::{Arc, Mutex};

use axon::{link, Component, ComponentRef, Context, Inbox, Outbox, SendError, System, TrySendError};
use common::{drain, quiet, spawn_counted, wait_until, Counts};

type Log = Arc<Mutex<Vec<String>>>;

/// Send like a Kamaelia component: `try_send`, and on `Full` pause until woken.
async fn send_kamaelia<T: Send + 'static>(
    cx: &Context,
    out: &mut Outbox<T>,
    mut msg: T,
) -> Result<(), SendError<T>> {
    loop {
        match out.try_send(msg) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Full(m)) => {
                msg = m;
                cx.pause().await;
            }
            Err(TrySendError::Closed(m)) => return Err(SendError::new(m)),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Style {
    /// `try_send` + `pause()` on Full.
    Kamaelia,
    /// `try_send`, and on Full `send().await` (a reserving waiter).
    Await,
}

/// A producer that waits for a `go`, sends `items` in `style`, logging, then
/// sleeps until shut down. Returns its feed for `go`.
fn producer(
    sys: &System,
    name: &'static str,
    items: &[&str],
    style: Style,
    log: &Log,
) -> (ComponentRef, Arc<Counts>, Outbox<()>) {
    let items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    let log = log.clone();
    let (p, counts) = spawn_counted(
        sys,
        Component::bare(name).inbox::<()>("go").outbox::<String>("outbox"),
        move |mut cx| async move {
            let mut go = cx.inbox::<()>("go")?;
            let mut out = cx.outbox::<String>("outbox")?;
            go.recv().await?;
            for item in items {
                match style {
                    Style::Kamaelia => send_kamaelia(&cx, &mut out, item.clone()).await?,
                    Style::Await => match out.try_send(item.clone()) {
                        Ok(()) => {}
                        Err(TrySendError::Full(m)) => {
                            log.lock().unwrap().push(format!("{name} waits {m}"));
                            out.send(m).await?;
                        }
                        Err(e) => return Err(e.into()),
                    },
                }
                log.lock().unwrap().push(format!("{name} sent {item}"));
            }
            std::future::pending::<()>().await;
            Ok::<_, axon::Error>(())
        },
    );
    let feed = Outbox::<()>::detached("go");
    link(&feed.endpoint(), &p.inbox("go").unwrap()).unwrap();
    (p, counts, feed)
}

/// A consumer that receives on its `inbox` until it closes.
fn consumer(sys: &System, name: &'static str) -> (ComponentRef, Arc<Counts>) {
    spawn_counted(
        sys,
        Component::bare(name).inbox::<String>("inbox"),
        |mut cx| async move {
            let mut inbox = cx.inbox::<String>("inbox")?;
            while inbox.recv().await.is_ok() {}
            Ok::<_, axon::Error>(())
        },
    )
}

/// Wait until each component has been polled exactly as often as expected, give
/// further wakes a chance, and check none came.
#[track_caller]
fn expect_polls(step: &str, expected: &[(&Arc<Counts>, usize)]) {
    wait_until(step, || {
        expected.iter().all(|(c, n)| c.polls() >= *n && c.parked() >= *n)
    });
    quiet();
    for (i, (c, n)) in expected.iter().enumerate() {
        assert_eq!(
            c.polls(),
            *n,
            "{step}: component #{i} polled {} times, expected {n}",
            c.polls()
        );
    }
}

/// Ports `test_Component.py::MessageDeliveryNotifications_Test::test_NothingHappensIfNothingHappens`
/// (B-16): two paused components linked in a loop, no traffic: neither runs
/// again after its first poll.
#[test]
fn a_quiet_loop_stays_asleep() {
    let sys = System::builder().threads(1).build();
    let body = |cx: Context| async move {
        loop {
            cx.pause().await;
        }
        #[allow(unreachable_code)]
        ()
    };
    let (a, ca) = spawn_counted(&sys, Component::new("a").inbox_and_outbox::<u8, u8>(), body);
    let (b, cb) = spawn_counted(&sys, Component::new("b").inbox_and_outbox::<u8, u8>(), body);
    link(&a.outbox::<u8>("outbox").unwrap(), &b.inbox("inbox").unwrap()).unwrap();
    link(&b.outbox::<u8>("outbox").unwrap(), &a.inbox("inbox").unwrap()).unwrap();
    let running = sys.start();
    expect_polls("nothing happens", &[(&ca, 1), (&cb, 1)]);
    running.shutdown();
}

/// Ports `test_Component.py::test_ConsumerWokenByDelivery` and `test_Component.py::test_ProducerNotWokenByDelivery`
/// (B-17): a delivery wakes the consumer once and never the producer.
#[test]
fn delivery_wakes_the_consumer_once_and_not_the_producer() {
    let sys = System::builder().threads(1).build();
    let log = Log::default();
    let (a, ca, mut go) = producer(&sys, "a", &["m"], Style::Kamaelia, &log);
    let (b, cb) = consumer(&sys, "b");
    link(&a.outbox::<String>("outbox").unwrap(), &b.inbox("inbox").unwrap()).unwrap();
    let running = sys.start();
    expect_polls("settled", &[(&ca, 1), (&cb, 1)]);
    go.try_send(()).unwrap();
    // a: woken by its go (not by its own delivery); b: woken by the delivery.
    expect_polls("after the send", &[(&ca, 2), (&cb, 2)]);
    running.shutdown();
}

/// Ports `test_Component.py::test_ProducerWokenByCollection` (B-18) and the seed's first scenario
/// (B-19) in miniature: a Kamaelia-style producer waiting for space is woken
/// once per collection. Differs from Axon: a producer that is *not* waiting (its
/// last send went in) is not woken by a collection.
#[test]
fn collecting_wakes_a_waiting_producer_once_per_collection_and_only_while_it_waits() {
    let sys = System::builder().threads(1).build();
    let log = Log::default();
    let (a, ca, mut go) = producer(&sys, "a", &["0", "1", "2", "3", "4"], Style::Kamaelia, &log);
    let mut inbox = Inbox::<String>::detached("b");
    inbox.set_size(Some(1));
    link(&a.outbox::<String>("outbox").unwrap(), &inbox.endpoint()).unwrap();
    let running = sys.start();
    expect_polls("settled", &[(&ca, 1)]);
    go.try_send(()).unwrap();
    expect_polls("0 sent, 1 waits", &[(&ca, 2)]);
    for (k, want) in ["0", "1", "2", "3"].into_iter().enumerate() {
        assert_eq!(inbox.try_recv().as_deref(), Ok(want));
        expect_polls(&format!("collect {want}"), &[(&ca, 3 + k)]);
    }
    // a has sent its last item and waits for nothing: collecting does not wake it.
    assert_eq!(inbox.try_recv().as_deref(), Ok("4"));
    expect_polls("collect 4", &[(&ca, 6)]);
    assert_eq!(log.lock().unwrap().len(), 5);
    running.shutdown();
}

/// Ports `test_Component.py::test_ChainOnlyFinalDestinationNotified` (B-20): a.out -> b.in -> c.in
/// -> d.in; a send from a wakes d only.
#[test]
fn chain_delivery_wakes_only_the_final_inbox_owner() {
    let sys = System::builder().threads(1).build();
    let log = Log::default();
    let (a, ca, mut go) = producer(&sys, "a", &["m"], Style::Kamaelia, &log);
    let (b, cb) = consumer(&sys, "b");
    let (c, cc) = consumer(&sys, "c");
    let (d, cd) = consumer(&sys, "d");
    link(&a.outbox::<String>("outbox").unwrap(), &b.inbox("inbox").unwrap()).unwrap();
    link(&b.inbox::<String>("inbox").unwrap(), &c.inbox("inbox").unwrap()).unwrap();
    link(&c.inbox::<String>("inbox").unwrap(), &d.inbox("inbox").unwrap()).unwrap();
    let running = sys.start();
    expect_polls("settled", &[(&ca, 1), (&cb, 1), (&cc, 1), (&cd, 1)]);
    go.try_send(()).unwrap();
    expect_polls("after the send", &[(&ca, 2), (&cb, 1), (&cc, 1), (&cd, 2)]);
    running.shutdown();
}

/// Ports `test_Component.py::test_ChainOnlyOutboxHoldersNotified` (B-21): same chain ending in a
/// full inbox; collecting there wakes the waiting outbox owner a, and none of
/// the inbox owners b and c.
#[test]
fn chain_collection_wakes_only_the_waiting_outbox_owner() {
    let sys = System::builder().threads(1).build();
    let log = Log::default();
    let (a, ca, mut go) = producer(&sys, "a", &["m0", "m1"], Style::Kamaelia, &log);
    let (b, cb) = consumer(&sys, "b");
    let (c, cc) = consumer(&sys, "c");
    let mut d = Inbox::<String>::detached("d");
    d.set_size(Some(1));
    link(&a.outbox::<String>("outbox").unwrap(), &b.inbox("inbox").unwrap()).unwrap();
    link(&b.inbox::<String>("inbox").unwrap(), &c.inbox("inbox").unwrap()).unwrap();
    link(&c.inbox::<String>("inbox").unwrap(), &d.endpoint()).unwrap();
    let running = sys.start();
    expect_polls("settled", &[(&ca, 1), (&cb, 1), (&cc, 1)]);
    go.try_send(()).unwrap();
    expect_polls("m0 in d, m1 waits", &[(&ca, 2), (&cb, 1), (&cc, 1)]);
    assert_eq!(d.try_recv().as_deref(), Ok("m0"));
    expect_polls("after collecting", &[(&ca, 3), (&cb, 1), (&cc, 1)]);
    assert_eq!(d.try_recv().as_deref(), Ok("m1"));
    running.shutdown();
}

/// Build a.out -> b.out -> c.out -> d.in -> e (size 1, detached), with a, b and
/// c Kamaelia-style producers of two items each, started in that order so that
/// a's first item fills e and everyone then waits for space.
struct FiveBoxChain {
    running: axon::RunningSystem,
    e: Inbox<String>,
    counts: [Arc<Counts>; 3],
    comps: [ComponentRef; 3],
    d: Arc<Counts>,
    b_to_c: axon::Linkage,
    /// The producers' `go` feeds: dropping one closes that `go` inbox, which
    /// wakes its producer, so they live as long as the chain.
    _feeds: [Outbox<()>; 3],
    sys: System,
    log: Log,
}

fn five_box_chain() -> FiveBoxChain {
    let sys = System::builder().threads(1).build();
    let log = Log::default();
    let (a, ca, mut ga) = producer(&sys, "a", &["a0", "a1"], Style::Kamaelia, &log);
    let (b, cb, mut gb) = producer(&sys, "b", &["b0", "b1"], Style::Kamaelia, &log);
    let (c, cc, mut gc) = producer(&sys, "c", &["c0", "c1"], Style::Kamaelia, &log);
    let (d, cd) = consumer(&sys, "d");
    let e = Inbox::<String>::detached("e");
    e.set_size(Some(1));
    link(
        &a.outbox::<String>("outbox").unwrap(),
        &b.outbox("outbox").unwrap(),
    )
    .unwrap();
    let b_to_c = link(
        &b.outbox::<String>("outbox").unwrap(),
        &c.outbox("outbox").unwrap(),
    )
    .unwrap();
    link(&c.outbox::<String>("outbox").unwrap(), &d.inbox("inbox").unwrap()).unwrap();
    link(&d.inbox::<String>("inbox").unwrap(), &e.endpoint()).unwrap();
    let running = sys.start();
    expect_polls("settled", &[(&ca, 1), (&cb, 1), (&cc, 1), (&cd, 1)]);
    ga.try_send(()).unwrap();
    expect_polls("a0 sent, a1 waits", &[(&ca, 2)]);
    gb.try_send(()).unwrap();
    expect_polls("b0 waits", &[(&cb, 2)]);
    gc.try_send(()).unwrap();
    expect_polls("c0 waits", &[(&cc, 2), (&ca, 2), (&cd, 1)]);
    assert_eq!(e.len(), 1);
    FiveBoxChain {
        running,
        e,
        counts: [ca, cb, cc],
        comps: [a, b, c],
        d: cd,
        b_to_c,
        _feeds: [ga, gb, gc],
        sys,
        log,
    }
}

/// Ports `test_Component.py::test_AllOutboxOwnersNotified` (B-22): collecting from the final inbox
/// wakes every waiting outbox owner up the chain (a, b, c), not the inbox owner
/// d. (Axon popped through d's inbox; here we collect from e, the real final
/// inbox.)
#[test]
fn collecting_wakes_every_waiting_outbox_owner_up_the_chain() {
    let mut ch = five_box_chain();
    let [ca, cb, cc] = &ch.counts;
    assert_eq!(ch.e.try_recv().as_deref(), Ok("a0"));
    expect_polls("after collecting", &[(ca, 3), (cb, 3), (cc, 3), (&ch.d, 1)]);
    // Exactly one of them got the freed slot; the log says who sent what.
    assert_eq!(ch.e.len(), 1);
    assert_eq!(ch.log.lock().unwrap().len(), 2);
    ch.running.shutdown();
}

/// Ports `test_Component.py::test_LinkBrokenNoNotify` (B-23 i): after b.out -> c.out is removed, a
/// and b no longer reach e. Differs from Axon: the kernel wakes the re-routed
/// waiting senders a and b at once (their sends now wait, held, in b's unlinked
/// outbox), and collecting from e wakes only c.
#[test]
fn a_link_removed_after_the_send_changes_who_collecting_wakes() {
    let mut ch = five_box_chain();
    let [ca, cb, cc] = &ch.counts;
    let [_, b, c] = &ch.comps;
    let before = ch.sys.snapshot().linkages.len();
    ch.b_to_c.unlink().unwrap();
    assert_eq!(ch.sys.snapshot().linkages.len(), before - 1);
    let b_out = b.outbox::<String>("outbox").unwrap();
    assert!(c.outbox::<String>("outbox").is_ok());
    expect_polls("a and b re-routed", &[(ca, 3), (cb, 3), (cc, 2)]);
    assert_eq!(b_out.len(), 3, "a1, b0 and b1 are held in b's unlinked outbox");
    assert_eq!(ch.e.try_recv().as_deref(), Ok("a0"));
    expect_polls("after collecting", &[(ca, 3), (cb, 3), (cc, 3), (&ch.d, 1)]);
    assert_eq!(ch.e.try_recv().as_deref(), Ok("c0"));
    ch.running.shutdown();
}

/// Ports `test_Component.py::test_LinkReestablishedNotify` (B-23 ii): remove b.out -> c.out and
/// make it again; the waiting sender's wakeups follow the chain each time. a
/// sends through b.out and c.out (whose owners only sleep) into e (size 1).
/// While cut, b.out is the end of a's chain, limited to 1 here so that a waits
/// there; re-linking moves b.out's message on to e and wakes a to resolve its
/// chain again; from then on, collections at e wake a. b and c are never woken.
#[test]
fn a_link_removed_and_made_again_after_the_send_still_wakes_the_waiting_sender() {
    let sys = System::builder().threads(1).build();
    let log = Log::default();
    let (a, ca, mut go) = producer(&sys, "a", &["a0", "a1", "a2", "a3"], Style::Kamaelia, &log);
    let sleeping = |name: &'static str| {
        spawn_counted(
            &sys,
            Component::bare(name).outbox::<String>("outbox"),
            |cx| async move {
                let _keep = cx;
                std::future::pending::<()>().await
            },
        )
    };
    let (b, cb) = sleeping("b");
    let (c, cc) = sleeping("c");
    let mut e = Inbox::<String>::detached("e");
    e.set_size(Some(1));
    link(
        &a.outbox::<String>("outbox").unwrap(),
        &b.outbox("outbox").unwrap(),
    )
    .unwrap();
    let b_out = b.outbox::<String>("outbox").unwrap();
    let c_out = c.outbox::<String>("outbox").unwrap();
    let bc = link(&b_out, &c_out).unwrap();
    link(&c_out, &e.endpoint()).unwrap();
    let running = sys.start();
    expect_polls("settled", &[(&ca, 1), (&cb, 1), (&cc, 1)]);
    go.try_send(()).unwrap();
    expect_polls("a0 in e, a1 waits", &[(&ca, 2)]);

    // A limit on b.out means nothing while it forwards; it applies once cut.
    b_out.set_size(Some(1));
    bc.unlink().unwrap();
    expect_polls(
        "a re-routed: a1 held in b.out, a2 waits there",
        &[(&ca, 3), (&cb, 1), (&cc, 1)],
    );
    assert_eq!(b_out.len(), 1);

    // e is full (a0): a1 stays in b.out, which keeps being a's sink and moves
    // it on as e makes room (issue 16: a link never overfills an inbox).
    link(&b_out, &c_out).unwrap();
    assert_eq!(b_out.len(), 1, "a1 waits in b.out: e has no room");
    expect_polls("a still waits at b.out", &[(&ca, 3)]);
    assert_eq!(e.try_recv().as_deref(), Ok("a0"));
    // a1 followed at once; b.out drained, so a is re-routed to e, full again.
    assert_eq!((b_out.len(), e.len()), (0, 1));
    expect_polls("a re-routed: a2 waits at e", &[(&ca, 4)]);
    assert_eq!(e.try_recv().as_deref(), Ok("a1"));
    expect_polls("a woken by the collection", &[(&ca, 5), (&cb, 1), (&cc, 1)]);
    assert_eq!(e.try_recv().as_deref(), Ok("a2"));
    expect_polls("and again", &[(&ca, 6)]);
    assert_eq!(e.try_recv().as_deref(), Ok("a3"));
    running.shutdown();
}

/// Ports `test_Component.py::test_LinkNewlyEestablishedNotify` (B-23 iii): a producer f whose
/// outbox joins the chain after the send (f.out -> c.out) and then waits too
/// is woken by the collection along with a, b and c.
#[test]
fn a_sender_joining_the_chain_after_the_send_is_woken_too() {
    let mut ch = five_box_chain();
    let [ca, cb, cc] = &ch.counts;
    let log = ch.log.clone();
    let (f, cf, mut gf) = producer(&ch.sys, "f", &["f0"], Style::Kamaelia, &log);
    expect_polls("f settled", &[(&cf, 1)]);
    link(
        &f.outbox::<String>("outbox").unwrap(),
        &ch.comps[2].outbox("outbox").unwrap(),
    )
    .unwrap();
    gf.try_send(()).unwrap();
    expect_polls("f0 waits", &[(&cf, 2)]);
    assert_eq!(ch.e.try_recv().as_deref(), Ok("a0"));
    expect_polls(
        "after collecting",
        &[(ca, 3), (cb, 3), (cc, 3), (&cf, 3), (&ch.d, 1)],
    );
    ch.running.shutdown();
}

/// No reference test (DESIGN.md: wake only waiting senders, FIFO): three
/// `send().await` senders queue at a full inbox in a known order; each
/// collection wakes exactly the front one, with the slot reserved for it (a
/// newcomer's `try_send` cannot take it).
#[test]
fn waiting_senders_are_woken_one_per_slot_in_fifo_order() {
    let sys = System::builder().threads(1).build();
    let log = Log::default();
    let mut inbox = Inbox::<String>::detached("in");
    inbox.set_size(Some(1));
    let mut filler = Outbox::<String>::detached("filler");
    link(&filler.endpoint(), &inbox.endpoint()).unwrap();
    filler.try_send("first".into()).unwrap();
    let mut ps = Vec::new();
    for name in ["p1", "p2", "p3"] {
        let (p, c, g) = producer(&sys, name, &[name], Style::Await, &log);
        link(&p.outbox::<String>("outbox").unwrap(), &inbox.endpoint()).unwrap();
        ps.push((p, c, g));
    }
    let running = sys.start();
    for (_, c, _) in &ps {
        expect_polls("settled", &[(c, 1)]);
    }
    for (_, c, g) in &mut ps {
        g.try_send(()).unwrap();
        expect_polls("queued", &[(c, 2)]);
    }
    let counts: Vec<&Arc<Counts>> = ps.iter().map(|(_, c, _)| c).collect();
    assert_eq!(inbox.try_recv().as_deref(), Ok("first"));
    // The freed slot belongs to p1 whether or not it has used it yet.
    assert!(matches!(
        filler.try_send("barger".into()),
        Err(TrySendError::Full(_))
    ));
    expect_polls("p1 woken", &[(counts[0], 3), (counts[1], 2), (counts[2], 2)]);
    assert_eq!(inbox.try_recv().as_deref(), Ok("p1"));
    expect_polls("p2 woken", &[(counts[0], 3), (counts[1], 3), (counts[2], 2)]);
    assert_eq!(inbox.try_recv().as_deref(), Ok("p2"));
    expect_polls("p3 woken", &[(counts[0], 3), (counts[1], 3), (counts[2], 3)]);
    assert_eq!(inbox.try_recv().as_deref(), Ok("p3"));
    let l = log.lock().unwrap().clone();
    assert_eq!(
        l,
        [
            "p1 waits p1",
            "p2 waits p2",
            "p3 waits p3",
            "p1 sent p1",
            "p2 sent p2",
            "p3 sent p3"
        ]
    );
    running.shutdown();
}

/// The seed's second scenario (examples/wakeup_chain.rs), as a test:
///
/// ```text
/// A, B -> inbox1 -> inbox2 -> inbox3 (size 2)     C -> inbox4 (size 1)
/// ```
///
/// then, after some collections, inbox4 -> inbox2 is linked: C's waiting send
/// now ends at inbox3 (C is woken to re-resolve and queues behind B) and
/// inbox4's item moves on. Each collection wakes exactly the front waiting
/// sender, and only when it frees room under the limit.
#[test]
fn seed_wakeup_chain_with_a_late_link() {
    let sys = System::builder().threads(1).build();
    let log = Log::default();
    let inbox1 = Inbox::<String>::detached("inbox1");
    let inbox2 = Inbox::<String>::detached("inbox2");
    let mut inbox3 = Inbox::<String>::detached("inbox3");
    let inbox4 = Inbox::<String>::detached("inbox4");
    inbox3.set_size(Some(2));
    inbox4.set_size(Some(1));
    link(&inbox1.endpoint(), &inbox2.endpoint()).unwrap();
    link(&inbox2.endpoint(), &inbox3.endpoint()).unwrap();
    let (pa, ca, mut ga) = producer(&sys, "A", &["a0", "a1", "a2"], Style::Await, &log);
    let (pb, cb, mut gb) = producer(&sys, "B", &["b0", "b1", "b2"], Style::Await, &log);
    let (pc, cc, mut gc) = producer(&sys, "C", &["c0", "c1", "c2"], Style::Await, &log);
    link(&pa.outbox::<String>("outbox").unwrap(), &inbox1.endpoint()).unwrap();
    link(&pb.outbox::<String>("outbox").unwrap(), &inbox1.endpoint()).unwrap();
    link(&pc.outbox::<String>("outbox").unwrap(), &inbox4.endpoint()).unwrap();
    let running = sys.start();
    expect_polls("settled", &[(&ca, 1), (&cb, 1), (&cc, 1)]);
    ga.try_send(()).unwrap();
    expect_polls("A: a0, a1 sent, a2 waits", &[(&ca, 2)]);
    gb.try_send(()).unwrap();
    expect_polls("B: b0 waits", &[(&cb, 2)]);
    gc.try_send(()).unwrap();
    expect_polls("C: c0 sent, c1 waits", &[(&cc, 2)]);

    let mut got = Vec::new();
    let mut collect = |inbox3: &mut Inbox<_>, want: &str, polls: [usize; 3], step: &str| {
        let m = inbox3.try_recv().expect("an item waits in inbox3");
        assert_eq!(m, want, "{step}");
        got.push(m);
        expect_polls(step, &[(&ca, polls[0]), (&cb, polls[1]), (&cc, polls[2])]);
    };
    collect(&mut inbox3, "a0", [3, 2, 2], "collect 1 wakes A only");
    collect(&mut inbox3, "a1", [3, 3, 2], "collect 2 wakes B only");

    // inbox3 is full (a2, b0): c0 stays in inbox4, which drains into inbox3
    // as it makes room (issue 16: a link never overfills an inbox), and C
    // keeps waiting there until it has.
    link(&inbox4.endpoint(), &inbox2.endpoint()).unwrap();
    assert_eq!(inbox4.len(), 1, "c0 waits: inbox3 has no room");
    assert_eq!(inbox3.len(), 2);
    expect_polls("C not re-routed yet", &[(&ca, 3), (&cb, 3), (&cc, 2)]);
    // From here on every collection makes room for one of the waiting: B's
    // sends, the drain of inbox4, then C's re-routed sends, each in turn.
    while got.len() < 9 {
        assert!(inbox3.len() <= 2, "inbox3 over its limit: {}", inbox3.len());
        common::wait_until("an item waits in inbox3", || !inbox3.is_empty());
        got.push(inbox3.try_recv().expect("an item"));
    }
    for p in ["a", "b", "c"] {
        let mine: Vec<&str> = got
            .iter()
            .map(String::as_str)
            .filter(|m| m.starts_with(p))
            .collect();
        assert_eq!(mine, [0, 1, 2].map(|i| format!("{p}{i}")), "{p}'s items in order");
    }
    assert_eq!(inbox4.len(), 0);
    assert!(inbox3.is_empty());
    assert_eq!(got.len(), 9);
    running.shutdown();
}

/// The seed's first scenario (examples/producer_consumer.rs; catalog B-19): a
/// Kamaelia-style producer sends 0..100 into a threaded consumer's size-5
/// inbox. Everything arrives in order, and the producer runs only when a
/// collection woke it (never busy-loops): at most one poll per item collected,
/// plus its first.
#[test]
fn a_paused_producer_is_woken_by_a_threaded_consumer_and_loses_nothing() {
    let sys = System::builder().threads(1).build();
    let (p, cp) = spawn_counted(
        &sys,
        Component::new("producer").outbox::<u32>("outbox"),
        |mut cx| async move {
            let mut out = cx.outbox::<u32>("outbox")?;
            for i in 0..100 {
                send_kamaelia(&cx, &mut out, i).await?;
            }
            Ok::<_, axon::Error>(())
        },
    );
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    let c = sys.spawn_threaded(Component::new("consumer").inbox::<u32>("inbox"), move |mut cx| {
        let mut inbox = cx.inbox::<u32>("inbox").expect("declared");
        inbox.set_size(Some(5));
        while let Ok(x) = inbox.recv_blocking() {
            g.lock().unwrap().push(x);
        }
    });
    link(&p.outbox::<u32>("outbox").unwrap(), &c.inbox("inbox").unwrap()).unwrap();
    sys.run();
    assert_eq!(*got.lock().unwrap(), (0..100).collect::<Vec<_>>());
    assert!(
        cp.polls() <= 101,
        "producer polled {} times for 100 items",
        cp.polls()
    );
}

/// No reference test: several producers awaiting space in a small inbox on two
/// scheduler threads, with a consumer: nothing lost, each producer's order kept.
#[test]
fn many_waiting_producers_on_two_threads_lose_nothing() {
    let sys = System::builder().threads(2).build();
    let mut sink = Inbox::<(usize, u32)>::detached("sink");
    sink.set_size(Some(2));
    for p in 0..4 {
        let prod = sys.spawn(
            Component::bare("p").outbox::<(usize, u32)>("outbox"),
            move |mut cx| async move {
                let mut out = cx.outbox::<(usize, u32)>("outbox")?;
                for i in 0..500 {
                    out.send((p, i)).await?;
                }
                Ok::<_, axon::Error>(())
            },
        );
        link(&prod.outbox::<(usize, u32)>("outbox").unwrap(), &sink.endpoint()).unwrap();
    }
    let running = sys.start();
    let mut next = [0u32; 4];
    for _ in 0..2000 {
        let (p, i) = sink.recv_blocking().unwrap();
        assert_eq!(i, next[p], "producer {p} out of order");
        next[p] += 1;
    }
    running.wait();
    assert_eq!(sink.recv_blocking(), Err(axon::RecvError::Closed));
    assert!(drain(&mut sink).is_empty());
}
