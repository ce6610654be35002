//! An echo server: every connection gets back exactly the bytes it sends.
//!
//! `cargo run --release -p kamaelia --example echo_server -- --listen 127.0.0.1:1601`
//! then `nc 127.0.0.1 1601` (or `--listen 127.0.0.1:0` for any free port; the
//! address is printed as `listening on ADDR`). Ctrl-C stops it cleanly.
//!
//! A [`ServerCore`] with a pass-through protocol component per connection:
//! chunks go from the socket adapter to the protocol and straight back, by
//! reference count (no copy).

mod common;

use bytes::Bytes;
use clap::Parser;
use kamaelia::internet::ServerCore;
use kamaelia::util::pure_transformer;

/// Echo every connection's bytes back to it.
#[derive(Parser)]
struct Args {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:1601")]
    listen: String,
    /// Scheduler threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Connections served at once at most.
    #[arg(long, default_value_t = 100_000)]
    max_connections: usize,
    /// Close connections idle this many seconds (default: never).
    #[arg(long)]
    idle_timeout: Option<u64>,
}

fn main() -> Result<(), axon::Error> {
    let args = Args::parse();
    common::init_tracing();
    let sys = common::io_system(args.threads)?;
    let mut server = ServerCore::bind(args.listen.as_str(), |_info| {
        pure_transformer(|chunk: Bytes| Some(chunk))
    })?
    .max_connections(args.max_connections);
    if let Some(secs) = args.idle_timeout {
        server = server.idle_timeout(std::time::Duration::from_secs(secs));
    }
    common::announce(server.local_addr());
    let core = server.prefab().spawn(&sys);
    common::stop_on_ctrl_c(&core)?;
    sys.run().into_result()?;
    tracing::info!(outcome = ?core.outcome(), "echo server stopped");
    Ok(())
}
