//! # Kamaelia: the component library on the axon kernel
//!
//! Components and composites built on [`axon`]'s components, typed boxes and
//! linkages.
//!
//! * [`chassis`]: components that hold and wire other components —
//!   [`Pipeline`](chassis::Pipeline) ([`pipeline!`]), [`Graphline`](chassis::Graphline)
//!   ([`graphline!`]), [`Carousel`](chassis::Carousel), [`Seq`](chassis::Seq) and
//!   [`Par`](chassis::Par).

#![warn(missing_docs)]

pub mod chassis;
