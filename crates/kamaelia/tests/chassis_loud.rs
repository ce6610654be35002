//! Loud chassis failures (issue 17.1): a miswired `pipeline!` / `graphline!`
//! is an error while it is built, naming both ends, and `.run()` returns it
//! without starting anything; a stage that fails makes its pipeline fail; a
//! message on a Graphline's `control` that reaches no child is logged at `warn`
//! instead of vanishing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axon::{Component, Inbox, Outbox, Outcome, Prefab, Signal, System};
use kamaelia::chassis::ChassisError;
use kamaelia::{graphline, pipeline};

/// A source of `n` numbers (records whether it ever ran).
fn numbers(n: u32, ran: Arc<AtomicBool>) -> Prefab {
    Prefab::new(
        Component::new("numbers").outbox::<u32>("outbox"),
        move |mut cx| async move {
            ran.store(true, Ordering::SeqCst);
            let mut out = cx.outbox::<u32>("outbox")?;
            for i in 0..n {
                out.send(i).await?;
            }
            Ok::<_, axon::Error>(())
        },
    )
}

/// A sink of `T` that throws everything away.
fn sink<T: Send + 'static>(name: &'static str) -> Prefab {
    Prefab::new(Component::new(name).inbox::<T>("inbox"), |mut cx| async move {
        let mut inbox = cx.inbox::<T>("inbox")?;
        while inbox.recv().await.is_ok() {}
        Ok::<_, axon::Error>(())
    })
}

fn double() -> Prefab {
    Prefab::new(
        Component::new("doubler").inbox_and_outbox::<u32, u32>(),
        |mut cx| async move {
            let mut inbox = cx.inbox::<u32>("inbox")?;
            let mut out = cx.outbox::<u32>("outbox")?;
            while let Ok(x) = inbox.recv().await {
                out.send(x * 2).await?;
            }
            Ok::<_, axon::Error>(())
        },
    )
}

#[test]
fn a_mismatched_pipeline_fails_at_build_time_naming_both_ends() {
    let ran = Arc::new(AtomicBool::new(false));
    let p = pipeline![numbers(3, ran.clone()), double(), sink::<String>("printer")];
    // Known as soon as it is built.
    let e = p.build_error().expect("a build error");
    match e.downcast_ref::<ChassisError>() {
        Some(ChassisError::TypeMismatch {
            source_box,
            source_type,
            sink,
            sink_type,
        }) => {
            assert_eq!(source_box, "stage 1 (doubler).outbox");
            assert_eq!(*source_type, "u32");
            assert_eq!(sink, "stage 2 (printer).inbox");
            assert_eq!(*sink_type, "alloc::string::String");
        }
        other => panic!("expected a type mismatch, got {other:?}"),
    }
    // `.run()` is an error saying so, and nothing ran.
    let err = p.run().unwrap_err();
    let text = err.to_string();
    assert!(text.contains("Pipeline"), "{text}");
    assert!(text.contains("stage 1 (doubler).outbox sends u32"), "{text}");
    assert!(
        text.contains("stage 2 (printer).inbox receives alloc::string::String"),
        "{text}"
    );
    assert!(!ran.load(Ordering::SeqCst), "no stage may start");
    let failure = &err.failures()[0];
    assert!(failure.error.as_ref().unwrap().is::<ChassisError>());
}

#[test]
fn a_mismatched_pipeline_spawned_by_hand_shows_up_in_the_run_report() {
    let ran = Arc::new(AtomicBool::new(false));
    let sys = System::builder().threads(1).build();
    let p = pipeline![numbers(3, ran.clone()), sink::<String>("printer")].spawn(&sys);
    let report = sys.run();
    assert_eq!(report.failures().len(), 1, "{report}");
    assert_eq!(report.failures()[0].component, p.id());
    assert!(matches!(p.outcome(), Some(Outcome::Failed(ref e)) if e.is::<ChassisError>()));
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn a_pipeline_missing_a_box_names_the_stage() {
    let ran = Arc::new(AtomicBool::new(false));
    // The first stage has no outbox for the second's inbox to read.
    let quiet = Prefab::new(Component::new("quiet"), |_cx| async {});
    let p = pipeline![quiet, sink::<u32>("printer"), numbers(1, ran)];
    let err = p.run().unwrap_err().to_string();
    assert!(
        err.contains("stage 0 (quiet) has no outbox named \"outbox\""),
        "{err}"
    );
    assert!(err.contains("stage 1 (printer)"), "{err}");
}

#[test]
fn a_broken_stage_breaks_the_pipeline_around_it() {
    let ran = Arc::new(AtomicBool::new(false));
    let inner = pipeline![numbers(1, ran.clone()), sink::<String>("printer")];
    let outer = kamaelia::chassis::Pipeline::new()
        .then(inner)
        .then(sink::<u8>("bytes"));
    match outer.check() {
        Err(ChassisError::BrokenChild { child, error }) => {
            assert_eq!(child, "stage 0 (Pipeline)");
            assert!(error.is::<ChassisError>());
        }
        other => panic!("expected BrokenChild, got {other:?}"),
    }
    assert!(outer.build().run().is_err());
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn a_graphline_with_an_unknown_child_or_box_fails_at_build_time() {
    let ran = Arc::new(AtomicBool::new(false));
    let g = graphline! {
        SRC = numbers(1, ran.clone()),
        OUT = sink::<u32>("printer");
        ("SRC", "outbox") => ("PRINTER", "inbox"),
    };
    match g.build_error().and_then(|e| e.downcast_ref::<ChassisError>()) {
        Some(ChassisError::UnknownChild { name, linkage, known }) => {
            assert_eq!(name, "PRINTER");
            assert_eq!(linkage, "SRC.outbox -> PRINTER.inbox");
            assert_eq!(known, "SRC, OUT");
        }
        other => panic!("expected UnknownChild, got {other:?}"),
    }
    assert!(g.run().is_err());

    let g = graphline! {
        SRC = numbers(1, ran.clone()),
        OUT = sink::<String>("printer");
        ("SRC", "outbox") => ("OUT", "inbox"),
    };
    let err = g.run().unwrap_err().to_string();
    assert!(err.contains("SRC.outbox") && err.contains("OUT.inbox"), "{err}");
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn a_failing_stage_makes_the_pipeline_fail() {
    let ran = Arc::new(AtomicBool::new(false));
    let picky = Prefab::new(
        Component::new("picky").inbox::<u32>("inbox"),
        |mut cx| async move {
            let mut inbox = cx.inbox::<u32>("inbox")?;
            while let Ok(x) = inbox.recv().await {
                if x == 2 {
                    return Err(format!("cannot take {x}").into());
                }
            }
            Ok::<_, axon::Error>(())
        },
    );
    let err = pipeline![numbers(5, ran.clone()), picky].run().unwrap_err();
    assert!(ran.load(Ordering::SeqCst));
    assert_eq!(err.failures().len(), 1);
    match err.failures()[0]
        .error
        .as_ref()
        .and_then(|e| e.downcast_ref::<ChassisError>())
    {
        Some(ChassisError::ChildFailed {
            chassis,
            child,
            panicked,
            error,
        }) => {
            assert_eq!(chassis, "Pipeline");
            assert_eq!(child, "stage 1 (picky)");
            assert!(!panicked);
            assert_eq!(error.to_string(), "cannot take 2");
        }
        other => panic!("expected ChildFailed, got {other:?}"),
    }
    assert!(
        err.to_string()
            .contains("Pipeline: stage 1 (picky) failed: cannot take 2"),
        "{err}"
    );

    // A panicking child in a Graphline: the same.
    let g = graphline! {
        BOMB = Prefab::new(Component::new("bomb"), |_cx| async {
            if true {
                panic!("boom");
            }
        });
    };
    let err = g.run().unwrap_err().to_string();
    assert!(err.contains("Graphline: BOMB panicked: boom"), "{err}");
}

/// A `tracing` writer collecting what is logged.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A stage passing `Signal`s from `control` to `signal` and ending on a
/// shutdown.
fn relay(name: &'static str) -> Prefab {
    Prefab::new(Component::new(name), |mut cx| async move {
        let mut control = cx.inbox::<Signal>("control")?;
        let mut signal = cx.outbox::<Signal>("signal")?;
        while let Ok(s) = control.recv().await {
            let stop = s.is_shutdown();
            let _ = signal.send(s).await;
            if stop {
                break;
            }
        }
        Ok::<_, axon::Error>(())
    })
}

#[test]
fn a_shutdown_a_graphline_cannot_pass_on_is_logged_at_warn() {
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        // A cycle: each child's control is fed by the other's signal, and no
        // linkage starts at ("self", "control"): nobody can hear the Graphline's
        // own control.
        let g = graphline! {
            A = relay("a"),
            B = relay("b");
            ("A", "signal") => ("B", "control"),
            ("B", "signal") => ("A", "control"),
        };
        // One thread, run here: the warning is logged on this thread.
        let sys = System::builder().threads(1).build();
        let g = g.spawn(&sys);
        let mut ctl = Outbox::<Signal>::detached("ctl");
        axon::link(&ctl.endpoint(), &g.inbox("control").unwrap()).unwrap();
        ctl.try_send(Signal::ShutdownMicroprocess).unwrap();
        let out = Inbox::<Signal>::detached("out");
        axon::link(&g.outbox("signal").unwrap(), &out.endpoint()).unwrap();
        // The relays never hear it, so stop them from outside to end the test.
        let sys2 = sys.clone();
        let stopper = sys.spawn(Component::bare("stopper"), move |cx| async move {
            // Let the Graphline read its control first.
            for _ in 0..100 {
                axon::yield_now().await;
            }
            for c in sys2.components() {
                if c.name() == "a" || c.name() == "b" {
                    c.stop();
                }
            }
            drop(cx);
        });
        let report = sys.run();
        assert!(report.is_ok(), "{report}");
        assert_eq!(stopper.outcome(), Some(Outcome::Finished));
        drop(ctl);
    });
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("WARN"), "{text}");
    assert!(text.contains("reached no child"), "{text}");
    assert!(text.contains("ShutdownMicroprocess"), "{text}");
    assert!(text.contains("link (\"self\", \"control\")"), "{text}");
}
