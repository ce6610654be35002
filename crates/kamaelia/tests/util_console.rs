//! ConsoleReader and ConsoleEchoer, tested through any `BufRead` / `Write`.
//! Kamaelia has no unit tests for `Util/Console.py`; these check the behaviour
//! its documentation describes (tag, `use_repr`, forwarder, shutdown passed on,
//! `eol` appended) and the `PureTransformer` docstring example
//! (ConsoleReader → upper-case → ConsoleEchoer).

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use axon::{Inbox, Outbox, Outcome, Signal, System};
use kamaelia::util::{pure_transformer, ConsoleEchoer, ConsoleReader};

/// A `Write` whose bytes can be read back.
#[derive(Clone, Default)]
struct Screen(Arc<Mutex<Vec<u8>>>);

impl Write for Screen {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Screen {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// A `Write` that always fails, like a closed pipe.
struct Broken;

impl Write for Broken {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(io::ErrorKind::BrokenPipe, "pipe closed"))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn drain<T: Send + 'static>(i: &mut Inbox<T>) -> Vec<T> {
    std::iter::from_fn(|| i.try_recv().ok()).collect()
}

/// Run an echoer over `input`; returns what it forwarded and its signal.
fn echo<T: Send + 'static>(e: ConsoleEchoer<T>, input: Vec<T>) -> (Vec<T>, Vec<Signal>, Outcome) {
    let sys = System::builder().threads(1).build();
    let c = e.build().spawn(&sys);
    let mut feed = Outbox::<T>::detached("feed");
    let mut out = Inbox::<T>::detached("out");
    let mut sig = Inbox::<Signal>::detached("sig");
    axon::link(&feed.endpoint(), &c.inbox("inbox").unwrap()).unwrap();
    axon::link(&c.outbox::<T>("outbox").unwrap(), &out.endpoint()).unwrap();
    axon::link(&c.outbox::<Signal>("signal").unwrap(), &sig.endpoint()).unwrap();
    for x in input {
        feed.try_send(x).unwrap();
    }
    drop(feed);
    sys.run();
    (drain(&mut out), drain(&mut sig), c.outcome().unwrap())
}

#[test]
fn echoer_writes_with_display_and_tag_without_adding_newlines() {
    let screen = Screen::default();
    let (fwd, sig, outcome) = echo(
        ConsoleEchoer::<String>::new().writer(screen.clone()).tag("> "),
        vec!["hello".into(), "world\n".into()],
    );
    assert_eq!(screen.text(), "> hello> world\n");
    assert!(fwd.is_empty(), "not a forwarder: nothing passed on");
    assert_eq!(sig, [Signal::ProducerFinished]);
    assert_eq!(outcome, Outcome::Finished);
}

#[test]
fn echoer_debug_is_use_repr() {
    let screen = Screen::default();
    echo(
        ConsoleEchoer::<&str>::debug().writer(screen.clone()),
        vec!["a\"b"],
    );
    assert_eq!(screen.text(), r#""a\"b""#);
}

#[test]
fn echoer_as_forwarder_passes_messages_on_unchanged() {
    let screen = Screen::default();
    let (fwd, _, _) = echo(
        ConsoleEchoer::with_format(|x: &Vec<u8>| format!("{}\n", x.len()))
            .writer(screen.clone())
            .forwarder(true),
        vec![vec![1, 2], vec![3]],
    );
    assert_eq!(fwd, [vec![1, 2], vec![3]]);
    assert_eq!(screen.text(), "2\n1\n");
}

#[test]
fn echoer_write_error_fails_the_component() {
    let (_, sig, outcome) = echo(ConsoleEchoer::<u8>::new().writer(Broken), vec![1]);
    assert!(
        matches!(outcome, Outcome::Failed(ref m) if m.to_string().contains("pipe closed")),
        "{outcome:?}"
    );
    assert!(matches!(&sig[..], [Signal::Failed(f)] if f.name == "ConsoleEchoer"));
}

/// Run a reader over a pipe, so that it blocks until everything is linked
/// (a threaded component starts running as soon as it is spawned). `ctl` is
/// sent to its control inbox before any input is written.
fn read(
    make: impl FnOnce(ConsoleReader) -> ConsoleReader,
    input: &[u8],
    ctl: Option<Signal>,
) -> (Vec<String>, Vec<Signal>, Outcome) {
    let (rx, mut tx) = io::pipe().unwrap();
    let sys = System::builder().threads(1).build();
    let c = make(ConsoleReader::from_reader(io::BufReader::new(rx)))
        .build()
        .spawn(&sys);
    let mut lines = Inbox::<String>::detached("lines");
    let mut sig = Inbox::<Signal>::detached("sig");
    let mut control = Outbox::<Signal>::detached("control");
    axon::link(&c.outbox::<String>("outbox").unwrap(), &lines.endpoint()).unwrap();
    axon::link(&c.outbox::<Signal>("signal").unwrap(), &sig.endpoint()).unwrap();
    axon::link(&control.endpoint(), &c.inbox("control").unwrap()).unwrap();
    if let Some(s) = ctl {
        control.try_send(s).unwrap();
    }
    tx.write_all(input).unwrap();
    drop(tx);
    sys.run();
    (drain(&mut lines), drain(&mut sig), c.outcome().unwrap())
}

#[test]
fn reader_sends_lines_then_producer_finished_at_end_of_input() {
    let (lines, sig, outcome) = read(|r| r, b"one\ntwo\r\n\nlast", None);
    assert_eq!(lines, ["one", "two", "", "last"]);
    assert_eq!(sig, [Signal::ProducerFinished]);
    assert_eq!(outcome, Outcome::Finished);
}

#[test]
fn reader_appends_eol_and_writes_the_prompt_before_each_read() {
    let prompts = Screen::default();
    let p = prompts.clone();
    let (lines, _, _) = read(|r| r.eol("\n").prompt_to(">>> ", p), b"a\nb\n", None);
    assert_eq!(lines, ["a\n", "b\n"]);
    // Before "a", before "b", and before the read that found the end.
    assert_eq!(prompts.text(), ">>> >>> >>> ");
}

#[test]
fn reader_stops_on_a_control_signal_once_the_pending_line_arrives() {
    // A signal cannot interrupt a blocking read: it is seen before the next
    // read. So after the signal at most the line already being read comes
    // through — never the one after it — and the signal is passed on.
    let (rx, mut tx) = io::pipe().unwrap();
    let sys = System::builder().threads(1).build();
    let c = ConsoleReader::from_reader(io::BufReader::new(rx))
        .build()
        .spawn(&sys);
    let mut lines = Inbox::<String>::detached("lines");
    let mut sig = Inbox::<Signal>::detached("sig");
    let mut control = Outbox::<Signal>::detached("control");
    axon::link(&c.outbox::<String>("outbox").unwrap(), &lines.endpoint()).unwrap();
    axon::link(&c.outbox::<Signal>("signal").unwrap(), &sig.endpoint()).unwrap();
    axon::link(&control.endpoint(), &c.inbox("control").unwrap()).unwrap();
    let running = sys.start();
    tx.write_all(b"first\n").unwrap();
    assert_eq!(lines.recv_blocking().as_deref(), Ok("first"));
    control.send_blocking(Signal::ShutdownMicroprocess).unwrap();
    tx.write_all(b"second\nthird\n").unwrap();
    drop(tx);
    running.wait();
    let rest = drain(&mut lines);
    assert!(rest.is_empty() || rest == ["second"], "{rest:?}");
    assert_eq!(drain(&mut sig), [Signal::ShutdownMicroprocess]);
    assert_eq!(c.outcome(), Some(Outcome::Finished));
}

#[test]
fn reader_fails_on_input_that_is_not_utf8() {
    let (lines, sig, outcome) = read(|r| r, b"ok\n\xff\xfe\n", None);
    assert_eq!(lines, ["ok"]);
    assert!(outcome.is_failure(), "{outcome:?}");
    assert!(matches!(&sig[..], [Signal::Failed(f)] if f.name == "ConsoleReader"));
}

#[test]
fn reader_fails_when_its_destination_has_closed() {
    let (rx, mut tx) = io::pipe().unwrap();
    let sys = System::builder().threads(1).build();
    let c = ConsoleReader::from_reader(io::BufReader::new(rx))
        .build()
        .spawn(&sys);
    let lines = Inbox::<String>::detached("lines");
    axon::link(&c.outbox::<String>("outbox").unwrap(), &lines.endpoint()).unwrap();
    drop(lines);
    tx.write_all(b"x\ny\n").unwrap();
    drop(tx);
    sys.run();
    assert!(
        matches!(c.outcome(), Some(Outcome::Failed(ref m)) if m.to_string().contains("destination has closed")),
        "{:?}",
        c.outcome()
    );
}

#[test]
fn reader_to_transformer_to_echoer() {
    // The PureTransformer docstring example: read lines, upper-case them, echo.
    let screen = Screen::default();
    let sys = System::builder().threads(1).build();
    let reader = ConsoleReader::from_reader(&b"hello\nworld\n"[..])
        .build()
        .spawn(&sys);
    let upper = pure_transformer(|s: String| Some(s.to_uppercase() + "\n")).spawn(&sys);
    let echoer = ConsoleEchoer::<String>::new()
        .writer(screen.clone())
        .build()
        .spawn(&sys);
    for (a, b) in [(&reader, &upper), (&upper, &echoer)] {
        axon::link(&a.outbox::<String>("outbox").unwrap(), &b.inbox("inbox").unwrap()).unwrap();
        axon::link(
            &a.outbox::<Signal>("signal").unwrap(),
            &b.inbox("control").unwrap(),
        )
        .unwrap();
    }
    sys.run();
    assert_eq!(screen.text(), "HELLO\nWORLD\n");
    assert_eq!(echoer.outcome(), Some(Outcome::Finished));
}
