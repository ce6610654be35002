//! `pause()` is a real sleep (issue 16, point 1): components written the
//! reference's way — take what is waiting, `try_send` what fits, otherwise
//! `pause()` — make progress on one worker and on two, and `pause()` returns
//! on news since it last returned: a delivery (also one that slipped in after
//! the component looked and before it paused), space after a refused
//! `try_send`, a child ending, a timer. Input already seen does not make it
//! return again and again. (CPU use while stalled: `pause_cpu.rs`.)

mod common;

use std::sync::Arc;
use std::time::Duration;

use axon::{link, Component, Context, Inbox, Outbox, System, TryRecvError, TrySendError};
use common::{quiet, spawn_counted, wait_parked, wait_until};

/// The reference's transformer: for each message waiting, double it and
/// `try_send` it; on `Full` keep it and `pause()`. Ends when its inbox has
/// closed and everything went out.
async fn kamaelia_doubler(mut cx: Context) -> Result<(), axon::Error> {
    let mut inbox = cx.inbox::<u32>("inbox")?;
    let mut out = cx.outbox::<u32>("outbox")?;
    let mut pending: Option<u32> = None;
    loop {
        loop {
            if pending.is_none() {
                match inbox.try_recv() {
                    Ok(x) => pending = Some(x * 2),
                    Err(TryRecvError::Closed) => return Ok(()),
                    Err(TryRecvError::Empty) => break,
                }
            }
            match out.try_send(pending.take().expect("set above")) {
                Ok(()) => {}
                Err(TrySendError::Full(x)) => {
                    pending = Some(x);
                    break;
                }
                Err(TrySendError::Closed(_)) => return Err("consumer gone".into()),
            }
        }
        cx.pause().await;
    }
}

/// A pause-loop doubler between a feed and a consumer whose inbox holds one
/// message delivers everything, in order, on `threads` workers.
fn pause_loop_delivers_everything(threads: usize) {
    const N: u32 = 3000;
    let sys = System::builder().threads(threads).build();
    let t = sys.spawn(
        Component::new("doubler").inbox_and_outbox::<u32, u32>(),
        kamaelia_doubler,
    );
    let (sum_out, mut sums) = {
        let inbox = Inbox::<Vec<u32>>::detached("sums");
        (inbox.endpoint(), inbox)
    };
    let c = sys.spawn(
        Component::bare("consumer")
            .inbox_with_size::<u32>("inbox", 1)
            .outbox::<Vec<u32>>("got"),
        |mut cx| async move {
            let mut inbox = cx.inbox::<u32>("inbox")?;
            let mut got = cx.outbox::<Vec<u32>>("got")?;
            let mut all = Vec::new();
            while let Ok(x) = inbox.recv().await {
                all.push(x);
            }
            got.send(all).await?;
            Ok::<_, axon::Error>(())
        },
    );
    link(&c.outbox::<Vec<u32>>("got").unwrap(), &sum_out).unwrap();
    link(&t.outbox::<u32>("outbox").unwrap(), &c.inbox("inbox").unwrap()).unwrap();
    let mut feed = Outbox::<u32>::detached("feed");
    link(&feed.endpoint(), &t.inbox("inbox").unwrap()).unwrap();
    for i in 0..N {
        feed.try_send(i).unwrap();
    }
    drop(feed);
    let running = sys.start();
    wait_until("the consumer has everything", || c.is_finished());
    let all = sums.try_recv().expect("the consumer reported");
    assert_eq!(all, (0..N).map(|i| i * 2).collect::<Vec<_>>());
    assert_eq!(t.join(), Ok(axon::Outcome::Finished));
    running.wait();
}

#[test]
fn a_pause_loop_transformer_delivers_everything_on_one_worker() {
    pause_loop_delivers_everything(1);
}

#[test]
fn a_pause_loop_transformer_delivers_everything_on_two_workers() {
    pause_loop_delivers_everything(2);
}

/// The lost wakeup: a message delivered after the component last looked at its
/// inbox and before it paused makes `pause()` return.
#[test]
fn a_delivery_between_looking_and_pausing_ends_the_pause() {
    let sys = System::builder().threads(1).build();
    let c = sys.spawn(Component::new("c").inbox::<u8>("inbox"), |mut cx| async move {
        let mut inbox = cx.inbox::<u8>("inbox")?;
        let mut me = Outbox::<u8>::detached("to me");
        cx.link(&me.endpoint(), &cx.me().inbox::<u8>("inbox")?)?;
        // Look first (pause() has never returned: settle any old news).
        assert_eq!(inbox.try_recv(), Err(TryRecvError::Empty));
        // The delivery slips in after the look, before the pause.
        me.try_send(7)?;
        cx.pause().await;
        assert_eq!(inbox.try_recv(), Ok(7));
        Ok::<_, axon::Error>(())
    });
    let running = sys.start();
    wait_until("the pause returned", || c.is_finished());
    assert_eq!(c.join(), Ok(axon::Outcome::Finished));
    running.wait();
}

/// A message left waiting (say, because the component could not act on it)
/// ends one pause, not every one after: a component pausing in a loop sleeps
/// until something new arrives, and wakes once for it.
#[test]
fn input_already_seen_does_not_end_pause_again_and_again() {
    let sys = System::builder().threads(1).build();
    let returns = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let r = returns.clone();
    let (c, counts) = spawn_counted(
        &sys,
        Component::new("c").inbox::<u8>("inbox"),
        move |mut cx| async move {
            let inbox = cx.inbox::<u8>("inbox")?;
            loop {
                cx.pause().await;
                r.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if inbox.len() >= 2 {
                    return Ok::<_, axon::Error>(());
                }
            }
        },
    );
    let mut feed = Outbox::<u8>::detached("feed");
    link(&feed.endpoint(), &c.inbox("inbox").unwrap()).unwrap();
    feed.try_send(1).unwrap(); // waiting before the component first runs
    let running = sys.start();
    wait_until("the first pause returned", || {
        returns.load(std::sync::atomic::Ordering::SeqCst) >= 1
    });
    quiet();
    assert_eq!(
        returns.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "pause returned again with nothing new"
    );
    let polls = counts.polls();
    quiet();
    assert_eq!(counts.polls(), polls, "a stuck component was polled again");
    feed.try_send(2).unwrap();
    wait_until("woken by the new message", || c.is_finished());
    assert_eq!(returns.load(std::sync::atomic::Ordering::SeqCst), 2);
    running.wait();
}

/// With news already there, `pause()` still gives the scheduler a turn: the
/// component's poll ends (its poll count goes up by one per pause).
#[test]
fn pause_yields_even_with_news_waiting() {
    let sys = System::builder().threads(1).build();
    let (c, counts) = spawn_counted(
        &sys,
        Component::new("c").inbox::<u8>("inbox"),
        |mut cx| async move {
            let _inbox = cx.inbox::<u8>("inbox")?;
            cx.pause().await; // news: the message below
            Ok::<_, axon::Error>(())
        },
    );
    let mut feed = Outbox::<u8>::detached("feed");
    link(&feed.endpoint(), &c.inbox("inbox").unwrap()).unwrap();
    feed.try_send(1).unwrap();
    sys.run();
    assert_eq!(counts.polls(), 2, "one poll to yield, one to return");
    drop(feed);
}

/// A child ending ends the pause once, whether or not the parent collects the
/// exit; a second pause sleeps until something else happens.
#[test]
fn a_child_ending_ends_one_pause() {
    let sys = System::builder().threads(1).build();
    let (p, counts) = spawn_counted(
        &sys,
        Component::new("parent").inbox::<u8>("inbox"),
        |mut cx| async move {
            let inbox = cx.inbox::<u8>("inbox")?;
            cx.spawn_child(Component::bare("child"), |_cx| async {});
            cx.pause().await;
            assert!(cx.children_done());
            cx.pause().await; // the exit is old news: sleeps until the message
            assert_eq!(inbox.len(), 1);
            Ok::<_, axon::Error>(())
        },
    );
    let running = sys.start();
    // parent: poll 1 sleeps, the child's end wakes poll 2 (returns, sleeps again).
    wait_parked(&counts, 2);
    quiet();
    assert_eq!(counts.polls(), 2);
    let mut feed = Outbox::<u8>::detached("feed");
    link(&feed.endpoint(), &p.inbox("inbox").unwrap()).unwrap();
    feed.try_send(1).unwrap();
    wait_until("the parent finished", || p.is_finished());
    assert_eq!(p.join(), Ok(axon::Outcome::Finished));
    running.wait();
}

/// `pause_timeout` returns when its timer fires, with nothing else happening.
#[test]
fn pause_timeout_returns_on_its_timer() {
    let sys = System::builder().threads(1).build();
    let c = sys.spawn(Component::new("c").inbox::<u8>("inbox"), |mut cx| async move {
        let _inbox = cx.inbox::<u8>("inbox")?;
        let start = std::time::Instant::now();
        cx.pause_timeout(Duration::from_millis(20)).await;
        assert!(start.elapsed() >= Duration::from_millis(20));
        Ok::<_, axon::Error>(())
    });
    sys.run();
    assert_eq!(c.join(), Ok(axon::Outcome::Finished));
}

/// A refused `try_send` then `pause()`: woken when the consumer makes room,
/// and only then (a threaded component's `pause_blocking` too).
#[test]
fn space_after_a_refused_try_send_ends_the_pause_of_a_threaded_component() {
    let sys = System::builder().threads(1).build();
    let mut sink = Inbox::<u32>::detached("sink");
    sink.set_size(Some(1));
    let sink_ref = sink.endpoint();
    let p = sys.spawn_threaded(Component::new("p").outbox::<u32>("outbox"), move |mut cx| {
        let mut out = cx.outbox::<u32>("outbox").expect("declared");
        cx.link(&cx.me().outbox::<u32>("outbox").expect("declared"), &sink_ref)
            .expect("links");
        for i in 0..20 {
            let mut m = i;
            loop {
                match out.try_send(m) {
                    Ok(()) => break,
                    Err(TrySendError::Full(x)) => {
                        m = x;
                        cx.pause_blocking(Some(Duration::from_secs(10)));
                    }
                    Err(TrySendError::Closed(_)) => return,
                }
            }
        }
    });
    let running = sys.start();
    let got: Vec<u32> = (0..20).map(|_| sink.recv_blocking().unwrap()).collect();
    assert_eq!(got, (0..20).collect::<Vec<_>>());
    assert_eq!(p.join(), Ok(axon::Outcome::Finished));
    running.wait();
}
