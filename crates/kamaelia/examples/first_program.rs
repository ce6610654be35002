//! The README's first program: a pipeline of library components.
//!
//! `cargo run --release -p kamaelia --example first_program`

use kamaelia::prelude::*; // System, Component, Prefab, Signal, boxes, chassis, everyday components

fn main() {
    let sys = System::new();
    pipeline![
        data_source(["hello", "kamaelia"]),
        pure_transformer(|s: &str| Some(format!("{}\n", s.to_uppercase()))),
        ConsoleEchoer::<String>::new(),
    ]
    .spawn(&sys);
    sys.run();
}
