//! Statement preparation: the plugin's named parameters (`@name`) become tiberius's positional
//! ones (`@P1`…), and sealed secret parameters are rendered into the text as quoted literals so
//! the value reaches the server without passing through the plugin. Only real parameter
//! references are touched: names inside strings, bracketed identifiers and comments are not.

use tiberius::Query;

use crate::bindings::ferry::plugin::tsql::SqlValue;
use crate::bindings::types::{Failure, PluginError};
use crate::vault::SealedValue;

/// A parameter as the host received it, the sealed ones resolved.
pub enum BoundParam {
    Value {
        name: String,
        value: SqlValue,
    },
    /// The value is a secret: rendered into the statement, shown as `***` in logs.
    Sealed {
        name: String,
        value: SealedValue,
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
    /// Every parameter written as a literal, sealed ones with their values: the form a
    /// reviewable `.sql` file holds (the `scripts` interface), never logged.
    script: String,
}

/// A sealed value as it goes into the text: quoted text, or a binary literal whose form the
/// vault guarantees (`0x` and hex digits), checked again here because it is not quoted.
fn sealed_literal(value: &SealedValue) -> Result<String, PluginError> {
    match value {
        SealedValue::Text(t) => Ok(ferry_tsql::quote_text(t)),
        SealedValue::Binary(b)
            if b.starts_with("0x") && b[2..].bytes().all(|c| c.is_ascii_hexdigit()) =>
        {
            Ok(b.clone())
        }
        SealedValue::Binary(_) => Err(PluginError::Failed(Failure {
            message: "a sealed binary value is not a hex literal".into(),
            code: None,
        })),
    }
}

/// A plain value as a T-SQL literal, for the `.sql` files.
fn literal(v: &SqlValue) -> String {
    match v {
        SqlValue::Null => "NULL".to_owned(),
        SqlValue::Bit(b) => u8::from(*b).to_string(),
        SqlValue::Int(i) => i.to_string(),
        SqlValue::Float(f) => f.to_string(),
        SqlValue::Decimal(d) => {
            if d.bytes()
                .all(|c| c.is_ascii_digit() || c == b'.' || c == b'-')
            {
                d.clone()
            } else {
                ferry_tsql::quote_text(d)
            }
        }
        SqlValue::Text(t) | SqlValue::Datetime(t) | SqlValue::Guid(t) => ferry_tsql::quote_text(t),
        SqlValue::Binary(b) => format!("0x{}", hex::encode_upper(b)),
    }
}

impl Prepared {
    pub fn new(statement: &str, params: Vec<BoundParam>) -> Result<Prepared, PluginError> {
        if params.len() > 2100 {
            return Err(PluginError::Failed(Failure {
                message: "more than 2,100 parameters (SQL Server's limit)".into(),
                code: Some(8003),
            }));
        }
        // The shared lexer decides what is a parameter reference: `@name` inside a string, a
        // bracketed name (with `]]` escapes) or a comment is text, never a place for a value.
        let tokens = ferry_tsql::tokenize_spanned(statement).map_err(|e| {
            PluginError::Failed(Failure {
                message: format!("the statement cannot be read as T-SQL: {e}"),
                code: Some(e.number),
            })
        })?;
        let mut sql = String::with_capacity(statement.len());
        let mut script = String::with_capacity(statement.len());
        let mut order: Vec<usize> = Vec::new();
        let mut copied = 0;
        for t in tokens {
            let ferry_tsql::Token::Var(name) = &t.token else {
                continue;
            };
            // Not a parameter: a variable the batch declares itself.
            let Some(k) = params
                .iter()
                .position(|p| p.name().eq_ignore_ascii_case(name))
            else {
                continue;
            };
            sql.push_str(&statement[copied..t.span.start]);
            script.push_str(&statement[copied..t.span.start]);
            match &params[k] {
                BoundParam::Sealed { value, .. } => {
                    let text = sealed_literal(value)?;
                    sql.push_str(&text);
                    script.push_str(&text);
                }
                BoundParam::Value { value, .. } => {
                    script.push_str(&literal(value));
                    let pos = order.iter().position(|o| *o == k).unwrap_or_else(|| {
                        order.push(k);
                        order.len() - 1
                    });
                    sql.push_str(&format!("@P{}", pos + 1));
                }
            }
            copied = t.span.end;
        }
        sql.push_str(&statement[copied..]);
        script.push_str(&statement[copied..]);
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
        Ok(Prepared {
            sql,
            binds,
            log,
            script,
        })
    }

    /// The statement with every parameter written as a literal, sealed values included: for
    /// the owner-only `.sql` files and nothing else.
    pub fn for_script(&self) -> &str {
        &self.script
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
                    value: SealedValue::Text("sv=1&sig=a'b".into()),
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

    #[test]
    fn a_parameter_name_inside_a_quoted_name_is_never_replaced() {
        // `quote_name("a]@sas")`: the `]]` keeps `@sas` inside the name.
        let p = prep(
            "CREATE CREDENTIAL [a]]@sas] WITH IDENTITY = 'x', SECRET = @sas",
            vec![BoundParam::Sealed {
                name: "sas".into(),
                value: SealedValue::Text("sig=SECRET".into()),
            }],
        );
        assert_eq!(
            p.sql,
            "CREATE CREDENTIAL [a]]@sas] WITH IDENTITY = 'x', SECRET = N'sig=SECRET'"
        );
    }

    #[test]
    fn a_sealed_binary_is_a_hex_literal_and_scripts_write_every_value() {
        let p = prep(
            "CREATE LOGIN [a] WITH PASSWORD = @h HASHED, SID = @sid, DEFAULT_DATABASE = @db",
            vec![
                BoundParam::Sealed {
                    name: "h".into(),
                    value: SealedValue::Binary("0x0200AB".into()),
                },
                BoundParam::Value {
                    name: "sid".into(),
                    value: SqlValue::Binary(vec![1, 0xfe]),
                },
                BoundParam::Value {
                    name: "db".into(),
                    value: SqlValue::Text("it's".into()),
                },
            ],
        );
        assert_eq!(
            p.sql,
            "CREATE LOGIN [a] WITH PASSWORD = 0x0200AB HASHED, SID = @P1, DEFAULT_DATABASE = @P2"
        );
        assert_eq!(
            p.for_script(),
            "CREATE LOGIN [a] WITH PASSWORD = 0x0200AB HASHED, SID = 0x01FE, DEFAULT_DATABASE = N'it''s'"
        );
        assert!(p.for_log().contains("@h = ***") && !p.for_log().contains("0200AB"));
        // A "binary" that is not hex is never written unquoted.
        assert!(
            Prepared::new(
                "SELECT @h",
                vec![BoundParam::Sealed {
                    name: "h".into(),
                    value: SealedValue::Binary("0x12; DROP DATABASE x".into()),
                }],
            )
            .is_err()
        );
    }

    #[test]
    fn unreadable_text_is_refused_with_sql_servers_number() {
        match Prepared::new("SELECT 'unclosed @x", vec![]) {
            Err(PluginError::Failed(f)) => assert_eq!(f.code, Some(105)),
            _ => panic!("an unclosed string must be refused"),
        }
    }

    proptest::proptest! {
        /// Whatever a name or a string holds, a sealed value goes only where the parameter
        /// stands, once.
        #[test]
        fn sealed_values_land_only_on_parameter_references(s in ".*") {
            let statement = format!(
                "SELECT {} AS {}, @sas AS v -- @sas",
                ferry_tsql::quote_text(&s),
                ferry_tsql::quote_name(&s)
            );
            let p = prep(
                &statement,
                vec![BoundParam::Sealed { name: "sas".into(), value: SealedValue::Text("SEALED".into()) }],
            );
            // The real reference is the last `@sas AS v`: the quoted ones come before it.
            let at = statement.rfind("@sas AS v").unwrap();
            let expected = format!("{}N'SEALED'{}", &statement[..at], &statement[at + 4..]);
            proptest::prop_assert_eq!(p.sql, expected);
        }
    }
}
