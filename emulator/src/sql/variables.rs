//! Local variables (`DECLARE @x int = 1`, `SET @x = …`) and parameters of sp_executesql, typed
//! as declared: a value assigned is converted to the variable's type ("DECLARE
//! @local_variable", "SET @local_variable", Transact-SQL reference). Also what a batch's
//! `@@ROWCOUNT` and `@@ERROR` are.

use super::convert::convert;
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::{SqlType, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    /// Without `@`.
    pub name: String,
    pub ty: SqlType,
    pub value: Value,
}

/// The variables a batch (or an sp_executesql call) can see.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Variables {
    vars: Vec<Variable>,
    /// `@@ROWCOUNT`: rows the last statement returned or changed.
    pub row_count: u64,
    /// `@@ERROR`: the number of the last statement's error, 0 when it succeeded.
    pub error: i32,
}

impl Variables {
    /// Parameters bound by an RPC's sp_executesql: (name without `@`, type, value).
    pub fn from_params(params: impl IntoIterator<Item = (String, SqlType, Value)>) -> Self {
        Variables {
            vars: params
                .into_iter()
                .map(|(name, ty, value)| Variable { name, ty, value })
                .collect(),
            ..Default::default()
        }
    }

    pub fn get(&self, name: &str) -> Option<&Variable> {
        self.vars
            .iter()
            .find(|v| v.name.eq_ignore_ascii_case(name.trim_start_matches('@')))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Variable> {
        self.vars.iter()
    }

    /// DECLARE: a new variable, NULL until assigned. SQL Server error 134 when the name is
    /// taken in the batch.
    pub fn declare(&mut self, name: &str, ty: SqlType) -> Result<(), ServerMessage> {
        if self.get(name).is_some() {
            return Err(ServerMessage::error(
                134,
                15,
                format!(
                    "The variable name '@{name}' has already been declared. Variable names must be unique within a query batch or stored procedure."
                ),
            ));
        }
        self.vars.push(Variable {
            name: name.to_owned(),
            ty,
            value: Value::Null,
        });
        Ok(())
    }

    /// SET / SELECT @x = …: the value converted to the variable's type. SQL Server error 137
    /// for a variable not declared.
    pub fn assign(&mut self, name: &str, from: SqlType, value: Value) -> Result<(), ServerMessage> {
        let Some(var) = self
            .vars
            .iter_mut()
            .find(|v| v.name.eq_ignore_ascii_case(name))
        else {
            return Err(undeclared(name));
        };
        var.value = convert(value, from, var.ty)?;
        Ok(())
    }
}

/// SQL Server error 137 (severity 15).
pub fn undeclared(name: &str) -> ServerMessage {
    ServerMessage::error(
        137,
        15,
        format!("Must declare the scalar variable \"@{name}\"."),
    )
}
