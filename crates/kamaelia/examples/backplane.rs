//! A named backplane: two publishers, subscribers joining and leaving while it
//! runs, then a shutdown that reaches every subscriber.
//!
//! `cargo run -p kamaelia --example backplane`

#[path = "support/logging.rs"]
mod logging;

use std::time::Duration;

use axon::{Handle, Signal, System};
use kamaelia::backplane::{backplane, publish_to, subscribe_to_live, subscribers_value};

fn wait_for_subscribers(sys: &System, name: &str, n: usize) {
    while sys.cat().retrieve_value::<usize>(&subscribers_value(name)).ok() != Some(n) {
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn main() -> Result<(), axon::Error> {
    logging::init();
    let running = System::builder().threads(2).build().start();
    let sys = running.system();

    let mut hub: Handle<String, ()> = Handle::spawn(sys, backplane::<String>("news"))?;
    let mut alice: Handle<String, ()> = Handle::spawn(sys, publish_to::<String>("news"))?;
    let mut bob: Handle<String, ()> = Handle::spawn(sys, publish_to::<String>("news"))?;
    wait_for_subscribers(sys, "news", 0); // the backplane is up and registered
    println!("services: {:?}", sys.cat().services());

    // `subscribe_to_live` says when the subscription is in place.
    let (subscriber, mut live) = subscribe_to_live::<String>("news");
    let mut early: Handle<(), String> = Handle::spawn(sys, subscriber)?;
    live.wait_blocking()?;
    alice.send_blocking("alice: first!".into())?;
    println!("early   <- {}", early.recv_blocking()?);

    let (subscriber, mut live) = subscribe_to_live::<String>("news");
    let late: Handle<(), String> = Handle::spawn(sys, subscriber)?;
    live.wait_blocking()?;
    bob.send_blocking("bob: hello both".into())?;
    println!("early   <- {}", early.recv_blocking()?);
    println!("late    <- {}", late.recv_blocking()?);

    early.shutdown().unwrap();
    println!("early left with {:?}", early.recv_signal_blocking()?);
    wait_for_subscribers(sys, "news", 1);
    alice.send_blocking("alice: just you now".into())?;
    println!("late    <- {}", late.recv_blocking()?);

    hub.shutdown().unwrap();
    println!("late heard {:?}", late.recv_signal_blocking()?);
    println!("backplane ended: {:?}", hub.join()?);
    println!("services: {:?}", sys.cat().services());
    for p in [&mut alice, &mut bob] {
        p.send_control(Signal::ProducerFinished).unwrap();
    }
    running.wait().into_result()?;
    Ok(())
}
