//! What an expression can see while it is evaluated.

use super::SessionView;
use crate::instance::Instance;
use crate::protocol::types::{SqlType, Value};

/// A value with its type.
pub type Typed = (SqlType, Value);

/// An expression's session and instance.
pub struct Env<'a> {
    pub s: &'a SessionView<'a>,
    pub inst: &'a Instance,
}
