//! Sources, sinks and transformers: data_source, one_shot, pure_transformer,
//! filter, null_sink, collector, and Intake used by hand (async and threaded).
//! Kamaelia has no unit tests for these; the cases follow their documented
//! behaviour (`Util/DataSource.py`, `Util/OneShot.py`, `Util/PureTransformer.py`,
//! `Util/Filter.py`, `Util/NullSink.py`).

use std::time::Duration;

use axon::{Component, Inbox, Outbox, Outcome, Prefab, Signal, System};
use kamaelia::util::{collector, data_source, filter, null_sink, one_shot, pure_transformer, Intake};

const PATIENCE: Duration = Duration::from_secs(20);

fn drain<T: Send + 'static>(i: &mut Inbox<T>) -> Vec<T> {
    std::iter::from_fn(|| i.try_recv().ok()).collect()
}

/// Link `a`'s outbox and signal to `b`'s inbox and control.
fn chain<T: Send + 'static>(a: &axon::ComponentRef, b: &axon::ComponentRef) {
    axon::link(&a.outbox::<T>("outbox").unwrap(), &b.inbox("inbox").unwrap()).unwrap();
    axon::link(
        &a.outbox::<Signal>("signal").unwrap(),
        &b.inbox("control").unwrap(),
    )
    .unwrap();
}

#[test]
fn data_source_sends_everything_then_producer_finished() {
    // DataSource.py: messages one after another, then producerFinished.
    let sys = System::builder().threads(1).build();
    let src = data_source(vec!["hello", " ", "world"]).spawn(&sys);
    let (sink, got) = collector::<&str>();
    let sink = sink.spawn(&sys);
    chain::<&str>(&src, &sink);
    sys.run();
    assert_eq!(got.take(), ["hello", " ", "world"]);
    assert_eq!(got.ending(), Some(Signal::ProducerFinished));
    assert_eq!(src.outcome(), Some(Outcome::Finished));
}

#[test]
fn data_source_is_lazy_and_respects_a_full_consumer() {
    // A long generated sequence through a consumer inbox of size 1.
    let sys = System::builder().threads(1).build();
    let src = data_source((0..10_000u64).map(|i| i * i)).spawn(&sys);
    let (sink, got) = collector::<u64>();
    let sink = sink.spawn(&sys);
    sink.inbox::<u64>("inbox").unwrap().set_size(Some(1));
    chain::<u64>(&src, &sink);
    sys.run();
    let v = got.take();
    assert_eq!(v.len(), 10_000);
    assert!(v.iter().enumerate().all(|(i, &x)| x == (i as u64) * (i as u64)));
}

#[test]
fn data_source_stops_while_waiting_for_space_on_shutdown() {
    let sys = System::builder().threads(1).build();
    let src = data_source(0..1_000u32).spawn(&sys);
    let mut out = Inbox::<u32>::detached("out");
    out.set_size(Some(2)); // nobody reads: it fills and the source waits
    let mut sig = Inbox::<Signal>::detached("sig");
    let mut ctl = Outbox::<Signal>::detached("ctl");
    axon::link(&src.outbox::<u32>("outbox").unwrap(), &out.endpoint()).unwrap();
    axon::link(&src.outbox::<Signal>("signal").unwrap(), &sig.endpoint()).unwrap();
    axon::link(&ctl.endpoint(), &src.inbox("control").unwrap()).unwrap();
    let running = sys.start();
    ctl.send_blocking(Signal::ShutdownMicroprocess).unwrap();
    running.wait();
    assert!(drain(&mut out).len() <= 2);
    assert_eq!(drain(&mut sig), [Signal::ShutdownMicroprocess]);
    assert_eq!(src.outcome(), Some(Outcome::Finished));
}

#[test]
fn data_source_ignores_producer_finished_at_control() {
    // A source has nothing to drain but its own items: it sends them all.
    let sys = System::builder().threads(1).build();
    let src = data_source(1..=3u8).spawn(&sys);
    let mut ctl = Outbox::<Signal>::detached("ctl");
    axon::link(&ctl.endpoint(), &src.inbox("control").unwrap()).unwrap();
    ctl.try_send(Signal::ProducerFinished).unwrap();
    let (sink, got) = collector::<u8>();
    let sink = sink.spawn(&sys);
    chain::<u8>(&src, &sink);
    sys.run();
    assert_eq!(got.take(), [1, 2, 3]);
    assert_eq!(got.ending(), Some(Signal::ProducerFinished));
}

#[test]
fn one_shot_sends_once_then_finishes() {
    let sys = System::builder().threads(1).build();
    let kick = one_shot(String::from("go")).spawn(&sys);
    let (sink, got) = collector::<String>();
    let sink = sink.spawn(&sys);
    chain::<String>(&kick, &sink);
    sys.run();
    assert_eq!(got.take(), ["go"]);
    assert_eq!(got.ending(), Some(Signal::ProducerFinished));
}

#[test]
fn pure_transformer_applies_the_function_and_none_sends_nothing() {
    // PureTransformer.py: if the function returns None, no message is sent.
    let sys = System::builder().threads(1).build();
    let src = data_source(1..=6u32).spawn(&sys);
    let mut running_total = 0;
    // Stateful: the running total, skipping odd inputs.
    let t = pure_transformer(move |x: u32| {
        running_total += x;
        x.is_multiple_of(2).then(|| format!("{x}:{running_total}"))
    })
    .spawn(&sys);
    let (sink, got) = collector::<String>();
    let sink = sink.spawn(&sys);
    chain::<u32>(&src, &t);
    chain::<String>(&t, &sink);
    sys.run();
    assert_eq!(got.take(), ["2:3", "4:10", "6:21"]);
    assert_eq!(got.ending(), Some(Signal::ProducerFinished));
}

#[test]
fn filter_keeps_what_the_predicate_accepts() {
    // Filter.py's example: keep strings, drop the rest (here: keep non-empty).
    let sys = System::builder().threads(1).build();
    let src = data_source(["a", "", "b", ""]).spawn(&sys);
    let f = filter(|s: &&str| !s.is_empty()).spawn(&sys);
    let (sink, got) = collector::<&str>();
    let sink = sink.spawn(&sys);
    chain::<&str>(&src, &f);
    chain::<&str>(&f, &sink);
    sys.run();
    assert_eq!(got.take(), ["a", "b"]);
}

#[test]
fn null_sink_consumes_so_senders_are_not_held_up() {
    let sys = System::builder().threads(1).build();
    let src = data_source(0..5_000u32).spawn(&sys);
    let sink = null_sink::<u32>().spawn(&sys);
    sink.inbox::<u32>("inbox").unwrap().set_size(Some(4));
    let mut sig = Inbox::<Signal>::detached("sig");
    chain::<u32>(&src, &sink);
    axon::link(&sink.outbox::<Signal>("signal").unwrap(), &sig.endpoint()).unwrap();
    sys.run();
    assert_eq!(sig.try_recv(), Ok(Signal::ProducerFinished));
    assert_eq!(src.outcome(), Some(Outcome::Finished));
}

#[test]
fn collector_handle_waits_and_snapshots() {
    let sys = System::builder().threads(1).build();
    let running = sys.start();
    let (sink, got) = collector::<u32>();
    let sink = sink.spawn(&sys);
    let mut feed = Outbox::<u32>::detached("feed");
    axon::link(&feed.endpoint(), &sink.inbox("inbox").unwrap()).unwrap();
    for i in 0..3 {
        feed.send_blocking(i).unwrap();
    }
    assert!(got.wait_for(3, PATIENCE));
    assert_eq!(got.snapshot(), [0, 1, 2]);
    assert_eq!(got.len(), 3, "snapshot does not take");
    assert_eq!(got.ending(), None, "still running");
    drop(feed);
    assert_eq!(got.wait_ending(PATIENCE), Some(Signal::ProducerFinished));
    assert!(!got.wait_for(4, PATIENCE), "ended: no more will come, no waiting");
    running.wait();
    assert_eq!(got.take(), [0, 1, 2]);
    assert!(got.is_empty());
}

/// A threaded component using Intake with blocking calls.
fn threaded_doubler() -> Prefab {
    Prefab::threaded(
        Component::new("doubler").inbox_and_outbox::<u32, u32>(),
        |mut cx| {
            let mut intake = Intake::<u32>::take(&mut cx)?;
            let mut out = cx.outbox::<u32>("outbox")?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            while let Some(x) = intake.recv_blocking() {
                if !axon::block_on(intake.send(&mut out, x * 2))? {
                    break;
                }
            }
            intake.finish_blocking(&mut signal);
            Ok::<_, axon::Error>(())
        },
    )
}

#[test]
fn intake_in_a_threaded_component() {
    let sys = System::builder().threads(1).build();
    let src = data_source(1..=4u32).spawn(&sys);
    let d = threaded_doubler().spawn(&sys);
    let (sink, got) = collector::<u32>();
    let sink = sink.spawn(&sys);
    chain::<u32>(&src, &d);
    chain::<u32>(&d, &sink);
    sys.run();
    assert_eq!(got.take(), [2, 4, 6, 8]);
    assert_eq!(got.ending(), Some(Signal::ProducerFinished));
}

#[test]
fn a_consumer_that_ends_early_makes_the_producer_fail_visibly() {
    // The destination of `outbox` closed: the message cannot be delivered, so
    // the sender fails (and says so on `signal`) rather than dropping it.
    let sys = System::builder().threads(1).build();
    let t = pure_transformer(|x: u32| Some(x)).spawn(&sys);
    let mut feed = Outbox::<u32>::detached("feed");
    let out = Inbox::<u32>::detached("out");
    let mut sig = Inbox::<Signal>::detached("sig");
    axon::link(&feed.endpoint(), &t.inbox("inbox").unwrap()).unwrap();
    axon::link(&t.outbox::<u32>("outbox").unwrap(), &out.endpoint()).unwrap();
    axon::link(&t.outbox::<Signal>("signal").unwrap(), &sig.endpoint()).unwrap();
    drop(out);
    feed.try_send(1).unwrap();
    drop(feed);
    sys.run();
    assert!(
        matches!(t.outcome(), Some(Outcome::Failed(ref m)) if m.to_string().contains("outbox \"outbox\"")),
        "{:?}",
        t.outcome()
    );
    assert!(matches!(sig.try_recv(), Ok(Signal::Failed(_))));
}
