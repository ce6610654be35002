//! Children and passthrough linkages: a hand-made two-stage pipeline.
//!
//! A parent component creates two children and wires them with the three kinds
//! of linkage: its own `inbox` passes through to the first child's (inbox ->
//! inbox), the first child feeds the second (outbox -> inbox), and the second
//! child's `outbox` comes out through the parent's own (outbox -> outbox). Users
//! of the parent see one component. The parent sleeps until its children end
//! (a child ending wakes its parent), then ends too. This is what the `kamaelia`
//! crate's `Pipeline` does for any number of stages.
//!
//! ```text
//! cargo run --release -p axon --example children
//! ```

use axon::{link, Component, ComponentRef, Context, Inbox, Outbox, System};

/// Spawn a child that applies `f` to every number passing through it.
fn stage(cx: &Context, name: &'static str, f: fn(i64) -> i64) -> ComponentRef {
    cx.spawn_child(
        Component::new(name).inbox_and_outbox::<i64, i64>(),
        move |mut cx| async move {
            let mut inbox = cx.inbox::<i64>("inbox")?;
            let mut out = cx.outbox::<i64>("outbox")?;
            while let Ok(x) = inbox.recv().await {
                out.send(f(x)).await?;
            }
            Ok(())
        },
    )
}

fn main() {
    let sys = System::new();
    let composite = sys.spawn(
        Component::new("add1-then-square").inbox_and_outbox::<i64, i64>(),
        |cx| async move {
            let first = stage(&cx, "add1", |x| x + 1);
            let second = stage(&cx, "square", |x| x * x);
            let me = cx.me();
            cx.link(&me.inbox::<i64>("inbox")?, &first.inbox("inbox")?)?; // inbox -> inbox
            cx.link(&first.outbox::<i64>("outbox")?, &second.inbox("inbox")?)?; // outbox -> inbox
            cx.link(&second.outbox::<i64>("outbox")?, &me.outbox("outbox")?)?; // outbox -> outbox
            while let Some(exit) = cx.child_exit().await {
                println!("parent: child {:?} ended ({:?})", exit.child, exit.outcome);
            }
            Ok(())
        },
    );

    let mut input = Outbox::<i64>::detached("input");
    let mut output = Inbox::<i64>::detached("output");
    link(&input.endpoint(), &composite.inbox("inbox").unwrap()).unwrap();
    link(&composite.outbox("outbox").unwrap(), &output.endpoint()).unwrap();
    for x in 0..5 {
        input.try_send(x).unwrap();
    }
    drop(input); // end of stream: closure ripples down the chain
    sys.run();
    let results: Vec<i64> = std::iter::from_fn(|| output.try_recv().ok()).collect();
    println!("results: {results:?}");
    assert_eq!(results, [1, 4, 9, 16, 25]);
}
