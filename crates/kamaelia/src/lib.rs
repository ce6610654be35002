//! Kamaelia component library (chassis, utilities, networking) on the axon kernel.

pub mod backplane;
pub mod util;
