//! Logins (methods.md §5.1), the `sp_help_revlogin` way: a SQL login keeps its SID, so the
//! restored databases' users stay mapped, and its password hash, so applications keep their
//! passwords. The hash is read sealed: it passes from the source to the MI (and the owner-only
//! `.sql` file) without the plugin or any log seeing it. Windows logins become Microsoft Entra
//! logins through the mapping; certificate-mapped logins follow their certificate.

use std::collections::{BTreeMap, BTreeSet};

use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::quote_name;
use ferry_sdk::{Param, Secret, SqlConnection, SqlValue};

use super::principals::{self, Principal, hex_literal, is_system};
use crate::config::Config;
use crate::decision::{Decision, Statement, Verdict};
use crate::servers::Servers;
use crate::table::Table;

/// A SQL login's `sys.sql_logins` columns; the hash only ever as a sealed handle.
struct SqlLogin {
    hash: Option<Secret>,
    policy: bool,
    expiration: bool,
}

/// What a server says about its logins beyond `sys.server_principals`.
struct Logins {
    principals: Vec<Principal>,
    sql: BTreeMap<i64, SqlLogin>,
    /// Principals with `DENY CONNECT SQL`.
    denied: BTreeSet<i64>,
    /// Certificate names by SID, for certificate-mapped logins.
    certificates: BTreeMap<Vec<u8>, String>,
    /// (login id, credential name) pairs from `sys.server_principal_credentials`.
    credentials: BTreeSet<(i64, String)>,
}

fn read(cx: &mut Context<'_, Config>, conn: SqlConnection, sealed_hash: bool) -> Result<Logins> {
    let principals = principals::read(cx, conn)?;
    let sealed: &[&str] = if sealed_hash { &["password_hash"] } else { &[] };
    let hash_column = if sealed_hash { ", password_hash" } else { "" };
    let t = Table::read_sealed(
        cx,
        conn,
        "sys.sql_logins",
        &format!(
            "SELECT principal_id, is_policy_checked, is_expiration_checked{hash_column} \
             FROM sys.sql_logins"
        ),
        &[],
        sealed,
    )?;
    let sql = t
        .rows()
        .map(|r| {
            (
                r.int("principal_id"),
                SqlLogin {
                    hash: r.secret("password_hash"),
                    policy: r.flag("is_policy_checked"),
                    expiration: r.flag("is_expiration_checked"),
                },
            )
        })
        .collect();
    let t = Table::read(
        cx,
        conn,
        "sys.server_permissions",
        "SELECT grantee_principal_id FROM sys.server_permissions \
         WHERE permission_name = 'CONNECT SQL' AND state = 'D'",
        &[],
    )?;
    let denied = t.rows().map(|r| r.int("grantee_principal_id")).collect();
    let t = Table::read(
        cx,
        conn,
        "master.sys.certificates",
        "SELECT name, sid FROM master.sys.certificates",
        &[],
    )?;
    let certificates = t
        .rows()
        .filter_map(|r| Some((r.bytes("sid")?, r.text("name"))))
        .collect();
    let t = Table::read(
        cx,
        conn,
        "sys.server_principal_credentials",
        "SELECT pc.principal_id, c.name FROM sys.server_principal_credentials pc \
         JOIN sys.credentials c ON c.credential_id = pc.credential_id",
        &[],
    )?;
    let credentials = t
        .rows()
        .map(|r| (r.int("principal_id"), r.text("name")))
        .collect();
    Ok(Logins {
        principals,
        sql,
        denied,
        certificates,
        credentials,
    })
}

const LOGIN_TYPES: [&str; 7] = ["S", "U", "G", "C", "K", "E", "X"];

fn kind_name(kind: &str) -> &'static str {
    match kind {
        "S" => "SQL login",
        "U" => "Windows user",
        "G" => "Windows group",
        "C" => "certificate-mapped login",
        "K" => "asymmetric-key-mapped login",
        "E" => "Microsoft Entra user",
        "X" => "Microsoft Entra group",
        _ => "principal",
    }
}

/// The system databases exist on the MI before any restore; a user database does not yet
/// when logins are made, so those logins start in `master` and the `users` part sets their
/// default database once it is restored (methods.md §5.1).
fn is_system_db(db: &str) -> bool {
    ["master", "tempdb", "model", "msdb", ""]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(db))
}

/// The statements that make `p` on the MI as `name`.
fn create(src: &Logins, p: &Principal, name: &str) -> std::result::Result<Vec<Statement>, Verdict> {
    let q = quote_name(name);
    let mut out = Vec::new();
    match p.kind.as_str() {
        "S" => {
            let Some(l) = src.sql.get(&p.id) else {
                return Err(Verdict::Refused {
                    code: "unreadable-login",
                    why: "sys.sql_logins has no row for this SQL login: the source login \
                          reading it lacks VIEW ANY DEFINITION or CONTROL SERVER"
                        .into(),
                });
            };
            let Some(hash) = l.hash else {
                return Err(Verdict::Refused {
                    code: "no-password-hash",
                    why: "the source gave no password hash for this SQL login (the reading login \
                          needs CONTROL SERVER to see hashes); grant it and apply again"
                        .into(),
                });
            };
            let db = if is_system_db(&p.default_database) {
                p.default_database.as_str()
            } else {
                "master"
            };
            let db = if db.is_empty() { "master" } else { db };
            let mut sql = format!(
                "CREATE LOGIN {q} WITH PASSWORD = @hash HASHED, SID = {}, DEFAULT_DATABASE = {}",
                hex_literal(&p.sid),
                quote_name(db)
            );
            if !p.default_language.is_empty() {
                sql.push_str(&format!(
                    ", DEFAULT_LANGUAGE = {}",
                    quote_name(&p.default_language)
                ));
            }
            sql.push_str(&format!(
                ", CHECK_POLICY = {}, CHECK_EXPIRATION = {}",
                on_off(l.policy),
                on_off(l.expiration && l.policy)
            ));
            out.push(Statement::new(sql).with(Param::sealed("hash", hash)));
        }
        "U" | "G" | "E" | "X" => {
            out.push(Statement::new(format!(
                "CREATE LOGIN {q} FROM EXTERNAL PROVIDER"
            )));
        }
        "C" => {
            let Some(cert) = src.certificates.get(&p.sid) else {
                return Err(Verdict::Refused {
                    code: "certificate-missing",
                    why: "no certificate in master on the source has this login's SID".into(),
                });
            };
            out.push(Statement::new(format!(
                "CREATE LOGIN {q} FROM CERTIFICATE {}",
                quote_name(cert)
            )));
        }
        _ => {
            return Err(Verdict::Refused {
                code: "asymmetric-key-login",
                why: "its asymmetric key cannot be copied: T-SQL has no function that returns an \
                      asymmetric key's private key, and Managed Instance reads no key files. \
                      Create the key in master on the MI from its original source (CREATE \
                      ASYMMETRIC KEY … FROM PROVIDER, or a key in Azure Key Vault), then CREATE \
                      LOGIN … FROM ASYMMETRIC KEY"
                    .into(),
            });
        }
    }
    if p.disabled {
        out.push(Statement::new(format!("ALTER LOGIN {q} DISABLE")));
    }
    if src.denied.contains(&p.id) {
        out.push(Statement::new(format!("DENY CONNECT SQL TO {q}")));
    }
    Ok(out)
}

fn on_off(b: bool) -> &'static str {
    if b { "ON" } else { "OFF" }
}

/// Whether the target's SQL login `name` has the source's password hash: compared on the
/// target, with the hash sealed, so neither side's hash is ever read.
fn same_hash(
    cx: &mut Context<'_, Config>,
    target: SqlConnection,
    name: &str,
    hash: Secret,
) -> Result<bool> {
    let t = Table::read(
        cx,
        target,
        "sys.sql_logins",
        "SELECT name FROM sys.sql_logins WHERE name = @name AND password_hash = @hash",
        &[
            Param::value("name", SqlValue::Text(name.to_owned())),
            Param::sealed("hash", hash),
        ],
    )?;
    Ok(!t.is_empty())
}

/// How the target's login differs from what the source's would make, with the statements
/// that fix each difference in place.
fn differences(
    cx: &mut Context<'_, Config>,
    s: Servers,
    src: &Logins,
    p: &Principal,
    dst: &Logins,
    t: &Principal,
) -> Result<(Vec<String>, Vec<Statement>, bool)> {
    let q = quote_name(&t.name);
    let mut what = Vec::new();
    let mut fix = Vec::new();
    let mut remake = false;
    let src_kind = match p.kind.as_str() {
        "U" => "E",
        "G" => "X",
        k => k,
    };
    if src_kind != t.kind {
        what.push(format!(
            "it is a {} there, a {} here",
            kind_name(&t.kind),
            kind_name(&p.kind)
        ));
        remake = true;
    } else if p.kind == "S" {
        if p.sid != t.sid {
            what.push("its SID differs (database users would not map to it)".into());
            remake = true;
        }
        if let (Some(l), Some(tl)) = (src.sql.get(&p.id), dst.sql.get(&t.id)) {
            if let Some(hash) = l.hash
                && !same_hash(cx, s.target, &t.name, hash)?
            {
                what.push("its password differs".into());
                fix.push(
                    Statement::new(format!("ALTER LOGIN {q} WITH PASSWORD = @hash HASHED"))
                        .with(Param::sealed("hash", hash)),
                );
            }
            if (l.policy, l.expiration) != (tl.policy, tl.expiration) {
                what.push("its password policy flags differ".into());
                fix.push(Statement::new(format!(
                    "ALTER LOGIN {q} WITH CHECK_POLICY = {}, CHECK_EXPIRATION = {}",
                    on_off(l.policy),
                    on_off(l.expiration && l.policy)
                )));
            }
        }
    }
    if p.disabled != t.disabled {
        what.push(format!(
            "it is {} there",
            if t.disabled { "disabled" } else { "enabled" }
        ));
        fix.push(Statement::new(format!(
            "ALTER LOGIN {q} {}",
            if p.disabled { "DISABLE" } else { "ENABLE" }
        )));
    }
    let (d_src, d_dst) = (src.denied.contains(&p.id), dst.denied.contains(&t.id));
    if d_src != d_dst {
        what.push(format!(
            "CONNECT SQL is {} there",
            if d_dst { "denied" } else { "not denied" }
        ));
        fix.push(Statement::new(if d_src {
            format!("DENY CONNECT SQL TO {q}")
        } else {
            format!("REVOKE CONNECT SQL TO {q}")
        }));
    }
    Ok((what, fix, remake))
}

pub fn decide(cx: &mut Context<'_, Config>, s: Servers) -> Result<Vec<Decision>> {
    let cfg = cx.config().clone();
    let patterns = cfg.logins.patterns();
    let src = read(cx, s.source, true)?;
    let dst = read(cx, s.target, false)?;
    let mut out = Vec::new();
    let mut made: BTreeMap<i64, String> = BTreeMap::new();
    for p in src
        .principals
        .iter()
        .filter(|p| LOGIN_TYPES.contains(&p.kind.as_str()))
    {
        if !patterns.admits(&p.name) {
            continue;
        }
        if is_system(p) {
            out.push(Decision::new(
                "login",
                &p.name,
                Verdict::Skipped {
                    code: "system-principal",
                    why: "a principal every instance has of its own; the MI has its own".into(),
                },
            ));
            continue;
        }
        let name = match principals::target_name(&cfg, p) {
            Ok(n) => n,
            Err(why) => {
                out.push(Decision::new(
                    "login",
                    &p.name,
                    Verdict::Refused {
                        code: "windows-unmapped",
                        why,
                    },
                ));
                continue;
            }
        };
        let mut notes = Vec::new();
        if name != p.name {
            notes.push(format!(
                "{} `{}` becomes the Microsoft Entra login `{name}` (Managed Instance has no \
                 Windows authentication).",
                kind_name(&p.kind),
                p.name
            ));
        }
        if p.kind == "S" && !is_system_db(&p.default_database) {
            notes.push(format!(
                "Default database `{}` does not exist on the MI yet: the login starts in master \
                 and the `users` part sets it once the database is restored.",
                p.default_database
            ));
        }
        let existing = dst
            .principals
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(&name));
        let verdict = match (existing, create(&src, p, &name)) {
            (_, Err(v)) => v,
            (None, Ok(statements)) => Verdict::Create(statements),
            (Some(t), Ok(statements)) => {
                let (what, mut fix, remake) = differences(cx, s, &src, p, &dst, t)?;
                if what.is_empty() {
                    Verdict::Unchanged
                } else {
                    if remake {
                        fix = std::iter::once(Statement::new(format!(
                            "DROP LOGIN {}",
                            quote_name(&t.name)
                        )))
                        .chain(statements)
                        .collect();
                    }
                    Verdict::Conflict {
                        differs: what.join("; "),
                        replace: fix,
                    }
                }
            }
        };
        let mut d = Decision::new("login", &p.name, verdict);
        d.notes = notes;
        if d.lands() {
            made.insert(p.id, name);
        }
        out.push(d);
    }
    out.extend(credential_mappings(&src, &dst, &made));
    Ok(out)
}

/// `ALTER LOGIN … ADD CREDENTIAL` for each login↔credential mapping of a login that lands.
fn credential_mappings(src: &Logins, dst: &Logins, made: &BTreeMap<i64, String>) -> Vec<Decision> {
    let mut out = Vec::new();
    for (id, credential) in &src.credentials {
        let Some(login) = made.get(id) else { continue };
        let exists = dst.principals.iter().any(|t| {
            t.name.eq_ignore_ascii_case(login)
                && dst
                    .credentials
                    .iter()
                    .any(|(tid, c)| *tid == t.id && c.eq_ignore_ascii_case(credential))
        });
        let name = format!("{login} → {credential}");
        out.push(Decision::new(
            "login-credential",
            name,
            if exists {
                Verdict::Unchanged
            } else {
                Verdict::Create(vec![Statement::new(format!(
                    "ALTER LOGIN {} ADD CREDENTIAL {}",
                    quote_name(login),
                    quote_name(credential)
                ))])
            },
        ));
    }
    out
}
