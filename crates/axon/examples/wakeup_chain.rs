//! Seed 2, second scenario: outbox wakeups through a chain of linkages that
//! changes after the sends.
//!
//! ```text
//! outboxA --\
//! outboxB ---> inbox1 ---> inbox2 ---> inbox3 (size 2, the final sink)
//! outboxC ---> inbox4 (size 1)     ^
//!                 '----------------'   linked later
//! ```
//!
//! Producers A, B and C each send three items and get stuck when the boxes are
//! full. Collecting from inbox3 wakes the *waiting* senders up the chain, one per
//! freed slot, in the order they started waiting (FIFO). Before the late link only
//! A and B can be woken by inbox3; after it, C's chain ends at inbox3 too and C
//! takes its turn. The example prints who is woken on each collect.
//!
//! ```text
//! cargo run --release -p axon --example wakeup_chain
//! ```

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axon::{link, Component, Inbox, System, TrySendError};

type Log = Arc<Mutex<Vec<String>>>;

fn producer(sys: &System, name: &'static str, log: &Log) -> axon::ComponentRef {
    let log = log.clone();
    sys.spawn(
        Component::bare(name).outbox::<String>("outbox"),
        move |mut cx| async move {
            let mut out = cx.outbox::<String>("outbox").expect("declared");
            for i in 0..3 {
                let msg = format!("{}{i}", name.to_lowercase());
                match out.try_send(msg) {
                    Ok(()) => log
                        .lock()
                        .unwrap()
                        .push(format!("{name} sent {}{i}", name.to_lowercase())),
                    Err(TrySendError::Full(msg)) => {
                        log.lock().unwrap().push(format!("{name} waits to send {msg}"));
                        out.send(msg).await.expect("inbox3 stays open");
                        log.lock()
                            .unwrap()
                            .push(format!("{name} woken, sent {}{i}", name.to_lowercase()));
                    }
                    Err(TrySendError::Closed(_)) => unreachable!("inbox3 stays open"),
                }
            }
        },
    )
}

/// Wait until the log stops growing (the single scheduler thread is idle).
fn settle(log: &Log, seen: &mut usize) {
    let mut last = usize::MAX;
    let start = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(20));
        let len = log.lock().unwrap().len();
        if len == last || start.elapsed() > Duration::from_secs(5) {
            break;
        }
        last = len;
    }
    let log = log.lock().unwrap();
    for line in &log[*seen..] {
        println!("    {line}");
    }
    *seen = log.len();
}

fn main() {
    let sys = System::builder().threads(1).build();
    let running = sys.start();
    let log: Log = Arc::default();
    let mut seen = 0;

    let inbox1 = Inbox::<String>::detached("inbox1");
    let inbox2 = Inbox::<String>::detached("inbox2");
    let mut inbox3 = Inbox::<String>::detached("inbox3");
    let inbox4 = Inbox::<String>::detached("inbox4");
    inbox3.set_size(Some(2));
    inbox4.set_size(Some(1));
    link(&inbox1.endpoint(), &inbox2.endpoint()).unwrap();
    link(&inbox2.endpoint(), &inbox3.endpoint()).unwrap();

    println!("A, B -> inbox1 -> inbox2 -> inbox3 (size 2);  C -> inbox4 (size 1)");
    for name in ["A", "B", "C"] {
        let p = producer(&sys, name, &log);
        let dst = if name == "C" { &inbox4 } else { &inbox1 };
        link(&p.outbox::<String>("outbox").unwrap(), &dst.endpoint()).unwrap();
        settle(&log, &mut seen);
    }

    for n in 1..=2 {
        let got = inbox3.try_recv().unwrap();
        println!("collect {n} from inbox3: {got}");
        settle(&log, &mut seen);
    }

    println!("link inbox4 -> inbox2 (C's chain now ends at inbox3; inbox4's item moves on)");
    link(&inbox4.endpoint(), &inbox2.endpoint()).unwrap();
    settle(&log, &mut seen);

    let mut n = 3;
    while let Ok(got) = inbox3.try_recv() {
        println!("collect {n} from inbox3: {got}");
        settle(&log, &mut seen);
        n += 1;
    }
    println!("all {} items collected", n - 1);
    running.shutdown();
}
