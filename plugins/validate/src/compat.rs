//! The target's compatibility level, after the comparisons: kept (checked against the
//! source's), raised to the highest the target supports, or set to a configured level; one
//! report row. "ALTER DATABASE (Transact-SQL) compatibility level", learn.microsoft.com.

use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::quote_name;

use crate::config::{CompatibilityLevel, CompatibilityMode, Config};
use crate::report::{Finding, Tally, Verdict, emit};
use crate::sql::{CATALOG, Server, change, read, text_param};

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

pub fn compatibility(
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
