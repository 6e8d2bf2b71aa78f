//! Server roles: CREATE / ALTER / DROP SERVER ROLE, sp_addsrvrolemember and
//! sp_dropsrvrolemember, `sys.server_role_members` and IS_SRVROLEMEMBER ("CREATE SERVER ROLE",
//! "ALTER SERVER ROLE", "DROP SERVER ROLE", "Server-level roles"). Errors are sys.messages'.

use super::principal_basics::{NOW, not_found};
use super::{Instance, sqlite_error};
use crate::protocol::tokens::ServerMessage;

pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS "sys.server_role_members" (role_principal_id int, member_principal_id int);
"#;

/// What ALTER SERVER ROLE changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleChange {
    AddMember(String),
    DropMember(String),
    Rename(String),
}

impl Instance {
    pub(super) fn add_role_member_ids(&self, role: i64, member: i64) -> Result<(), ServerMessage> {
        self.conn
            .execute(
                r#"INSERT INTO "sys.server_role_members" SELECT ?1, ?2 WHERE NOT EXISTS (SELECT 1 FROM "sys.server_role_members" WHERE role_principal_id = ?1 AND member_principal_id = ?2)"#,
                [role, member],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// CREATE SERVER ROLE r [AUTHORIZATION owner]: owned by `owner`, else by the creating
    /// login (`creator`).
    pub fn create_server_role(
        &mut self,
        name: &str,
        owner: Option<&str>,
        creator: &str,
    ) -> Result<(), ServerMessage> {
        if self.principal(name).is_some() {
            return Err(ServerMessage::error(
                15025,
                16,
                format!("The server principal '{name}' already exists."),
            ));
        }
        let owner_id = match owner {
            Some(o) => match self.principal(o) {
                // 15151 naming the login, as for any securable that cannot be found.
                Some(p) => p.0,
                None => return Err(not_found("find", "login", o)),
            },
            None => self.principal(creator).map_or(1, |p| p.0),
        };
        let id = self.next_principal_id()?;
        let sid = super::unique_bytes(name, 16);
        self.conn
            .execute(
                r#"INSERT INTO "sys.server_principals" (name, principal_id, sid, type, type_desc, is_disabled, create_date, modify_date, default_database_name, default_language_name, credential_id, owning_principal_id, is_fixed_role) VALUES (?1, ?2, ?3, 'R', 'SERVER_ROLE', 0, ?4, ?4, NULL, NULL, NULL, ?5, 0)"#,
                rusqlite::params![name, id, sid, NOW, owner_id],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// A server role by name: (id, fixed).
    fn role(&self, name: &str) -> Option<(i64, bool)> {
        self.conn
            .query_row(
                r#"SELECT principal_id, COALESCE(is_fixed_role, 0) FROM "sys.server_principals" WHERE name = ?1 COLLATE NOCASE AND type = 'R'"#,
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .ok()
    }

    /// ALTER SERVER ROLE.
    pub fn alter_server_role(
        &mut self,
        name: &str,
        change: RoleChange,
    ) -> Result<(), ServerMessage> {
        let Some((id, fixed)) = self.role(name) else {
            return Err(not_found("alter", "server role", name));
        };
        if id == 2 {
            // 15081: Membership of the public role cannot be changed.
            return Err(ServerMessage::error(
                15081,
                16,
                "Membership of the public role cannot be changed.",
            ));
        }
        match change {
            RoleChange::Rename(new) => {
                if fixed {
                    return Err(not_found("alter", "server role", name));
                }
                if self.principal(&new).is_some() {
                    return Err(ServerMessage::error(
                        15025,
                        16,
                        format!("The server principal '{new}' already exists."),
                    ));
                }
                self.conn
                    .execute(r#"UPDATE "sys.server_principals" SET name = ?2, modify_date = ?3 WHERE principal_id = ?1"#, rusqlite::params![id, new, NOW])
                    .map_err(sqlite_error)?;
                Ok(())
            }
            RoleChange::AddMember(m) => {
                let Some(member) = self.principal(&m) else {
                    return Err(not_found("add", "principal", &m));
                };
                if member.0 == id {
                    return Err(ServerMessage::error(
                        15413,
                        11,
                        "Cannot make a role a member of itself.",
                    ));
                }
                if member.0 == 1
                    || (member.3 == "R" && self.role(&m).is_some_and(|r| r.1))
                    || member.0 == 2
                {
                    // 15405: Cannot use the special principal '%s' (sa, public, fixed roles).
                    return Err(ServerMessage::error(
                        15405,
                        11,
                        format!("Cannot use the special principal '{}'.", member.1),
                    ));
                }
                self.add_role_member_ids(id, member.0)
            }
            RoleChange::DropMember(m) => {
                let Some(member) = self.principal(&m) else {
                    return Err(not_found("drop", "principal", &m));
                };
                if member.0 == 1 {
                    return Err(ServerMessage::error(
                        15405,
                        11,
                        format!("Cannot use the special principal '{}'.", member.1),
                    ));
                }
                self.conn
                    .execute(r#"DELETE FROM "sys.server_role_members" WHERE role_principal_id = ?1 AND member_principal_id = ?2"#, [id, member.0])
                    .map_err(sqlite_error)?;
                Ok(())
            }
        }
    }

    /// DROP SERVER ROLE: user-defined, without members ("DROP SERVER ROLE"; 15144).
    pub fn drop_server_role(&mut self, name: &str) -> Result<(), ServerMessage> {
        let Some((id, fixed)) = self.role(name).filter(|r| r.0 != 2) else {
            return Err(not_found("drop", "server role", name));
        };
        if fixed {
            // "Fixed server roles can't be removed"; the error text is not documented: the
            // not-found-or-no-permission one is the stricter answer.
            return Err(not_found("drop", "server role", name));
        }
        let has_members = self
            .conn
            .query_row(
                r#"SELECT 1 FROM "sys.server_role_members" WHERE role_principal_id = ?1"#,
                [id],
                |_| Ok(()),
            )
            .is_ok();
        if has_members {
            return Err(ServerMessage::error(
                15144,
                16,
                "The role has members. It must be empty before it can be dropped.",
            ));
        }
        let owns = self
            .conn
            .query_row(
                r#"SELECT 1 FROM "sys.server_principals" WHERE owning_principal_id = ?1"#,
                [id],
                |_| Ok(()),
            )
            .is_ok();
        if owns {
            return Err(ServerMessage::error(
                15141,
                16,
                "The server principal owns one or more server role(s) and cannot be dropped.",
            ));
        }
        for sql in [
            r#"DELETE FROM "sys.server_principals" WHERE principal_id = ?1"#,
            r#"DELETE FROM "sys.server_role_members" WHERE member_principal_id = ?1"#,
            r#"DELETE FROM "sys.server_permissions" WHERE grantee_principal_id = ?1 OR (class = 101 AND major_id = ?1)"#,
        ] {
            self.conn.execute(sql, [id]).map_err(sqlite_error)?;
        }
        Ok(())
    }

    /// sp_addsrvrolemember / sp_dropsrvrolemember: fixed roles only ("sp_addsrvrolemember";
    /// 15402 for another role, 15007 for an unknown login).
    pub fn srvrolemember_procedure(
        &mut self,
        login: &str,
        role: &str,
        add: bool,
    ) -> Result<(), ServerMessage> {
        if !self.role(role).is_some_and(|r| r.1) {
            return Err(ServerMessage::error(
                15402,
                11,
                format!("'{role}' is not a fixed server role."),
            ));
        }
        if self.principal(login).is_none_or(|p| p.3 == "R") {
            return Err(ServerMessage::error(
                15007,
                16,
                format!("'{login}' is not a valid login or you do not have permission."),
            ));
        }
        let change = if add {
            RoleChange::AddMember(login.to_owned())
        } else {
            RoleChange::DropMember(login.to_owned())
        };
        self.alter_server_role(role, change)
    }

    /// IS_SRVROLEMEMBER(role, login): 1 or 0, through nested roles; None when the role or the
    /// login is not valid ("IS_SRVROLEMEMBER (Transact-SQL)").
    pub fn is_srvrolemember(&self, role: &str, login: &str) -> Option<bool> {
        let (role_id, _) = self.role(role)?;
        let (login_id, ..) = self.principal(login)?;
        if role_id == 2 {
            return Some(true);
        }
        Some(self.server_roles_of(login_id)?.contains(&role_id))
    }

    /// Every server role `principal` is a member of, directly or through nested roles.
    pub(super) fn server_roles_of(&self, principal: i64) -> Option<Vec<i64>> {
        let mut frontier = vec![principal];
        let mut seen = Vec::new();
        let mut roles = Vec::new();
        while let Some(p) = frontier.pop() {
            if seen.contains(&p) {
                continue;
            }
            seen.push(p);
            let mut stmt = self
                .conn
                .prepare(r#"SELECT role_principal_id FROM "sys.server_role_members" WHERE member_principal_id = ?1"#)
                .ok()?;
            let direct: Vec<i64> = stmt
                .query_map([p], |r| r.get(0))
                .ok()?
                .filter_map(Result::ok)
                .collect();
            roles.extend(direct.iter().copied());
            frontier.extend(direct);
        }
        Some(roles)
    }
}
