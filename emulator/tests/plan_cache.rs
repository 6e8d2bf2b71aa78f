//! The plan cache as a capture reads it before SQL Server 2016, through TDS:
//! sys.dm_exec_query_stats with CROSS APPLY sys.dm_exec_sql_text (the statement cut by its
//! offsets and DATALENGTH, as that page's example does) and CROSS APPLY
//! sys.dm_exec_plan_attributes (the plan's `dbid`, "sys.dm_exec_plan_attributes").

mod common;

use common::*;
use ferry_emulator::TlsMode;

fn int(row: &tiberius::Row, i: usize) -> Option<i64> {
    row.try_get::<i64, _>(i)
        .ok()
        .flatten()
        .or_else(|| row.try_get::<i32, _>(i).ok().flatten().map(i64::from))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_cache_is_read_per_database_with_its_statement_text() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(&mut c, "CREATE DATABASE Sales; CREATE DATABASE Hr").await;
    let (base, client) = control_api(&r).await;
    for (db, text, n) in [
        ("Sales", "SELECT o.Id FROM dbo.Orders AS o", 50),
        ("Hr", "SELECT e.Id FROM dbo.Staff AS e", 7),
    ] {
        let body = format!(
            r#"{{"db": "{db}", "queries": [{{"text": "{text}", "executions": {n}, "cpu_us": 100, "duration_us": 200, "logical_reads": 4}}]}}"#
        );
        let (status, answer) = post_json(&client, &format!("{base}/query-workload"), &body).await;
        assert_eq!(status, 200, "{answer}");
    }
    // The plugin's read, as it sends it.
    let row = one_row(
        &mut c,
        "SELECT qs.query_hash, SUM(qs.execution_count) AS execution_count, \
         SUM(qs.total_worker_time) AS total_worker_time, \
         MIN(LEFT(SUBSTRING(st.text, (qs.statement_start_offset / 2) + 1, \
           ((CASE qs.statement_end_offset WHEN -1 THEN DATALENGTH(st.text) \
             ELSE qs.statement_end_offset END - qs.statement_start_offset) / 2) + 1), 200)) \
           AS statement_text \
         FROM sys.dm_exec_query_stats AS qs \
         CROSS APPLY sys.dm_exec_sql_text(qs.sql_handle) AS st \
         CROSS APPLY sys.dm_exec_plan_attributes(qs.plan_handle) AS pa \
         WHERE pa.attribute = N'dbid' AND CONVERT(int, pa.value) = DB_ID(N'Sales') \
         GROUP BY qs.query_hash",
    )
    .await;
    assert_eq!(int(&row, 1), Some(50), "Sales' plan only");
    assert_eq!(int(&row, 2), Some(5000));
    assert_eq!(
        row.get::<&str, _>(3),
        Some("SELECT o.Id FROM dbo.Orders AS o")
    );
    // A plan's attributes: the documented names, dbid and sql_handle among them.
    let row = one_row(
        &mut c,
        "SELECT COUNT(*), SUM(CASE WHEN pa.is_cache_key = 1 THEN 1 ELSE 0 END) \
         FROM sys.dm_exec_query_stats AS qs \
         CROSS APPLY sys.dm_exec_plan_attributes(qs.plan_handle) AS pa \
         WHERE pa.attribute IN (N'dbid', N'sql_handle', N'set_options')",
    )
    .await;
    assert_eq!(int(&row, 0), Some(6), "three attributes of two plans");
    assert_eq!(int(&row, 1), Some(4), "sql_handle is not a cache key");
    // DATALENGTH counts nvarchar text in two-byte units.
    let row = one_row(
        &mut c,
        "SELECT MAX(DATALENGTH(st.text)) FROM sys.dm_exec_query_stats AS qs \
         CROSS APPLY sys.dm_exec_sql_text(qs.sql_handle) AS st",
    )
    .await;
    assert_eq!(int(&row, 0), Some(2 * 32));
    // Without its argument SQL Server refuses the function (216); with two, 174.
    assert_eq!(
        error_code(&mut c, "SELECT * FROM sys.dm_exec_plan_attributes").await,
        216
    );
    assert_eq!(
        error_code(
            &mut c,
            "SELECT * FROM sys.dm_exec_query_stats AS qs CROSS APPLY sys.dm_exec_plan_attributes(qs.plan_handle, 1) AS pa"
        )
        .await,
        174
    );
    assert_eq!(
        error_code(&mut c, "SELECT DATALENGTH(name, 1) FROM sys.databases").await,
        174
    );
}
