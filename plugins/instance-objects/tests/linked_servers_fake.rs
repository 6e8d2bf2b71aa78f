//! Linked servers and their logins on a scripted catalog: providers remapped or refused, the
//! loopback server repointed, remote passwords only sealed, Windows pass-through refused, and a
//! second pass unchanged.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::{Sent, Server, b, config, host, i, literal, row, t};
use ferry_sdk::{ObjectStatus, ParamValue, SqlValue};
use instance_objects::InstanceObjects;
use serde_json::json;

const SERVERS: &str = "sys.servers WHERE is_linked = 1";
const OWN: &str = "sys.servers WHERE server_id = 0";
const LOGINS: &str = "sys.linked_logins";
const PRINCIPALS: &str = "sys.server_principals";
const COLS: [&str; 18] = [
    "server_id",
    "name",
    "product",
    "provider",
    "data_source",
    "location",
    "provider_string",
    "catalog",
    "connect_timeout",
    "query_timeout",
    "is_remote_login_enabled",
    "is_rpc_out_enabled",
    "is_data_access_enabled",
    "is_collation_compatible",
    "uses_remote_collation",
    "collation_name",
    "lazy_schema_validation",
    "is_remote_proc_transaction_promotion_enabled",
];
const SECRET: &str = "Sup3r-S3cret!";

fn linked(
    id: i64,
    name: &str,
    product: &str,
    provider: &str,
    ds: &str,
    rpc_out: bool,
) -> Vec<SqlValue> {
    vec![
        i(id),
        t(name),
        t(product),
        t(provider),
        t(ds),
        SqlValue::Null,
        SqlValue::Null,
        SqlValue::Null,
        i(0),
        i(0),
        b(false),
        b(rpc_out),
        b(true),
        b(false),
        b(true),
        SqlValue::Null,
        b(false),
        b(true),
    ]
}

fn login(server: i64, local: i64, self_: bool, remote: Option<&str>) -> Vec<SqlValue> {
    vec![
        i(server),
        i(local),
        b(self_),
        remote.map_or(SqlValue::Null, t),
    ]
}

fn principal(id: i64, name: &str, kind: &str) -> Vec<SqlValue> {
    vec![t(name), i(id), t(kind)]
}

fn source() -> Server {
    Server::default()
        .table(OWN, &["name"], vec![vec![t("SQL01")]])
        .table(
            SERVERS,
            &COLS,
            vec![
                linked(1, "SALES", "SQL Server", "SQLNCLI", "SALESSRV", true),
                linked(2, "ORA", "Oracle", "OraOLEDB.Oracle", "orcl", false),
                linked(3, "LOOP", "", "MSOLEDBSQL", "sql01\\MSSQLSERVER", false),
                linked(
                    4,
                    "BOOK",
                    "Excel",
                    "Microsoft.ACE.OLEDB.12.0",
                    "C:\\x.xlsx",
                    false,
                ),
                linked(5, "SAME", "", "SQLOLEDB", "samesrv", false),
                linked(6, "DIFF", "", "MSOLEDBSQL", "diffsrv", false),
            ],
        )
        .table(
            LOGINS,
            &[
                "server_id",
                "local_principal_id",
                "uses_self_credential",
                "remote_name",
            ],
            vec![
                login(1, 0, true, None),
                login(1, 260, false, Some("report_reader")),
                login(1, 262, true, None),
                login(2, 0, true, None),
                login(3, 260, false, Some("loop_user")),
                login(5, 0, true, None),
                login(6, 0, false, None),
            ],
        )
        .table(
            PRINCIPALS,
            &["name", "principal_id", "type"],
            vec![
                principal(260, "app", "S"),
                principal(262, "CONTOSO\\bob", "U"),
            ],
        )
}

fn target() -> Server {
    Server::default()
        .table(
            OWN,
            &["name"],
            vec![vec![t("mi1.abc.database.windows.net")]],
        )
        .table(
            SERVERS,
            &COLS,
            vec![
                linked(10, "SAME", "", "MSOLEDBSQL", "samesrv", false),
                linked(11, "DIFF", "", "MSOLEDBSQL", "othersrv", false),
            ],
        )
        .table(
            LOGINS,
            &[
                "server_id",
                "local_principal_id",
                "uses_self_credential",
                "remote_name",
            ],
            vec![login(10, 0, true, None), login(11, 0, true, None)],
        )
        .table(
            PRINCIPALS,
            &["name", "principal_id", "type"],
            vec![principal(500, "app", "S")],
        )
}

fn text(v: &SqlValue) -> String {
    match v {
        SqlValue::Text(s) => s.clone(),
        SqlValue::Int(n) => n.to_string(),
        _ => String::new(),
    }
}

/// Applies the linked-server procedures the way SQL Server documents them.
fn learn(s: &mut Server, sql: &str) {
    let server = literal(sql, "@server = ").or_else(|| literal(sql, "@rmtsrvname = "));
    let id_of = |s: &Server, name: &str| {
        s.tables[SERVERS]
            .1
            .iter()
            .find(|r| text(&r[1]) == name)
            .map(|r| text(&r[0]).parse::<i64>().unwrap())
    };
    if sql.contains("sp_addlinkedserver") {
        let name = server.unwrap_or_else(|| panic!("{sql}"));
        let id = 100 + s.tables[SERVERS].1.len() as i64;
        let mut r = linked(
            id,
            name,
            "",
            literal(sql, "@provider = ").unwrap(),
            literal(sql, "@datasrc = ").unwrap(),
            false,
        );
        r[7] = literal(sql, "@catalog = ").map_or(SqlValue::Null, t);
        s.push(SERVERS, r);
        s.push(LOGINS, login(id, 0, true, None));
    } else if sql.contains("sp_serveroption") {
        let col = match literal(sql, "@optname = ").unwrap() {
            "rpc out" => 11,
            other => panic!("option {other} not modelled"),
        };
        let on = literal(sql, "@optvalue = ") == Some("true");
        let name = server.unwrap();
        for r in s
            .rows_mut(SERVERS)
            .iter_mut()
            .filter(|r| text(&r[1]) == name)
        {
            r[col] = b(on);
        }
    } else if sql.contains("sp_dropserver") {
        let id = id_of(s, server.unwrap()).unwrap();
        s.rows_mut(SERVERS)
            .retain(|r| text(&r[0]) != id.to_string());
        s.rows_mut(LOGINS).retain(|r| text(&r[0]) != id.to_string());
    } else if sql.contains("sp_droplinkedsrvlogin") || sql.contains("sp_addlinkedsrvlogin") {
        let id = id_of(s, server.unwrap()).unwrap();
        let local = match literal(sql, "@locallogin = ") {
            None => 0,
            Some(n) => s.tables[PRINCIPALS]
                .1
                .iter()
                .find(|r| text(&r[0]) == n)
                .map(|r| text(&r[1]).parse().unwrap())
                .unwrap(),
        };
        s.rows_mut(LOGINS)
            .retain(|r| !(text(&r[0]) == id.to_string() && text(&r[1]) == local.to_string()));
        if sql.contains("sp_addlinkedsrvlogin") {
            let self_ = sql.contains("@useself = N'True'");
            s.push(LOGINS, login(id, local, self_, literal(sql, "@rmtuser = ")));
        }
    } else {
        panic!("statement not modelled: {sql}");
    }
}

fn cfg(replace: bool) -> serde_json::Value {
    config(
        "linked_servers",
        json!({
            "replace": replace,
            "entra": { "domains": { "CONTOSO": "contoso.com" } },
            "secrets": { "linked-login:SALES/report_reader": "sales-remote" },
        }),
    )
}

fn run(
    target: &Rc<RefCell<Server>>,
    replace: bool,
) -> (ferry_sdk::fake::FakeHost, serde_json::Value, Sent) {
    let sent: Sent = Rc::default();
    let mut h =
        host(source(), target.clone(), sent.clone(), learn).secret("sales-remote", SECRET, false);
    let out = h
        .run_item::<InstanceObjects>(cfg(replace), "(instance)")
        .unwrap();
    (h, out, sent)
}

#[test]
fn linked_servers_are_remapped_repointed_refused_and_unchanged_the_second_time() {
    let target = Rc::new(RefCell::new(target()));
    let (h, out, sent) = run(&target, false);

    let sales = row(&h, "SALES");
    assert_eq!(sales.status, ObjectStatus::Migrated);
    assert!(sales.notes.unwrap().contains("SQLNCLI → MSOLEDBSQL"));
    for (name, code) in [
        ("ORA", "unsupported-provider"),
        ("BOOK", "unsupported-provider"),
    ] {
        let r = row(&h, name);
        assert_eq!(r.status, ObjectStatus::Refused, "{name}");
        assert_eq!(r.reason_code.as_deref(), Some(code));
    }
    let lp = row(&h, "LOOP");
    assert_eq!(lp.status, ObjectStatus::Migrated);
    assert!(lp.notes.unwrap().contains("mi1.abc.database.windows.net"));
    assert_eq!(row(&h, "SAME").status, ObjectStatus::Unchanged);
    let diff = row(&h, "DIFF");
    assert_eq!(diff.status, ObjectStatus::Conflict);
    assert!(diff.notes.unwrap().contains("othersrv"));

    assert_eq!(row(&h, "SALES/(all logins)").status, ObjectStatus::Migrated);
    assert_eq!(row(&h, "SALES/app").status, ObjectStatus::Migrated);
    let bob = row(&h, "SALES/CONTOSO\\bob");
    assert_eq!(bob.status, ObjectStatus::Refused);
    assert_eq!(bob.reason_code.as_deref(), Some("windows-pass-through"));
    let loop_user = row(&h, "LOOP/app");
    assert_eq!(loop_user.reason_code.as_deref(), Some("secret-missing"));
    assert!(
        loop_user
            .notes
            .unwrap()
            .contains("\"linked-login:LOOP/loop_user\"")
    );
    assert_eq!(row(&h, "ORA/(all logins)").status, ObjectStatus::Skipped);
    assert_eq!(row(&h, "SAME/(all logins)").status, ObjectStatus::Unchanged);
    let diff_login = row(&h, "DIFF/(all logins)");
    assert_eq!(diff_login.status, ObjectStatus::Conflict);
    assert!(
        diff_login
            .notes
            .unwrap()
            .contains("its own credentials there")
    );

    let sent = sent.borrow();
    let texts: Vec<&str> = sent.iter().map(|(s, _)| s.as_str()).collect();
    let add = texts
        .iter()
        .find(|s| s.contains("@server = N'SALES'"))
        .unwrap();
    assert!(
        add.contains("@srvproduct = N'', @provider = N'MSOLEDBSQL', @datasrc = N'SALESSRV'"),
        "{add}"
    );
    assert!(texts.iter().any(|s| s.contains(
        "sp_serveroption @server = N'SALES', @optname = N'rpc out', @optvalue = N'true'"
    )));
    assert!(texts.iter().any(|s| s.contains("@server = N'LOOP'")
        && s.contains("@datasrc = N'mi1.abc.database.windows.net'")));
    assert!(!texts.iter().any(|s| s.contains("ORA")
        || s.contains("BOOK")
        || s.contains("DIFF")
        || s.contains("bob")));
    // The remote password goes only as a sealed parameter.
    let (pw_sql, params) = sent
        .iter()
        .find(|(s, _)| s.contains("@rmtuser = N'report_reader'"))
        .unwrap();
    assert!(
        pw_sql.contains("@rmtpassword = @remote_password"),
        "{pw_sql}"
    );
    assert!(
        matches!(params[0].value, ParamValue::Sealed(_)) && params[0].name == "remote_password"
    );
    assert!(!h.executed.iter().any(|(_, s)| s.contains(SECRET)));
    assert!(!h.scripts.iter().any(|(_, s)| s.contains(SECRET)));
    assert_eq!(out["conflict"], 2, "{out}");
    drop(sent);

    // Again: nothing to do.
    let (again, out, sent) = run(&target, false);
    assert_eq!(out["migrated"], 0, "{out}: {:#?}", again.rows);
    assert!(sent.borrow().is_empty(), "{:?}", sent.borrow());
    assert_eq!(row(&again, "SALES").status, ObjectStatus::Unchanged);
    assert_eq!(row(&again, "SALES/app").status, ObjectStatus::Unchanged);
    assert_eq!(row(&again, "LOOP").status, ObjectStatus::Unchanged);

    // With `replace`, the differing server is made again as the source has it.
    let (h, _, sent) = run(&target, true);
    assert_eq!(row(&h, "DIFF").status, ObjectStatus::Migrated);
    assert!(
        sent.borrow()[0]
            .0
            .contains("sp_dropserver @server = N'DIFF'")
    );
    assert!(
        target.borrow().tables[SERVERS]
            .1
            .iter()
            .any(|r| text(&r[4]) == "diffsrv")
    );
}
