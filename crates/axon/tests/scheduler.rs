//! The scheduler: runs to completion, shuts down by cancelling, works on one or
//! more threads, cannot be starved by a busy component, and never runs a
//! component that was not woken.
//!
//! Ports `test_Scheduler.py::scheduler_Test` (reference catalog §4; B-25..B-29)
//! in intent. Axon's tests stepped the scheduler's generator by hand and paused
//! or woke tasks through the scheduler; here components pause themselves by
//! awaiting and are woken by their boxes (DESIGN.md: paused by default), so the
//! tests observe poll counts instead. Not ported: pausing/waking a task through
//! the scheduler and "is paused" queries (no such API: only a component's boxes
//! and children wake it), the global-scheduler and slow-motion tests.

mod common;

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use axon::{link, Component, ComponentRef, Inbox, Outbox, Outcome, System};
use common::{assert_finished, quiet, spawn_counted, wait_gone, wait_parked, wait_until, yield_now, Counts};

/// Ports `test_Scheduler.py::test_stopsIfNoThreads`: with nothing to run, `run` returns at once.
#[test]
fn run_with_no_components_returns_at_once() {
    for threads in [1, 2] {
        let sys = System::builder().threads(threads).build();
        assert_eq!(sys.threads(), threads);
        sys.run();
        assert_eq!(sys.live_components(), 0);
    }
    // `start` + `wait` with nothing spawned returns too.
    System::builder().threads(1).build().start().wait();
}

/// A component that takes `steps` scheduler turns (yielding between them),
/// counting them, then finishes.
fn stepper(sys: &System, steps: usize, done: &Arc<AtomicUsize>) -> ComponentRef {
    let done = done.clone();
    sys.spawn(Component::bare("stepper"), move |_cx| async move {
        for _ in 0..steps {
            done.fetch_add(1, Ordering::SeqCst);
            yield_now().await;
        }
    })
}

/// Ports `test_Scheduler.py::test_runsMicroprocessToCompletionThenStops` and
/// `test_Scheduler.py::test_runsMicroprocessesAllToCompletionThenStops` (B-25): `run` returns only
/// when every component has finished, each having run to its end once.
#[test]
fn run_returns_when_every_component_has_finished() {
    for threads in [1, 2] {
        let sys = System::builder().threads(threads).build();
        let counters: Vec<Arc<AtomicUsize>> = (0..4).map(|_| Arc::default()).collect();
        let comps: Vec<ComponentRef> = [10, 20, 30, 40]
            .iter()
            .zip(&counters)
            .map(|(n, c)| stepper(&sys, *n, c))
            .collect();
        assert_eq!(sys.live_components(), 4);
        assert_eq!(sys.components(), comps);
        sys.run();
        for ((c, n), counter) in comps.iter().zip([10, 20, 30, 40]).zip(&counters) {
            assert_eq!(c.outcome(), Some(Outcome::Finished));
            assert_eq!(counter.load(Ordering::SeqCst), n);
        }
        assert_eq!(sys.live_components(), 0);
        assert!(sys.components().is_empty());
    }
}

/// Sets a flag when dropped: shows a cancelled body's future was dropped.
struct DropFlag(Arc<AtomicBool>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// No direct reference test: `start` runs in the background; `shutdown` cancels
/// what has not finished (`Outcome::Cancelled`, future dropped) and closes the
/// boxes of threaded components so their blocking calls return.
#[test]
fn shutdown_cancels_unfinished_components() {
    let sys = System::builder().threads(2).build();
    let running = sys.start();
    let dropped = Arc::new(AtomicBool::new(false));
    let d = dropped.clone();
    let (stuck, counts) = spawn_counted(
        &sys,
        Component::bare("stuck").inbox::<u8>("inbox"),
        move |mut cx| async move {
            let _flag = DropFlag(d);
            let mut inbox = cx.inbox::<u8>("inbox")?;
            inbox.recv().await?;
            Ok::<_, axon::Error>(())
        },
    );
    let quick = running.system().spawn(Component::bare("quick"), |_cx| async {});
    let threaded = sys.spawn_threaded(Component::bare("thr").inbox::<u8>("inbox"), |mut cx| {
        let mut inbox = cx.inbox::<u8>("inbox").expect("declared");
        // Never fed and never linked: only shutdown ends this.
        assert_eq!(inbox.recv_blocking(), Err(axon::RecvError::Closed));
    });
    assert_finished(&quick);
    wait_until("stuck sleeps", || counts.parked_after(1));
    assert!(!stuck.is_finished());
    running.shutdown();
    assert_eq!(stuck.outcome(), Some(Outcome::Cancelled));
    assert!(dropped.load(Ordering::SeqCst));
    assert_eq!(threaded.join(), Ok(Outcome::Finished));
    assert_eq!(quick.outcome(), Some(Outcome::Finished));
}

/// No reference test: `wait` returns once everything spawned (also while
/// running) has finished.
#[test]
fn wait_returns_when_components_spawned_while_running_finish() {
    let sys = System::builder().threads(1).build();
    let running = sys.start();
    let done = Arc::new(AtomicUsize::new(0));
    let comps: Vec<_> = (1..=3).map(|n| stepper(&sys, n * 5, &done)).collect();
    running.wait();
    assert_eq!(done.load(Ordering::SeqCst), 30);
    assert!(comps.iter().all(|c| c.outcome() == Some(Outcome::Finished)));
}

/// Two components that never go idle: one keeps sending to itself, one keeps
/// yielding. Both stop when `stop` is set.
fn busy_pair(sys: &System, stop: &Arc<AtomicBool>) -> [ComponentRef; 2] {
    let s = stop.clone();
    let echo = sys.spawn(
        Component::new("echo").inbox_and_outbox::<u64, u64>(),
        move |mut cx| async move {
            let me = cx.me().clone();
            cx.link(&me.outbox::<u64>("outbox")?, &me.inbox::<u64>("inbox")?)?;
            let mut inbox = cx.inbox::<u64>("inbox")?;
            let mut out = cx.outbox::<u64>("outbox")?;
            out.send(0).await?;
            while let Ok(x) = inbox.recv().await {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                out.send(x + 1).await?;
            }
            Ok::<_, axon::Error>(())
        },
    );
    let s = stop.clone();
    let spinner = sys.spawn(Component::bare("spinner"), move |_cx| async move {
        while !s.load(Ordering::SeqCst) {
            yield_now().await;
        }
    });
    [echo, spinner]
}

/// No reference test (DESIGN.md §4: a busy component yields after a budget): a
/// component that keeps sending to itself forever, and one that yields forever,
/// cannot stop another from finishing.
#[test]
fn a_busy_component_cannot_starve_others() {
    for threads in [1, 2] {
        let sys = System::builder().threads(threads).build();
        let stop = Arc::new(AtomicBool::new(false));
        let busy = busy_pair(&sys, &stop);
        let done = Arc::new(AtomicUsize::new(0));
        let worker = stepper(&sys, 1000, &done);
        let running = sys.start();
        assert_finished(&worker);
        assert_eq!(done.load(Ordering::SeqCst), 1000);
        assert!(busy.iter().all(|c| !c.is_finished()), "still busy");
        // Ended by a flag, not by shutdown: see
        // `shutdown_ends_components_that_never_go_idle`.
        stop.store(true, Ordering::SeqCst);
        running.wait();
        for c in &busy {
            assert_finished(c);
        }
    }
}

/// No reference test: `shutdown` must also end a system whose components never
/// go idle (it cancels them). Bounded: a shutdown that has not returned after
/// 10 s counts as hung.
#[test]
fn shutdown_ends_components_that_never_go_idle() {
    for threads in [1, 2] {
        let sys = System::builder().threads(threads).build();
        let stop = Arc::new(AtomicBool::new(false));
        let busy = busy_pair(&sys, &stop);
        let running = sys.start();
        wait_until("both ran", || sys.live_components() == 2);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            running.shutdown();
            let _ = tx.send(());
        });
        let returned = rx.recv_timeout(std::time::Duration::from_secs(10)).is_ok();
        // Let the busy pair go either way, so a hung shutdown does not spin on.
        stop.store(true, Ordering::SeqCst);
        assert!(returned, "shutdown did not return with {threads} thread(s)");
        for c in &busy {
            assert_eq!(c.outcome(), Some(Outcome::Cancelled));
        }
    }
}

/// Ports the intent of `test_Scheduler.py::test_pausedMicroprocessDoesNotGetCalled`,
/// `test_Scheduler.py::test_oneMicroprocessPausesOthersContinueToRun` and
/// `test_Scheduler.py::test_wakingPausedMicroprocessDoesntWakeOthers` (B-26): while a busy pair
/// ping-pongs, idle components are never run again after their first poll;
/// waking one runs that one only.
#[test]
fn idle_components_are_not_run_and_waking_one_runs_only_that_one() {
    let sys = System::builder().threads(1).build();
    let mut idle: Vec<(ComponentRef, Arc<Counts>, Outbox<u8>)> = Vec::new();
    for _ in 0..50 {
        let (c, counts) = spawn_counted(
            &sys,
            Component::bare("idle").inbox::<u8>("inbox"),
            |mut cx| async move {
                let mut inbox = cx.inbox::<u8>("inbox")?;
                while inbox.recv().await.is_ok() {}
                Ok::<_, axon::Error>(())
            },
        );
        let feed = Outbox::<u8>::detached("feed");
        link(&feed.endpoint(), &c.inbox("inbox").unwrap()).unwrap();
        idle.push((c, counts, feed));
    }
    let mut result = Inbox::<u64>::detached("result");
    let ping = sys.spawn(
        Component::bare("ping")
            .inbox_and_outbox::<u64, u64>()
            .outbox::<u64>("result"),
        |mut cx| async move {
            let mut inbox = cx.inbox::<u64>("inbox")?;
            let mut out = cx.outbox::<u64>("outbox")?;
            let mut result = cx.outbox::<u64>("result")?;
            out.send(0).await?;
            while let Ok(n) = inbox.recv().await {
                if n >= 2000 {
                    break;
                }
                out.send(n + 1).await?;
            }
            result.send(2000).await?;
            Ok::<_, axon::Error>(())
        },
    );
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
    link(&ping.outbox::<u64>("result").unwrap(), &result.endpoint()).unwrap();
    let running = sys.start();
    assert_eq!(result.recv_blocking(), Ok(2000));
    assert_finished(&ping);
    for (_, counts, _) in &idle {
        wait_parked(counts, 1);
    }
    quiet();
    assert!(
        idle.iter().all(|(_, c, _)| c.polls() == 1),
        "an idle component was run again"
    );
    // Wake one.
    idle[7].2.try_send(1).unwrap();
    wait_until("the woken one ran", || idle[7].1.parked_after(2));
    quiet();
    for (i, (_, counts, _)) in idle.iter().enumerate() {
        assert_eq!(counts.polls(), if i == 7 { 2 } else { 1 }, "idle component {i}");
    }
    // Let them all go: closing their feeds ends them.
    let comps: Vec<ComponentRef> = idle.iter().map(|(c, _, _)| c.clone()).collect();
    drop(idle);
    for c in &comps {
        assert_finished(c);
    }
    running.wait();
}

/// Ports `test_Scheduler.py::test_listAllThreadsMethodListsAllMicroprocesses` (B-27, made real):
/// the system lists every live component, running or asleep, and drops it when
/// it ends.
#[test]
fn the_system_lists_every_live_component_asleep_or_not() {
    let sys = System::builder().threads(1).build();
    let mut comps = Vec::new();
    let mut feeds = Vec::new();
    for i in 0..5 {
        let c = sys.spawn(
            Component::bare(format!("c{i}")).inbox::<u8>("inbox"),
            |mut cx| async move {
                let mut inbox = cx.inbox::<u8>("inbox")?;
                while inbox.recv().await.is_ok() {}
                Ok::<_, axon::Error>(())
            },
        );
        let feed = Outbox::<u8>::detached("feed");
        link(&feed.endpoint(), &c.inbox("inbox").unwrap()).unwrap();
        comps.push(c);
        feeds.push(feed);
    }
    assert_eq!(sys.components(), comps, "listed before running");
    let running = sys.start();
    assert_eq!(sys.components(), comps, "listed while asleep");
    drop(feeds.remove(2));
    assert_eq!(wait_gone(&sys, &comps[2]), Outcome::Finished);
    let mut left = comps.clone();
    left.remove(2);
    assert_eq!(sys.components(), left);
    assert_eq!(sys.live_components(), 4);
    drop(feeds);
    running.wait();
    assert!(sys.components().is_empty());
}

/// Ports `test_Scheduler.py::test_pauseThenTerminateTerminates` (B-28): a component that arms its
/// wakeups and ends in the same poll is cleaned up, a later delivery attempt
/// finds its inbox closed, and `run` still returns.
#[test]
fn a_component_that_pauses_and_ends_in_one_poll_is_cleaned_up() {
    let sys = System::builder().threads(1).build();
    let c = sys.spawn(Component::new("brief").inbox::<u8>("inbox"), |cx| async move {
        let mut pause = Box::pin(cx.pause());
        std::future::poll_fn(|tcx| {
            let _ = pause.as_mut().poll(tcx); // registers the wakeups, then we end anyway
            std::task::Poll::Ready(())
        })
        .await;
    });
    let mut feed = Outbox::<u8>::detached("feed");
    link(&feed.endpoint(), &c.inbox("inbox").unwrap()).unwrap();
    sys.run();
    assert_finished(&c);
    assert!(matches!(feed.try_send(1), Err(axon::TrySendError::Closed(1))));
    assert_eq!(sys.live_components(), 0);
}

/// Ports the intent of `test_Scheduler.py::test_runThreadsUsesNonBusyWaitingMode` (B-29) minus the
/// CPU measurement (the `idle` example measures that): components sleeping in a
/// blocking `run` on another thread are woken by sends from this thread, and
/// `run` then returns. While they sleep they are not polled.
#[test]
fn a_sleeping_scheduler_is_woken_from_another_thread() {
    for threads in [1, 2] {
        let sys = System::builder().threads(threads).build();
        let mut feeds = Vec::new();
        let mut all = Vec::new();
        for _ in 0..5 {
            let (c, counts) = spawn_counted(
                &sys,
                Component::bare("sleeper").inbox::<u8>("inbox"),
                |mut cx| async move {
                    let mut inbox = cx.inbox::<u8>("inbox")?;
                    let got = inbox.recv().await?;
                    assert_eq!(got, 9);
                    Ok::<_, axon::Error>(())
                },
            );
            let feed = Outbox::<u8>::detached("feed");
            link(&feed.endpoint(), &c.inbox("inbox").unwrap()).unwrap();
            feeds.push(feed);
            all.push((c, counts));
        }
        let s = sys.clone();
        let runner = std::thread::spawn(move || s.run());
        for (_, counts) in &all {
            wait_parked(counts, 1);
        }
        for feed in &mut feeds {
            feed.try_send(9).unwrap();
        }
        runner.join().unwrap();
        for (c, counts) in &all {
            assert_finished(c);
            assert_eq!(counts.polls(), 2);
        }
    }
}

/// No reference test: a three-stage pipeline moves 10,000 messages correctly on
/// one thread and on two.
#[test]
fn a_pipeline_works_on_one_and_on_two_threads() {
    for threads in [1, 2] {
        let sys = System::builder().threads(threads).build();
        let source = sys.spawn(
            Component::bare("source").outbox::<u64>("outbox"),
            |mut cx| async move {
                let mut out = cx.outbox::<u64>("outbox")?;
                for i in 0..10_000 {
                    out.send(i).await?;
                }
                Ok::<_, axon::Error>(())
            },
        );
        let double = sys.spawn(
            Component::bare("double").inbox_and_outbox::<u64, u64>(),
            |mut cx| async move {
                let mut inbox = cx.inbox::<u64>("inbox")?;
                inbox.set_size(Some(16));
                let mut out = cx.outbox::<u64>("outbox")?;
                while let Ok(x) = inbox.recv().await {
                    out.send(x * 2).await?;
                }
                Ok::<_, axon::Error>(())
            },
        );
        let total = Arc::new(AtomicUsize::new(0));
        let t = total.clone();
        let sum = sys.spawn(
            Component::bare("sum").inbox::<u64>("inbox"),
            move |mut cx| async move {
                let mut inbox = cx.inbox::<u64>("inbox")?;
                let mut expect = 0;
                while let Ok(x) = inbox.recv().await {
                    assert_eq!(x, expect * 2, "in order");
                    expect += 1;
                    t.fetch_add(x as usize, Ordering::SeqCst);
                }
                Ok::<_, axon::Error>(())
            },
        );
        link(
            &source.outbox::<u64>("outbox").unwrap(),
            &double.inbox("inbox").unwrap(),
        )
        .unwrap();
        link(
            &double.outbox::<u64>("outbox").unwrap(),
            &sum.inbox("inbox").unwrap(),
        )
        .unwrap();
        sys.run();
        for c in [&source, &double, &sum] {
            assert_finished(c);
        }
        assert_eq!(total.load(Ordering::SeqCst), 2 * (0..10_000).sum::<usize>());
    }
}

/// No reference test: once `join` has returned, the component is gone from the
/// system's list of live components (`components`, `live_components`), as every
/// other end-of-component step (linkages removed, boxes closed, parent told) is
/// done by then. Repeated because it is a race: the kernel wakes joiners before
/// it removes the component from its registry.
#[test]
fn an_ended_component_is_no_longer_listed_when_join_returns() {
    let sys = System::builder().threads(2).build();
    let running = sys.start();
    let mut stale = 0;
    for _ in 0..1000 {
        let c = sys.spawn(Component::bare("brief"), |_cx| async {
            for _ in 0..3 {
                yield_now().await;
            }
        });
        assert_eq!(c.join(), Ok(Outcome::Finished));
        if sys.components().contains(&c) || sys.live_components() != 0 {
            stale += 1;
        }
    }
    running.shutdown();
    assert_eq!(stale, 0, "listed after join in {stale} of 1000 rounds");
}

/// A parent spawns many children that each report once in their first poll
/// and then wait; every report arrives, on one thread and on several, and the
/// worker state a wake reads (`LOCAL`) is used from every kind of caller:
/// spawns inside a poll, wakes inside a poll, wakes from the main thread.
#[test]
fn a_parent_hears_every_report_of_children_spawned_in_bulk() {
    for threads in [1, 2, 4] {
        for round in 0..5u64 {
            let sys = System::builder().threads(threads).build();
            let running = sys.start();
            let n: u64 = 3_000 + round * 7;
            let mut done = Inbox::<u64>::detached("done");
            let parent = sys.spawn(
                Component::bare("parent")
                    .inbox::<u64>("inbox")
                    .outbox::<u64>("result"),
                move |mut cx| async move {
                    let mut inbox = cx.inbox::<u64>("inbox")?;
                    let mut result = cx.outbox::<u64>("result")?;
                    let me = cx.me().inbox::<u64>("inbox")?;
                    for i in 0..n {
                        let child = cx.system().spawn(
                            Component::bare("child")
                                .inbox::<()>("inbox")
                                .outbox::<u64>("outbox"),
                            move |mut cx| async move {
                                let mut inbox = cx.inbox::<()>("inbox")?;
                                let mut out = cx.outbox::<u64>("outbox")?;
                                out.send(i).await?;
                                let _ = inbox.recv().await;
                                Ok::<_, axon::Error>(())
                            },
                        );
                        link(&child.outbox::<u64>("outbox")?, &me)?;
                    }
                    let mut sum = 0u64;
                    for _ in 0..n {
                        sum += inbox.recv().await?;
                    }
                    result.send(sum).await?;
                    Ok::<_, axon::Error>(())
                },
            );
            link(&parent.outbox::<u64>("result").unwrap(), &done.endpoint()).unwrap();
            let sum = done.recv_blocking().expect("the parent reports its sum");
            assert_eq!(sum, n * (n - 1) / 2, "threads {threads}, round {round}");
            running.shutdown();
            assert_eq!(sys.live_components(), 0);
        }
    }
}

/// Panics when dropped, unless its thread is already unwinding (a second
/// panic there would abort the process).
struct PanicOnDrop;
impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("destructor boom");
        }
    }
}

/// No reference test: a body is dropped in place, inside the task's own
/// allocation. When shutdown cancels a body whose locals panic as they are
/// dropped, the panic is contained: the component is `Cancelled`, the other
/// bodies are still dropped, and shutdown returns.
#[test]
fn shutdown_contains_a_body_whose_destructor_panics() {
    let sys = System::builder().threads(1).build();
    let running = sys.start();
    let dropped = Arc::new(AtomicBool::new(false));
    let mut stuck = Vec::new();
    let mut counts = Vec::new();
    for i in 0..3 {
        let d = dropped.clone();
        let (c, n) = spawn_counted(
            &sys,
            Component::bare("stuck").inbox::<u8>("inbox"),
            move |mut cx| async move {
                // The middle one panics when dropped; the others set the flag.
                let _bomb = if i == 1 { Some(PanicOnDrop) } else { None };
                let _flag = (i != 1).then(|| DropFlag(d));
                let mut inbox = cx.inbox::<u8>("inbox")?;
                inbox.recv().await?;
                Ok::<_, axon::Error>(())
            },
        );
        stuck.push(c);
        counts.push(n);
    }
    wait_until("all three wait", || counts.iter().all(|n| n.parked_after(1)));
    running.shutdown();
    for c in &stuck {
        assert_eq!(c.outcome(), Some(Outcome::Cancelled));
    }
    assert!(dropped.load(Ordering::SeqCst));
}

/// A component that many others wake runs once per batch of their messages, not
/// once per message: on a worker with many tasks queued, a woken task goes
/// behind them (first come, first served) rather than ahead of them. Here a
/// parent spawns 300 children on a one-thread system, each sends it one
/// message, and the parent is polled a handful of times (its first poll, then
/// once per budget's worth of messages), not 300.
#[test]
fn a_component_woken_by_many_runs_once_per_batch() {
    const CHILDREN: u64 = 300;
    let sys = System::builder().threads(1).build();
    let mut result = Inbox::<u64>::detached("result");
    let (parent, counts) = spawn_counted(
        &sys,
        Component::bare("parent")
            .inbox::<u64>("inbox")
            .outbox::<u64>("result"),
        |mut cx| async move {
            let mut inbox = cx.inbox::<u64>("inbox")?;
            let mut result = cx.outbox::<u64>("result")?;
            let me = cx.me().inbox::<u64>("inbox")?;
            for i in 0..CHILDREN {
                let child = cx.system().spawn(
                    Component::bare("child").outbox::<u64>("outbox"),
                    move |mut cx| async move {
                        let mut out = cx.outbox::<u64>("outbox")?;
                        out.send(i).await?;
                        Ok::<_, axon::Error>(())
                    },
                );
                link(&child.outbox::<u64>("outbox")?, &me)?;
            }
            let mut sum = 0;
            for _ in 0..CHILDREN {
                sum += inbox.recv().await?;
            }
            result.send(sum).await?;
            Ok::<_, axon::Error>(())
        },
    );
    link(&parent.outbox::<u64>("result").unwrap(), &result.endpoint()).unwrap();
    let running = sys.start();
    assert_eq!(result.recv_blocking(), Ok(CHILDREN * (CHILDREN - 1) / 2));
    assert_finished(&parent);
    running.wait();
    // 1 poll that spawns and parks, then one per 128 messages (the cooperative
    // budget), and at most a few more for wakes that land between batches;
    // one poll per child (300) is what this guards against.
    assert!(
        counts.polls() <= 10,
        "the parent was polled {} times for {CHILDREN} messages",
        counts.polls()
    );
}

/// A [`Park`](axon::Park) that counts how often a worker was unparked.
struct CountingPark {
    inner: axon::ThreadPark,
    unparks: Arc<AtomicUsize>,
}

impl axon::Park for CountingPark {
    fn park(&self, timeout: Option<std::time::Duration>) {
        self.inner.park(timeout);
    }
    fn unpark(&self) {
        self.unparks.fetch_add(1, Ordering::SeqCst);
        self.inner.unpark();
    }
}

/// No reference test (Axon had one thread): a poll that queues many
/// components on its worker wakes a sleeping worker for them once, not once
/// per component. Waking costs the waker a system call; paying one for every
/// child of a parent that spawns in a loop made spawning on two threads three
/// times slower than on one (`bench spawn`, `axon-n`).
#[test]
fn a_poll_that_queues_many_components_wakes_a_sleeping_worker_once() {
    const CHILDREN: usize = 500;
    let unparks = Arc::new(AtomicUsize::new(0));
    let counter = unparks.clone();
    let sys = System::builder()
        .threads(2)
        .park(move |_| {
            Arc::new(CountingPark {
                inner: axon::ThreadPark::new(),
                unparks: counter.clone(),
            })
        })
        .build();
    let ran = Arc::new(AtomicUsize::new(0));
    let seen = ran.clone();
    sys.spawn(Component::bare("parent"), move |cx| async move {
        for _ in 0..CHILDREN {
            let ran = seen.clone();
            cx.system()
                .spawn(Component::bare("child"), move |_cx| async move {
                    ran.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, axon::Error>(())
                });
            // Some work between spawns (a parent links each child, say), long
            // enough for the other worker to run what is queued and go back
            // to sleep: the case in which every queued child used to wake it.
            let t = std::time::Instant::now();
            while t.elapsed() < std::time::Duration::from_micros(20) {
                std::hint::spin_loop();
            }
        }
        Ok::<_, axon::Error>(())
    });
    sys.run();
    assert_eq!(ran.load(Ordering::SeqCst), CHILDREN);
    // At most: the parent's spawn from this thread (1), the parent's poll
    // (its first queued child, and once more at its end for the rest: 2),
    // and the stop when the last component ends (one per worker: 2).
    let n = unparks.load(Ordering::SeqCst);
    assert!(n <= 8, "{n} unparks for {CHILDREN} children spawned in one poll");
}

/// No reference test: work that a component queues while its poll goes on
/// (here: it never yields until that work has run) is taken by the other
/// worker, so holding back wakes within a poll does not serialise it.
#[test]
fn components_queued_by_a_busy_poll_run_on_another_worker() {
    let sys = System::builder().threads(2).build();
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    sys.spawn(Component::bare("busy"), move |cx| async move {
        // Two: the first woken sits in this worker's private next-task slot,
        // the second pushes it onto the queue the other worker steals from.
        for _ in 0..2 {
            let ran = flag.clone();
            cx.system()
                .spawn(Component::bare("helper"), move |_cx| async move {
                    ran.store(true, Ordering::SeqCst);
                    Ok::<_, axon::Error>(())
                });
        }
        // Not a timing assertion: a generous bound so a failure ends the test
        // instead of hanging it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !flag.load(Ordering::SeqCst) {
            assert!(
                std::time::Instant::now() < deadline,
                "no other worker ran the components this poll queued"
            );
            std::hint::spin_loop();
        }
        Ok::<_, axon::Error>(())
    });
    sys.run();
    assert!(ran.load(Ordering::SeqCst));
}
