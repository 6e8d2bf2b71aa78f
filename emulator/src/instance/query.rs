//! Statements run through SQLite: T-SQL values bound as parameters, result columns typed by
//! their declared T-SQL types (or, for expressions, by their values), and SQLite's errors worded
//! as SQL Server words them.

use rusqlite::types::{ToSqlOutput, ValueRef};

use super::Instance;
use crate::protocol::tokens::{Column, ServerMessage};
use crate::protocol::types::{self, SqlType, Value};

pub(crate) fn sqlite_error(e: rusqlite::Error) -> ServerMessage {
    // The messages SQLite gives for the mistakes T-SQL users make most, as SQL Server words them.
    // SQLite's own message, without the statement text and offset rusqlite appends to it for
    // errors in the input (the statement is the emulator's rewrite, not the client's T-SQL).
    let text = match e {
        rusqlite::Error::SqlInputError { msg, .. } => msg,
        other => other.to_string(),
    };
    if let Some(m) = super::certificate_function_error(&text) {
        return m;
    }
    if let Some(m) = super::date_fn::function_error(&text) {
        return m;
    }
    if let Some(m) = super::offset_fetch::error(&text) {
        return m;
    }
    if text == super::division::DIVIDE_BY_ZERO {
        // SQL Server error 8134, severity 16.
        return ServerMessage::error(8134, 16, text);
    }
    if let Some(name) = text.strip_prefix("no such table: ") {
        let name = name.rsplit_once('.').map_or(name, |(_, t)| t);
        return ServerMessage::error(208, 16, format!("Invalid object name '{name}'."));
    }
    if let Some(col) = text.strip_prefix("no such column: ") {
        return ServerMessage::error(
            207,
            16,
            format!(
                "Invalid column name '{}'.",
                col.rsplit('.').next().unwrap_or(col)
            ),
        );
    }
    if text.contains("UNIQUE constraint failed") {
        return ServerMessage::error(
            2627,
            14,
            format!(
                "Violation of PRIMARY KEY or UNIQUE KEY constraint. Cannot insert duplicate key ({text})."
            ),
        );
    }
    if let Some(col) = text.strip_prefix("NOT NULL constraint failed: ") {
        return ServerMessage::error(
            515,
            16,
            format!(
                "Cannot insert the value NULL into column '{}'; column does not allow nulls. INSERT fails.",
                col.rsplit('.').next().unwrap_or(col)
            ),
        );
    }
    if let Some(rest) = text.strip_prefix("near \"") {
        let near = rest.split('"').next().unwrap_or("");
        return ServerMessage::error(102, 15, format!("Incorrect syntax near '{near}'."));
    }
    ServerMessage::error(
        50000,
        16,
        format!("ferry-emulator could not run the statement: {text}"),
    )
}

/// A name as a SQLite quoted identifier.
pub(super) fn q(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

impl Instance {
    /// Runs a statement that changes data or schema; returns rows affected.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, ServerMessage> {
        let mut stmt = self.conn.prepare(sql).map_err(sqlite_error)?;
        let n = stmt
            .execute(rusqlite::params_from_iter(params.iter().map(Param)))
            .map_err(sqlite_error)?;
        Ok(n as u64)
    }

    /// Runs a query; columns are typed by their declared T-SQL types, or by their values when
    /// they are expressions.
    pub fn query(
        &mut self,
        sql: &str,
        params: &[Value],
    ) -> Result<(Vec<Column>, Vec<Vec<Value>>), ServerMessage> {
        self.query_typed(sql, params, &[])
    }

    /// [`Instance::query`] with the T-SQL types the statement gives some of its expression
    /// columns (`static_types[i]`, from sql/result_types.rs). An int column whose value does
    /// not fit fails as SQL Server fails it: error 8115, "Arithmetic overflow error converting
    /// expression to data type int." (severity 16).
    pub fn query_typed(
        &mut self,
        sql: &str,
        params: &[Value],
        static_types: &[Option<SqlType>],
    ) -> Result<(Vec<Column>, Vec<Vec<Value>>), ServerMessage> {
        let mut stmt = self.conn.prepare(sql).map_err(sqlite_error)?;
        let declared: Vec<(String, Option<SqlType>)> = stmt
            .columns()
            .iter()
            .map(|c| (c.name().to_owned(), c.decl_type().and_then(parse_decl_type)))
            .collect();
        let mut raw: Vec<Vec<rusqlite::types::Value>> = Vec::new();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params.iter().map(Param)))
            .map_err(sqlite_error)?;
        while let Some(row) = rows.next().map_err(sqlite_error)? {
            raw.push(
                (0..declared.len())
                    .map(|i| {
                        row.get::<_, rusqlite::types::Value>(i)
                            .unwrap_or(rusqlite::types::Value::Null)
                    })
                    .collect(),
            );
        }
        let columns: Vec<Column> = declared
            .iter()
            .enumerate()
            .map(|(i, (name, ty))| {
                // SQLite names an unaliased expression after its text; SQL Server leaves it
                // unnamed ("(No column name)" in SSMS).
                let plain = name
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == ' ' || c == '#' || c == '$')
                    && !name.contains("  ");
                let unnamed = !plain || name.contains(" ( ");
                let ty = ty
                    .or(static_types.get(i).copied().flatten())
                    .unwrap_or_else(|| infer_type(raw.iter().map(|r| &r[i])));
                Column::new(if unnamed { "" } else { name }, ty)
            })
            .collect();
        // Only the statically typed expressions: a declared column holds what was stored in it.
        for (i, c) in columns.iter().enumerate() {
            let typed_here =
                declared[i].1.is_none() && static_types.get(i).is_some_and(Option::is_some);
            if typed_here && let Some(name) = overflowing(c.ty, raw.iter().map(|r| &r[i])) {
                return Err(ServerMessage::error(
                    8115,
                    16,
                    format!("Arithmetic overflow error converting expression to data type {name}."),
                ));
            }
        }
        let rows = raw
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .zip(&columns)
                    .map(|(v, c)| from_sqlite(v, c.ty))
                    .collect()
            })
            .collect();
        Ok((columns, rows))
    }
}

/// The type's name when one of the integers does not fit in it.
fn overflowing<'a>(
    ty: SqlType,
    mut values: impl Iterator<Item = &'a rusqlite::types::Value>,
) -> Option<&'static str> {
    let (name, lo, hi) = match ty {
        SqlType::TinyInt => ("tinyint", 0, 255),
        SqlType::SmallInt => ("smallint", i16::MIN as i64, i16::MAX as i64),
        SqlType::Int => ("int", i32::MIN as i64, i32::MAX as i64),
        _ => return None,
    };
    values
        .any(|v| matches!(v, rusqlite::types::Value::Integer(i) if *i < lo || *i > hi))
        .then_some(name)
}

/// A declared type as the emulator stored it (`(max)` is kept as `(-1)`, which SQLite's type
/// grammar accepts).
fn parse_decl_type(decl: &str) -> Option<SqlType> {
    let decl = decl.replace("(-1)", "(max)");
    let tokens = crate::syntax::tokenize(&decl).ok()?;
    crate::syntax::parse_type(&tokens).ok().map(|(t, _)| t)
}

/// The type of an expression column, from its values (SQL Server would type it statically; the
/// emulator guesses from what came back).
fn infer_type<'a>(values: impl Iterator<Item = &'a rusqlite::types::Value>) -> SqlType {
    use rusqlite::types::Value as V;
    let mut ty = None;
    for v in values {
        ty = Some(match (ty, v) {
            (_, V::Null) => continue,
            (None | Some(SqlType::Int), V::Integer(i)) if i32::try_from(*i).is_ok() => SqlType::Int,
            (None | Some(SqlType::Int) | Some(SqlType::BigInt), V::Integer(_)) => SqlType::BigInt,
            (_, V::Integer(_) | V::Real(_)) => SqlType::Float,
            (_, V::Text(t)) if t.chars().count() > 4000 => SqlType::NVarChar(None),
            (Some(SqlType::NVarChar(None)), V::Text(_)) => SqlType::NVarChar(None),
            (_, V::Text(_)) => SqlType::NVarChar(Some(4000)),
            (_, V::Blob(_)) => SqlType::VarBinary(None),
        });
    }
    ty.unwrap_or(SqlType::Int)
}

fn from_sqlite(v: rusqlite::types::Value, ty: SqlType) -> Value {
    use rusqlite::types::Value as V;
    let as_text = |v: &V| match v {
        V::Text(t) => t.clone(),
        V::Integer(i) => i.to_string(),
        V::Real(f) => f.to_string(),
        V::Blob(b) => String::from_utf8_lossy(b).into_owned(),
        V::Null => String::new(),
    };
    match (ty, v) {
        (_, V::Null) => Value::Null,
        (SqlType::TinyInt | SqlType::SmallInt | SqlType::Int | SqlType::BigInt, V::Integer(i)) => {
            Value::Int(i)
        }
        (SqlType::TinyInt | SqlType::SmallInt | SqlType::Int | SqlType::BigInt, V::Real(f)) => {
            Value::Int(f as i64)
        }
        (SqlType::Bit, V::Integer(i)) => Value::Bit(i != 0),
        // sys.configurations' sql_variant columns hold int.
        (SqlType::SqlVariant, V::Integer(i)) => {
            Value::Variant(Box::new((SqlType::Int, Value::Int(i))))
        }
        (SqlType::Float, V::Real(f)) => Value::Float(f),
        (SqlType::Float, V::Integer(i)) => Value::Float(i as f64),
        (SqlType::Decimal(_, s), v) => {
            let t = as_text(&v);
            let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
            let frac: String = format!("{frac:0<width$}", width = s as usize)
                .chars()
                .take(s as usize)
                .collect();
            Value::Decimal(format!("{whole}{frac}").parse().unwrap_or(0), s)
        }
        (SqlType::VarBinary(_), V::Blob(b)) => Value::Binary(b),
        (SqlType::UniqueIdentifier, v) => {
            let hex: String = as_text(&v)
                .chars()
                .filter(|c| c.is_ascii_hexdigit())
                .collect();
            let mut g = [0u8; 16];
            for (i, b) in g.iter_mut().enumerate() {
                *b = u8::from_str_radix(hex.get(i * 2..i * 2 + 2).unwrap_or("00"), 16).unwrap_or(0);
            }
            Value::Guid(g)
        }
        (SqlType::Date, v) => {
            types::parse_datetime(&as_text(&v)).map_or(Value::Null, |(d, _)| Value::Date(d))
        }
        (SqlType::DateTime2, v) => {
            types::parse_datetime(&as_text(&v)).map_or(Value::Null, |(d, t)| Value::DateTime2(d, t))
        }
        (_, V::Blob(b)) => Value::Binary(b),
        (_, v) => Value::Text(as_text(&v)),
    }
}

/// A value bound as a SQLite parameter.
struct Param<'a>(&'a Value);

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Owned(rusqlite::types::Value::Null),
            Value::Bit(b) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(i64::from(*b))),
            Value::Int(i) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(*i)),
            Value::Float(f) => ToSqlOutput::Owned(rusqlite::types::Value::Real(*f)),
            Value::Binary(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            Value::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            Value::Variant(inner) => {
                return Param(&inner.1).to_sql().map(|o| {
                    ToSqlOutput::Owned(match o {
                        ToSqlOutput::Owned(v) => v,
                        ToSqlOutput::Borrowed(r) => r.into(),
                        _ => rusqlite::types::Value::Null,
                    })
                });
            }
            other => ToSqlOutput::Owned(rusqlite::types::Value::Text(types::text(other))),
        })
    }
}
