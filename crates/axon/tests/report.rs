//! Loud, typed failure (issue 17.1), through the public API: `System::run` and
//! `RunningSystem::wait` / `shutdown` report the top-level components that
//! failed or panicked; `Prefab::run` turns that into an error; `Outcome::Failed`
//! keeps the body's error so it can be downcast; `join` / `finished` on a system
//! that is not running is an error instead of a hang.

mod common;

use std::time::Duration;

use axon::report::REPORT_LIMIT;
use axon::{Component, Inbox, JoinError, Outbox, Outcome, Prefab, Signal, System};

/// A generous bound for waits that must end (never a timing assertion).
const LIMIT: Duration = Duration::from_secs(20);

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("bad frame at byte {at}")]
struct BadFrame {
    at: usize,
}

/// `join()` on another thread, given `LIMIT` to return: a bug that makes it
/// hang fails the test instead of hanging it.
fn join_bounded(c: &axon::ComponentRef) -> Result<Outcome, JoinError> {
    let c = c.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(c.join()));
    rx.recv_timeout(LIMIT).expect("join() returned")
}

fn one_thread() -> System {
    System::builder().threads(1).build()
}

#[test]
fn run_reports_the_top_level_components_that_failed_or_panicked() {
    for threads in [1, 2] {
        let sys = System::builder().threads(threads).build();
        sys.spawn(Component::new("fine"), |_cx| async {});
        let broken = sys.spawn(Component::new("broken"), |_cx| async {
            Err(BadFrame { at: 7 }.into())
        });
        let bomb = sys.spawn(Component::new("bomb"), |_cx| async {
            if true {
                panic!("boom");
            }
        });
        let report = sys.run();
        assert!(!report.is_ok());
        let mut got: Vec<_> = report
            .failures()
            .iter()
            .map(|f| (f.component, f.name.clone(), f.panicked))
            .collect();
        got.sort();
        let mut want = vec![
            (broken.id(), "broken".to_string(), false),
            (bomb.id(), "bomb".to_string(), true),
        ];
        want.sort();
        assert_eq!(got, want, "on {threads} threads");
        // The report keeps the error itself.
        let f = report.failures().iter().find(|f| f.name == "broken").unwrap();
        assert_eq!(
            f.error.as_ref().and_then(|e| e.downcast_ref::<BadFrame>()),
            Some(&BadFrame { at: 7 })
        );
        assert_eq!(f.outcome(), broken.outcome().unwrap());
        // As an error, its message lists each failure.
        let err = report.into_result().unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("2 components failed"), "{text}");
        assert!(
            text.contains("broken") && text.contains("bad frame at byte 7"),
            "{text}"
        );
        assert!(text.contains("bomb") && text.contains("panicked: boom"), "{text}");
        // The next run starts a new report.
        assert!(sys.run().is_ok());
    }
}

#[test]
fn a_childs_failure_goes_to_its_parent_not_the_report() {
    let sys = one_thread();
    let parent = sys.spawn(Component::new("parent"), |cx| async move {
        cx.spawn_child(Component::new("child"), |_cx| async { Err("child broke".into()) });
        let exit = cx.child_exit().await.expect("the child ends");
        assert_eq!(exit.outcome, Outcome::Failed("child broke".into()));
    });
    let report = sys.run();
    assert!(report.is_ok(), "{report}");
    assert_eq!(parent.outcome(), Some(Outcome::Finished));
}

#[test]
fn an_all_good_run_reports_ok() {
    let sys = one_thread();
    sys.spawn(Component::new("a"), |_cx| async { Ok::<_, axon::Error>(()) });
    let report = sys.run();
    assert!(report.is_ok());
    assert_eq!(report.into_result(), Ok(()));
    // Nothing to run: still a report.
    assert!(sys.run().is_ok());
}

#[test]
fn the_report_keeps_a_bounded_number_of_failures_and_counts_the_rest() {
    let sys = one_thread();
    for _ in 0..REPORT_LIMIT + 5 {
        sys.spawn(Component::bare("f"), |_cx| async { Err("no".into()) });
    }
    let report = sys.run();
    assert_eq!(report.failures().len(), REPORT_LIMIT);
    assert_eq!(report.omitted(), 5);
    let text = report.to_string();
    assert!(
        text.starts_with(&format!("{} components failed", REPORT_LIMIT + 5)),
        "{}",
        &text[..60]
    );
    assert!(text.ends_with("and 5 more (see the warn-level log)"));
}

#[test]
fn wait_and_shutdown_return_the_report() {
    let sys = one_thread();
    let running = sys.start();
    sys.spawn(Component::new("bad"), |_cx| async { Err("bad".into()) });
    let report = running.wait();
    assert_eq!(report.failures().len(), 1);
    assert_eq!(report.failures()[0].name, "bad");

    // Shutdown: the failure before it is reported, the cancelled one is not.
    let sys = one_thread();
    let running = sys.start();
    let bad = sys.spawn(Component::new("bad"), |_cx| async { Err("bad".into()) });
    let mut feed = Outbox::<u8>::detached("feed");
    let stuck = sys.spawn(
        Component::new("stuck").inbox::<u8>("inbox"),
        |mut cx| async move {
            let mut inbox = cx.inbox::<u8>("inbox")?;
            while inbox.recv().await.is_ok() {}
            Ok::<_, axon::Error>(())
        },
    );
    axon::link(&feed.endpoint(), &stuck.inbox("inbox").unwrap()).unwrap();
    feed.try_send(1).unwrap();
    assert!(matches!(bad.join_timeout(LIMIT), Ok(Outcome::Failed(_))));
    let report = running.shutdown();
    assert_eq!(report.failures().len(), 1, "{report}");
    assert_eq!(stuck.outcome(), Some(Outcome::Cancelled));
    drop(feed);
}

#[test]
fn prefab_run_is_ok_or_lists_what_failed() {
    let hello = Prefab::new(Component::new("hello"), |_cx| async {});
    assert_eq!(hello.run(), Ok(()));

    let broken = Prefab::new(Component::new("broken"), |_cx| async {
        Err(BadFrame { at: 1 }.into())
    });
    let err = broken.run().unwrap_err();
    assert_eq!(err.failures().len(), 1);
    assert_eq!(err.failures()[0].name, "broken");
    // `source()` is the component's error.
    let source = std::error::Error::source(&err).expect("a source");
    assert_eq!(source.to_string(), "bad frame at byte 1");

    // A prefab known to be broken fails at once, its error kept whole.
    let p = Prefab::failing(Component::new("miswired"), BadFrame { at: 3 });
    assert_eq!(
        p.build_error().and_then(|e| e.downcast_ref::<BadFrame>()),
        Some(&BadFrame { at: 3 })
    );
    let err = p.run().unwrap_err();
    assert!(matches!(
        err.failures()[0].outcome(),
        Outcome::Failed(e) if e.downcast_ref::<BadFrame>() == Some(&BadFrame { at: 3 })
    ));
}

#[test]
fn outcome_failed_keeps_the_error_and_so_does_the_failed_signal() {
    let sys = one_thread();
    let c = sys.spawn(Component::new("decoder"), |_cx| async {
        // Through `axon::Error` (a box): still downcasts to the type inside.
        let e: axon::Error = Box::new(BadFrame { at: 42 });
        Err(e)
    });
    let mut signal = Inbox::<Signal>::detached("signal");
    axon::link(&c.outbox("signal").unwrap(), &signal.endpoint()).unwrap();
    sys.run();
    match c.outcome() {
        Some(Outcome::Failed(e)) => {
            assert_eq!(e.downcast_ref::<BadFrame>(), Some(&BadFrame { at: 42 }));
            assert!(e.is::<BadFrame>());
            assert_eq!(format!("{e:?}"), "\"bad frame at byte 42\"");
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    match signal.try_recv() {
        Ok(Signal::Failed(f)) => {
            assert_eq!(f.reason, "bad frame at byte 42");
            assert!(f.error.unwrap().is::<BadFrame>());
        }
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[test]
fn join_on_a_system_never_started_is_an_error_not_a_hang() {
    let sys = one_thread();
    let c = sys.spawn(Component::new("idle"), |_cx| async {});
    match join_bounded(&c) {
        Err(JoinError::NotRunning { component }) => assert!(component.starts_with("idle#"), "{component}"),
        other => panic!("expected NotRunning, got {other:?}"),
    }
    // The future too, polled from plain code.
    assert!(matches!(
        axon::block_on_timeout(c.finished(), Some(LIMIT)),
        Some(Err(JoinError::NotRunning { .. }))
    ));
    // Run it: then it has ended, and joining it says how.
    assert!(sys.run().is_ok());
    assert_eq!(c.join(), Ok(Outcome::Finished));
}

#[test]
fn join_on_a_stopped_system_is_an_error() {
    let sys = one_thread();
    let running = sys.start();
    assert!(sys.is_running(), "running as soon as start() returns");
    running.wait();
    assert!(!sys.is_running());
    let late = sys.spawn(Component::new("late"), |_cx| async {});
    assert!(matches!(join_bounded(&late), Err(JoinError::NotRunning { .. })));
    // Started again, it runs.
    let running = sys.start();
    assert_eq!(late.join_timeout(LIMIT), Ok(Outcome::Finished));
    running.wait();
}

#[test]
fn join_from_another_thread_ends_when_the_system_is_shut_down() {
    let sys = one_thread();
    let running = sys.start();
    let feed = Outbox::<u8>::detached("feed");
    let stuck = sys.spawn(
        Component::new("stuck").inbox::<u8>("inbox"),
        |mut cx| async move {
            let mut inbox = cx.inbox::<u8>("inbox")?;
            while inbox.recv().await.is_ok() {}
            Ok::<_, axon::Error>(())
        },
    );
    axon::link(&feed.endpoint(), &stuck.inbox("inbox").unwrap()).unwrap();
    let s = stuck.clone();
    let joiner = std::thread::spawn(move || s.join_timeout(LIMIT)); // bounded: a bug fails, not hangs
                                                                    // It cannot end on its own (its input stays open): the joiner waits
                                                                    // (most likely already) until the shutdown cancels it. Joining after that
                                                                    // finds it ended, so either way it hears `Cancelled` and nothing hangs.
    std::thread::sleep(Duration::from_millis(20));
    running.shutdown();
    assert_eq!(joiner.join().unwrap(), Ok(Outcome::Cancelled));
    drop(feed);
}

#[test]
fn a_threaded_component_can_be_joined_without_the_scheduler() {
    let sys = one_thread();
    let t = sys.spawn_threaded(Component::new("t"), |_cx| Err("threaded broke".into()));
    assert_eq!(
        t.join_timeout(LIMIT),
        Ok(Outcome::Failed("threaded broke".into()))
    );
    // Its failure waits in the next report.
    let report = sys.run();
    assert_eq!(report.failures().len(), 1);
    assert_eq!(report.failures()[0].name, "t");
}

#[test]
fn join_timeout_says_which_component_and_how_long() {
    let sys = one_thread();
    let running = sys.start();
    let feed = Outbox::<u8>::detached("feed");
    let stuck = sys.spawn(
        Component::new("stuck").inbox::<u8>("inbox"),
        |mut cx| async move {
            let mut inbox = cx.inbox::<u8>("inbox")?;
            while inbox.recv().await.is_ok() {}
            Ok::<_, axon::Error>(())
        },
    );
    axon::link(&feed.endpoint(), &stuck.inbox("inbox").unwrap()).unwrap();
    let err = stuck.join_timeout(Duration::from_millis(5)).unwrap_err();
    assert!(err.to_string().starts_with("stuck#"), "{err}");
    assert!(err.to_string().contains("did not finish within 5ms"), "{err}");
    drop(feed);
    assert_eq!(stuck.join_timeout(LIMIT), Ok(Outcome::Finished));
    running.wait();
}

/// Run as a child process by the test below: a failing component, a system
/// run whose report is dropped unread, no tracing subscriber.
#[test]
fn child_ignores_its_report() {
    if std::env::var_os("AXON_REPORT_CHILD").is_none() {
        return;
    }
    let sys = one_thread();
    sys.spawn(Component::new("ignored"), |_cx| async {
        Err("nobody listens".into())
    });
    sys.run();
}

#[test]
fn a_failing_report_dropped_unread_without_a_subscriber_prints_to_stderr() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_ignores_its_report",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("AXON_REPORT_CHILD", "1")
        .output()
        .expect("the test binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("axon: 1 component failed"), "{stderr}");
    assert!(
        stderr.contains("ignored (") && stderr.contains("failed: nobody listens"),
        "{stderr}"
    );

    // Read, it stays quiet.
    let sys = one_thread();
    sys.spawn(Component::new("read"), |_cx| async { Err("seen".into()) });
    let report = sys.run();
    assert_eq!(report.failures().len(), 1);
}

#[test]
fn joining_a_dormant_component_that_is_dropped_hears_cancelled() {
    let sys = one_thread();
    let running = sys.start();
    let d = Prefab::new(Component::new("never"), |_cx| async {}).create(&sys);
    let c = d.component().clone();
    let joiner = std::thread::spawn(move || c.join_timeout(LIMIT)); // bounded: a bug fails, not hangs
    std::thread::sleep(Duration::from_millis(20)); // most likely waiting by now
    drop(d);
    assert_eq!(joiner.join().unwrap(), Ok(Outcome::Cancelled));
    running.wait();
}
