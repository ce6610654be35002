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

pub use axon::prelude::*;

pub use crate::chassis::{Carousel, Graphline, Par, Pipeline, Seq};
pub use crate::util::{
    collector, data_source, filter, null_sink, one_shot, pass_through, pure_transformer, ConsoleEchoer,
    ConsoleReader,
};
pub use crate::{graphline, pipeline};
