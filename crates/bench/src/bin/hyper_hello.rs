//! `hyper_hello`: the hyper 1.x peer of `bench net`'s HTTP row. A minimal
//! HTTP/1.1 keep-alive server on a current-thread tokio runtime: `GET /`
//! answers 200 `Hello, world!\n`, anything else 404. Like every server the
//! harness starts, it prints exactly one line `listening on <ADDR>` on stdout
//! once it accepts connections, and stops on SIGINT (the default action).
//!
//! ```text
//! hyper_hello --listen 127.0.0.1:0
//! ```

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;

use bytes::Bytes;
use clap::Parser;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The response body, identical for every HTTP system in the benchmark.
const BODY: &[u8] = b"Hello, world!\n";

#[derive(Parser)]
#[command(about = "Minimal hyper 1.x hello server (peer of `bench net`)")]
struct Args {
    /// Address to listen on (loopback; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
}

async fn hello(req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = if req.method() == Method::GET && req.uri().path() == "/" {
        (StatusCode::OK, Bytes::from_static(BODY))
    } else {
        (StatusCode::NOT_FOUND, Bytes::from_static(b"not found\n"))
    };
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    Ok(resp)
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
            let (stream, _) = match listener.accept().await {
                Ok(conn) => conn,
                // Out of descriptors or a connection reset before accept:
                // that connection is lost, the server goes on.
                Err(e) => {
                    eprintln!("hyper_hello: accept: {e}");
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            tokio::task::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service_fn(hello))
                    .await;
            });
        }
    })
}
