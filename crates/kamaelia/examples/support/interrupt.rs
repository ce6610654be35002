//! Ctrl-C (and `SIGTERM`, `SIGHUP`) as an ordinary event for the examples:
//! the signals are blocked in every thread and one thread waits for them with
//! `sigwait`, then calls back, so the program can shut its components down
//! cleanly instead of dying mid-write. A second signal ends the program at
//! once (exit code 130).
//!
//! Include with `#[path = "support/interrupt.rs"] mod interrupt;`.

use std::io;

const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// The termination signals, blocked. Make it first thing in `main`, before
/// any thread starts (threads inherit the block); children started with
/// `std::process::Command` get an empty mask again.
pub struct Blocked {
    set: libc::sigset_t,
}

/// Block the termination signals in this thread (and so in every thread
/// started after).
pub fn block() -> io::Result<Blocked> {
    // SAFETY: `set` is initialised by `sigemptyset` before any other use;
    // `sigaddset` and `pthread_sigmask` only read and write that local set and
    // this thread's mask. Exercised by tests/scripts/process_examples.sh,
    // which interrupts the `pipe` example.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in SIGNALS {
            libc::sigaddset(&mut set, s);
        }
        let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        Ok(Blocked { set })
    }
}

impl Blocked {
    /// Call `f` (on a thread of its own) with the first signal that arrives.
    pub fn on_signal(self, f: impl FnOnce(libc::c_int) + Send + 'static) -> io::Result<()> {
        let set = self.set;
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                let mut f = Some(f);
                loop {
                    let mut sig: libc::c_int = 0;
                    // SAFETY: `set` is a valid signal set (built in `block`) and
                    // `sig` a local the call writes the signal number into.
                    let rc = unsafe { libc::sigwait(&set, &mut sig) };
                    if rc != 0 {
                        continue;
                    }
                    match f.take() {
                        Some(f) => f(sig),
                        None => std::process::exit(130),
                    }
                }
            })?;
        Ok(())
    }
}
