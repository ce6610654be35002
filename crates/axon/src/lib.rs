//! placeholder
pub mod stm;
