//! Stepped systems (`SystemBuilder::stepped`, `System::step`) and slow motion
//! (`SystemBuilder::slow_motion`), through the public API.
//!
//! Every test that waits is bounded: `step_timeout` or a channel with a
//! timeout, so a bug fails rather than hangs. No timing is asserted.

use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use axon::{
    link, AfterStep, Component, ComponentId, ComponentRef, Handle, Inbox, Outbox, Outcome, Prefab, Step,
    StepError, System,
};

/// Generous bound for anything that must happen.
const LIMIT: Duration = Duration::from_secs(20);

type Log = Arc<Mutex<Vec<ComponentId>>>;

/// A body that records its component's id every time the scheduler polls it.
struct Logged<F> {
    id: ComponentId,
    log: Log,
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for Logged<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        self.log.lock().unwrap().push(self.id);
        self.inner.as_mut().poll(cx)
    }
}

/// A three-stage pipeline: `numbers` sends 1..=n, `double` doubles, `total`
/// sums into `sum`. Every poll of every stage is logged.
fn pipeline(sys: &System, n: u32, log: &Log, sum: &Arc<Mutex<Option<u32>>>) -> [ComponentRef; 3] {
    let l = log.clone();
    let numbers = sys.spawn(
        Component::new("numbers").outbox::<u32>("outbox"),
        move |mut cx| {
            let id = cx.id();
            let mut out = cx.outbox::<u32>("outbox").unwrap();
            Logged {
                id,
                log: l,
                inner: Box::pin(async move {
                    for i in 1..=n {
                        out.send(i).await?;
                        // One number per step.
                        axon::yield_now().await;
                    }
                    Ok::<_, axon::Error>(())
                }),
            }
        },
    );
    let l = log.clone();
    let double = sys.spawn(
        Component::new("double").inbox_and_outbox::<u32, u32>(),
        move |mut cx| {
            let id = cx.id();
            let mut inbox = cx.inbox::<u32>("inbox").unwrap();
            let mut out = cx.outbox::<u32>("outbox").unwrap();
            Logged {
                id,
                log: l,
                inner: Box::pin(async move {
                    while let Ok(x) = inbox.recv().await {
                        out.send(2 * x).await?;
                    }
                    Ok::<_, axon::Error>(())
                }),
            }
        },
    );
    let (l, s) = (log.clone(), sum.clone());
    let total = sys.spawn(Component::new("total").inbox::<u32>("inbox"), move |mut cx| {
        let id = cx.id();
        let mut inbox = cx.inbox::<u32>("inbox").unwrap();
        Logged {
            id,
            log: l,
            inner: Box::pin(async move {
                let mut sum = 0;
                while let Ok(x) = inbox.recv().await {
                    sum += x;
                }
                *s.lock().unwrap() = Some(sum);
            }),
        }
    });
    link(
        &numbers.outbox::<u32>("outbox").unwrap(),
        &double.inbox("inbox").unwrap(),
    )
    .unwrap();
    link(
        &double.outbox::<u32>("outbox").unwrap(),
        &total.inbox("inbox").unwrap(),
    )
    .unwrap();
    [numbers, double, total]
}

/// Step until no component is left (each step bounded by `LIMIT`).
fn step_all(sys: &System) -> Vec<Step> {
    let mut steps = Vec::new();
    while let Some(step) = sys.step_timeout(LIMIT).expect("a step") {
        steps.push(step);
        assert!(steps.len() < 100_000, "stepping does not end");
    }
    steps
}

#[test]
fn a_fresh_pipeline_takes_its_first_steps_in_spawn_order() {
    let sys = System::builder().stepped().build();
    assert!(sys.is_stepped());
    let (log, sum) = (Log::default(), Arc::default());
    let [numbers, double, total] = pipeline(&sys, 3, &log, &sum);
    let first: Vec<_> = (0..3)
        .map(|_| sys.step_timeout(LIMIT).unwrap().unwrap().id())
        .collect();
    assert_eq!(first, [numbers.id(), double.id(), total.id()]);
    step_all(&sys);
    assert_eq!(*sum.lock().unwrap(), Some(12));
}

#[test]
fn every_step_reports_the_component_that_ran() {
    let sys = System::builder().stepped().build();
    let (log, sum) = (Log::default(), Arc::default());
    let comps = pipeline(&sys, 10, &log, &sum);
    let (mut reported, mut finished_at) = (Vec::new(), Vec::new());
    while let Some(step) = sys.step_timeout(LIMIT).unwrap() {
        // Exactly one more poll happened, and it was of this component.
        reported.push(step.id());
        finished_at.push(step.is_finished());
        assert_eq!(*log.lock().unwrap(), reported, "after step {step}");
        let comp = comps.iter().find(|c| c.id() == step.id()).expect("one of ours");
        assert_eq!(step.name(), comp.name());
        assert_eq!(step.component(), comp);
        match step.after() {
            AfterStep::Finished(outcome) => {
                assert_eq!(*outcome, Outcome::Finished);
                assert_eq!(step.outcome(), Some(&Outcome::Finished));
                assert!(comp.is_finished());
            }
            AfterStep::Waiting | AfterStep::Runnable => assert!(!comp.is_finished()),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(*sum.lock().unwrap(), Some(110));
    // Each component finished in exactly one step, its last.
    for comp in &comps {
        let finished: Vec<_> = steps_of(&reported, &finished_at, comp.id());
        assert_eq!(finished, [true], "{}", comp.name());
    }
    // `numbers` yields after each send: it was runnable again in between.
    let numbers_steps = reported.iter().filter(|id| **id == comps[0].id()).count();
    assert!(numbers_steps > 10, "numbers took {numbers_steps} steps");
}

/// For each step of component `id`, whether it finished then; from its last
/// finishing step on (there must be one).
fn steps_of(reported: &[ComponentId], finished: &[bool], id: ComponentId) -> Vec<bool> {
    let mine: Vec<bool> = reported
        .iter()
        .zip(finished)
        .filter(|(r, _)| **r == id)
        .map(|(_, f)| *f)
        .collect();
    assert!(!mine[..mine.len() - 1].contains(&true), "a step after finishing");
    mine[mine.len() - 1..].to_vec()
}

#[test]
fn step_returns_none_once_every_component_has_finished() {
    let sys = System::builder().stepped().build();
    // Nothing spawned yet.
    assert!(sys.step().unwrap().is_none());
    assert!(sys.try_step().unwrap().is_none());
    let (log, sum) = (Log::default(), Arc::default());
    pipeline(&sys, 5, &log, &sum);
    let steps = step_all(&sys);
    assert_eq!(steps.iter().filter(|s| s.is_finished()).count(), 3);
    assert!(steps.last().unwrap().is_finished());
    assert_eq!(sys.live_components(), 0);
    assert!(sys.step().unwrap().is_none());
    assert!(sys.try_step().unwrap().is_none());
    assert!(sys.step_timeout(LIMIT).unwrap().is_none());
    // A component spawned afterwards is stepped like the first ones.
    sys.spawn(Component::bare("late"), |_cx| async {});
    let step = sys.try_step().unwrap().unwrap();
    assert_eq!(step.name(), "late");
    assert_eq!(step.after(), &AfterStep::Finished(Outcome::Finished));
    assert!(sys.step().unwrap().is_none());
}

#[test]
fn failures_and_panics_are_reported_in_the_step_they_happen() {
    let sys = System::builder().stepped().build();
    sys.spawn(Component::bare("fails"), |_cx| async { Err("no luck".into()) });
    sys.spawn(Component::bare("panics"), |_cx| async {
        if true {
            panic!("on purpose");
        }
    });
    let steps = step_all(&sys);
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0].outcome(), Some(&Outcome::Failed("no luck".into())));
    assert!(matches!(steps[1].outcome(), Some(Outcome::Panicked(m)) if m.contains("on purpose")));
    assert!(steps[1].to_string().starts_with("panics ("), "{}", steps[1]);
}

/// A consumer waiting for a threaded producer that the test releases: the
/// stepped system has nothing runnable until then, and `step` sleeps.
#[test]
fn step_sleeps_until_a_threaded_component_delivers() {
    let sys = System::builder().stepped().build();
    let (release, released) = mpsc::channel::<()>();
    let producer = sys.spawn_threaded(
        Component::new("producer").outbox::<u32>("outbox"),
        move |mut cx| {
            let mut out = cx.outbox::<u32>("outbox").unwrap();
            released.recv().unwrap();
            out.send_blocking(7).unwrap();
            released.recv().unwrap();
            out.send_blocking(8).unwrap();
        },
    );
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    let consumer = sys.spawn(
        Component::new("consumer").inbox::<u32>("inbox"),
        |mut cx| async move {
            let mut inbox = cx.inbox::<u32>("inbox").unwrap();
            while let Ok(x) = inbox.recv().await {
                g.lock().unwrap().push(x);
            }
        },
    );
    link(
        &producer.outbox::<u32>("outbox").unwrap(),
        &consumer.inbox("inbox").unwrap(),
    )
    .unwrap();

    let step = sys.step_timeout(LIMIT).unwrap().unwrap();
    assert_eq!((step.id(), step.after()), (consumer.id(), &AfterStep::Waiting));
    // The threaded producer is alive but not stepped; the consumer waits.
    assert_eq!(sys.try_step().unwrap_err(), StepError::WouldBlock);
    assert_eq!(
        sys.step_timeout(Duration::from_millis(20)).unwrap_err(),
        StepError::TimedOut
    );

    // A plain `step` on another thread sleeps until the producer delivers.
    let stepper = {
        let sys = sys.clone();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            while let Some(step) = sys.step().unwrap() {
                tx.send(step).unwrap();
            }
        });
        rx
    };
    assert!(
        stepper.recv_timeout(Duration::from_millis(50)).is_err(),
        "a step with nothing to run"
    );
    release.send(()).unwrap();
    let step = stepper.recv_timeout(LIMIT).expect("the consumer's step");
    assert_eq!(step.id(), consumer.id());
    assert_eq!(*got.lock().unwrap(), [7]);
    release.send(()).unwrap();
    // The second number, then the producer ends (on its own thread) and the
    // consumer sees its inbox close and finishes; then `step` returns None.
    let mut rest = Vec::new();
    while let Ok(step) = stepper.recv_timeout(LIMIT) {
        rest.push(step);
    }
    assert_eq!(
        rest.last().map(|s| (s.id(), s.is_finished())),
        Some((consumer.id(), true))
    );
    assert!(rest.iter().all(|s| s.id() == consumer.id()));
    assert_eq!(*got.lock().unwrap(), [7, 8]);
    assert_eq!(sys.live_components(), 0);
}

/// Another thread (no component) delivers through a detached outbox, and a
/// timer wakes a component: both wake a sleeping step.
#[test]
fn step_sleeps_until_another_thread_or_a_timer_wakes_a_component() {
    let sys = System::builder().stepped().build();
    let mut feed = Outbox::<u32>::detached("feed");
    let sleeper = sys.spawn(
        Component::new("sleeper").inbox::<u32>("inbox"),
        |mut cx| async move {
            let mut inbox = cx.inbox::<u32>("inbox").unwrap();
            let x = inbox.recv().await.unwrap();
            axon::time::sleep(Duration::from_millis(5)).await;
            assert_eq!(x, 3);
        },
    );
    link(&feed.endpoint(), &sleeper.inbox("inbox").unwrap()).unwrap();
    assert_eq!(
        sys.step_timeout(LIMIT).unwrap().unwrap().after(),
        &AfterStep::Waiting
    );
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(10));
        feed.send_blocking(3).unwrap();
        // Handed back, not dropped: its end would wake the sleeper too.
        feed
    });
    // Woken by the delivery: receives, then waits for its timer.
    let step = sys.step_timeout(LIMIT).unwrap().unwrap();
    assert_eq!((step.name(), step.after()), ("sleeper", &AfterStep::Waiting));
    // Woken by the timer: finishes.
    let step = sys.step_timeout(LIMIT).unwrap().unwrap();
    assert_eq!(step.after(), &AfterStep::Finished(Outcome::Finished));
    assert!(sys.step_timeout(LIMIT).unwrap().is_none());
    drop(sender.join().unwrap());
}

/// Children spawned from inside a step are stepped too, and a parent that
/// waits for them is woken by their ends.
#[test]
fn components_spawned_during_a_step_are_stepped() {
    let sys = System::builder().stepped().build();
    let parent = sys.spawn(Component::bare("parent"), |cx| async move {
        for i in 0..3 {
            cx.spawn_child(Component::bare(format!("child{i}")), |_cx| async {});
        }
        for _ in 0..3 {
            cx.child_exit().await;
        }
    });
    let steps = step_all(&sys);
    let names: Vec<_> = steps.iter().map(|s| s.name().to_string()).collect();
    assert_eq!(names[0], "parent");
    // The children take their steps in spawn order (the parent, woken by each
    // end, may step in between).
    let children: Vec<_> = names.iter().filter(|n| n.starts_with("child")).collect();
    assert_eq!(children, ["child0", "child1", "child2"]);
    assert_eq!(steps.last().unwrap().id(), parent.id());
    assert_eq!(steps.iter().filter(|s| s.is_finished()).count(), 4);
}

#[test]
fn a_handle_drives_a_stepped_system_between_steps() {
    let sys = System::builder().stepped().build();
    let doubler = Prefab::new(
        Component::new("doubler").inbox_and_outbox::<u32, u32>(),
        |mut cx| async move {
            let mut inbox = cx.inbox::<u32>("inbox")?;
            let mut out = cx.outbox::<u32>("outbox")?;
            while let Ok(x) = inbox.recv().await {
                out.send(x * 2).await?;
            }
            Ok::<_, axon::Error>(())
        },
    );
    let mut h: Handle<u32> = Handle::spawn(&sys, doubler).unwrap();
    assert_eq!(
        sys.step_timeout(LIMIT).unwrap().unwrap().after(),
        &AfterStep::Waiting
    );
    h.send_blocking(21).unwrap();
    assert!(h.try_recv().is_err(), "nothing runs between steps");
    assert_eq!(sys.step_timeout(LIMIT).unwrap().unwrap().name(), "doubler");
    assert_eq!(h.try_recv().unwrap(), 42);
    h.close();
    let steps = step_all(&sys);
    assert!(steps.last().unwrap().is_finished());
    assert_eq!(h.join_timeout(LIMIT), Ok(Outcome::Finished));
}

/// Slow motion changes the pace, not the results: a stepped system's `run`
/// and a two-thread system both finish with the same sum.
#[test]
fn slow_motion_finishes_with_the_same_results() {
    for builder in [
        System::builder().stepped().slow_motion(Duration::from_millis(1)),
        System::builder().threads(2).slow_motion(Duration::from_millis(1)),
        System::builder().stepped(),
    ] {
        let sys = builder.build();
        let (log, sum) = (Log::default(), Arc::default());
        pipeline(&sys, 5, &log, &sum);
        let (done, finished) = mpsc::channel();
        let runner = sys.clone();
        std::thread::spawn(move || {
            runner.run();
            done.send(()).unwrap();
        });
        finished.recv_timeout(LIMIT).expect("the system finishes");
        assert_eq!(*sum.lock().unwrap(), Some(30));
        assert_eq!(sys.live_components(), 0);
    }
    // A stepped system with slow motion is stepped at the caller's pace.
    let sys = System::builder()
        .stepped()
        .slow_motion(Duration::from_secs(3600))
        .build();
    let (log, sum) = (Log::default(), Arc::default());
    pipeline(&sys, 5, &log, &sum);
    step_all(&sys);
    assert_eq!(*sum.lock().unwrap(), Some(30));
}

#[test]
fn stepping_a_system_with_scheduler_threads_is_an_error() {
    let sys = System::builder().threads(2).build();
    assert!(!sys.is_stepped());
    sys.spawn(Component::bare("x"), |_cx| async {});
    assert_eq!(sys.step().unwrap_err(), StepError::NotStepped);
    assert_eq!(sys.try_step().unwrap_err(), StepError::NotStepped);
    assert!(sys.step().unwrap_err().to_string().contains("stepped()"));
    sys.run();
}

#[test]
fn stepping_from_inside_a_component_or_while_running_is_an_error() {
    let sys = System::builder().stepped().build();
    let (tx, rx) = mpsc::channel();
    sys.spawn(Component::bare("nested"), move |cx| async move {
        tx.send(cx.system().step().map(|s| s.map(|s| s.id()))).unwrap();
    });
    sys.step_timeout(LIMIT).unwrap().unwrap();
    assert_eq!(rx.recv_timeout(LIMIT).unwrap(), Err(StepError::OnSchedulerThread));

    // Started in the background: the background thread steps it.
    let sys = System::builder().stepped().build();
    let mut gate = Outbox::<u32>::detached("gate");
    let waiter = sys.spawn(
        Component::new("waiter").inbox::<u32>("inbox"),
        |mut cx| async move {
            let mut inbox = cx.inbox::<u32>("inbox").unwrap();
            while inbox.recv().await.is_ok() {}
        },
    );
    link(&gate.endpoint(), &waiter.inbox("inbox").unwrap()).unwrap();
    let running = sys.start();
    assert_eq!(sys.step().unwrap_err(), StepError::Busy);
    gate.send_blocking(1).unwrap();
    drop(gate);
    assert_eq!(
        axon::block_on_timeout(waiter.finished(), Some(LIMIT)),
        Some(Ok(Outcome::Finished))
    );
    running.wait();
    // Stopped: stepping works again.
    sys.spawn(Component::bare("after"), |_cx| async {});
    assert_eq!(sys.step_timeout(LIMIT).unwrap().unwrap().name(), "after");
}

#[test]
fn a_threaded_component_can_step_its_own_stepped_system() {
    // Not a scheduler thread: allowed. (A test driver running as a component.)
    let sys = System::builder().stepped().build();
    let mut got = Inbox::<u32>::detached("got");
    let worker = sys.spawn(
        Component::new("worker").outbox::<u32>("outbox"),
        |mut cx| async move {
            let mut out = cx.outbox::<u32>("outbox").unwrap();
            out.send(5).await.unwrap();
        },
    );
    link(&worker.outbox::<u32>("outbox").unwrap(), &got.endpoint()).unwrap();
    let (tx, rx) = mpsc::channel();
    let driver = sys.clone();
    let threaded = sys.spawn_threaded(Component::bare("driver"), move |_cx| {
        // Its own step(s): the worker's; itself it is not stepped.
        let mut names = Vec::new();
        while let Ok(Some(step)) = driver.step_timeout(Duration::from_millis(200)) {
            names.push(step.name().to_string());
            if step.is_finished() {
                break;
            }
        }
        tx.send(names).unwrap();
    });
    assert_eq!(rx.recv_timeout(LIMIT).unwrap(), ["worker"]);
    assert_eq!(
        axon::block_on_timeout(threaded.finished(), Some(LIMIT)),
        Some(Ok(Outcome::Finished))
    );
    assert_eq!(got.try_recv().unwrap(), 5);
}
