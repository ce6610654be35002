//! Layer 4, services: things components share, built only from the public
//! kernel below.
//!
//! The [`cat`] (co-ordinating assistant tracker, the service registry), [`stm`]
//! (software transactional memory: versioned shared values) and [`introspect`]
//! (a live snapshot of a system's components, boxes and linkages).
//!
//! **May import:** every layer below (`component`, `boxes`, `runtime`) and the
//! leaf modules. Nothing imports it but the crate root (`tests/layering.rs`
//! checks).

pub mod cat;
pub mod introspect;
pub mod stm;
