//! The Database Mail family on a scripted msdb (FakeHost): accounts with SMTP passwords only
//! ever sealed, refusals that say which secret to add, the Agent's profile made under the name
//! Managed Instance's Agent mails through, and a second pass that changes nothing.

mod msdb_fake;

use std::cell::RefCell;
use std::rc::Rc;

use ferry_sdk::fake::FakeHost;
use ferry_sdk::{ObjectStatus, SqlValue};
use instance_objects::InstanceObjects;
use msdb_fake::*;

const ACCOUNTS: &str = "msdb.dbo.sysmail_account";
const SERVERS: &str = "msdb.dbo.sysmail_server";
const PROFILES: &str = "msdb.dbo.sysmail_profile";
const LINKS: &str = "msdb.dbo.sysmail_profileaccount";
const PRINCIPALS: &str = "msdb.dbo.sysmail_principalprofile";
const PASSWORD: &str = "Sup3r-Secret!";

fn id_of(db: &Db, table: &str, id: &str, name: &str) -> Result<i64, String> {
    db.rows(table)
        .iter()
        .find(|r| cell_text(r, "name") == name)
        .map(|r| cell_int(r, id))
        .ok_or_else(|| format!("'{name}' does not exist in {table}"))
}

fn next(db: &Db, table: &str, id: &str) -> i64 {
    db.rows(table)
        .iter()
        .map(|r| cell_int(r, id))
        .max()
        .unwrap_or(0)
        + 1
}

/// msdb's Database Mail procedures, as far as the plugin calls them.
fn apply(db: &mut Db, proc: &str, a: &Args, _: &mut Option<i64>) -> Result<(), String> {
    match proc {
        "sysmail_add_account_sp" | "sysmail_update_account_sp" => {
            let name = text(a, "account_name");
            match a.get("password") {
                Some(SqlValue::Text(p)) if p != "var:@smtp_password" => {
                    return Err(format!("a password in the text: {p}"));
                }
                _ => {}
            }
            let id = match id_of(db, ACCOUNTS, "account_id", &name) {
                Ok(id) if proc == "sysmail_update_account_sp" => id,
                Ok(_) => return Err(format!("account '{name}' exists")),
                Err(e) if proc == "sysmail_update_account_sp" => return Err(e),
                Err(_) => {
                    let id = next(db, ACCOUNTS, "account_id");
                    db.add(ACCOUNTS, row(&[("account_id", i(id)), ("name", t(&name))]));
                    db.add(SERVERS, row(&[("account_id", i(id))]));
                    id
                }
            };
            let r = db
                .rows_mut(ACCOUNTS)
                .iter_mut()
                .find(|r| cell_int(r, "account_id") == id)
                .unwrap();
            for (k, col) in [
                ("email_address", "email_address"),
                ("display_name", "display_name"),
                ("replyto_address", "replyto_address"),
                ("description", "description"),
            ] {
                r.insert(col.into(), a.get(k).cloned().unwrap_or(SqlValue::Null));
            }
            let s = db
                .rows_mut(SERVERS)
                .iter_mut()
                .find(|r| cell_int(r, "account_id") == id)
                .unwrap();
            for (k, col) in [
                ("mailserver_name", "servername"),
                ("mailserver_type", "servertype"),
                ("port", "port"),
                ("username", "username"),
                ("use_default_credentials", "use_default_credentials"),
                ("enable_ssl", "enable_ssl"),
            ] {
                s.insert(col.into(), a.get(k).cloned().unwrap_or(SqlValue::Null));
            }
        }
        "sysmail_add_profile_sp" => {
            let id = next(db, PROFILES, "profile_id");
            db.add(
                PROFILES,
                row(&[
                    ("profile_id", i(id)),
                    ("name", t(&text(a, "profile_name"))),
                    ("description", t(&text(a, "description"))),
                ]),
            );
        }
        "sysmail_delete_profile_sp" => {
            let id = id_of(db, PROFILES, "profile_id", &text(a, "profile_name"))?;
            for table in [PROFILES, LINKS, PRINCIPALS] {
                db.rows_mut(table)
                    .retain(|r| cell_int(r, "profile_id") != id);
            }
        }
        "sysmail_add_profileaccount_sp" => {
            let p = id_of(db, PROFILES, "profile_id", &text(a, "profile_name"))?;
            let acc = id_of(db, ACCOUNTS, "account_id", &text(a, "account_name"))?;
            db.add(
                LINKS,
                row(&[
                    ("profile_id", i(p)),
                    ("account_id", i(acc)),
                    ("sequence_number", i(int(a, "sequence_number", 0))),
                ]),
            );
        }
        "sysmail_add_principalprofile_sp" => {
            let p = id_of(db, PROFILES, "profile_id", &text(a, "profile_name"))?;
            let name = text(a, "principal_name");
            let sid = if name == "public" {
                SqlValue::Binary(vec![0])
            } else {
                db.rows("sys.server_principals")
                    .iter()
                    .find(|r| cell_text(r, "name") == name)
                    .and_then(|r| r.get("sid").cloned())
                    .ok_or("principal name is not valid")?
            };
            db.add(
                PRINCIPALS,
                row(&[
                    ("profile_id", i(p)),
                    ("principal_sid", sid),
                    ("is_default", i(int(a, "is_default", 0))),
                ]),
            );
        }
        "sysmail_delete_profileaccount_sp" => {
            let p = id_of(db, PROFILES, "profile_id", &text(a, "profile_name"))?;
            let acc = id_of(db, ACCOUNTS, "account_id", &text(a, "account_name"))?;
            db.rows_mut(LINKS)
                .retain(|r| !(cell_int(r, "profile_id") == p && cell_int(r, "account_id") == acc));
        }
        "sysmail_delete_principalprofile_sp" => {
            let p = id_of(db, PROFILES, "profile_id", &text(a, "profile_name"))?;
            let name = text(a, "principal_name");
            let sid = if name == "public" {
                vec![0]
            } else {
                return Err(format!("only public here, not {name}"));
            };
            db.rows_mut(PRINCIPALS).retain(|r| {
                !(cell_int(r, "profile_id") == p
                    && matches!(r.get("principal_sid"), Some(SqlValue::Binary(b)) if *b == sid))
            });
        }
        other => return Err(format!("the fake msdb has no {other}")),
    }
    Ok(())
}

fn account(db: &mut Db, id: i64, name: &str, user: &str) {
    db.add(
        ACCOUNTS,
        row(&[
            ("account_id", i(id)),
            ("name", t(name)),
            ("email_address", t(&format!("{name}@contoso.com"))),
            ("display_name", t(name)),
            ("replyto_address", t("")),
            ("description", t("")),
        ]),
    );
    db.add(
        SERVERS,
        row(&[
            ("account_id", i(id)),
            ("servertype", t("SMTP")),
            ("servername", t("smtp.contoso.com")),
            ("port", i(587)),
            (
                "username",
                if user.is_empty() {
                    SqlValue::Null
                } else {
                    t(user)
                },
            ),
            ("use_default_credentials", i(0)),
            ("enable_ssl", i(1)),
        ]),
    );
}

fn source(agent_mail: Option<(i64, String)>) -> Db {
    let mut db = Db::default();
    db.login(1, "sa", &[1], "S");
    db.login(260, "app", &[0xAA; 16], "S");
    account(&mut db, 1, "Ops", "smtp-user");
    account(&mut db, 2, "Relay", "");
    account(&mut db, 3, "Marketing", "mkt-user");
    for (id, name) in [(1, "Ops alerts"), (2, "Campaigns")] {
        db.add(
            PROFILES,
            row(&[
                ("profile_id", i(id)),
                ("name", t(name)),
                ("description", t("from the source")),
            ]),
        );
    }
    for (p, a, seq) in [(1, 1, 1), (1, 2, 2), (2, 3, 1)] {
        db.add(
            LINKS,
            row(&[
                ("profile_id", i(p)),
                ("account_id", i(a)),
                ("sequence_number", i(seq)),
            ]),
        );
    }
    db.add(
        PRINCIPALS,
        row(&[
            ("profile_id", i(1)),
            ("principal_sid", SqlValue::Binary(vec![0])),
            ("is_default", i(1)),
        ]),
    );
    db.add(
        PRINCIPALS,
        row(&[
            ("profile_id", i(1)),
            ("principal_sid", SqlValue::Binary(vec![0xAA; 16])),
            ("is_default", i(0)),
        ]),
    );
    db.agent_mail = agent_mail;
    db
}

fn target() -> Rc<RefCell<Db>> {
    let mut db = Db::default();
    db.login(1, "sa", &[1], "S");
    db.login(300, "app", &[0xAA; 16], "S");
    Rc::new(RefCell::new(db))
}

fn mail_config() -> serde_json::Value {
    let mut c = config(&["database_mail"]);
    c["secrets"] = serde_json::json!({ "mail-account:Ops": "smtp-ops" });
    c
}

fn run(source: Db, dst: Rc<RefCell<Db>>) -> (FakeHost, serde_json::Value) {
    let mut h = host(source, dst, apply).secret("smtp-ops", PASSWORD, false);
    let out = h
        .run_item::<InstanceObjects>(mail_config(), "(instance)")
        .unwrap_or_else(|e| panic!("{e:?}: {:#?}", h.rows));
    (h, out)
}

fn status(h: &FakeHost, kind: &str, name: &str) -> (ObjectStatus, Option<String>, String) {
    let r = h
        .rows
        .iter()
        .find(|r| r.object_type == kind && r.name == name)
        .unwrap_or_else(|| panic!("no {kind} row for {name}: {:#?}", h.rows));
    (
        r.status,
        r.reason_code.clone(),
        r.notes.clone().unwrap_or_default(),
    )
}

#[test]
fn accounts_profiles_and_the_agent_profile_are_made_with_passwords_only_sealed() {
    let dst = target();
    let (h, out) = run(source(Some((1, "Ops alerts".into()))), dst.clone());
    assert_eq!(
        status(&h, "database-mail-account", "Ops").0,
        ObjectStatus::Migrated
    );
    assert_eq!(
        status(&h, "database-mail-account", "Relay").0,
        ObjectStatus::Migrated
    );
    let (s, code, notes) = status(&h, "database-mail-account", "Marketing");
    assert_eq!(
        (s, code.as_deref()),
        (ObjectStatus::Refused, Some("secret-missing"))
    );
    assert!(
        notes.contains("\"mail-account:Marketing\" = \"<secret label>\""),
        "{notes}"
    );
    assert_eq!(
        status(&h, "database-mail-profile", "Ops alerts").0,
        ObjectStatus::Migrated
    );
    let (s, code, notes) = status(&h, "database-mail-profile", "Campaigns");
    assert_eq!(
        (s, code.as_deref()),
        (ObjectStatus::Refused, Some("account-not-made"))
    );
    assert!(notes.contains("`Marketing`"), "{notes}");
    let (s, _, notes) = status(
        &h,
        "database-mail-profile",
        "AzureManagedInstance_dbmail_profile",
    );
    assert_eq!(s, ObjectStatus::Migrated);
    assert!(notes.contains("a copy of `Ops alerts`"), "{notes}");
    assert_eq!(
        status(&h, "database-mail-principal-profile", "Ops alerts → public").0,
        ObjectStatus::Migrated
    );
    let (s, _, notes) = status(&h, "database-mail-principal-profile", "Ops alerts → app");
    assert_eq!(s, ObjectStatus::Migrated);
    assert!(notes.contains("user `app` in msdb"), "{notes}");

    // The MI has both profiles, each with Ops then Relay.
    let db = dst.borrow();
    let names: Vec<String> = db
        .rows(PROFILES)
        .iter()
        .map(|r| cell_text(r, "name"))
        .collect();
    assert_eq!(names, ["Ops alerts", "AzureManagedInstance_dbmail_profile"]);
    assert_eq!(db.rows(LINKS).len(), 4);

    // The password is a sealed parameter, in the statement sent and in the .sql file alike.
    let ops = h
        .executed
        .iter()
        .find(|(_, s)| s.contains("sysmail_add_account_sp @account_name = N'Ops'"))
        .unwrap();
    assert!(
        ops.1
            .contains("@username = N'smtp-user', @password = @smtp_password"),
        "{}",
        ops.1
    );
    assert!(
        db.sealed.contains(&(
            "sysmail_add_account_sp".into(),
            vec!["smtp_password".into()]
        )),
        "{:?}",
        db.sealed
    );
    let relay = h
        .executed
        .iter()
        .find(|(_, s)| s.contains("@account_name = N'Relay'"))
        .unwrap();
    assert!(!relay.1.contains("@password"), "{}", relay.1);
    assert!(
        h.scripts
            .iter()
            .any(|(_, l)| l.contains("@smtp_password = <smtp-ops>")),
        "{:#?}",
        h.scripts
    );
    let everything = format!(
        "{:?}{:?}{:?}{:?}{out}",
        h.executed, h.scripts, h.rows, h.logs
    );
    assert!(!everything.contains(PASSWORD));
    assert!(h.reveals.is_empty());
    drop(db);

    let (again, out) = run(source(Some((1, "Ops alerts".into()))), dst);
    assert!(again.executed.is_empty(), "{:#?}", again.executed);
    assert_eq!(out["migrated"], 0, "{out}");
    assert_eq!(out["unchanged"], 6, "{out}: {:#?}", again.rows);
}

#[test]
fn a_profile_that_differs_is_a_conflict_and_an_unreadable_agent_profile_is_said() {
    let dst = target();
    run(source(Some((1, "Ops alerts".into()))), dst.clone());
    dst.borrow_mut()
        .rows_mut(LINKS)
        .retain(|r| cell_int(r, "sequence_number") != 2 || cell_int(r, "profile_id") != 1);
    let (h, out) = run(source(Some((1, "Ops alerts".into()))), dst.clone());
    let (s, _, notes) = status(&h, "database-mail-profile", "Ops alerts");
    assert_eq!(s, ObjectStatus::Conflict);
    assert!(
        notes.contains("its accounts or their order differ"),
        "{notes}"
    );
    assert_eq!(out["conflict"], 1, "{out}");

    // A default flag that differs is set by dropping and making the association again.
    for r in dst.borrow_mut().rows_mut(PRINCIPALS) {
        if matches!(r.get("principal_sid"), Some(SqlValue::Binary(b)) if b == &[0]) {
            r.insert("is_default".into(), i(0));
        }
    }
    let mut replace = mail_config();
    replace["replace"] = serde_json::json!(true);
    let mut h = host(source(Some((1, "Ops alerts".into()))), dst.clone(), apply)
        .secret("smtp-ops", PASSWORD, false);
    h.run_item::<InstanceObjects>(replace, "(instance)")
        .unwrap();
    let (s, code, _) = status(&h, "database-mail-principal-profile", "Ops alerts → public");
    assert_eq!(
        (s, code.as_deref()),
        (ObjectStatus::Migrated, Some("replaced"))
    );
    let (again, out) = run(source(Some((1, "Ops alerts".into()))), dst);
    assert!(again.executed.is_empty(), "{:#?}", again.executed);
    assert_eq!(out["conflict"], 0, "{out}");

    // Agent mail off on the source: no copy is needed.
    let (h, _) = run(source(Some((0, "Ops alerts".into()))), target());
    assert!(
        !h.rows
            .iter()
            .any(|r| r.name == "AzureManagedInstance_dbmail_profile")
    );
    // The registry read refused: a row says what to make by hand.
    let (h, _) = run(source(None), target());
    let (s, code, notes) = status(
        &h,
        "database-mail-profile",
        "AzureManagedInstance_dbmail_profile",
    );
    assert_eq!(
        (s, code.as_deref()),
        (ObjectStatus::Skipped, Some("agent-profile-unknown"))
    );
    assert!(notes.contains("xp_instance_regread"), "{notes}");
}
