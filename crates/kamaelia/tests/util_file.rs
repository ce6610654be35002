//! ReadFileAdaptor and SimpleFileWriter (`File/ReadFileAdaptor.py`,
//! `File/Writing.py`): round trips, modes, pacing (lower bounds only), typed
//! errors for files that cannot be opened, and shutdown.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axon::{ComponentRef, Inbox, Outbox, Outcome, Prefab, Signal, System};
use bytes::Bytes;
use kamaelia::pipeline;
use kamaelia::util::{
    collector, data_source, FileError, ReadFileAdaptor, SimpleFileWriter, DEFAULT_MAX_LINE,
};

/// A fresh path in the temp directory, removed when dropped.
struct TempPath(PathBuf);

impl TempPath {
    fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        TempPath(std::env::temp_dir().join(format!("kamaelia-file-test-{}-{tag}-{n}", std::process::id())))
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn chain<T: Send + 'static>(a: &ComponentRef, b: &ComponentRef) {
    axon::link(&a.outbox::<T>("outbox").unwrap(), &b.inbox("inbox").unwrap()).unwrap();
    axon::link(
        &a.outbox::<Signal>("signal").unwrap(),
        &b.inbox("control").unwrap(),
    )
    .unwrap();
}

/// Run `reader` into a collector; what it sent and the signal it ended with.
fn collect(reader: Prefab) -> (Vec<Bytes>, Option<Signal>) {
    let sys = System::builder().threads(1).build();
    let (sink, got) = collector::<Bytes>();
    let _p = pipeline![reader, sink].spawn(&sys);
    sys.run();
    (got.take(), got.ending())
}

fn wait_end(c: &ComponentRef) -> Outcome {
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.outcome().is_none() {
        assert!(Instant::now() < deadline, "{c:?} did not end");
        std::thread::sleep(Duration::from_millis(1));
    }
    c.outcome().unwrap()
}

#[test]
fn a_file_copied_through_reader_and_writer_is_identical() {
    let (src_path, dst_path) = (TempPath::new("src"), TempPath::new("dst"));
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&src_path.0, &data).unwrap();

    let sys = System::builder().threads(2).build();
    // In a pipeline, so both start together once the system runs (a threaded
    // component spawned on its own starts at once).
    let copy = pipeline![
        ReadFileAdaptor::open(&src_path.0)
            .unwrap()
            .chunk_size(1000)
            .build(),
        SimpleFileWriter::create(&dst_path.0).unwrap().build::<Bytes>(),
    ]
    .spawn(&sys);
    let mut done = Inbox::<Signal>::detached("done");
    axon::link(&copy.outbox::<Signal>("signal").unwrap(), &done.endpoint()).unwrap();
    sys.run();
    assert_eq!(std::fs::read(&dst_path.0).unwrap(), data);
    assert_eq!(done.try_recv(), Ok(Signal::ProducerFinished));
    assert_eq!(copy.outcome(), Some(Outcome::Finished));
}

#[test]
fn chunks_are_at_most_the_chunk_size() {
    let path = TempPath::new("chunks");
    std::fs::write(&path.0, [1u8; 2500]).unwrap();
    let (got, ending) = collect(ReadFileAdaptor::open(&path.0).unwrap().chunk_size(1000).build());
    let sizes: Vec<usize> = got.iter().map(Bytes::len).collect();
    assert_eq!(sizes, [1000, 1000, 500]);
    assert_eq!(ending, Some(Signal::ProducerFinished));
}

#[test]
fn lines_keep_their_newline_and_long_lines_come_in_pieces() {
    let path = TempPath::new("lines");
    let long = "x".repeat(DEFAULT_MAX_LINE + 10);
    std::fs::write(&path.0, format!("one\n\ntwo\r\n{long}\nlast")).unwrap();
    let (got, _) = collect(ReadFileAdaptor::open(&path.0).unwrap().lines().build());
    assert_eq!(
        got[..3],
        [Bytes::from("one\n"), Bytes::from("\n"), Bytes::from("two\r\n")]
    );
    assert_eq!(got[3].len(), DEFAULT_MAX_LINE);
    assert_eq!(got[4], Bytes::from(format!("{}\n", "x".repeat(10))));
    assert_eq!(got[5], Bytes::from("last"));
    assert_eq!(got.len(), 6);
}

#[test]
fn a_missing_file_is_a_typed_error_naming_it() {
    let path = TempPath::new("missing");
    let err = ReadFileAdaptor::open(&path.0).unwrap_err();
    assert!(matches!(err, FileError::Open { .. }), "{err:?}");
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(err.path(), path.0.as_path());
    assert!(err.to_string().contains("kamaelia-file-test"), "{err}");

    let in_missing_dir = path.0.join("sub").join("out.txt");
    let err = SimpleFileWriter::create(&in_missing_dir).unwrap_err();
    assert!(matches!(err, FileError::Create { .. }), "{err:?}");
    assert_eq!(err.path(), in_missing_dir.as_path());
}

#[test]
fn a_paced_reader_waits_between_reads() {
    let path = TempPath::new("paced");
    std::fs::write(&path.0, "a\nb\nc\n").unwrap();
    let start = Instant::now();
    let (got, _) = collect(
        ReadFileAdaptor::open(&path.0)
            .unwrap()
            .lines()
            .every(Duration::from_millis(10))
            .build(),
    );
    assert!(
        start.elapsed() >= Duration::from_millis(20),
        "3 reads need 2 gaps of 10 ms"
    );
    assert_eq!(got.len(), 3);
}

#[test]
fn a_shutdown_stops_a_reader_in_the_middle_of_a_long_wait() {
    let path = TempPath::new("stop");
    std::fs::write(&path.0, "a\nb\n").unwrap();
    let sys = System::builder().threads(1).build();
    let running = sys.start();
    let reader = ReadFileAdaptor::open(&path.0)
        .unwrap()
        .lines()
        .every(Duration::from_secs(3600))
        .build()
        .spawn(&sys);
    let mut lines = Inbox::<Bytes>::detached("lines");
    let mut sig = Inbox::<Signal>::detached("sig");
    axon::link(&reader.outbox::<Bytes>("outbox").unwrap(), &lines.endpoint()).unwrap();
    axon::link(&reader.outbox::<Signal>("signal").unwrap(), &sig.endpoint()).unwrap();
    let first = axon::block_on_timeout(lines.recv(), Some(Duration::from_secs(10)));
    assert_eq!(first, Some(Ok(Bytes::from("a\n"))));
    let mut ctl = Outbox::<Signal>::detached("ctl");
    axon::link(&ctl.endpoint(), &reader.inbox("control").unwrap()).unwrap();
    ctl.send_blocking(Signal::ShutdownMicroprocess).unwrap();
    assert_eq!(wait_end(&reader), Outcome::Finished);
    assert_eq!(sig.try_recv(), Ok(Signal::ShutdownMicroprocess));
    assert!(lines.try_recv().is_err(), "the second line was never read");
    running.wait();
}

#[test]
fn a_writer_appends_and_takes_any_bytes() {
    let path = TempPath::new("append");
    std::fs::write(&path.0, "start\n").unwrap();
    let sys = System::builder().threads(1).build();
    let src = data_source(vec![String::from("more\n"), String::from("end\n")]).spawn(&sys);
    let writer = SimpleFileWriter::append(&path.0)
        .unwrap()
        .build::<String>()
        .spawn(&sys);
    chain::<String>(&src, &writer);
    sys.run();
    assert_eq!(writer.outcome(), Some(Outcome::Finished));
    assert_eq!(std::fs::read_to_string(&path.0).unwrap(), "start\nmore\nend\n");
}

#[test]
fn a_writer_told_to_stop_has_flushed_what_it_wrote() {
    let path = TempPath::new("flush");
    let sys = System::builder().threads(1).build();
    let running = sys.start();
    let writer = SimpleFileWriter::create(&path.0)
        .unwrap()
        .build::<Vec<u8>>()
        .spawn(&sys);
    let mut data = Outbox::<Vec<u8>>::detached("data");
    let mut ctl = Outbox::<Signal>::detached("ctl");
    axon::link(&data.endpoint(), &writer.inbox("inbox").unwrap()).unwrap();
    axon::link(&ctl.endpoint(), &writer.inbox("control").unwrap()).unwrap();
    data.send_blocking(b"kept".to_vec()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read(&path.0).unwrap() != b"kept" {
        assert!(Instant::now() < deadline, "the write never reached the file");
        std::thread::sleep(Duration::from_millis(1));
    }
    ctl.send_blocking(Signal::ShutdownMicroprocess).unwrap();
    assert_eq!(wait_end(&writer), Outcome::Finished);
    running.wait();
}
