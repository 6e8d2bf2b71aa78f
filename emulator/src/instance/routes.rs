//! Service Broker routes, per database: CREATE ROUTE, DROP ROUTE and `sys.routes` ("CREATE
//! ROUTE (Transact-SQL)", "DROP ROUTE", "sys.routes (Transact-SQL)"), and whether the broker is
//! enabled (`ALTER DATABASE … SET ENABLE_BROKER | DISABLE_BROKER`, "ALTER DATABASE SET
//! options", shown by `sys.databases.is_broker_enabled`). Kept in the database's own file.

use super::Instance;
use super::assemblies::{not_found, taken};
use super::query::{q, sqlite_error};
use crate::protocol::tokens::ServerMessage;

/// `sys.routes`, columns as documented. "Each database contains a route named AutoCreatedLocal"
/// whose address is LOCAL (sys.routes / CREATE ROUTE): written when the table is made. Its
/// route_id is not documented; the emulator gives it 65536, user routes the ids after it.
pub(super) fn schema(db: &str) -> String {
    format!(
        r#"CREATE TABLE IF NOT EXISTS {d}."sys.routes" (name nvarchar(128), route_id int, principal_id int, remote_service_name nvarchar(256), broker_instance nvarchar(128), lifetime datetime2, address nvarchar(256), mirror_address nvarchar(256));
           INSERT INTO {d}."sys.routes" SELECT 'AutoCreatedLocal', 65536, 1, NULL, NULL, NULL, 'LOCAL', NULL WHERE NOT EXISTS (SELECT 1 FROM {d}."sys.routes");"#,
        d = q(db)
    )
}

/// What CREATE ROUTE names: the WITH clause's options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteSpec {
    pub name: String,
    pub service_name: Option<String>,
    pub broker_instance: Option<String>,
    /// LIFETIME, in seconds.
    pub lifetime: Option<i64>,
    pub address: String,
    pub mirror_address: Option<String>,
}

impl Instance {
    /// CREATE ROUTE: a row in the current database's `sys.routes`. LIFETIME is kept as the
    /// time the route expires ("lifetime: the date and time when the route expires"), from the
    /// emulator's clock.
    pub fn create_route(&mut self, db: &str, r: &RouteSpec) -> Result<(), ServerMessage> {
        let db = self.database_in_use(db)?;
        let exists = format!(
            r#"SELECT 1 FROM {}."sys.routes" WHERE name = ?1 COLLATE NOCASE"#,
            q(&db)
        );
        if self.conn.query_row(&exists, [&r.name], |_| Ok(())).is_ok() {
            return Err(taken(&r.name));
        }
        let sql = format!(
            r#"INSERT INTO {d}."sys.routes" SELECT ?1, (SELECT MAX(route_id) + 1 FROM {d}."sys.routes"), 1, ?2, ?3, CASE WHEN ?4 IS NULL THEN NULL ELSE datetime('now', '+' || ?4 || ' seconds') END, ?5, ?6"#,
            d = q(&db)
        );
        self.conn
            .execute(
                &sql,
                rusqlite::params![
                    r.name,
                    r.service_name,
                    r.broker_instance,
                    r.lifetime,
                    r.address,
                    r.mirror_address
                ],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// DROP ROUTE name: SQL Server error 15151 for a route that is not there.
    pub fn drop_route(&mut self, db: &str, name: &str) -> Result<(), ServerMessage> {
        let db = self.database_in_use(db)?;
        let sql = format!(
            r#"DELETE FROM {}."sys.routes" WHERE name = ?1 COLLATE NOCASE"#,
            q(&db)
        );
        if self.conn.execute(&sql, [name]).map_err(sqlite_error)? == 0 {
            return Err(not_found("route", name));
        }
        Ok(())
    }

    /// ALTER DATABASE … SET ENABLE_BROKER | DISABLE_BROKER, kept in the database's settings.
    pub fn set_broker(&mut self, db: &str, enabled: bool) -> Result<(), ServerMessage> {
        let Some(name) = self.database(db).map(|d| d.name.clone()) else {
            // SQL Server error 5011 (severity 14), as for any ALTER DATABASE of a missing one.
            return Err(ServerMessage::error(
                5011,
                14,
                format!(
                    "User does not have permission to alter database '{db}', the database does not exist, or the database is not in a state that allows access checks."
                ),
            ));
        };
        self.set_setting(&name, "broker", Some(if enabled { "1" } else { "0" }))
    }

    /// `sys.databases.is_broker_enabled` for a database. The documentation does not say what a
    /// new database starts with; SQL Server gives user databases, tempdb and msdb a running
    /// broker and master and model none, and the emulator does the same until ALTER DATABASE
    /// sets it.
    pub(super) fn broker_enabled(&self, db: &str) -> bool {
        match self.setting(db, "broker").as_deref() {
            Some(v) => v == "1",
            None => !["master", "model"]
                .iter()
                .any(|s| s.eq_ignore_ascii_case(db)),
        }
    }
}
