//! Kamaelia's everyday components: pass_through, detuple, two_way_splitter,
//! comparator / combiner, Chooser, ForwardIteratingChooser. Cases follow the
//! reference's documented behaviour (`Util/PassThrough.py`, `Util/Detuple.py`,
//! `Util/TwoWaySplitter.py`, `Util/Comparator.py`, `Util/Chooser.py`), and the
//! shutdown convention of `kamaelia::util`.

use std::time::{Duration, Instant};

use axon::{ComponentRef, Inbox, Outbox, Outcome, Signal, System};
use kamaelia::util::{
    collector, combiner, comparator, data_source, detuple, pass_through, two_way_splitter, Chooser,
    ChooserCommand::{self, *},
    ForwardIteratingChooser,
};

fn drain<T: Send + 'static>(i: &mut Inbox<T>) -> Vec<T> {
    std::iter::from_fn(|| i.try_recv().ok()).collect()
}

/// Link `a`'s outbox and signal to `b`'s inbox and control.
fn chain<T: Send + 'static>(a: &ComponentRef, b: &ComponentRef) {
    axon::link(&a.outbox::<T>("outbox").unwrap(), &b.inbox("inbox").unwrap()).unwrap();
    axon::link(
        &a.outbox::<Signal>("signal").unwrap(),
        &b.inbox("control").unwrap(),
    )
    .unwrap();
}

fn feed<T: Send + 'static>(c: &ComponentRef, name: &'static str) -> Outbox<T> {
    let out = Outbox::<T>::detached("feed");
    axon::link(&out.endpoint(), &c.inbox(name).unwrap()).unwrap();
    out
}

fn tap<T: Send + 'static>(c: &ComponentRef, name: &'static str) -> Inbox<T> {
    let inbox = Inbox::<T>::detached("tap");
    axon::link(&c.outbox::<T>(name).unwrap(), &inbox.endpoint()).unwrap();
    inbox
}

/// Wait (at most 10 s) for a component to end.
fn wait_end(c: &ComponentRef) -> Outcome {
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.outcome().is_none() {
        assert!(Instant::now() < deadline, "{c:?} did not end");
        std::thread::sleep(Duration::from_millis(1));
    }
    c.outcome().unwrap()
}

#[test]
fn pass_through_forwards_in_order_and_drains_on_producer_finished() {
    let sys = System::builder().threads(2).build();
    let src = data_source(0..1000u32).spawn(&sys);
    let pass = pass_through::<u32>().spawn(&sys);
    let (sink, got) = collector::<u32>();
    let sink = sink.spawn(&sys);
    sink.inbox::<u32>("inbox").unwrap().set_size(Some(2));
    chain::<u32>(&src, &pass);
    chain::<u32>(&pass, &sink);
    sys.run();
    assert_eq!(got.take(), (0..1000).collect::<Vec<_>>());
    assert_eq!(got.ending(), Some(Signal::ProducerFinished));
}

#[test]
fn pass_through_passes_a_shutdown_on_and_stops() {
    let sys = System::builder().threads(1).build();
    let running = sys.start();
    let pass = pass_through::<u32>().spawn(&sys);
    let mut ctl = feed::<Signal>(&pass, "control");
    let mut sig = tap::<Signal>(&pass, "signal");
    let _data = feed::<u32>(&pass, "inbox");
    ctl.send_blocking(Signal::ShutdownMicroprocess).unwrap();
    assert_eq!(wait_end(&pass), Outcome::Finished);
    assert_eq!(drain(&mut sig), [Signal::ShutdownMicroprocess]);
    running.wait();
}

#[test]
fn detuple_takes_the_chosen_field() {
    let sys = System::builder().threads(1).build();
    let src = data_source([("greeting", "hello", 1u8), ("greeting", "world", 2)]).spawn(&sys);
    let words = detuple::<(&str, &str, u8), 1>().spawn(&sys);
    let (sink, got) = collector::<&str>();
    let sink = sink.spawn(&sys);
    chain::<(&str, &str, u8)>(&src, &words);
    chain::<&str>(&words, &sink);
    sys.run();
    assert_eq!(got.take(), ["hello", "world"]);
    assert_eq!(got.ending(), Some(Signal::ProducerFinished));

    let sys = System::builder().threads(1).build();
    let src = data_source([(1u8, 'a'), (2, 'b')]).spawn(&sys);
    let first = detuple::<(u8, char), 0>().spawn(&sys);
    let (sink, got) = collector::<u8>();
    let sink = sink.spawn(&sys);
    chain::<(u8, char)>(&src, &first);
    chain::<u8>(&first, &sink);
    sys.run();
    assert_eq!(got.take(), [1, 2]);
}

#[test]
fn two_way_splitter_fills_size_limited_destinations_and_signals_both() {
    let sys = System::builder().threads(2).build();
    let src = data_source(0..500u32).spawn(&sys);
    let split = two_way_splitter::<u32>().spawn(&sys);
    let (a, got_a) = collector::<u32>();
    let (b, got_b) = collector::<u32>();
    let (a, b) = (a.spawn(&sys), b.spawn(&sys));
    a.inbox::<u32>("inbox").unwrap().set_size(Some(1));
    b.inbox::<u32>("inbox").unwrap().set_size(Some(3));
    chain::<u32>(&src, &split);
    for (out, sig, dst) in [("outbox", "signal", &a), ("outbox2", "signal2", &b)] {
        axon::link(&split.outbox::<u32>(out).unwrap(), &dst.inbox("inbox").unwrap()).unwrap();
        axon::link(
            &split.outbox::<Signal>(sig).unwrap(),
            &dst.inbox("control").unwrap(),
        )
        .unwrap();
    }
    sys.run();
    let all: Vec<u32> = (0..500).collect();
    assert_eq!(got_a.take(), all);
    assert_eq!(got_b.take(), all);
    assert_eq!(got_a.ending(), Some(Signal::ProducerFinished));
    assert_eq!(got_b.ending(), Some(Signal::ProducerFinished));
}

#[test]
fn two_way_splitter_passes_a_shutdown_to_both_branches() {
    let sys = System::builder().threads(1).build();
    let running = sys.start();
    let split = two_way_splitter::<u32>().spawn(&sys);
    let _data = feed::<u32>(&split, "inbox");
    let mut ctl = feed::<Signal>(&split, "control");
    let mut s1 = tap::<Signal>(&split, "signal");
    let mut s2 = tap::<Signal>(&split, "signal2");
    ctl.send_blocking(Signal::ShutdownMicroprocess).unwrap();
    assert_eq!(wait_end(&split), Outcome::Finished);
    assert_eq!(drain(&mut s1), [Signal::ShutdownMicroprocess]);
    assert_eq!(drain(&mut s2), [Signal::ShutdownMicroprocess]);
    running.wait();
}

#[test]
fn comparator_pairs_items_in_order_and_ends_when_a_side_closes() {
    let sys = System::builder().threads(2).build();
    let a = data_source([1u32, 2, 3, 4]).spawn(&sys);
    let b = data_source([1u32, 5, 3]).spawn(&sys);
    let cmp = comparator::<u32>().spawn(&sys);
    let (sink, got) = collector::<bool>();
    let sink = sink.spawn(&sys);
    axon::link(&a.outbox::<u32>("outbox").unwrap(), &cmp.inbox("inA").unwrap()).unwrap();
    axon::link(&b.outbox::<u32>("outbox").unwrap(), &cmp.inbox("inB").unwrap()).unwrap();
    chain::<bool>(&cmp, &sink);
    sys.run();
    assert_eq!(got.take(), [true, false, true]);
    assert_eq!(got.ending(), Some(Signal::ProducerFinished));
    assert_eq!(cmp.outcome(), Some(Outcome::Finished));
}

#[test]
fn combiner_waiting_for_a_partner_stops_on_shutdown() {
    let sys = System::builder().threads(1).build();
    let running = sys.start();
    let join = combiner(|a: String, b: u8| format!("{a}{b}")).spawn(&sys);
    let mut in_a = feed::<String>(&join, "inA");
    let _in_b = feed::<u8>(&join, "inB");
    let mut ctl = feed::<Signal>(&join, "control");
    let mut out = tap::<String>(&join, "outbox");
    let mut sig = tap::<Signal>(&join, "signal");
    in_a.send_blocking("x".into()).unwrap();
    ctl.send_blocking(Signal::ShutdownMicroprocess).unwrap();
    assert_eq!(wait_end(&join), Outcome::Finished);
    assert!(drain(&mut out).is_empty());
    assert_eq!(drain(&mut sig), [Signal::ShutdownMicroprocess]);
    running.wait();
}

/// Run a chooser prefab over `cmds` (then close its inbox); what it sent and
/// the signal it ended with.
fn choose<T: Send + 'static>(prefab: axon::Prefab, cmds: &[ChooserCommand]) -> (Vec<T>, Option<Signal>) {
    let sys = System::builder().threads(1).build();
    let c = prefab.spawn(&sys);
    let (sink, got) = collector::<T>();
    let sink = sink.spawn(&sys);
    chain::<T>(&c, &sink);
    let mut input = feed::<ChooserCommand>(&c, "inbox");
    for cmd in cmds {
        input.try_send(*cmd).unwrap();
    }
    drop(input);
    sys.run();
    assert_eq!(c.outcome(), Some(Outcome::Finished));
    (got.take(), got.ending())
}

#[test]
fn chooser_steps_and_stops_at_the_ends() {
    let (got, end) = choose::<char>(
        Chooser::new(['a', 'b', 'c']).build(),
        &[Prev, Next, Next, Next, Same, Prev, First, First, Last],
    );
    assert_eq!(got, ['a', 'b', 'c', 'c', 'b', 'a', 'a', 'c']);
    assert_eq!(end, Some(Signal::ProducerFinished));
}

#[test]
fn a_looping_chooser_wraps_both_ways() {
    let (got, _) = choose::<u8>(
        Chooser::new([1u8, 2, 3]).looping(true).into(),
        &[Prev, Next, Next, Next],
    );
    assert_eq!(got, [1, 3, 1, 2, 3]);
}

#[test]
fn an_empty_chooser_sends_nothing() {
    let (got, end) = choose::<u8>(Chooser::new(Vec::<u8>::new()).build(), &[Same, Next, Last]);
    assert!(got.is_empty());
    assert_eq!(end, Some(Signal::ProducerFinished));
}

#[test]
fn forward_iterating_chooser_finishes_at_the_end_of_its_items() {
    let (got, end) = choose::<&str>(
        ForwardIteratingChooser::new(["x", "y"]).build(),
        &[Same, Last, Next, Next, Same],
    );
    assert_eq!(got, ["x", "x", "y"]);
    assert_eq!(end, Some(Signal::ProducerFinished));
    // An empty one sends nothing and finishes at the first Next.
    let (got, end) = choose::<u8>(
        ForwardIteratingChooser::new(std::iter::empty::<u8>()).into(),
        &[Same, Next],
    );
    assert!(got.is_empty());
    assert_eq!(end, Some(Signal::ProducerFinished));
}

#[test]
fn chooser_passes_a_shutdown_on() {
    let sys = System::builder().threads(1).build();
    let running = sys.start();
    let c = Chooser::new([1u8]).build().spawn(&sys);
    let _cmds = feed::<ChooserCommand>(&c, "inbox");
    let mut ctl = feed::<Signal>(&c, "control");
    let mut out = tap::<u8>(&c, "outbox");
    let mut sig = tap::<Signal>(&c, "signal");
    ctl.send_blocking(Signal::ShutdownMicroprocess).unwrap();
    assert_eq!(wait_end(&c), Outcome::Finished);
    assert_eq!(drain(&mut sig), [Signal::ShutdownMicroprocess]);
    assert!(drain(&mut out).len() <= 1);
    running.wait();
}
