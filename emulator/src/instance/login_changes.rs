//! ALTER LOGIN and DROP LOGIN ("ALTER LOGIN (Transact-SQL)", "DROP LOGIN (Transact-SQL)").

use super::principal_basics::{NOW, not_found};
use super::principals::{LoginOptions, Password, new_hash};
use super::{Instance, sqlite_error};
use crate::protocol::tokens::ServerMessage;

impl Instance {
    /// DROP LOGIN. A login that owns a server role cannot go (error 15141).
    pub fn drop_login(&mut self, name: &str) -> Result<(), ServerMessage> {
        let Some((id, _, _, ty)) = self.principal(name).filter(|p| p.3 != "R") else {
            return Err(not_found("drop", "login", name));
        };
        let owns: bool = self
            .conn
            .query_row(
                r#"SELECT 1 FROM "sys.server_principals" WHERE owning_principal_id = ?1"#,
                [id],
                |_| Ok(()),
            )
            .is_ok();
        if owns || id == 1 || ty == "C" && id < 256 {
            return Err(ServerMessage::error(
                15141,
                16,
                "The server principal owns one or more server role(s) and cannot be dropped.",
            ));
        }
        for sql in [
            r#"DELETE FROM "sys.server_principals" WHERE principal_id = ?1"#,
            r#"DELETE FROM "sys.sql_logins" WHERE principal_id = ?1"#,
            r#"DELETE FROM "ferry.login_flags" WHERE principal_id = ?1"#,
            r#"DELETE FROM "sys.server_role_members" WHERE member_principal_id = ?1"#,
            r#"DELETE FROM "sys.server_permissions" WHERE grantee_principal_id = ?1 OR (class = 101 AND major_id = ?1)"#,
            r#"DELETE FROM "sys.server_principal_credentials" WHERE principal_id = ?1"#,
        ] {
            self.conn.execute(sql, [id]).map_err(sqlite_error)?;
        }
        Ok(())
    }

    /// ALTER LOGIN … ENABLE | DISABLE.
    pub fn set_login_disabled(&mut self, name: &str, disabled: bool) -> Result<(), ServerMessage> {
        let Some((id, _, _, ty)) = self.principal(name).filter(|p| p.3 != "R") else {
            return Err(not_found("alter", "login", name));
        };
        if ty == "G" || ty == "X" {
            // 33129 (sys.messages): groups are let in or kept out with CONNECT SQL.
            return Err(ServerMessage::error(
                33129,
                16,
                "Cannot use ALTER LOGIN with the ENABLE or DISABLE argument for a Windows group. GRANT or REVOKE the CONNECT SQL permission instead.",
            ));
        }
        self.conn
            .execute(
                r#"UPDATE "sys.server_principals" SET is_disabled = ?2, modify_date = ?3 WHERE principal_id = ?1"#,
                rusqlite::params![id, disabled, NOW],
            )
            .map_err(sqlite_error)?;
        self.sync_sql_login(id)
    }

    /// ALTER LOGIN … WITH ….
    pub fn alter_login(&mut self, name: &str, o: LoginOptions) -> Result<(), ServerMessage> {
        let Some((id, _, _, ty)) = self.principal(name).filter(|p| p.3 != "R") else {
            return Err(not_found("alter", "login", name));
        };
        self.check_login_options(&ty, &o)?;
        if let Some(new) = &o.name
            && self.principal(new).is_some_and(|p| p.0 != id)
        {
            return Err(ServerMessage::error(
                15025,
                16,
                format!("The server principal '{new}' already exists."),
            ));
        }
        let credential = match &o.credential {
            Some(c) => Some(self.credential_id(c)?),
            None => None,
        };
        let set = |col: &str, v: rusqlite::types::Value| {
            self.conn
                .execute(
                    &format!(r#"UPDATE "sys.server_principals" SET {col} = ?2, modify_date = ?3 WHERE principal_id = ?1"#),
                    rusqlite::params![id, v, NOW],
                )
                .map_err(sqlite_error)
        };
        use rusqlite::types::Value as V;
        if let Some(n) = &o.name {
            set("name", V::Text(n.clone()))?;
        }
        if let Some(d) = &o.default_database {
            set("default_database_name", V::Text(d.clone()))?;
        }
        if let Some(l) = &o.default_language {
            set("default_language_name", V::Text(l.clone()))?;
        }
        if let Some(c) = credential {
            set("credential_id", V::Integer(c))?;
            self.map_credential(id, Some(c))?;
        }
        if o.no_credential {
            set("credential_id", V::Null)?;
            self.map_credential(id, None)?;
        }
        self.sync_sql_login(id)?;
        let sql_set = |col: &str, v: rusqlite::types::Value| {
            self.conn
                .execute(
                    &format!(r#"UPDATE "sys.sql_logins" SET {col} = ?2 WHERE principal_id = ?1"#),
                    rusqlite::params![id, v],
                )
                .map_err(sqlite_error)
        };
        if let Some(p) = o.check_policy {
            sql_set("is_policy_checked", V::Integer(i64::from(p)))?;
        }
        if let Some(e) = o.check_expiration {
            sql_set("is_expiration_checked", V::Integer(i64::from(e)))?;
        }
        if let Some(p) = o.password {
            let hash = match p {
                Password::Plain(p) => new_hash(name, &p),
                Password::Hashed(h) => h,
            };
            sql_set("password_hash", V::Blob(hash))?;
            self.conn
                .execute(
                    r#"INSERT OR REPLACE INTO "ferry.login_flags" VALUES (?1, ?2)"#,
                    rusqlite::params![id, o.must_change],
                )
                .map_err(sqlite_error)?;
        }
        Ok(())
    }
}
