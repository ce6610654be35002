//! Controlling one component from outside (issue 16, point 4):
//! `ComponentRef::shutdown()` sends `ShutdownMicroprocess` to its `control`
//! inbox, `ComponentRef::stop()` ends it at its next await point (its body
//! dropped: its close-down runs; its parent told), and `state()` says whether
//! it is running, paused or finished, as `System::snapshot` does.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axon::{Component, ControlError, Outcome, Signal, State, System};
use common::{wait_gone, wait_until};

/// Sets its flag when dropped: a body's close-down.
struct CloseDown(Arc<AtomicBool>);

impl Drop for CloseDown {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A component that waits on its inbox forever, with a close-down guard.
fn sleeper(sys: &System, name: &'static str, closed: &Arc<AtomicBool>) -> axon::ComponentRef {
    let closed = closed.clone();
    sys.spawn(
        Component::new(name).inbox::<u8>("inbox"),
        move |mut cx| async move {
            let _guard = CloseDown(closed);
            let mut inbox = cx.inbox::<u8>("inbox")?;
            let _keep = axon::Outbox::<u8>::detached("keeps it open");
            let _l = cx.link(&_keep.endpoint(), &cx.me().inbox::<u8>("inbox")?)?;
            while inbox.recv().await.is_ok() {}
            Ok::<_, axon::Error>(())
        },
    )
}

#[test]
fn stop_ends_exactly_that_component_runs_its_close_down_and_tells_its_parent() {
    let sys = System::builder().threads(1).build();
    let (a_closed, b_closed) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let b = sleeper(&sys, "b", &b_closed);
    let (tx, rx) = std::sync::mpsc::channel();
    let a_flag = a_closed.clone();
    let parent = sys.spawn(Component::new("parent"), move |cx| async move {
        let flag = a_flag;
        let a = cx.spawn_child(
            Component::new("a").inbox::<u8>("inbox"),
            move |mut cx| async move {
                let _guard = CloseDown(flag);
                let mut inbox = cx.inbox::<u8>("inbox")?;
                let keep = axon::Outbox::<u8>::detached("keeps it open");
                cx.link(&keep.endpoint(), &cx.me().inbox::<u8>("inbox")?)?;
                while inbox.recv().await.is_ok() {}
                drop(keep);
                Ok::<_, axon::Error>(())
            },
        );
        tx.send(a).unwrap();
        let exit = cx.child_exit().await.expect("a ends");
        assert_eq!(exit.outcome, Outcome::Stopped);
        Ok::<_, axon::Error>(())
    });
    let running = sys.start();
    let a = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    wait_until("a is paused", || a.state() == State::Paused);
    a.stop();
    assert_eq!(wait_gone(&sys, &a), Outcome::Stopped);
    assert_eq!(a.state(), State::Finished);
    assert!(a_closed.load(Ordering::SeqCst), "a's close-down ran");
    assert_eq!(parent.join(), Ok(Outcome::Finished), "the parent heard");
    // b is untouched.
    assert!(!b.is_finished());
    assert!(!b_closed.load(Ordering::SeqCst));
    b.stop();
    assert_eq!(b.join(), Ok(Outcome::Stopped));
    running.wait();
}

#[test]
fn shutdown_sends_shutdown_microprocess_to_control_only_to_that_component() {
    let sys = System::builder().threads(1).build();
    let body = |mut cx: axon::Context| async move {
        let mut control = cx.inbox::<Signal>("control")?;
        match control.recv().await? {
            Signal::ShutdownMicroprocess => Ok::<_, axon::Error>(()),
            other => Err(format!("unexpected {other:?}").into()),
        }
    };
    let keep = axon::Outbox::<Signal>::detached("keeps them open");
    let x = sys.spawn(Component::new("x"), body);
    let y = sys.spawn(Component::new("y"), body);
    axon::link(&keep.endpoint(), &x.inbox::<Signal>("control").unwrap()).unwrap();
    let keep_y = axon::Outbox::<Signal>::detached("keeps y open");
    axon::link(&keep_y.endpoint(), &y.inbox::<Signal>("control").unwrap()).unwrap();
    let running = sys.start();
    x.shutdown().unwrap();
    assert_eq!(wait_gone(&sys, &x), Outcome::Finished);
    common::quiet();
    assert!(!y.is_finished(), "only x was told");
    assert!(matches!(x.shutdown(), Err(ControlError::Finished { .. })));
    // No control box: a typed error that says what to do instead.
    let bare = sys.spawn(Component::bare("bare").inbox::<u8>("inbox"), |_cx| {
        std::future::pending::<()>()
    });
    let err = bare.shutdown().unwrap_err();
    assert!(matches!(err, ControlError::NoControlBox { .. }), "{err}");
    assert!(err.to_string().contains("stop()"), "{err}");
    bare.stop();
    y.shutdown().unwrap();
    assert_eq!(y.join(), Ok(Outcome::Finished));
    assert_eq!(bare.join(), Ok(Outcome::Stopped));
    running.wait();
}

#[test]
fn state_is_running_paused_or_finished_and_shows_in_the_snapshot() {
    let sys = System::builder().threads(1).build();
    let c = sys.spawn(Component::new("c").inbox::<u8>("inbox"), |mut cx| async move {
        assert_eq!(cx.me().state(), State::Running, "it runs while it asks");
        let mut inbox = cx.inbox::<u8>("inbox")?;
        inbox.recv().await?;
        Ok::<_, axon::Error>(())
    });
    let mut feed = axon::Outbox::<u8>::detached("feed");
    axon::link(&feed.endpoint(), &c.inbox::<u8>("inbox").unwrap()).unwrap();
    let running = sys.start();
    wait_until("c is paused", || c.state() == State::Paused);
    let snap = sys.snapshot();
    assert_eq!(snap.component(c.id()).expect("listed").state, State::Paused);
    feed.try_send(1).unwrap();
    assert_eq!(c.join(), Ok(Outcome::Finished));
    assert_eq!(c.state(), State::Finished);
    running.wait();
}

#[test]
fn stop_wakes_a_threaded_component_in_pause_blocking() {
    let sys = System::builder().threads(1).build();
    let t = sys.spawn_threaded(Component::new("t"), |cx| {
        while !cx.stop_requested() {
            cx.pause_blocking(Some(Duration::from_secs(30)));
        }
    });
    let running = sys.start();
    common::quiet();
    assert_eq!(t.state(), State::Running);
    t.stop();
    assert_eq!(t.join(), Ok(Outcome::Finished), "it returned on its own");
    running.wait();
}
