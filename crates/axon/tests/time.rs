//! Timers: sleeping components, intervals, cancelled timers. Lower bounds only
//! (a sleep never ends early); no upper bounds, the machine may be busy.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axon::time::{interval, sleep, sleep_until};
use axon::{Component, Inbox, System};

#[test]
fn a_component_sleeps_without_blocking_others() {
    let sys = System::builder().threads(1).build();
    let mut order = Inbox::<&'static str>::detached("order");
    let sleeper = sys.spawn(
        Component::bare("sleeper").outbox::<&'static str>("outbox"),
        |mut cx| async move {
            let mut out = cx.outbox::<&'static str>("outbox")?;
            sleep(Duration::from_millis(30)).await;
            out.send("sleeper").await?;
            Ok::<_, axon::Error>(())
        },
    );
    let quick = sys.spawn(
        Component::bare("quick").outbox::<&'static str>("outbox"),
        |mut cx| async move {
            let mut out = cx.outbox::<&'static str>("outbox")?;
            out.send("quick").await?;
            Ok::<_, axon::Error>(())
        },
    );
    // Fan-in: both outboxes into one inbox.
    axon::link(&sleeper.outbox("outbox").unwrap(), &order.endpoint()).unwrap();
    axon::link(&quick.outbox("outbox").unwrap(), &order.endpoint()).unwrap();
    let start = Instant::now();
    sys.run();
    assert!(start.elapsed() >= Duration::from_millis(30));
    assert_eq!(order.try_recv(), Ok("quick"));
    assert_eq!(order.try_recv(), Ok("sleeper"));
}

#[test]
fn interval_ticks_at_period_multiples() {
    // Measured before the interval exists: its first deadline is one period after creation.
    let start = Instant::now();
    let mut every = interval(Duration::from_millis(10));
    let ticks: Vec<Instant> = axon::block_on(async {
        let mut v = Vec::new();
        for _ in 0..5 {
            v.push(every.tick().await);
        }
        v
    });
    assert!(start.elapsed() >= Duration::from_millis(50));
    for pair in ticks.windows(2) {
        assert!(pair[1] > pair[0]);
        let gap = pair[1] - pair[0];
        assert_eq!(
            gap.as_nanos() % Duration::from_millis(10).as_nanos(),
            0,
            "ticks fall on the period grid"
        );
    }
}

#[test]
fn dropped_timers_do_not_fire_and_others_still_do() {
    let fired = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for i in 0..20u64 {
        let fired = fired.clone();
        handles.push(std::thread::spawn(move || {
            let s = sleep(Duration::from_millis(5 + i));
            if i % 2 == 0 {
                drop(s); // cancelled before it was ever polled
            } else {
                axon::block_on(s);
                fired.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(fired.load(Ordering::SeqCst), 10);
}

#[test]
fn timeout_with_block_on_timeout() {
    let never = sleep_until(Instant::now() + Duration::from_secs(3600));
    assert!(axon::block_on_timeout(never, Some(Duration::from_millis(10))).is_none());
    let soon = sleep(Duration::from_millis(1));
    assert!(axon::block_on_timeout(soon, Some(Duration::from_secs(60))).is_some());
}
