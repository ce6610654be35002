//! Introspection: a live snapshot of components, boxes (queue lengths, limits)
//! and linkages, printed as a table and as Graphviz DOT.
//!
//! ```text
//! cargo run --release -p axon --example introspect            # table + DOT
//! cargo run --release -p axon --example introspect | sed -n '/^digraph/,$p' | dot -Tsvg > graph.svg
//! ```

use axon::{Component, Direction, Outbox, System};

fn main() {
    let sys = System::builder().threads(1).build();
    let running = sys.start();

    // source -> doubler -> sink, with a size-limited inbox on the sink that fills up.
    let doubler = sys.spawn(
        Component::new("doubler").inbox_and_outbox::<u32, u32>(),
        |mut cx| async move {
            let mut inbox = cx.inbox::<u32>("inbox")?;
            let mut out = cx.outbox::<u32>("outbox")?;
            while let Ok(x) = inbox.recv().await {
                out.send(x * 2).await?;
            }
            Ok(())
        },
    );
    let sink = sys.spawn(
        Component::new("sink").inbox_with_size::<u32>("inbox", 4),
        |mut cx| async move {
            let _inbox = cx.inbox::<u32>("inbox")?;
            std::future::pending::<()>().await; // never collects: the linkage backs up
            Ok(())
        },
    );
    let mut source = Outbox::<u32>::detached("source");
    axon::link(&source.endpoint(), &doubler.inbox("inbox").unwrap()).unwrap();
    axon::link(
        &doubler.outbox::<u32>("outbox").unwrap(),
        &sink.inbox("inbox").unwrap(),
    )
    .unwrap();
    for i in 0..10 {
        source.try_send(i).unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(100));

    let snap = sys.snapshot();
    for c in &snap.components {
        println!("{} {} ({:?})", c.id, c.name, c.kind);
        for b in &c.boxes {
            let dir = if b.direction == Direction::In {
                "in "
            } else {
                "out"
            };
            let limit = b.limit.map_or("-".to_string(), |l| l.to_string());
            println!(
                "    {dir} {:<8} {:<6} len={:<3} limit={limit}",
                b.name, b.message_type, b.len
            );
        }
    }
    for l in &snap.linkages {
        println!(
            "link {}.{} -> {:?}.{}",
            l.source.0, l.source.1, l.sink.0, l.sink.1
        );
    }
    println!();
    print!("{}", snap.to_dot());
    running.shutdown();
}
