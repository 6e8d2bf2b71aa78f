//! A system procedure's arguments matched to its parameters by position or by `@name`, with
//! SQL Server's errors for what does not match ("EXECUTE (Transact-SQL)": once one argument is
//! passed by name, the ones after it must be too).

use super::call::Call;
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::{self, Value};

/// The value of each parameter (`params` without `@`), None where no argument was passed.
pub fn bind(
    call: &Call<'_>,
    procedure: &str,
    params: &[&str],
) -> Result<Vec<Option<Value>>, ServerMessage> {
    let mut out: Vec<Option<Value>> = vec![None; params.len()];
    let mut named_seen = false;
    for (i, (name, (_, value))) in call.args.iter().enumerate() {
        let slot = match name {
            Some(n) => {
                named_seen = true;
                params
                    .iter()
                    .position(|p| p.eq_ignore_ascii_case(n))
                    .ok_or_else(|| {
                        // SQL Server error 8145 (severity 16).
                        ServerMessage::error(
                            8145,
                            16,
                            format!("@{n} is not a parameter for procedure {procedure}."),
                        )
                    })?
            }
            None if named_seen => {
                // SQL Server error 119 (severity 15).
                return Err(ServerMessage::error(
                    119,
                    15,
                    format!(
                        "Must pass parameter number {} and subsequent parameters as '@name = value'. After the form '@name = value' has been used, all subsequent parameters must be passed in the form '@name = value'.",
                        i + 1
                    ),
                ));
            }
            None if i < params.len() => i,
            None => {
                // SQL Server error 8144 (severity 16).
                return Err(ServerMessage::error(
                    8144,
                    16,
                    format!("Procedure or function {procedure} has too many arguments specified."),
                ));
            }
        };
        out[slot] = Some(value.clone());
    }
    Ok(out)
}

/// SQL Server error 201 (severity 16) for a parameter without a default that was not passed.
pub fn missing(procedure: &str, param: &str) -> ServerMessage {
    ServerMessage::error(
        201,
        16,
        format!(
            "Procedure or function '{procedure}' expects parameter '@{param}', which was not supplied."
        ),
    )
}

/// An argument as text; None for NULL or not passed.
pub fn text(v: &Option<Value>) -> Option<String> {
    match v {
        None | Some(Value::Null) => None,
        Some(v) => Some(types::text(v)),
    }
}
