//! HAS_PERMS_BY_NAME on the server ("HAS_PERMS_BY_NAME (Transact-SQL)": with securable and
//! securable_class NULL it asks about the server; 1 when the caller has the permission in
//! effect, 0 when not, NULL when the permission is not a server permission). In effect
//! ("Permissions (Database Engine)", "GRANT Server Permissions"): sysadmin has every one;
//! otherwise a DENY to the login or any server role it is in (public included) wins, then a
//! GRANT of the permission or of CONTROL SERVER, which implies every server permission.

use super::Instance;

/// The fixed server roles every login is in without membership rows ("Server-level roles").
const PUBLIC: i64 = 2;
const SYSADMIN: i64 = 3;

impl Instance {
    /// `login`'s effective server permission `permission`; None for a login or permission
    /// that is not valid.
    pub fn has_server_permission(&self, login: &str, permission: &str) -> Option<bool> {
        let permission = permission.trim().to_ascii_uppercase();
        if !super::permissions::is_server_permission(&permission) {
            return None;
        }
        let (login_id, ..) = self.principal(login)?;
        let mut holders = self.server_roles_of(login_id)?;
        if holders.contains(&SYSADMIN) {
            return Some(true);
        }
        holders.push(login_id);
        holders.push(PUBLIC);
        let mut granted = Vec::new();
        let mut denied = Vec::new();
        for who in holders {
            let mut stmt = self
                .conn
                .prepare(r#"SELECT permission_name, state FROM "sys.server_permissions" WHERE class = 100 AND grantee_principal_id = ?1"#)
                .ok()?;
            let rows: Vec<(String, String)> = stmt
                .query_map([who], |r| Ok((r.get(0)?, r.get(1)?)))
                .ok()?
                .filter_map(Result::ok)
                .collect();
            for (name, state) in rows {
                let name = name.to_ascii_uppercase();
                if state.eq_ignore_ascii_case("D") {
                    denied.push(name);
                } else {
                    granted.push(name);
                }
            }
        }
        if denied.contains(&permission) {
            return Some(false);
        }
        let control = !denied.iter().any(|d| d == "CONTROL SERVER")
            && granted.iter().any(|g| g == "CONTROL SERVER");
        Some(control || granted.contains(&permission))
    }
}
