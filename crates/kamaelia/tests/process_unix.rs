//! `UnixProcess` with real processes: byte-exact round trips, back-pressure
//! both ways, stderr, exit codes, a missing program, shutdown and reaping
//! (no zombies, also when the system is torn down mid-run).
//!
//! Every wait has a timeout, so a bug fails a test instead of hanging it.

use std::io::Cursor;
use std::time::{Duration, Instant};

use axon::{link, Component, ComponentRef, Inbox, Outbox, Outcome, Prefab, Signal, System};
use bytes::Bytes;
use kamaelia::process::{ByteReader, Exit, ExitReport, ProcessError, Stderr, UnixProcess};
use kamaelia::util::{collector, Collected};

const LIMIT: Duration = Duration::from_secs(30);

/// Deterministic pseudo-random bytes (xorshift64*).
fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(n + 8);
    while v.len() < n {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        v.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    v.truncate(n);
    v
}

fn chain(a: &ComponentRef, b: &ComponentRef) {
    link(&a.outbox::<Bytes>("outbox").unwrap(), &b.inbox("inbox").unwrap()).unwrap();
    link(
        &a.outbox::<Signal>("signal").unwrap(),
        &b.inbox("control").unwrap(),
    )
    .unwrap();
}

fn exit_box(p: &ComponentRef) -> Inbox<Exit> {
    let inbox = Inbox::<Exit>::detached("exit");
    link(&p.outbox::<Exit>("exit").unwrap(), &inbox.endpoint()).unwrap();
    inbox
}

fn recv_within<T: Send + 'static>(inbox: &mut Inbox<T>, what: &str) -> T {
    axon::block_on_timeout(inbox.recv(), Some(LIMIT))
        .unwrap_or_else(|| panic!("timed out waiting for {what}"))
        .unwrap_or_else(|_| panic!("{what}: box closed"))
}

fn joined(c: &ComponentRef) -> Outcome {
    c.join_timeout(LIMIT).expect("component did not end in time")
}

fn concat(chunks: Vec<Bytes>) -> Vec<u8> {
    chunks.iter().flat_map(|c| c.iter().copied()).collect()
}

/// `data` → process → collector; returns what came out, how the process
/// ended, and the collector's ending signal.
fn through(process: UnixProcess, data: Vec<u8>) -> (Vec<u8>, ExitReport, Option<Signal>) {
    let sys = System::builder().threads(2).build();
    // Threaded components start at once: link before activating.
    let src = ByteReader::from_reader(Cursor::new(data)).build().create(&sys);
    let p = process.build().spawn(&sys);
    let (sink, got) = collector::<Bytes>();
    let sink = sink.spawn(&sys);
    let mut exit = exit_box(&p);
    chain(src.component(), &p);
    chain(&p, &sink);
    src.activate();
    let running = sys.start(); // everything is linked
    let ending = got.wait_ending(LIMIT);
    let report = recv_within(&mut exit, "exit").expect("process started");
    assert_eq!(joined(&p), Outcome::Finished);
    running.shutdown();
    (concat(got.take()), report, ending)
}

#[test]
fn cat_round_trip_is_byte_exact() {
    let data = random_bytes(1 << 20, 1);
    let (out, report, ending) = through(UnixProcess::new("cat"), data.clone());
    assert!(
        out == data,
        "{} bytes out of {} in, or different",
        out.len(),
        data.len()
    );
    assert!(report.success() && !report.killed, "{report}");
    assert_eq!(ending, Some(Signal::ProducerFinished));
}

#[test]
fn gzip_then_gunzip_round_trip() {
    let data = random_bytes(1 << 20, 2);
    let sys = System::builder().threads(2).build();
    let src = ByteReader::from_reader(Cursor::new(data.clone()))
        .chunk_size(10_000)
        .build()
        .create(&sys);
    let zip = UnixProcess::new("gzip").arg("-c").build().spawn(&sys);
    let unzip = UnixProcess::new("gunzip").build().spawn(&sys);
    let (sink, got) = collector::<Bytes>();
    let sink = sink.spawn(&sys);
    chain(src.component(), &zip);
    chain(&zip, &unzip);
    chain(&unzip, &sink);
    let (mut e1, mut e2) = (exit_box(&zip), exit_box(&unzip));
    src.activate();
    let running = sys.start(); // everything is linked
    assert_eq!(got.wait_ending(LIMIT), Some(Signal::ProducerFinished));
    assert!(recv_within(&mut e1, "gzip exit").unwrap().success());
    assert!(recv_within(&mut e2, "gunzip exit").unwrap().success());
    assert!(concat(got.take()) == data);
    running.shutdown();
}

#[test]
fn shell_pipeline_and_env_and_cwd() {
    let p = UnixProcess::shell("printf '%s:' \"$GREETING\"; pwd; cat | wc -c")
        .env("GREETING", "hi")
        .current_dir("/");
    let (out, report, _) = through(p, vec![b'x'; 12345]);
    assert!(report.success());
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text.split_whitespace().collect::<Vec<_>>(),
        ["hi:/", "12345"],
        "{text:?}"
    );
}

/// A consumer behind an inbox of 2 that takes a while over each chunk.
fn slow_consumer(seen: std::sync::Arc<std::sync::Mutex<Vec<u8>>>) -> Prefab {
    let spec = Component::new("slow").inbox_with_size::<Bytes>("inbox", 2);
    Prefab::threaded(spec, move |mut cx| {
        let mut inbox = cx.inbox::<Bytes>("inbox").unwrap();
        let mut control = cx.inbox::<Signal>("control").unwrap();
        loop {
            match inbox.try_recv() {
                Ok(chunk) => {
                    std::thread::sleep(Duration::from_micros(300));
                    seen.lock().unwrap().extend_from_slice(&chunk);
                }
                Err(_) => {
                    if control.try_recv().is_ok() && inbox.is_empty() {
                        break;
                    }
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        }
    })
}

#[test]
fn slow_consumer_behind_a_small_inbox_gets_everything_in_order() {
    // A counting pattern: any loss, duplicate or reordering shows.
    let data: Vec<u8> = (0..3_000_000u32)
        .flat_map(|i| (i % 65_521).to_le_bytes())
        .collect();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sys = System::builder().threads(2).build();
    let src = ByteReader::from_reader(Cursor::new(data.clone()))
        .build()
        .create(&sys);
    let p = UnixProcess::new("cat").chunk_size(8 * 1024).build().spawn(&sys);
    let slow = slow_consumer(seen.clone()).create(&sys);
    chain(src.component(), &p);
    chain(&p, slow.component());
    let mut exit = exit_box(&p);
    let slow = slow.activate();
    src.activate();
    let running = sys.start(); // everything is linked
    assert!(recv_within(&mut exit, "exit").unwrap().success());
    assert_eq!(joined(&slow), Outcome::Finished);
    assert!(*seen.lock().unwrap() == data);
    running.shutdown();
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[test]
fn a_consumer_that_does_not_read_stops_the_child_instead_of_buffering() {
    const TOTAL: usize = 200_000_000;
    let sys = System::builder().threads(2).build();
    let p = UnixProcess::new("head")
        .args(["-c", &TOTAL.to_string(), "/dev/zero"])
        .build()
        .spawn(&sys);
    let mut out = Inbox::<Bytes>::detached("out");
    out.set_size(Some(2));
    link(&p.outbox::<Bytes>("outbox").unwrap(), &out.endpoint()).unwrap();
    let running = sys.start(); // everything is linked
    let before = rss_bytes();
    // Wait until the consumer's inbox is full, then give the child time to
    // have produced far more than fits, were anything buffering it.
    let t0 = Instant::now();
    while out.len() < 2 {
        assert!(t0.elapsed() < LIMIT, "no output");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(300));
    let grown = rss_bytes().saturating_sub(before);
    assert!(
        grown < 64 << 20,
        "memory grew by {grown} bytes while nothing was read"
    );
    let mut total = 0usize;
    while let Some(Ok(chunk)) = axon::block_on_timeout(out.recv(), Some(LIMIT)) {
        total += chunk.len();
    }
    assert_eq!(total, TOTAL);
    assert_eq!(joined(&p), Outcome::Finished);
    running.shutdown();
}

#[test]
fn a_child_that_does_not_read_stops_taking_from_the_inbox() {
    let sys = System::builder().threads(2).build();
    let p = UnixProcess::new("sleep")
        .arg("1000")
        .inbox_size(4)
        .build()
        .spawn(&sys);
    let mut feed = Outbox::<Bytes>::detached("feed");
    let mut ctl = Outbox::<Signal>::detached("ctl");
    link(&feed.endpoint(), &p.inbox("inbox").unwrap()).unwrap();
    link(&ctl.endpoint(), &p.inbox("control").unwrap()).unwrap();
    let mut exit = exit_box(&p);
    let running = sys.start(); // everything is linked
    let chunk = Bytes::from(vec![0u8; 64 * 1024]);
    // The pipe takes what fits in its buffer, the inbox 4 chunks; then sends
    // must wait.
    let mut accepted = 0;
    let t0 = Instant::now();
    loop {
        match feed.try_send(chunk.clone()) {
            Ok(()) => accepted += 1,
            Err(axon::TrySendError::Full(_)) => {
                // Full for good? Give the stdin thread a moment to take more.
                std::thread::sleep(Duration::from_millis(100));
                if feed.try_send(chunk.clone()).is_err() {
                    break;
                }
                accepted += 1;
            }
            Err(e) => panic!("{e:?}"),
        }
        assert!(
            accepted < 100,
            "the inbox took {accepted} chunks from a child that reads nothing"
        );
        assert!(t0.elapsed() < LIMIT);
    }
    assert!(accepted >= 4, "{accepted}");
    ctl.try_send(Signal::ShutdownMicroprocess).unwrap();
    let report = recv_within(&mut exit, "exit").unwrap();
    assert!(report.killed, "{report}");
    assert_eq!(report.signal(), Some(libc::SIGKILL));
    assert_eq!(joined(&p), Outcome::Finished);
    running.shutdown();
}

#[test]
fn stderr_comes_out_of_error_and_a_nonzero_exit_is_reported() {
    let sys = System::builder().threads(2).build();
    let p = UnixProcess::shell("echo out; echo oops >&2; exit 3")
        .build()
        .spawn(&sys);
    let (out_sink, out) = collector::<Bytes>();
    let (err_sink, err) = collector::<Bytes>();
    let out_sink = out_sink.spawn(&sys);
    let err_sink = err_sink.spawn(&sys);
    chain(&p, &out_sink);
    link(
        &p.outbox::<Bytes>("error").unwrap(),
        &err_sink.inbox("inbox").unwrap(),
    )
    .unwrap();
    let mut exit = exit_box(&p);
    let mut feed = Outbox::<Bytes>::detached("feed");
    link(&feed.endpoint(), &p.inbox("inbox").unwrap()).unwrap();
    let running = sys.start(); // everything is linked
    drop(feed.try_send(Bytes::new()));
    drop(feed);
    let report = recv_within(&mut exit, "exit").unwrap();
    assert_eq!(report.code(), Some(3));
    assert!(!report.success() && !report.killed);
    assert!(report.to_string().contains("exited with code 3"), "{report}");
    assert!(matches!(report.clone().check(), Err(ProcessError::Exited(_))));
    // Without `check`, a non-zero exit is not a failure: the stream ended.
    assert_eq!(out.wait_ending(LIMIT), Some(Signal::ProducerFinished));
    assert_eq!(concat(out.take()), b"out\n");
    assert_eq!(joined(&p), Outcome::Finished);
    assert!(err.wait_for(1, LIMIT));
    assert_eq!(concat(err.take()), b"oops\n");
    running.shutdown();
}

#[test]
fn with_check_a_nonzero_exit_fails_the_component() {
    let sys = System::builder().threads(2).build();
    let p = UnixProcess::new("false").check(true).build().spawn(&sys);
    let mut sig = Inbox::<Signal>::detached("sig");
    link(&p.outbox::<Signal>("signal").unwrap(), &sig.endpoint()).unwrap();
    let mut exit = exit_box(&p);
    let mut ctl = Outbox::<Signal>::detached("ctl");
    link(&ctl.endpoint(), &p.inbox("control").unwrap()).unwrap();
    let running = sys.start(); // everything is linked
    ctl.try_send(Signal::ProducerFinished).unwrap();
    assert_eq!(recv_within(&mut exit, "exit").unwrap().code(), Some(1));
    match recv_within(&mut sig, "signal") {
        Signal::Failed(f) => assert!(
            f.reason.contains("`false`") && f.reason.contains("exited with code 1"),
            "{f}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(matches!(joined(&p), Outcome::Failed(_)));
    running.shutdown();
}

#[test]
fn a_missing_program_is_a_typed_error_not_a_panic() {
    let sys = System::builder().threads(2).build();
    let p = UnixProcess::new("kamaelia-no-such-program").build().spawn(&sys);
    let mut exit = exit_box(&p);
    let mut sig = Inbox::<Signal>::detached("sig");
    link(&p.outbox::<Signal>("signal").unwrap(), &sig.endpoint()).unwrap();
    let running = sys.start(); // everything is linked
    let err = recv_within(&mut exit, "exit").expect_err("must not start");
    assert!(err.is_not_found(), "{err:?}");
    assert!(matches!(err, ProcessError::Spawn { ref program, .. } if program == "kamaelia-no-such-program"));
    let text = err.to_string();
    assert!(
        text.starts_with("could not start `kamaelia-no-such-program`: "),
        "{text}"
    );
    assert!(text.contains("is it installed and on PATH?"), "{text}");
    match joined(&p) {
        Outcome::Failed(reason) => assert_eq!(reason.to_string(), text),
        other => panic!("{other:?}"),
    }
    assert!(matches!(recv_within(&mut sig, "signal"), Signal::Failed(f) if !f.panicked));
    running.shutdown();
}

/// Whether `pid` is a child of this process that has not been reaped.
fn is_our_unreaped_child(pid: u32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false; // gone: reaped
    };
    let ppid = status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))
        .map(|v| v.trim().parse::<u32>().unwrap());
    ppid == Some(std::process::id())
}

/// Children of this process whose command line contains `needle`.
fn children_matching(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(needle) && is_our_unreaped_child(pid) {
            found.push(pid);
        }
    }
    found
}

#[test]
fn shutdown_kills_the_child_reaps_it_and_passes_the_signal_on() {
    let sys = System::builder().threads(2).build();
    let p = UnixProcess::new("sleep").arg("1000.25").build().spawn(&sys);
    let mut sig = Inbox::<Signal>::detached("sig");
    link(&p.outbox::<Signal>("signal").unwrap(), &sig.endpoint()).unwrap();
    let mut exit = exit_box(&p);
    let running = sys.start(); // everything is linked
    let t0 = Instant::now();
    while children_matching("sleep 1000.25").is_empty() {
        assert!(t0.elapsed() < LIMIT, "sleep never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut ctl = Outbox::<Signal>::detached("ctl");
    link(&ctl.endpoint(), &p.inbox("control").unwrap()).unwrap();
    ctl.try_send(Signal::ShutdownMicroprocess).unwrap();
    let report = recv_within(&mut exit, "exit").unwrap();
    assert!(
        report.killed && report.signal() == Some(libc::SIGKILL),
        "{report}"
    );
    assert_eq!(recv_within(&mut sig, "signal"), Signal::ShutdownMicroprocess);
    assert!(
        !is_our_unreaped_child(report.pid),
        "pid {} is a zombie",
        report.pid
    );
    assert_eq!(joined(&p), Outcome::Finished);
    running.shutdown();
}

#[test]
fn sigterm_first_with_a_grace_period() {
    let sys = System::builder().threads(2).build();
    let p = UnixProcess::new("sleep")
        .arg("1000.5")
        .kill_grace(Duration::from_secs(20))
        .build()
        .spawn(&sys);
    let mut exit = exit_box(&p);
    let mut ctl = Outbox::<Signal>::detached("ctl");
    link(&ctl.endpoint(), &p.inbox("control").unwrap()).unwrap();
    let running = sys.start(); // everything is linked
    ctl.try_send(Signal::ShutdownMicroprocess).unwrap();
    let report = recv_within(&mut exit, "exit").unwrap();
    // `sleep` dies of the SIGTERM, long before the grace runs out.
    assert_eq!(report.signal(), Some(libc::SIGTERM), "{report}");
    assert!(!is_our_unreaped_child(report.pid));
    running.shutdown();
}

#[test]
fn a_system_torn_down_mid_run_leaves_no_child_behind() {
    let sys = System::builder().threads(2).build();
    let _p = UnixProcess::new("sleep").arg("1000.75").build().spawn(&sys);
    let running = sys.start(); // everything is linked
    let t0 = Instant::now();
    let pid = loop {
        if let Some(&pid) = children_matching("sleep 1000.75").first() {
            break pid;
        }
        assert!(t0.elapsed() < LIMIT, "sleep never started");
        std::thread::sleep(Duration::from_millis(5));
    };
    running.shutdown(); // the component is cancelled: its guard kills and reaps
    assert!(!is_our_unreaped_child(pid), "pid {pid} left running or a zombie");
}

#[test]
fn a_child_that_ends_without_reading_everything_ends_the_component() {
    let data = random_bytes(4 << 20, 3);
    let (out, report, ending) = through(UnixProcess::new("head").args(["-c", "10"]), data.clone());
    assert_eq!(out, &data[..10]);
    assert!(report.success(), "{report}");
    assert_eq!(ending, Some(Signal::ProducerFinished));
}

#[test]
fn producer_finished_on_control_closes_stdin_after_writing_everything() {
    let sys = System::builder().threads(2).build();
    let p = UnixProcess::new("wc").arg("-c").build().spawn(&sys);
    let (sink, got): (Prefab, Collected<Bytes>) = collector::<Bytes>();
    let sink = sink.spawn(&sys);
    chain(&p, &sink);
    let mut feed = Outbox::<Bytes>::detached("feed");
    let mut ctl = Outbox::<Signal>::detached("ctl");
    link(&feed.endpoint(), &p.inbox("inbox").unwrap()).unwrap();
    link(&ctl.endpoint(), &p.inbox("control").unwrap()).unwrap();
    let running = sys.start(); // everything is linked
    for _ in 0..40 {
        feed.send_blocking(Bytes::from(vec![1u8; 10_000])).unwrap();
    }
    ctl.try_send(Signal::ProducerFinished).unwrap(); // `feed` stays open
    assert_eq!(got.wait_ending(LIMIT), Some(Signal::ProducerFinished));
    assert_eq!(String::from_utf8(concat(got.take())).unwrap().trim(), "400000");
    running.shutdown();
}

#[test]
fn stderr_can_be_logged_instead() {
    let (out, report, _) = through(
        UnixProcess::shell("cat; echo to-the-log >&2").stderr(Stderr::Log),
        b"abc".to_vec(),
    );
    assert_eq!(out, b"abc");
    assert!(report.success());
}

#[test]
fn a_consumer_that_goes_away_fails_the_component_and_stops_the_child() {
    let sys = System::builder().threads(2).build();
    let p = UnixProcess::new("cat").arg("/dev/zero").build().spawn(&sys);
    let mut out = Inbox::<Bytes>::detached("out");
    out.set_size(Some(1));
    link(&p.outbox::<Bytes>("outbox").unwrap(), &out.endpoint()).unwrap();
    let mut exit = exit_box(&p);
    let running = sys.start(); // everything is linked
    recv_within(&mut out, "output");
    drop(out);
    let report = recv_within(&mut exit, "exit").unwrap();
    assert!(!is_our_unreaped_child(report.pid));
    match joined(&p) {
        Outcome::Failed(reason) => assert!(reason.to_string().contains("has closed"), "{reason}"),
        other => panic!("{other:?}"),
    }
    running.shutdown();
}

#[test]
fn an_unlinked_error_outbox_does_not_stall_a_chatty_child() {
    // 500 separate writes to stderr, nobody collecting them: the first 64
    // chunks wait in `error`, the rest are logged, and the child runs on.
    let (out, report, _) = through(
        UnixProcess::shell("i=0; while [ $i -lt 500 ]; do echo progress $i >&2; i=$((i+1)); done; cat"),
        b"end".to_vec(),
    );
    assert!(report.success(), "{report}");
    assert_eq!(out, b"end");
}

#[test]
fn it_works_inside_a_pipeline_chassis() {
    let data = random_bytes(300_000, 4);
    let sys = System::builder().threads(2).build();
    let (sink, got) = collector::<Bytes>();
    let p = kamaelia::pipeline![
        ByteReader::from_reader(Cursor::new(data.clone())).build(),
        UnixProcess::new("gzip").arg("-c").build(),
        UnixProcess::new("gunzip").build(),
        sink,
    ]
    .spawn(&sys);
    let running = sys.start(); // everything is linked
    assert_eq!(got.wait_ending(LIMIT), Some(Signal::ProducerFinished));
    assert_eq!(joined(&p), Outcome::Finished);
    assert!(concat(got.take()) == data);
    running.shutdown();
}

#[test]
fn an_error_consumer_that_goes_away_does_not_fail_the_component() {
    let sys = System::builder().threads(2).build();
    let p = UnixProcess::shell("head -c 3000000 /dev/zero >&2; echo fine")
        .build()
        .spawn(&sys);
    let mut errs = Inbox::<Bytes>::detached("errs");
    errs.set_size(Some(1));
    link(&p.outbox::<Bytes>("error").unwrap(), &errs.endpoint()).unwrap();
    let (sink, got) = collector::<Bytes>();
    let sink = sink.spawn(&sys);
    chain(&p, &sink);
    let mut exit = exit_box(&p);
    let running = sys.start(); // everything is linked
    recv_within(&mut errs, "some stderr");
    drop(errs); // stops reading stderr for good
    assert!(recv_within(&mut exit, "exit").unwrap().success());
    assert_eq!(got.wait_ending(LIMIT), Some(Signal::ProducerFinished));
    assert_eq!(concat(got.take()), b"fine\n");
    assert_eq!(joined(&p), Outcome::Finished);
    running.shutdown();
}
