//! Less ceremony (issue 17.2), checked from the outside: component bodies that
//! need no turbofish, `?` on a send error for a message type that is not `Sync`,
//! `send_control`, `Handle::spawn` taking anything that becomes a `Prefab`, the
//! prelude, and `inbox_and_outbox`. The warnings for dropped futures, prefabs
//! and running systems are checked by `compile_fail` doc tests in
//! `axon::prelude`.

use std::cell::Cell;
use std::time::Duration;

use axon::prelude::*;
use axon::{Direction, SendError};

/// A message type that is `Send` but not `Sync`.
#[derive(Debug)]
struct NotSync(Cell<u32>);

/// Run `sys` to completion on a helper thread, failing (not hanging) after a
/// generous bound.
fn run_bounded(sys: System) {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        sys.run();
        let _ = done_tx.send(());
    });
    done_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the system did not finish within 30 s");
}

#[test]
fn bodies_return_ok_or_unit_with_no_turbofish() {
    let sys = System::builder().threads(1).build();
    let mut results = Inbox::<u32>::detached("results");
    let producer = sys.spawn(
        Component::new("producer").outbox::<u32>("outbox"),
        |mut cx| async move {
            let mut out = cx.outbox::<u32>("outbox")?;
            let n: u32 = "20".parse()?; // a std error converts too
            out.send(n).await?;
            out.send(n + 1).await?;
            Ok(())
        },
    );
    let quiet = sys.spawn(Component::new("quiet"), |_cx| async move {});
    let early = sys.spawn(Component::new("early"), |cx| async move {
        if cx.me().name() == "early" {
            return Ok(());
        }
        Err("never reached".into())
    });
    let threaded = sys.spawn_threaded(Component::new("threaded").outbox::<u32>("outbox"), |mut cx| {
        let mut out = cx.outbox::<u32>("outbox")?;
        out.send_blocking(100)?;
        Ok(())
    });
    let prefab = Prefab::new(Component::new("prefab"), |cx| async move {
        let child = cx.spawn_child(Component::new("child"), |_cx| async move { Ok(()) });
        child.finished().await?;
        Ok(())
    })
    .spawn(&sys);
    axon::link(&producer.outbox::<u32>("outbox").unwrap(), &results.endpoint()).unwrap();
    let mut threaded_out = Inbox::<u32>::detached("threaded_out");
    axon::link(
        &threaded.outbox::<u32>("outbox").unwrap(),
        &threaded_out.endpoint(),
    )
    .unwrap();
    run_bounded(sys);
    for c in [&producer, &quiet, &early, &threaded, &prefab] {
        assert_eq!(c.outcome(), Some(Outcome::Finished), "{}", c.name());
    }
    assert_eq!(results.try_recv(), Ok(20));
    assert_eq!(results.try_recv(), Ok(21));
    assert_eq!(threaded_out.try_recv(), Ok(100));
}

#[test]
fn an_error_from_a_body_is_its_failure() {
    let sys = System::builder().threads(1).build();
    let failing = sys.spawn(Component::new("failing"), |_cx| async move {
        let n: u32 = "not a number".parse()?;
        let _ = n;
        Ok(())
    });
    let said = sys.spawn(Component::new("said"), |_cx| async move { Err("nope".into()) });
    run_bounded(sys);
    let outcome = failing.outcome().unwrap();
    assert!(outcome.is_failure(), "{outcome:?}");
    assert!(format!("{outcome:?}").contains("invalid digit"), "{outcome:?}");
    let outcome = said.outcome().unwrap();
    assert!(outcome.is_failure(), "{outcome:?}");
    assert!(format!("{outcome:?}").contains("nope"), "{outcome:?}");
}

#[test]
fn question_mark_works_on_a_send_error_of_a_non_sync_message() {
    let sys = System::builder().threads(1).build();
    let producer = sys.spawn(
        Component::new("producer").outbox::<NotSync>("outbox"),
        |mut cx| async move {
            // A consumer that takes one message, then finishes.
            let consumer = cx.spawn_child(
                Component::new("consumer").inbox::<NotSync>("inbox"),
                |mut cx| async move {
                    let mut inbox = cx.inbox::<NotSync>("inbox")?;
                    let first = inbox.recv().await?;
                    assert_eq!(first.0.get(), 1);
                    Ok(())
                },
            );
            cx.link(
                &cx.me().outbox::<NotSync>("outbox")?,
                &consumer.inbox::<NotSync>("inbox")?,
            )?;
            let mut out = cx.outbox::<NotSync>("outbox")?;
            out.send(NotSync(Cell::new(1))).await?;
            assert_eq!(consumer.finished().await, Ok(Outcome::Finished));
            // The consumer has gone: this send fails, and `?` passes it on.
            out.send(NotSync(Cell::new(2))).await?;
            Ok(())
        },
    );
    run_bounded(sys);
    let outcome = producer.outcome().unwrap();
    assert!(outcome.is_failure(), "{outcome:?}");
    let text = format!("{outcome:?}");
    assert!(text.contains("not delivered"), "{text}");
    assert!(
        text.contains("NotSync"),
        "the error names the message type: {text}"
    );
}

#[test]
fn a_send_error_turned_into_axon_error_still_holds_the_message() {
    fn send_one(out: &mut Outbox<NotSync>) -> Result<(), axon::Error> {
        out.send_blocking(NotSync(Cell::new(7)))?;
        Ok(())
    }
    let mut out = Outbox::<NotSync>::detached("out");
    let sink = Inbox::<NotSync>::detached("sink");
    axon::link(&out.endpoint(), &sink.endpoint()).unwrap();
    drop(sink);
    let err = send_one(&mut out).unwrap_err();
    assert!(err.to_string().contains("not delivered"), "{err}");
    let back = err.downcast::<SendError<NotSync>>().expect("a SendError inside");
    assert_eq!(back.into_inner().0.get(), 7);
}

#[test]
fn the_typed_send_error_hands_the_message_back() {
    let mut out = Outbox::<NotSync>::detached("out");
    let sink = Inbox::<NotSync>::detached("sink");
    axon::link(&out.endpoint(), &sink.endpoint()).unwrap();
    drop(sink);
    match out.send_blocking(NotSync(Cell::new(9))) {
        Ok(()) => panic!("the destination is closed"),
        Err(mut e) => {
            e.get_mut().0.set(10);
            assert_eq!(e.into_inner().0.get(), 10);
        }
    }
    assert_eq!(SendError::new(3), SendError::new(3));
    assert_ne!(SendError::new(3), SendError::new(4));
    let e = SendError::new(5);
    assert_eq!(e, e.clone());
}

#[test]
fn send_control_sends_one_signal_in_one_line() {
    let sys = System::builder().threads(1).build();
    let listener = sys.spawn(Component::new("listener"), |mut cx| async move {
        let mut control = cx.inbox::<Signal>("control")?;
        assert_eq!(control.recv().await?, Signal::ProducerFinished);
        assert_eq!(control.recv().await?, Signal::ShutdownMicroprocess);
        Ok(())
    });
    listener.send_control(Signal::ProducerFinished).unwrap();
    listener.shutdown().unwrap();
    run_bounded(sys);
    assert_eq!(listener.outcome(), Some(Outcome::Finished));
    // Finished: the control inbox no longer receives, and it says so.
    let err = listener.send_control(Signal::ProducerFinished).unwrap_err();
    assert!(matches!(err, axon::ControlError::Finished { .. }), "{err:?}");
    // No control inbox at all.
    let sys = System::builder().threads(1).build();
    let bare = sys.spawn(Component::bare("bare"), |_cx| async move {});
    assert!(matches!(
        bare.send_control(Signal::ShutdownMicroprocess),
        Err(axon::ControlError::NoControlBox { .. })
    ));
    run_bounded(sys);
}

/// A library-style component: a builder that becomes a `Prefab`.
struct Doubler;

impl From<Doubler> for Prefab {
    fn from(_: Doubler) -> Prefab {
        Prefab::new(
            Component::new("doubler").inbox_and_outbox::<u32, u32>(),
            |mut cx| async move {
                let mut inbox = cx.inbox::<u32>("inbox")?;
                let mut out = cx.outbox::<u32>("outbox")?;
                while let Ok(x) = inbox.recv().await {
                    out.send(x * 2).await?;
                }
                Ok(())
            },
        )
    }
}

#[test]
fn handle_spawn_takes_anything_that_becomes_a_prefab() {
    let running = System::builder().threads(1).build().start();
    let mut h: Handle<u32> = Handle::spawn(running.system(), Doubler).unwrap();
    h.send_blocking(21).unwrap();
    assert_eq!(h.recv_timeout(Duration::from_secs(30)), Ok(42));
    h.close();
    assert_eq!(h.join(), Ok(Outcome::Finished));
    running.shutdown();
}

#[test]
fn inbox_and_outbox_declares_the_two_data_boxes() {
    let spec = Component::new("c").inbox_and_outbox::<u8, String>();
    assert!(spec.has_box(Direction::In, "inbox"));
    assert!(spec.has_box(Direction::Out, "outbox"));
    assert!(spec.has_box(Direction::In, "control"));
    assert!(spec.has_box(Direction::Out, "signal"));
    let declared = spec.declared();
    assert!(declared.contains(&(
        "outbox".to_string(),
        Direction::Out,
        std::any::type_name::<String>()
    )));
}
