//! Backplane / PublishTo / SubscribeTo, driven through axon Handles.

use std::time::{Duration, Instant};

use axon::{Component, Handle, Outcome, Prefab, RecvError, RunningSystem, Signal, System};
use kamaelia::backplane::{
    backplane, config_service, input_service, publish_to, subscribe_to, subscribe_to_live, subscribers_value,
    NotSubscribed, SubscriberId, Subscription,
};

fn running() -> RunningSystem {
    System::builder().threads(2).build().start()
}

/// Wait (bounded) until the backplane `name` reports `n` subscribers.
fn await_subscribers(sys: &System, name: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while sys.cat().retrieve_value::<usize>(&subscribers_value(name)).ok() != Some(n) {
        assert!(
            Instant::now() < deadline,
            "backplane {name} never reached {n} subscribers"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn await_service(sys: &System, service: &str) {
    let got = axon::block_on_timeout(sys.cat().wait_for_service(service), Some(Duration::from_secs(10)));
    assert!(got.is_some(), "service {service} never appeared");
}

fn drain(h: &Handle<(), u32>, n: usize) -> Vec<u32> {
    (0..n)
        .map(|_| {
            h.recv_timeout(Duration::from_secs(10))
                .expect("a published message")
        })
        .collect()
}

#[test]
fn registers_its_services_and_withdraws_them_on_shutdown() {
    let sys = running();
    let s = sys.system();
    let mut hub: Handle<u32, ()> = Handle::spawn(s, backplane::<u32>("bp")).unwrap();
    await_service(s, &input_service("bp"));
    await_service(s, &config_service("bp"));
    assert_eq!(s.cat().services(), ["Backplane_I_bp", "Backplane_O_bp"]);
    let inbox = s.cat().retrieve_service("Backplane_I_bp").unwrap();
    assert_eq!(inbox.owner(), Some(hub.component().id()));
    assert_eq!(inbox.name(), "inbox");
    await_subscribers(s, "bp", 0);

    hub.shutdown().unwrap();
    assert_eq!(hub.recv_signal_blocking(), Ok(Signal::ShutdownMicroprocess));
    assert_eq!(hub.join(), Ok(Outcome::Finished));
    assert!(s.cat().services().is_empty());

    // The name is free again.
    let mut again: Handle<u32, ()> = Handle::spawn(s, backplane::<u32>("bp")).unwrap();
    await_service(s, &input_service("bp"));
    again.shutdown().unwrap();
    assert_eq!(again.join(), Ok(Outcome::Finished));
    sys.wait();
}

#[test]
fn a_second_backplane_of_the_same_name_fails() {
    let sys = running();
    let s = sys.system();
    let mut first: Handle<u32, ()> = Handle::spawn(s, backplane::<u32>("dup")).unwrap();
    let sub: Handle<(), u32> = Handle::spawn(s, subscribe_to::<u32>("dup")).unwrap();
    await_subscribers(s, "dup", 1);
    let second: Handle<u32, ()> = Handle::spawn(s, backplane::<u32>("dup")).unwrap();
    match second.join().expect("the system runs") {
        Outcome::Failed(msg) => assert!(msg.to_string().contains("already registered"), "{msg}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    // The failed one did not take the first one's services away.
    assert_eq!(s.cat().services(), ["Backplane_I_dup", "Backplane_O_dup"]);
    assert_eq!(s.cat().retrieve_value::<usize>(&subscribers_value("dup")), Ok(1));
    first.shutdown().unwrap();
    assert_eq!(sub.join(), Ok(Outcome::Finished));
    first.join().expect("the system runs");
    sys.wait();
}

#[test]
fn every_subscriber_gets_every_message_in_order() {
    let sys = running();
    let s = sys.system();
    let mut hub: Handle<u32, ()> = Handle::spawn(s, backplane::<u32>("fan")).unwrap();
    let subs: Vec<Handle<(), u32>> = (0..3)
        .map(|_| Handle::spawn(s, subscribe_to::<u32>("fan")).unwrap())
        .collect();
    await_subscribers(s, "fan", 3);
    let mut publishers: Vec<Handle<u32, ()>> = (0..2)
        .map(|_| Handle::spawn(s, publish_to::<u32>("fan")).unwrap())
        .collect();
    for i in 0..100 {
        publishers[0].send_blocking(i).unwrap();
    }
    for sub in &subs {
        assert_eq!(drain(sub, 100), (0..100).collect::<Vec<_>>());
    }
    // Two publishers: each one's messages stay in order.
    for i in 0..100 {
        publishers[i as usize % 2].send_blocking(1000 + i).unwrap();
    }
    for sub in &subs {
        let got = drain(sub, 100);
        let evens: Vec<u32> = got.iter().copied().filter(|x| x % 2 == 0).collect();
        assert_eq!(
            evens,
            (0..100)
                .filter(|x| x % 2 == 0)
                .map(|x| 1000 + x)
                .collect::<Vec<_>>()
        );
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(sorted, (1000..1100).collect::<Vec<_>>());
    }
    hub.shutdown().unwrap();
    for sub in &subs {
        assert_eq!(sub.recv_signal_blocking(), Ok(Signal::ShutdownMicroprocess));
        assert_eq!(sub.join(), Ok(Outcome::Finished));
        assert_eq!(sub.recv_blocking(), Err(RecvError::Closed));
    }
    for p in &mut publishers {
        p.shutdown().unwrap();
        assert_eq!(p.recv_signal_blocking(), Ok(Signal::ShutdownMicroprocess));
    }
    sys.wait();
}

#[test]
fn publishing_costs_no_extra_hop() {
    let sys = running();
    let s = sys.system();
    let mut hub: Handle<u32, ()> = Handle::spawn(s, backplane::<u32>("hop")).unwrap();
    let mut publisher: Handle<u32, ()> = Handle::spawn(s, publish_to::<u32>("hop")).unwrap();
    let sub: Handle<(), u32> = Handle::spawn(s, subscribe_to::<u32>("hop")).unwrap();
    await_subscribers(s, "hop", 1);
    publisher.send_blocking(7).unwrap();
    assert_eq!(sub.recv_blocking(), Ok(14 / 2));

    let snap = s.snapshot();
    let (pid, hid, sid) = (
        publisher.component().id(),
        hub.component().id(),
        sub.component().id(),
    );
    // The publisher's inbox is linked straight into the hub's inbox ...
    assert!(
        snap.linkages
            .iter()
            .any(|l| l.source == (pid, "inbox".to_string()) && l.sink == (Some(hid), "inbox".to_string())),
        "{:#?}",
        snap.linkages
    );
    // ... and the hub's per-subscriber outbox straight into the subscriber's outbox.
    assert!(
        snap.linkages
            .iter()
            .any(|l| l.source.0 == hid && l.sink == (Some(sid), "outbox".to_string())),
        "{:#?}",
        snap.linkages
    );
    // Data sent to the publisher never waits in its own inbox.
    let pinbox = publisher.component().inbox::<u32>("inbox").unwrap();
    for i in 0..10 {
        publisher.send_blocking(i).unwrap();
        assert_eq!(pinbox.len(), 0);
    }
    assert_eq!(drain(&sub, 10), (0..10).collect::<Vec<_>>());
    hub.shutdown().unwrap();
    publisher.shutdown().unwrap();
    sys.wait();
}

#[test]
fn subscribers_join_and_leave_while_running() {
    let sys = running();
    let s = sys.system();
    let mut hub: Handle<u32, ()> = Handle::spawn(s, backplane::<u32>("live")).unwrap();
    let mut publisher: Handle<u32, ()> = Handle::spawn(s, publish_to::<u32>("live")).unwrap();

    let mut a: Handle<(), u32> = Handle::spawn(s, subscribe_to::<u32>("live")).unwrap();
    await_subscribers(s, "live", 1);
    for i in 0..10 {
        publisher.send_blocking(i).unwrap();
    }
    assert_eq!(drain(&a, 10), (0..10).collect::<Vec<_>>());

    let b: Handle<(), u32> = Handle::spawn(s, subscribe_to::<u32>("live")).unwrap();
    await_subscribers(s, "live", 2);
    for i in 10..20 {
        publisher.send_blocking(i).unwrap();
    }
    assert_eq!(drain(&a, 10), (10..20).collect::<Vec<_>>());
    assert_eq!(
        drain(&b, 10),
        (10..20).collect::<Vec<_>>(),
        "b got only what came after it joined"
    );

    // a leaves: it passes the signal on and ends; the hub forgets it.
    a.shutdown().unwrap();
    assert_eq!(a.recv_signal_blocking(), Ok(Signal::ShutdownMicroprocess));
    assert_eq!(a.join(), Ok(Outcome::Finished));
    await_subscribers(s, "live", 1);
    assert_eq!(
        a.recv_blocking(),
        Err(RecvError::Closed),
        "nothing more reaches a"
    );
    for i in 20..30 {
        publisher.send_blocking(i).unwrap();
    }
    assert_eq!(drain(&b, 10), (20..30).collect::<Vec<_>>());

    // A consumer that goes away is dropped by the hub too.
    drop(b);
    publisher.send_blocking(99).unwrap();
    await_subscribers(s, "live", 0);

    // The backplane is still running: new subscribers are served.
    let c: Handle<(), u32> = Handle::spawn(s, subscribe_to::<u32>("live")).unwrap();
    await_subscribers(s, "live", 1);
    publisher.send_blocking(100).unwrap();
    assert_eq!(c.recv_blocking(), Ok(100));

    hub.send_control(Signal::ProducerFinished).unwrap();
    assert_eq!(c.recv_signal_blocking(), Ok(Signal::ProducerFinished));
    assert_eq!(hub.recv_signal_blocking(), Ok(Signal::ProducerFinished));
    assert_eq!(c.join(), Ok(Outcome::Finished));
    assert_eq!(hub.join(), Ok(Outcome::Finished));
    assert_eq!(s.cat().retrieve_value::<usize>(&subscribers_value("live")), Ok(0));
    publisher.shutdown().unwrap();
    sys.wait();
}

#[test]
fn publisher_control_does_not_stop_the_backplane() {
    let sys = running();
    let s = sys.system();
    let mut hub: Handle<u32, ()> = Handle::spawn(s, backplane::<u32>("keep")).unwrap();
    let sub: Handle<(), u32> = Handle::spawn(s, subscribe_to::<u32>("keep")).unwrap();
    await_subscribers(s, "keep", 1);
    let mut p1: Handle<u32, ()> = Handle::spawn(s, publish_to::<u32>("keep")).unwrap();
    p1.send_blocking(1).unwrap();
    p1.send_control(Signal::ProducerFinished).unwrap();
    assert_eq!(p1.recv_signal_blocking(), Ok(Signal::ProducerFinished));
    assert_eq!(p1.join(), Ok(Outcome::Finished));
    assert_eq!(sub.recv_blocking(), Ok(1));
    assert!(!hub.is_finished());
    let mut p2: Handle<u32, ()> = Handle::spawn(s, publish_to::<u32>("keep")).unwrap();
    p2.send_blocking(2).unwrap();
    assert_eq!(sub.recv_blocking(), Ok(2));
    hub.shutdown().unwrap();
    p2.shutdown().unwrap();
    sys.wait();
}

#[test]
fn publishers_and_subscribers_started_first_wait_for_the_backplane() {
    let sys = running();
    let s = sys.system();
    let mut publisher: Handle<String, ()> = Handle::spawn(s, publish_to::<String>("later")).unwrap();
    let sub: Handle<(), String> = Handle::spawn(s, subscribe_to::<String>("later")).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    assert!(
        !publisher.is_finished() && !sub.is_finished(),
        "they wait, they do not fail"
    );
    let mut hub: Handle<String, ()> = Handle::spawn(s, backplane::<String>("later")).unwrap();
    await_subscribers(s, "later", 1);
    publisher.send_blocking("hello".into()).unwrap();
    assert_eq!(sub.recv_blocking().unwrap(), "hello");
    hub.shutdown().unwrap();
    publisher.shutdown().unwrap();
    sys.wait();
}

#[test]
fn a_waiting_subscriber_can_be_told_to_stop() {
    let sys = running();
    let s = sys.system();
    let mut sub: Handle<(), u8> = Handle::spawn(s, subscribe_to::<u8>("never")).unwrap();
    let mut publisher: Handle<u8, ()> = Handle::spawn(s, publish_to::<u8>("never")).unwrap();
    sub.shutdown().unwrap();
    publisher.shutdown().unwrap();
    assert_eq!(sub.recv_signal_blocking(), Ok(Signal::ShutdownMicroprocess));
    assert_eq!(publisher.recv_signal_blocking(), Ok(Signal::ShutdownMicroprocess));
    assert_eq!(sub.join(), Ok(Outcome::Finished));
    assert_eq!(publisher.join(), Ok(Outcome::Finished));
    sys.wait();
}

#[test]
fn wrong_message_type_is_a_clear_failure() {
    let sys = running();
    let s = sys.system();
    let mut hub: Handle<u32, ()> = Handle::spawn(s, backplane::<u32>("typed")).unwrap();
    let publisher: Handle<String, ()> = Handle::spawn(s, publish_to::<String>("typed")).unwrap();
    match publisher.join().expect("the system runs") {
        Outcome::Failed(msg) => assert!(
            msg.to_string().contains("u32") && msg.to_string().contains("String"),
            "{msg}"
        ),
        other => panic!("expected a failure, got {other:?}"),
    }
    hub.shutdown().unwrap();
    sys.wait();
}

#[test]
fn a_panicking_subscriber_is_dropped() {
    let sys = running();
    let s = sys.system();
    // A hand-made subscriber that panics after joining.
    let name = "crash";
    let hub: Handle<u32, ()> = Handle::spawn(s, backplane::<u32>(name)).unwrap();
    let crasher = Prefab::new(
        Component::new("crasher")
            .inbox::<u32>("inbox")
            .inbox::<Signal>("bp_signal")
            .outbox::<Subscription<u32>>("config"),
        move |mut cx| async move {
            let mut inbox = cx.inbox::<u32>("inbox")?;
            let mut config = cx.outbox::<Subscription<u32>>("config")?;
            let hub = cx.system().cat().wait_for_service(&config_service(name)).await;
            cx.link(&config.endpoint(), &hub.downcast()?)?;
            config
                .send(Subscription::Add {
                    id: SubscriberId::new(),
                    data: cx.me().inbox::<u32>("inbox")?,
                    signal: cx.me().inbox::<Signal>("bp_signal")?,
                    joined: None,
                })
                .await?;
            let first = inbox.recv().await?;
            panic!("crasher got {first}");
            #[allow(unreachable_code)]
            Ok::<_, axon::Error>(())
        },
    );
    let crasher = crasher.spawn(s);
    let good: Handle<(), u32> = Handle::spawn(s, subscribe_to::<u32>(name)).unwrap();
    await_subscribers(s, name, 2);
    let mut publisher: Handle<u32, ()> = Handle::spawn(s, publish_to::<u32>(name)).unwrap();
    publisher.send_blocking(1).unwrap();
    assert!(matches!(crasher.join(), Ok(Outcome::Panicked(_))));
    assert_eq!(good.recv_blocking(), Ok(1));
    // The hub finds the crashed subscriber's inbox closed and drops it.
    publisher.send_blocking(2).unwrap();
    assert_eq!(good.recv_blocking(), Ok(2));
    await_subscribers(s, name, 1);
    let mut hub = hub;
    hub.shutdown().unwrap();
    assert_eq!(good.recv_signal_blocking(), Ok(Signal::ShutdownMicroprocess));
    assert_eq!(hub.join(), Ok(Outcome::Finished));
    assert!(s.cat().services().is_empty());
    publisher.shutdown().unwrap();
    sys.wait();
}

#[test]
fn a_cancelled_backplane_withdraws_its_services() {
    let sys = running();
    let s = sys.system().clone();
    let _hub = backplane::<u32>("cancelled").spawn(&s);
    await_service(&s, &input_service("cancelled"));
    sys.shutdown(); // drops the hub's body without it seeing any signal
    assert!(s.cat().services().is_empty());
    assert_eq!(
        s.cat().retrieve_value::<usize>(&subscribers_value("cancelled")),
        Ok(0)
    );
}

#[test]
fn a_late_subscriber_can_wait_until_it_is_live() {
    let sys = running();
    let s = sys.system();
    let mut hub: Handle<u32, ()> = Handle::spawn(s, backplane::<u32>("late")).unwrap();
    let mut publisher: Handle<u32, ()> = Handle::spawn(s, publish_to::<u32>("late")).unwrap();
    let (early, mut early_live) = subscribe_to_live::<u32>("late");
    let early: Handle<(), u32> = Handle::spawn(s, early).unwrap();
    let first = early_live.wait_timeout(Duration::from_secs(10)).unwrap();
    assert!(early_live.is_live());
    for i in 0..5 {
        publisher.send_blocking(i).unwrap();
    }
    assert_eq!(drain(&early, 5), [0, 1, 2, 3, 4]);

    // Joins while data flows; everything published after it is live reaches it.
    let (late, mut late_live) = subscribe_to_live::<u32>("late");
    assert!(!late_live.is_live(), "not started yet");
    let late: Handle<(), u32> = Handle::spawn(s, late).unwrap();
    let second = late_live.wait_timeout(Duration::from_secs(10)).unwrap();
    assert_ne!(first, second);
    // Waiting again returns at once with the same id.
    assert_eq!(late_live.wait_blocking(), Ok(second));
    for i in 5..10 {
        publisher.send_blocking(i).unwrap();
    }
    assert_eq!(drain(&late, 5), [5, 6, 7, 8, 9]);
    assert_eq!(drain(&early, 5), [5, 6, 7, 8, 9]);

    hub.shutdown().unwrap();
    assert_eq!(late.recv_signal_blocking(), Ok(Signal::ShutdownMicroprocess));
    assert_eq!(early.recv_signal_blocking(), Ok(Signal::ShutdownMicroprocess));
    publisher.shutdown().unwrap();
    sys.wait();
}

#[test]
fn waiting_for_a_subscription_that_cannot_be_made_ends() {
    let sys = running();
    let s = sys.system();
    // No backplane: the wait times out.
    let (prefab, mut live) = subscribe_to_live::<u32>("nobody");
    let mut sub: Handle<(), u32> = Handle::spawn(s, prefab).unwrap();
    assert_eq!(
        live.wait_timeout(Duration::from_millis(20)),
        Err(NotSubscribed::TimedOut(Duration::from_millis(20)))
    );
    // The subscriber is told to stop before a backplane appears: never live.
    sub.shutdown().unwrap();
    assert_eq!(sub.recv_signal_blocking(), Ok(Signal::ShutdownMicroprocess));
    assert_eq!(
        live.wait_timeout(Duration::from_secs(10)),
        Err(NotSubscribed::Ended)
    );
    // A subscriber that is never started is never live either.
    let (prefab, mut never) = subscribe_to_live::<u32>("nobody");
    drop(prefab);
    assert_eq!(never.wait_blocking(), Err(NotSubscribed::Ended));
    sys.wait();
}
