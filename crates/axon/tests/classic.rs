//! The old-style component form ([`axon::Classic`], issue 16 point 7): the
//! reference's `component.main` template runs `initialiseComponent`, then
//! `mainBody` while it answers truthy, then `closeDownComponent`. These check
//! that order, that `Done` ends the component, that `Pause` really sleeps (a
//! component with nothing to do is not called again and shows as paused), that
//! `Continue` lets others run, and how errors, stops and panics end it.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axon::{
    link, Classic, Component, Context, Flow, Inbox, Outbox, Outcome, Prefab, State, System, TryRecvError,
};
use common::{quiet, wait_until};

/// Aborts the test binary if the test holding it runs for over 30 s, so a
/// bug that leaves something waiting fails instead of hanging the run.
struct Watchdog(#[allow(dead_code)] std::sync::mpsc::Sender<()>);

fn watchdog(test: &'static str) -> Watchdog {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        // Dropping the guard disconnects the channel: the test ended.
        if rx.recv_timeout(std::time::Duration::from_secs(30))
            == Err(std::sync::mpsc::RecvTimeoutError::Timeout)
        {
            eprintln!("{test} still running after 30 s: aborting");
            std::process::abort();
        }
    });
    Watchdog(tx)
}

type Log = Arc<Mutex<Vec<String>>>;

fn log_of(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

/// Logs each call; its main body answers the given flows in turn, then `Done`.
struct Scripted {
    log: Log,
    flows: Vec<Result<Flow, &'static str>>,
    fail_init: bool,
}

impl Classic for Scripted {
    fn initialise(&mut self, _cx: &mut Context) -> Result<(), axon::Error> {
        self.log.lock().unwrap().push("init".into());
        if self.fail_init {
            return Err("no resources".into());
        }
        Ok(())
    }

    fn main_body(&mut self, _cx: &mut Context) -> Result<Flow, axon::Error> {
        self.log.lock().unwrap().push("main".into());
        if self.flows.is_empty() {
            return Ok(Flow::Done);
        }
        self.flows.remove(0).map_err(Into::into)
    }

    fn close_down(&mut self, _cx: &mut Context) {
        self.log.lock().unwrap().push("close".into());
    }
}

fn scripted(flows: Vec<Result<Flow, &'static str>>, fail_init: bool) -> (Prefab, Log) {
    let log = Log::default();
    let c = Scripted {
        log: log.clone(),
        flows,
        fail_init,
    };
    (Prefab::classic(Component::new("scripted"), c), log)
}

#[test]
fn initialise_then_main_body_until_done_then_close_down() {
    let _watchdog = watchdog("initialise_then_main_body_until_done_then_close_down");
    let (p, log) = scripted(vec![Ok(Flow::Continue), Ok(Flow::Continue)], false);
    let sys = System::builder().threads(1).build();
    let c = p.spawn(&sys);
    sys.run();
    assert_eq!(c.outcome(), Some(Outcome::Finished));
    assert_eq!(log_of(&log), ["init", "main", "main", "main", "close"]);
}

#[test]
fn done_at_once_ends_after_one_call() {
    let _watchdog = watchdog("done_at_once_ends_after_one_call");
    let (p, log) = scripted(vec![], false);
    let sys = System::builder().threads(1).build();
    let c = p.spawn(&sys);
    sys.run();
    assert_eq!(c.outcome(), Some(Outcome::Finished));
    assert_eq!(log_of(&log), ["init", "main", "close"]);
}

#[test]
fn an_error_from_the_main_body_closes_down_and_fails() {
    let _watchdog = watchdog("an_error_from_the_main_body_closes_down_and_fails");
    let (p, log) = scripted(vec![Ok(Flow::Continue), Err("disk on fire")], false);
    let sys = System::builder().threads(1).build();
    let c = p.spawn(&sys);
    sys.run();
    assert_eq!(c.outcome(), Some(Outcome::Failed("disk on fire".into())));
    assert_eq!(log_of(&log), ["init", "main", "main", "close"]);
}

#[test]
fn an_error_from_initialise_fails_without_running_the_rest() {
    let _watchdog = watchdog("an_error_from_initialise_fails_without_running_the_rest");
    let (p, log) = scripted(vec![Ok(Flow::Continue)], true);
    let sys = System::builder().threads(1).build();
    let c = p.spawn(&sys);
    sys.run();
    assert_eq!(c.outcome(), Some(Outcome::Failed("no resources".into())));
    assert_eq!(log_of(&log), ["init"]);
}

/// Counts main-body calls; pauses while its inbox is empty, ends when it closes.
struct Waiter {
    calls: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<u32>>>,
    closed: Arc<AtomicBool>,
    inbox: Option<Inbox<u32>>,
}

impl Classic for Waiter {
    fn initialise(&mut self, cx: &mut Context) -> Result<(), axon::Error> {
        self.inbox = Some(cx.inbox("inbox")?);
        Ok(())
    }

    fn main_body(&mut self, _cx: &mut Context) -> Result<Flow, axon::Error> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match self.inbox.as_mut().expect("initialised").try_recv() {
            Ok(x) => {
                self.seen.lock().unwrap().push(x);
                Ok(Flow::Continue)
            }
            Err(TryRecvError::Empty) => Ok(Flow::Pause),
            Err(TryRecvError::Closed) => Ok(Flow::Done),
        }
    }

    fn close_down(&mut self, _cx: &mut Context) {
        self.closed.store(true, Ordering::SeqCst);
    }
}

struct WaiterRig {
    c: axon::ComponentRef,
    calls: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<u32>>>,
    closed: Arc<AtomicBool>,
}

fn waiter(sys: &System) -> WaiterRig {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let closed = Arc::new(AtomicBool::new(false));
    let w = Waiter {
        calls: calls.clone(),
        seen: seen.clone(),
        closed: closed.clone(),
        inbox: None,
    };
    let c = Prefab::classic(Component::new("waiter").inbox::<u32>("inbox"), w).spawn(sys);
    WaiterRig {
        c,
        calls,
        seen,
        closed,
    }
}

/// The reference's `self.pause(); return 1`: with nothing to do the
/// component sleeps — it is not called again until something arrives.
#[test]
fn pause_sleeps_until_something_arrives() {
    let _watchdog = watchdog("pause_sleeps_until_something_arrives");
    let sys = System::builder().threads(1).build();
    let w = waiter(&sys);
    let mut feed = Outbox::<u32>::detached("feed");
    link(&feed.endpoint(), &w.c.inbox::<u32>("inbox").unwrap()).unwrap();
    let running = sys.start();
    wait_until("the waiter is asleep", || {
        w.calls.load(Ordering::SeqCst) >= 1 && w.c.state() == State::Paused
    });
    let calls = w.calls.load(Ordering::SeqCst);
    quiet();
    assert_eq!(
        w.calls.load(Ordering::SeqCst),
        calls,
        "a paused component was called again"
    );
    assert_eq!(w.c.state(), State::Paused);

    feed.try_send(7).unwrap();
    wait_until("the waiter saw 7", || *w.seen.lock().unwrap() == [7]);
    wait_until("the waiter is asleep again", || w.c.state() == State::Paused);
    drop(feed);
    assert_eq!(w.c.join(), Ok(Outcome::Finished));
    assert!(w.closed.load(Ordering::SeqCst));
    running.wait();
}

/// A stop from outside ends it at its pause, and it still closes down.
#[test]
fn a_stop_closes_down() {
    let _watchdog = watchdog("a_stop_closes_down");
    let sys = System::builder().threads(1).build();
    let w = waiter(&sys);
    let feed = Outbox::<u32>::detached("feed");
    link(&feed.endpoint(), &w.c.inbox::<u32>("inbox").unwrap()).unwrap();
    let running = sys.start();
    wait_until("the waiter is asleep", || w.c.state() == State::Paused);
    w.c.stop();
    assert_eq!(w.c.join(), Ok(Outcome::Stopped));
    assert!(w.closed.load(Ordering::SeqCst), "close_down did not run");
    drop(feed);
    running.wait();
}

/// Answers `Continue` until another component has run.
struct Spinner {
    flag: Arc<AtomicBool>,
}

impl Classic for Spinner {
    fn main_body(&mut self, _cx: &mut Context) -> Result<Flow, axon::Error> {
        Ok(if self.flag.load(Ordering::SeqCst) {
            Flow::Done
        } else {
            Flow::Continue
        })
    }
}

/// `Continue` gives the scheduler a turn: on one worker, a component that
/// always has work does not starve the others.
#[test]
fn continue_lets_others_run() {
    let _watchdog = watchdog("continue_lets_others_run");
    let sys = System::builder().threads(1).build();
    let flag = Arc::new(AtomicBool::new(false));
    let spinner = Prefab::classic(Component::new("spinner"), Spinner { flag: flag.clone() }).spawn(&sys);
    let setter = sys.spawn(Component::new("setter"), move |_cx| async move {
        flag.store(true, Ordering::SeqCst);
    });
    let running = sys.start();
    wait_until("the spinner ended", || spinner.is_finished());
    assert_eq!(spinner.outcome(), Some(Outcome::Finished));
    assert_eq!(setter.join(), Ok(Outcome::Finished));
    running.wait();
}

/// Panics in the main body are contained like any component's; close-down
/// does not run while unwinding.
struct Panicky {
    closed: Arc<AtomicBool>,
}

impl Classic for Panicky {
    fn main_body(&mut self, _cx: &mut Context) -> Result<Flow, axon::Error> {
        panic!("bug in the port")
    }
    fn close_down(&mut self, _cx: &mut Context) {
        self.closed.store(true, Ordering::SeqCst);
    }
}

#[test]
fn a_panic_in_the_main_body_is_contained() {
    let _watchdog = watchdog("a_panic_in_the_main_body_is_contained");
    let sys = System::builder().threads(1).build();
    let closed = Arc::new(AtomicBool::new(false));
    let c = Prefab::classic(
        Component::new("panicky"),
        Panicky {
            closed: closed.clone(),
        },
    )
    .spawn(&sys);
    sys.run();
    assert!(matches!(c.outcome(), Some(Outcome::Panicked(m)) if m.contains("bug in the port")));
    assert!(!closed.load(Ordering::SeqCst));
}
