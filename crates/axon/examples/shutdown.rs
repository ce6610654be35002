//! Signals and shutdown: `ProducerFinished` flowing down a chain of components,
//! and stopping a background system.
//!
//! Part 1: a counter sends five numbers, then `ProducerFinished` out of its
//! `signal` box; each stage passes data on and, on `ProducerFinished` at its
//! `control` inbox, drains and forwards the signal before ending (the Kamaelia
//! shutdown convention).
//!
//! Part 2: a background system with components that would run forever is shut
//! down from plain code; they end as `Cancelled`.
//!
//! ```text
//! cargo run --release -p axon --example shutdown
//! ```

use axon::{link, Component, ComponentRef, Inbox, Signal, System};

fn relay(sys: &System, name: &'static str) -> ComponentRef {
    sys.spawn(
        Component::new(name).inbox_and_outbox::<u32, u32>(),
        move |mut cx| async move {
            let mut inbox = cx.inbox::<u32>("inbox")?;
            let mut control = cx.inbox::<Signal>("control")?;
            let mut out = cx.outbox::<u32>("outbox")?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            loop {
                while let Ok(x) = inbox.try_recv() {
                    out.send(x).await?;
                }
                if let Ok(sig) = control.try_recv() {
                    while let Ok(x) = inbox.try_recv() {
                        out.send(x).await?; // drain before finishing
                    }
                    println!("{name}: got {sig:?}, passing it on");
                    signal.send(sig).await?;
                    return Ok(());
                }
                cx.pause().await; // woken by a delivery to either inbox
            }
        },
    )
}

fn main() {
    let sys = System::new();
    let counter = sys.spawn(
        Component::new("counter").outbox::<u32>("outbox"),
        |mut cx| async move {
            let mut out = cx.outbox::<u32>("outbox")?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            for i in 1..=5 {
                out.send(i).await?;
            }
            signal.send(Signal::ProducerFinished).await?;
            Ok(())
        },
    );
    let a = relay(&sys, "relay-a");
    let b = relay(&sys, "relay-b");
    let mut data = Inbox::<u32>::detached("data");
    let mut end = Inbox::<Signal>::detached("end");
    for (from, to) in [(&counter, &a), (&a, &b)] {
        link(
            &from.outbox::<u32>("outbox").unwrap(),
            &to.inbox("inbox").unwrap(),
        )
        .unwrap();
        link(
            &from.outbox::<Signal>("signal").unwrap(),
            &to.inbox("control").unwrap(),
        )
        .unwrap();
    }
    link(&b.outbox::<u32>("outbox").unwrap(), &data.endpoint()).unwrap();
    link(&b.outbox::<Signal>("signal").unwrap(), &end.endpoint()).unwrap();
    sys.run();
    let got: Vec<u32> = std::iter::from_fn(|| data.try_recv().ok()).collect();
    println!("data: {got:?}, then {:?}", end.try_recv());

    let sys = System::new();
    let running = sys.start();
    let spinners: Vec<ComponentRef> = (0..3)
        .map(|i| {
            sys.spawn(
                Component::bare(format!("forever{i}")).inbox::<()>("inbox"),
                |mut cx| async move {
                    let mut inbox = cx.inbox::<()>("inbox")?;
                    inbox.recv().await?; // nothing will ever come
                    Ok(())
                },
            )
        })
        .collect();
    println!(
        "background system: {} live components; shutting down",
        sys.live_components()
    );
    running.shutdown();
    for c in &spinners {
        println!("{:?}: {:?}", c, c.outcome());
    }
}
