//! A tour of `kamaelia::util`: records are marshalled to JSON, framed into a
//! byte stream, cut into arbitrary chunks (as a network would), de-framed,
//! demarshalled, filtered and fanned out to the console and to a collector.
//!
//! ```text
//! cargo run -p kamaelia --example util_tour
//! ```

#[path = "support/logging.rs"]
mod logging;

use axon::{link, ComponentRef, Signal, Spawn, System};
use kamaelia::util::{
    collector, data_source, fanout, filter, pure_transformer, ConsoleEchoer, DeFramer, DeMarshaller, Framer,
    Json, Marshaller,
};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Reading {
    sensor: String,
    celsius: f64,
}

/// `a.outbox -> b.inbox` and `a.signal -> b.control`: a two-component pipeline.
fn chain<T: Send + 'static>(a: &ComponentRef, b: &ComponentRef) -> Result<(), axon::Error> {
    link(&a.outbox::<T>("outbox")?, &b.inbox("inbox")?)?;
    link(&a.outbox::<Signal>("signal")?, &b.inbox("control")?)?;
    Ok(())
}

fn main() -> Result<(), axon::Error> {
    logging::init();
    let sys = System::new();
    let readings = (0..8).map(|i| Reading {
        sensor: format!("s{}", i % 3),
        celsius: 15.0 + f64::from(i) * 1.5,
    });
    let source = data_source(readings).spawn(&sys);
    let encode = Marshaller::<Reading, _>::new(Json).spawn(&sys);
    let frame = Framer::new().spawn(&sys);
    // Re-cut every frame into 5-byte chunks, the way a socket might deliver them.
    let rechunk =
        pure_transformer(|frame: Vec<u8>| Some(frame.chunks(5).map(<[u8]>::to_vec).collect::<Vec<_>>()))
            .spawn(&sys);
    let flatten = flatten().spawn(&sys);
    let deframe = DeFramer::new().spawn(&sys);
    let decode = DeMarshaller::<Reading, _>::new(Json).spawn(&sys);
    let warm = filter(|r: &Reading| r.celsius >= 20.0).spawn(&sys);
    let split = fanout::<Reading>(["console", "keep"]).spawn(&sys);
    let console = ConsoleEchoer::with_format(|r: &Reading| format!("{}: {:.1} C\n", r.sensor, r.celsius))
        .tag("warm reading ")
        .spawn(&sys);
    let (keep, kept) = collector::<Reading>();
    let keep = keep.spawn(&sys);

    chain::<Reading>(&source, &encode)?;
    chain::<Vec<u8>>(&encode, &frame)?;
    chain::<Vec<u8>>(&frame, &rechunk)?;
    chain::<Vec<Vec<u8>>>(&rechunk, &flatten)?;
    chain::<Vec<u8>>(&flatten, &deframe)?;
    chain::<Vec<u8>>(&deframe, &decode)?;
    chain::<Reading>(&decode, &warm)?;
    chain::<Reading>(&warm, &split)?;
    link(&split.outbox::<Reading>("console")?, &console.inbox("inbox")?)?;
    link(&split.outbox::<Reading>("keep")?, &keep.inbox("inbox")?)?;
    link(&split.outbox::<Signal>("signal")?, &console.inbox("control")?)?;

    sys.run().into_result()?;
    let kept = kept.take();
    println!(
        "kept {} warm readings of 8, ending with {:?}",
        kept.len(),
        kept.last()
    );
    Ok(())
}

/// Turns each `Vec<Vec<u8>>` into its chunks, one message each (a small
/// component written with `Intake`, as the util components are).
fn flatten() -> axon::Prefab {
    use axon::{Component, Prefab};
    use kamaelia::util::Intake;
    Prefab::new(
        Component::new("flatten").inbox_and_outbox::<Vec<Vec<u8>>, Vec<u8>>(),
        |mut cx| async move {
            let mut intake = Intake::<Vec<Vec<u8>>>::take(&mut cx)?;
            let mut out = cx.outbox::<Vec<u8>>("outbox")?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            'run: while let Some(chunks) = intake.recv().await {
                for c in chunks {
                    if !intake.send(&mut out, c).await? {
                        break 'run;
                    }
                }
            }
            intake.finish(&mut signal).await;
            Ok(())
        },
    )
}
