//! Everything a first program needs, in one import: the kernel's prelude
//! ([`axon::prelude`]: `System`, `Component`, `Prefab`, `Signal`, boxes, ...),
//! the chassis and their macros, and the everyday components.
//!
//! ```
//! use kamaelia::prelude::*;
//!
//! let sys = System::new();
//! let (sink, seen) = collector::<String>();
//! pipeline![
//!     data_source(["hello", "kamaelia"]),
//!     pure_transformer(|s: &str| Some(s.to_uppercase())),
//!     sink,
//! ]
//! .spawn(&sys);
//! sys.run();
//! assert_eq!(seen.take(), ["HELLO", "KAMAELIA"]);
//! ```
//!
//! Library components are functions returning a [`Prefab`] or
//! builders that convert into one; either goes wherever a child or stage is
//! taken (`Pipeline::then`, `Graphline::child`, `Seq::then`, `Par::with`,
//! `Handle::spawn`, the macros), with no `.build()` or `.into()`, and either
//! starts on its own with `.spawn(&sys)` ([`Spawn`]):
//!
//! ```
//! use kamaelia::prelude::*;
//!
//! let sys = System::new();
//! let (sink, seen) = collector::<String>();
//! let p = Pipeline::new()
//!     .then(data_source(["a".to_string()]))
//!     .then(ConsoleEchoer::<String>::new().writer(std::io::sink()).forwarder(true))
//!     .then(sink);
//! p.spawn(&sys);
//! let quiet = ConsoleEchoer::<String>::new().spawn(&sys); // a builder, spawned as is
//! quiet.shutdown().unwrap();
//! sys.run();
//! assert_eq!(seen.take(), ["a"]);
//! ```
//!
//! A pipeline that is never spawned never runs, and the compiler says so
//! (an error here, with `#![deny(unused_must_use)]`):
//!
//! ```compile_fail
//! #![deny(unused_must_use)]
//! use kamaelia::prelude::*;
//!
//! pipeline![data_source([1u32]), null_sink::<u32>()]; // warning: unused `Prefab`
//! ```

pub use axon::prelude::*;

pub use crate::chassis::{Carousel, Graphline, Par, Pipeline, Seq};
pub use crate::util::{
    collector, data_source, filter, null_sink, one_shot, pass_through, pure_transformer, ConsoleEchoer,
    ConsoleReader,
};
pub use crate::{graphline, pipeline};
