//! Handle: driving components from plain threads and from tokio.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use axon::{
    Component, Handle, HandleError, Outcome, Prefab, RecvError, RecvTimeoutError, RunningSystem, SendError,
    Signal, System, TryRecvError,
};

fn running(threads: usize) -> RunningSystem {
    System::builder().threads(threads).build().start()
}

/// Doubles what arrives on `inbox`; ends when its input closes.
fn doubler() -> Prefab {
    Prefab::new(
        Component::new("doubler").inbox_and_outbox::<u32, u32>(),
        |mut cx| async move {
            let mut inbox = cx.inbox::<u32>("inbox")?;
            let mut out = cx.outbox::<u32>("outbox")?;
            while let Ok(x) = inbox.recv().await {
                out.send(x * 2).await?;
            }
            Ok::<_, axon::Error>(())
        },
    )
}

/// Echoes `inbox` to `outbox` until a signal arrives on `control`, which it
/// passes on out of `signal` before ending (the Kamaelia convention).
fn echo_until_told() -> Prefab {
    Prefab::new(
        Component::new("echo").inbox_and_outbox::<String, String>(),
        |mut cx| async move {
            let mut inbox = cx.inbox::<String>("inbox")?;
            let mut control = cx.inbox::<Signal>("control")?;
            let mut out = cx.outbox::<String>("outbox")?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            loop {
                if let Ok(s) = control.try_recv() {
                    signal.send(s).await?;
                    return Ok::<_, axon::Error>(());
                }
                while let Ok(m) = inbox.try_recv() {
                    out.send(m).await?;
                }
                cx.pause().await;
            }
        },
    )
}

/// Run `f` on its own thread; fail (instead of hanging) if it takes too long.
fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .expect("did not finish in time (blocked?)")
}

#[test]
fn blocking_round_trip_and_end_of_input() {
    let sys = running(1);
    let mut h: Handle<u32> = Handle::spawn(sys.system(), doubler()).unwrap();
    for i in 0..100 {
        h.send_blocking(i).unwrap();
    }
    for i in 0..100 {
        assert_eq!(h.recv_blocking(), Ok(i * 2));
    }
    assert!(!h.is_finished());
    h.close();
    assert_eq!(
        h.recv_blocking(),
        Err(RecvError::Closed),
        "the handle sees the end"
    );
    assert_eq!(h.join(), Ok(Outcome::Finished));
    assert!(h.is_finished());
    assert_eq!(
        h.send_blocking(1),
        Err(SendError::new(1)),
        "closed input hands the message back"
    );
    sys.wait();
}

#[test]
fn dropping_the_handle_ends_the_input() {
    let sys = running(1);
    let h: Handle<u32> = Handle::spawn(sys.system(), doubler()).unwrap();
    let comp = h.component().clone();
    drop(h);
    assert_eq!(comp.join(), Ok(Outcome::Finished));
    sys.wait();
}

#[test]
fn try_recv_and_timeouts() {
    let sys = running(1);
    let mut h: Handle<u32> = Handle::spawn(sys.system(), doubler()).unwrap();
    assert_eq!(h.try_recv(), Err(TryRecvError::Empty));
    let t = Instant::now();
    assert_eq!(
        h.recv_timeout(Duration::from_millis(30)),
        Err(RecvTimeoutError::Timeout)
    );
    assert!(t.elapsed() >= Duration::from_millis(30));
    h.try_send(4).unwrap();
    assert_eq!(h.recv_timeout(Duration::from_secs(10)), Ok(8));
    assert!(
        matches!(
            h.join_timeout(Duration::from_millis(10)),
            Err(axon::JoinError::Timeout { .. })
        ),
        "still running"
    );
    h.close();
    assert_eq!(
        h.recv_timeout(Duration::from_secs(10)),
        Err(RecvTimeoutError::Closed)
    );
    assert_eq!(h.join_timeout(Duration::from_secs(10)), Ok(Outcome::Finished));
    sys.wait();
}

#[test]
fn a_waiting_receiver_is_woken_by_a_send_from_another_thread() {
    let sys = running(2);
    let h: Handle<u32> = Handle::spawn(sys.system(), doubler()).unwrap();
    let (mut tx, rx) = h.split();
    let got = within(10, move || {
        let feeder = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            tx.send_blocking(5).unwrap();
            tx
        });
        let v = rx.recv_blocking();
        drop(feeder.join().unwrap());
        (v, rx.recv_blocking())
    });
    assert_eq!(got, (Ok(10), Err(RecvError::Closed)));
    sys.wait();
}

#[test]
fn control_and_signal() {
    let sys = running(1);
    let mut h: Handle<String> = Handle::spawn(sys.system(), echo_until_told()).unwrap();
    h.send_blocking("hello".into()).unwrap();
    assert_eq!(h.recv_blocking().unwrap(), "hello");
    assert_eq!(h.try_recv_signal(), Err(TryRecvError::Empty));
    h.shutdown().unwrap();
    assert_eq!(h.recv_signal_blocking(), Ok(Signal::ShutdownMicroprocess));
    assert_eq!(h.join(), Ok(Outcome::Finished));
    assert_eq!(h.recv_blocking(), Err(RecvError::Closed));
    assert_eq!(
        h.recv_signal_timeout(Duration::from_secs(5)),
        Err(RecvTimeoutError::Closed)
    );
    sys.wait();
}

#[test]
fn failure_is_reported_on_signal_and_outcome() {
    let sys = running(1);
    let boom = Prefab::new(
        Component::new("boom").inbox_and_outbox::<u8, u8>(),
        |mut cx| async move {
            let mut inbox = cx.inbox::<u8>("inbox")?;
            let _ = inbox.recv().await;
            Err::<(), axon::Error>("it broke".into())
        },
    );
    let mut h: Handle<u8> = Handle::spawn(sys.system(), boom).unwrap();
    h.send_blocking(1).unwrap();
    match h.recv_signal_blocking() {
        Ok(Signal::Failed(f)) => assert_eq!(f.reason, "it broke"),
        other => panic!("expected a failure signal, got {other:?}"),
    }
    assert_eq!(h.join(), Ok(Outcome::Failed("it broke".into())));
    sys.wait();
}

#[test]
fn missing_boxes_are_not_an_error() {
    // A source: no inbox, no control.
    let source = Prefab::new(
        Component::bare("source").outbox::<u8>("outbox"),
        |mut cx| async move {
            let mut out = cx.outbox::<u8>("outbox")?;
            for i in 0..3 {
                out.send(i).await?;
            }
            Ok::<_, axon::Error>(())
        },
    );
    let sys = running(1);
    let mut h: Handle<(), u8> = Handle::spawn(sys.system(), source).unwrap();
    assert_eq!(h.send_blocking(()), Err(SendError::new(())));
    assert!(h.send_control(Signal::ShutdownMicroprocess).is_err());
    let got: Vec<u8> = std::iter::from_fn(|| h.recv_blocking().ok()).collect();
    assert_eq!(got, [0, 1, 2]);
    assert_eq!(
        h.recv_signal_blocking(),
        Err(RecvError::Closed),
        "no signal box: closed"
    );
    assert_eq!(h.join(), Ok(Outcome::Finished));
    sys.wait();
}

#[test]
fn wrong_types_are_refused_before_spawning() {
    let sys = System::builder().threads(1).build();
    let err = Handle::<String, u32>::spawn(&sys, doubler()).unwrap_err();
    match &err {
        HandleError::Box(axon::BoxError::WrongType { name, .. }) => assert_eq!(name, "inbox"),
        other => panic!("expected a type error, got {other:?}"),
    }
    assert!(err.to_string().contains("carries u32"), "{err}");
    assert_eq!(sys.live_components(), 0, "nothing was started");
}

#[test]
fn attach_to_a_running_component() {
    let sys = running(1);
    let comp = doubler().spawn(sys.system());
    let mut h: Handle<u32> = Handle::attach(&comp).unwrap();
    h.send_blocking(3).unwrap();
    assert_eq!(h.recv_blocking(), Ok(6));
    // Its boxes are taken now: a second handle cannot link them.
    assert!(matches!(
        Handle::<u32>::attach(&comp),
        Err(HandleError::Link(axon::LinkError::AlreadyLinked { .. }))
    ));
    drop(h);
    assert_eq!(comp.join(), Ok(Outcome::Finished));
    sys.wait();
}

#[test]
fn attach_late_collects_what_was_held() {
    let sys = running(1);
    let source = Prefab::new(
        Component::new("early").outbox::<u8>("outbox"),
        |mut cx| async move {
            let mut out = cx.outbox::<u8>("outbox")?;
            out.send(9).await?;
            Ok::<_, axon::Error>(())
        },
    );
    let comp = source.spawn(sys.system());
    assert_eq!(comp.join(), Ok(Outcome::Finished));
    let h: Handle<(), u8> = Handle::attach(&comp).unwrap();
    assert_eq!(h.recv_blocking(), Ok(9));
    assert_eq!(h.recv_blocking(), Err(RecvError::Closed));
    sys.wait();
}

#[test]
fn async_in_a_current_thread_tokio_runtime() {
    // The runtime has one thread. If recv blocked it, the sending task could
    // never run and `within` would fail the test.
    let (got, outcome) = within(20, || {
        let sys = running(1);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let got = rt.block_on(async {
            let h: Handle<u32> = Handle::spawn(sys.system(), doubler()).unwrap();
            let (mut tx, rx) = h.split();
            let receiver = tokio::spawn(async move {
                let mut got = Vec::new();
                while let Ok(x) = rx.recv().await {
                    got.push(x);
                }
                (got, rx.finished().await)
            });
            tokio::task::yield_now().await; // the receiver is now waiting
            for i in 0..50 {
                tx.send(i).await.unwrap();
                if i % 10 == 0 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            drop(tx);
            receiver.await.unwrap()
        });
        sys.wait();
        got
    });
    assert_eq!(got, (0..50).map(|i| i * 2).collect::<Vec<u32>>());
    assert_eq!(outcome, Ok(Outcome::Finished));
}

#[tokio::test(flavor = "current_thread")]
async fn async_signals_and_finish_in_tokio() {
    let sys = running(1);
    let mut h: Handle<String> = Handle::spawn(sys.system(), echo_until_told()).unwrap();
    h.send("a".into()).await.unwrap();
    assert_eq!(h.recv().await.unwrap(), "a");
    h.send_control(Signal::ProducerFinished).unwrap();
    assert_eq!(h.recv_signal().await, Ok(Signal::ProducerFinished));
    assert_eq!(h.finished().await, Ok(Outcome::Finished));
    assert_eq!(h.recv().await, Err(RecvError::Closed));
    drop(h);
    // RunningSystem::wait blocks: do it off the runtime thread.
    tokio::task::spawn_blocking(move || sys.wait()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_in_a_multi_thread_tokio_runtime() {
    const N: u32 = 2_000;
    let sys = running(2);
    let mut handles = Vec::new();
    for _ in 0..4 {
        let h: Handle<u32> = Handle::spawn(sys.system(), doubler()).unwrap();
        let (mut tx, rx) = h.split();
        let feeder = tokio::spawn(async move {
            for i in 0..N {
                tx.send(i).await.unwrap();
            }
        });
        let collector = tokio::spawn(async move {
            let mut sum = 0u64;
            let mut count = 0;
            while let Ok(x) = rx.recv().await {
                sum += u64::from(x);
                count += 1;
            }
            (count, sum, rx.finished().await)
        });
        handles.push((feeder, collector));
    }
    for (feeder, collector) in handles {
        feeder.await.unwrap();
        let (count, sum, outcome) = tokio::time::timeout(Duration::from_secs(20), collector)
            .await
            .expect("collector hung")
            .unwrap();
        assert_eq!(count, N);
        assert_eq!(sum, u64::from(N) * u64::from(N - 1));
        assert_eq!(outcome, Ok(Outcome::Finished));
    }
    tokio::task::spawn_blocking(move || sys.wait()).await.unwrap();
}
