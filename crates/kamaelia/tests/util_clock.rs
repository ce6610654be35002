//! The Clock component: ticks in order, stops on control, stops after a limit.
//! Lower bounds on time only (a tick never comes early); no upper bounds.

use std::time::{Duration, Instant};

use axon::{Inbox, Outbox, Signal, System};
use kamaelia::util::Clock;

#[test]
fn ticks_until_told_to_stop_then_passes_the_shutdown_on() {
    let sys = System::builder().threads(2).build();
    let running = sys.start();
    // Measured before the clock exists: its timer starts when its body first runs.
    let start = Instant::now();
    let clock = Clock::new(Duration::from_millis(5)).build().spawn(&sys);
    let mut ticks = Inbox::<u64>::detached("ticks");
    let mut done = Inbox::<Signal>::detached("done");
    let mut ctl = Outbox::<Signal>::detached("ctl");
    axon::link(&clock.outbox::<u64>("outbox").unwrap(), &ticks.endpoint()).unwrap();
    axon::link(&clock.outbox::<Signal>("signal").unwrap(), &done.endpoint()).unwrap();
    axon::link(&ctl.endpoint(), &clock.inbox::<Signal>("control").unwrap()).unwrap();
    assert_eq!(ticks.recv_blocking(), Ok(1));
    assert_eq!(ticks.recv_blocking(), Ok(2));
    assert!(
        start.elapsed() >= Duration::from_millis(10),
        "two 5 ms periods passed"
    );
    ctl.send_blocking(Signal::ShutdownMicroprocess).unwrap();
    assert_eq!(done.recv_blocking(), Ok(Signal::ShutdownMicroprocess));
    assert_eq!(clock.join(), Ok(axon::Outcome::Finished));
    // Whatever ticked before the shutdown arrived is in order.
    let rest: Vec<u64> = std::iter::from_fn(|| ticks.try_recv().ok()).collect();
    assert!(rest.windows(2).all(|w| w[1] == w[0] + 1));
    assert!(rest.first().is_none_or(|&f| f == 3));
    running.shutdown();
}

#[test]
fn a_limited_clock_ends_by_itself() {
    let sys = System::builder().threads(1).build();
    let clock = Clock::new(Duration::from_millis(1)).ticks(5).build().spawn(&sys);
    let mut ticks = Inbox::<u64>::detached("ticks");
    axon::link(&clock.outbox::<u64>("outbox").unwrap(), &ticks.endpoint()).unwrap();
    sys.run();
    let got: Vec<u64> = std::iter::from_fn(|| ticks.try_recv().ok()).collect();
    assert_eq!(got, [1, 2, 3, 4, 5]);
    assert_eq!(clock.outcome(), Some(axon::Outcome::Finished));
}
