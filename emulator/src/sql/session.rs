//! The session a batch runs in, as its statements see it.

use crate::personality::Personality;
use crate::protocol::types::{SqlType, Value};

/// What a batch can see of its session.
pub struct SessionView<'a> {
    pub personality: &'a Personality,
    pub database: &'a str,
    pub spid: u16,
    pub user: &'a str,
    /// Parameters bound by sp_executesql: (name without `@`, type, value).
    pub vars: &'a [(String, SqlType, Value)],
}
