//! Seed 2, first scenario: a fast Producer and a SlowConsumer with a size-5 inbox.
//!
//! The producer uses the Kamaelia idiom: `try_send`, and on "no space in box"
//! `pause()` until the consumer collects something. The consumer is a threaded
//! component that sleeps between items (like the seed's `time.sleep(0.5)`, shorter
//! here: pass a delay in milliseconds as the first argument, default 10).
//!
//! All 100 items are printed in order, one per line, on stdout; how often the
//! producer had to sleep is reported on stderr.
//!
//! ```text
//! cargo run --release -p axon --example producer_consumer [delay_ms]
//! ```

use std::time::Duration;

use axon::{link, Component, Signal, System, TrySendError};

fn main() {
    let delay = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10u64);
    let sys = System::new();

    let producer = sys.spawn(
        Component::new("Producer").outbox::<u32>("outbox"),
        |mut cx| async move {
            let mut out = cx.outbox::<u32>("outbox")?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            let mut pauses = 0;
            for i in 0..100 {
                let mut item = i;
                loop {
                    match out.try_send(item) {
                        Ok(()) => break,
                        Err(TrySendError::Full(back)) => {
                            item = back;
                            pauses += 1;
                            cx.pause().await; // woken when the consumer collects
                        }
                        Err(e @ TrySendError::Closed(_)) => return Err(e.into()),
                    }
                }
            }
            signal.try_send(Signal::ProducerFinished)?;
            eprintln!("producer: sent 100 items, slept {pauses} times waiting for space");
            Ok(())
        },
    );

    let consumer = sys.spawn_threaded(
        Component::new("SlowConsumer").inbox::<u32>("inbox"),
        move |mut cx| {
            let mut inbox = cx.inbox::<u32>("inbox").expect("declared");
            inbox.set_size(Some(5));
            while let Ok(item) = inbox.recv_blocking() {
                std::thread::sleep(Duration::from_millis(delay));
                println!("{item}");
            }
        },
    );

    link(
        &producer.outbox::<u32>("outbox").expect("declared"),
        &consumer.inbox::<u32>("inbox").expect("declared"),
    )
    .expect("fresh boxes link");
    sys.run();
}
