//! What the network examples share: logging set up from `RUST_LOG`, a system
//! whose workers sleep in the reactor, the "listening on" line, and a clean
//! stop on Ctrl-C (or SIGTERM).

#![allow(dead_code)]

use std::sync::Mutex;

use axon::{ComponentRef, Outbox, Signal, System};
use kamaelia::internet::Reactor;

#[path = "../support/logging.rs"]
mod logging;

/// Log to stderr through `tracing`; `RUST_LOG` picks what (default `info`;
/// `RUST_LOG=debug` shows connections opening and closing).
pub fn init_tracing() {
    logging::init();
}

/// A system with `threads` workers (default: one per core) sleeping in the
/// reactor's poller.
pub fn io_system(threads: Option<usize>) -> std::io::Result<System> {
    let mut b = System::builder();
    if let Some(n) = threads {
        b = b.threads(n);
    }
    Reactor::system(b)
}

/// The line the tools print once they listen (scripts read the port from it).
pub fn announce(addr: std::net::SocketAddr) {
    println!("listening on {addr}");
}

/// Send `ShutdownMicroprocess` to `target`'s `control` on Ctrl-C or SIGTERM;
/// a second one exits at once.
pub fn stop_on_ctrl_c(target: &ComponentRef) -> Result<(), axon::Error> {
    let stop = Outbox::<Signal>::detached("ctrl-c");
    axon::link(&stop.endpoint(), &target.inbox::<Signal>("control")?)?;
    let stop = Mutex::new((stop, false));
    ctrlc::set_handler(move || {
        let mut guard = stop.lock().unwrap_or_else(|e| e.into_inner());
        let (out, asked) = &mut *guard;
        if *asked {
            std::process::exit(130);
        }
        *asked = true;
        tracing::info!("stopping (Ctrl-C again to exit at once)");
        let _ = out.try_send(Signal::ShutdownMicroprocess);
    })?;
    Ok(())
}
