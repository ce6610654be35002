//! `ByteReader` and `ByteWriter`: byte-exact through files and readers,
//! bounded, and ending by the shutdown convention.

use std::io::{Cursor, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axon::{link, Inbox, Outbox, Outcome, Signal, System};
use bytes::Bytes;
use kamaelia::process::{ByteReader, ByteWriter};

const LIMIT: Duration = Duration::from_secs(30);

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().write(b)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8 ^ (i / 251) as u8).collect()
}

fn copy(reader: ByteReader) -> Vec<u8> {
    let got = Shared::default();
    let sys = System::builder().threads(2).build();
    // Threaded components start at once: link before activating.
    let r = reader.build().create(&sys);
    let w = ByteWriter::to_writer(got.clone())
        .inbox_size(2)
        .build()
        .create(&sys);
    let (rc, wc) = (r.component(), w.component());
    link(
        &rc.outbox::<Bytes>("outbox").unwrap(),
        &wc.inbox("inbox").unwrap(),
    )
    .unwrap();
    link(
        &rc.outbox::<Signal>("signal").unwrap(),
        &wc.inbox("control").unwrap(),
    )
    .unwrap();
    let w = w.activate();
    r.activate();
    let running = sys.start();
    assert_eq!(w.join_timeout(LIMIT), Ok(Outcome::Finished));
    running.shutdown();
    let v = got.0.lock().unwrap().clone();
    v
}

#[test]
fn a_file_is_copied_byte_exact() {
    let data = pattern(3_000_001);
    let path = std::env::temp_dir().join(format!("kamaelia-byte-io-{}", std::process::id()));
    std::fs::write(&path, &data).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let out = copy(ByteReader::from_file(file).chunk_size(100_000));
    std::fs::remove_file(&path).unwrap();
    assert!(out == data, "{} of {} bytes", out.len(), data.len());
}

#[test]
fn a_reader_is_copied_byte_exact_in_chunks() {
    let data = pattern(1_000_003);
    assert!(copy(ByteReader::from_reader(Cursor::new(data.clone())).chunk_size(777)) == data);
}

#[test]
fn the_reader_sends_chunks_of_at_most_chunk_size_then_producer_finished() {
    let sys = System::builder().threads(1).build();
    let r = ByteReader::from_reader(Cursor::new(pattern(10_000)))
        .chunk_size(4096)
        .build()
        .create(&sys);
    let mut out = Inbox::<Bytes>::detached("out");
    let mut sig = Inbox::<Signal>::detached("sig");
    let rc = r.component();
    link(&rc.outbox::<Bytes>("outbox").unwrap(), &out.endpoint()).unwrap();
    link(&rc.outbox::<Signal>("signal").unwrap(), &sig.endpoint()).unwrap();
    r.activate();
    sys.run();
    let sizes: Vec<usize> = std::iter::from_fn(|| out.try_recv().ok())
        .map(|c| c.len())
        .collect();
    assert_eq!(sizes, [4096, 4096, 1808]);
    assert_eq!(sig.try_recv(), Ok(Signal::ProducerFinished));
}

#[test]
fn a_reader_waiting_for_its_consumer_hears_a_shutdown() {
    let sys = System::builder().threads(2).build();
    let running = sys.start();
    let r = ByteReader::from_reader(std::io::repeat(1)).build().create(&sys);
    let out = Inbox::<Bytes>::detached("out");
    out.set_size(Some(1));
    let mut sig = Inbox::<Signal>::detached("sig");
    let rc = r.component();
    link(&rc.outbox::<Bytes>("outbox").unwrap(), &out.endpoint()).unwrap();
    link(&rc.outbox::<Signal>("signal").unwrap(), &sig.endpoint()).unwrap();
    let mut ctl = Outbox::<Signal>::detached("ctl");
    link(&ctl.endpoint(), &rc.inbox("control").unwrap()).unwrap();
    let r = r.activate();
    // The reader is now stuck waiting for room (nobody reads `out`).
    axon::block_on_timeout(
        async {
            while out.is_empty() {
                axon::yield_now().await
            }
        },
        Some(LIMIT),
    )
    .unwrap();
    ctl.try_send(Signal::ShutdownMicroprocess).unwrap();
    let got = axon::block_on_timeout(sig.recv(), Some(LIMIT)).expect("no signal");
    assert_eq!(got, Ok(Signal::ShutdownMicroprocess));
    assert_eq!(r.join_timeout(LIMIT), Ok(Outcome::Finished));
    running.shutdown();
}

struct Broken;
impl Write for Broken {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::ErrorKind::BrokenPipe.into())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_write_error_fails_the_writer() {
    let sys = System::builder().threads(1).build();
    let w = ByteWriter::to_writer(Broken).build().spawn(&sys);
    let mut feed = Outbox::<Bytes>::detached("feed");
    link(&feed.endpoint(), &w.inbox("inbox").unwrap()).unwrap();
    feed.try_send(Bytes::from_static(b"x")).unwrap();
    drop(feed);
    sys.run();
    assert!(
        matches!(w.outcome(), Some(Outcome::Failed(_))),
        "{:?}",
        w.outcome()
    );
}
