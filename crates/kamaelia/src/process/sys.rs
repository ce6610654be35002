//! The few system calls [`UnixProcess`](super::UnixProcess) needs that the
//! standard library does not offer: waiting for a child to end *without*
//! reaping it, and sending a signal other than `SIGKILL` (or to a whole
//! process group).
//!
//! Why wait without reaping: the reaper thread blocks until the child has
//! ended, then takes the lock that guards the child and reaps it. Anyone who
//! wants to kill the child takes the same lock and checks that it has not been
//! reaped. While a child is unreaped (running or a zombie) its process id, and
//! the process group it leads, cannot be given to another process, so a kill
//! never reaches a stranger.

use std::io;

/// Block until child `pid` has ended, leaving it a zombie (not reaped).
/// Retries when interrupted by a signal handler.
pub(crate) fn wait_ended_unreaped(pid: u32) -> io::Result<()> {
    let id = libc::id_t::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    loop {
        // SAFETY: `info` is a zero-initialised `siginfo_t` (plain old data: all
        // zero bytes is a valid value) that lives across the call; `waitid`
        // only writes into it. `P_PID` with our own child's id and `WNOWAIT`
        // leaves the child unreaped, so no other state is touched. Covered by
        // every test in tests/process_unix.rs (each child is reaped this way).
        let rc = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(libc::P_PID, id, &mut info, libc::WEXITED | libc::WNOWAIT)
        };
        if rc == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Send `sig` to process `pid`, or to the process group it leads if `group`.
///
/// The caller must know `pid` is an unreaped child of ours (see the module
/// docs); that is what makes the id safe to use.
pub(crate) fn send_signal(pid: u32, group: bool, sig: libc::c_int) -> io::Result<()> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let target = if group { -pid } else { pid };
    // SAFETY: `kill` takes plain integers and touches no memory of ours. The
    // target is our own unreaped child (or the group it leads), guaranteed by
    // the caller holding the child's lock. Covered by the shutdown tests in
    // tests/process_unix.rs.
    let rc = unsafe { libc::kill(target, sig) };
    if rc == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    // ESRCH: the group has no member left we may signal (the child is a
    // zombie already). Nothing to do.
    if e.raw_os_error() == Some(libc::ESRCH) {
        return Ok(());
    }
    Err(e)
}
