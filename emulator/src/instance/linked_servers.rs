//! Linked servers and their login mappings: `sys.servers` ("sys.servers (Transact-SQL)") and
//! `sys.linked_logins`. Remote passwords live in the emulator's own table, never in a view, as
//! SQL Server keeps them encrypted by the service master key where no catalog view shows them.
//! The emulator keeps the definitions only; it opens no connection to a linked server.

use super::{Instance, sqlite_error};
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::now_text;

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS "sys.servers" (
    server_id int, name nvarchar(128), product nvarchar(128), provider nvarchar(128),
    data_source nvarchar(4000), location nvarchar(4000), provider_string nvarchar(4000),
    catalog nvarchar(128), connect_timeout int, query_timeout int, is_linked bit,
    is_remote_login_enabled bit, is_rpc_out_enabled bit, is_data_access_enabled bit,
    is_collation_compatible bit, uses_remote_collation bit, collation_name nvarchar(128),
    lazy_schema_validation bit, is_system bit, is_publisher bit, is_subscriber bit,
    is_distributor bit, is_nonsql_subscriber bit,
    is_remote_proc_transaction_promotion_enabled bit, modify_date datetime
);
CREATE TABLE IF NOT EXISTS "sys.linked_logins" (
    server_id int, local_principal_id int, uses_self_credential bit, remote_name nvarchar(128),
    modify_date datetime
);
CREATE TABLE IF NOT EXISTS "ferry.linked_login_secrets" (
    server_id int, local_principal_id int, password nvarchar(128)
);
"#;

/// What `sp_addlinkedserver` stores.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkedServer {
    pub name: String,
    pub product: String,
    pub provider: String,
    pub data_source: Option<String>,
    pub location: Option<String>,
    pub provider_string: Option<String>,
    pub catalog: Option<String>,
}

/// A `sp_serveroption` setting, already checked ("sp_serveroption (Transact-SQL)").
#[derive(Debug, Clone, PartialEq)]
pub enum ServerOption {
    /// A bit column of `sys.servers`.
    Flag(&'static str, bool),
    /// `connect timeout` / `query timeout`, in seconds.
    Timeout(&'static str, i64),
    /// `collation name` (NULL: the local collation).
    Collation(Option<String>),
}

/// SQL Server error 15015 (severity 16).
pub fn no_such_server(name: &str) -> ServerMessage {
    ServerMessage::error(
        15015,
        16,
        format!("The server '{name}' does not exist. Use sp_helpserver to show available servers."),
    )
}

impl Instance {
    /// Writes the local server's row (server_id 0), whose name is `@@SERVERNAME`: the name the
    /// server answers with now, which a data directory reopened under another name changes.
    /// On a Managed Instance that is its DNS name ("T-SQL differences between SQL Server and
    /// Azure SQL Managed Instance": `SYS.SERVERS` returns the full DNS name for name and
    /// data_source).
    pub(crate) fn refresh_local_server(&mut self, server_name: &str) -> Result<(), ServerMessage> {
        self.conn
            .execute(r#"DELETE FROM "sys.servers" WHERE server_id = 0"#, [])
            .map_err(sqlite_error)?;
        self.conn
            .execute(
                r#"INSERT INTO "sys.servers" VALUES (0, ?1, 'SQL Server', 'SQLNCLI', ?1, NULL, NULL, NULL,
                   0, 0, 0, 1, 1, 0, 0, 0, NULL, 0, 0, 0, 0, 0, 0, 1, ?2)"#,
                rusqlite::params![server_name, now_text()],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// The id of linked server `name`, if there is one.
    pub fn linked_server_id(&self, name: &str) -> Option<i64> {
        self.conn
            .query_row(
                r#"SELECT server_id FROM "sys.servers" WHERE server_id > 0 AND name = ?1 COLLATE NOCASE"#,
                [name],
                |r| r.get(0),
            )
            .ok()
    }

    /// A server principal's id, for a login mapping.
    pub fn login_principal_id(&self, name: &str) -> Option<i64> {
        self.conn
            .query_row(
                r#"SELECT principal_id FROM "sys.server_principals" WHERE name = ?1 COLLATE NOCASE"#,
                [name],
                |r| r.get(0),
            )
            .ok()
    }

    /// sp_addlinkedserver: the server, and the default mapping of every local login to its own
    /// credentials that SQL Server adds with it ("sp_addlinkedsrvlogin (Transact-SQL)": "A
    /// default mapping between all logins on the local server and remote logins on the linked
    /// server is automatically created by executing sp_addlinkedserver").
    pub fn add_linked_server(&mut self, s: &LinkedServer) -> Result<(), ServerMessage> {
        if self.linked_server_id(&s.name).is_some() {
            // SQL Server error 15028 (severity 16).
            return Err(ServerMessage::error(
                15028,
                16,
                format!("The server '{}' already exists.", s.name),
            ));
        }
        let id: i64 = self
            .conn
            .query_row(
                r#"SELECT COALESCE(MAX(server_id), 0) + 1 FROM "sys.servers""#,
                [],
                |r| r.get(0),
            )
            .map_err(sqlite_error)?;
        let now = now_text();
        // A new linked server's options: "use remote collation … The default is false" and
        // "remote proc transaction promotion … The default value for this option is TRUE"
        // (sp_serveroption); data access on and rpc out off are the emulator's reading of what
        // sp_addlinkedserver leaves (the pages give no default for them).
        self.conn
            .execute(
                r#"INSERT INTO "sys.servers" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, 0, 1, 0, 0, 1, 0,
                   0, NULL, 0, 0, 0, 0, 0, 0, 1, ?9)"#,
                rusqlite::params![
                    id,
                    s.name,
                    s.product,
                    s.provider,
                    s.data_source,
                    s.location,
                    s.provider_string,
                    s.catalog,
                    now
                ],
            )
            .map_err(sqlite_error)?;
        self.conn
            .execute(
                r#"INSERT INTO "sys.linked_logins" VALUES (?1, 0, 1, NULL, ?2)"#,
                rusqlite::params![id, now],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// sp_addlinkedsrvlogin: creates or replaces the mapping of `local_principal_id` (0 = every
    /// login). The password goes to the emulator's own table only.
    pub fn set_linked_login(
        &mut self,
        server_id: i64,
        local_principal_id: i64,
        use_self: bool,
        remote_user: Option<&str>,
        remote_password: Option<&str>,
    ) -> Result<(), ServerMessage> {
        self.forget_linked_login(server_id, local_principal_id)?;
        // With @useself TRUE, @rmtuser and @rmtpassword are ignored (the procedure's page).
        let (user, password) = if use_self {
            (None, None)
        } else {
            (remote_user, remote_password)
        };
        self.conn
            .execute(
                r#"INSERT INTO "sys.linked_logins" VALUES (?1, ?2, ?3, ?4, ?5)"#,
                rusqlite::params![server_id, local_principal_id, use_self, user, now_text()],
            )
            .map_err(sqlite_error)?;
        self.conn
            .execute(
                r#"INSERT INTO "ferry.linked_login_secrets" VALUES (?1, ?2, ?3)"#,
                rusqlite::params![server_id, local_principal_id, password],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// Removes a mapping; whether there was one.
    pub fn forget_linked_login(
        &mut self,
        server_id: i64,
        local_principal_id: i64,
    ) -> Result<bool, ServerMessage> {
        let mut n = 0;
        for table in ["sys.linked_logins", "ferry.linked_login_secrets"] {
            n += self
                .conn
                .execute(
                    &format!(
                        r#"DELETE FROM "{table}" WHERE server_id = ?1 AND local_principal_id = ?2"#
                    ),
                    rusqlite::params![server_id, local_principal_id],
                )
                .map_err(sqlite_error)?;
        }
        Ok(n > 0)
    }

    /// sp_serveroption.
    pub fn set_server_option(
        &mut self,
        server_id: i64,
        option: &ServerOption,
    ) -> Result<(), ServerMessage> {
        let now = now_text();
        let run = |sql: String, v: rusqlite::types::Value| {
            self.conn
                .execute(&sql, rusqlite::params![server_id, v, now])
                .map_err(sqlite_error)
        };
        let set = |column: &str| {
            format!(
                r#"UPDATE "sys.servers" SET {column} = ?2, modify_date = ?3 WHERE server_id = ?1"#
            )
        };
        use rusqlite::types::Value as V;
        // "If the collation compatible option is set to TRUE, collation name automatically will
        // be set to NULL. If collation name is set to a nonnull value, collation compatible
        // automatically will be set to FALSE." (sp_serveroption, Remarks)
        match option {
            ServerOption::Flag("is_collation_compatible", true) => {
                run(set("collation_name"), V::Null)?;
                run(set("is_collation_compatible"), V::Integer(1))?
            }
            ServerOption::Collation(Some(name)) => {
                run(set("is_collation_compatible"), V::Integer(0))?;
                run(set("collation_name"), V::Text(name.clone()))?
            }
            ServerOption::Flag(column, on) => run(set(column), V::Integer(i64::from(*on)))?,
            ServerOption::Timeout(column, seconds) => run(set(column), V::Integer(*seconds))?,
            ServerOption::Collation(name) => {
                run(set("collation_name"), name.clone().map_or(V::Null, V::Text))?
            }
        };
        Ok(())
    }

    /// Whether a linked server still has login mappings (sp_dropserver refuses then).
    pub fn has_linked_logins(&self, server_id: i64) -> Result<bool, ServerMessage> {
        self.conn
            .query_row(
                r#"SELECT COUNT(*) FROM "sys.linked_logins" WHERE server_id = ?1"#,
                [server_id],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .map_err(sqlite_error)
    }

    /// sp_dropserver: the server with its mappings and their passwords.
    pub fn drop_linked_server(&mut self, server_id: i64) -> Result<(), ServerMessage> {
        for table in [
            "sys.servers",
            "sys.linked_logins",
            "ferry.linked_login_secrets",
        ] {
            self.conn
                .execute(
                    &format!(r#"DELETE FROM "{table}" WHERE server_id = ?1"#),
                    [server_id],
                )
                .map_err(sqlite_error)?;
        }
        Ok(())
    }

    /// A mapping's remote user and password, for the emulator's own checks; no view shows the
    /// password.
    pub fn linked_login_secret(
        &self,
        server_id: i64,
        local_principal_id: i64,
    ) -> Option<(Option<String>, Option<String>)> {
        self.conn
            .query_row(
                r#"SELECT l.remote_name, s.password FROM "sys.linked_logins" l JOIN "ferry.linked_login_secrets" s
                   ON s.server_id = l.server_id AND s.local_principal_id = l.local_principal_id
                   WHERE l.server_id = ?1 AND l.local_principal_id = ?2"#,
                [server_id, local_principal_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .ok()
    }
}
