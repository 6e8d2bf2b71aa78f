//! The handles and parameters a plugin passes to the host: secrets, connections, containers
//! and statement parameters. Kept apart from [`crate::context`] so that [`crate::host::Host`],
//! which takes them, does not depend on the context that calls it.

use crate::wit::{Column, SqlValue};

/// A secret held by the host. The plugin can pass it on (as a sealed parameter) without seeing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Secret(pub(crate) u32);

/// A T-SQL connection opened by label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqlConnection(pub(crate) u32);

/// A blob container or share opened by label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Container(pub(crate) u32);

/// A statement parameter's value.
#[derive(Debug, Clone)]
pub enum ParamValue {
    /// A plain typed value.
    Value(SqlValue),
    /// A secret the host renders into the statement; logs show `***`.
    Sealed(Secret),
}

/// A named statement parameter (`@name` in the statement).
#[derive(Debug, Clone)]
pub struct Param {
    /// The name without `@`.
    pub name: String,
    /// Its value.
    pub value: ParamValue,
}

impl Param {
    /// A plain parameter.
    pub fn value(name: &str, value: SqlValue) -> Self {
        Param {
            name: name.to_owned(),
            value: ParamValue::Value(value),
        }
    }

    /// A sealed secret parameter.
    pub fn sealed(name: &str, secret: Secret) -> Self {
        Param {
            name: name.to_owned(),
            value: ParamValue::Sealed(secret),
        }
    }
}

/// A result cell of [`crate::Context::query_sealed`]: a value, or a secret the host kept in its
/// place (a password hash, a private key) that the plugin can pass on as a sealed parameter.
#[derive(Debug, Clone)]
pub enum Cell {
    /// A plain value (NULL cells are always plain).
    Value(SqlValue),
    /// A value only the host holds.
    Sealed(Secret),
}

/// One result set of [`crate::Context::query_sealed`].
#[derive(Debug, Clone)]
pub struct SealedRowSet {
    /// The columns, in order.
    pub columns: Vec<Column>,
    /// The rows; each has one cell per column.
    pub rows: Vec<Vec<Cell>>,
    /// True when rows were left out to stay within the query's limits.
    pub truncated: bool,
}
