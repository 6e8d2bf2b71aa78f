//! Reading through a label: queries whose rows are read by column name, errors that say which
//! server and what was being read, and the few changes the target may be asked for.

use ferry_sdk::prelude::*;
use ferry_sdk::{Param, QueryLimits, SqlValue, StatementOptions};

use crate::config::Config;

/// A catalog read: a database with 100,000 objects or permissions is beyond the largest
/// ferry is built for; more is refused by name rather than compared in part.
pub const CATALOG: QueryLimits = QueryLimits {
    max_rows: 100_000,
    max_bytes: 64 << 20,
};

/// SQL Server's "Invalid object name" and "Invalid column name": a view or column the
/// server's version lacks.
pub const INVALID_OBJECT: i32 = 208;
pub const INVALID_COLUMN: i32 = 207;

/// Which server a query goes to, by the config's label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Source,
    Target,
}

impl Server {
    pub fn label(self, cfg: &Config) -> &str {
        match self {
            Server::Source => &cfg.source,
            Server::Target => &cfg.target,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Server::Source => "source",
            Server::Target => "target",
        }
    }
}

/// `e` with `what` in front of its message; denials and config errors keep their shape.
pub fn within(e: Error, what: &str) -> Error {
    match e {
        Error::Failed(mut f) => {
            f.message = format!("{what}: {}", f.message);
            Error::Failed(f)
        }
        Error::Transient(mut f) => {
            f.message = format!("{what}: {}", f.message);
            Error::Transient(f)
        }
        other => other,
    }
}

/// The first result set of a query, read by column name.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    columns: Vec<String>,
    rows: Vec<Vec<SqlValue>>,
}

/// Runs a read on `server`; `what` names it in errors, with the server's label.
pub fn read(
    cx: &mut Context<'_, Config>,
    server: Server,
    what: &str,
    sql: &str,
    params: &[Param],
    limits: QueryLimits,
) -> Result<Rows> {
    let label = server.label(cx.config()).to_owned();
    let context = format!("reading {what} on `{label}` ({})", server.name());
    let conn = cx.sql(&label)?;
    let result = cx
        .query(conn, sql, params, limits)
        .map_err(|e| within(e, &context))?;
    let Some(set) = result.sets.into_iter().next() else {
        return Ok(Rows::default());
    };
    if set.truncated {
        return Err(Error::failed(format!(
            "{context}: more than {} rows; leave some out (exclude_tables) or compare less",
            limits.max_rows
        )));
    }
    Ok(Rows {
        columns: set.columns.into_iter().map(|c| c.name).collect(),
        rows: set.rows,
    })
}

/// Like [`read`], but None when the server has no such view or column (a version without it).
pub fn read_if_present(
    cx: &mut Context<'_, Config>,
    server: Server,
    what: &str,
    sql: &str,
    params: &[Param],
) -> Result<Option<Rows>> {
    match read(cx, server, what, sql, params, CATALOG) {
        Ok(r) => Ok(Some(r)),
        Err(Error::Failed(f)) if matches!(f.code, Some(INVALID_OBJECT | INVALID_COLUMN)) => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Runs a change on the target; `what` names it in a failure. The server's error number is
/// kept as the failure's code.
pub fn change(
    cx: &mut Context<'_, Config>,
    what: &str,
    sql: &str,
    timeout_ms: Option<u32>,
) -> Result<()> {
    let label = cx.config().target.clone();
    let conn = cx.sql(&label)?;
    cx.execute(
        conn,
        sql,
        &[],
        StatementOptions {
            idempotent: true,
            timeout_ms,
        },
    )
    .map(|_| ())
    .map_err(|e| within(e, &format!("{what} on `{label}` (target)")))
}

/// A text parameter.
pub fn text_param(name: &str, v: &str) -> Param {
    Param::value(name, SqlValue::Text(v.to_owned()))
}

impl Rows {
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = Row<'_>> {
        (0..self.rows.len()).map(move |i| Row { rows: self, i })
    }
    /// The raw values of row `i`.
    pub fn values(&self, i: usize) -> &[SqlValue] {
        &self.rows[i]
    }
}

/// One row; a column the result lacks reads as NULL.
#[derive(Clone, Copy)]
pub struct Row<'a> {
    rows: &'a Rows,
    i: usize,
}

impl Row<'_> {
    pub fn value(&self, column: &str) -> Option<&SqlValue> {
        let k = self
            .rows
            .columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(column))?;
        self.rows.rows[self.i].get(k)
    }
    /// Text, numbers in decimal, binary as upper-case hex; NULL as "".
    pub fn text(&self, column: &str) -> String {
        ferry_sdk::sql_value::text(self.value(column))
    }
    pub fn int(&self, column: &str) -> i64 {
        ferry_sdk::sql_value::int(self.value(column))
    }
    pub fn flag(&self, column: &str) -> bool {
        self.int(column) != 0
    }
    pub fn is_null(&self, column: &str) -> bool {
        matches!(self.value(column), None | Some(SqlValue::Null))
    }
    pub fn index(&self) -> usize {
        self.i
    }
}
