//! Statement preparation: the plugin's named parameters (`@name`) become tiberius's positional
//! ones (`@P1`…), and sealed secret parameters are rendered into the text as quoted literals so
//! the value reaches the server without passing through the plugin. Only real parameter
//! references are touched: names inside strings, bracketed identifiers and comments are not.

use tiberius::Query;

use crate::bindings::ferry::plugin::tsql::SqlValue;
use crate::bindings::types::{Failure, PluginError};

/// A parameter as the host received it, the sealed ones resolved.
pub enum BoundParam {
    Value {
        name: String,
        value: SqlValue,
    },
    /// The value is a secret: rendered into the statement, shown as `***` in logs.
    Sealed {
        name: String,
        value: String,
    },
}

impl BoundParam {
    fn name(&self) -> &str {
        match self {
            BoundParam::Value { name, .. } | BoundParam::Sealed { name, .. } => name,
        }
    }
}

/// A statement ready to send: its text, positional values, and a loggable form.
pub struct Prepared {
    sql: String,
    binds: Vec<SqlValue>,
    log: String,
}

/// A string as a T-SQL literal: N'…' with quotes doubled.
fn literal(s: &str) -> String {
    format!("N'{}'", s.replace('\'', "''"))
}

impl Prepared {
    pub fn new(statement: &str, params: Vec<BoundParam>) -> Result<Prepared, PluginError> {
        let chars: Vec<char> = statement.chars().collect();
        let mut sql = String::with_capacity(statement.len());
        let mut order: Vec<usize> = Vec::new();
        let mut i = 0;
        let copy_until =
            |sql: &mut String, i: &mut usize, end: &dyn Fn(&[char], usize) -> Option<usize>| {
                let stop = end(&chars, *i).unwrap_or(chars.len());
                sql.extend(&chars[*i..stop]);
                *i = stop;
            };
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            match c {
                '\'' => copy_until(&mut sql, &mut i, &|ch, from| {
                    let mut j = from + 1;
                    while j < ch.len() {
                        if ch[j] == '\'' {
                            if ch.get(j + 1) == Some(&'\'') {
                                j += 2;
                                continue;
                            }
                            return Some(j + 1);
                        }
                        j += 1;
                    }
                    None
                }),
                '[' => copy_until(&mut sql, &mut i, &|ch, from| {
                    ch[from..]
                        .iter()
                        .position(|x| *x == ']')
                        .map(|p| from + p + 1)
                }),
                '"' => copy_until(&mut sql, &mut i, &|ch, from| {
                    ch[from + 1..]
                        .iter()
                        .position(|x| *x == '"')
                        .map(|p| from + p + 2)
                }),
                '-' if next == Some('-') => copy_until(&mut sql, &mut i, &|ch, from| {
                    ch[from..].iter().position(|x| *x == '\n').map(|p| from + p)
                }),
                '/' if next == Some('*') => copy_until(&mut sql, &mut i, &|ch, from| {
                    ch[from + 2..]
                        .windows(2)
                        .position(|w| w == ['*', '/'])
                        .map(|p| from + 2 + p + 2)
                }),
                '@' if next == Some('@') => {
                    sql.push_str("@@");
                    i += 2;
                }
                '@' if next.is_some_and(|n| n.is_alphabetic() || n == '_') => {
                    let start = i + 1;
                    let mut end = start;
                    while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_') {
                        end += 1;
                    }
                    let name: String = chars[start..end].iter().collect();
                    match params
                        .iter()
                        .position(|p| p.name().eq_ignore_ascii_case(&name))
                    {
                        Some(k) => match &params[k] {
                            BoundParam::Sealed { value, .. } => sql.push_str(&literal(value)),
                            BoundParam::Value { .. } => {
                                let pos = order.iter().position(|o| *o == k).unwrap_or_else(|| {
                                    order.push(k);
                                    order.len() - 1
                                });
                                sql.push_str(&format!("@P{}", pos + 1));
                            }
                        },
                        // Not a parameter: a variable the batch declares itself.
                        None => sql.push_str(&format!("@{name}")),
                    }
                    i = end;
                }
                _ => {
                    sql.push(c);
                    i += 1;
                }
            }
        }
        let log = {
            let shown: Vec<String> = params
                .iter()
                .map(|p| match p {
                    BoundParam::Sealed { name, .. } => format!("@{name} = ***"),
                    BoundParam::Value { name, value } => format!("@{name} = {}", short(value)),
                })
                .collect();
            if shown.is_empty() {
                statement.to_owned()
            } else {
                format!("{statement} [{}]", shown.join(", "))
            }
        };
        let binds = order
            .into_iter()
            .map(|k| match &params[k] {
                BoundParam::Value { value, .. } => value.clone(),
                BoundParam::Sealed { .. } => SqlValue::Null,
            })
            .collect();
        if params.len() > 2100 {
            return Err(PluginError::Failed(Failure {
                message: "more than 2,100 parameters (SQL Server's limit)".into(),
                code: Some(8003),
            }));
        }
        Ok(Prepared { sql, binds, log })
    }

    /// The statement with sealed values as `***`: the only form that is ever logged.
    pub fn for_log(&self) -> &str {
        &self.log
    }

    /// A tiberius query with the values bound in order.
    pub fn query(&self) -> Query<'_> {
        let mut q = Query::new(self.sql.as_str());
        for v in &self.binds {
            match v {
                SqlValue::Null => q.bind(Option::<i32>::None),
                SqlValue::Bit(b) => q.bind(*b),
                SqlValue::Int(i) => q.bind(*i),
                SqlValue::Float(f) => q.bind(*f),
                SqlValue::Decimal(d) => q.bind(d.as_str()),
                SqlValue::Text(t) => q.bind(t.as_str()),
                SqlValue::Binary(b) => q.bind(b.as_slice()),
                SqlValue::Datetime(d) => q.bind(d.as_str()),
                SqlValue::Guid(g) => match tiberius::Uuid::parse_str(g) {
                    Ok(u) => q.bind(u),
                    Err(_) => q.bind(g.as_str()),
                },
            }
        }
        q
    }
}

fn short(v: &SqlValue) -> String {
    let s = match v {
        SqlValue::Null => "NULL".to_owned(),
        SqlValue::Bit(b) => b.to_string(),
        SqlValue::Int(i) => i.to_string(),
        SqlValue::Float(f) => f.to_string(),
        SqlValue::Decimal(d) | SqlValue::Datetime(d) | SqlValue::Guid(d) => d.clone(),
        SqlValue::Text(t) => format!("N'{t}'"),
        SqlValue::Binary(b) => format!("<{} bytes>", b.len()),
    };
    if s.len() > 200 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(200).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prep(sql: &str, params: Vec<BoundParam>) -> Prepared {
        Prepared::new(sql, params).unwrap()
    }

    #[test]
    fn named_become_positional_and_sealed_are_rendered_quoted() {
        let p = prep(
            "CREATE CREDENTIAL [u] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = @sas; SELECT @db, @db, @n -- @sas\n, '@sas', [@sas], @@VERSION, @local",
            vec![
                BoundParam::Sealed {
                    name: "sas".into(),
                    value: "sv=1&sig=a'b".into(),
                },
                BoundParam::Value {
                    name: "db".into(),
                    value: SqlValue::Text("Sales".into()),
                },
                BoundParam::Value {
                    name: "N".into(),
                    value: SqlValue::Int(3),
                },
            ],
        );
        assert_eq!(
            p.sql,
            "CREATE CREDENTIAL [u] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = N'sv=1&sig=a''b'; SELECT @P1, @P1, @P2 -- @sas\n, '@sas', [@sas], @@VERSION, @local"
        );
        assert_eq!(
            format!("{:?}", p.binds),
            format!(
                "{:?}",
                vec![SqlValue::Text("Sales".into()), SqlValue::Int(3)]
            )
        );
        assert!(!p.for_log().contains("sig=a"), "{}", p.for_log());
        assert!(p.for_log().contains("@sas = ***"));
    }
}
