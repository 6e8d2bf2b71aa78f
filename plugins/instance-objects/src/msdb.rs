//! Calls to msdb's system procedures as T-SQL text, and the categories SQL Agent files jobs and
//! operators under. System procedures take literals, so every value is written quoted in the
//! text; only secrets go as sealed parameters, which the caller adds.

use std::collections::BTreeMap;

use ferry_sdk::SqlConnection;
use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::quote_text;

use crate::config::Config;
use crate::table::Table;

/// One argument of a procedure call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Text(String),
    Int(i64),
    /// A parameter of the batch (`@password`), passed sealed by the caller.
    Param(&'static str),
    /// `@variable OUTPUT`.
    Output(&'static str),
    /// A variable the batch declared.
    Var(&'static str),
}

pub fn text(s: impl Into<String>) -> Arg {
    Arg::Text(s.into())
}

/// `EXEC msdb.dbo.<proc> @a = N'…', @b = 1`; arguments in the order given.
pub fn exec(proc: &str, args: &[(&str, Arg)]) -> String {
    let list: Vec<String> = args
        .iter()
        .map(|(name, a)| {
            let v = match a {
                Arg::Text(t) => quote_text(t),
                Arg::Int(i) => i.to_string(),
                Arg::Param(p) | Arg::Var(p) => format!("@{p}"),
                Arg::Output(p) => format!("@{p} OUTPUT"),
            };
            format!("@{name} = {v}")
        })
        .collect();
    if list.is_empty() {
        format!("EXEC msdb.dbo.{proc}")
    } else {
        format!("EXEC msdb.dbo.{proc} {}", list.join(", "))
    }
}

/// One row of `msdb.dbo.syscategories`.
#[derive(Debug, Clone)]
pub struct Category {
    pub name: String,
    /// 1 job, 2 alert, 3 operator.
    pub class: i64,
    /// 1 local, 2 multiserver, 3 none.
    pub kind: i64,
}

/// Categories by id ("dbo.syscategories (Transact-SQL)").
pub fn categories(
    cx: &mut Context<'_, Config>,
    conn: SqlConnection,
) -> Result<BTreeMap<i64, Category>> {
    let t = Table::read(
        cx,
        conn,
        "msdb.dbo.syscategories",
        "SELECT category_id, category_class, category_type, name FROM msdb.dbo.syscategories",
        &[],
    )?;
    Ok(t.rows()
        .map(|r| {
            (
                r.int("category_id"),
                Category {
                    name: r.text("name"),
                    class: r.int("category_class"),
                    kind: r.int("category_type"),
                },
            )
        })
        .collect())
}

/// Categories msdb installs (ids below 100, "[Uncategorized…]"): every instance has them.
pub fn is_builtin_category(id: i64, c: &Category) -> bool {
    id < 100 || c.name.starts_with("[Uncategorized")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_quote_text_and_keep_order() {
        assert_eq!(
            exec(
                "sp_add_job",
                &[("job_name", text("it's")), ("enabled", Arg::Int(1))]
            ),
            "EXEC msdb.dbo.sp_add_job @job_name = N'it''s', @enabled = 1"
        );
        assert_eq!(
            exec(
                "sp_add_schedule",
                &[("schedule_id", Arg::Output("schedule_id"))]
            ),
            "EXEC msdb.dbo.sp_add_schedule @schedule_id = @schedule_id OUTPUT"
        );
    }
}
