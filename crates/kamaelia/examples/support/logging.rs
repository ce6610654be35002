//! Logging for the examples: a `tracing` subscriber writing to stderr, filtered
//! by `RUST_LOG` (default `info`). The kernel and the library log through
//! `tracing`, at `warn` for what went wrong (a component that failed or
//! panicked, a miswired pipeline, a control message nobody hears); without a
//! subscriber those lines go nowhere.
//!
//! Include with `#[path = "support/logging.rs"] mod logging;` and call
//! `logging::init()` first thing in `main`.

#![allow(dead_code)]

/// Log to stderr through `tracing`; `RUST_LOG` picks what (default `info`;
/// `RUST_LOG=debug` shows more, `RUST_LOG=warn` only trouble).
pub fn init() {
    init_or("info");
}

/// [`init`], with `default` as the filter when `RUST_LOG` is not set (the
/// command-line tools use `warn`, keeping stderr for trouble).
pub fn init_or(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
