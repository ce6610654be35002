//! `pipe -- CMD ARGS...`: this program's stdin through a command to its
//! stdout, as a pipeline of three components:
//!
//! ```text
//! ByteReader::stdin() → UnixProcess(CMD ARGS...) → ByteWriter::stdout()
//! ```
//!
//! Byte-exact and back-pressured: a slow reader of our stdout slows the
//! command down, which slows the reading of our stdin. The command's stderr
//! is shared with ours; its exit code becomes ours (128 + N if it was killed
//! by signal N; 127 if it could not be started). Ctrl-C kills the command
//! and exits with 130.
//!
//! ```text
//! head -c 8000000 /dev/urandom > f
//! cargo run --release -p kamaelia --example pipe -- gzip -c < f | gunzip | cmp - f
//! RUST_LOG=debug cargo run --release -p kamaelia --example pipe -- --shell 'tr a-z A-Z | rev' < README.md
//! ```

use std::process::ExitCode;

use axon::{link, ComponentRef, Inbox, Outbox, Outcome, Signal, Spawn, System};
use bytes::Bytes;
use clap::Parser;
use kamaelia::process::{
    ByteReader, ByteWriter, Exit, Stderr, UnixProcess, DEFAULT_CHUNK, DEFAULT_INBOX_SIZE,
};

#[path = "support/interrupt.rs"]
mod interrupt;
#[path = "support/logging.rs"]
mod logging;

/// Pipe stdin through a command to stdout, via kamaelia components.
#[derive(Parser, Debug)]
#[command(name = "pipe")]
struct Args {
    /// Run the command line with `/bin/sh -c` (give it as one argument).
    #[arg(long)]
    shell: bool,
    /// Most bytes read at once, from stdin and from the command.
    #[arg(long, default_value_t = DEFAULT_CHUNK)]
    chunk: usize,
    /// Limit of the process's and the writer's inboxes, in chunks.
    #[arg(long, default_value_t = DEFAULT_INBOX_SIZE)]
    box_size: usize,
    /// The command and its arguments (after `--`).
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

fn chain(a: &ComponentRef, b: &ComponentRef) -> Result<(), axon::Error> {
    link(&a.outbox::<Bytes>("outbox")?, &b.inbox("inbox")?)?;
    link(&a.outbox::<Signal>("signal")?, &b.inbox("control")?)?;
    Ok(())
}

fn main() -> ExitCode {
    logging::init_or("warn");
    let args = Args::parse();
    match run(args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("pipe: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(args: Args) -> Result<u8, axon::Error> {
    let process = if args.shell {
        UnixProcess::shell(args.command.join(" "))
    } else {
        UnixProcess::new(&args.command[0]).args(&args.command[1..])
    };
    let sys = System::new();
    // Created, linked, then activated: the threaded reader and writer start
    // as soon as they are activated.
    let reader = ByteReader::stdin().chunk_size(args.chunk).create(&sys);
    let process = process
        .chunk_size(args.chunk)
        .inbox_size(args.box_size)
        .stderr(Stderr::Inherit)
        .spawn(&sys);
    let writer = ByteWriter::stdout().inbox_size(args.box_size).create(&sys);
    chain(reader.component(), &process)?;
    chain(&process, writer.component())?;
    let mut exit = Inbox::<Exit>::detached("exit");
    link(&process.outbox::<Exit>("exit")?, &exit.endpoint())?;

    let mut stop = Outbox::<Signal>::detached("stop");
    link(&stop.endpoint(), &process.inbox("control")?)?;
    let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = interrupted.clone();
    interrupt::on_signal(move |sig| {
        tracing::info!(signal = sig, "interrupted: stopping the command");
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = stop.try_send(Signal::ShutdownMicroprocess);
    })?;
    // Everything is linked: start.
    let writer = writer.activate();
    reader.activate();
    let _running = sys.start();

    let code = match exit.recv_blocking() {
        Ok(Ok(report)) => {
            tracing::debug!("{report}");
            report.shell_code()
        }
        Ok(Err(e)) => {
            eprintln!("pipe: {e}");
            if e.is_not_found() {
                127
            } else {
                126
            }
        }
        Err(_) => {
            eprintln!("pipe: the process component ended without reporting");
            1
        }
    };
    // Everything the command wrote is out once the writer has finished.
    let written = writer.join();
    // Whoever read our stdout stopped reading (`pipe ... | head`): end quietly
    // with the code of a program killed by SIGPIPE, as a shell pipeline would.
    let broken_pipe = matches!(&written, Ok(Outcome::Failed(e)) if e.to_string().contains(&format!("os error {}", libc::EPIPE)));
    match (broken_pipe, &written) {
        (false, Ok(Outcome::Failed(e))) => eprintln!("pipe: writing stdout: {e}"),
        (false, Ok(Outcome::Panicked(e))) => eprintln!("pipe: writing stdout: {e}"),
        (_, Err(e)) => eprintln!("pipe: {e}"),
        _ => {}
    }
    // The reader may still be blocked reading a terminal: no need to wait for it.
    let code = if interrupted.load(std::sync::atomic::Ordering::SeqCst) {
        130
    } else if broken_pipe {
        128 + libc::SIGPIPE
    } else if code == 0 && !written.as_ref().is_ok_and(|o| !o.is_failure()) {
        1
    } else {
        code
    };
    Ok(u8::try_from(code).unwrap_or(1))
}
