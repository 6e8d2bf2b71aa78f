//! What a capture needs to know about the server and the database first, and the changes it
//! may make: turning Query Store on and setting the compatibility level.
//!
//! "Monitor performance by using the Query Store" and "ALTER DATABASE SET options"
//! (learn.microsoft.com): Query Store exists from SQL Server 2016 (13.x) and in Azure SQL
//! Managed Instance, where it is on by default for new databases; it is turned on per database
//! with `ALTER DATABASE … SET QUERY_STORE = ON (OPERATION_MODE = READ_WRITE)`, and
//! `sys.database_query_store_options.actual_state_desc` (OFF, READ_ONLY, READ_WRITE, ERROR)
//! says whether it records. A Managed Instance reports `ProductVersion` 12.0.2000.8 and
//! `EngineEdition` 8 ("SERVERPROPERTY"), so Query Store is judged by the edition there.

use ferry_sdk::prelude::*;
use ferry_sdk::sql_value::{int, text};
use ferry_sdk::sql_version::SqlVersion;
use ferry_sdk::tsql_text::{quote_name, quote_text};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::sql::{exec, rows};

/// `SERVERPROPERTY('EngineEdition')` of Azure SQL Managed Instance.
pub const MANAGED_INSTANCE: i64 = 8;

/// The server and the database, as read before a window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    pub product_version: String,
    pub engine_edition: i64,
    /// `SERVERPROPERTY('ProductUpdateType')` (`CU`, `Continuous`; NULL before SQL Server 2022).
    pub update_type: String,
    pub compatibility_level: i64,
}

impl Facts {
    pub fn major(&self) -> u32 {
        SqlVersion::parse(&self.product_version).map_or(0, |v| v.major)
    }

    /// Whether the engine has Query Store at all (SQL Server 2016 = 13.x and later, MI).
    pub fn has_query_store(&self) -> bool {
        self.engine_edition == MANAGED_INSTANCE || self.major() >= 13
    }

    /// Whether Query Store keeps wait statistics (SQL Server 2017 = 14.x and later, MI:
    /// "sys.query_store_wait_stats", and the `wait_stats_capture_mode_desc` column of
    /// sys.database_query_store_options).
    pub fn has_query_store_waits(&self) -> bool {
        self.engine_edition == MANAGED_INSTANCE || self.major() >= 14
    }

    /// The highest compatibility level the server takes. For a Managed Instance, 160 under
    /// the SQL Server 2022 update policy and 170 under Always-up-to-date ("ALTER DATABASE
    /// compatibility level", "Update policy in Azure SQL Managed Instance"); T-SQL cannot tell
    /// the 2025 policy (also 170) from 2022's, so `CU` reads as the stricter 160. For SQL
    /// Server, its major version times ten.
    pub fn highest_level(&self) -> i64 {
        if self.engine_edition == MANAGED_INSTANCE {
            if self.update_type.trim().eq_ignore_ascii_case("Continuous") {
                170
            } else {
                160
            }
        } else {
            i64::from(self.major()) * 10
        }
    }
}

/// Reads the server's version and the database's compatibility level; a database the server
/// does not have is an error naming both.
pub fn facts(cx: &mut Context<'_, Config>, label: &str, db: &str) -> Result<Facts> {
    let sql = format!(
        "SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS product_version, \
         CAST(SERVERPROPERTY('EngineEdition') AS int) AS engine_edition, \
         CAST(SERVERPROPERTY('ProductUpdateType') AS nvarchar(128)) AS update_type, \
         d.compatibility_level FROM sys.databases AS d WHERE d.name = {}",
        quote_text(db)
    );
    let (found, _) = rows(cx, label, &sql)?;
    let Some(r) = found.first() else {
        return Err(Error::failed(format!(
            "database [{db}] is not on `{label}` (sys.databases has no row for it)"
        )));
    };
    Ok(Facts {
        product_version: text(r.first()),
        engine_edition: int(r.get(1)),
        update_type: text(r.get(2)),
        compatibility_level: int(r.get(3)),
    })
}

/// Query Store's state in a database (sys.database_query_store_options).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoreState {
    /// `actual_state_desc`: OFF, READ_ONLY, READ_WRITE or ERROR.
    pub actual: String,
    /// `readonly_reason` (why it went READ_ONLY: 65536 is the size limit reached, …).
    pub readonly_reason: i64,
    /// `wait_stats_capture_mode_desc` (ON/OFF; empty before SQL Server 2017).
    pub wait_capture: String,
}

impl StoreState {
    pub fn records(&self) -> bool {
        self.actual.eq_ignore_ascii_case("READ_WRITE")
    }
    /// READ_ONLY still answers for the history it holds.
    pub fn readable(&self) -> bool {
        self.records() || self.actual.eq_ignore_ascii_case("READ_ONLY")
    }
}

pub fn store_state(
    cx: &mut Context<'_, Config>,
    label: &str,
    db: &str,
    facts: &Facts,
) -> Result<StoreState> {
    let waits = if facts.has_query_store_waits() {
        "wait_stats_capture_mode_desc"
    } else {
        "CAST(N'' AS nvarchar(60)) AS wait_stats_capture_mode_desc"
    };
    let sql = format!(
        "SELECT actual_state_desc, readonly_reason, {waits} \
         FROM {}.sys.database_query_store_options",
        quote_name(db)
    );
    let (found, _) = rows(cx, label, &sql)?;
    let r = found.first().cloned().unwrap_or_default();
    Ok(StoreState {
        actual: text(r.first()).trim().to_ascii_uppercase(),
        readonly_reason: int(r.get(1)),
        wait_capture: text(r.get(2)).trim().to_ascii_uppercase(),
    })
}

/// `ALTER DATABASE [db] SET QUERY_STORE = ON (OPERATION_MODE = READ_WRITE)` (methods.md §6).
pub fn enable_query_store(cx: &mut Context<'_, Config>, label: &str, db: &str) -> Result<()> {
    let sql = format!(
        "ALTER DATABASE {} SET QUERY_STORE = ON (OPERATION_MODE = READ_WRITE)",
        quote_name(db)
    );
    exec(
        cx,
        label,
        &sql,
        &format!("turning Query Store on for [{db}]"),
    )
}

/// `ALTER DATABASE [db] SET COMPATIBILITY_LEVEL = n`.
pub fn set_level(cx: &mut Context<'_, Config>, label: &str, db: &str, level: i64) -> Result<()> {
    let sql = format!(
        "ALTER DATABASE {} SET COMPATIBILITY_LEVEL = {level}",
        quote_name(db)
    );
    exec(
        cx,
        label,
        &sql,
        &format!("setting [{db}]'s compatibility level to {level}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: &str, edition: i64, update: &str) -> Facts {
        Facts {
            product_version: v.into(),
            engine_edition: edition,
            update_type: update.into(),
            compatibility_level: 130,
        }
    }

    #[test]
    fn query_store_is_judged_by_version_or_the_managed_instance_edition() {
        assert!(
            !f("12.0.6024.0", 3, "").has_query_store(),
            "SQL Server 2014"
        );
        assert!(f("13.0.6300.2", 3, "").has_query_store());
        assert!(!f("13.0.6300.2", 3, "").has_query_store_waits());
        assert!(f("14.0.3456.2", 2, "").has_query_store_waits());
        let mi = f("12.0.2000.8", 8, "CU");
        assert!(mi.has_query_store() && mi.has_query_store_waits());
        assert_eq!(mi.highest_level(), 160);
        assert_eq!(f("12.0.2000.8", 8, "Continuous").highest_level(), 170);
        assert_eq!(f("15.0.4153.1", 3, "").highest_level(), 150);
    }
}
