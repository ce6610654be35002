//! `tokio_echo`: the tokio peer of `bench net`'s echo and idle-memory rows.
//! The canonical minimal tokio echo server (one task per connection, a
//! 1 KiB buffer in the task, as in tokio's README) on a current-thread
//! runtime. Prints `listening on <ADDR>` on stdout when ready; stops on
//! SIGINT (the default action).
//!
//! ```text
//! tokio_echo --listen 127.0.0.1:0
//! ```

use std::io::Write;
use std::net::SocketAddr;

use clap::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Parser)]
#[command(about = "Minimal tokio echo server (peer of `bench net`)")]
struct Args {
    /// Address to listen on (loopback; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
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
            let (mut socket, _) = match listener.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    eprintln!("tokio_echo: accept: {e}");
                    continue;
                }
            };
            let _ = socket.set_nodelay(true);
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                loop {
                    let n = match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if socket.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    })
}
