//! The plugin's decisions on a scripted catalog (FakeHost): which logins are made and how,
//! which are refused or skipped and why, and that a second pass finds everything unchanged.

use std::cell::RefCell;
use std::rc::Rc;

use ferry_sdk::fake::FakeHost;
use ferry_sdk::{Column, ObjectStatus, Param, QueryResult, RowSet, SqlValue};
use instance_objects::InstanceObjects;
use serde_json::json;

#[derive(Clone)]
struct Login {
    id: i64,
    name: &'static str,
    sid: Vec<u8>,
    kind: &'static str,
    disabled: bool,
}

fn set(columns: &[&str], rows: Vec<Vec<SqlValue>>) -> QueryResult {
    QueryResult {
        sets: vec![RowSet {
            columns: columns
                .iter()
                .map(|c| Column {
                    name: (*c).to_owned(),
                    sql_type: "nvarchar".into(),
                })
                .collect(),
            rows,
            truncated: false,
        }],
        messages: vec![],
    }
}

fn principals(logins: &[Login]) -> QueryResult {
    set(
        &[
            "name",
            "principal_id",
            "sid",
            "type",
            "is_disabled",
            "default_database_name",
            "default_language_name",
            "is_fixed_role",
            "owning_principal_id",
        ],
        logins
            .iter()
            .map(|l| {
                vec![
                    SqlValue::Text(l.name.into()),
                    SqlValue::Int(l.id),
                    SqlValue::Binary(l.sid.clone()),
                    SqlValue::Text(l.kind.into()),
                    SqlValue::Bit(l.disabled),
                    SqlValue::Text("Sales".into()),
                    SqlValue::Text("us_english".into()),
                    SqlValue::Bit(false),
                    SqlValue::Null,
                ]
            })
            .collect(),
    )
}

fn source() -> Vec<Login> {
    vec![
        Login {
            id: 1,
            name: "sa",
            sid: vec![1],
            kind: "S",
            disabled: false,
        },
        Login {
            id: 101,
            name: "##MS_PolicyTsqlExecutionLogin##",
            sid: vec![9; 16],
            kind: "C",
            disabled: true,
        },
        Login {
            id: 260,
            name: "app",
            sid: vec![0xAA; 16],
            kind: "S",
            disabled: false,
        },
        Login {
            id: 261,
            name: "old_app",
            sid: vec![0xBB; 16],
            kind: "S",
            disabled: true,
        },
        Login {
            id: 262,
            name: "CONTOSO\\bob",
            sid: vec![0xCC; 28],
            kind: "U",
            disabled: false,
        },
        Login {
            id: 263,
            name: "FABRIKAM\\eve",
            sid: vec![0xDD; 28],
            kind: "U",
            disabled: false,
        },
        Login {
            id: 264,
            name: "NT SERVICE\\MSSQLSERVER",
            sid: vec![0xEE; 28],
            kind: "U",
            disabled: false,
        },
    ]
}

/// A source and a target that learns the logins it is told to make.
fn host(target: Rc<RefCell<Vec<Login>>>) -> FakeHost {
    FakeHost::new().on_query(move |label, sql, params: &[Param]| {
        let on_target = label == "target";
        let logins = if on_target {
            target.borrow().clone()
        } else {
            source()
        };
        if sql.starts_with("-- login") && on_target && sql.contains("DISABLE") {
            let name = sql
                .split("ALTER LOGIN [")
                .nth(1)
                .and_then(|s| s.split(']').next());
            for l in target.borrow_mut().iter_mut() {
                if Some(l.name) == name {
                    l.disabled = true;
                }
            }
            return Ok(set(&[], vec![]));
        }
        if sql.starts_with("-- login") && on_target {
            let name = sql
                .split("CREATE LOGIN [")
                .nth(1)
                .and_then(|s| s.split(']').next());
            if let Some(name) = name {
                let kind = if sql.contains("EXTERNAL PROVIDER") {
                    "E"
                } else {
                    "S"
                };
                let sid = match sql.split("SID = 0x").nth(1) {
                    Some(hex) => hex
                        .as_bytes()
                        .chunks(2)
                        .map_while(|c| u8::from_str_radix(std::str::from_utf8(c).ok()?, 16).ok())
                        .collect(),
                    None => vec![0x11; 16],
                };
                let name: &'static str = Box::leak(name.to_owned().into_boxed_str());
                let id = 300 + target.borrow().len() as i64;
                target.borrow_mut().push(Login {
                    id,
                    name,
                    sid,
                    kind,
                    disabled: false,
                });
            }
            return Ok(set(&[], vec![]));
        }
        Ok(if sql.contains("FROM sys.server_principals") {
            principals(&logins)
        } else if sql.contains("password_hash = @hash") {
            // The target compares the sealed hash itself: the same when it made the login.
            let same = params.iter().any(|p| p.name == "name");
            set(
                &["name"],
                if same {
                    vec![vec![SqlValue::Text("x".into())]]
                } else {
                    vec![]
                },
            )
        } else if sql.contains("FROM sys.sql_logins") {
            set(
                &[
                    "principal_id",
                    "is_policy_checked",
                    "is_expiration_checked",
                    "password_hash",
                ],
                logins
                    .iter()
                    .filter(|l| l.kind == "S")
                    .map(|l| {
                        vec![
                            SqlValue::Int(l.id),
                            SqlValue::Bit(true),
                            SqlValue::Bit(false),
                            SqlValue::Binary(vec![2, 0, 1, 2, 3, 4, 5, 6, 7, 8]),
                        ]
                    })
                    .collect(),
            )
        } else {
            set(&[], vec![])
        })
    })
}

fn config() -> serde_json::Value {
    let mut c = json!({
        "entra": { "domains": { "CONTOSO": "contoso.com" } },
    });
    for f in [
        "tde_certificates",
        "certificates",
        "credentials",
        "server_roles",
        "server_permissions",
        "database_mail",
        "agent_operators",
        "agent_jobs",
        "linked_servers",
        "audits",
        "server_triggers",
        "messages",
        "configuration",
        "event_sessions",
        "resource_governor",
    ] {
        c[f] = json!({ "enabled": false });
    }
    c
}

#[test]
fn logins_are_made_mapped_refused_or_skipped_each_with_its_reason() {
    let target = Rc::new(RefCell::new(vec![Login {
        id: 1,
        name: "sa",
        sid: vec![1],
        kind: "S",
        disabled: false,
    }]));
    let mut h = host(target.clone());
    let out = h
        .run_item::<InstanceObjects>(config(), "(instance)")
        .unwrap();
    let row = |name: &str| {
        h.rows
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no row for {name}: {:?}", h.rows))
            .clone()
    };
    assert_eq!(row("app").status, ObjectStatus::Migrated);
    assert_eq!(row("old_app").status, ObjectStatus::Migrated);
    let bob = row("CONTOSO\\bob");
    assert_eq!(bob.status, ObjectStatus::Migrated);
    assert!(bob.notes.unwrap().contains("bob@contoso.com"));
    let eve = row("FABRIKAM\\eve");
    assert_eq!(eve.status, ObjectStatus::Refused);
    assert_eq!(eve.reason_code.as_deref(), Some("windows-unmapped"));
    assert!(eve.notes.unwrap().contains("FABRIKAM = "));
    for system in [
        "sa",
        "##MS_PolicyTsqlExecutionLogin##",
        "NT SERVICE\\MSSQLSERVER",
    ] {
        assert_eq!(row(system).status, ObjectStatus::Skipped, "{system}");
    }
    let sent: Vec<&str> = h.executed.iter().map(|(_, s)| s.as_str()).collect();
    let app = sent
        .iter()
        .find(|s| s.contains("CREATE LOGIN [app]"))
        .unwrap();
    assert!(
        app.contains("PASSWORD = @hash HASHED, SID = 0xAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
            && app.contains("DEFAULT_DATABASE = [master]")
            && app.contains("CHECK_POLICY = ON, CHECK_EXPIRATION = OFF"),
        "{app}"
    );
    assert!(
        sent.iter()
            .any(|s| s.contains("ALTER LOGIN [old_app] DISABLE")),
        "{sent:?}"
    );
    assert!(
        sent.iter()
            .any(|s| s.contains("CREATE LOGIN [bob@contoso.com] FROM EXTERNAL PROVIDER"))
    );
    assert!(
        !sent
            .iter()
            .any(|s| s.contains("eve") || s.contains("MSSQLSERVER"))
    );
    assert_eq!(out["migrated"], 3, "{out}");
    assert_eq!(out["refused"], 1, "{out}");

    // A second pass over the same target changes nothing.
    let mut again = host(target);
    let out = again
        .run_item::<InstanceObjects>(config(), "(instance)")
        .unwrap();
    assert_eq!(out["migrated"], 0, "{out}: {:?}", again.rows);
    assert_eq!(out["unchanged"], 3, "{out}: {:?}", again.rows);
    assert!(again.executed.is_empty(), "{:?}", again.executed);
}
