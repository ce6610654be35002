//! Fair start and no starvation (issue 16, point 5): components spawned
//! together take their first step in spawn order before any takes its second,
//! and a long exchange between two components passing the LIFO slot back and
//! forth does not keep a third runnable component waiting until it ends.

mod common;

use std::sync::{Arc, Mutex};

use axon::{link, yield_now, Component, Inbox, System};
use common::assert_finished;

/// Spawned together from inside a component (where a wake would take the
/// LIFO slot), five children take their first steps in spawn order, all
/// before any second step.
#[test]
fn components_spawned_together_start_in_spawn_order() {
    let sys = System::builder().threads(1).build();
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    let parent = sys.spawn(Component::bare("parent"), move |cx| async move {
        for i in 0..5 {
            let l = l.clone();
            cx.spawn_child(Component::bare("child"), move |_cx| async move {
                l.lock().unwrap().push(format!("first {i}"));
                yield_now().await;
                l.lock().unwrap().push(format!("second {i}"));
            });
        }
        while cx.child_exit().await.is_some() {}
    });
    sys.run();
    assert_finished(&parent);
    let want: Vec<String> = (0..5)
        .map(|i| format!("first {i}"))
        .chain((0..5).map(|i| format!("second {i}")))
        .collect();
    assert_eq!(*log.lock().unwrap(), want);
}

/// The same for components spawned from outside before the system runs.
#[test]
fn components_spawned_before_running_start_in_spawn_order() {
    let sys = System::builder().threads(1).build();
    let log = Arc::new(Mutex::new(Vec::new()));
    for i in 0..5 {
        let l = log.clone();
        sys.spawn(Component::bare("c"), move |_cx| async move {
            l.lock().unwrap().push(i);
            yield_now().await;
            l.lock().unwrap().push(10 + i);
        });
    }
    sys.run();
    assert_eq!(*log.lock().unwrap(), [0, 1, 2, 3, 4, 10, 11, 12, 13, 14]);
}

/// Two components ping-pong 100,000 times on one worker, each wake taking the
/// LIFO slot; a third, runnable from the start, runs long before they are
/// done (the slot gives way after a bounded streak).
#[test]
fn a_long_exchange_does_not_starve_a_runnable_component() {
    const ROUNDS: u64 = 100_000;
    let sys = System::builder().threads(1).build();
    let count = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let ping = sys.spawn(Component::bare("ping").inbox_and_outbox::<u64, u64>(), {
        let count = count.clone();
        move |mut cx| async move {
            let mut inbox = cx.inbox::<u64>("inbox")?;
            let mut out = cx.outbox::<u64>("outbox")?;
            out.send(0).await?;
            while let Ok(n) = inbox.recv().await {
                count.store(n, std::sync::atomic::Ordering::Relaxed);
                if n >= ROUNDS {
                    break;
                }
                out.send(n + 1).await?;
            }
            Ok::<_, axon::Error>(())
        }
    });
    let pong = sys.spawn(
        Component::bare("pong").inbox_and_outbox::<u64, u64>(),
        |mut cx| async move {
            let mut inbox = cx.inbox::<u64>("inbox")?;
            let mut out = cx.outbox::<u64>("outbox")?;
            while let Ok(n) = inbox.recv().await {
                if out.send(n + 1).await.is_err() {
                    break;
                }
            }
            Ok::<_, axon::Error>(())
        },
    );
    link(
        &ping.outbox::<u64>("outbox").unwrap(),
        &pong.inbox("inbox").unwrap(),
    )
    .unwrap();
    link(
        &pong.outbox::<u64>("outbox").unwrap(),
        &ping.inbox("inbox").unwrap(),
    )
    .unwrap();
    // Runnable from the start, spawned last; it yields a few times, each time
    // going behind the exchange, which holds the LIFO slot between turns.
    let mut seen = Inbox::<u64>::detached("seen");
    let c = {
        let count = count.clone();
        sys.spawn(
            Component::bare("third").outbox::<u64>("outbox"),
            move |mut cx| async move {
                let mut out = cx.outbox::<u64>("outbox")?;
                // Let the exchange get going, then report how far it got.
                for _ in 0..3 {
                    yield_now().await;
                }
                out.send(count.load(std::sync::atomic::Ordering::Relaxed)).await?;
                Ok::<_, axon::Error>(())
            },
        )
    };
    link(&c.outbox::<u64>("outbox").unwrap(), &seen.endpoint()).unwrap();
    sys.run();
    let at = seen.try_recv().expect("the third component ran");
    assert!(
        at < ROUNDS / 10,
        "the third component waited for {at} of {ROUNDS} rounds"
    );
}
