//! On the target, after the comparisons (methods.md §6): DBCC CHECKDB, the compatibility level
//! kept or raised, statistics updated. Each is one report row. Only these write to the target
//! (CHECKDB needs it for its internal snapshot and is refused under a `read` grant).

use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::quote_name;

use crate::config::{Checkdb, CompatibilityLevel, CompatibilityMode, Config, UpdateStatistics};
use crate::data::statements;
use crate::report::{Finding, Tally, Verdict, emit};
use crate::sql::{CATALOG, Server, change, read, text_param};

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

fn checkdb(cx: &mut Context<'_, Config>, tally: &mut Tally, db: &str) -> Result<()> {
    let mode = cx.config().checkdb;
    let Some(sql) = checkdb_statement(db, mode) else {
        return Ok(());
    };
    let what = format!("{mode:?}").to_lowercase();
    let f = match change(cx, "DBCC CHECKDB", &sql, None) {
        Ok(()) => Finding::new(
            "integrity",
            db,
            Verdict::Same,
            "checkdb-clean",
            format!("DBCC CHECKDB ({what}) found no errors."),
        ),
        Err(Error::Failed(e)) => Finding::new(
            "integrity",
            db,
            Verdict::Differs,
            "checkdb-errors",
            format!(
                "DBCC CHECKDB ({what}) reported: {}. Managed Instance allows no repair \
                 options: open a support case, or migrate the database again from a clean \
                 backup.",
                e.message
            ),
        ),
        Err(e) => return Err(e),
    };
    emit(cx, tally, f);
    Ok(())
}

fn level(cx: &mut Context<'_, Config>, server: Server, db: &str) -> Result<Option<i64>> {
    let rows = read(
        cx,
        server,
        "sys.databases",
        "SELECT compatibility_level FROM sys.databases WHERE name = @db",
        &[text_param("db", db)],
        CATALOG,
    )?;
    Ok(rows.iter().next().map(|r| r.int("compatibility_level")))
}

/// The highest level the target is known to support: the highest of its system databases'.
/// "ALTER DATABASE compatibility level" (learn.microsoft.com): on an upgrade "the tempdb, model,
/// msdb and Resource databases are set to the default compatibility level" of the engine, and
/// the engine's default is its highest on the versions Managed Instance runs. Any level a
/// database there has is one the engine takes.
fn highest(cx: &mut Context<'_, Config>) -> Result<i64> {
    let rows = read(
        cx,
        Server::Target,
        "sys.databases",
        "SELECT MAX(compatibility_level) AS highest FROM sys.databases \
         WHERE name IN (N'master', N'tempdb', N'model', N'msdb')",
        &[],
        CATALOG,
    )?;
    Ok(rows.iter().next().map_or(0, |r| r.int("highest")))
}

fn compatibility(
    cx: &mut Context<'_, Config>,
    tally: &mut Tally,
    db: &str,
    tdb: &str,
) -> Result<()> {
    let (Some(s), Some(t)) = (
        level(cx, Server::Source, db)?,
        level(cx, Server::Target, tdb)?,
    ) else {
        return Ok(()); // the properties phase reported the missing database
    };
    let wanted = match cx.config().compatibility_level {
        CompatibilityLevel::Mode(CompatibilityMode::Keep) => {
            let f = if s == t {
                Finding::new(
                    "compatibility-level",
                    tdb,
                    Verdict::Same,
                    "kept",
                    format!("{t}, as on the source."),
                )
            } else {
                Finding::new(
                    "compatibility-level",
                    tdb,
                    Verdict::Differs,
                    "not-kept",
                    format!(
                        "Source {s}, target {t}. Keep the source's level until a baseline is \
                         taken: ALTER DATABASE {} SET COMPATIBILITY_LEVEL = {s};",
                        quote_name(tdb)
                    ),
                )
            };
            emit(cx, tally, f);
            return Ok(());
        }
        CompatibilityLevel::Mode(CompatibilityMode::Raise) => highest(cx)?.max(t),
        CompatibilityLevel::Level(n) => i64::from(n),
    };
    if wanted == t {
        let f = Finding::new(
            "compatibility-level",
            tdb,
            Verdict::Same,
            "at-level",
            format!("Already {t} (source {s})."),
        );
        emit(cx, tally, f);
        return Ok(());
    }
    let sql = format!(
        "ALTER DATABASE {} SET COMPATIBILITY_LEVEL = {wanted}",
        quote_name(tdb)
    );
    let f = match change(cx, "setting the compatibility level", &sql, None) {
        Ok(()) => Finding::new(
            "compatibility-level",
            tdb,
            Verdict::Changed,
            "set",
            format!(
                "Set from {t} to {wanted} (source {s}); compare query performance with a baseline."
            ),
        ),
        Err(Error::Failed(e)) => Finding::new(
            "compatibility-level",
            tdb,
            Verdict::Differs,
            "not-set",
            format!("Setting {wanted} failed: {}", e.message),
        ),
        Err(e) => return Err(e),
    };
    emit(cx, tally, f);
    Ok(())
}

fn statistics(cx: &mut Context<'_, Config>, tally: &mut Tally, tdb: &str) -> Result<()> {
    let mode = cx.config().update_statistics;
    let result = match mode {
        UpdateStatistics::Off => return Ok(()),
        // sp_updatestats runs in the database it is called through ("sp_updatestats").
        UpdateStatistics::Sampled => {
            let sql = format!("EXEC {}.sys.sp_updatestats", quote_name(tdb));
            change(cx, "sp_updatestats", &sql, None).map(|()| "sp_updatestats".to_owned())
        }
        UpdateStatistics::Fullscan => {
            let tables = read(
                cx,
                Server::Target,
                "sys.tables",
                &statements::tables(tdb),
                &[],
                CATALOG,
            )?;
            let mut n = 0;
            let mut result = Ok(());
            for r in tables.iter() {
                let t = statements::TableRef {
                    schema: r.text("schema_name"),
                    name: r.text("table_name"),
                };
                let sql = format!("UPDATE STATISTICS {} WITH FULLSCAN", t.qualified(tdb));
                result = change(
                    cx,
                    &format!("UPDATE STATISTICS on {}", t.display()),
                    &sql,
                    None,
                );
                if result.is_err() {
                    break;
                }
                n += 1;
            }
            result.map(|()| format!("UPDATE STATISTICS … WITH FULLSCAN on {n} table(s)"))
        }
    };
    let f = match result {
        Ok(done) => Finding::new(
            "statistics",
            tdb,
            Verdict::Changed,
            "updated",
            format!("{done} done."),
        ),
        Err(Error::Failed(e)) => Finding::new(
            "statistics",
            tdb,
            Verdict::Differs,
            "not-updated",
            e.message,
        ),
        Err(e) => return Err(e),
    };
    emit(cx, tally, f);
    Ok(())
}

pub fn run(cx: &mut Context<'_, Config>, tally: &mut Tally) -> Result<()> {
    let db = cx.item().to_owned();
    let tdb = cx.config().target_db(&db);
    checkdb(cx, tally, &tdb)?;
    compatibility(cx, tally, &db, &tdb)?;
    statistics(cx, tally, &tdb)
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
