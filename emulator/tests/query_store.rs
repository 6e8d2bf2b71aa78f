//! Query Store through TDS: ALTER DATABASE SET QUERY_STORE, the sys.query_store_* views, the
//! workload generator recording into them, and an injected plan regression seen from both
//! servers.

mod common;

use common::*;
use ferry_emulator::{Release, TlsMode};

/// An integer column as i64, whether the view declares it int or bigint.
fn int(row: &tiberius::Row, i: usize) -> Option<i64> {
    row.try_get::<i64, _>(i)
        .ok()
        .flatten()
        .or_else(|| row.try_get::<i32, _>(i).ok().flatten().map(i64::from))
}

async fn state(c: &mut C, db: &str) -> String {
    let row = one_row(
        c,
        &format!("USE [{db}]; SELECT actual_state_desc FROM sys.database_query_store_options"),
    )
    .await;
    row.get::<&str, _>(0).unwrap().to_owned()
}

fn workload(text: &str, executions: i64, cpu_us: i64, plan: &str) -> serde_json::Value {
    serde_json::json!({
        "db": "Sales",
        "interval_minutes": 60,
        "queries": [{
            "text": text, "executions": executions, "cpu_us": cpu_us, "duration_us": cpu_us * 3,
            "logical_reads": 40, "physical_reads": 2, "waits": {"PAGEIOLATCH_SH": 5, "LCK_M_S": 1},
            "plan": plan
        }]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alter_database_turns_the_store_on_off_and_clears_it() {
    let r = start(sql_enterprise(Release::Sql2019), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(&mut c, "CREATE DATABASE Sales").await;
    // 2019 creates databases with the store off, at the version's defaults.
    assert_eq!(state(&mut c, "Sales").await, "OFF");
    let row = one_row(&mut c, "USE Sales; SELECT max_storage_size_mb, query_capture_mode_desc, interval_length_minutes FROM sys.database_query_store_options").await;
    assert_eq!(int(&row, 0), Some(1000));
    assert_eq!(row.get::<&str, _>(1), Some("AUTO"));
    assert_eq!(int(&row, 2), Some(60));

    exec(&mut c, "ALTER DATABASE [Sales] SET QUERY_STORE = ON (OPERATION_MODE = READ_WRITE, INTERVAL_LENGTH_MINUTES = 15, QUERY_CAPTURE_MODE = ALL)").await;
    assert_eq!(state(&mut c, "Sales").await, "READ_WRITE");
    let row = one_row(&mut c, "USE Sales; SELECT desired_state_desc, interval_length_minutes, query_capture_mode FROM sys.database_query_store_options").await;
    assert_eq!(row.get::<&str, _>(0), Some("READ_WRITE"));
    assert_eq!(int(&row, 1), Some(15));
    assert_eq!(row.get::<i16, _>(2), Some(1));

    exec(
        &mut c,
        "ALTER DATABASE Sales SET QUERY_STORE (OPERATION_MODE = READ_ONLY)",
    )
    .await;
    assert_eq!(state(&mut c, "Sales").await, "READ_ONLY");
    exec(&mut c, "ALTER DATABASE Sales SET QUERY_STORE = OFF").await;
    assert_eq!(state(&mut c, "Sales").await, "OFF");
    // A bare option block configures an OFF store without turning it on.
    exec(&mut c, "USE Sales; ALTER DATABASE CURRENT SET QUERY_STORE (OPERATION_MODE = READ_WRITE, MAX_STORAGE_SIZE_MB = 500)").await;
    assert_eq!(state(&mut c, "Sales").await, "OFF");
    let row = one_row(
        &mut c,
        "USE Sales; SELECT max_storage_size_mb FROM sys.database_query_store_options",
    )
    .await;
    assert_eq!(int(&row, 0), Some(500));

    // What SQL Server refuses.
    assert_eq!(
        error_code(&mut c, "ALTER DATABASE master SET QUERY_STORE = ON").await,
        12438
    );
    assert_eq!(
        error_code(&mut c, "ALTER DATABASE tempdb SET QUERY_STORE CLEAR").await,
        12438
    );
    assert_eq!(
        error_code(
            &mut c,
            "ALTER DATABASE Sales SET QUERY_STORE = ON (INTERVAL_LENGTH_MINUTES = 7)"
        )
        .await,
        153
    );
    assert_eq!(
        error_code(
            &mut c,
            "ALTER DATABASE Sales SET QUERY_STORE = ON (DATA_FLUSH_INTERVAL_SECONDS = 30)"
        )
        .await,
        153
    );
    assert_eq!(
        error_code(&mut c, "ALTER DATABASE Nope SET QUERY_STORE = ON").await,
        5011
    );
    assert_eq!(
        error_code(
            &mut c,
            "BEGIN TRAN; ALTER DATABASE Sales SET QUERY_STORE = ON"
        )
        .await,
        226
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_managed_instance_and_2022_turn_it_on_for_new_databases() {
    for p in [mi(), sql_enterprise(Release::Sql2022)] {
        let r = start(p, TlsMode::Required).await;
        let mut c = connect(&r).await;
        exec(&mut c, "CREATE DATABASE Sales").await;
        assert_eq!(state(&mut c, "Sales").await, "READ_WRITE");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_before_2016_have_no_query_store_and_2016_no_wait_view() {
    let r = start(sql_enterprise(Release::Sql2014), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(&mut c, "CREATE DATABASE Sales").await;
    assert_eq!(
        error_code(&mut c, "ALTER DATABASE Sales SET QUERY_STORE = ON").await,
        102
    );
    assert_eq!(
        error_code(&mut c, "USE Sales; SELECT * FROM sys.query_store_query").await,
        208
    );
    assert_eq!(
        error_code(
            &mut c,
            "USE Sales; SELECT * FROM sys.database_query_store_options"
        )
        .await,
        208
    );

    let r = start(sql_enterprise(Release::Sql2016), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(
        &mut c,
        "CREATE DATABASE Sales; ALTER DATABASE Sales SET QUERY_STORE = ON",
    )
    .await;
    let row = one_row(&mut c, "USE Sales; SELECT max_storage_size_mb, query_capture_mode_desc, size_based_cleanup_mode_desc FROM sys.database_query_store_options").await;
    assert_eq!(int(&row, 0), Some(100));
    assert_eq!(row.get::<&str, _>(1), Some("ALL"));
    assert_eq!(row.get::<&str, _>(2), Some("OFF"));
    assert_eq!(
        error_code(
            &mut c,
            "USE Sales; SELECT * FROM sys.query_store_wait_stats"
        )
        .await,
        208
    );
    assert_eq!(
        error_code(
            &mut c,
            "ALTER DATABASE Sales SET QUERY_STORE (WAIT_STATS_CAPTURE_MODE = ON)"
        )
        .await,
        102
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workload_generator_records_queries_plans_runtime_and_waits() {
    let r = start(sql_enterprise(Release::Sql2019), TlsMode::Required).await;
    let base = control_api(&r).await.0;
    let mut c = connect(&r).await;
    exec(&mut c, "CREATE DATABASE Sales; ALTER DATABASE Sales SET QUERY_STORE = ON (OPERATION_MODE = READ_WRITE, QUERY_CAPTURE_MODE = ALL)").await;
    let text = "SELECT Total FROM dbo.Orders WHERE Id = @p";
    let (status, body) = post_value(&base, "/query-workload", workload(text, 500, 120, "A")).await;
    assert_eq!(status, 200, "{body}");
    let hash = body["queries"][0]["query_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(hash.len(), 18, "{hash}");

    let row = one_row(&mut c, "USE Sales; SELECT q.query_id, t.query_sql_text, q.query_hash, p.query_plan_hash, p.compatibility_level, SUM(rs.count_executions) AS n, SUM(rs.avg_cpu_time * rs.count_executions) AS cpu, MAX(rs.avg_duration) AS dur, MAX(rs.avg_logical_io_reads) AS reads, MIN(i.start_time) AS first_interval FROM sys.query_store_query q JOIN sys.query_store_query_text t ON t.query_text_id = q.query_text_id JOIN sys.query_store_plan p ON p.query_id = q.query_id JOIN sys.query_store_runtime_stats rs ON rs.plan_id = p.plan_id JOIN sys.query_store_runtime_stats_interval i ON i.runtime_stats_interval_id = rs.runtime_stats_interval_id GROUP BY q.query_id, t.query_sql_text, q.query_hash, p.query_plan_hash, p.compatibility_level").await;
    assert_eq!(int(&row, 0), Some(1));
    assert_eq!(row.get::<&str, _>(1), Some(text));
    let qh = row.get::<&[u8], _>(2).unwrap();
    assert_eq!(qh.len(), 8);
    assert_eq!(
        format!(
            "0x{}",
            qh.iter().map(|b| format!("{b:02X}")).collect::<String>()
        ),
        hash
    );
    assert_eq!(row.get::<&[u8], _>(3).unwrap().len(), 8);
    assert_eq!(row.get::<i16, _>(4), Some(150));
    assert_eq!(int(&row, 5), Some(500));
    assert_eq!(row.get::<f64, _>(6), Some(60_000.0));
    assert_eq!(row.get::<f64, _>(7), Some(360.0));
    assert_eq!(row.get::<f64, _>(8), Some(40.0));

    // Intervals are INTERVAL_LENGTH_MINUTES long, aligned to the hour for 60.
    let row = one_row(&mut c, "USE Sales; SELECT COUNT(*), MIN(start_time), MIN(end_time) FROM sys.query_store_runtime_stats_interval").await;
    let n = row.get::<i32, _>(0).unwrap();
    assert!((1..=2).contains(&n), "{n} intervals");

    // Waits by category, per execution.
    let mut rows = c
        .simple_query("USE Sales; SELECT wait_category_desc, SUM(total_query_wait_time_ms) FROM sys.query_store_wait_stats GROUP BY wait_category_desc ORDER BY wait_category_desc")
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    let waits: Vec<(String, i64)> = rows
        .drain(..)
        .map(|r| (r.get::<&str, _>(0).unwrap().to_owned(), int(&r, 1).unwrap()))
        .collect();
    assert_eq!(
        waits,
        vec![("Buffer IO".to_owned(), 2500), ("Lock".to_owned(), 500)]
    );

    // The same query written otherwise is another query of Query Store's (its text differs),
    // with the same query_hash.
    let (status, _) = post_value(
        &base,
        "/query-workload",
        workload(
            "select total from [dbo].[Orders] where id = @p;",
            100,
            120,
            "A",
        ),
    )
    .await;
    assert_eq!(status, 200);
    let row = one_row(
        &mut c,
        "USE Sales; SELECT COUNT(*), COUNT(DISTINCT query_plan_hash) FROM sys.query_store_plan",
    )
    .await;
    // Each query has its plan; the same normalized text and label hash the same.
    assert_eq!(row.get::<i32, _>(0), Some(2));
    assert_eq!(row.get::<i32, _>(1), Some(1));
    let row = one_row(
        &mut c,
        "USE Sales; SELECT COUNT(*) FROM sys.query_store_query",
    )
    .await;
    // Another text is another query (the text differs), with the same query_hash.
    assert_eq!(row.get::<i32, _>(0), Some(2));
    let row = one_row(
        &mut c,
        "USE Sales; SELECT COUNT(DISTINCT query_hash) FROM sys.query_store_query",
    )
    .await;
    assert_eq!(row.get::<i32, _>(0), Some(1));

    // The same text again adds to its query and plan.
    let (status, _) = post_value(&base, "/query-workload", workload(text, 500, 120, "A")).await;
    assert_eq!(status, 200);
    let row = one_row(&mut c, "USE Sales; SELECT COUNT(*), SUM(rs.count_executions) FROM sys.query_store_plan p JOIN sys.query_store_runtime_stats rs ON rs.plan_id = p.plan_id WHERE p.query_id = 1").await;
    assert_eq!(int(&row, 1), Some(1000));
    let row = one_row(
        &mut c,
        "USE Sales; SELECT COUNT(*) FROM sys.query_store_plan",
    )
    .await;
    assert_eq!(row.get::<i32, _>(0), Some(2));

    // CLEAR forgets it all; the store stays on.
    exec(&mut c, "ALTER DATABASE Sales SET QUERY_STORE CLEAR").await;
    let row = one_row(&mut c, "USE Sales; SELECT (SELECT COUNT(*) FROM sys.query_store_query) + (SELECT COUNT(*) FROM sys.query_store_runtime_stats)").await;
    assert_eq!(row.get::<i32, _>(0), Some(0));
    assert_eq!(state(&mut c, "Sales").await, "READ_WRITE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_regression_injected_on_the_target_shows_against_the_source() {
    let src = start(sql_enterprise(Release::Sql2019), TlsMode::Required).await;
    let dst = start(mi(), TlsMode::Required).await;
    let (sb, db) = (control_api(&src).await.0, control_api(&dst).await.0);
    let mut s = connect(&src).await;
    let mut d = connect(&dst).await;
    exec(
        &mut s,
        "CREATE DATABASE Sales; ALTER DATABASE Sales SET QUERY_STORE = ON",
    )
    .await;
    exec(&mut d, "CREATE DATABASE Sales").await;
    let text = "SELECT c.Name, SUM(o.Total) FROM dbo.Orders o JOIN dbo.Customers c ON c.Id = o.CustomerId GROUP BY c.Name";
    let (_, before) = post_value(&sb, "/query-workload", workload(text, 200, 900, "A")).await;
    let (_, after) = post_value(&db, "/query-workload", workload(text, 200, 5400, "B")).await;
    assert_eq!(
        before["queries"][0]["query_hash"],
        after["queries"][0]["query_hash"]
    );
    assert_ne!(
        before["queries"][0]["query_plan_hash"],
        after["queries"][0]["query_plan_hash"]
    );

    let q = "USE Sales; SELECT q.query_hash, p.query_plan_hash, SUM(rs.avg_cpu_time * rs.count_executions) / SUM(rs.count_executions) FROM sys.query_store_query q JOIN sys.query_store_plan p ON p.query_id = q.query_id JOIN sys.query_store_runtime_stats rs ON rs.plan_id = p.plan_id GROUP BY q.query_hash, p.query_plan_hash";
    let a = one_row(&mut s, q).await;
    let b = one_row(&mut d, q).await;
    assert_eq!(a.get::<&[u8], _>(0), b.get::<&[u8], _>(0));
    assert_ne!(a.get::<&[u8], _>(1), b.get::<&[u8], _>(1));
    assert_eq!(a.get::<f64, _>(2), Some(900.0));
    assert_eq!(b.get::<f64, _>(2), Some(5400.0));
}

/// Whether Query Store captured a workload of `executions` runs of `text` at 10 µs each.
async fn captured(base: &str, text: &str, executions: i64) -> bool {
    let (status, body) =
        post_value(base, "/query-workload", workload(text, executions, 10, "A")).await;
    assert_eq!(status, 200, "{body}");
    body["queries"][0]["query_store"]
        .as_bool()
        .unwrap_or_else(|| panic!("no query_store flag in {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_modes_and_an_off_store_decide_what_is_captured() {
    let r = start(sql_enterprise(Release::Sql2019), TlsMode::Required).await;
    let base = control_api(&r).await.0;
    let mut c = connect(&r).await;
    exec(&mut c, "CREATE DATABASE Sales").await;
    // OFF: nothing in the store; the plan cache still counts it.
    assert!(!captured(&base, "SELECT 1 FROM dbo.T", 50).await);
    let row = one_row(
        &mut c,
        "SELECT SUM(execution_count), SUM(total_worker_time) FROM sys.dm_exec_query_stats",
    )
    .await;
    assert_eq!(int(&row, 0), Some(50));
    assert_eq!(int(&row, 1), Some(500));

    // AUTO (2019's default): a query run 10 times for 10 µs each is not worth capturing.
    exec(&mut c, "ALTER DATABASE Sales SET QUERY_STORE = ON").await;
    assert!(!captured(&base, "SELECT 2 FROM dbo.T", 10).await);
    assert!(captured(&base, "SELECT 3 FROM dbo.T WHERE x = 1", 40).await);
    // NONE captures nothing new but keeps counting what it holds.
    exec(
        &mut c,
        "ALTER DATABASE Sales SET QUERY_STORE (QUERY_CAPTURE_MODE = NONE)",
    )
    .await;
    assert!(!captured(&base, "SELECT 4 FROM dbo.T WHERE y = 1", 400).await);
    assert!(captured(&base, "SELECT 3 FROM dbo.T WHERE x = 1", 40).await);
    let row = one_row(
        &mut c,
        "USE Sales; SELECT SUM(count_executions) FROM sys.query_store_runtime_stats",
    )
    .await;
    assert_eq!(int(&row, 0), Some(80));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_carries_the_store_to_a_restore() {
    let share = tempfile::tempdir().unwrap();
    let r = start(sql_enterprise(Release::Sql2019), TlsMode::Required).await;
    r.server.allow_backup_directory(share.path()).unwrap();
    let base = control_api(&r).await.0;
    let mut c = connect(&r).await;
    exec(&mut c, "CREATE DATABASE Sales; ALTER DATABASE Sales SET QUERY_STORE = ON (QUERY_CAPTURE_MODE = ALL)").await;
    let (status, _) = post_value(
        &base,
        "/query-workload",
        workload("SELECT 1 FROM dbo.T", 5, 10, "A"),
    )
    .await;
    assert_eq!(status, 200);
    let bak = share.path().join("sales.bak").display().to_string();
    exec(&mut c, &format!("BACKUP DATABASE Sales TO DISK = '{bak}'")).await;
    exec(
        &mut c,
        &format!("RESTORE DATABASE Sales2 FROM DISK = '{bak}'"),
    )
    .await;
    let row = one_row(
        &mut c,
        "USE Sales2; SELECT SUM(count_executions) FROM sys.query_store_runtime_stats",
    )
    .await;
    assert_eq!(int(&row, 0), Some(5));
    assert_eq!(state(&mut c, "Sales2").await, "READ_WRITE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_workload_is_refused_saying_why_and_records_nothing() {
    let r = start(sql_enterprise(Release::Sql2019), TlsMode::Required).await;
    let base = control_api(&r).await.0;
    let mut c = connect(&r).await;
    exec(&mut c, "CREATE DATABASE Sales; ALTER DATABASE Sales SET QUERY_STORE = ON (QUERY_CAPTURE_MODE = ALL)").await;
    let mut w = workload("SELECT 1 FROM dbo.T", 5, 10, "A");
    w["queries"][0]["waits"] = serde_json::json!({"MADE_UP_WAIT": 3});
    let (status, body) = post_value(&base, "/query-workload", w).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("MADE_UP_WAIT"),
        "{body}"
    );
    let mut w = workload("SELECT 1 FROM dbo.T", 5, 10, "A");
    w["queries"][0]["cpu_us"] = serde_json::json!(1_000_000);
    let (status, body) = post_value(&base, "/query-workload", w).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cpu_us"),
        "{body}"
    );
    let mut w = workload("SELECT 1 FROM dbo.T", 5, 10, "A");
    w["db"] = serde_json::json!("Nope");
    let (status, body) = post_value(&base, "/query-workload", w).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"].as_str().unwrap().contains("Nope"),
        "{body}"
    );
    let (status, _) = post_value(
        &base,
        "/query-workload",
        serde_json::json!({"db": "Sales", "queries": [], "bogus": 1}),
    )
    .await;
    assert_eq!(status, 400);
    let row = one_row(
        &mut c,
        "USE Sales; SELECT COUNT(*) FROM sys.query_store_query",
    )
    .await;
    assert_eq!(row.get::<i32, _>(0), Some(0));
}
