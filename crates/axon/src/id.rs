//! Identifiers for components, boxes and linkages.
//!
//! Every id is unique within the process (a global counter), so ids from two
//! systems never collide in logs or introspection output. Kamaelia's `idGen`
//! played the same role.

use std::fmt;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $counter:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(NonZeroU64);

        static $counter: AtomicU64 = AtomicU64::new(1);

        impl $name {
            pub(crate) fn next() -> Self {
                // The counter starts at 1 and a u64 does not wrap in practice;
                // zero is kept free so `Option<Id>` costs nothing extra.
                $name(NonZeroU64::new($counter.fetch_add(1, Ordering::Relaxed)).expect("id counter wrapped"))
            }

            /// The number behind this id.
            pub fn as_u64(self) -> u64 {
                self.0.get()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self, f)
            }
        }
    };
}

id_type!(
    /// Identifies one component (async or threaded) for its whole life.
    ComponentId,
    NEXT_COMPONENT,
    "c"
);
id_type!(
    /// Identifies one inbox or outbox.
    BoxId,
    NEXT_BOX,
    "b"
);
id_type!(
    /// Identifies one linkage.
    LinkId,
    NEXT_LINK,
    "l"
);
