//! Server permissions: GRANT / DENY / REVOKE at server scope and on logins, server roles,
//! endpoints and availability groups ("GRANT Server Permissions", "GRANT Server Principal
//! Permissions", "GRANT Endpoint Permissions", "GRANT Availability Group Permissions"),
//! `sys.server_permissions` with its type codes ("sys.server_permissions (Transact-SQL)"), and
//! `sys.endpoints` with the default TSQL endpoints ("sys.endpoints").

use super::principal_basics::not_found;
use super::{Instance, sqlite_error};
use crate::protocol::tokens::ServerMessage;

pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS "sys.server_permissions" (
    class tinyint, class_desc nvarchar(60), major_id int, minor_id int, grantee_principal_id int,
    grantor_principal_id int, type char(4), permission_name nvarchar(128), state char(1),
    state_desc nvarchar(60)
);
CREATE TABLE IF NOT EXISTS "sys.endpoints" (
    name sysname, endpoint_id int, principal_id int, protocol tinyint, protocol_desc nvarchar(60),
    type tinyint, type_desc nvarchar(60), state tinyint, state_desc nvarchar(60),
    is_admin_endpoint bit
);
"#;

/// Permissions on the server itself (class 100), with their sys.server_permissions codes.
const SERVER: &[(&str, &str)] = &[
    ("ADMINISTER BULK OPERATIONS", "ADBO"),
    ("ALTER ANY AVAILABILITY GROUP", "ALAG"),
    ("ALTER ANY CONNECTION", "ALCO"),
    ("ALTER ANY CREDENTIAL", "ALCD"),
    ("ALTER ANY DATABASE", "ALDB"),
    ("ALTER ANY ENDPOINT", "ALHE"),
    ("ALTER ANY EVENT NOTIFICATION", "ALES"),
    ("ALTER ANY EVENT SESSION", "AAES"),
    ("ALTER ANY LINKED SERVER", "ALLS"),
    ("ALTER ANY LOGIN", "ALLG"),
    ("ALTER ANY SERVER AUDIT", "ALAA"),
    ("ALTER ANY SERVER ROLE", "ALSR"),
    ("ALTER RESOURCES", "ALRS"),
    ("ALTER SERVER STATE", "ALSS"),
    ("ALTER SETTINGS", "ALST"),
    ("ALTER TRACE", "ALTR"),
    ("AUTHENTICATE SERVER", "AUTH"),
    ("CONNECT ANY DATABASE", "CADB"),
    ("CONNECT SQL", "COSQ"),
    ("CONTROL SERVER", "CL"),
    ("CREATE ANY DATABASE", "CRDB"),
    ("CREATE AVAILABILITY GROUP", "CRAC"),
    ("CREATE DDL EVENT NOTIFICATION", "CRDE"),
    ("CREATE ENDPOINT", "CRHE"),
    ("CREATE SERVER ROLE", "CRSR"),
    ("CREATE TRACE EVENT NOTIFICATION", "CRTE"),
    ("EXTERNAL ACCESS ASSEMBLY", "XA"),
    ("IMPERSONATE ANY LOGIN", "IAL"),
    ("SELECT ALL USER SECURABLES", "SUS"),
    ("SHUTDOWN", "SHDN"),
    ("UNSAFE ASSEMBLY", "XU"),
    ("VIEW ANY DATABASE", "VWDB"),
    ("VIEW ANY DEFINITION", "VWAD"),
    ("VIEW SERVER STATE", "VWSS"),
];

/// What a GRANT, DENY or REVOKE is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Securable {
    Server,
    Login(String),
    ServerRole(String),
    Endpoint(String),
    AvailabilityGroup(String),
}

/// GRANT, DENY or REVOKE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Grant,
    Deny,
    Revoke,
}

/// One GRANT / DENY / REVOKE statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionChange {
    pub action: Action,
    pub permissions: Vec<String>,
    pub on: Securable,
    pub grantees: Vec<String>,
    pub with_grant_option: bool,
    /// REVOKE GRANT OPTION FOR.
    pub grant_option_for: bool,
    pub cascade: bool,
    pub grantor: Option<String>,
}

/// The permissions a securable class has, and its class number and description.
fn class_of(on: &Securable) -> (i64, &'static str, &'static [(&'static str, &'static str)]) {
    const PRINCIPAL: &[(&str, &str)] = &[
        ("ALTER", "AL"),
        ("CONTROL", "CL"),
        ("IMPERSONATE", "IM"),
        ("VIEW DEFINITION", "VW"),
    ];
    const ROLE: &[(&str, &str)] = &[
        ("ALTER", "AL"),
        ("CONTROL", "CL"),
        ("TAKE OWNERSHIP", "TO"),
        ("VIEW DEFINITION", "VW"),
    ];
    const ENDPOINT: &[(&str, &str)] = &[
        ("ALTER", "AL"),
        ("CONNECT", "CO"),
        ("CONTROL", "CL"),
        ("TAKE OWNERSHIP", "TO"),
        ("VIEW DEFINITION", "VW"),
    ];
    match on {
        Securable::Server => (100, "SERVER", SERVER),
        Securable::Login(_) => (101, "SERVER_PRINCIPAL", PRINCIPAL),
        Securable::ServerRole(_) => (101, "SERVER_PRINCIPAL", ROLE),
        Securable::Endpoint(_) => (105, "ENDPOINT", ENDPOINT),
        Securable::AvailabilityGroup(_) => (108, "AVAILABILITY GROUP", ENDPOINT),
    }
}

/// Whether `name` is a server-scope permission at all (for telling server GRANTs from
/// database ones).
pub fn is_server_permission(name: &str) -> bool {
    SERVER.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
}

impl Instance {
    fn insert_permission(
        &self,
        class: (i64, &str),
        major: i64,
        grantee: i64,
        grantor: i64,
        (name, code): (&str, &str),
        state: &str,
    ) -> Result<(), ServerMessage> {
        let desc = match state {
            "G" => "GRANT",
            "W" => "GRANT_WITH_GRANT_OPTION",
            _ => "DENY",
        };
        self.conn
            .execute(
                r#"DELETE FROM "sys.server_permissions" WHERE class = ?1 AND major_id = ?2 AND grantee_principal_id = ?3 AND type = ?4"#,
                rusqlite::params![class.0, major, grantee, code],
            )
            .map_err(sqlite_error)?;
        self.conn
            .execute(
                r#"INSERT INTO "sys.server_permissions" VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6, ?7, ?8, ?9)"#,
                rusqlite::params![class.0, class.1, major, grantee, grantor, code, name, state, desc],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// "CREATE LOGIN": every new login is granted CONNECT SQL (by sa, as sys.server_permissions
    /// shows on SQL Server).
    pub(super) fn grant_connect_sql(&self, id: i64) -> Result<(), ServerMessage> {
        self.insert_permission((100, "SERVER"), 0, id, 1, ("CONNECT SQL", "COSQ"), "G")
    }

    /// What a new instance has: public's VIEW ANY DATABASE; on SQL Server the five default
    /// TSQL endpoints ("sys.endpoints": ids 1–5, owned by sa) with public's CONNECT on all but
    /// the dedicated admin connection. MI: no endpoints — its T-SQL differences article lists
    /// no user-visible endpoints; the stricter choice.
    pub(super) fn seed_permissions(&self, mi: bool) -> Result<(), ServerMessage> {
        let seeded = self
            .conn
            .query_row(
                r#"SELECT 1 FROM "sys.server_permissions" WHERE grantee_principal_id = 2"#,
                [],
                |_| Ok(()),
            )
            .is_ok();
        if seeded {
            return Ok(());
        }
        self.insert_permission((100, "SERVER"), 0, 2, 1, ("VIEW ANY DATABASE", "VWDB"), "G")?;
        if mi {
            return Ok(());
        }
        for (name, id, protocol, pdesc, state, sdesc, admin) in [
            (
                "Dedicated Admin Connection",
                1,
                2,
                "TCP",
                0,
                "STARTED",
                true,
            ),
            (
                "TSQL Local Machine",
                2,
                4,
                "SHARED_MEMORY",
                0,
                "STARTED",
                false,
            ),
            ("TSQL Named Pipes", 3, 3, "NAMED_PIPES", 0, "STARTED", false),
            ("TSQL Default TCP", 4, 2, "TCP", 0, "STARTED", false),
            ("TSQL Default VIA", 5, 5, "VIA", 1, "STOPPED", false),
        ] {
            self.conn
                .execute(
                    r#"INSERT INTO "sys.endpoints" VALUES (?1, ?2, 1, ?3, ?4, 2, 'TSQL', ?5, ?6, ?7)"#,
                    rusqlite::params![name, id, protocol, pdesc, state, sdesc, admin],
                )
                .map_err(sqlite_error)?;
            if !admin {
                self.insert_permission((105, "ENDPOINT"), id, 2, 1, ("CONNECT", "CO"), "G")?;
            }
        }
        Ok(())
    }

    /// Whether a login is denied CONNECT SQL.
    pub(super) fn connect_denied(&self, id: i64) -> bool {
        self.conn
            .query_row(
                r#"SELECT 1 FROM "sys.server_permissions" WHERE class = 100 AND grantee_principal_id = ?1 AND type = 'COSQ' AND state = 'D'"#,
                [id],
                |_| Ok(()),
            )
            .is_ok()
    }

    /// The securable's id, or 15151 naming it.
    fn securable_id(&self, on: &Securable, mi: bool) -> Result<i64, ServerMessage> {
        match on {
            Securable::Server => Ok(0),
            Securable::Login(n) => self
                .principal(n)
                .filter(|p| p.3 != "R")
                .map(|p| p.0)
                .ok_or_else(|| not_found("find", "login", n)),
            Securable::ServerRole(n) => self
                .principal(n)
                .filter(|p| p.3 == "R")
                .map(|p| p.0)
                .ok_or_else(|| not_found("find", "server role", n)),
            Securable::Endpoint(n) => self
                .conn
                .query_row(
                    r#"SELECT endpoint_id FROM "sys.endpoints" WHERE name = ?1 COLLATE NOCASE"#,
                    [n],
                    |r| r.get(0),
                )
                .map_err(|_| not_found("find", "endpoint", n)),
            // Neither personality keeps availability groups (MI has none a user can create:
            // "T-SQL differences … Always On availability groups"), so none can be found.
            Securable::AvailabilityGroup(n) => {
                let _ = mi;
                Err(not_found("find", "availability group", n))
            }
        }
    }

    /// GRANT / DENY / REVOKE on server-level securables, by login `current` (the grantor
    /// unless AS names one).
    pub fn change_permissions(
        &mut self,
        c: &PermissionChange,
        current: &str,
        database: &str,
        mi: bool,
    ) -> Result<(), ServerMessage> {
        // "GRANT Server Permissions": server-scope permissions are granted in master
        // (error 4621).
        if !database.eq_ignore_ascii_case("master") {
            return Err(ServerMessage::error(
                4621,
                16,
                "Permissions at the server scope can only be granted when the current database is master",
            ));
        }
        let (class, class_desc, allowed) = class_of(&c.on);
        let mut perms = Vec::new();
        for p in &c.permissions {
            match allowed.iter().find(|(n, _)| n.eq_ignore_ascii_case(p)) {
                Some(found) => perms.push(*found),
                // 4606: Granted or revoked privilege %ls is not compatible with object.
                None if class != 100 => {
                    return Err(ServerMessage::error(
                        4606,
                        16,
                        format!("Granted or revoked privilege {p} is not compatible with object."),
                    ));
                }
                None => return Err(crate::syntax::syntax_error(p)),
            }
        }
        let major = self.securable_id(&c.on, mi)?;
        let grantor = match &c.grantor {
            Some(g) => self
                .principal(g)
                .map(|p| p.0)
                .ok_or_else(|| not_found("find", "login", g))?,
            None => self.principal(current).map_or(1, |p| p.0),
        };
        let me = self.principal(current).map(|p| p.0);
        let mut grantees = Vec::new();
        for g in &c.grantees {
            let id = self
                .principal(g)
                .map(|p| p.0)
                .ok_or_else(|| not_found("find", "login", g))?;
            if id == 1 || Some(id) == me {
                return Err(ServerMessage::error(
                    4624,
                    16,
                    "Cannot grant, deny, or revoke permissions to sa, dbo, entity owner, information_schema, sys, or yourself.",
                ));
            }
            // The fixed server roles (ids 3–10) have their permissions built in.
            if (3..=10).contains(&id) {
                return Err(ServerMessage::error(
                    4617,
                    16,
                    "Cannot grant, deny or revoke permissions to or from special roles.",
                ));
            }
            grantees.push(id);
        }
        for &grantee in &grantees {
            for &(name, code) in &perms {
                let current_state: Option<String> = self
                    .conn
                    .query_row(
                        r#"SELECT state FROM "sys.server_permissions" WHERE class = ?1 AND major_id = ?2 AND grantee_principal_id = ?3 AND type = ?4"#,
                        rusqlite::params![class, major, grantee, code],
                        |r| r.get(0),
                    )
                    .ok();
                let grantable = current_state.as_deref() == Some("W");
                // 4611: revoking or denying a grantable permission needs CASCADE.
                if grantable && c.action != Action::Grant && !c.cascade {
                    return Err(ServerMessage::error(
                        4611,
                        16,
                        "To revoke or deny grantable privileges, specify the CASCADE option.",
                    ));
                }
                match c.action {
                    Action::Grant => {
                        let state = if c.with_grant_option { "W" } else { "G" };
                        self.insert_permission(
                            (class, class_desc),
                            major,
                            grantee,
                            grantor,
                            (name, code),
                            state,
                        )?;
                    }
                    Action::Deny => {
                        self.insert_permission(
                            (class, class_desc),
                            major,
                            grantee,
                            grantor,
                            (name, code),
                            "D",
                        )?;
                    }
                    Action::Revoke if c.grant_option_for => {
                        if grantable {
                            self.insert_permission(
                                (class, class_desc),
                                major,
                                grantee,
                                grantor,
                                (name, code),
                                "G",
                            )?;
                        }
                    }
                    Action::Revoke => {
                        self.conn
                            .execute(
                                r#"DELETE FROM "sys.server_permissions" WHERE class = ?1 AND major_id = ?2 AND grantee_principal_id = ?3 AND type = ?4"#,
                                rusqlite::params![class, major, grantee, code],
                            )
                            .map_err(sqlite_error)?;
                    }
                }
            }
        }
        Ok(())
    }
}
