//! Ctrl-C (and `SIGTERM`, `SIGHUP`) as an ordinary event for the examples, so
//! they can shut their components down cleanly instead of dying mid-write.
//!
//! A signal handler writes the signal's number to a pipe (one async-signal-safe
//! `write`, nothing else); a thread reads the pipe and calls back. A second
//! signal ends the program at once (exit code 130). Handlers, unlike a blocked
//! signal mask, are not inherited by the programs the examples start: those
//! get the default behaviour back when they `exec`.
//!
//! Include with `#[path = "support/interrupt.rs"] mod interrupt;`.

use std::io::{self, Read};
use std::os::fd::IntoRawFd;
use std::sync::atomic::{AtomicI32, Ordering};

const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// The pipe's writing end, for the handler (-1 until installed).
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn handler(sig: libc::c_int) {
    let fd = WAKE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let byte = sig as u8;
        // SAFETY: `write` is async-signal-safe; `fd` is the pipe's writing end,
        // open for the rest of the program (never closed), and `byte` a local
        // that outlives the call. A full pipe (many signals) loses nothing
        // that matters: one byte is enough to wake the reader.
        unsafe {
            libc::write(fd, (&byte as *const u8).cast(), 1);
        }
    }
}

/// Call `f` (on a thread of its own) with the first termination signal that
/// arrives; exit with 130 on the second.
pub fn on_signal(f: impl FnOnce(libc::c_int) + Send + 'static) -> io::Result<()> {
    let (mut reader, writer) = io::pipe()?; // both ends close-on-exec
    WAKE_FD.store(writer.into_raw_fd(), Ordering::SeqCst);
    for sig in SIGNALS {
        // SAFETY: `action` is zero-initialised (a valid `sigaction`: no flags,
        // empty mask) and then given a handler that only does the
        // async-signal-safe `write` above. SA_RESTART keeps blocking reads
        // and writes in other threads from failing with EINTR.
        // Exercised by tests/scripts/process_examples.sh, which interrupts
        // the `pipe` example.
        let rc = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut f = Some(f);
            let mut byte = [0u8; 1];
            while reader.read_exact(&mut byte).is_ok() {
                match f.take() {
                    Some(f) => f(libc::c_int::from(byte[0])),
                    None => std::process::exit(130),
                }
            }
        })?;
    Ok(())
}
