//! Throttle and RateControl (`Util/RateFilter.py`: MessageRateLimit,
//! ByteRate_RequestControl, VariableByteRate_RequestControl).
//!
//! No upper bounds on time here (shared machines are noisy): only lower bounds,
//! which a rate limit guarantees, and behaviour.

use std::time::{Duration, Instant};

use axon::{ComponentRef, Inbox, Outbox, Outcome, Signal, System};
use kamaelia::util::{collector, data_source, RateControl, Throttle};

const PATIENCE: Duration = Duration::from_secs(10);

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

fn recv<T: Send + 'static>(i: &mut Inbox<T>) -> T {
    axon::block_on_timeout(i.recv(), Some(PATIENCE))
        .expect("a message within the patience limit")
        .expect("box open")
}

fn wait_end(c: &ComponentRef) -> Outcome {
    let deadline = Instant::now() + PATIENCE;
    while c.outcome().is_none() {
        assert!(Instant::now() < deadline, "{c:?} did not end");
        std::thread::sleep(Duration::from_millis(1));
    }
    c.outcome().unwrap()
}

#[test]
fn throttle_keeps_order_and_never_exceeds_its_rate() {
    let sys = System::builder().threads(2).build();
    let src = data_source(0..6u32).spawn(&sys);
    let t = Throttle::interval(Duration::from_millis(10))
        .build::<u32>()
        .spawn(&sys);
    let (sink, got) = collector::<u32>();
    let sink = sink.spawn(&sys);
    for (a, b) in [(&src, &t), (&t, &sink)] {
        axon::link(&a.outbox::<u32>("outbox").unwrap(), &b.inbox("inbox").unwrap()).unwrap();
        axon::link(
            &a.outbox::<Signal>("signal").unwrap(),
            &b.inbox("control").unwrap(),
        )
        .unwrap();
    }
    let start = Instant::now();
    sys.run();
    assert!(
        start.elapsed() >= Duration::from_millis(50),
        "6 messages need 5 gaps of 10 ms"
    );
    assert_eq!(got.take(), [0, 1, 2, 3, 4, 5]);
    assert_eq!(got.ending(), Some(Signal::ProducerFinished));
}

#[test]
fn throttle_drains_after_producer_finished_and_drops_on_shutdown() {
    // ProducerFinished: everything still goes out.
    let sys = System::builder().threads(1).build();
    let running = sys.start();
    let t = Throttle::interval(Duration::from_millis(2))
        .buffer(2)
        .build::<u8>()
        .spawn(&sys);
    let mut data = feed::<u8>(&t, "inbox");
    let mut ctl = feed::<Signal>(&t, "control");
    let mut out = tap::<u8>(&t, "outbox");
    let mut sig = tap::<Signal>(&t, "signal");
    for i in 0..5 {
        data.send_blocking(i).unwrap();
    }
    ctl.send_blocking(Signal::ProducerFinished).unwrap();
    let got: Vec<u8> = (0..5).map(|_| recv(&mut out)).collect();
    assert_eq!(got, [0, 1, 2, 3, 4]);
    assert_eq!(recv(&mut sig), Signal::ProducerFinished);
    assert_eq!(wait_end(&t), Outcome::Finished);

    // ShutdownMicroprocess: stops at once, even with messages held.
    let slow = Throttle::interval(Duration::from_secs(3600))
        .build::<u8>()
        .spawn(&sys);
    let mut data = feed::<u8>(&slow, "inbox");
    let mut ctl = feed::<Signal>(&slow, "control");
    let mut out = tap::<u8>(&slow, "outbox");
    let mut sig = tap::<Signal>(&slow, "signal");
    for i in 0..3 {
        data.send_blocking(i).unwrap();
    }
    assert_eq!(recv(&mut out), 0); // the first goes at once, the next is an hour away
    ctl.send_blocking(Signal::ShutdownMicroprocess).unwrap();
    assert_eq!(recv(&mut sig), Signal::ShutdownMicroprocess);
    assert_eq!(wait_end(&slow), Outcome::Finished);
    assert!(out.try_recv().is_err());
    drop((data, ctl));
    running.wait();
}

#[test]
fn rate_control_sends_whole_chunks_adding_up_to_the_rate() {
    let sys = System::builder().threads(1).build();
    let running = sys.start();
    // 25 units a second in 10 chunks: 2.5 a chunk, so whole chunks of 1 or 2.
    let start = Instant::now(); // before it starts: its steps are counted from its start
    let c = RateControl::new(25).chunks_per_second(10).build().spawn(&sys);
    let mut out = tap::<usize>(&c, "outbox");
    let mut ctl = feed::<Signal>(&c, "control");
    let mut total = 0;
    while total < 10 {
        let chunk = recv(&mut out);
        assert!((1..=2).contains(&chunk), "chunk {chunk}");
        total += chunk;
    }
    // 10 units at 25 a second: at least 3 steps of 100 ms after the first.
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );
    ctl.send_blocking(Signal::ShutdownMicroprocess).unwrap();
    assert_eq!(wait_end(&c), Outcome::Finished);
    running.wait();
}

#[test]
fn rate_control_takes_a_new_rate_and_zero_pauses_it() {
    let sys = System::builder().threads(1).build();
    let running = sys.start();
    let c = RateControl::new(0).chunk_size(7).build().spawn(&sys);
    let mut rates = feed::<u64>(&c, "inbox");
    let mut out = tap::<usize>(&c, "outbox");
    std::thread::sleep(Duration::from_millis(30));
    assert!(out.try_recv().is_err(), "rate 0 sends nothing");
    rates.send_blocking(7_000).unwrap(); // a chunk of 7 every millisecond
    for _ in 0..5 {
        assert_eq!(recv(&mut out), 7);
    }
    rates.send_blocking(0).unwrap();
    // Closing its inbox stops it, passing ProducerFinished on.
    let mut sig = tap::<Signal>(&c, "signal");
    drop(rates);
    assert_eq!(recv(&mut sig), Signal::ProducerFinished);
    assert_eq!(wait_end(&c), Outcome::Finished);
    running.wait();
}
