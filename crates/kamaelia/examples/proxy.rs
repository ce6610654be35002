//! A TCP proxy (the seed's proxy): every connection accepted on `--listen` is
//! relayed to `--to`, both ways, until both sides have finished.
//!
//! `cargo run --release -p kamaelia --example proxy -- --listen 127.0.0.1:8000 --to 127.0.0.1:80`
//! (`--listen 127.0.0.1:0` picks a free port; the address is printed as
//! `listening on ADDR`). Ctrl-C stops it cleanly.
//!
//! A [`ServerCore`] whose protocol component is a [`TcpClient`]: the client's
//! connection adapter and the upstream client are wired box to box, so bytes
//! flow socket → adapter → client → socket with no component in between, a
//! half close (EOF) on one side becomes a FIN on the other, and a slow side
//! stops reads on the other (bounded boxes, no buffering without limit).

mod common;

use std::time::Duration;

use clap::Parser;
use kamaelia::internet::{resolve, ServerCore, TcpClient};

/// Relay TCP connections to another address.
#[derive(Parser)]
struct Args {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8000")]
    listen: String,
    /// Address to relay each connection to.
    #[arg(long)]
    to: String,
    /// Scheduler threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Give up connecting upstream after this many seconds.
    #[arg(long, default_value_t = 10)]
    connect_timeout: u64,
}

fn main() -> Result<(), axon::Error> {
    let args = Args::parse();
    common::init_tracing();
    let upstream = resolve(args.to.as_str())?;
    let timeout = Duration::from_secs(args.connect_timeout);
    let sys = common::io_system(args.threads)?;
    let server = ServerCore::bind(args.listen.as_str(), move |info| {
        tracing::debug!(client = %info.peer, %upstream, "relaying");
        TcpClient::new(upstream).connect_timeout(timeout)
    })?;
    common::announce(server.local_addr());
    let core = server.prefab().spawn(&sys);
    common::stop_on_ctrl_c(&core)?;
    sys.run().into_result()?;
    tracing::info!(outcome = ?core.outcome(), "proxy stopped");
    Ok(())
}
