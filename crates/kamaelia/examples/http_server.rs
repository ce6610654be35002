//! An HTTP/1.1 server: a directory's files with `--dir`; otherwise a
//! "Hello, world!" page at `/` (what the benchmark measures) and `POST /echo`,
//! which answers with the request's body.
//!
//! `cargo run --release -p kamaelia --example http_server -- --listen 127.0.0.1:8080 --dir .`
//! then `curl http://127.0.0.1:8080/README.md` (`--listen 127.0.0.1:0` picks a
//! free port; the address is printed as `listening on ADDR`). Ctrl-C stops it
//! cleanly.
//!
//! A [`ServerCore`] whose protocol component per connection is the HTTP
//! server of [`kamaelia::protocol::http`]: keep-alive, pipelining, chunked
//! bodies; bad requests get 400/408/413/431 and that connection is closed;
//! paths that escape the directory are refused.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use kamaelia::internet::ServerCore;
use kamaelia::protocol::http::{hello, HttpServer, Request, Response, StaticFiles};

/// Serve HTTP.
#[derive(Parser)]
struct Args {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Serve this directory's files (default: a hello page).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Scheduler threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Answer 408 and close when a request's head takes longer (seconds).
    #[arg(long, default_value_t = 10)]
    header_timeout: u64,
    /// Largest request body accepted (bytes); larger gets 413.
    #[arg(long, default_value_t = 1 << 20)]
    max_body: usize,
}

/// Hello at `/`; `POST /echo` sends the body back.
fn app(req: &Request) -> Response {
    if req.path() == "/echo" && req.method() == "POST" {
        return Response::new(200)
            .with_content_type("application/octet-stream")
            .with_body(req.body().clone());
    }
    hello(req)
}

fn main() -> Result<(), axon::Error> {
    let args = Args::parse();
    common::init_tracing();
    let http = match &args.dir {
        Some(dir) => StaticFiles::new(dir)?.server(),
        None => HttpServer::from_fn(app),
    };
    let mut config = http.settings().clone();
    config.header_timeout = Some(Duration::from_secs(args.header_timeout));
    config.max_body_bytes = args.max_body;
    let http: HttpServer = http.config(config);
    let sys = common::io_system(args.threads)?;
    let server = ServerCore::bind(args.listen.as_str(), move |info| http.build(Some(info.peer)))?;
    common::announce(server.local_addr());
    let core = server.prefab().spawn(&sys);
    common::stop_on_ctrl_c(&core)?;
    sys.run().into_result()?;
    tracing::info!(outcome = ?core.outcome(), "http server stopped");
    Ok(())
}
