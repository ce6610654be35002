//! The README's first program: a pipeline of library components.
//!
//! `cargo run --release -p kamaelia --example first_program`
//!
//! Like the reference's `Pipeline(...).run()`, `pipeline![...].run()` runs the
//! pipeline on a system of its own and returns an error naming what failed
//! (a miswired pipeline fails before anything starts). `RUST_LOG=debug` shows
//! more of what happens.

#[path = "support/logging.rs"]
mod logging;

use kamaelia::prelude::*; // System, Component, Prefab, Signal, boxes, chassis, everyday components

fn main() -> Result<(), kamaelia::axon::RunError> {
    logging::init();
    pipeline![
        data_source(["hello", "kamaelia"]),
        pure_transformer(|s: &str| Some(format!("{}\n", s.to_uppercase()))),
        ConsoleEchoer::<String>::new(),
    ]
    .run()
}
