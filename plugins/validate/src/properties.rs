//! Database properties, source against target (methods.md §6: the sys.databases columns).
//! Managed Instance changes some on purpose; those are explained, not failed:
//! - `recovery_model_desc`: every MI database is in FULL recovery ("T-SQL differences between
//!   SQL Server and Azure SQL Managed Instance", learn.microsoft.com: the recovery model cannot
//!   be changed);
//! - `is_accelerated_database_recovery_on`: ADR is on for every MI database and cannot be
//!   turned off ("Accelerated database recovery", learn.microsoft.com);
//! - `is_encrypted` off → on: service-managed TDE is on by default on MI ("Transparent data
//!   encryption for SQL Database, SQL Managed Instance and Azure Synapse Analytics");
//!
//! The compatibility level is not among them: the integrity phase owns it (kept, raised or set
//! as configured), one row either way.
//! Everything else that differs fails, containment included: a partially contained database
//! that arrives uncontained has lost its contained users' logins, which is not cosmetic.

use std::collections::BTreeMap;

use ferry_sdk::prelude::*;

use crate::compare::{Named, named};
use crate::config::Config;
use crate::report::{Finding, Tally, Verdict, emit_all};
use crate::sql::{Server, read_if_present, text_param};

/// The columns compared; ADR's (2019+) is read when the server has it.
const COLUMNS: &str = "collation_name, recovery_model_desc, state_desc, \
    is_read_committed_snapshot_on, snapshot_isolation_state_desc, is_broker_enabled, \
    page_verify_option_desc, containment_desc, is_encrypted";
const ADR: &str = "is_accelerated_database_recovery_on";

fn properties(cx: &mut Context<'_, Config>, server: Server, db: &str) -> Result<Option<Named>> {
    let with_adr = format!("SELECT {COLUMNS}, {ADR} FROM sys.databases WHERE name = @db");
    let without = format!("SELECT {COLUMNS} FROM sys.databases WHERE name = @db");
    let p = [text_param("db", db)];
    let rows = match read_if_present(cx, server, "sys.databases", &with_adr, &p)? {
        Some(r) => r,
        None => match read_if_present(cx, server, "sys.databases", &without, &p)? {
            Some(r) => r,
            None => return Ok(None),
        },
    };
    let Some(row) = rows.iter().next() else {
        return Ok(None);
    };
    let mut out = BTreeMap::new();
    for c in COLUMNS.split(',').map(str::trim).chain([ADR]) {
        if row.value(c).is_some() {
            out.insert(c.to_owned(), row.text(c));
        }
    }
    Ok(Some(out))
}

/// Why `property` may differ from `s` to `t` on Managed Instance, if it may.
pub fn explain(property: &str, s: &str, t: &str) -> Option<String> {
    match property {
        "recovery_model_desc" if t == "FULL" => Some(
            "Managed Instance runs every database in FULL recovery and it cannot be changed \
             (T-SQL differences between SQL Server and Azure SQL Managed Instance)."
                .into(),
        ),
        ADR if t == "1" => Some(
            "Accelerated database recovery is on for every Managed Instance database and \
             cannot be turned off."
                .into(),
        ),
        "is_encrypted" if s == "0" && t == "1" => Some(
            "Transparent data encryption with a service-managed key is on by default on \
             Managed Instance; the data are unchanged."
                .into(),
        ),
        _ => None,
    }
}

/// Compares the properties; false when the target has no such database (reported).
pub fn run(cx: &mut Context<'_, Config>, tally: &mut Tally) -> Result<bool> {
    let db = cx.item().to_owned();
    let target_db = cx.config().target_db(&db);
    let Some(source) = properties(cx, Server::Source, &db)? else {
        return Err(Error::failed(format!(
            "the source has no database `{db}` in sys.databases: check the step's databases"
        )));
    };
    let Some(target) = properties(cx, Server::Target, &target_db)? else {
        emit_all(
            cx,
            tally,
            vec![Finding::new(
                "database",
                &target_db,
                Verdict::Differs,
                "missing-on-target",
                "The target has no database of this name: migrate it first (or set \
                 `target_name`).",
            )],
        );
        return Ok(false);
    };
    let found = named("property", "properties", &source, &target, &explain);
    emit_all(cx, tally, found);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_mi_does_on_purpose_is_explained() {
        assert!(explain("recovery_model_desc", "SIMPLE", "FULL").is_some());
        assert!(explain("recovery_model_desc", "FULL", "SIMPLE").is_none());
        assert!(explain("is_encrypted", "0", "1").is_some());
        assert!(explain("is_encrypted", "1", "0").is_none());
        assert!(explain(ADR, "0", "1").is_some());
        assert!(explain("containment_desc", "PARTIAL", "NONE").is_none());
        assert!(
            explain(
                "collation_name",
                "Latin1_General_CI_AS",
                "SQL_Latin1_General_CP1_CI_AS"
            )
            .is_none()
        );
    }
}
