//! Framer / DeFramer and LineSplitter over byte streams. Ports of the component
//! tests in Kamaelia's `Test/Protocol/test_framing.py` (`FramingComponent_Tests`,
//! `DeFramingComponent_Tests`); the frame format differs (a 4-byte length
//! prefix here, Kamaelia's `SimpleFrame` is a text header), so the expected
//! bytes are this crate's.

use axon::{Inbox, Outbox, Outcome, Prefab, Signal, System};
use kamaelia::util::{DeFramer, FrameError, Framer, LineError, LineSplitter};

struct Run<E> {
    out: Vec<Vec<u8>>,
    errors: Vec<E>,
    signal: Vec<Signal>,
    outcome: Outcome,
}

fn drain<T: Send + 'static>(i: &mut Inbox<T>) -> Vec<T> {
    std::iter::from_fn(|| i.try_recv().ok()).collect()
}

/// Feed `chunks` into a bytes-in/bytes-out component with an `error` outbox,
/// then close its inbox.
fn run<E: Send + 'static>(p: Prefab, chunks: Vec<Vec<u8>>) -> Run<E> {
    let sys = System::builder().threads(1).build();
    let c = p.spawn(&sys);
    let mut feed = Outbox::<Vec<u8>>::detached("feed");
    let mut out = Inbox::<Vec<u8>>::detached("out");
    let mut err = Inbox::<E>::detached("err");
    let mut sig = Inbox::<Signal>::detached("sig");
    axon::link(&feed.endpoint(), &c.inbox("inbox").unwrap()).unwrap();
    axon::link(&c.outbox::<Vec<u8>>("outbox").unwrap(), &out.endpoint()).unwrap();
    axon::link(&c.outbox::<E>("error").unwrap(), &err.endpoint()).unwrap();
    axon::link(&c.outbox::<Signal>("signal").unwrap(), &sig.endpoint()).unwrap();
    for ch in chunks {
        feed.try_send(ch).unwrap();
    }
    drop(feed);
    sys.run();
    Run {
        out: drain(&mut out),
        errors: drain(&mut err),
        signal: drain(&mut sig),
        outcome: c.outcome().unwrap(),
    }
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(payload);
    f
}

#[test]
fn framer_frames_one_message() {
    // test_framing.py FramingComponent_Tests.test_marshalling
    let r = run::<FrameError>(Framer::new().build(), vec![b"1".to_vec()]);
    assert_eq!(r.out, [vec![0, 0, 0, 1, b'1']]);
    assert!(r.errors.is_empty());
    assert_eq!(r.signal, [Signal::ProducerFinished]);
}

#[test]
fn framer_frames_a_sequence() {
    // test_framing.py FramingComponent_Tests.test_marshalling_sequence
    let payloads: Vec<Vec<u8>> = (0..100).map(|i: u32| i.to_string().into_bytes()).collect();
    let r = run::<FrameError>(Framer::new().build(), payloads.clone());
    assert_eq!(r.out, payloads.iter().map(|p| frame(p)).collect::<Vec<_>>());
}

#[test]
fn deframer_recovers_one_message() {
    // test_framing.py DeFramingComponent_Tests.test_demarshalling
    let r = run::<FrameError>(DeFramer::new().build(), vec![frame(b"1")]);
    assert_eq!(r.out, [b"1".to_vec()]);
    assert_eq!(r.outcome, Outcome::Finished);
}

#[test]
fn deframer_recovers_a_sequence_however_it_is_chunked() {
    // test_framing.py DeFramingComponent_Tests.test_demarshalling_sequence, plus
    // the byte-stream case Kamaelia's per-message frames never met: the same
    // stream cut into chunks of every size from 1 to 9 bytes.
    let payloads: Vec<Vec<u8>> = (0..100).map(|i: u32| i.to_string().into_bytes()).collect();
    let stream: Vec<u8> = payloads.iter().flat_map(|p| frame(p)).collect();
    for size in 1..10 {
        let chunks = stream.chunks(size).map(<[u8]>::to_vec).collect();
        let r = run::<FrameError>(DeFramer::new().build(), chunks);
        assert_eq!(r.out, payloads, "chunks of {size}");
        assert!(r.errors.is_empty());
    }
}

#[test]
fn deframer_does_not_pass_on_a_frame_missing_its_end() {
    // test_framing.py DeFramingComponent_Tests.test_demarshalling_frame_missing_end:
    // a frame cut short is not passed on. In a byte stream the cut can only be
    // noticed when the input ends, so the short frame is the last one here, and
    // it is reported as a typed error.
    let mut stream: Vec<u8> = (1..5).flat_map(|i| frame(&vec![b'a'; i])).collect();
    let mut last = frame(&[b'a'; 5]);
    last.truncate(last.len() - 2);
    stream.extend(last);
    let r = run::<FrameError>(DeFramer::new().build(), vec![stream]);
    assert_eq!(r.out, (1..5).map(|i| vec![b'a'; i]).collect::<Vec<_>>());
    assert_eq!(r.errors, [FrameError::Truncated { expected: 9, got: 7 }]);
    assert_eq!(r.signal, [Signal::ProducerFinished]);
    assert_eq!(r.outcome, Outcome::Finished);
}

#[test]
fn deframer_refuses_a_huge_length_and_fails() {
    let mut stream = frame(b"ok");
    stream.extend_from_slice(&[0x7f, 0xff, 0xff, 0xff, 1, 2, 3]);
    let r = run::<FrameError>(DeFramer::new().max_frame_length(1024).build(), vec![stream]);
    assert_eq!(r.out, [b"ok".to_vec()]);
    assert_eq!(
        r.errors,
        [FrameError::TooLong {
            len: 0x7fff_ffff,
            max: 1024
        }]
    );
    assert!(
        matches!(&r.signal[..], [Signal::Failed(f)] if f.reason.contains("frame too long")),
        "{:?}",
        r.signal
    );
    assert!(r.outcome.is_failure());
}

#[test]
fn framer_skips_a_payload_over_the_limit() {
    let r = run::<FrameError>(
        Framer::new().max_frame_length(3).build(),
        vec![b"abc".to_vec(), b"abcd".to_vec(), b"x".to_vec()],
    );
    assert_eq!(r.out, [frame(b"abc"), frame(b"x")]);
    assert_eq!(r.errors, [FrameError::TooLong { len: 4, max: 3 }]);
    assert_eq!(r.outcome, Outcome::Finished);
}

#[test]
fn framer_then_deframer_round_trip_with_rechunking() {
    let payloads: Vec<Vec<u8>> = (0u8..50).map(|i| vec![i; i as usize * 7]).collect();
    let framed = run::<FrameError>(Framer::new().build(), payloads.clone()).out;
    let stream: Vec<u8> = framed.concat();
    let chunks = stream.chunks(13).map(<[u8]>::to_vec).collect();
    assert_eq!(run::<FrameError>(DeFramer::new().build(), chunks).out, payloads);
}

#[test]
fn line_splitter_handles_lines_across_chunks() {
    let text = b"first line\nsecond\r\n\nfourth is split";
    for size in 1..8 {
        let chunks = text.chunks(size).map(<[u8]>::to_vec).collect();
        let r = run::<LineError>(LineSplitter::new().build(), chunks);
        assert_eq!(
            r.out,
            [
                b"first line".to_vec(),
                b"second".to_vec(),
                vec![],
                b"fourth is split".to_vec()
            ],
            "chunks of {size}"
        );
        assert!(r.errors.is_empty());
        assert_eq!(r.signal, [Signal::ProducerFinished]);
    }
}

#[test]
fn line_splitter_reports_and_skips_an_over_long_line() {
    let chunks = vec![b"short\nthis one is far ".to_vec(), b"too long\nok\n".to_vec()];
    let r = run::<LineError>(LineSplitter::new().max_line_length(8).build(), chunks);
    assert_eq!(r.out, [b"short".to_vec(), b"ok".to_vec()]);
    assert_eq!(r.errors.len(), 1);
    assert!(matches!(r.errors[0], LineError::TooLong { max: 8, .. }));
    assert!(r.errors[0].to_string().contains("line too long"));
    assert_eq!(r.outcome, Outcome::Finished);
}

#[test]
fn line_splitter_shutdown_drops_a_partial_line() {
    let sys = System::builder().threads(1).build();
    let c = LineSplitter::new().build().spawn(&sys);
    let mut feed = Outbox::<Vec<u8>>::detached("feed");
    let mut ctl = Outbox::<Signal>::detached("ctl");
    let mut out = Inbox::<Vec<u8>>::detached("out");
    axon::link(&feed.endpoint(), &c.inbox("inbox").unwrap()).unwrap();
    axon::link(&ctl.endpoint(), &c.inbox("control").unwrap()).unwrap();
    axon::link(&c.outbox::<Vec<u8>>("outbox").unwrap(), &out.endpoint()).unwrap();
    let running = sys.start();
    feed.send_blocking(b"whole\npart".to_vec()).unwrap();
    assert_eq!(out.recv_blocking().unwrap(), b"whole");
    ctl.send_blocking(Signal::ShutdownMicroprocess).unwrap();
    running.wait();
    assert_eq!(drain(&mut out), Vec::<Vec<u8>>::new());
    drop(feed);
}
