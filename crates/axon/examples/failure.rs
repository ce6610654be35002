//! Failure isolation: a component that panics ends alone.
//!
//! A parent spawns three workers; one panics on its third message. The scheduler
//! contains the panic: the failing worker ends with `Outcome::Panicked`, a
//! `Signal::Failed` goes out of its `signal` outbox, its parent is woken and told,
//! and the other workers carry on to the end. The supervisor heard the failure,
//! so the run's report is clean; a top-level component that fails has nobody
//! to tell but the system, and `System::run` reports it.
//!
//! ```text
//! cargo run --release -p axon --example failure
//! ```

use axon::{Component, Inbox, Outbox, Signal, System};

fn main() {
    // Keep the default panic message short for the demo.
    std::panic::set_hook(Box::new(|info| eprintln!("(panic contained: {info})")));
    let sys = System::new();
    let mut failures = Inbox::<Signal>::detached("failures");
    let failures_ref = failures.endpoint();

    sys.spawn(Component::new("supervisor"), move |cx| async move {
        let mut feeds = Vec::new();
        for id in 0..3u32 {
            let worker = cx.spawn_child(
                Component::new(format!("worker{id}")).inbox_with_size::<u32>("inbox", 1),
                move |mut cx| async move {
                    let mut inbox = cx.inbox::<u32>("inbox")?;
                    let mut total = 0;
                    while let Ok(x) = inbox.recv().await {
                        if id == 1 && x == 3 {
                            panic!("worker1 cannot handle {x}");
                        }
                        total += x;
                    }
                    println!("worker{id}: done, total {total}");
                    Ok(())
                },
            );
            cx.link(&worker.outbox::<Signal>("signal")?, &failures_ref)?;
            let feed = Outbox::<u32>::detached(format!("feed{id}"));
            cx.link(&feed.endpoint(), &worker.inbox::<u32>("inbox")?)?;
            feeds.push(feed);
        }
        for x in 1..=5 {
            for feed in &mut feeds {
                // A dead worker's inbox hands the message back instead of losing it.
                if let Err(e) = feed.send(x).await {
                    println!(
                        "supervisor: {} refused {} (its worker has ended)",
                        feed.name(),
                        e.into_inner()
                    );
                }
            }
        }
        drop(feeds); // the workers' inboxes close: they finish
        while let Some(exit) = cx.child_exit().await {
            println!("supervisor: {:?} ended: {:?}", exit.child, exit.outcome);
        }
        Ok(())
    });
    let report = sys.run();
    while let Ok(Signal::Failed(f)) = failures.try_recv() {
        println!("signal box: {f}");
    }
    println!("run report: {report}");

    sys.spawn(Component::new("lonely"), |_cx| async {
        Err("nobody supervises me".into())
    });
    println!("run report: {}", sys.run());
}
