//! The server objects whose shape depends on the personality: SQL Server Agent's and Database
//! Mail's msdb tables, `sys.configurations` and `sys.messages`. Created when an instance is
//! opened (idempotently: a reopened instance keeps what it had) and seeded the first time.

use super::config_options::{MI_ONLY, MI_UNSUPPORTED, OPTIONS, REMOVED_IN_2012};
use super::{Instance, msdb_agent, msdb_mail};
use crate::personality::Personality;

/// `sys.configurations` ("sys.configurations (Transact-SQL)"): value, minimum, maximum and
/// value_in_use are sql_variant holding int.
const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS "sys.configurations" (
    configuration_id int, name nvarchar(35), value sql_variant, minimum sql_variant, maximum sql_variant,
    value_in_use sql_variant, description nvarchar(255), is_dynamic bit, is_advanced bit
);
CREATE TABLE IF NOT EXISTS "sys.messages" (
    message_id int, language_id smallint, severity tinyint, is_event_logged bit, text nvarchar(2048)
);
"#;

impl Instance {
    /// Creates and seeds the personality-dependent server objects.
    pub fn prepare_system_objects(&mut self, p: &Personality) -> anyhow::Result<()> {
        msdb_agent::prepare(&self.conn, p)?;
        msdb_mail::prepare(&self.conn)?;
        self.conn.execute_batch(SCHEMA)?;
        let n: i64 =
            self.conn
                .query_row(r#"SELECT COUNT(*) FROM "sys.configurations""#, [], |r| {
                    r.get(0)
                })?;
        if n == 0 {
            let mi = p.is_managed_instance();
            let level = p.compatibility_level();
            let extra: &[_] = if mi { MI_ONLY } else { &[] };
            let removed: &[_] = if !mi && level <= 100 {
                REMOVED_IN_2012
            } else {
                &[]
            };
            for (id, name, default, min, max, desc, dynamic, advanced, since) in
                OPTIONS.iter().chain(extra).chain(removed)
            {
                if *since > level || (mi && MI_UNSUPPORTED.contains(name)) {
                    continue;
                }
                self.conn.execute(
                    r#"INSERT INTO "sys.configurations" VALUES (?1, ?2, ?3, ?4, ?5, ?3, ?6, ?7, ?8)"#,
                    rusqlite::params![id, name, default, min, max, desc, dynamic, advanced],
                )?;
            }
        }
        // A server that starts puts every configured value in use, the static options'
        // included ("Server configuration options": they take effect after a restart).
        self.conn
            .execute_batch(r#"UPDATE "sys.configurations" SET value_in_use = value"#)?;
        Ok(())
    }
}
