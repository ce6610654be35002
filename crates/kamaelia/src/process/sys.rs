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

/// Read up to `max` bytes from `fd` into the spare capacity of `buf`
/// (reserving it first), without zeroing that memory beforehand; the bytes
/// read are appended to `buf`. Retries when interrupted.
///
/// `reserve` reuses `buf`'s allocation once every chunk split off it has been
/// dropped, so a steady stream reads into the same few blocks again and again.
pub(crate) fn read_fd(
    fd: std::os::fd::BorrowedFd<'_>,
    buf: &mut bytes::BytesMut,
    max: usize,
) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    buf.reserve(max);
    let spare = buf.spare_capacity_mut();
    let len = spare.len().min(max);
    loop {
        // SAFETY: `spare` is `len` bytes of writable memory owned by `buf`
        // (its spare capacity, reserved above), valid for the duration of the
        // call; `read` writes at most `len` bytes into it and needs no
        // initialised contents. `fd` is open for as long as it is borrowed.
        let n = unsafe { libc::read(fd.as_raw_fd(), spare.as_mut_ptr().cast(), len) };
        if n >= 0 {
            let n = n as usize; // 0 <= n <= len
                                // SAFETY: the kernel initialised the first `n` bytes of the spare
                                // capacity, so the new length covers only initialised bytes.
                                // Covered by the round-trip tests in tests/process_unix.rs.
            unsafe { buf.set_len(buf.len() + n) };
            return Ok(n);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}
