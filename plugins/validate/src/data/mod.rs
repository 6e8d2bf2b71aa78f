//! The data comparison: exact counts, then hashed key ranges bisected where they differ.

pub mod bisect;
pub mod key;
