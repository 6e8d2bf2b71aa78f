//! The data comparison: exact counts, then hashed key ranges bisected where they differ
//! (methods.md §6 "Row counts", "Content checksums").

pub mod bisect;
pub mod encode;
pub mod job;
pub mod key;
mod remote;
pub mod statements;
pub mod table;
mod verdict;

use ferry_sdk::prelude::*;

use crate::config::Config;
use crate::report::{Finding, Tally, Verdict, emit};
use crate::sql::{CATALOG, Server, read};
use job::{Scope, Stage, TableJob};
use statements::TableRef;

/// The source's user tables, less those `exclude_tables` leaves out (each a row).
pub fn list(cx: &mut Context<'_, Config>, tally: &mut Tally) -> Result<Vec<TableJob>> {
    let db = cx.item().to_owned();
    let rows = read(
        cx,
        Server::Source,
        "sys.tables",
        &statements::tables(&db),
        &[],
        CATALOG,
    )?;
    let mut jobs = Vec::new();
    for r in rows.iter() {
        let table = TableRef {
            schema: r.text("schema_name"),
            name: r.text("table_name"),
        };
        if cx.config().excluded(&table.schema, &table.name) {
            let f = Finding::new(
                "table-data",
                table.display(),
                Verdict::NotCompared,
                "excluded",
                "Left out by `exclude_tables`.",
            );
            emit(cx, tally, f);
            continue;
        }
        jobs.push(TableJob {
            table,
            stage: Stage::Pending,
            cost: bisect::Cost::default(),
            elapsed_ms: 0,
        });
    }
    Ok(jobs)
}

/// Works through the tables for at most `queries_per_call` round trips; true when all are done.
pub fn work(
    cx: &mut Context<'_, Config>,
    jobs: &mut [TableJob],
    tally: &mut Tally,
) -> Result<bool> {
    let db = cx.item().to_owned();
    let target_db = cx.config().target_db(&db);
    let scope = Scope {
        db: &db,
        target_db: &target_db,
    };
    let mut budget = u64::from(cx.config().queries_per_call);
    let deadline = ferry_sdk::now_ms() + u64::from(cx.config().seconds_per_call) * 1000;
    let total = jobs.len().max(1) as f32;
    for i in 0..jobs.len() {
        if jobs[i].stage == Stage::Done {
            continue;
        }
        if budget == 0 || ferry_sdk::now_ms() >= deadline {
            return Ok(false);
        }
        let done = jobs.iter().filter(|j| j.stage == Stage::Done).count();
        cx.progress(ProgressUpdate {
            phase: "data".into(),
            fraction: Some(done as f32 / total),
            bytes_done: None,
            bytes_total: None,
            current: Some(jobs[i].table.display()),
            message: Some(format!("{done} of {} tables compared", jobs.len())),
        });
        table::advance(cx, &scope, &mut jobs[i], &mut budget, deadline, tally)?;
        if jobs[i].stage != Stage::Done {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Every table's cost, for the output (the benchmark reads it).
pub fn costs(jobs: &[TableJob]) -> serde_json::Value {
    let mut total = bisect::Cost::default();
    let mut elapsed_ms = 0;
    let per: serde_json::Map<String, serde_json::Value> = jobs
        .iter()
        .map(|j| {
            total.add(j.cost);
            elapsed_ms += j.elapsed_ms;
            (
                j.table.display(),
                serde_json::json!({
                    "round_trips": j.cost.round_trips,
                    "rows_read": j.cost.rows_read,
                    "elapsed_ms": j.elapsed_ms,
                }),
            )
        })
        .collect();
    serde_json::json!({
        "round_trips": total.round_trips,
        "rows_read": total.rows_read,
        "elapsed_ms": elapsed_ms,
        "tables": per,
    })
}
