//! Linked servers as a migration reads them from a source and recreates them on a Managed
//! Instance: sp_addlinkedserver and its rules, login mappings (passwords never readable),
//! sp_serveroption, sp_dropserver, and server_id 0.

mod common;

use common::*;
use ferry_emulator::TlsMode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_server_with_its_options_and_mapping_reads_back() {
    let src = start(sql2019(), TlsMode::Required).await;
    let mut s = connect(&src).await;
    exec(&mut s, "CREATE LOGIN app WITH PASSWORD = N'Str0ng!pw'").await;
    exec(
        &mut s,
        "EXEC sp_addlinkedserver @server = N'SALES', @srvproduct = N'', @provider = N'MSOLEDBSQL', \
         @datasrc = N'sales01.contoso.com,1433', @catalog = N'Sales', @provstr = N'Encrypt=yes'",
    )
    .await;
    exec(
        &mut s,
        "EXEC master.dbo.sp_serveroption N'SALES', N'rpc out', N'true'",
    )
    .await;
    exec(
        &mut s,
        "EXEC sp_serveroption @server = N'SALES', @optname = 'query timeout', @optvalue = '120'",
    )
    .await;
    exec(
        &mut s,
        "EXEC sp_serveroption N'SALES', N'collation name', N'Latin1_General_CI_AS'",
    )
    .await;
    exec(
        &mut s,
        "EXEC sp_addlinkedsrvlogin @rmtsrvname = N'SALES', @useself = N'FALSE', @locallogin = N'app', \
         @rmtuser = N'remote_app', @rmtpassword = N'S3cret!remote'",
    )
    .await;

    let r = one_row(
        &mut s,
        "SELECT name, product, provider, data_source, catalog, provider_string, is_linked, is_rpc_out_enabled, \
         is_data_access_enabled, query_timeout, connect_timeout, collation_name, uses_remote_collation, \
         is_remote_proc_transaction_promotion_enabled, server_id FROM sys.servers WHERE is_linked = 1",
    )
    .await;
    assert_eq!(r.get::<&str, _>("name"), Some("SALES"));
    assert_eq!(r.get::<&str, _>("product"), Some(""));
    assert_eq!(r.get::<&str, _>("provider"), Some("MSOLEDBSQL"));
    assert_eq!(
        r.get::<&str, _>("data_source"),
        Some("sales01.contoso.com,1433")
    );
    assert_eq!(r.get::<&str, _>("catalog"), Some("Sales"));
    assert_eq!(r.get::<&str, _>("provider_string"), Some("Encrypt=yes"));
    assert_eq!(r.get::<bool, _>("is_rpc_out_enabled"), Some(true));
    assert_eq!(r.get::<bool, _>("is_data_access_enabled"), Some(true));
    assert_eq!(r.get::<i32, _>("query_timeout"), Some(120));
    assert_eq!(r.get::<i32, _>("connect_timeout"), Some(0));
    assert_eq!(
        r.get::<&str, _>("collation_name"),
        Some("Latin1_General_CI_AS")
    );
    assert_eq!(r.get::<bool, _>("uses_remote_collation"), Some(false));
    assert_eq!(
        r.get::<bool, _>("is_remote_proc_transaction_promotion_enabled"),
        Some(true)
    );
    let id = r.get::<i32, _>("server_id").unwrap();
    // Collation compatible clears the collation name, and a collation name clears it back.
    exec(
        &mut s,
        "EXEC sp_serveroption N'SALES', N'collation compatible', N'on'",
    )
    .await;
    let c = one_row(
        &mut s,
        "SELECT is_collation_compatible, collation_name FROM sys.servers WHERE name = N'SALES'",
    )
    .await;
    assert_eq!(c.get::<bool, _>(0), Some(true));
    assert_eq!(c.get::<&str, _>(1), None);
    exec(
        &mut s,
        "EXEC sp_serveroption N'SALES', N'collation name', N'Latin1_General_CI_AS'",
    )
    .await;
    let c = one_row(
        &mut s,
        "SELECT is_collation_compatible FROM sys.servers WHERE name = N'SALES'",
    )
    .await;
    assert_eq!(c.get::<bool, _>(0), Some(false));
    assert!(id > 0);

    // The default self-mapping sp_addlinkedserver adds, and the explicit one.
    let rows = s
        .simple_query(format!(
            "SELECT l.local_principal_id, l.uses_self_credential, l.remote_name FROM sys.linked_logins l \
             WHERE l.server_id = {id} ORDER BY l.local_principal_id"
        ))
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].get::<i32, _>(0), Some(0));
    assert_eq!(rows[0].get::<bool, _>(1), Some(true));
    assert_eq!(rows[1].get::<bool, _>(1), Some(false));
    assert_eq!(rows[1].get::<&str, _>(2), Some("remote_app"));
    // No catalog view has a column with the remote password.
    assert_eq!(
        error_code(&mut s, "SELECT password FROM sys.linked_logins").await,
        207
    );

    // The local server is server_id 0, named as @@SERVERNAME.
    let local = one_row(
        &mut s,
        "SELECT name, is_linked FROM sys.servers WHERE server_id = 0",
    )
    .await;
    assert_eq!(local.get::<&str, _>(0), Some("SRC01"));
    assert_eq!(local.get::<bool, _>(1), Some(false));

    // Mappings first, or 'droplogins'.
    assert_eq!(
        error_code(&mut s, "EXEC sp_dropserver N'SALES'").await,
        15190
    );
    exec(&mut s, "EXEC sp_droplinkedsrvlogin N'SALES', N'app'").await;
    exec(&mut s, "EXEC sp_droplinkedsrvlogin N'SALES', NULL").await;
    exec(&mut s, "EXEC sp_dropserver N'SALES'").await;
    let n = one_row(
        &mut s,
        "SELECT COUNT(*) FROM sys.servers WHERE is_linked = 1",
    )
    .await;
    assert_eq!(n.get::<i32, _>(0), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sp_addlinkedserver_answers_with_sql_servers_errors() {
    let src = start(sql2019(), TlsMode::Required).await;
    let mut s = connect(&src).await;
    // The 'SQL Server' form: the name is the network name; nothing else may be given.
    exec(
        &mut s,
        "EXEC sp_addlinkedserver N'OLDBOX\\INST1', N'SQL Server'",
    )
    .await;
    let r = one_row(
        &mut s,
        "SELECT product, provider, data_source FROM sys.servers WHERE name = N'OLDBOX\\INST1'",
    )
    .await;
    assert_eq!(r.get::<&str, _>(0), Some("SQL Server"));
    assert_eq!(r.get::<&str, _>(1), Some("SQLNCLI"));
    assert_eq!(r.get::<&str, _>(2), Some("OLDBOX\\INST1"));
    assert_eq!(
        error_code(
            &mut s,
            "EXEC sp_addlinkedserver N'oldbox\\inst1', N'SQL Server'"
        )
        .await,
        15028
    );
    assert_eq!(
        error_code(
            &mut s,
            "EXEC sp_addlinkedserver @server = N'X', @srvproduct = N'SQL Server', @datasrc = N'y'"
        )
        .await,
        15428
    );
    assert_eq!(
        error_code(
            &mut s,
            "EXEC sp_addlinkedserver @server = N'X', @srvproduct = N'Oracle'"
        )
        .await,
        15427
    );
    assert_eq!(
        error_code(&mut s, "EXEC sp_addlinkedserver @server = N'X', @bogus = 1").await,
        8145
    );
    assert_eq!(error_code(&mut s, "EXEC sp_addlinkedserver").await, 201);
    assert_eq!(
        error_code(
            &mut s,
            "BEGIN TRAN; EXEC sp_addlinkedserver N'Y', N'SQL Server'"
        )
        .await,
        15002
    );
    exec(&mut s, "IF @@TRANCOUNT > 0 ROLLBACK").await;
    // SQLOLEDB is kept as SQLNCLI; Oracle's provider is fine on SQL Server.
    exec(
        &mut s,
        "EXEC sp_addlinkedserver @server = N'OLD', @srvproduct = N'', @provider = N'SQLOLEDB', @datasrc = N'old01'",
    )
    .await;
    let p = one_row(
        &mut s,
        "SELECT provider FROM sys.servers WHERE name = N'OLD'",
    )
    .await;
    assert_eq!(p.get::<&str, _>(0), Some("SQLNCLI"));
    exec(
        &mut s,
        "EXEC sp_addlinkedserver @server = N'ORA', @srvproduct = N'Oracle', @provider = N'OraOLEDB.Oracle', @datasrc = N'ORCL'",
    )
    .await;
    // Mappings and options name existing servers and logins.
    assert_eq!(
        error_code(&mut s, "EXEC sp_addlinkedsrvlogin N'NOPE', 'TRUE'").await,
        15015
    );
    assert_eq!(
        error_code(
            &mut s,
            "EXEC sp_addlinkedsrvlogin N'ORA', 'FALSE', N'nobody', N'u', N'p'"
        )
        .await,
        15007
    );
    assert_eq!(
        error_code(&mut s, "EXEC sp_addlinkedsrvlogin N'ORA', 'MAYBE'").await,
        15600
    );
    assert_eq!(
        error_code(&mut s, "EXEC sp_serveroption N'ORA', N'rpc outt', N'true'").await,
        15206
    );
    assert_eq!(
        error_code(&mut s, "EXEC sp_serveroption N'ORA', N'rpc out', N'yes'").await,
        15600
    );
    assert_eq!(
        error_code(&mut s, "EXEC sp_serveroption N'NOPE', N'rpc out', N'true'").await,
        15015
    );
    assert_eq!(
        error_code(&mut s, "EXEC sp_droplinkedsrvlogin N'ORA', N'sa'").await,
        15185
    );
    exec(&mut s, "EXEC sp_dropserver N'ORA', 'droplogins'").await;
    assert_eq!(error_code(&mut s, "EXEC sp_dropserver N'ORA'").await, 15015);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_instance_takes_only_sql_server_providers_and_names_itself_by_dns() {
    let dst = start(mi(), TlsMode::Required).await;
    let mut d = connect(&dst).await;
    let local = one_row(
        &mut d,
        "SELECT name, data_source FROM sys.servers WHERE server_id = 0",
    )
    .await;
    assert_eq!(
        local.get::<&str, _>(0),
        Some("mi-target.public.abc123.database.windows.net")
    );
    assert_eq!(
        local.get::<&str, _>(1),
        Some("mi-target.public.abc123.database.windows.net")
    );
    for provider in ["MSDASQL", "Microsoft.ACE.OLEDB.12.0", "OraOLEDB.Oracle"] {
        assert_eq!(
            error_code(
                &mut d,
                &format!(
                    "EXEC sp_addlinkedserver @server = N'X', @srvproduct = N'', @provider = N'{provider}', @datasrc = N'y'"
                )
            )
            .await,
            7403,
            "{provider}"
        );
    }
    for (i, provider) in ["MSOLEDBSQL", "SQLNCLI11", "SQLNCLI"].iter().enumerate() {
        exec(
            &mut d,
            &format!(
                "EXEC sp_addlinkedserver @server = N'L{i}', @srvproduct = N'', @provider = N'{provider}', @datasrc = N'src01.contoso.com'"
            ),
        )
        .await;
    }
    exec(&mut d, "EXEC sp_addlinkedserver N'SRC01', N'SQL Server'").await;
    // The MI's own name is taken by server_id 0.
    assert_eq!(
        error_code(
            &mut d,
            "EXEC sp_addlinkedserver N'MI-TARGET.public.abc123.database.windows.net', N'SQL Server'"
        )
        .await,
        15028
    );
    // SQL authentication mapping for every login.
    exec(
        &mut d,
        "EXEC sp_addlinkedsrvlogin N'L0', N'FALSE', NULL, N'remote', N'Pw!remote1'",
    )
    .await;
    let m = one_row(
        &mut d,
        "SELECT l.uses_self_credential, l.remote_name FROM sys.linked_logins l JOIN sys.servers s \
         ON s.server_id = l.server_id WHERE s.name = N'L0' AND l.local_principal_id = 0",
    )
    .await;
    assert_eq!(m.get::<bool, _>(0), Some(false));
    assert_eq!(m.get::<&str, _>(1), Some("remote"));
    let n = one_row(
        &mut d,
        "SELECT COUNT(*) FROM sys.servers WHERE is_linked = 1",
    )
    .await;
    assert_eq!(n.get::<i32, _>(0), Some(4));
    // The statement log keeps what ran, never the remote password.
    let log: Vec<String> = dst
        .server
        .statements()
        .into_iter()
        .map(|r| r.text)
        .collect();
    assert!(log.iter().any(|t| t.contains("sp_addlinkedsrvlogin")));
    assert!(!log.iter().any(|t| t.contains("Pw!remote1")), "{log:?}");
}

#[test]
fn a_failed_linked_server_procedure_returns_1() {
    use ferry_emulator::protocol::types::Value;
    use ferry_emulator::sql::{Outcome, SessionOptions, SessionView, Variables, execute_batch};
    let dir = tempfile::tempdir().unwrap();
    let mut inst = ferry_emulator::instance::Instance::open(dir.path(), 150).unwrap();
    let personality = sql2019();
    let vars = Variables::default();
    let view = SessionView {
        personality: &personality,
        database: "master",
        spid: 51,
        user: "sa",
        vars: &vars,
        options: SessionOptions::default(),
    };
    let out = execute_batch(
        "DECLARE @rc int = 0; EXEC @rc = sp_dropserver N'NOPE'; SELECT @rc",
        &view,
        &mut inst,
    );
    assert!(
        out.iter()
            .any(|o| matches!(o, Outcome::Error(m) if m.number == 15015))
    );
    let rows = out.iter().find_map(|o| match o {
        Outcome::Rows { rows, .. } => Some(rows.clone()),
        _ => None,
    });
    assert_eq!(rows, Some(vec![vec![Value::Int(1)]]));
}
