//! The shutdown convention, checked on every message-passing component in
//! `kamaelia::util`: `ProducerFinished` drains then is passed on,
//! `ShutdownMicroprocess` (and a `Failed` passed down a chain) is passed on at
//! once, and an inbox whose senders are all gone ends the component with
//! `ProducerFinished`.
//!
//! Ports of the smoke tests shared by Kamaelia's component tests
//! (`Test/Util/test_Marshalling.py` `test_Shutdown`, `Test/Protocol/test_framing.py`
//! `makeTestCase` smoke tests 2/3/5, `Test/Util/test_Splitter.py`
//! `test_SplitterShutdown`): a component runs until told to stop, and passes the
//! shutdown message on. (Smoke test 4, "a random message on control does not stop
//! it", has no counterpart: `control` carries only `Signal`s, and every signal is
//! a reason to stop.)
//!
//! Everything is queued before the system runs, so the outcome does not depend
//! on timing; each case runs on one scheduler thread and on three.

use axon::{Component, ComponentRef, Failure, Inbox, Outbox, Outcome, Prefab, Signal, System};
use kamaelia::util::{
    collector, fanout, filter, null_sink, pure_transformer, ConsoleEchoer, DeMarshaller, Json, Marshaller,
    Splitter,
};

/// A component under test with its four standard boxes wired to plain code.
struct Rig {
    sys: System,
    comp: ComponentRef,
    feed: Outbox<u32>,
    ctl: Outbox<Signal>,
    out: Option<Inbox<u32>>,
    sig: Inbox<Signal>,
}

fn rig(p: Prefab, has_output: bool, threads: usize) -> Rig {
    let sys = System::builder().threads(threads).build();
    let comp = p.spawn(&sys);
    let feed = Outbox::<u32>::detached("feed");
    let ctl = Outbox::<Signal>::detached("ctl");
    let sig = Inbox::<Signal>::detached("sig");
    axon::link(&feed.endpoint(), &comp.inbox("inbox").unwrap()).unwrap();
    axon::link(&ctl.endpoint(), &comp.inbox("control").unwrap()).unwrap();
    axon::link(&comp.outbox::<Signal>("signal").unwrap(), &sig.endpoint()).unwrap();
    let out = has_output.then(|| {
        let out = Inbox::<u32>::detached("out");
        axon::link(&comp.outbox::<u32>("outbox").unwrap(), &out.endpoint()).unwrap();
        out
    });
    Rig {
        sys,
        comp,
        feed,
        ctl,
        out,
        sig,
    }
}

fn drain<T: Send + 'static>(i: &mut Inbox<T>) -> Vec<T> {
    std::iter::from_fn(|| i.try_recv().ok()).collect()
}

/// The components under test, each making a `u32` stream flow from `inbox` to
/// `outbox` unchanged (or, for sinks, consuming it).
/// (name, how to make one, whether it sends on `outbox`).
type Subject = (&'static str, Box<dyn Fn() -> Prefab>, bool);

fn subjects() -> Vec<Subject> {
    vec![
        (
            "pure_transformer",
            Box::new(|| pure_transformer(|x: u32| Some(x))),
            true,
        ),
        ("filter", Box::new(|| filter(|_: &u32| true)), true),
        ("null_sink", Box::new(null_sink::<u32>), false),
        ("collector", Box::new(|| collector::<u32>().0), false),
        (
            "console_echoer",
            Box::new(|| {
                ConsoleEchoer::<u32>::new()
                    .writer(std::io::sink())
                    .forwarder(true)
                    .build()
            }),
            true,
        ),
        ("fanout", Box::new(|| fanout::<u32>(["outbox"])), true),
        (
            "splitter",
            Box::new(|| Splitter::<u32>::new().copy_to_outbox(true).build()),
            true,
        ),
        // A marshal/demarshal pair as one subject: encode, then decode.
        ("marshalling", Box::new(marshal_roundtrip), true),
    ]
}

/// Every subject, on one scheduler thread and on three (where components run
/// in parallel).
fn cases() -> Vec<(usize, Subject)> {
    [1, 3]
        .into_iter()
        .flat_map(|t| subjects().into_iter().map(move |s| (t, s)))
        .collect()
}

/// Marshaller and DeMarshaller in a row, wrapped as one component with the
/// standard boxes (children wired with passthrough linkages).
fn marshal_roundtrip() -> Prefab {
    Prefab::new(
        Component::new("roundtrip").inbox_and_outbox::<u32, u32>(),
        |cx| async move {
            let enc = Marshaller::<u32, _>::new(Json).build().create_child(&cx);
            let dec = DeMarshaller::<u32, _>::new(Json).build().create_child(&cx);
            let me = cx.me().clone();
            // Wire the children before they start (Dormant), so neither can act on
            // input or finish before it is wired.
            let (e, d) = (enc.component(), dec.component());
            cx.link(&e.outbox::<Vec<u8>>("outbox")?, &d.inbox("inbox")?)?;
            cx.link(&e.outbox::<Signal>("signal")?, &d.inbox("control")?)?;
            cx.link(&d.outbox::<u32>("outbox")?, &me.outbox("outbox")?)?;
            cx.link(&d.outbox::<Signal>("signal")?, &me.outbox("signal")?)?;
            cx.link(&me.inbox::<u32>("inbox")?, &e.inbox("inbox")?)?;
            cx.link(&me.inbox::<Signal>("control")?, &e.inbox("control")?)?;
            enc.activate();
            dec.activate();
            while cx.child_exit().await.is_some() {}
            Ok::<_, axon::Error>(())
        },
    )
}

#[test]
fn producer_finished_drains_then_is_passed_on() {
    for (threads, (name, make, has_output)) in cases() {
        let mut r = rig(make(), has_output, threads);
        for i in 0..5 {
            r.feed.try_send(i).unwrap();
        }
        r.ctl.try_send(Signal::ProducerFinished).unwrap();
        r.sys.run();
        if let Some(out) = &mut r.out {
            assert_eq!(
                drain(out),
                [0, 1, 2, 3, 4],
                "{name} on {threads} threads: drained before finishing"
            );
        }
        assert_eq!(
            drain(&mut r.sig),
            [Signal::ProducerFinished],
            "{name} on {threads} threads: signal passed on"
        );
        assert_eq!(
            r.comp.outcome(),
            Some(Outcome::Finished),
            "{name} on {threads} threads"
        );
        drop(r.feed);
    }
}

#[test]
fn shutdown_is_passed_on_at_once_leaving_input_unread() {
    for (threads, (name, make, has_output)) in cases() {
        let mut r = rig(make(), has_output, threads);
        for i in 0..5 {
            r.feed.try_send(i).unwrap();
        }
        r.ctl.try_send(Signal::ShutdownMicroprocess).unwrap();
        r.sys.run();
        if let Some(out) = &mut r.out {
            assert_eq!(
                drain(out),
                Vec::<u32>::new(),
                "{name} on {threads} threads: nothing processed after shutdown"
            );
        }
        assert_eq!(
            drain(&mut r.sig),
            [Signal::ShutdownMicroprocess],
            "{name} on {threads} threads: signal passed on"
        );
        assert_eq!(
            r.comp.outcome(),
            Some(Outcome::Finished),
            "{name} on {threads} threads"
        );
    }
}

#[test]
fn a_failure_passed_down_the_chain_stops_and_is_passed_on() {
    for (threads, (name, make, has_output)) in cases() {
        let mut r = rig(make(), has_output, threads);
        let failure = Signal::Failed(Failure {
            component: r.comp.id(),
            name: "upstream".into(),
            reason: "it broke".into(),
            panicked: false,
            error: Some("it broke".into()),
        });
        r.feed.try_send(1).unwrap();
        r.ctl.try_send(failure.clone()).unwrap();
        r.sys.run();
        assert_eq!(drain(&mut r.sig), [failure], "{name} on {threads} threads");
    }
}

#[test]
fn inbox_closing_ends_with_producer_finished() {
    for (threads, (name, make, has_output)) in cases() {
        let mut r = rig(make(), has_output, threads);
        for i in 0..3 {
            r.feed.try_send(i).unwrap();
        }
        drop(r.feed); // every sender into the inbox is gone; control stays open
        r.sys.run();
        if let Some(out) = &mut r.out {
            assert_eq!(drain(out), [0, 1, 2], "{name} on {threads} threads");
        }
        assert_eq!(
            drain(&mut r.sig),
            [Signal::ProducerFinished],
            "{name} on {threads} threads"
        );
        assert_eq!(
            r.comp.outcome(),
            Some(Outcome::Finished),
            "{name} on {threads} threads"
        );
        drop(r.ctl);
    }
}

#[test]
fn runs_until_told_to_stop() {
    // test_framing.py smokeTest2: a component keeps running while nothing tells it to stop.
    for (threads, (name, make, has_output)) in cases() {
        let mut r = rig(make(), has_output, threads);
        let running = r.sys.start();
        let mut feed = r.feed;
        for i in 0..100 {
            feed.send_blocking(i).unwrap();
        }
        if let Some(out) = &mut r.out {
            for i in 0..100 {
                assert_eq!(out.recv_blocking(), Ok(i), "{name} on {threads} threads");
            }
        }
        assert!(
            r.comp.outcome().is_none(),
            "{name} on {threads} threads: still running"
        );
        let mut ctl = r.ctl;
        ctl.send_blocking(Signal::ProducerFinished).unwrap();
        running.wait();
        assert_eq!(
            r.sig.try_recv(),
            Ok(Signal::ProducerFinished),
            "{name} on {threads} threads"
        );
        drop(feed);
    }
}

#[test]
fn a_long_drain_completes() {
    // More than one scheduling budget's worth waiting when ProducerFinished
    // arrives: the drain yields now and then but takes everything.
    for (threads, (name, make, has_output)) in cases() {
        let mut r = rig(make(), has_output, threads);
        for i in 0..1000 {
            r.feed.try_send(i).unwrap();
        }
        r.ctl.try_send(Signal::ProducerFinished).unwrap();
        r.sys.run();
        if let Some(out) = &mut r.out {
            assert_eq!(
                drain(out),
                (0..1000).collect::<Vec<_>>(),
                "{name} on {threads} threads"
            );
        }
        assert_eq!(
            drain(&mut r.sig),
            [Signal::ProducerFinished],
            "{name} on {threads} threads"
        );
    }
}
