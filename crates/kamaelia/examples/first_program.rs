//! The README's first program: a pipeline of library components.
//!
//! `cargo run --release -p kamaelia --example first_program`

use axon::System;
use kamaelia::pipeline;
use kamaelia::util::{data_source, pure_transformer, ConsoleEchoer};

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
