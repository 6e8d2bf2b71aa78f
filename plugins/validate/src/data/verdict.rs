//! A table's rows in the report: the listed differing rows and the table's verdict, or the
//! whole-table checksum of a table without a usable key.

use ferry_sdk::prelude::*;

use super::bisect::{Bisection, RowDiff};
use super::encode::{Column, checksum_ignores, encoding, how};
use super::job::{Plan, Scope, Stage, TableJob, one};
use super::key::show;
use super::statements;
use crate::config::{Config, Depth};
use crate::report::{Finding, Tally, Verdict, emit};
use crate::sql::{CATALOG, Server, read};

/// Notes on columns that are compared specially or not at all.
fn coverage(cols: &[Column], keyed: bool) -> String {
    let notes: Vec<String> = cols
        .iter()
        .filter_map(|c| {
            if keyed {
                how(encoding(c)).map(|h| format!("{} ({}) {h}", c.name, c.type_name))
            } else {
                checksum_ignores(c).then(|| {
                    format!(
                        "{} ({}) not covered by BINARY_CHECKSUM",
                        c.name, c.type_name
                    )
                })
            }
        })
        .collect();
    if notes.is_empty() {
        String::new()
    } else {
        format!(" Columns: {}.", notes.join("; "))
    }
}

/// No usable key: count and CHECKSUM_AGG(BINARY_CHECKSUM(*)) on both sides.
pub fn keyless(
    cx: &mut Context<'_, Config>,
    s: &Scope<'_>,
    job: &mut TableJob,
    cols: &[Column],
    budget: &mut u64,
    tally: &mut Tally,
) -> Result<Stage> {
    let name = job.table.display();
    let mut sums = Vec::new();
    for (server, db) in [(Server::Source, s.db), (Server::Target, s.target_db)] {
        let t = job.table.qualified(db);
        let rows = read(
            cx,
            server,
            &format!("the checksum of {t}"),
            &statements::whole_checksum(&t),
            &[],
            CATALOG,
        )?;
        one(&mut job.cost, budget, 1);
        sums.push(
            rows.iter()
                .next()
                .map(|r| (r.int("row_count"), r.text("checksum"))),
        );
    }
    let how = format!(
        "No primary key or unique index on non-nullable columns: compared as a whole by \
         COUNT_BIG(*) and CHECKSUM_AGG(BINARY_CHECKSUM(*)), which can miss a change (a 32-bit \
         checksum) and cannot say which rows differ.{}",
        coverage(cols, false)
    );
    let f = if sums[0] == sums[1] {
        Finding::new(
            "table-data",
            &name,
            Verdict::Same,
            "compared-by-checksum",
            how,
        )
    } else {
        Finding::new(
            "table-data",
            &name,
            Verdict::Differs,
            "checksum-differs",
            format!("The whole-table checksums differ. {how} Add a primary key to find the rows."),
        )
    };
    emit(cx, tally, f);
    Ok(Stage::Done)
}

pub fn finish(
    cx: &mut Context<'_, Config>,
    job: &mut TableJob,
    plan: &Plan,
    b: &Bisection,
    tally: &mut Tally,
) {
    let name = job.table.display();
    job.cost.add(b.cost);
    for d in &b.diffs {
        let (code, what) = match d {
            RowDiff::Changed(_) => ("row-changed", "Different contents on the target."),
            RowDiff::Missing(_) => ("row-missing-on-target", "On the source only."),
            RowDiff::Extra(_) => ("row-only-on-target", "On the target only."),
        };
        let f = Finding::new(
            "table-row",
            format!("{name} {}", show(d.key())),
            Verdict::Differs,
            code,
            format!(
                "{what} Key ({}) from {}.",
                plan.key.join(", "),
                plan.key_index
            ),
        );
        emit(cx, tally, f);
    }
    let scope = if cx.config().depth == Depth::Full {
        "every row".to_owned()
    } else {
        format!(
            "{} sampled range(s) of up to {} rows",
            plan.ranges,
            cx.config().range_rows
        )
    };
    let cost = format!(
        "{} round trips, {} rows read for {} source rows",
        job.cost.round_trips, job.cost.rows_read, plan.source_rows
    );
    let covered = coverage(&plan.columns, true);
    let f = if b.diffs.is_empty() {
        Finding::new(
            "table-data",
            &name,
            Verdict::Same,
            "same-contents",
            format!(
                "{scope}: {} rows the same, by SHA2_256 row hashes over key ranges on {} ({cost}).{covered}",
                b.matched_rows, plan.key_index
            ),
        )
    } else {
        let more = if b.stopped_at_limit {
            " Listing stopped at `max_listed_rows`; more rows may differ."
        } else {
            ""
        };
        Finding::new(
            "table-data",
            &name,
            Verdict::Differs,
            "different-contents",
            format!(
                "{scope}: {} row(s) differ, each listed as a table-row ({cost}).{more}{covered}",
                b.diffs.len()
            ),
        )
    };
    emit(cx, tally, f);
}
