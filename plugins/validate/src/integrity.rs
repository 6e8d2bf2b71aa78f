//! On the target, after the comparisons (methods.md §6): DBCC CHECKDB, the compatibility level
//! ([`crate::compat`]), statistics updated. Each is one report row. Only these write to the
//! target (CHECKDB needs it for its internal snapshot and is refused under a `read` grant).
//!
//! CHECKDB and the statistics update can run for hours on a big database, far past a step
//! call's time limit: each is a host operation the step waits for. An operation a restarted
//! ferry no longer knows is started again (both are safe to repeat).

use ferry_sdk::OperationState;
use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::quote_name;
use serde::{Deserialize, Serialize};

use crate::config::{Checkdb, Config, UpdateStatistics};
use crate::data::statements;
use crate::report::{Finding, Tally, Verdict, emit};
use crate::sql::{CATALOG, Server, read};

/// Where the target's checks are (journaled).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "at", rename_all = "kebab-case")]
pub enum Work {
    #[default]
    Checkdb,
    CheckingDb {
        op: String,
    },
    Compatibility,
    Statistics,
    UpdatingStatistics {
        op: String,
        /// What the update covers, for its row.
        what: String,
    },
    Done,
}

/// What the step does next.
pub enum Next {
    /// Go on at once.
    Go(Work),
    /// Wait for operation `op`.
    Wait {
        work: Work,
        op: String,
        reason: String,
    },
}

/// "DBCC CHECKDB (Transact-SQL)", learn.microsoft.com: NO_INFOMSGS leaves only errors,
/// ALL_ERRORMSGS lists every one; PHYSICAL_ONLY limits the check to page and allocation
/// structures. Managed Instance takes no repair option.
pub fn checkdb_statement(db: &str, mode: Checkdb) -> Option<String> {
    let physical = match mode {
        Checkdb::Off => return None,
        Checkdb::PhysicalOnly => ", PHYSICAL_ONLY",
        Checkdb::Full => "",
    };
    Some(format!(
        "DBCC CHECKDB ({}) WITH NO_INFOMSGS, ALL_ERRORMSGS{physical}",
        quote_name(db)
    ))
}

/// How an operation stands.
enum Ended {
    Running,
    Succeeded,
    Failed(String),
    /// Not known to this host (ferry restarted): start it again.
    Unknown,
}

fn ended(cx: &mut Context<'_, Config>, op: &str) -> Ended {
    match cx.operation(op) {
        Ok(st) => match st.state {
            OperationState::Running => Ended::Running,
            OperationState::Succeeded => Ended::Succeeded,
            OperationState::Failed(f) => Ended::Failed(match f.code {
                Some(c) => format!("error {c}: {}", f.message),
                None => f.message,
            }),
            OperationState::Cancelled => Ended::Failed("the operation was cancelled".into()),
        },
        Err(_) => Ended::Unknown,
    }
}

fn start(cx: &mut Context<'_, Config>, sql: &str, description: &str) -> Result<String> {
    let label = cx.config().target.clone();
    let conn = cx.sql(&label)?;
    cx.start_statement(conn, sql, &[], description)
        .map_err(|e| {
            crate::sql::within(e, &format!("starting {description} on `{label}` (target)"))
        })
}

fn checkdb_row(mode: Checkdb, db: &str, failure: Option<String>) -> Finding {
    let what = match mode {
        Checkdb::Off => "off",
        Checkdb::PhysicalOnly => "physical_only",
        Checkdb::Full => "full",
    };
    match failure {
        None => Finding::new(
            "integrity",
            db,
            Verdict::Same,
            "checkdb-clean",
            format!("DBCC CHECKDB ({what}) found no errors."),
        ),
        Some(e) => Finding::new(
            "integrity",
            db,
            Verdict::Differs,
            "checkdb-errors",
            format!(
                "DBCC CHECKDB ({what}) reported: {}. Managed Instance allows no repair \
                 options: open a support case, or migrate the database again from a clean \
                 backup.",
                e.trim_end_matches('.')
            ),
        ),
    }
}

/// The statistics update's statement and what it covers; None when there is nothing to do.
fn statistics_statement(
    cx: &mut Context<'_, Config>,
    tdb: &str,
) -> Result<Option<(String, String)>> {
    Ok(match cx.config().update_statistics {
        UpdateStatistics::Off => None,
        // sp_updatestats runs in the database it is called through ("sp_updatestats").
        UpdateStatistics::Sampled => Some((
            format!("EXEC {}.sys.sp_updatestats", quote_name(tdb)),
            "sp_updatestats".into(),
        )),
        UpdateStatistics::Fullscan => {
            let sql = statements::tables(tdb);
            let tables = read(cx, Server::Target, "sys.tables", &sql, &[], CATALOG)?;
            let lines: Vec<String> = tables
                .iter()
                .map(|r| {
                    let t = statements::TableRef {
                        schema: r.text("schema_name"),
                        name: r.text("table_name"),
                    };
                    format!("UPDATE STATISTICS {} WITH FULLSCAN;", t.qualified(tdb))
                })
                .collect();
            (!lines.is_empty()).then(|| {
                (
                    lines.join("\n"),
                    format!(
                        "UPDATE STATISTICS … WITH FULLSCAN on {} table(s)",
                        lines.len()
                    ),
                )
            })
        }
    })
}

/// One move of the target's checks.
pub fn step(cx: &mut Context<'_, Config>, tally: &mut Tally, work: Work) -> Result<Next> {
    let db = cx.item().to_owned();
    let tdb = cx.config().target_db(&db);
    let mode = cx.config().checkdb;
    Ok(match work {
        Work::Checkdb => match checkdb_statement(&tdb, mode) {
            None => Next::Go(Work::Compatibility),
            Some(sql) => {
                let op = start(cx, &sql, &format!("DBCC CHECKDB ([{tdb}])"))?;
                Next::Wait {
                    work: Work::CheckingDb { op: op.clone() },
                    op,
                    reason: "DBCC CHECKDB on the target".into(),
                }
            }
        },
        Work::CheckingDb { op } => match ended(cx, &op) {
            Ended::Running => Next::Wait {
                work: Work::CheckingDb { op: op.clone() },
                op,
                reason: "DBCC CHECKDB on the target".into(),
            },
            Ended::Unknown => Next::Go(Work::Checkdb),
            Ended::Succeeded => {
                emit(cx, tally, checkdb_row(mode, &tdb, None));
                Next::Go(Work::Compatibility)
            }
            Ended::Failed(e) => {
                emit(cx, tally, checkdb_row(mode, &tdb, Some(e)));
                Next::Go(Work::Compatibility)
            }
        },
        Work::Compatibility => {
            crate::compat::compatibility(cx, tally, &db, &tdb)?;
            Next::Go(Work::Statistics)
        }
        Work::Statistics => match statistics_statement(cx, &tdb)? {
            None => Next::Go(Work::Done),
            Some((sql, what)) => {
                let op = start(cx, &sql, &what)?;
                Next::Wait {
                    work: Work::UpdatingStatistics {
                        op: op.clone(),
                        what,
                    },
                    op,
                    reason: "updating statistics on the target".into(),
                }
            }
        },
        Work::UpdatingStatistics { op, what } => {
            let f = match ended(cx, &op) {
                Ended::Running => {
                    return Ok(Next::Wait {
                        work: Work::UpdatingStatistics {
                            op: op.clone(),
                            what,
                        },
                        op,
                        reason: "updating statistics on the target".into(),
                    });
                }
                Ended::Unknown => return Ok(Next::Go(Work::Statistics)),
                Ended::Succeeded => Finding::new(
                    "statistics",
                    &tdb,
                    Verdict::Changed,
                    "updated",
                    format!("{what} done."),
                ),
                Ended::Failed(e) => Finding::new(
                    "statistics",
                    &tdb,
                    Verdict::Differs,
                    "not-updated",
                    format!("{what} failed: {e}"),
                ),
            };
            emit(cx, tally, f);
            Next::Go(Work::Done)
        }
        Work::Done => Next::Go(Work::Done),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkdb_statements_follow_the_mode() {
        assert_eq!(checkdb_statement("Sales", Checkdb::Off), None);
        assert_eq!(
            checkdb_statement("Sales", Checkdb::PhysicalOnly).unwrap(),
            "DBCC CHECKDB ([Sales]) WITH NO_INFOMSGS, ALL_ERRORMSGS, PHYSICAL_ONLY"
        );
        assert_eq!(
            checkdb_statement("a]b", Checkdb::Full).unwrap(),
            "DBCC CHECKDB ([a]]b]) WITH NO_INFOMSGS, ALL_ERRORMSGS"
        );
    }
}
