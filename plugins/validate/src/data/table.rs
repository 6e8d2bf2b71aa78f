//! One table's comparison: exact counts, then (sampled or full) its key ranges bisected, or a
//! whole-table checksum when it has no usable key. Its progress is journaled in [`Stage`].

use std::collections::BTreeMap;

use ferry_sdk::SqlValue;
use ferry_sdk::prelude::*;

use super::bisect::{Bisection, Range};
use super::encode::Column;
use super::job::{Plan, Scope, Stage, TableJob, one};
use super::key::Key;
use super::remote::{Remote, key_at};
use super::statements;
use super::verdict::{finish, keyless};
use crate::config::{Config, Depth};
use crate::report::{Finding, Tally, Verdict, emit};
use crate::sql::{CATALOG, INVALID_OBJECT, Rows, Server, read};

/// COUNT_BIG(*) on one side; None when the table is not there.
fn count(cx: &mut Context<'_, Config>, server: Server, table: &str) -> Result<Option<u64>> {
    match read(
        cx,
        server,
        &format!("the row count of {table}"),
        &statements::count(table),
        &[],
        CATALOG,
    ) {
        Ok(rows) => Ok(Some(
            rows.iter()
                .next()
                .map_or(0, |r| r.int("row_count").max(0) as u64),
        )),
        Err(Error::Failed(f)) if f.code == Some(INVALID_OBJECT) => Ok(None),
        Err(e) => Err(e),
    }
}

fn columns(rows: &Rows) -> Vec<Column> {
    rows.iter()
        .map(|r| Column {
            name: r.text("name"),
            type_name: r.text("type_name"),
            assembly: r.flag("is_assembly_type"),
        })
        .collect()
}

/// The primary key, else the first unique index whose key columns are all non-nullable.
pub fn choose_key(rows: &Rows) -> Option<(String, Vec<String>)> {
    let mut order: Vec<i64> = Vec::new();
    for r in rows.iter() {
        if !order.contains(&r.int("index_id")) {
            order.push(r.int("index_id"));
        }
    }
    order.into_iter().find_map(|id| {
        let cols: Vec<_> = rows.iter().filter(|r| r.int("index_id") == id).collect();
        let usable = cols.iter().all(|r| !r.flag("is_nullable"));
        (usable && !cols.is_empty()).then(|| {
            (
                cols[0].text("index_name"),
                cols.iter().map(|r| r.text("column_name")).collect(),
            )
        })
    })
}

/// Evenly spread slices of `r` rows among a table's `n`: `(first offset, end offset)`.
pub fn sample_slices(n: u64, r: u64, k: u64) -> Vec<(u64, u64)> {
    let r = r.max(1);
    let slices = n.div_ceil(r);
    let k = k.min(slices);
    (0..k)
        .map(|j| {
            // In u128: j × slices can pass u64 on a table of trillions of rows.
            let i = (u128::from(j) * u128::from(slices) / u128::from(k)) as u64;
            (i * r, i.saturating_add(1).saturating_mul(r).min(n))
        })
        .collect()
}

/// A catalog read about the table (`@table` is its three-part name in `db`), counted in its
/// cost.
fn about(
    cx: &mut Context<'_, Config>,
    server: Server,
    db: &str,
    job: &mut TableJob,
    what: &str,
    sql: String,
    budget: &mut u64,
) -> Result<Rows> {
    let table = ferry_sdk::Param::value("table", SqlValue::Text(job.table.qualified(db)));
    let rows = read(cx, server, what, &sql, &[table], CATALOG)?;
    one(&mut job.cost, budget, rows.len());
    Ok(rows)
}

/// Counts, schema and key; the next stage.
fn start(
    cx: &mut Context<'_, Config>,
    s: &Scope<'_>,
    job: &mut TableJob,
    budget: &mut u64,
    tally: &mut Tally,
) -> Result<Stage> {
    let name = job.table.display();
    let (src, tgt) = (job.table.qualified(s.db), job.table.qualified(s.target_db));
    let source_rows = count(cx, Server::Source, &src)?.unwrap_or(0);
    one(&mut job.cost, budget, 1);
    let target_rows = count(cx, Server::Target, &tgt)?;
    one(&mut job.cost, budget, 1);
    let Some(target_rows) = target_rows else {
        let f = Finding::new(
            "table-count",
            &name,
            Verdict::Differs,
            "table-missing-on-target",
            format!("{source_rows} rows on the source; the target has no such table."),
        );
        emit(cx, tally, f);
        return Ok(Stage::Done);
    };
    let f = if source_rows == target_rows {
        Finding::new(
            "table-count",
            &name,
            Verdict::Same,
            "same-count",
            format!("{source_rows} rows on both (COUNT_BIG(*))."),
        )
    } else {
        Finding::new(
            "table-count",
            &name,
            Verdict::Differs,
            "different-count",
            format!(
                "{source_rows} rows on the source, {target_rows} on the target (COUNT_BIG(*))."
            ),
        )
    };
    emit(cx, tally, f);
    if cx.config().depth == Depth::Counts {
        return Ok(Stage::Done);
    }
    let sc = about(
        cx,
        Server::Source,
        s.db,
        job,
        "sys.columns",
        statements::columns(s.db),
        budget,
    )?;
    let tc = about(
        cx,
        Server::Target,
        s.target_db,
        job,
        "sys.columns",
        statements::columns(s.target_db),
        budget,
    )?;
    let (scols, tcols) = (columns(&sc), columns(&tc));
    if scols != tcols {
        let show = |c: &[Column]| {
            c.iter()
                .map(|c| format!("{} {}", c.name, c.type_name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let f = Finding::new(
            "table-schema",
            &name,
            Verdict::Differs,
            "different-columns",
            format!(
                "Source columns: {}; target columns: {}. Contents not compared.",
                show(&scols),
                show(&tcols)
            ),
        );
        emit(cx, tally, f);
        return Ok(Stage::Done);
    }
    let keys = about(
        cx,
        Server::Source,
        s.db,
        job,
        "sys.indexes",
        statements::keys(s.db),
        budget,
    )?;
    let Some((key_index, key)) = choose_key(&keys) else {
        return keyless(cx, s, job, &scols, budget, tally);
    };
    let cfg = cx.config().clone();
    // Sampled: `sample_ranges` slices of a leaf's size. Full: every slice of `top_range_rows`
    // (one range for a table smaller than that).
    let slices = match cfg.depth {
        Depth::Sampled => sample_slices(
            source_rows,
            u64::from(cfg.range_rows),
            u64::from(cfg.sample_ranges),
        ),
        _ => sample_slices(source_rows, cfg.top_range_rows, u64::MAX),
    };
    let ranges = match slices.len() {
        // An empty source: the whole key space, so rows only on the target are listed.
        0 => vec![Range::default()],
        _ => {
            // Adjacent slices share a boundary: each offset is read once.
            let mut keys: BTreeMap<u64, Option<Key>> = BTreeMap::new();
            for &(a, b) in &slices {
                keys.extend((a > 0).then(|| (a - 1, None)));
                keys.extend((b < source_rows).then(|| (b - 1, None)));
            }
            for (offset, k) in keys.iter_mut() {
                one(&mut job.cost, budget, 1);
                *k = key_at(cx, Server::Source, &src, &key, &Range::default(), *offset)?;
            }
            let at = |o: u64| keys.get(&o).cloned().flatten();
            let mut out = Vec::new();
            for (a, b) in slices {
                let lo = if a == 0 { None } else { at(a - 1) };
                let hi = if b >= source_rows { None } else { at(b - 1) };
                out.push(Range { lo, hi });
            }
            out
        }
    };
    let plan = Plan {
        key,
        key_index,
        columns: scols,
        source_rows,
        ranges: ranges.len(),
    };
    Ok(Stage::Bisecting {
        plan,
        bisection: Bisection::new(ranges),
    })
}

/// Advances `job` within `budget` round trips.
pub fn advance(
    cx: &mut Context<'_, Config>,
    s: &Scope<'_>,
    job: &mut TableJob,
    budget: &mut u64,
    deadline: u64,
    tally: &mut Tally,
) -> Result<()> {
    let started = ferry_sdk::now_ms();
    let result = advance_within(cx, s, job, budget, deadline, tally);
    job.elapsed_ms += ferry_sdk::now_ms().saturating_sub(started);
    result
}

fn advance_within(
    cx: &mut Context<'_, Config>,
    s: &Scope<'_>,
    job: &mut TableJob,
    budget: &mut u64,
    deadline: u64,
    tally: &mut Tally,
) -> Result<()> {
    if job.stage == Stage::Pending {
        job.stage = start(cx, s, job, budget, tally)?;
    }
    let Stage::Bisecting {
        plan,
        mut bisection,
    } = std::mem::take(&mut job.stage)
    else {
        job.stage = Stage::Done;
        return Ok(());
    };
    let cfg = cx.config().clone();
    let before = bisection.cost.round_trips;
    let done = {
        let mut remote = Remote {
            cx,
            source_table: job.table.qualified(s.db),
            target_table: job.table.qualified(s.target_db),
            key: &plan.key,
            columns: &plan.columns,
            leaf_limit: cfg.range_rows.saturating_mul(2),
        };
        bisection.run(
            &mut remote,
            u64::from(cfg.range_rows),
            cfg.max_listed_rows as usize,
            (*budget).max(1),
            &mut || ferry_sdk::now_ms() >= deadline,
        )?
    };
    *budget = budget.saturating_sub(bisection.cost.round_trips - before);
    if done {
        finish(cx, job, &plan, &bisection, tally);
        job.stage = Stage::Done;
    } else {
        job.stage = Stage::Bisecting { plan, bisection };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_spread_over_the_table() {
        assert_eq!(sample_slices(1000, 100, 2), vec![(0, 100), (500, 600)]);
        assert_eq!(
            sample_slices(250, 100, 8),
            vec![(0, 100), (100, 200), (200, 250)]
        );
        assert_eq!(sample_slices(0, 100, 8), vec![]);
        // No overflow on a table of 2^62 rows.
        let huge = 1u64 << 62;
        let three = sample_slices(huge, 1000, 3);
        assert_eq!(three.len(), 3);
        assert_eq!(three[2].1 - three[2].0, 1000);
        assert_eq!(
            sample_slices(1000, 100, 3),
            vec![(0, 100), (300, 400), (600, 700)]
        );
    }
}
