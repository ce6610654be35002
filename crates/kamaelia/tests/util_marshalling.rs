//! Marshaller / DeMarshaller. Ports of Kamaelia's `Test/Util/test_Marshalling.py`
//! (with its integer-to-string serialiser as a custom `Codec`), plus JSON over
//! serde and the typed errors for bad input.

use std::collections::BTreeMap;

use axon::{Inbox, Outbox, Outcome, Signal, System};
use kamaelia::util::{Codec, DeMarshaller, Json, JsonString, MarshalError, MarshalErrorKind, Marshaller};
use serde::{Deserialize, Serialize};

/// test_Marshalling.py `SerialiseInt`: integers as decimal strings.
struct SerialiseInt;

impl Codec<i64> for SerialiseInt {
    type Wire = String;
    fn marshal(&self, v: &i64) -> Result<String, String> {
        Ok(v.to_string())
    }
    fn demarshal(&self, w: String) -> Result<i64, String> {
        w.parse().map_err(|e| format!("{w:?} is not an integer: {e}"))
    }
}

fn drain<T: Send + 'static>(i: &mut Inbox<T>) -> Vec<T> {
    std::iter::from_fn(|| i.try_recv().ok()).collect()
}

/// Run one component over `input`, returning (outbox, error, signal) contents.
fn run<I: Send + 'static, O: Send + 'static>(
    prefab: axon::Prefab,
    input: Vec<I>,
) -> (Vec<O>, Vec<MarshalError>, Vec<Signal>, Outcome) {
    let sys = System::builder().threads(1).build();
    let c = prefab.spawn(&sys);
    let mut feed = Outbox::<I>::detached("feed");
    let mut out = Inbox::<O>::detached("out");
    let mut err = Inbox::<MarshalError>::detached("err");
    let mut sig = Inbox::<Signal>::detached("sig");
    axon::link(&feed.endpoint(), &c.inbox("inbox").unwrap()).unwrap();
    axon::link(&c.outbox::<O>("outbox").unwrap(), &out.endpoint()).unwrap();
    axon::link(&c.outbox::<MarshalError>("error").unwrap(), &err.endpoint()).unwrap();
    axon::link(&c.outbox::<Signal>("signal").unwrap(), &sig.endpoint()).unwrap();
    for x in input {
        feed.try_send(x).unwrap();
    }
    drop(feed);
    sys.run();
    (
        drain(&mut out),
        drain(&mut err),
        drain(&mut sig),
        c.outcome().unwrap(),
    )
}

#[test]
fn marshaller_should_marshall() {
    // test_Marshalling.py Marshalling_ActionTests.test_Marshalling
    let (out, errs, sig, _) = run::<i64, String>(Marshaller::new(SerialiseInt).build(), vec![5, 0, 999]);
    assert_eq!(out, ["5", "0", "999"]);
    assert!(errs.is_empty());
    assert_eq!(sig, [Signal::ProducerFinished]);
}

#[test]
fn demarshaller_should_demarshall() {
    // test_Marshalling.py Marshalling_ActionTests.test_DeMarshalling
    let input = vec!["5".to_string(), "0".into(), "999".into()];
    let (out, errs, _, _) = run::<String, i64>(DeMarshaller::new(SerialiseInt).build(), input);
    assert_eq!(out, [5, 0, 999]);
    assert!(errs.is_empty());
}

#[test]
fn shutdown_messages_are_forwarded_and_nothing_silly_comes_out() {
    // test_Marshalling.py MySmokeTests.test_Shutdown, for both components.
    for msg in [Signal::ProducerFinished, Signal::ShutdownMicroprocess] {
        for prefab in [
            Marshaller::<i64, _>::new(SerialiseInt).build(),
            DeMarshaller::<i64, _>::new(SerialiseInt).build(),
        ] {
            let sys = System::builder().threads(1).build();
            let c = prefab.spawn(&sys);
            let mut ctl = Outbox::<Signal>::detached("ctl");
            let mut sig = Inbox::<Signal>::detached("sig");
            axon::link(&ctl.endpoint(), &c.inbox("control").unwrap()).unwrap();
            axon::link(&c.outbox::<Signal>("signal").unwrap(), &sig.endpoint()).unwrap();
            ctl.try_send(msg.clone()).unwrap();
            sys.run();
            assert_eq!(drain(&mut sig), std::slice::from_ref(&msg));
            assert_eq!(c.outcome(), Some(Outcome::Finished));
        }
    }
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Reading {
    sensor: String,
    value: f64,
    tags: Vec<String>,
}

#[test]
fn json_round_trip_of_a_serde_type() {
    let readings = vec![
        Reading {
            sensor: "a".into(),
            value: 1.5,
            tags: vec![],
        },
        Reading {
            sensor: "b".into(),
            value: -2.0,
            tags: vec!["x".into(), "y".into()],
        },
    ];
    let (wire, errs, _, _) =
        run::<Reading, Vec<u8>>(Marshaller::<Reading, _>::new(Json).build(), readings.clone());
    assert!(errs.is_empty());
    assert_eq!(wire.len(), 2);
    let (back, errs, _, _) = run::<Vec<u8>, Reading>(DeMarshaller::<Reading, _>::new(Json).build(), wire);
    assert!(errs.is_empty());
    assert_eq!(back, readings);

    let (text, _, _, _) = run::<Reading, String>(
        Marshaller::<Reading, _>::new(JsonString).build(),
        readings[..1].to_vec(),
    );
    assert_eq!(text, [r#"{"sensor":"a","value":1.5,"tags":[]}"#]);
}

#[test]
fn undecodable_input_is_a_typed_error_and_the_stream_goes_on() {
    let input = vec![
        br#"{"sensor":"a","value":1,"tags":[]}"#.to_vec(),
        b"{ not json".to_vec(),
        br#"{"sensor":"b"}"#.to_vec(), // missing fields
        br#"{"sensor":"c","value":3,"tags":["t"]}"#.to_vec(),
    ];
    let (out, errs, sig, outcome) =
        run::<Vec<u8>, Reading>(DeMarshaller::<Reading, _>::new(Json).build(), input);
    assert_eq!(
        out.iter().map(|r| r.sensor.as_str()).collect::<Vec<_>>(),
        ["a", "c"]
    );
    assert_eq!(errs.len(), 2);
    for e in &errs {
        assert_eq!(e.kind, MarshalErrorKind::Decode);
        assert!(e.type_name.ends_with("Reading"), "{}", e.type_name);
        assert!(e.to_string().contains("could not decode"), "{e}");
    }
    assert_eq!(errs[0].input_len, Some(10));
    assert!(errs[1].reason.contains("missing field"), "{}", errs[1].reason);
    assert_eq!(sig, [Signal::ProducerFinished]);
    assert_eq!(outcome, Outcome::Finished);
}

#[test]
fn unencodable_value_is_a_typed_error() {
    // JSON object keys must be strings: a map keyed by byte vectors cannot be written.
    let mut bad = BTreeMap::new();
    bad.insert(vec![1u8], 1u8);
    let good: BTreeMap<Vec<u8>, u8> = BTreeMap::new();
    let (out, errs, _, _) = run::<BTreeMap<Vec<u8>, u8>, Vec<u8>>(
        Marshaller::<BTreeMap<Vec<u8>, u8>, _>::new(Json).build(),
        vec![bad, good],
    );
    assert_eq!(out, [b"{}".to_vec()]);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].kind, MarshalErrorKind::Encode);
    assert!(
        errs[0].reason.contains("key must be a string"),
        "{}",
        errs[0].reason
    );
}

#[test]
fn fail_on_error_ends_with_a_failure_signal() {
    let input = vec![b"1".to_vec(), b"oops".to_vec(), b"3".to_vec()];
    let (out, errs, sig, outcome) =
        run::<Vec<u8>, u32>(DeMarshaller::<u32, _>::new(Json).fail_on_error().build(), input);
    assert_eq!(out, [1]);
    assert_eq!(errs.len(), 1);
    assert!(
        matches!(outcome, Outcome::Failed(ref m) if m.to_string().contains("could not decode")),
        "{outcome:?}"
    );
    assert!(
        matches!(&sig[..], [Signal::Failed(f)] if !f.panicked && f.name == "DeMarshaller"),
        "{sig:?}"
    );
}

#[test]
fn unread_error_reports_are_bounded_and_never_hold_up_the_data() {
    // Nothing linked to `error`: a stream of garbage must not grow memory
    // without limit, nor stop good messages getting through.
    let sys = System::builder().threads(1).build();
    let dec = DeMarshaller::<u32, _>::new(Json).build().spawn(&sys);
    let mut feed = Outbox::<Vec<u8>>::detached("feed");
    let mut out = Inbox::<u32>::detached("out");
    axon::link(&feed.endpoint(), &dec.inbox("inbox").unwrap()).unwrap();
    axon::link(&dec.outbox::<u32>("outbox").unwrap(), &out.endpoint()).unwrap();
    for i in 0..500u32 {
        feed.try_send(b"garbage".to_vec()).unwrap();
        feed.try_send(i.to_string().into_bytes()).unwrap();
    }
    let running = sys.start();
    for i in 0..500 {
        assert_eq!(out.recv_blocking(), Ok(i));
    }
    let snap = sys.snapshot();
    let held = snap
        .components
        .iter()
        .find(|c| c.id == dec.id())
        .and_then(|c| c.boxes.iter().find(|b| b.name == "error"))
        .map(|b| b.len)
        .unwrap();
    assert_eq!(
        held, 64,
        "the first 64 reports are kept for a late reader, the rest logged"
    );
    drop(feed);
    running.wait();
}
