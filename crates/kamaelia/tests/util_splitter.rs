//! Splitter and fanout: one-to-many by component. Ports of Kamaelia's
//! `Test/Util/test_Splitter.py` (`Splitter_Test` and `PlugSplitter_Tests`), with
//! the fan-out of `Util/Fanout.py`.
//!
//! The system runs in the background; where a test needs one step to happen
//! before the next it waits for its visible effect (a message arriving), with a
//! generous deadline as a guard against hanging — never as a measurement.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axon::{BoxError, Component, ComponentRef, Inbox, Outbox, Outcome, RunningSystem, Signal, System};
use kamaelia::util::{collector, fanout, Collected, Splitter, SplitterCommand, SplitterError};

const PATIENCE: Duration = Duration::from_secs(20);

fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !cond() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

type Log = Arc<Mutex<Vec<String>>>;

/// test_Splitter.py `TestComponent`: a component with an extra inbox "test".
/// Records what arrives where; ends on any signal at `control`.
fn recorder(sys: &System) -> (ComponentRef, Log) {
    let log: Log = Arc::default();
    let mine = log.clone();
    let c = sys.spawn(
        Component::new("recorder")
            .inbox_and_outbox::<u32, u32>()
            .inbox::<u32>("test"),
        move |mut cx| async move {
            let mut inbox = cx.inbox::<u32>("inbox")?;
            let mut test = cx.inbox::<u32>("test")?;
            let mut control = cx.inbox::<Signal>("control")?;
            loop {
                while let Ok(x) = inbox.try_recv() {
                    mine.lock().unwrap().push(format!("inbox:{x}"));
                }
                while let Ok(x) = test.try_recv() {
                    mine.lock().unwrap().push(format!("test:{x}"));
                }
                if let Ok(s) = control.try_recv() {
                    mine.lock().unwrap().push(format!("control:{s:?}"));
                    return Ok::<_, axon::Error>(());
                }
                cx.pause().await;
            }
        },
    );
    (c, log)
}

struct Setup {
    sys: System,
    running: RunningSystem,
    split: ComponentRef,
    feed: Outbox<u32>,
    config: Outbox<SplitterCommand>,
    ctl: Outbox<Signal>,
    errors: Inbox<SplitterError>,
}

/// PlugSplitter behaviour: its own outbox gets a copy too.
fn setup() -> Setup {
    setup_with(true)
}

fn setup_with(copy_to_outbox: bool) -> Setup {
    let sys = System::builder().threads(1).build();
    let running = sys.start();
    let split = Splitter::<u32>::new()
        .copy_to_outbox(copy_to_outbox)
        .build()
        .spawn(&sys);
    let feed = Outbox::<u32>::detached("src");
    let config = Outbox::<SplitterCommand>::detached("controller");
    let ctl = Outbox::<Signal>::detached("ctl");
    let errors = Inbox::<SplitterError>::detached("errors");
    axon::link(&feed.endpoint(), &split.inbox("inbox").unwrap()).unwrap();
    axon::link(&config.endpoint(), &split.inbox("configuration").unwrap()).unwrap();
    axon::link(&ctl.endpoint(), &split.inbox("control").unwrap()).unwrap();
    axon::link(
        &split.outbox::<SplitterError>("error").unwrap(),
        &errors.endpoint(),
    )
    .unwrap();
    Setup {
        sys,
        running,
        split,
        feed,
        config,
        ctl,
        errors,
    }
}

impl Setup {
    fn cmd(&mut self, c: SplitterCommand) {
        self.config.send_blocking(c).unwrap();
    }

    fn send(&mut self, x: u32) {
        self.feed.send_blocking(x).unwrap();
    }

    fn sink(&self) -> (ComponentRef, Collected<u32>) {
        let (p, got) = collector::<u32>();
        (p.spawn(&self.sys), got)
    }

    /// End the splitter (its inbox closes) and wait until it has finished:
    /// after that every copy it made has been delivered.
    fn finish_splitter(self) -> (RunningSystem, Inbox<SplitterError>, ComponentRef) {
        drop(self.feed);
        let _ = axon::block_on(self.split.finished());
        drop(self.config);
        drop(self.ctl);
        (self.running, self.errors, self.split)
    }
}

/// Tell a recorder to stop and wait until it has: everything delivered to it
/// before this call is in its log by then (it reads its data boxes before
/// looking at `control`).
fn stop_recorder(c: &ComponentRef) {
    let mut stop = Outbox::<Signal>::detached("stop");
    axon::link(&stop.endpoint(), &c.inbox("control").unwrap()).unwrap();
    stop.send_blocking(Signal::ProducerFinished).unwrap();
    let _ = axon::block_on(c.finished());
}

fn log_of(l: &Log) -> Vec<String> {
    l.lock().unwrap().clone()
}

#[test]
fn simple_passthrough_default_box() {
    // test_Splitter.py Splitter_Test.test_simplepassthrough_defaultbox
    let mut s = setup();
    let (d, got) = s.sink();
    s.cmd(SplitterCommand::add(&d));
    for i in 1..=6 {
        s.send(i);
    }
    let (running, mut errors, split) = s.finish_splitter();
    running.wait();
    assert_eq!(got.take(), [1, 2, 3, 4, 5, 6]);
    assert!(errors.try_recv().is_err());
    assert_eq!(split.outcome(), Some(Outcome::Finished));
}

#[test]
fn simple_passthrough_to_a_named_box() {
    // test_Splitter.py Splitter_Test.test_simplepassthrough: addsink(D2, "test")
    let mut s = setup();
    let (d2, log) = recorder(&s.sys);
    s.cmd(SplitterCommand::AddSink {
        component: d2.clone(),
        inbox: Some("test".into()),
        control: None,
    });
    for i in 1..=6 {
        s.send(i);
    }
    let (running, _, _) = s.finish_splitter();
    stop_recorder(&d2);
    assert_eq!(
        log_of(&log),
        [
            "test:1",
            "test:2",
            "test:3",
            "test:4",
            "test:5",
            "test:6",
            "control:ProducerFinished"
        ]
    );
    running.shutdown();
}

#[test]
fn add_many_sinks() {
    // test_Splitter.py Splitter_Test.test_addOutboxes
    let mut s = setup();
    let sinks: Vec<_> = (0..10).map(|_| s.sink()).collect();
    for (c, _) in &sinks {
        s.cmd(SplitterCommand::add(c));
    }
    for i in 0..20 {
        s.send(i);
    }
    let (running, _, _) = s.finish_splitter();
    running.wait();
    for (_, got) in &sinks {
        assert_eq!(got.take(), (0..20).collect::<Vec<_>>());
    }
}

#[test]
fn remove_sinks() {
    // test_Splitter.py Splitter_Test.test_removeOutboxes_default: add ten, remove
    // the odd ones, then only the even ones get data.
    let mut s = setup();
    let sinks: Vec<_> = (0..10).map(|_| s.sink()).collect();
    for (c, _) in &sinks {
        s.cmd(SplitterCommand::add(c));
    }
    for (c, _) in sinks.iter().skip(1).step_by(2) {
        s.cmd(SplitterCommand::remove(c));
    }
    for i in 0..20 {
        s.send(i);
    }
    let (running, mut errors, _) = s.finish_splitter();
    running.wait();
    for (j, (_, got)) in sinks.iter().enumerate() {
        if j % 2 == 0 {
            assert_eq!(got.take(), (0..20).collect::<Vec<_>>(), "sink {j}");
        } else {
            assert_eq!(got.take(), Vec::<u32>::new(), "sink {j}");
            // The splitter was its only sender: once removed, its inbox closed.
            assert_eq!(got.ending(), Some(Signal::ProducerFinished));
        }
    }
    assert!(errors.try_recv().is_err());
}

#[test]
fn multiple_boxes_of_one_component_added_and_removed_independently() {
    // test_Splitter.py Splitter_Test.test_multipleboxessinglecomponent. The
    // original also adds the sink's "control" box as a data sink; here control
    // carries Signal, so that is refused with a typed error instead.
    let mut s = setup();
    let (d2, log) = recorder(&s.sys);
    let add = |b: &str| SplitterCommand::AddSink {
        component: d2.clone(),
        inbox: Some(b.into()),
        control: None,
    };
    let remove = |b: &str| SplitterCommand::RemoveSink {
        component: d2.clone(),
        inbox: Some(b.into()),
        control: None,
    };
    let seen = |n: usize| {
        let log = log.clone();
        move || log.lock().unwrap().len() >= n
    };
    s.cmd(add("test"));
    s.send(1);
    wait_until("test:1", seen(1));
    s.cmd(add("inbox"));
    s.send(2);
    wait_until("2 at both", seen(3));
    s.cmd(add("control"));
    let refused = s.errors.recv_blocking().unwrap();
    assert!(
        matches!(refused, SplitterError::Box(BoxError::WrongType { ref name, .. }) if name == "control"),
        "{refused:?}"
    );
    s.send(3);
    wait_until("3 at both", seen(5));
    s.cmd(remove("inbox"));
    s.send(4);
    wait_until("test:4", seen(6));
    s.cmd(remove("test"));
    s.send(5);
    let (running, _, _) = s.finish_splitter();
    stop_recorder(&d2);
    let log = log_of(&log);
    let at = |b: &str| -> Vec<String> { log.iter().filter(|e| e.starts_with(b)).cloned().collect() };
    assert_eq!(at("test:"), ["test:1", "test:2", "test:3", "test:4"]);
    assert_eq!(at("inbox:"), ["inbox:2", "inbox:3"]);
    assert_eq!(log.len(), 7, "{log:?}");
    assert_eq!(log[6], "control:ProducerFinished");
    running.shutdown();
}

#[test]
fn data_also_goes_to_its_own_outbox() {
    // test_Splitter.py PlugSplitter_Tests.test_PassThroughInboxOutbox
    let mut s = setup();
    let (own, got_own) = s.sink();
    axon::link(
        &s.split.outbox::<u32>("outbox").unwrap(),
        &own.inbox("inbox").unwrap(),
    )
    .unwrap();
    axon::link(
        &s.split.outbox::<Signal>("signal").unwrap(),
        &own.inbox("control").unwrap(),
    )
    .unwrap();
    let (d, got_d) = s.sink();
    s.cmd(SplitterCommand::add(&d));
    for i in 1..10 {
        s.send(i);
    }
    let (running, _, _) = s.finish_splitter();
    running.wait();
    assert_eq!(got_own.take(), (1..10).collect::<Vec<_>>());
    assert_eq!(got_d.take(), (1..10).collect::<Vec<_>>());
    assert_eq!(got_own.ending(), Some(Signal::ProducerFinished));
}

/// Shared body of the AddLink tests: target1 on the splitter's own boxes,
/// target2 added with `cmd`; then data, then a shutdown at the splitter.
fn add_link_case(
    sink_gets_data: bool,
    cmd: impl FnOnce(&ComponentRef) -> SplitterCommand,
) -> (Vec<u32>, Option<Signal>, Vec<u32>, Option<Signal>) {
    let mut s = setup();
    let (t1, got1) = s.sink();
    axon::link(
        &s.split.outbox::<u32>("outbox").unwrap(),
        &t1.inbox("inbox").unwrap(),
    )
    .unwrap();
    axon::link(
        &s.split.outbox::<Signal>("signal").unwrap(),
        &t1.inbox("control").unwrap(),
    )
    .unwrap();
    let (t2, got2) = s.sink();
    s.cmd(cmd(&t2));
    for i in 1..10 {
        s.send(i);
    }
    assert!(got1.wait_for(9, PATIENCE));
    if sink_gets_data {
        // The splitter copies to its own outbox first, then to the sinks: wait
        // for the sink too, or the shutdown may (rightly) cut its copy short.
        assert!(got2.wait_for(9, PATIENCE));
    }
    s.ctl.send_blocking(Signal::ShutdownMicroprocess).unwrap();
    let (running, _, _) = s.finish_splitter();
    running.wait();
    (got1.take(), got1.ending(), got2.take(), got2.ending())
}

#[test]
fn add_sink_with_data_and_control() {
    // test_Splitter.py PlugSplitter_Tests.test_SplitterAddLinkBoth
    let (d1, e1, d2, e2) = add_link_case(true, SplitterCommand::add_with_control);
    assert_eq!(d1, (1..10).collect::<Vec<_>>());
    assert_eq!(d2, (1..10).collect::<Vec<_>>());
    assert_eq!(e1, Some(Signal::ShutdownMicroprocess));
    assert_eq!(e2, Some(Signal::ShutdownMicroprocess));
}

#[test]
fn add_sink_with_data_only() {
    // test_Splitter.py PlugSplitter_Tests.test_SplitterAddLinkOutboxOnly: the
    // extra sink gets the data but not the signal (it ends only because its
    // inbox closes when the splitter ends).
    let (d1, e1, d2, e2) = add_link_case(true, SplitterCommand::add);
    assert_eq!(d1, (1..10).collect::<Vec<_>>());
    assert_eq!(d2, (1..10).collect::<Vec<_>>());
    assert_eq!(e1, Some(Signal::ShutdownMicroprocess));
    assert_eq!(e2, Some(Signal::ProducerFinished));
}

#[test]
fn add_sink_with_control_only() {
    // test_Splitter.py PlugSplitter_Tests.test_SplitterAddLinkSignalOnly
    let (d1, _, d2, e2) = add_link_case(false, |c| SplitterCommand::AddSink {
        component: c.clone(),
        inbox: None,
        control: Some("control".into()),
    });
    assert_eq!(d1, (1..10).collect::<Vec<_>>());
    assert_eq!(d2, Vec::<u32>::new());
    assert_eq!(e2, Some(Signal::ShutdownMicroprocess));
}

#[test]
fn remove_sink_with_data_and_control() {
    // test_Splitter.py PlugSplitter_Tests.test_SplitterDelLinkBoth: removed
    // half way, the sink gets the first half and not the splitter's signal.
    let mut s = setup();
    let (t2, got2) = s.sink();
    s.cmd(SplitterCommand::add_with_control(&t2));
    for i in 1..5 {
        s.send(i);
    }
    assert!(got2.wait_for(4, PATIENCE));
    s.cmd(SplitterCommand::remove_with_control(&t2));
    for i in 5..10 {
        s.send(i);
    }
    s.ctl.send_blocking(Signal::ShutdownMicroprocess).unwrap();
    let (running, mut errors, _) = s.finish_splitter();
    running.wait();
    assert_eq!(got2.take(), [1, 2, 3, 4]);
    assert_eq!(got2.ending(), Some(Signal::ProducerFinished));
    assert!(errors.try_recv().is_err());
}

#[test]
fn bad_commands_are_typed_errors() {
    let mut s = setup();
    let (d, _got) = s.sink();
    s.cmd(SplitterCommand::remove(&d));
    assert!(matches!(
        s.errors.recv_blocking().unwrap(),
        SplitterError::NotASink { ref inbox, .. } if inbox == "inbox"
    ));
    s.cmd(SplitterCommand::add(&d));
    s.cmd(SplitterCommand::add(&d));
    assert!(matches!(
        s.errors.recv_blocking().unwrap(),
        SplitterError::AlreadyASink { .. }
    ));
    s.cmd(SplitterCommand::AddSink {
        component: d.clone(),
        inbox: Some("nonesuch".into()),
        control: None,
    });
    let e = s.errors.recv_blocking().unwrap();
    assert!(
        matches!(e, SplitterError::Box(BoxError::NotFound { .. })),
        "{e:?}"
    );
    assert!(e.to_string().contains("nonesuch"), "{e}");
    let (running, _, split) = s.finish_splitter();
    running.wait();
    assert_eq!(split.outcome(), Some(Outcome::Finished));
}

#[test]
fn a_sink_that_ends_is_dropped_and_the_rest_carry_on() {
    let mut s = setup();
    let (a, got_a) = s.sink();
    let (c, got_c) = s.sink();
    s.cmd(SplitterCommand::add(&a));
    s.cmd(SplitterCommand::add(&c));
    s.send(1);
    assert!(got_c.wait_for(1, PATIENCE));
    let mut stop_c = Outbox::<Signal>::detached("stop_c");
    axon::link(&stop_c.endpoint(), &c.inbox("control").unwrap()).unwrap();
    stop_c.send_blocking(Signal::ShutdownMicroprocess).unwrap();
    assert_eq!(got_c.wait_ending(PATIENCE), Some(Signal::ShutdownMicroprocess));
    s.send(2);
    s.send(3);
    let (running, mut errors, split) = s.finish_splitter();
    running.wait();
    assert_eq!(got_a.take(), [1, 2, 3]);
    assert_eq!(got_c.take(), [1]);
    assert_eq!(split.outcome(), Some(Outcome::Finished));
    assert!(errors.try_recv().is_err());
}

#[test]
fn fanout_copies_to_each_named_outbox() {
    // Util/Fanout.py: data sent to "inbox" is copied to every named outbox;
    // nothing goes to "outbox"; a shutdown message is passed on.
    let sys = System::builder().threads(1).build();
    let f = fanout::<String>(["toConsole", "toFile"]).spawn(&sys);
    let mut console = Inbox::<String>::detached("console");
    let mut file = Inbox::<String>::detached("file");
    let mut outbox = Inbox::<String>::detached("outbox");
    let mut sig = Inbox::<Signal>::detached("sig");
    axon::link(&f.outbox::<String>("toConsole").unwrap(), &console.endpoint()).unwrap();
    axon::link(&f.outbox::<String>("toFile").unwrap(), &file.endpoint()).unwrap();
    axon::link(&f.outbox::<String>("outbox").unwrap(), &outbox.endpoint()).unwrap();
    axon::link(&f.outbox::<Signal>("signal").unwrap(), &sig.endpoint()).unwrap();
    let mut feed = Outbox::<String>::detached("feed");
    let mut ctl = Outbox::<Signal>::detached("ctl");
    axon::link(&feed.endpoint(), &f.inbox("inbox").unwrap()).unwrap();
    axon::link(&ctl.endpoint(), &f.inbox("control").unwrap()).unwrap();
    for w in ["a", "b", "c"] {
        feed.try_send(w.to_string()).unwrap();
    }
    ctl.try_send(Signal::ProducerFinished).unwrap();
    sys.run();
    let all = |i: &mut Inbox<String>| std::iter::from_fn(|| i.try_recv().ok()).collect::<Vec<_>>();
    assert_eq!(all(&mut console), ["a", "b", "c"]);
    assert_eq!(all(&mut file), ["a", "b", "c"]);
    assert_eq!(all(&mut outbox), Vec::<String>::new());
    assert_eq!(sig.try_recv(), Ok(Signal::ProducerFinished));
    drop(feed);
}

#[test]
fn fanout_reserves_signal() {
    let f = fanout::<u8>(["signal", "a"]);
    let boxes = f.spec().declared();
    let signal_types: Vec<_> = boxes
        .iter()
        .filter(|(n, _, _)| n == "signal")
        .map(|b| b.2)
        .collect();
    assert_eq!(signal_types, [std::any::type_name::<Signal>()]);
    assert!(boxes.iter().any(|(n, _, _)| n == "a"));
}

#[test]
fn by_default_nothing_is_kept_in_an_unlinked_own_outbox() {
    let mut s = setup_with(false);
    let (d, got) = s.sink();
    s.cmd(SplitterCommand::add(&d));
    for i in 0..100 {
        s.send(i);
    }
    assert!(got.wait_for(100, PATIENCE));
    let snap = s.sys.snapshot();
    let own = snap
        .components
        .iter()
        .find(|c| c.id == s.split.id())
        .and_then(|c| {
            c.boxes
                .iter()
                .find(|b| b.name == "outbox" && b.direction == axon::Direction::Out)
        })
        .expect("the splitter's outbox");
    assert_eq!(own.len, 0, "nothing held in the unlinked outbox");
    let (running, _, _) = s.finish_splitter();
    running.wait();
}
