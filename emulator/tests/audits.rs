//! Server audits and server audit specifications: read from a SQL Server source (file target)
//! and recreated on a Managed Instance (URL target, created disabled, then turned on).

mod common;

use common::*;
use ferry_emulator::TlsMode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_audit_and_its_specification_read_back() {
    let src = start(sql2019(), TlsMode::Required).await;
    let mut s = connect(&src).await;
    exec(
        &mut s,
        "CREATE SERVER AUDIT [Compliance] TO FILE (FILEPATH = N'D:\\Audit\\', MAXSIZE = 1 GB, MAX_ROLLOVER_FILES = 10, RESERVE_DISK_SPACE = ON) \
         WITH (QUEUE_DELAY = 2000, ON_FAILURE = FAIL_OPERATION, AUDIT_GUID = 'a1b2c3d4-0000-4000-8000-00000000abcd') \
         WHERE server_principal_name <> 'sa'",
    )
    .await;
    exec(
        &mut s,
        "CREATE SERVER AUDIT SPECIFICATION [ComplianceSpec] FOR SERVER AUDIT [Compliance] \
         ADD (FAILED_LOGIN_GROUP), ADD (server_principal_change_group) WITH (STATE = ON)",
    )
    .await;
    exec(&mut s, "ALTER SERVER AUDIT [Compliance] WITH (STATE = ON)").await;

    let a = one_row(
        &mut s,
        "SELECT name, audit_guid, type, type_desc, on_failure, on_failure_desc, is_state_enabled, queue_delay, predicate \
         FROM sys.server_audits",
    )
    .await;
    assert_eq!(a.get::<&str, _>("name"), Some("Compliance"));
    assert_eq!(
        a.get::<tiberius::Uuid, _>("audit_guid")
            .map(|g| g.to_string()),
        Some("a1b2c3d4-0000-4000-8000-00000000abcd".into())
    );
    assert_eq!(a.get::<&str, _>("type"), Some("FL"));
    assert_eq!(a.get::<&str, _>("type_desc"), Some("FILE"));
    assert_eq!(a.get::<u8, _>("on_failure"), Some(2));
    assert_eq!(a.get::<&str, _>("on_failure_desc"), Some("FAIL_OPERATION"));
    assert_eq!(a.get::<u8, _>("is_state_enabled"), Some(1));
    assert_eq!(a.get::<i32, _>("queue_delay"), Some(2000));
    assert_eq!(
        a.get::<&str, _>("predicate"),
        Some("([server_principal_name]<>'sa')")
    );
    let f = one_row(
        &mut s,
        "SELECT log_file_path, log_file_name, max_file_size, max_rollover_files, max_files, reserved_disk_space \
         FROM sys.server_file_audits WHERE name = N'Compliance'",
    )
    .await;
    assert_eq!(f.get::<&str, _>("log_file_path"), Some("D:\\Audit\\"));
    assert!(
        f.get::<&str, _>("log_file_name")
            .unwrap()
            .starts_with("Compliance_A1B2C3D4-0000-4000-8000-00000000ABCD")
    );
    assert_eq!(f.get::<i64, _>("max_file_size"), Some(1024));
    assert_eq!(f.get::<i32, _>("max_rollover_files"), Some(10));
    assert_eq!(f.get::<i32, _>("max_files"), Some(0));
    assert_eq!(f.get::<i32, _>("reserved_disk_space"), Some(1));

    let spec = one_row(
        &mut s,
        "SELECT s.name, s.is_state_enabled, a.name AS audit FROM sys.server_audit_specifications s \
         JOIN sys.server_audits a ON a.audit_guid = s.audit_guid",
    )
    .await;
    assert_eq!(spec.get::<&str, _>("name"), Some("ComplianceSpec"));
    assert_eq!(spec.get::<bool, _>("is_state_enabled"), Some(true));
    assert_eq!(spec.get::<&str, _>("audit"), Some("Compliance"));
    let details = s
        .simple_query(
            "SELECT audit_action_name, class_desc, audited_result, is_group FROM sys.server_audit_specification_details \
             ORDER BY audit_action_name",
        )
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    let names: Vec<&str> = details
        .iter()
        .map(|r| r.get::<&str, _>(0).unwrap())
        .collect();
    assert_eq!(
        names,
        ["FAILED_LOGIN_GROUP", "SERVER_PRINCIPAL_CHANGE_GROUP"]
    );
    assert_eq!(details[0].get::<&str, _>(1), Some("SERVER"));
    assert_eq!(details[0].get::<&str, _>(2), Some("SUCCESS AND FAILURE"));

    // Changes wait for the audit (33071) and the specification (33229) to be off.
    assert_eq!(
        error_code(
            &mut s,
            "ALTER SERVER AUDIT [Compliance] WITH (QUEUE_DELAY = 0)"
        )
        .await,
        33071
    );
    assert_eq!(
        error_code(
            &mut s,
            "ALTER SERVER AUDIT [Compliance] WITH (STATE = OFF, QUEUE_DELAY = 0)"
        )
        .await,
        33223
    );
    assert_eq!(
        error_code(
            &mut s,
            "ALTER SERVER AUDIT SPECIFICATION [ComplianceSpec] ADD (LOGOUT_GROUP)"
        )
        .await,
        33229
    );
    exec(
        &mut s,
        "ALTER SERVER AUDIT SPECIFICATION [ComplianceSpec] WITH (STATE = OFF); \
         ALTER SERVER AUDIT SPECIFICATION [ComplianceSpec] ADD (LOGOUT_GROUP), DROP (FAILED_LOGIN_GROUP)",
    )
    .await;
    let n = one_row(
        &mut s,
        "SELECT COUNT(*) FROM sys.server_audit_specification_details WHERE audit_action_name IN ('LOGOUT_GROUP', 'SERVER_PRINCIPAL_CHANGE_GROUP')",
    )
    .await;
    assert_eq!(n.get::<i32, _>(0), Some(2));
    exec(
        &mut s,
        "ALTER SERVER AUDIT [Compliance] WITH (STATE = OFF); ALTER SERVER AUDIT [Compliance] REMOVE WHERE",
    )
    .await;
    let p = one_row(&mut s, "SELECT predicate FROM sys.server_file_audits").await;
    assert_eq!(p.get::<&str, _>(0), None);
    exec(
        &mut s,
        "DROP SERVER AUDIT SPECIFICATION [ComplianceSpec]; DROP SERVER AUDIT [Compliance]",
    )
    .await;
    let n = one_row(&mut s, "SELECT COUNT(*) FROM sys.server_file_audits").await;
    assert_eq!(n.get::<i32, _>(0), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_statements_answer_with_sql_servers_errors() {
    let src = start(sql2019(), TlsMode::Required).await;
    let mut s = connect(&src).await;
    // An audit is created off: STATE is not a CREATE option.
    assert_eq!(
        error_code(
            &mut s,
            "CREATE SERVER AUDIT a TO APPLICATION_LOG WITH (STATE = ON)"
        )
        .await,
        102
    );
    assert_eq!(
        error_code(
            &mut s,
            "CREATE SERVER AUDIT a TO APPLICATION_LOG WITH (QUEUE_DELAY = 500)"
        )
        .await,
        33227
    );
    assert_eq!(
        error_code(
            &mut s,
            "CREATE SERVER AUDIT a TO FILE (FILEPATH = 'C:\\a', MAXSIZE = 1 MB)"
        )
        .await,
        33070
    );
    assert_eq!(
        error_code(
            &mut s,
            "CREATE SERVER AUDIT a TO FILE (FILEPATH = 'C:\\a', RESERVE_DISK_SPACE = ON)"
        )
        .await,
        33077
    );
    // URL is a Managed Instance target.
    assert_eq!(
        error_code(
            &mut s,
            "CREATE SERVER AUDIT a TO URL (PATH = 'https://acct.blob.core.windows.net/audits')"
        )
        .await,
        102
    );
    exec(&mut s, "CREATE SERVER AUDIT a TO SECURITY_LOG").await;
    let t = one_row(&mut s, "SELECT type, type_desc, is_state_enabled, queue_delay, on_failure_desc FROM sys.server_audits").await;
    assert_eq!(t.get::<&str, _>(0), Some("SL"));
    assert_eq!(t.get::<&str, _>(1), Some("SECURITY LOG"));
    assert_eq!(t.get::<u8, _>(2), Some(0));
    assert_eq!(t.get::<i32, _>(3), Some(1000));
    assert_eq!(t.get::<&str, _>(4), Some("CONTINUE"));
    assert_eq!(
        error_code(&mut s, "CREATE SERVER AUDIT A TO APPLICATION_LOG").await,
        15530
    );
    assert_eq!(
        error_code(&mut s, "ALTER SERVER AUDIT nope WITH (STATE = ON)").await,
        15151
    );
    assert_eq!(error_code(&mut s, "DROP SERVER AUDIT nope").await, 15151);
    assert_eq!(
        error_code(
            &mut s,
            "CREATE SERVER AUDIT SPECIFICATION s FOR SERVER AUDIT nope ADD (FAILED_LOGIN_GROUP)"
        )
        .await,
        33073
    );
    assert_eq!(
        error_code(
            &mut s,
            "CREATE SERVER AUDIT SPECIFICATION s FOR SERVER AUDIT a ADD (FAILED_LOGINS_GROUP)"
        )
        .await,
        102
    );
    exec(
        &mut s,
        "CREATE SERVER AUDIT SPECIFICATION s FOR SERVER AUDIT a ADD (FAILED_LOGIN_GROUP)",
    )
    .await;
    assert_eq!(
        error_code(
            &mut s,
            "CREATE SERVER AUDIT SPECIFICATION s2 FOR SERVER AUDIT a ADD (LOGOUT_GROUP)"
        )
        .await,
        33230
    );
    // Rename while off; a rolled-back CREATE leaves nothing.
    exec(&mut s, "ALTER SERVER AUDIT a MODIFY NAME = b").await;
    exec(
        &mut s,
        "BEGIN TRAN; CREATE SERVER AUDIT c TO APPLICATION_LOG; ROLLBACK",
    )
    .await;
    let names = one_row(&mut s, "SELECT MIN(name), COUNT(*) FROM sys.server_audits").await;
    assert_eq!(names.get::<&str, _>(0), Some("b"));
    assert_eq!(names.get::<i32, _>(1), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_instance_audits_to_a_blob_container_only() {
    let dst = start(mi(), TlsMode::Required).await;
    let mut d = connect(&dst).await;
    for target in [
        "FILE (FILEPATH = 'D:\\Audit\\')",
        "APPLICATION_LOG",
        "SECURITY_LOG",
    ] {
        assert_eq!(
            error_code(&mut d, &format!("CREATE SERVER AUDIT a TO {target}")).await,
            41901,
            "{target}"
        );
    }
    assert_eq!(
        error_code(
            &mut d,
            "CREATE SERVER AUDIT a TO URL (PATH = 'https://acct.blob.core.windows.net')"
        )
        .await,
        33072
    );
    let url = "https://acct.blob.core.windows.net/sqlaudits";
    exec(
        &mut d,
        &format!("CREATE SERVER AUDIT [Compliance] TO URL (PATH = '{url}', RETENTION_DAYS = 30)"),
    )
    .await;
    let a = one_row(
        &mut d,
        "SELECT a.type_desc, a.is_state_enabled, f.log_file_path FROM sys.server_audits a \
         JOIN sys.server_file_audits f ON f.audit_id = a.audit_id",
    )
    .await;
    assert_eq!(a.get::<&str, _>(0), Some("URL"));
    assert_eq!(a.get::<u8, _>(1), Some(0));
    assert_eq!(a.get::<&str, _>(2), Some(url));

    // The catalog keeps the configured state even when the audit cannot start (no credential
    // yet; see the next test).
    exec(&mut d, "ALTER SERVER AUDIT [Compliance] WITH (STATE = ON)").await;
    let on = one_row(&mut d, "SELECT is_state_enabled FROM sys.server_audits").await;
    assert_eq!(on.get::<u8, _>(0), Some(1));

    exec(
        &mut d,
        &format!(
            "ALTER SERVER AUDIT [Compliance] WITH (STATE = OFF); \
             CREATE CREDENTIAL [{url}] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = 'sv=2022-11-02&sig=x'; \
             ALTER SERVER AUDIT [Compliance] WITH (STATE = ON)"
        ),
    )
    .await;
    exec(&mut d, "CREATE SERVER AUDIT [Monitor] TO EXTERNAL_MONITOR").await;
    let n = one_row(
        &mut d,
        "SELECT COUNT(*) FROM sys.server_audits WHERE type_desc = 'EXTERNAL_MONITOR'",
    )
    .await;
    assert_eq!(n.get::<i32, _>(0), Some(1));
}

/// The messages a batch produces, run directly on an instance as a Managed Instance's session
/// (tiberius does not hand informational messages to its caller).
fn run_as_mi(inst: &mut ferry_emulator::instance::Instance, sql: &str) -> Vec<(i32, bool)> {
    use ferry_emulator::sql::{Outcome, SessionOptions, SessionView, Variables, execute_batch};
    let personality = mi();
    let vars = Variables::default();
    let view = SessionView {
        personality: &personality,
        database: "master",
        spid: 51,
        user: "sa",
        vars: &vars,
        options: SessionOptions::default(),
    };
    execute_batch(sql, &view, inst)
        .into_iter()
        .filter_map(|o| match o {
            Outcome::Info(m) => Some((m.number, false)),
            Outcome::Error(m) => Some((m.number, true)),
            _ => None,
        })
        .collect()
}

#[test]
fn an_mi_audit_without_a_credential_for_its_container_fails_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut inst = ferry_emulator::instance::Instance::open(dir.path(), 160).unwrap();
    let url = "https://acct.blob.core.windows.net/sqlaudits";
    assert_eq!(
        run_as_mi(
            &mut inst,
            &format!("CREATE SERVER AUDIT a TO URL (PATH = '{url}')")
        ),
        []
    );
    assert_eq!(
        run_as_mi(&mut inst, "ALTER SERVER AUDIT a WITH (STATE = ON)"),
        [(33222, false)]
    );
    run_as_mi(
        &mut inst,
        &format!(
            "ALTER SERVER AUDIT a WITH (STATE = OFF); CREATE CREDENTIAL [{url}] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = 'sv=1&sig=x'"
        ),
    );
    assert_eq!(
        run_as_mi(&mut inst, "ALTER SERVER AUDIT a WITH (STATE = ON)"),
        []
    );
}
