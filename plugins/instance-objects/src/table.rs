//! Query results read by column name. The plugin reads each catalog view on its own and joins in
//! Rust, so one view a server lacks fails one family with its name, not a whole query.

use ferry_sdk::prelude::*;
use ferry_sdk::{Cell, Param, QueryLimits, Secret, SqlConnection, SqlValue};

/// What a catalog read may return: an instance with 50,000 logins or jobs is far beyond the
/// largest estates ferry is built for; the host caps bytes itself as well.
const LIMITS: QueryLimits = QueryLimits {
    max_rows: 50_000,
    max_bytes: 64 << 20,
};

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

/// The first result set of a query.
pub struct Table {
    columns: Vec<String>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    /// Runs `sql` and keeps its first result set; `what` names it in errors.
    pub fn read(
        cx: &mut Context<'_, crate::config::Config>,
        conn: SqlConnection,
        what: &str,
        sql: &str,
        params: &[Param],
    ) -> Result<Table> {
        Self::read_sealed(cx, conn, what, sql, params, &[])
    }

    /// Like [`Table::read`], with `sealed` columns held by the host (password hashes, keys).
    pub fn read_sealed(
        cx: &mut Context<'_, crate::config::Config>,
        conn: SqlConnection,
        what: &str,
        sql: &str,
        params: &[Param],
        sealed: &[&str],
    ) -> Result<Table> {
        let sets = cx
            .query_sealed(conn, sql, params, LIMITS, sealed)
            .map_err(|e| within(e, &format!("reading {what}")))?;
        let Some(set) = sets.into_iter().next() else {
            return Ok(Table {
                columns: Vec::new(),
                rows: Vec::new(),
            });
        };
        if set.truncated {
            return Err(Error::failed(format!(
                "reading {what}: more than {} rows; narrow the family with `include`/`exclude`",
                LIMITS.max_rows
            )));
        }
        Ok(Table {
            columns: set.columns.into_iter().map(|c| c.name).collect(),
            rows: set.rows,
        })
    }

    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        (0..self.rows.len()).map(move |i| Row { table: self, i })
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// One row; a column the result lacks reads as NULL.
#[derive(Clone, Copy)]
pub struct Row<'a> {
    table: &'a Table,
    i: usize,
}

impl Row<'_> {
    fn cell(&self, column: &str) -> Option<&Cell> {
        let k = self
            .table
            .columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(column))?;
        self.table.rows[self.i].get(k)
    }

    fn value(&self, column: &str) -> Option<&SqlValue> {
        match self.cell(column)? {
            Cell::Value(v) => Some(v),
            Cell::Sealed(_) => None,
        }
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
            && !matches!(self.cell(column), Some(Cell::Sealed(_)))
    }

    pub fn bytes(&self, column: &str) -> Option<Vec<u8>> {
        match self.value(column)? {
            SqlValue::Binary(b) => Some(b.clone()),
            _ => None,
        }
    }

    /// A sealed cell's secret (None for NULL).
    pub fn secret(&self, column: &str) -> Option<Secret> {
        match self.cell(column)? {
            Cell::Sealed(s) => Some(*s),
            Cell::Value(_) => None,
        }
    }
}
