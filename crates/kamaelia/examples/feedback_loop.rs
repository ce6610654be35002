//! A feedback loop: a Graphline whose two children feed each other (a cycle),
//! stopping after a fixed number of rounds.
//!
//! `STEP` turns a Fibonacci pair `(a, b)` into `(b, a + b)`; `COUNT` sends the
//! first pair, passes each pair it gets back round the loop, and after `ROUNDS`
//! rounds sends the answer out through the Graphline's own `outbox` and ends.
//! Its outbox closing tells `STEP` its input has ended, so `STEP` ends too; with
//! both children gone the Graphline ends and says `ProducerFinished` on `signal`.
//!
//! ```text
//! cargo run --release -p kamaelia --example feedback_loop
//! ```

#[path = "support/logging.rs"]
mod logging;

use axon::{Component, Inbox, Prefab, Signal, System};
use kamaelia::graphline;

const ROUNDS: u32 = 90;

type Pair = (u64, u64);

fn step() -> Prefab {
    Prefab::new(
        Component::new("step").inbox_and_outbox::<Pair, Pair>(),
        |mut cx| async move {
            let mut inbox = cx.inbox::<Pair>("inbox")?;
            let mut out = cx.outbox::<Pair>("outbox")?;
            while let Ok((a, b)) = inbox.recv().await {
                out.send((b, a + b)).await?;
            }
            Ok(())
        },
    )
}

fn count(rounds: u32) -> Prefab {
    let spec = Component::new("count")
        .inbox_and_outbox::<Pair, Pair>()
        .outbox::<u64>("answer");
    Prefab::new(spec, move |mut cx| async move {
        let mut inbox = cx.inbox::<Pair>("inbox")?;
        let mut out = cx.outbox::<Pair>("outbox")?;
        let mut answer = cx.outbox::<u64>("answer")?;
        out.send((0, 1)).await?;
        for round in 1..=rounds {
            let pair = inbox.recv().await?;
            if round % 30 == 0 {
                println!("round {round}: {pair:?}");
            }
            if round == rounds {
                answer.send(pair.0).await?;
            } else {
                out.send(pair).await?;
            }
        }
        Ok(())
    })
}

fn main() -> Result<(), axon::RunError> {
    logging::init();
    let g = graphline! {
        COUNT = count(ROUNDS),
        STEP = step();
        ("COUNT", "outbox") => ("STEP", "inbox"),
        ("STEP", "outbox") => ("COUNT", "inbox"),
        ("COUNT", "answer") => ("self", "outbox"),
    };
    let sys = System::new();
    let g = g.spawn(&sys);
    let mut answer = Inbox::<u64>::detached("answer");
    let mut signal = Inbox::<Signal>::detached("signal");
    axon::link(&g.outbox("outbox").unwrap(), &answer.endpoint()).unwrap();
    axon::link(&g.outbox("signal").unwrap(), &signal.endpoint()).unwrap();
    let report = sys.run();
    println!(
        "graphline ended: {:?}, signal: {:?}",
        g.outcome().unwrap(),
        signal.try_recv()
    );
    // A component that failed is an error here (it was logged already).
    report.into_result()?;
    let fib = answer.try_recv().expect("the loop produced an answer");
    assert_eq!(fib, 2_880_067_194_370_816_120);
    println!("fib({ROUNDS}) = {fib} after {ROUNDS} rounds of the feedback loop");
    Ok(())
}
