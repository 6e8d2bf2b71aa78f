//! Resource Governor's stored configuration: `sys.resource_governor_configuration`,
//! `sys.resource_governor_resource_pools` and `sys.resource_governor_workload_groups` (their
//! "(Transact-SQL)" pages), with the predefined `internal` (1) and `default` (2) pools and
//! groups ("Resource Governor Resource Pool", "Resource Governor Workload Group"). These views
//! show the stored metadata; the emulator never classifies sessions or limits resources.
//! Workload groups and the classifier are in [`super::workload_groups`].
//!
//! Errors are SQL Server's Resource Governor messages (10908–10922, severity 16).

use super::{Instance, sqlite_error};
use crate::protocol::tokens::ServerMessage;

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS "sys.resource_governor_configuration" (
    classifier_function_id int, is_enabled bit
);
CREATE TABLE IF NOT EXISTS "sys.resource_governor_resource_pools" (
    pool_id int, name nvarchar(128), min_cpu_percent int, max_cpu_percent int,
    min_memory_percent int, max_memory_percent int, cap_cpu_percent int,
    min_iops_per_volume int, max_iops_per_volume int
);
CREATE TABLE IF NOT EXISTS "sys.resource_governor_workload_groups" (
    group_id int, name nvarchar(128), importance nvarchar(128),
    request_max_memory_grant_percent int, request_max_cpu_time_sec int,
    request_memory_grant_timeout_sec int, max_dop int, group_max_requests int, pool_id int
);
INSERT INTO "sys.resource_governor_configuration"
    SELECT 0, 0 WHERE NOT EXISTS (SELECT 1 FROM "sys.resource_governor_configuration");
INSERT INTO "sys.resource_governor_resource_pools"
    SELECT 1, 'internal', 0, 100, 0, 100, 100, 0, 0
    WHERE NOT EXISTS (SELECT 1 FROM "sys.resource_governor_resource_pools" WHERE pool_id = 1);
INSERT INTO "sys.resource_governor_resource_pools"
    SELECT 2, 'default', 0, 100, 0, 100, 100, 0, 0
    WHERE NOT EXISTS (SELECT 1 FROM "sys.resource_governor_resource_pools" WHERE pool_id = 2);
INSERT INTO "sys.resource_governor_workload_groups"
    SELECT 1, 'internal', 'Medium', 25, 0, 0, 0, 0, 1
    WHERE NOT EXISTS (SELECT 1 FROM "sys.resource_governor_workload_groups" WHERE group_id = 1);
INSERT INTO "sys.resource_governor_workload_groups"
    SELECT 2, 'default', 'Medium', 25, 0, 0, 0, 0, 2
    WHERE NOT EXISTS (SELECT 1 FROM "sys.resource_governor_workload_groups" WHERE group_id = 2);
"#;

pub(super) const TABLES: [&str; 3] = [
    "sys.resource_governor_configuration",
    "sys.resource_governor_resource_pools",
    "sys.resource_governor_workload_groups",
];

/// "CREATE RESOURCE POOL": up to 64 pools, the predefined ones included (error 10910).
const MAX_POOLS: i64 = 64;

/// The WITH options of CREATE / ALTER RESOURCE POOL, each None when not given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PoolOptions {
    pub min_cpu_percent: Option<i64>,
    pub max_cpu_percent: Option<i64>,
    pub cap_cpu_percent: Option<i64>,
    pub min_memory_percent: Option<i64>,
    pub max_memory_percent: Option<i64>,
    pub min_iops_per_volume: Option<i64>,
    pub max_iops_per_volume: Option<i64>,
}

/// A pool's stored settings, in `sys.resource_governor_resource_pools` column order after name.
type Settings = [i64; 7];

/// The documented defaults: MIN 0, MAX 100, CAP 100, IOPS 0 (no limit).
const DEFAULTS: Settings = [0, 100, 0, 100, 100, 0, 0];

pub(super) fn error(number: i32, text: String) -> ServerMessage {
    ServerMessage::error(number, 16, text)
}

pub(super) fn no_such_pool(name: &str) -> ServerMessage {
    error(
        10912,
        format!(
            "Requested operation cannot be performed because the resource pool '{name}' does not exist."
        ),
    )
}

/// SQL Server error 10915: names starting with # are refused for pools and groups.
pub(super) fn check_name(kind: &str, name: &str) -> Result<(), ServerMessage> {
    if name.starts_with('#') {
        return Err(error(
            10915,
            format!("The name of the {kind} '{name}' cannot begin with # of ##."),
        ));
    }
    Ok(())
}

fn overlay(base: Settings, o: &PoolOptions) -> Settings {
    let given = [
        o.min_cpu_percent,
        o.max_cpu_percent,
        o.min_memory_percent,
        o.max_memory_percent,
        o.cap_cpu_percent,
        o.min_iops_per_volume,
        o.max_iops_per_volume,
    ];
    let mut out = base;
    for (slot, v) in out.iter_mut().zip(given) {
        if let Some(v) = v {
            *slot = v;
        }
    }
    out
}

/// The pairwise rules of "CREATE RESOURCE POOL": a minimum never above its maximum (and CAP
/// never below MIN_CPU_PERCENT); MAX_IOPS_PER_VOLUME 0 means unlimited.
fn check_pairs(s: &Settings) -> Result<(), ServerMessage> {
    let greater = |a: &str, x: i64, b: &str, y: i64| {
        error(
            10908,
            format!(
                "Attribute '{a}' with value of {x} is greater than attribute '{b}' with value of {y}."
            ),
        )
    };
    if s[0] > s[1] {
        return Err(greater("MIN_CPU_PERCENT", s[0], "MAX_CPU_PERCENT", s[1]));
    }
    if s[0] > s[4] {
        return Err(greater("MIN_CPU_PERCENT", s[0], "CAP_CPU_PERCENT", s[4]));
    }
    if s[2] > s[3] {
        return Err(greater(
            "MIN_MEMORY_PERCENT",
            s[2],
            "MAX_MEMORY_PERCENT",
            s[3],
        ));
    }
    if s[6] != 0 && s[5] > s[6] {
        return Err(greater(
            "MIN_IOPS_PER_VOLUME",
            s[5],
            "MAX_IOPS_PER_VOLUME",
            s[6],
        ));
    }
    Ok(())
}

impl Instance {
    pub(super) fn note_rg_write(&mut self) -> Result<(), ServerMessage> {
        if self.in_transaction() {
            for t in TABLES {
                self.before_write("main", t)?;
            }
        }
        Ok(())
    }

    pub(super) fn resource_pool_id(&self, name: &str) -> Option<i64> {
        self.conn
            .query_row(
                r#"SELECT pool_id FROM "sys.resource_governor_resource_pools" WHERE name = ?1 COLLATE NOCASE"#,
                [name],
                |r| r.get(0),
            )
            .ok()
    }

    fn pool_settings(&self, id: i64) -> Result<Settings, ServerMessage> {
        self.conn
            .query_row(
                r#"SELECT min_cpu_percent, max_cpu_percent, min_memory_percent, max_memory_percent,
                    cap_cpu_percent, min_iops_per_volume, max_iops_per_volume
                   FROM "sys.resource_governor_resource_pools" WHERE pool_id = ?1"#,
                [id],
                |r| {
                    let mut s = [0; 7];
                    for (i, slot) in s.iter_mut().enumerate() {
                        *slot = r.get(i)?;
                    }
                    Ok(s)
                },
            )
            .map_err(sqlite_error)
    }

    /// "Resource Governor Resource Pool": the sum of MIN_CPU_PERCENT (and of
    /// MIN_MEMORY_PERCENT) over all pools cannot exceed 100 (error 10911).
    fn check_sums(&self, except: Option<i64>, s: &Settings) -> Result<(), ServerMessage> {
        for (col, option, value) in [
            ("min_cpu_percent", "MIN_CPU_PERCENT", s[0]),
            ("min_memory_percent", "MIN_MEMORY_PERCENT", s[2]),
        ] {
            let others: i64 = self
                .conn
                .query_row(
                    &format!(
                        r#"SELECT COALESCE(SUM({col}), 0) FROM "sys.resource_governor_resource_pools" WHERE pool_id IS NOT ?1"#
                    ),
                    [except],
                    |r| r.get(0),
                )
                .map_err(sqlite_error)?;
            if others + value > 100 {
                return Err(error(
                    10911,
                    format!(
                        "The operation could not be completed. The specified '{option}' value, {value}, causes the sum of minimums on all resource pools to exceed 100 percent. Reduce the value or modify other resource pools so that the sum is less than 100."
                    ),
                ));
            }
        }
        Ok(())
    }

    pub fn create_resource_pool(
        &mut self,
        name: &str,
        o: &PoolOptions,
    ) -> Result<(), ServerMessage> {
        check_name("resource pool", name)?;
        if self.resource_pool_id(name).is_some() {
            return Err(error(
                10919,
                format!("Cannot create resource pool '{name}' because it already exists."),
            ));
        }
        let (count, next): (i64, i64) = self
            .conn
            .query_row(
                r#"SELECT COUNT(*), MAX(255, MAX(pool_id)) + 1 FROM "sys.resource_governor_resource_pools""#,
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(sqlite_error)?;
        if count >= MAX_POOLS {
            return Err(error(
                10910,
                format!(
                    "The resource pool cannot be created. The maximum number of resource pools cannot exceed current limit of {MAX_POOLS} including predefined resource pools."
                ),
            ));
        }
        let s = overlay(DEFAULTS, o);
        check_pairs(&s)?;
        self.check_sums(None, &s)?;
        self.note_rg_write()?;
        // User pool ids start at 256, as SQL Server numbers them.
        self.conn
            .execute(
                r#"INSERT INTO "sys.resource_governor_resource_pools" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"#,
                rusqlite::params![next, name, s[0], s[1], s[2], s[3], s[4], s[5], s[6]],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    pub fn alter_resource_pool(
        &mut self,
        name: &str,
        o: &PoolOptions,
    ) -> Result<(), ServerMessage> {
        let id = self
            .resource_pool_id(name)
            .ok_or_else(|| no_such_pool(name))?;
        if id == 1 {
            return Err(error(
                10916,
                "The operation could not be completed. Altering 'internal' resource pool is not allowed.".into(),
            ));
        }
        let s = overlay(self.pool_settings(id)?, o);
        check_pairs(&s)?;
        self.check_sums(Some(id), &s)?;
        self.note_rg_write()?;
        self.conn
            .execute(
                r#"UPDATE "sys.resource_governor_resource_pools" SET min_cpu_percent = ?2,
                    max_cpu_percent = ?3, min_memory_percent = ?4, max_memory_percent = ?5,
                    cap_cpu_percent = ?6, min_iops_per_volume = ?7, max_iops_per_volume = ?8
                   WHERE pool_id = ?1"#,
                rusqlite::params![id, s[0], s[1], s[2], s[3], s[4], s[5], s[6]],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    pub fn drop_resource_pool(&mut self, name: &str) -> Result<(), ServerMessage> {
        let id = self
            .resource_pool_id(name)
            .ok_or_else(|| no_such_pool(name))?;
        if id <= 2 {
            return Err(error(
                10913,
                "The operation could not be completed. Dropping predefined resource pool is not allowed.".into(),
            ));
        }
        let group: Option<String> = self
            .conn
            .query_row(
                r#"SELECT name FROM "sys.resource_governor_workload_groups" WHERE pool_id = ?1 ORDER BY group_id"#,
                [id],
                |r| r.get(0),
            )
            .ok();
        if let Some(group) = group {
            return Err(error(
                10917,
                format!(
                    "Cannot drop resource pool '{name}' because it contains workload group '{group}'. Drop or remove all workload groups using this resource pool before dropping it."
                ),
            ));
        }
        self.note_rg_write()?;
        self.conn
            .execute(
                r#"DELETE FROM "sys.resource_governor_resource_pools" WHERE pool_id = ?1"#,
                [id],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }
}
