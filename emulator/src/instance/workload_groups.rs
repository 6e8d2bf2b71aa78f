//! Resource Governor workload groups ("CREATE WORKLOAD GROUP", "ALTER WORKLOAD GROUP", "DROP
//! WORKLOAD GROUP") and the configuration row ("ALTER RESOURCE GOVERNOR"). Pools and the
//! catalog tables are in [`super::resource_governor`].

use super::resource_governor::{check_name, error, no_such_pool};
use super::{Instance, sqlite_error};
use crate::protocol::tokens::ServerMessage;

/// The WITH options of CREATE / ALTER WORKLOAD GROUP, each None when not given; importance as
/// the catalog shows it (Low, Medium, High).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupOptions {
    pub importance: Option<&'static str>,
    pub request_max_memory_grant_percent: Option<i64>,
    pub request_max_cpu_time_sec: Option<i64>,
    pub request_memory_grant_timeout_sec: Option<i64>,
    pub max_dop: Option<i64>,
    pub group_max_requests: Option<i64>,
}

/// SQL Server error 15151 (severity 16).
fn no_such_group(verb: &str, name: &str) -> ServerMessage {
    error(
        15151,
        format!(
            "Cannot {verb} the workload group '{name}', because it does not exist or you do not have permission."
        ),
    )
}

impl Instance {
    fn workload_group(&self, name: &str) -> Option<(i64, i64)> {
        self.conn
            .query_row(
                r#"SELECT group_id, pool_id FROM "sys.resource_governor_workload_groups" WHERE name = ?1 COLLATE NOCASE"#,
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .ok()
    }

    /// The pool a group is put in: it must exist (10912) and may not be `internal` (10914).
    fn target_pool(&self, verb: &str, group: &str, pool: &str) -> Result<i64, ServerMessage> {
        let id = self
            .resource_pool_id(pool)
            .ok_or_else(|| no_such_pool(pool))?;
        if id == 1 {
            return Err(error(
                10914,
                format!(
                    "Users are not allowed to {verb} the workload group '{group}' in the 'internal' resource pool."
                ),
            ));
        }
        Ok(id)
    }

    pub fn create_workload_group(
        &mut self,
        name: &str,
        o: &GroupOptions,
        pool: Option<&str>,
    ) -> Result<(), ServerMessage> {
        check_name("workload group", name)?;
        if self.workload_group(name).is_some() {
            return Err(error(
                10919,
                format!("Cannot create workload group '{name}' because it already exists."),
            ));
        }
        // "CREATE WORKLOAD GROUP": without USING the group goes to the default pool.
        let pool_id = match pool {
            Some(p) => self.target_pool("create", name, p)?,
            None => 2,
        };
        self.note_rg_write()?;
        let next: i64 = self
            .conn
            .query_row(
                r#"SELECT MAX(255, MAX(group_id)) + 1 FROM "sys.resource_governor_workload_groups""#,
                [],
                |r| r.get(0),
            )
            .map_err(sqlite_error)?;
        // The documented defaults: MEDIUM, 25 percent, no CPU or grant timeout, MAX_DOP 0,
        // unlimited requests.
        self.conn
            .execute(
                r#"INSERT INTO "sys.resource_governor_workload_groups" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"#,
                rusqlite::params![
                    next,
                    name,
                    o.importance.unwrap_or("Medium"),
                    o.request_max_memory_grant_percent.unwrap_or(25),
                    o.request_max_cpu_time_sec.unwrap_or(0),
                    o.request_memory_grant_timeout_sec.unwrap_or(0),
                    o.max_dop.unwrap_or(0),
                    o.group_max_requests.unwrap_or(0),
                    pool_id
                ],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    pub fn alter_workload_group(
        &mut self,
        name: &str,
        o: &GroupOptions,
        pool: Option<&str>,
    ) -> Result<(), ServerMessage> {
        let (id, current_pool) = self
            .workload_group(name)
            .ok_or_else(|| no_such_group("alter", name))?;
        if id == 1 {
            return Err(error(
                10916,
                "The operation could not be completed. Altering 'internal' workload group is not allowed.".into(),
            ));
        }
        let pool_id = match pool {
            Some(p) => self.target_pool("alter", name, p)?,
            None => current_pool,
        };
        if id == 2 && pool_id != 2 {
            return Err(error(
                10922,
                "The 'default' workload group cannot be moved out of 'default' resource pool."
                    .into(),
            ));
        }
        self.note_rg_write()?;
        self.conn
            .execute(
                r#"UPDATE "sys.resource_governor_workload_groups" SET
                    importance = COALESCE(?2, importance),
                    request_max_memory_grant_percent = COALESCE(?3, request_max_memory_grant_percent),
                    request_max_cpu_time_sec = COALESCE(?4, request_max_cpu_time_sec),
                    request_memory_grant_timeout_sec = COALESCE(?5, request_memory_grant_timeout_sec),
                    max_dop = COALESCE(?6, max_dop),
                    group_max_requests = COALESCE(?7, group_max_requests),
                    pool_id = ?8
                   WHERE group_id = ?1"#,
                rusqlite::params![
                    id,
                    o.importance,
                    o.request_max_memory_grant_percent,
                    o.request_max_cpu_time_sec,
                    o.request_memory_grant_timeout_sec,
                    o.max_dop,
                    o.group_max_requests,
                    pool_id
                ],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    pub fn drop_workload_group(&mut self, name: &str) -> Result<(), ServerMessage> {
        let (id, _) = self
            .workload_group(name)
            .ok_or_else(|| no_such_group("drop", name))?;
        if id <= 2 {
            return Err(error(
                10913,
                "The operation could not be completed. Dropping predefined workload group is not allowed.".into(),
            ));
        }
        self.note_rg_write()?;
        self.conn
            .execute(
                r#"DELETE FROM "sys.resource_governor_workload_groups" WHERE group_id = ?1"#,
                [id],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// ALTER RESOURCE GOVERNOR RECONFIGURE (true) / DISABLE (false).
    pub fn set_resource_governor_enabled(&mut self, on: bool) -> Result<(), ServerMessage> {
        self.note_rg_write()?;
        self.conn
            .execute(
                r#"UPDATE "sys.resource_governor_configuration" SET is_enabled = ?1"#,
                [on],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// ALTER RESOURCE GOVERNOR WITH (CLASSIFIER_FUNCTION = NULL): no classifier (id 0).
    pub fn clear_resource_governor_classifier(&mut self) -> Result<(), ServerMessage> {
        self.note_rg_write()?;
        self.conn
            .execute(
                r#"UPDATE "sys.resource_governor_configuration" SET classifier_function_id = 0"#,
                [],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }
}
