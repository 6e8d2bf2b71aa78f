//! The server principals, roles, permissions and Entra directory a new instance has, and an
//! older catalog brought up to the current layout; run at every start.

use super::principal_basics::NOW;
use super::principals::{SCHEMA, certificate_sid, type_desc};
use super::security::{password_hash, unique_bytes};
use super::{Instance, sqlite_error};
use crate::protocol::tokens::ServerMessage;

/// `sys.syslogins`, the compatibility view scripts such as sp_help_revlogin still read
/// ("sys.syslogins (Transact-SQL)"): one row per login, with its access (CONNECT SQL granted
/// or denied) and its fixed-role memberships as flags. Re-created at every start.
const SYSLOGINS: &str = r#"
DROP VIEW IF EXISTS "sys.syslogins";
CREATE VIEW "sys.syslogins" AS SELECT
    p.sid AS sid, 9 AS status, p.create_date AS createdate, p.modify_date AS updatedate,
    p.create_date AS accdate, p.name AS name, p.default_database_name AS dbname,
    NULL AS password, p.default_language_name AS language,
    EXISTS (SELECT 1 FROM "sys.server_permissions" x WHERE x.class = 100 AND x.grantee_principal_id = p.principal_id AND x.type = 'COSQ' AND x.state = 'D') AS denylogin,
    EXISTS (SELECT 1 FROM "sys.server_permissions" x WHERE x.class = 100 AND x.grantee_principal_id = p.principal_id AND x.type = 'COSQ' AND x.state IN ('G', 'W')) AS hasaccess,
    p.type IN ('U', 'G') AS isntname, p.type = 'G' AS isntgroup, p.type = 'U' AS isntuser,
    EXISTS (SELECT 1 FROM "sys.server_role_members" m WHERE m.member_principal_id = p.principal_id AND m.role_principal_id = 3) AS sysadmin,
    EXISTS (SELECT 1 FROM "sys.server_role_members" m WHERE m.member_principal_id = p.principal_id AND m.role_principal_id = 4) AS securityadmin,
    EXISTS (SELECT 1 FROM "sys.server_role_members" m WHERE m.member_principal_id = p.principal_id AND m.role_principal_id = 5) AS serveradmin,
    EXISTS (SELECT 1 FROM "sys.server_role_members" m WHERE m.member_principal_id = p.principal_id AND m.role_principal_id = 6) AS setupadmin,
    EXISTS (SELECT 1 FROM "sys.server_role_members" m WHERE m.member_principal_id = p.principal_id AND m.role_principal_id = 7) AS processadmin,
    EXISTS (SELECT 1 FROM "sys.server_role_members" m WHERE m.member_principal_id = p.principal_id AND m.role_principal_id = 8) AS diskadmin,
    EXISTS (SELECT 1 FROM "sys.server_role_members" m WHERE m.member_principal_id = p.principal_id AND m.role_principal_id = 9) AS dbcreator,
    EXISTS (SELECT 1 FROM "sys.server_role_members" m WHERE m.member_principal_id = p.principal_id AND m.role_principal_id = 10) AS bulkadmin,
    p.name AS loginname
FROM "sys.server_principals" p WHERE p.type IN ('S', 'U', 'G', 'C', 'K', 'E', 'X');
"#;

type Seed = (&'static str, i64, Vec<u8>, &'static str, i64, bool);

/// Columns an older catalog's principal tables lack, added when it is opened.
const ADDED_COLUMNS: &[(&str, &str)] = &[
    ("create_date", "datetime"),
    ("modify_date", "datetime"),
    ("default_language_name", "sysname"),
    ("credential_id", "int"),
    ("owning_principal_id", "int"),
    ("is_fixed_role", "bit"),
];

/// A SID written `S-1-…` as its binary form (revision, count, 6-byte authority, sub-authorities
/// little-endian), as SUSER_SID returns Windows SIDs.
fn windows_sid(text: &str) -> Vec<u8> {
    let parts: Vec<u64> = text
        .trim_start_matches("S-")
        .split('-')
        .filter_map(|p| p.parse().ok())
        .collect();
    let mut out = vec![parts[0] as u8, (parts.len() - 2) as u8];
    out.extend_from_slice(&parts[1].to_be_bytes()[2..]);
    for p in &parts[2..] {
        out.extend_from_slice(&(*p as u32).to_le_bytes());
    }
    out
}

/// (name, principal_id, sid, type, type_desc, is_disabled, is_fixed_role) as a new instance
/// has them. Fixed server roles and their ids: "Server-level roles" and
/// "sys.server_principals". The certificate logins and the Windows principals are what a SQL
/// Server setup on Windows creates; their ids after 256 differ between installations.
fn seeds(mi: bool) -> Vec<Seed> {
    let mut v = vec![
        ("sa", 1, vec![1u8], "S", 0, false),
        ("public", 2, vec![2], "R", 0, false),
    ];
    for (i, role) in [
        "sysadmin",
        "securityadmin",
        "serveradmin",
        "setupadmin",
        "processadmin",
        "diskadmin",
        "dbcreator",
        "bulkadmin",
    ]
    .into_iter()
    .enumerate()
    {
        let id = i as i64 + 3;
        v.push((role, id, vec![id as u8], "R", 0, true));
    }
    if mi {
        // Docs are silent on MI's other built-in principals; it has no Windows principals
        // ("T-SQL differences between SQL Server and Azure SQL Managed Instance"), so none.
        return v;
    }
    for (name, id) in [
        ("##MS_SQLResourceSigningCertificate##", 101),
        ("##MS_SQLReplicationSigningCertificate##", 102),
        ("##MS_SQLAuthenticatorCertificate##", 103),
        ("##MS_PolicySigningCertificate##", 105),
        ("##MS_SmoExtendedSigningCertificate##", 106),
        ("##MS_AgentSigningCertificate##", 258),
    ] {
        v.push((name, id, certificate_sid(name), "C", 0, false));
    }
    v.push((
        "##MS_PolicyEventProcessingLogin##",
        256,
        unique_bytes("policy-event", 16),
        "S",
        1,
        false,
    ));
    v.push((
        "##MS_PolicyTsqlExecutionLogin##",
        257,
        unique_bytes("policy-tsql", 16),
        "S",
        1,
        false,
    ));
    for (name, id, sid, ty) in [
        ("NT AUTHORITY\\SYSTEM", 259, "S-1-5-18", "U"),
        (
            "NT SERVICE\\MSSQLSERVER",
            260,
            "S-1-5-80-3880718306-3832830129-1677859214-2598158968-1052248003",
            "U",
        ),
        (
            "NT SERVICE\\SQLSERVERAGENT",
            261,
            "S-1-5-80-344959196-2060754871-2302487193-2804545603-1466107430",
            "U",
        ),
        ("BUILTIN\\Administrators", 262, "S-1-5-32-544", "G"),
    ] {
        v.push((name, id, windows_sid(sid), ty, 0, false));
    }
    v
}

impl Instance {
    /// The principal tables in the catalog's current layout, and what a new instance has in
    /// them; run at every start (an older catalog is brought up to date).
    pub fn prepare_principals(&mut self, mi: bool) -> Result<(), ServerMessage> {
        for table in ["sys.server_principals", "sys.sql_logins"] {
            let cols = self.columns_of("main", table);
            for (col, ty) in ADDED_COLUMNS {
                if !cols.is_empty() && !cols.iter().any(|c| c == col) {
                    let sql = format!(r#"ALTER TABLE "{table}" ADD COLUMN {col} {ty}"#);
                    self.conn.execute_batch(&sql).map_err(sqlite_error)?;
                }
            }
        }
        self.conn.execute_batch(SCHEMA).map_err(sqlite_error)?;
        self.conn
            .execute_batch(super::server_roles::SCHEMA)
            .map_err(sqlite_error)?;
        self.conn
            .execute_batch(super::permissions::SCHEMA)
            .map_err(sqlite_error)?;
        self.conn
            .execute_batch(super::entra::SCHEMA)
            .map_err(sqlite_error)?;
        self.conn
            .execute_batch(super::windows_groups::SCHEMA)
            .map_err(sqlite_error)?;
        self.conn.execute_batch(SYSLOGINS).map_err(sqlite_error)?;
        for (name, id, sid, ty, disabled, fixed) in seeds(mi) {
            let by_id = self
                .conn
                .query_row(
                    r#"SELECT name FROM "sys.server_principals" WHERE principal_id = ?1"#,
                    [id],
                    |r| r.get::<_, String>(0),
                )
                .ok();
            if by_id.is_some() {
                continue;
            }
            // A login of that name made before principal ids were seeded (an older catalog):
            // it becomes the built-in one.
            self.conn
                .execute(
                    r#"DELETE FROM "sys.server_principals" WHERE name = ?1 COLLATE NOCASE"#,
                    [name],
                )
                .map_err(sqlite_error)?;
            let (db, lang, owner) = if ty == "R" {
                (None, None, Some(1))
            } else {
                (Some("master"), Some("us_english"), None)
            };
            self.conn
                .execute(
                    r#"INSERT INTO "sys.server_principals" (name, principal_id, sid, type, type_desc, is_disabled, create_date, modify_date, default_database_name, default_language_name, credential_id, owning_principal_id, is_fixed_role) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9, NULL, ?10, ?11)"#,
                    rusqlite::params![name, id, sid, ty, type_desc(ty), disabled, NOW, db, lang, owner, fixed],
                )
                .map_err(sqlite_error)?;
            if ty == "S" {
                let existing = self.password_hash_of(name);
                self.conn
                    .execute(
                        r#"DELETE FROM "sys.sql_logins" WHERE name = ?1 COLLATE NOCASE"#,
                        [name],
                    )
                    .map_err(sqlite_error)?;
                let hash = existing.unwrap_or_else(|| {
                    password_hash(&super::tde::hex(&unique_bytes(name, 16)), [0, 0, 0, 0])
                });
                self.insert_sql_login(id, hash, true, false)?;
            }
            if ty != "R" {
                self.grant_connect_sql(id)?;
            }
        }
        self.seed_permissions(mi)?;
        self.seed_entra_directory()?;
        // The server's own administrator is a member of sysadmin ("Server-level roles").
        self.add_role_member_ids(3, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_sids_have_the_binary_shape() {
        assert_eq!(
            super::super::tde::hex(&windows_sid("S-1-5-18")),
            "0x010100000000000512000000"
        );
        assert_eq!(
            super::super::tde::hex(&windows_sid("S-1-5-32-544")),
            "0x01020000000000052000000020020000"
        );
    }
}
