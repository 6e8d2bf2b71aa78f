//! The handles and parameters a plugin passes to the host: secrets, connections, containers
//! and statement parameters. Kept apart from [`crate::context`] so that [`crate::host::Host`],
//! which takes them, does not depend on the context that calls it.

use crate::wit::SqlValue;

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
