//! A stuck component sleeps (issue 16, point 1): a pause-loop transformer
//! whose consumer stalls for a second uses next to no CPU meanwhile, on one
//! worker and on two. One test in this file, because CPU time is measured for
//! the whole process.

mod common;

use std::time::Duration;

use axon::{link, Component, Context, Inbox, Outbox, System, TryRecvError, TrySendError};
use common::wait_until;

/// User plus system CPU time of this process.
fn cpu_time() -> Duration {
    // SAFETY: `getrusage` writes into the zeroed struct we own; RUSAGE_SELF is
    // a valid target.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    assert_eq!(rc, 0, "getrusage failed");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

async fn kamaelia_forwarder(mut cx: Context) -> Result<(), axon::Error> {
    let mut inbox = cx.inbox::<u32>("inbox")?;
    let mut out = cx.outbox::<u32>("outbox")?;
    let mut pending: Option<u32> = None;
    loop {
        loop {
            if pending.is_none() {
                match inbox.try_recv() {
                    Ok(x) => pending = Some(x),
                    Err(TryRecvError::Closed) => return Ok(()),
                    Err(TryRecvError::Empty) => break,
                }
            }
            match out.try_send(pending.take().expect("set above")) {
                Ok(()) => {}
                Err(TrySendError::Full(x)) => {
                    pending = Some(x);
                    break;
                }
                Err(TrySendError::Closed(_)) => return Err("consumer gone".into()),
            }
        }
        cx.pause().await;
    }
}

fn stalled_consumer_costs_no_cpu(threads: usize) -> Duration {
    let sys = System::builder().threads(threads).build();
    let t = sys.spawn(
        Component::new("forwarder").inbox_and_outbox::<u32, u32>(),
        kamaelia_forwarder,
    );
    let mut sink = Inbox::<u32>::detached("sink");
    sink.set_size(Some(1));
    link(&t.outbox::<u32>("outbox").unwrap(), &sink.endpoint()).unwrap();
    let mut feed = Outbox::<u32>::detached("feed");
    link(&feed.endpoint(), &t.inbox("inbox").unwrap()).unwrap();
    for i in 0..100 {
        feed.try_send(i).unwrap();
    }
    drop(feed);
    let running = sys.start();
    wait_until("the sink is full", || sink.len() == 1);
    // The consumer stalls for a second: the forwarder must sleep meanwhile.
    let before = cpu_time();
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_time() - before;
    let got: Vec<u32> = (0..100).map(|_| sink.recv_blocking().unwrap()).collect();
    assert_eq!(got, (0..100).collect::<Vec<_>>());
    running.wait();
    used
}

#[test]
fn a_stuck_pause_loop_sleeps_while_its_consumer_stalls() {
    for threads in [1, 2] {
        let used = stalled_consumer_costs_no_cpu(threads);
        // A spinning worker would burn about a second; allow a tenth of that
        // for the noise of a shared machine.
        assert!(
            used < Duration::from_millis(250),
            "{threads} worker(s): {used:?} of CPU while the consumer stalled for 1 s"
        );
    }
}
