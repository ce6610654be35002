//! Test helpers shared by the chassis tests: a scriptable mock child (the
//! reference tests' `MockChild`) and small transforming stages.
#![allow(dead_code)]

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;

use axon::{Component, Inbox, Outbox, Prefab, Signal};

/// A message a mock sees or sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    /// On `inbox`/`outbox` (u32).
    Data(u32),
    /// On `control`/`signal`.
    Sig(Signal),
}

/// The test's end of a mock child.
pub struct Mock {
    /// Commands: (outbox name, message) to send. Dropping it stops the mock
    /// (the reference's `stopNow()`).
    cmd: Option<Outbox<(&'static str, Msg)>>,
    /// What arrived on the mock's `inbox`/`control`, in order.
    pub seen: Inbox<(&'static str, Msg)>,
    /// Set when the mock's body starts.
    pub activated: Arc<AtomicBool>,
}

impl Mock {
    /// Make the mock send `msg` out of its `outbox` (Data) or `signal` (Sig).
    pub fn send(&mut self, msg: Msg) {
        let b = match msg {
            Msg::Data(_) => "outbox",
            Msg::Sig(_) => "signal",
        };
        self.cmd
            .as_mut()
            .expect("mock already stopped")
            .try_send((b, msg))
            .unwrap();
    }

    /// Stop it: it reports what is left in its inboxes and ends.
    pub fn stop_now(&mut self) {
        self.cmd = None;
    }

    /// Wait for the next thing it saw.
    pub fn next_seen(&mut self) -> (&'static str, Msg) {
        self.seen
            .recv_blocking()
            .expect("mock ended without seeing anything more")
    }

    /// Everything it saw that has not been taken (after it ended: all of it).
    pub fn rest(&mut self) -> Vec<(&'static str, Msg)> {
        std::iter::from_fn(|| self.seen.try_recv().ok()).collect()
    }

    /// Whether its body has started.
    pub fn was_activated(&self) -> bool {
        self.activated.load(Ordering::SeqCst)
    }
}

/// A mock child: `inbox`/`outbox` carry u32, `control`/`signal` carry Signal.
/// It reports what arrives, sends what it is told, and runs until stopped.
pub fn mock(name: &'static str) -> (Prefab, Mock) {
    let cmd_out = Outbox::<(&'static str, Msg)>::detached("cmd");
    let mut cmd = Inbox::<(&'static str, Msg)>::detached("cmd");
    axon::link(&cmd_out.endpoint(), &cmd.endpoint()).unwrap();
    let mut report = Outbox::<(&'static str, Msg)>::detached("report");
    let seen = Inbox::<(&'static str, Msg)>::detached("seen");
    axon::link(&report.endpoint(), &seen.endpoint()).unwrap();
    let activated = Arc::new(AtomicBool::new(false));
    let flag = activated.clone();
    let prefab = Prefab::new(
        Component::new(name).inbox_and_outbox::<u32, u32>(),
        move |mut cx| async move {
            flag.store(true, Ordering::SeqCst);
            let mut inbox = cx.inbox::<u32>("inbox")?;
            let mut control = cx.inbox::<Signal>("control")?;
            let mut out = cx.outbox::<u32>("outbox")?;
            let mut sig = cx.outbox::<Signal>("signal")?;
            enum Ev {
                In(u32),
                Ctl(Signal),
                Cmd(&'static str, Msg),
                Stop,
            }
            loop {
                let ev = poll_fn(|t| {
                    if let Poll::Ready(Ok(x)) = inbox.poll_recv(t) {
                        return Poll::Ready(Ev::In(x));
                    }
                    if let Poll::Ready(Ok(s)) = control.poll_recv(t) {
                        return Poll::Ready(Ev::Ctl(s));
                    }
                    match cmd.poll_recv(t) {
                        Poll::Ready(Ok((b, m))) => Poll::Ready(Ev::Cmd(b, m)),
                        Poll::Ready(Err(_)) => Poll::Ready(Ev::Stop),
                        Poll::Pending => Poll::Pending,
                    }
                })
                .await;
                match ev {
                    Ev::In(x) => report.try_send(("inbox", Msg::Data(x))).unwrap(),
                    Ev::Ctl(s) => report.try_send(("control", Msg::Sig(s))).unwrap(),
                    Ev::Cmd("outbox", Msg::Data(x)) => out.send(x).await?,
                    Ev::Cmd("signal", Msg::Sig(s)) => sig.send(s).await?,
                    Ev::Cmd(b, m) => panic!("mock cannot send {m:?} on {b}"),
                    Ev::Stop => break,
                }
            }
            while let Ok(x) = inbox.try_recv() {
                report.try_send(("inbox", Msg::Data(x))).unwrap();
            }
            while let Ok(s) = control.try_recv() {
                report.try_send(("control", Msg::Sig(s))).unwrap();
            }
            Ok::<_, axon::Error>(())
        },
    );
    (
        prefab,
        Mock {
            cmd: Some(cmd_out),
            seen,
            activated,
        },
    )
}

/// A stage applying `f` to each message until its input closes.
pub fn map<I: Send + 'static, O: Send + Sync + 'static>(
    name: &'static str,
    f: impl Fn(I) -> O + Send + 'static,
) -> Prefab {
    Prefab::new(
        Component::new(name).inbox_and_outbox::<I, O>(),
        move |mut cx| async move {
            let mut inbox = cx.inbox::<I>("inbox")?;
            let mut out = cx.outbox::<O>("outbox")?;
            while let Ok(x) = inbox.recv().await {
                out.send(f(x)).await?;
            }
            Ok::<_, axon::Error>(())
        },
    )
}

/// A producer sending `items` then ending.
pub fn source<T: Send + Sync + 'static>(name: &'static str, items: Vec<T>) -> Prefab {
    Prefab::new(
        Component::new(name).outbox::<T>("outbox"),
        move |mut cx| async move {
            let mut out = cx.outbox::<T>("outbox")?;
            for x in items {
                out.send(x).await?;
            }
            Ok::<_, axon::Error>(())
        },
    )
}

/// A detached outbox linked into `dst`.
pub fn feed<T: Send + 'static>(dst: &axon::BoxRef<T>) -> Outbox<T> {
    let out = Outbox::<T>::detached("test-feed");
    axon::link(&out.endpoint(), dst).unwrap();
    out
}

/// A detached inbox fed by `src`.
pub fn collect<T: Send + 'static>(src: &axon::BoxRef<T>) -> Inbox<T> {
    let inbox = Inbox::<T>::detached("test-collect");
    axon::link(src, &inbox.endpoint()).unwrap();
    inbox
}

/// Everything waiting in `inbox` now.
pub fn drain<T: Send + 'static>(inbox: &mut Inbox<T>) -> Vec<T> {
    std::iter::from_fn(|| inbox.try_recv().ok()).collect()
}
