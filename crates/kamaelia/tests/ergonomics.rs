//! Less ceremony (issue 17.2) in the component library, used as a newcomer
//! would from the prelude alone: builders go into chassis as they are (no
//! `.build()`, no `.into()`), functions and builders spawn the same way, the
//! kernel is reached through `kamaelia::axon`, and bodies need no turbofish.

use std::time::Duration;

use kamaelia::prelude::*;
use kamaelia::util::{DeFramer, Framer};

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

/// A component of one's own, written with the prelude only.
fn shout() -> Prefab {
    Prefab::new(
        Component::new("shout").inbox_and_outbox::<String, String>(),
        |mut cx| async move {
            let mut inbox = cx.inbox::<String>("inbox")?;
            let mut out = cx.outbox::<String>("outbox")?;
            while let Ok(s) = inbox.recv().await {
                out.send(s.to_uppercase()).await?;
            }
            Ok(())
        },
    )
}

#[test]
fn pipeline_stages_may_be_builders_functions_or_prefabs() {
    let sys = System::builder().threads(1).build();
    let (sink, seen) = collector::<String>();
    let p = Pipeline::new()
        .then(data_source(["one".to_string(), "two".to_string()]))
        .then(shout())
        // A builder, as is.
        .then(
            ConsoleEchoer::<String>::new()
                .writer(std::io::sink())
                .forwarder(true),
        )
        .then(sink)
        .spawn(&sys);
    run_bounded(sys);
    assert_eq!(p.outcome(), Some(Outcome::Finished));
    assert_eq!(seen.take(), ["ONE", "TWO"]);
}

#[test]
fn the_pipeline_macro_takes_builders_too() {
    let sys = System::builder().threads(1).build();
    let (sink, seen) = collector::<Vec<u8>>();
    let p = pipeline![
        data_source([b"abc".to_vec(), b"de".to_vec()]),
        Framer::new(),
        DeFramer::new(),
        sink,
    ]
    .spawn(&sys);
    run_bounded(sys);
    assert_eq!(p.outcome(), Some(Outcome::Finished));
    assert_eq!(seen.take(), [b"abc".to_vec(), b"de".to_vec()]);
}

#[test]
fn graphline_seq_and_par_children_may_be_builders() {
    let sys = System::builder().threads(1).build();
    let (sink, seen) = collector::<String>();
    let inner = Pipeline::new().then(shout()); // a chassis builder is a child too
    let g = Graphline::new()
        .child("SRC", data_source(["g".to_string()]))
        .child("UP", inner)
        .child(
            "ECHO",
            ConsoleEchoer::<String>::new()
                .writer(std::io::sink())
                .forwarder(true),
        )
        .child("OUT", sink)
        .link(("SRC", "outbox"), ("UP", "inbox"))
        .link(("SRC", "signal"), ("UP", "control"))
        .link(("UP", "outbox"), ("ECHO", "inbox"))
        .link(("UP", "signal"), ("ECHO", "control"))
        .link(("ECHO", "outbox"), ("OUT", "inbox"))
        .link(("ECHO", "signal"), ("OUT", "control"))
        .spawn(&sys);
    // Children that end on their own; a chassis builder among them.
    let seq = Seq::new()
        .then(data_source([1u8]))
        .then(Pipeline::new().then(data_source([2u8])))
        .spawn(&sys);
    let par = Par::new()
        .with(data_source([3u8]))
        .with(Pipeline::new().then(data_source([4u8])))
        .spawn(&sys);
    run_bounded(sys);
    assert_eq!(g.outcome(), Some(Outcome::Finished));
    assert_eq!(seen.take(), ["G"]);
    assert_eq!(seq.outcome(), Some(Outcome::Finished));
    assert_eq!(par.outcome(), Some(Outcome::Finished));
}

#[test]
fn a_builder_spawns_and_hears_a_signal_from_main_in_one_line() {
    let sys = System::builder().threads(1).build();
    let echo = ConsoleEchoer::<String>::new().writer(std::io::sink()).spawn(&sys);
    echo.send_control(Signal::ProducerFinished).unwrap();
    run_bounded(sys);
    assert_eq!(echo.outcome(), Some(Outcome::Finished));
}

#[test]
fn the_kernel_is_reachable_through_kamaelia() {
    let sys = kamaelia::axon::System::builder().threads(1).build();
    let c = sys.spawn(kamaelia::axon::Component::new("c"), |_cx| async move {
        let n: u32 = "3".parse()?;
        assert_eq!(n, 3);
        Ok(())
    });
    run_bounded(sys);
    assert_eq!(c.outcome(), Some(kamaelia::axon::Outcome::Finished));
}

// The three programs of issue 17, written from the README and the crate docs
// with the prelude alone: none needs a type annotation on a body's result.

#[test]
fn newcomer_text_pipeline() {
    let sys = System::builder().threads(1).build();
    let (sink, seen) = collector::<String>();
    pipeline![
        data_source(["hello", "kamaelia"]),
        pure_transformer(|s: &str| Some(format!("{}!", s.to_uppercase()))),
        filter(|s: &String| s.starts_with('H')),
        sink,
    ]
    .spawn(&sys);
    run_bounded(sys);
    assert_eq!(seen.take(), ["HELLO!"]);
}

#[test]
fn newcomer_graphline_with_a_cycle_and_a_threaded_stage() {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    let last = Arc::new(AtomicU32::new(0));
    let l = last.clone();
    // Counts round the loop until 5, then ends (which ends the loop).
    let counter = Prefab::new(
        Component::new("counter").inbox_and_outbox::<u32, u32>(),
        move |mut cx| async move {
            let mut inbox = cx.inbox::<u32>("inbox")?;
            let mut out = cx.outbox::<u32>("outbox")?;
            out.send(0).await?;
            while let Ok(n) = inbox.recv().await {
                l.store(n, Ordering::SeqCst);
                if n >= 5 {
                    break;
                }
                out.send(n).await?;
            }
            Ok(())
        },
    );
    // A blocking stage on its own thread: adds one.
    let add_one = Prefab::threaded(
        Component::new("add_one").inbox_and_outbox::<u32, u32>(),
        |mut cx| {
            let mut inbox = cx.inbox::<u32>("inbox")?;
            let mut out = cx.outbox::<u32>("outbox")?;
            while let Ok(n) = inbox.recv_blocking() {
                out.send_blocking(n + 1)?;
            }
            Ok(())
        },
    );
    let sys = System::builder().threads(1).build();
    let g = graphline! {
        COUNTER = counter,
        ADD = add_one;
        ("COUNTER", "outbox") => ("ADD", "inbox"),
        ("ADD", "outbox") => ("COUNTER", "inbox"),
    }
    .spawn(&sys);
    run_bounded(sys);
    assert_eq!(g.outcome(), Some(Outcome::Finished));
    assert_eq!(last.load(Ordering::SeqCst), 5);
}

#[test]
fn newcomer_backplane_with_a_late_subscriber() {
    use kamaelia::backplane::{backplane, publish_to, subscribe_to_live};

    let running = System::builder().threads(1).build().start();
    let sys = running.system();
    let mut hub: Handle<String, ()> = Handle::spawn(sys, backplane::<String>("ergonomics")).unwrap();
    let (early, mut early_live) = subscribe_to_live::<String>("ergonomics");
    let early: Handle<(), String> = Handle::spawn(sys, early).unwrap();
    let mut writer: Handle<String, ()> = Handle::spawn(sys, publish_to::<String>("ergonomics")).unwrap();
    early_live.wait_blocking().unwrap();
    writer.send_blocking("first".to_string()).unwrap();
    assert_eq!(early.recv_timeout(Duration::from_secs(30)).unwrap(), "first");
    // A late subscriber hears only what is published once it is live.
    let (late, mut late_live) = subscribe_to_live::<String>("ergonomics");
    let late: Handle<(), String> = Handle::spawn(sys, late).unwrap();
    late_live.wait_blocking().unwrap();
    writer.send_blocking("second".to_string()).unwrap();
    assert_eq!(early.recv_timeout(Duration::from_secs(30)).unwrap(), "second");
    assert_eq!(late.recv_timeout(Duration::from_secs(30)).unwrap(), "second");
    hub.shutdown().unwrap();
    writer.shutdown().unwrap();
    running.wait();
}
