//! Stress tests for how the scheduler keeps tasks alive while they are queued.
//!
//! A wake from one of a system's own workers queues the task *without* a
//! reference count (`task.rs`, `Runnable`): the system's registry keeps the task
//! alive until it has finished, and shutdown drains the queues without looking
//! at such entries. These tests drive the moments where that could go wrong —
//! components finishing while others wake them, tasks stolen between workers,
//! shutdown with wakes in flight, a system started again after a shutdown, and
//! wakes from threads that are not workers — and check that every message is
//! accounted for and every component ends as it should. (A use after free would
//! show up as a crash or a wrong count here, and reliably under
//! `valgrind --tool=memcheck`; see docs/BENCHMARKS.md.)
//!
//! `AXON_STRESS_SECS` makes the loops run longer, as in `properties.rs`.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axon::{link, Component, ComponentRef, Outcome, System};

/// Rounds to run: a handful by default, more under `AXON_STRESS_SECS`.
fn until() -> Instant {
    let secs = std::env::var("AXON_STRESS_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0);
    Instant::now() + Duration::from_secs(secs)
}

/// A ring of `n` components. Each forwards what it receives (adding 1) until it
/// has forwarded `quota(i)` messages, then finishes; a component whose
/// downstream has finished finishes too. `tokens` messages are injected at the
/// start. Returns the components and the total of hops counted.
fn ring(
    sys: &System,
    n: usize,
    tokens: u64,
    quota: impl Fn(usize) -> u64,
) -> (Vec<ComponentRef>, Arc<AtomicU64>) {
    let hops = Arc::new(AtomicU64::new(0));
    let comps: Vec<ComponentRef> = (0..n)
        .map(|i| {
            let hops = hops.clone();
            let quota = quota(i);
            let first = i == 0;
            sys.spawn(
                Component::new("hop").inbox_and_outbox::<u64, u64>(),
                move |mut cx| async move {
                    let mut inbox = cx.inbox::<u64>("inbox")?;
                    let mut out = cx.outbox::<u64>("outbox")?;
                    if first {
                        for t in 0..tokens {
                            if out.send(t).await.is_err() {
                                return Ok(());
                            }
                        }
                    }
                    let mut sent = 0;
                    while sent < quota {
                        let Ok(x) = inbox.recv().await else { break };
                        hops.fetch_add(1, Ordering::Relaxed);
                        if out.send(x + 1).await.is_err() {
                            break;
                        }
                        sent += 1;
                    }
                    Ok::<_, axon::Error>(())
                },
            )
        })
        .collect();
    for i in 0..n {
        let from = comps[i].outbox::<u64>("outbox").expect("declared");
        let to = comps[(i + 1) % n].inbox::<u64>("inbox").expect("declared");
        link(&from, &to).expect("same type");
    }
    (comps, hops)
}

/// No reference test (our scheduler's own invariant): components finish at
/// different moments while the others keep waking them, on one to four worker
/// threads; every run ends, every component finishes normally, and the hop
/// count is one a ring can produce.
#[test]
fn components_finishing_while_being_woken_end_cleanly() {
    let end = until();
    let mut round = 0u64;
    loop {
        for threads in [1, 2, 4] {
            let sys = System::builder().threads(threads).build();
            // Quotas differ per component so they finish one after another
            // while tokens still circulate.
            let (comps, hops) = ring(&sys, 16, 8, |i| 50 + (i as u64 * 37 + round) % 400);
            sys.run();
            for c in &comps {
                assert_eq!(c.outcome(), Some(Outcome::Finished), "{c:?}");
            }
            let h = hops.load(Ordering::Relaxed);
            assert!(h >= 50, "the ring ran ({h} hops)");
            assert_eq!(sys.live_components(), 0);
        }
        round += 1;
        if Instant::now() >= end {
            break;
        }
    }
}

/// No reference test: shutting down while wakes are in flight on every worker
/// cancels every component, and the same system then runs new components to
/// completion (no entry of a freed task survives into the next run).
#[test]
fn shutdown_with_wakes_in_flight_then_restart() {
    let end = until();
    loop {
        for threads in [1, 2, 4] {
            let sys = System::builder().threads(threads).build();
            let (busy, hops) = ring(&sys, 8, 4, |_| u64::MAX);
            let running = sys.start();
            common::wait_until("the ring runs", || hops.load(Ordering::Relaxed) > 1000);
            running.shutdown();
            for c in &busy {
                assert_eq!(c.outcome(), Some(Outcome::Cancelled), "{c:?}");
            }
            assert_eq!(sys.live_components(), 0);

            // The same system again, with a ring that ends on its own.
            let (comps, hops) = ring(&sys, 8, 2, |_| 500);
            let running = sys.start();
            running.wait();
            for c in &comps {
                assert_eq!(c.outcome(), Some(Outcome::Finished), "{c:?}");
            }
            assert!(hops.load(Ordering::Relaxed) >= 500);
        }
        if Instant::now() >= end {
            break;
        }
    }
}

/// No reference test: wakes from threads that are not workers (threaded
/// components) queue counted entries, mixed with the uncounted ones of
/// async-to-async wakes into the same components; nothing is lost.
#[test]
fn wakes_from_threads_and_workers_mix() {
    const PER_FEEDER: u64 = 5_000;
    let sys = System::builder().threads(2).build();
    let total = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    // A collector fed by two threaded feeders and one async relay.
    let t = total.clone();
    let collector = sys.spawn(
        Component::new("collector").inbox_and_outbox::<u64, u64>(),
        move |mut cx| async move {
            let mut inbox = cx.inbox::<u64>("inbox")?;
            let mut n = 0;
            while n < 3 * PER_FEEDER {
                let x = inbox.recv().await?;
                t.fetch_add(x, Ordering::Relaxed);
                n += 1;
            }
            Ok::<_, axon::Error>(())
        },
    );
    let feeders: Vec<ComponentRef> = (0..2)
        .map(|_| {
            sys.spawn_threaded(
                Component::new("feeder").inbox_and_outbox::<u64, u64>(),
                move |mut cx| {
                    let mut out = cx.outbox::<u64>("outbox").expect("declared");
                    for _ in 0..PER_FEEDER {
                        out.send_blocking(1).expect("collector is there");
                    }
                },
            )
        })
        .collect();
    let s = stop.clone();
    let source = sys.spawn(
        Component::new("source").inbox_and_outbox::<u64, u64>(),
        move |mut cx| async move {
            let mut out = cx.outbox::<u64>("outbox")?;
            for _ in 0..PER_FEEDER {
                out.send(1).await?;
                if s.load(Ordering::Relaxed) {
                    break;
                }
            }
            Ok::<_, axon::Error>(())
        },
    );
    let relay = sys.spawn(
        Component::new("relay").inbox_and_outbox::<u64, u64>(),
        move |mut cx| async move {
            let mut inbox = cx.inbox::<u64>("inbox")?;
            let mut out = cx.outbox::<u64>("outbox")?;
            while let Ok(x) = inbox.recv().await {
                out.send(x).await?;
            }
            Ok::<_, axon::Error>(())
        },
    );
    let into = |c: &ComponentRef| c.outbox::<u64>("outbox").expect("declared");
    let inbox = |c: &ComponentRef| c.inbox::<u64>("inbox").expect("declared");
    for f in &feeders {
        link(&into(f), &inbox(&collector)).unwrap();
    }
    link(&into(&source), &inbox(&relay)).unwrap();
    link(&into(&relay), &inbox(&collector)).unwrap();
    sys.run();
    stop.store(true, Ordering::Relaxed);
    assert_eq!(collector.outcome(), Some(Outcome::Finished));
    assert_eq!(total.load(Ordering::Relaxed), 3 * PER_FEEDER);
    for c in feeders.iter().chain([&source, &relay]) {
        assert_eq!(c.outcome(), Some(Outcome::Finished), "{c:?}");
    }
}
