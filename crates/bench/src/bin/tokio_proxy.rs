//! `tokio_proxy`: the tokio peer of `bench net`'s proxy row. For each
//! accepted connection it connects to `--to` and copies both ways with
//! `tokio::io::copy_bidirectional` (which passes a half close on), on a
//! current-thread runtime. Prints `listening on <ADDR>` on stdout when
//! ready; stops on SIGINT (the default action).
//!
//! ```text
//! tokio_proxy --listen 127.0.0.1:0 --to 127.0.0.1:9000
//! ```

use std::io::Write;
use std::net::SocketAddr;

use clap::Parser;
use tokio::net::{TcpListener, TcpStream};

#[derive(Parser)]
#[command(about = "Minimal tokio TCP proxy (peer of `bench net`)")]
struct Args {
    /// Address to listen on (loopback; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Address every connection is forwarded to.
    #[arg(long)]
    to: SocketAddr,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(args.listen).await?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", listener.local_addr()?)?;
        out.flush()?;
        drop(out);
        loop {
            let (mut inbound, _) = match listener.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    eprintln!("tokio_proxy: accept: {e}");
                    continue;
                }
            };
            let to = args.to;
            tokio::spawn(async move {
                let mut outbound = match TcpStream::connect(to).await {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("tokio_proxy: connect {to}: {e}");
                        return;
                    }
                };
                if let Err(e) = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await {
                    eprintln!("tokio_proxy: {e}");
                }
            });
        }
    })
}
