//! `axon::select`: waiting on several inboxes at once.
//!
//! Checks the order rules (biased: argument order; fair: every side gets a
//! turn), closure of one side, that no message is ever lost to the side that
//! did not win, and that a component waiting in a select is woken by any side.

mod common;

use std::pin::pin;
use std::time::Duration;

use axon::select::{select2, select2_biased, select3_biased, select4, Either2, Either3, Either4};
use axon::{link, Component, Inbox, Outbox, RecvError, Signal, System};
use common::wait_until;

/// A detached inbox with a detached outbox linked into it.
fn pair<T: Send + 'static>(name: &'static str) -> (Outbox<T>, Inbox<T>) {
    let out = Outbox::<T>::detached(format!("{name}_feed"));
    let inbox = Inbox::<T>::detached(name);
    link(&out.endpoint(), &inbox.endpoint()).unwrap();
    (out, inbox)
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    axon::block_on_timeout(f, Some(Duration::from_secs(10))).expect("select did not resolve within 10 s")
}

#[test]
fn biased_takes_the_first_ready_side_in_argument_order() {
    let (mut fc, mut control) = pair::<Signal>("control");
    let (mut fd, mut data) = pair::<u32>("inbox");
    fd.try_send(1).unwrap();
    fc.try_send(Signal::ProducerFinished).unwrap();

    // control first
    assert_eq!(
        block(select2_biased(&mut control, &mut data)),
        Either2::A(Ok(Signal::ProducerFinished))
    );
    // data first: with control ready again, data still wins
    fc.try_send(Signal::ShutdownMicroprocess).unwrap();
    assert_eq!(block(select2_biased(&mut data, &mut control)), Either2::A(Ok(1)));
    // and the message control had is still there
    assert_eq!(
        block(select2_biased(&mut data, &mut control)),
        Either2::B(Ok(Signal::ShutdownMicroprocess))
    );
    assert!(control.is_empty() && data.is_empty());
}

#[test]
fn biased_order_holds_for_three_and_four_sides() {
    let (mut f1, mut a) = pair::<u8>("a");
    let (mut f2, mut b) = pair::<String>("b");
    let (mut f3, mut c) = pair::<char>("c");
    f3.try_send('c').unwrap();
    f2.try_send("b".into()).unwrap();
    assert_eq!(
        block(select3_biased(&mut a, &mut b, &mut c)),
        Either3::B(Ok("b".to_string()))
    );
    assert_eq!(block(select3_biased(&mut a, &mut b, &mut c)), Either3::C(Ok('c')));
    f1.try_send(1).unwrap();
    let (_f4, mut d) = pair::<()>("d");
    assert_eq!(block(select4(&mut d, &mut c, &mut b, &mut a)), Either4::D(Ok(1)));
}

#[test]
fn fair_select_lets_every_side_win_and_loses_nothing() {
    let (mut fa, mut a) = pair::<u32>("a");
    let (mut fb, mut b) = pair::<u32>("b");
    const N: u32 = 400;
    for i in 0..N {
        fa.try_send(i).unwrap();
        fb.try_send(i).unwrap();
    }
    drop((fa, fb));
    let (mut got_a, mut got_b) = (Vec::new(), Vec::new());
    let (mut a, mut b) = (Some(&mut a), Some(&mut b));
    let (mut wins_a_while_both, mut wins_b_while_both) = (0, 0);
    while a.is_some() || b.is_some() {
        let both = a.is_some() && b.is_some();
        match block(select2(&mut a, &mut b)) {
            Either2::A(Ok(x)) => {
                got_a.push(x);
                wins_a_while_both += usize::from(both);
            }
            Either2::B(Ok(x)) => {
                got_b.push(x);
                wins_b_while_both += usize::from(both);
            }
            Either2::A(Err(RecvError::Closed)) => a = None,
            Either2::B(Err(RecvError::Closed)) => b = None,
        }
    }
    let all: Vec<u32> = (0..N).collect();
    assert_eq!(got_a, all, "side a: every message, in order");
    assert_eq!(got_b, all, "side b: every message, in order");
    // Fair: with both always ready, each side wins a good share (expected N each).
    assert!(wins_a_while_both > 40, "a won {wins_a_while_both} times");
    assert!(wins_b_while_both > 40, "b won {wins_b_while_both} times");
}

#[test]
fn a_closed_side_reports_closed_and_can_be_dropped_from_the_select() {
    let (fa, mut a) = pair::<u32>("a");
    let (mut fb, mut b) = pair::<u32>("b");
    drop(fa);
    fb.try_send(5).unwrap();
    // A closed side is ready at once, in either order.
    assert_eq!(
        block(select2_biased(&mut a, &mut b)),
        Either2::A(Err(RecvError::Closed))
    );
    assert_eq!(block(select2_biased(&mut b, &mut a)), Either2::A(Ok(5)));
    assert_eq!(
        block(select2_biased(&mut a, &mut b)),
        Either2::A(Err(RecvError::Closed))
    );
    // Stop watching it: the other side's messages still come through.
    let mut a = None::<Inbox<u32>>;
    fb.try_send(6).unwrap();
    assert_eq!(block(select2_biased(&mut a, &mut b)), Either2::B(Ok(6)));
    drop(fb);
    assert_eq!(
        block(select2_biased(&mut a, &mut b)),
        Either2::B(Err(RecvError::Closed))
    );
}

#[test]
fn an_unfinished_select_dropped_keeps_every_message() {
    let (mut fa, mut a) = pair::<u32>("a");
    let (_fb, mut b) = pair::<u32>("b");
    {
        // Nothing ready: resolves to the timeout, not to a message.
        let mut timeout = pin!(axon::time::sleep(Duration::from_millis(1)));
        let got = block(select3_biased(&mut a, &mut b, &mut timeout));
        assert_eq!(got, Either3::C(()));
    }
    fa.try_send(9).unwrap();
    assert_eq!(a.try_recv(), Ok(9));
}

#[test]
fn a_component_waiting_in_a_select_is_woken_by_either_side() {
    let sys = System::builder().threads(2).build();
    let running = sys.start();
    let spec = Component::new("watcher")
        .inbox::<u32>("inbox")
        .inbox::<Signal>("control");
    let comp = sys.spawn(spec, |mut cx| async move {
        let mut data = cx.inbox::<u32>("inbox")?;
        let mut control = cx.inbox::<Signal>("control")?;
        let mut got = Vec::new();
        loop {
            match select2_biased(&mut control, &mut data).await {
                Either2::A(Ok(Signal::ShutdownMicroprocess)) => break,
                Either2::A(other) => panic!("unexpected on control: {other:?}"),
                Either2::B(Ok(x)) => got.push(x),
                Either2::B(Err(e)) => panic!("inbox closed early: {e}"),
            }
        }
        assert_eq!(got, [1, 2, 3]);
        Ok::<_, axon::Error>(())
    });
    let mut feed = Outbox::<u32>::detached("feed");
    let mut ctl = Outbox::<Signal>::detached("ctl");
    link(&feed.endpoint(), &comp.inbox("inbox").unwrap()).unwrap();
    link(&ctl.endpoint(), &comp.inbox("control").unwrap()).unwrap();
    for i in 1..=3 {
        // Each send wakes the sleeping component through the second side.
        feed.send_blocking(i).unwrap();
        wait_until("the message is taken", || {
            comp.inbox::<u32>("inbox").unwrap().is_empty()
        });
    }
    ctl.send_blocking(Signal::ShutdownMicroprocess).unwrap();
    wait_until("the watcher ends", || comp.outcome().is_some());
    assert_eq!(comp.outcome(), Some(axon::Outcome::Finished));
    running.wait();
}

#[test]
fn two_producers_into_a_fair_select_deliver_everything_in_order() {
    const N: u32 = 2_000;
    let sys = System::builder().threads(2).build();
    let running = sys.start();
    let producer = |name: &'static str| {
        sys.spawn(
            Component::new(name).outbox::<u32>("outbox"),
            |mut cx| async move {
                let mut out = cx.outbox::<u32>("outbox")?;
                for i in 0..N {
                    out.send(i).await?;
                }
                Ok::<_, axon::Error>(())
            },
        )
    };
    let spec = Component::new("merger")
        .inbox::<u32>("left")
        .inbox::<u32>("right");
    let merger = sys.spawn(spec, |mut cx| async move {
        let mut left = Some(cx.inbox::<u32>("left")?);
        let mut right = Some(cx.inbox::<u32>("right")?);
        // Small boxes: producers wait for space, the select wakes them.
        left.as_ref().unwrap().set_size(Some(2));
        right.as_ref().unwrap().set_size(Some(3));
        let (mut l, mut r) = (Vec::new(), Vec::new());
        while left.is_some() || right.is_some() {
            match select2(&mut left, &mut right).await {
                Either2::A(Ok(x)) => l.push(x),
                Either2::B(Ok(x)) => r.push(x),
                Either2::A(Err(_)) => left = None,
                Either2::B(Err(_)) => right = None,
            }
        }
        let all: Vec<u32> = (0..N).collect();
        assert_eq!(l, all);
        assert_eq!(r, all);
        Ok::<_, axon::Error>(())
    });
    let (p1, p2) = (producer("p1"), producer("p2"));
    link(
        &p1.outbox::<u32>("outbox").unwrap(),
        &merger.inbox("left").unwrap(),
    )
    .unwrap();
    link(
        &p2.outbox::<u32>("outbox").unwrap(),
        &merger.inbox("right").unwrap(),
    )
    .unwrap();
    wait_until("the merger ends", || merger.outcome().is_some());
    assert_eq!(merger.outcome(), Some(axon::Outcome::Finished));
    running.wait();
}
