//! A Pipeline of 100 stages, built with `Pipeline::then` and checked before it
//! runs. Each stage adds one; 10,000 numbers go in, and closure of the input
//! ripples down the stages once they are through.
//!
//! ```text
//! cargo run --release -p kamaelia --example pipeline100
//! ```

#[path = "support/logging.rs"]
mod logging;

use std::time::Instant;

use axon::{Component, Inbox, Outbox, Prefab, System};
use kamaelia::chassis::Pipeline;

const STAGES: usize = 100;
const MESSAGES: u64 = 10_000;

fn add_one(i: usize) -> Prefab {
    Prefab::new(
        Component::new(format!("add1-{i}")).inbox_and_outbox::<u64, u64>(),
        |mut cx| async move {
            let mut inbox = cx.inbox::<u64>("inbox")?;
            let mut out = cx.outbox::<u64>("outbox")?;
            while let Ok(x) = inbox.recv().await {
                out.send(x + 1).await?;
            }
            Ok(())
        },
    )
}

fn main() -> Result<(), axon::RunError> {
    logging::init();
    let pipeline = (0..STAGES)
        .map(add_one)
        .collect::<Pipeline>()
        .named("pipeline100")
        .try_build()
        .expect("the stages fit together");
    let sys = System::new();
    let p = pipeline.spawn(&sys);
    let mut input = Outbox::<u64>::detached("input");
    let mut output = Inbox::<u64>::detached("output");
    axon::link(&input.endpoint(), &p.inbox("inbox").unwrap()).unwrap();
    axon::link(&p.outbox("outbox").unwrap(), &output.endpoint()).unwrap();
    for i in 0..MESSAGES {
        input.try_send(i).unwrap();
    }
    drop(input);
    let start = Instant::now();
    let report = sys.run();
    let elapsed = start.elapsed();
    report.into_result()?;
    let results: Vec<u64> = std::iter::from_fn(|| output.try_recv().ok()).collect();
    assert_eq!(results.len() as u64, MESSAGES);
    assert!(
        results.iter().zip(0..).all(|(&r, i)| r == i + STAGES as u64),
        "in order, each +{STAGES}"
    );
    let hops = MESSAGES * STAGES as u64;
    println!(
        "{hops} stage hops in {elapsed:?} ({:.0} hops/s), pipeline ended: {:?}",
        hops as f64 / elapsed.as_secs_f64(),
        p.outcome().unwrap()
    );
    let sum: u64 = results.iter().sum();
    println!(
        "{STAGES} stages, {MESSAGES} messages: first {} last {} sum {sum}",
        results[0],
        results[results.len() - 1]
    );
    Ok(())
}
