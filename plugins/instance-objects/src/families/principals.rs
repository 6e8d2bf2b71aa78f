//! Server principals as both servers list them (`sys.server_principals`), and the name each
//! source login has on the Managed Instance: the same for SQL, certificate and Entra logins,
//! the mapped Entra name for Windows ones.

use ferry_sdk::SqlConnection;
use ferry_sdk::prelude::*;

use crate::config::Config;
use crate::entra::WindowsKind;
use crate::table::Table;

/// One row of `sys.server_principals`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub id: i64,
    pub name: String,
    pub sid: Vec<u8>,
    /// `type`: S SQL login, U Windows user, G Windows group, C certificate-mapped,
    /// K asymmetric-key-mapped, E/X Entra user/group, R server role.
    pub kind: String,
    pub disabled: bool,
    pub default_database: String,
    pub default_language: String,
    pub fixed_role: bool,
    pub owner_id: i64,
}

pub fn read(cx: &mut Context<'_, Config>, conn: SqlConnection) -> Result<Vec<Principal>> {
    let t = Table::read(
        cx,
        conn,
        "sys.server_principals",
        "SELECT name, principal_id, sid, type, is_disabled, default_database_name, \
         default_language_name, is_fixed_role, owning_principal_id FROM sys.server_principals",
        &[],
    )?;
    Ok(t.rows()
        .map(|r| Principal {
            id: r.int("principal_id"),
            name: r.text("name"),
            sid: r.bytes("sid").unwrap_or_default(),
            kind: r.text("type").trim().to_uppercase(),
            disabled: r.flag("is_disabled"),
            default_database: r.text("default_database_name"),
            default_language: r.text("default_language_name"),
            fixed_role: r.flag("is_fixed_role"),
            owner_id: r.int("owning_principal_id"),
        })
        .collect())
}

/// Principals every instance has of its own, which no migration should touch (methods.md
/// §5.1): `##…##` certificate logins, `sa`, the service and built-in Windows accounts, the
/// fixed roles and `public`.
pub fn is_system(p: &Principal) -> bool {
    let n = p.name.to_uppercase();
    (n.starts_with("##") && n.ends_with("##"))
        || n == "SA"
        || n == "PUBLIC"
        || p.fixed_role
        || ["NT SERVICE\\", "NT AUTHORITY\\", "BUILTIN\\"]
            .iter()
            .any(|prefix| n.starts_with(prefix))
}

/// The name a source principal has on the MI, or why it has none.
pub fn target_name(cfg: &Config, p: &Principal) -> std::result::Result<String, String> {
    let kind = match p.kind.as_str() {
        "U" => WindowsKind::User,
        "G" => WindowsKind::Group,
        _ => return Ok(p.name.clone()),
    };
    cfg.entra
        .map(&p.name, kind)
        .map(|m| m.entra)
        .ok_or_else(|| cfg.entra.missing(&p.name))
}

/// `0x…` for bytes that are not secret (a SID, a certificate's public part): DDL such as
/// `CREATE LOGIN … SID =` takes a literal, not a parameter.
pub fn hex_literal(b: &[u8]) -> String {
    let mut s = String::with_capacity(2 + b.len() * 2);
    s.push_str("0x");
    for x in b {
        s.push_str(&format!("{x:02X}"));
    }
    s
}
