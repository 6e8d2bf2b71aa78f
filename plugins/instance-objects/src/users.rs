//! The `users` part, run for each database once it is restored on the MI (methods.md §5.1):
//! its Windows users are remapped to the Microsoft Entra logins the `objects` part made
//! (`ALTER USER [DOMAIN\user] WITH LOGIN = [user@contoso.com]`), a SQL user whose SID matches
//! no login is reported as orphaned, and the logins whose default database this is get it.

use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::quote_name;

use crate::config::Config;
use crate::decision::{Decision, Statement, Tally, Verdict, carry_out};
use crate::entra::WindowsKind;
use crate::families::principals::{self, Principal, is_system};
use crate::table::Table;

struct User {
    name: String,
    kind: String,
    sid: Vec<u8>,
}

fn users(
    cx: &mut Context<'_, Config>,
    target: ferry_sdk::SqlConnection,
    db: &str,
) -> Result<Vec<User>> {
    let t = Table::read(
        cx,
        target,
        &format!("{db}.sys.database_principals"),
        &format!(
            "SELECT name, type, sid FROM {}.sys.database_principals \
             WHERE type IN ('S', 'U', 'G', 'E', 'X')",
            quote_name(db)
        ),
        &[],
    )?;
    Ok(t.rows()
        .map(|r| User {
            name: r.text("name"),
            kind: r.text("type").trim().to_uppercase(),
            sid: r.bytes("sid").unwrap_or_default(),
        })
        .collect())
}

/// Users every database has of its own (`dbo`, `guest`, `sys`, `INFORMATION_SCHEMA`) and
/// those with no login by design (SID NULL or of `sa`).
fn is_builtin(u: &User) -> bool {
    ["dbo", "guest", "sys", "INFORMATION_SCHEMA"]
        .iter()
        .any(|b| b.eq_ignore_ascii_case(&u.name))
        || u.sid.is_empty()
        || u.sid == [1]
}

fn in_db(db: &str, sql: String) -> Statement {
    Statement::new(format!("USE {};\n{sql}", quote_name(db)))
}

fn decide_user(cfg: &Config, db: &str, u: &User, logins: &[Principal]) -> Option<Decision> {
    if is_builtin(u) {
        return None;
    }
    let by_sid = logins.iter().find(|l| l.sid == u.sid);
    let kind = match u.kind.as_str() {
        "U" => WindowsKind::User,
        "G" => WindowsKind::Group,
        _ => {
            // SQL and Entra users: mapped when a login has their SID.
            let verdict = match (
                by_sid,
                logins.iter().find(|l| l.name.eq_ignore_ascii_case(&u.name)),
            ) {
                (Some(_), _) => Verdict::Unchanged,
                (None, Some(l)) => Verdict::Conflict {
                    differs: format!(
                        "orphaned: its SID matches no login, though a login `{}` exists (made \
                         outside ferry, with another SID)",
                        l.name
                    ),
                    replace: vec![in_db(
                        db,
                        format!(
                            "ALTER USER {} WITH LOGIN = {}",
                            quote_name(&u.name),
                            quote_name(&l.name)
                        ),
                    )],
                },
                (None, None) => Verdict::Refused {
                    code: "orphaned-user",
                    why: "its SID matches no login on the MI: migrate its login (see the login \
                          rows) or drop the user if nobody uses it"
                        .into(),
                },
            };
            return Some(Decision::new(
                "database-user",
                format!("{db}.{}", u.name),
                verdict,
            ));
        }
    };
    let name = format!("{db}.{}", u.name);
    let Some(mapped) = cfg.entra.map(&u.name, kind) else {
        return Some(Decision::new(
            "database-user",
            name,
            Verdict::Refused {
                code: "windows-unmapped",
                why: cfg.entra.missing(&u.name),
            },
        ));
    };
    let Some(login) = logins
        .iter()
        .find(|l| l.name.eq_ignore_ascii_case(&mapped.entra))
    else {
        return Some(Decision::new(
            "database-user",
            name,
            Verdict::Refused {
                code: "login-missing",
                why: format!(
                    "the Microsoft Entra login `{}` is not on the MI: run the `objects` part \
                     first (its login row says why it is missing)",
                    mapped.entra
                ),
            },
        ));
    };
    let verdict = if login.sid == u.sid {
        Verdict::Unchanged
    } else {
        Verdict::Create(vec![in_db(
            db,
            format!(
                "ALTER USER {} WITH LOGIN = {}",
                quote_name(&u.name),
                quote_name(&login.name)
            ),
        )])
    };
    Some(Decision::new("database-user", name, verdict).note(format!(
        "Windows user remapped to the Microsoft Entra login `{}` ({}).",
        login.name, mapped.rule
    )))
}

/// Logins whose default database on the source is this one.
fn default_databases(
    cfg: &Config,
    source_db: &str,
    db: &str,
    src: &[Principal],
    dst: &[Principal],
) -> Vec<Decision> {
    let logins = cfg.logins.patterns();
    src.iter()
        .filter(|p| !is_system(p) && p.default_database.eq_ignore_ascii_case(source_db))
        .filter(|p| logins.admits(&p.name))
        .filter_map(|p| {
            let name = principals::target_name(cfg, p).ok()?;
            let t = dst.iter().find(|t| t.name.eq_ignore_ascii_case(&name))?;
            let verdict = if t.default_database.eq_ignore_ascii_case(db) {
                Verdict::Unchanged
            } else {
                Verdict::Create(vec![Statement::new(format!(
                    "ALTER LOGIN {} WITH DEFAULT_DATABASE = {}",
                    quote_name(&name),
                    quote_name(db)
                ))])
            };
            Some(Decision::new(
                "login-default-database",
                format!("{name} → {db}"),
                verdict,
            ))
        })
        .collect()
}

pub fn run(cx: &mut Context<'_, Config>, scripts: bool) -> Result<Tally> {
    let cfg = cx.config().clone();
    let source_db = cx.item().to_owned();
    let db = cfg.target_name.replace("{db}", &source_db);
    let source = cx.sql(&cfg.source)?;
    let target = cx.sql(&cfg.target)?;
    let there = Table::read(
        cx,
        target,
        "sys.databases",
        "SELECT name FROM sys.databases WHERE name = @db",
        &[ferry_sdk::Param::value(
            "db",
            ferry_sdk::SqlValue::Text(db.clone()),
        )],
    )?;
    if there.is_empty() {
        if cx.planning() {
            // A plan is made before the restore that brings the database: its users are
            // read and remapped when apply gets here.
            cx.info(&format!(
                "[{db}] is not on the Managed Instance yet; its users are remapped after its restore"
            ));
            return Ok(Tally::default());
        }
        return Err(Error::failed(format!(
            "[{db}] is not on the Managed Instance: the `users` part runs after the step that \
             restores it (list it after that step in migration.toml)"
        )));
    }
    let src = principals::read(cx, source)?;
    let dst = principals::read(cx, target)?;
    let mut decisions: Vec<Decision> = users(cx, target, &db)?
        .iter()
        .filter_map(|u| decide_user(&cfg, &db, u, &dst))
        .collect();
    decisions.extend(default_databases(&cfg, &source_db, &db, &src, &dst));
    Ok(carry_out(
        cx,
        target,
        scripts.then_some("users"),
        &decisions,
    ))
}
