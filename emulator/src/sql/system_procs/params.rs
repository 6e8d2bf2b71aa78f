//! A procedure's arguments bound to its parameters as SQL Server binds them: by position, then
//! by name once a name has been used ("EXECUTE (Transact-SQL)"), OUTPUT variables remembered
//! to be set when the procedure ends.

use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::{self, SqlType, Value};
use crate::sql::procedures::Arg;
use crate::sql::scalar::Typed;

pub(crate) struct Params {
    names: &'static [&'static str],
    values: Vec<Option<Value>>,
    /// The variable each OUTPUT parameter writes back to.
    out_vars: Vec<Option<String>>,
    /// Values the procedure gave its OUTPUT parameters.
    out_values: Vec<Option<Typed>>,
}

impl Params {
    pub fn bind(
        proc_name: &str,
        names: &'static [&'static str],
        args: &[Arg<'_>],
        arg_values: &[Typed],
    ) -> Result<Params, ServerMessage> {
        let mut values = vec![None; names.len()];
        let mut out_vars = vec![None; names.len()];
        let mut named_seen = false;
        for (i, (arg, (_, v))) in args.iter().zip(arg_values).enumerate() {
            let slot = match arg.name {
                Some(n) => {
                    named_seen = true;
                    names
                        .iter()
                        .position(|p| p.eq_ignore_ascii_case(n))
                        // SQL Server error 8145 (severity 16).
                        .ok_or_else(|| {
                            ServerMessage::error(
                                8145,
                                16,
                                format!("@{n} is not a parameter for procedure {proc_name}."),
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
                None if i < names.len() => i,
                // SQL Server error 8144 (severity 16).
                None => {
                    return Err(ServerMessage::error(
                        8144,
                        16,
                        format!(
                            "Procedure or function {proc_name} has too many arguments specified."
                        ),
                    ));
                }
            };
            values[slot] = Some(match v {
                Value::Variant(inner) => inner.1.clone(),
                other => other.clone(),
            });
            out_vars[slot] = arg.output.map(str::to_owned);
        }
        Ok(Params {
            names,
            out_values: vec![None; names.len()],
            values,
            out_vars,
        })
    }

    fn slot(&self, name: &str) -> usize {
        self.names
            .iter()
            .position(|p| *p == name)
            .unwrap_or(usize::MAX)
    }

    fn raw(&self, name: &str) -> Option<&Value> {
        self.values
            .get(self.slot(name))
            .and_then(Option::as_ref)
            .filter(|v| **v != Value::Null)
    }

    /// Whether the caller passed the parameter (even as NULL).
    pub fn given(&self, name: &str) -> bool {
        self.values
            .get(self.slot(name))
            .is_some_and(Option::is_some)
    }

    /// A text parameter, trimmed as msdb trims them (`LTRIM(RTRIM(@x))`); NULL and '' are None.
    pub fn text(&self, name: &str) -> Option<String> {
        self.raw(name)
            .map(|v| types::text(v).trim().to_owned())
            .filter(|t| !t.is_empty())
    }

    /// A text parameter as passed (not trimmed, '' kept).
    pub fn raw_text(&self, name: &str) -> Option<String> {
        self.raw(name).map(types::text)
    }

    /// An integer parameter; text that is not a number fails as SQL Server's implicit
    /// conversion does (error 8114).
    pub fn int(&self, name: &str) -> Result<Option<i64>, ServerMessage> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Int(i)) => Ok(Some(*i)),
            Some(Value::Bit(b)) => Ok(Some(i64::from(*b))),
            Some(Value::Decimal(u, s)) => Ok(Some((u / 10i128.pow(u32::from(*s))) as i64)),
            Some(Value::Text(t)) => t.trim().parse().map(Some).map_err(|_| {
                ServerMessage::error(8114, 16, "Error converting data type nvarchar to int.")
            }),
            Some(_) => Err(ServerMessage::error(
                8114,
                16,
                format!("Error converting data type to int (parameter @{name})."),
            )),
        }
    }

    pub fn int_or(&self, name: &str, default: i64) -> Result<i64, ServerMessage> {
        Ok(self.int(name)?.unwrap_or(default))
    }

    /// A uniqueidentifier parameter as upper-case text; binary(16) is read in SQL Server's
    /// storage order (as a `DECLARE @jobId BINARY(16)` variable holds a job id). SQL Server
    /// error 8169 for text that is not a GUID.
    pub fn guid(&self, name: &str) -> Result<Option<String>, ServerMessage> {
        let bad = || {
            ServerMessage::error(
                8169,
                16,
                "Conversion failed when converting from a character string to uniqueidentifier.",
            )
        };
        let g = match self.raw(name) {
            None => return Ok(None),
            Some(Value::Guid(g)) => *g,
            Some(Value::Binary(b)) if b.len() == 16 => {
                let mut g = [0u8; 16];
                g.copy_from_slice(b);
                types::guid_storage_bytes(&g)
            }
            Some(Value::Text(t)) => {
                let hex: String = t.trim().trim_matches(|c| c == '{' || c == '}').to_owned();
                let digits: String = hex.chars().filter(|c| *c != '-').collect();
                if hex.len() != 36 || digits.len() != 32 {
                    return Err(bad());
                }
                let mut g = [0u8; 16];
                for (i, b) in g.iter_mut().enumerate() {
                    *b = u8::from_str_radix(&digits[i * 2..i * 2 + 2], 16).map_err(|_| bad())?;
                }
                g
            }
            Some(_) => return Err(bad()),
        };
        Ok(Some(types::text(&Value::Guid(g)).to_ascii_uppercase()))
    }

    /// Gives an OUTPUT parameter its final value.
    pub fn set_output(&mut self, name: &str, ty: SqlType, v: Value) {
        let i = self.slot(name);
        if let Some(slot) = self.out_values.get_mut(i) {
            *slot = Some((ty, v));
        }
    }

    pub fn outputs(&self) -> Vec<(String, Typed)> {
        self.out_vars
            .iter()
            .zip(&self.out_values)
            .filter_map(|(var, v)| Some((var.clone()?, v.clone()?)))
            .collect()
    }
}
