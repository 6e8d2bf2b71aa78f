//! The resource DMVs through TDS, shaped through the control API (`/resources`) and moved by
//! the workload generator (`/query-workload`) and by statements.

mod common;

use common::*;
use ferry_emulator::{Release, TlsMode};

/// An integer column as i64, whether the DMV declares it int or bigint.
fn int(row: &tiberius::Row, i: usize) -> i64 {
    row.try_get::<i64, _>(i)
        .ok()
        .flatten()
        .or_else(|| row.try_get::<i32, _>(i).ok().flatten().map(i64::from))
        .unwrap_or_else(|| panic!("column {i} is not an integer"))
}

fn workload(executions: i64) -> serde_json::Value {
    serde_json::json!({
        "db": "Sales",
        "queries": [{
            "text": "UPDATE dbo.Orders SET Total = Total + 1 WHERE Id = @id",
            "executions": executions, "cpu_us": 2000, "duration_us": 5000,
            "logical_reads": 10, "physical_reads": 4, "logical_writes": 2,
            "waits": {"PAGEIOLATCH_SH": 3, "WRITELOG": 2, "SOS_SCHEDULER_YIELD": 1}
        }]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sys_info_and_schedulers_follow_the_machine_the_test_sets() {
    let r = start(sql_enterprise(Release::Sql2019), TlsMode::Required).await;
    let base = control_api(&r).await.0;
    let mut c = connect(&r).await;
    let q = "SELECT cpu_count, hyperthread_ratio, physical_memory_kb, committed_target_kb, scheduler_count, socket_count, max_workers_count FROM sys.dm_os_sys_info";
    let row = one_row(&mut c, q).await;
    assert_eq!(row.get::<i32, _>(0), Some(8));
    assert_eq!(row.get::<i64, _>(2), Some(32 * 1024 * 1024));

    let (status, body) = post_value(
        &base,
        "/resources",
        serde_json::json!({"cpu_count": 16, "hyperthread_ratio": 8, "memory_mb": 65536}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["target_memory_mb"], 65536 * 9 / 10);
    let row = one_row(&mut c, q).await;
    assert_eq!(row.get::<i32, _>(0), Some(16));
    assert_eq!(row.get::<i32, _>(1), Some(8));
    assert_eq!(row.get::<i64, _>(2), Some(65536 * 1024));
    assert_eq!(row.get::<i32, _>(3), Some(65536 * 9 / 10 * 1024));
    assert_eq!(row.get::<i32, _>(4), Some(16));
    assert_eq!(row.get::<i32, _>(5), Some(2));
    // "Configure the max worker threads": 512 + (16 - 4) * 16.
    assert_eq!(row.get::<i32, _>(6), Some(704));
    let row = one_row(
        &mut c,
        "SELECT COUNT(*) FROM sys.dm_os_schedulers WHERE status = 'VISIBLE ONLINE'",
    )
    .await;
    assert_eq!(row.get::<i32, _>(0), Some(16));

    // A machine that cannot be is refused, saying why, and nothing changes.
    let (status, body) = post_value(&base, "/resources", serde_json::json!({"cpu_count": 0})).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cpu_count"),
        "{body}"
    );
    let (status, _) = post_value(
        &base,
        "/resources",
        serde_json::json!({"memory_mb": 1024, "target_memory_mb": 2048}),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = post_value(&base, "/resources", serde_json::json!({"cores": 4})).await;
    assert_eq!(status, 400);
    let row = one_row(&mut c, q).await;
    assert_eq!(row.get::<i32, _>(0), Some(16));

    // The machine outlives a restart; the counters start again.
    r.server.restart().await.unwrap();
    let mut c = connect(&r).await;
    let row = one_row(&mut c, q).await;
    assert_eq!(row.get::<i32, _>(0), Some(16));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sys_info_has_each_versions_columns() {
    let r = start(sql_enterprise(Release::Sql2008R2), TlsMode::Required).await;
    let mut c = connect(&r).await;
    let row = one_row(
        &mut c,
        "SELECT physical_memory_in_bytes, bpool_commit_target FROM sys.dm_os_sys_info",
    )
    .await;
    assert_eq!(row.get::<i64, _>(0), Some(32 * 1024 * 1024 * 1024));
    assert_eq!(
        error_code(&mut c, "SELECT physical_memory_kb FROM sys.dm_os_sys_info").await,
        207
    );

    let r = start(sql_enterprise(Release::Sql2014), TlsMode::Required).await;
    let mut c = connect(&r).await;
    let row = one_row(&mut c, "SELECT physical_memory_kb FROM sys.dm_os_sys_info").await;
    assert_eq!(row.get::<i64, _>(0), Some(32 * 1024 * 1024));
    assert_eq!(
        error_code(
            &mut c,
            "SELECT process_user_time_ms FROM sys.dm_os_sys_info"
        )
        .await,
        207
    );

    // The MI: 8 vCores, 5.1 GB each.
    let r = start(mi(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    let row = one_row(
        &mut c,
        "SELECT cpu_count, physical_memory_kb FROM sys.dm_os_sys_info",
    )
    .await;
    assert_eq!(row.get::<i32, _>(0), Some(8));
    assert_eq!(row.get::<i64, _>(1), Some(8 * 5222 * 1024));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workload_moves_cpu_waits_file_io_and_counters_which_only_grow() {
    let r = start(sql_enterprise(Release::Sql2019), TlsMode::Required).await;
    let base = control_api(&r).await.0;
    let mut c = connect(&r).await;
    exec(
        &mut c,
        "CREATE DATABASE Sales; CREATE TABLE Sales.dbo.Orders (Id int, Total int)",
    )
    .await;
    let cpu = "SELECT process_user_time_ms FROM sys.dm_os_sys_info";
    let waits = "SELECT waiting_tasks_count, wait_time_ms, max_wait_time_ms, signal_wait_time_ms FROM sys.dm_os_wait_stats WHERE wait_type = 'PAGEIOLATCH_SH'";
    let files = "SELECT file_id, num_of_reads, num_of_bytes_read, io_stall_read_ms, num_of_writes, num_of_bytes_written, io_stall_write_ms, size_on_disk_bytes FROM sys.dm_io_virtual_file_stats(DB_ID('Sales'), NULL) ORDER BY file_id";
    assert_eq!(int(&one_row(&mut c, cpu).await, 0), 0);
    // What the CREATE TABLE wrote (its logged changes: the table and its catalog rows): the
    // workload's writes are counted from here.
    let before = c
        .simple_query(files)
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    let (data_w0, log_w0, log_b0) = (int(&before[0], 4), int(&before[1], 4), int(&before[1], 5));
    assert!(
        data_w0 >= 1 && log_w0 >= 1,
        "a logged change writes both files"
    );

    let (status, body) = post_value(&base, "/query-workload", workload(1000)).await;
    assert_eq!(status, 200, "{body}");
    // 1000 executions × 2 ms of CPU.
    assert_eq!(int(&one_row(&mut c, cpu).await, 0), 2000);
    let row = one_row(&mut c, waits).await;
    assert_eq!(
        (int(&row, 0), int(&row, 1), int(&row, 2), int(&row, 3)),
        (1000, 3000, 3, 0)
    );
    let row = one_row(&mut c, "SELECT signal_wait_time_ms FROM sys.dm_os_wait_stats WHERE wait_type = 'SOS_SCHEDULER_YIELD'").await;
    assert_eq!(int(&row, 0), 1000);

    let rows = c
        .simple_query(files)
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    // Data file: 4 pages read per execution, waiting PAGEIOLATCH; 2 pages written.
    let data = &rows[0];
    assert_eq!(int(data, 1), 4000);
    assert_eq!(int(data, 2), 4000 * 8192);
    assert_eq!(int(data, 3), 3000);
    assert_eq!(int(data, 4), data_w0 + 2000);
    assert!(int(data, 7) >= 1024 * 8192);
    // Log file: one 512-byte flush per execution, waiting WRITELOG.
    let log = &rows[1];
    assert_eq!(
        (int(log, 4), int(log, 5), int(log, 6)),
        (log_w0 + 1000, log_b0 + 512_000, 2000)
    );

    // Statements that change the database write to its files too.
    exec(
        &mut c,
        "INSERT INTO Sales.dbo.Orders VALUES (1, 10); INSERT INTO Sales.dbo.Orders VALUES (2, 20)",
    )
    .await;
    let rows = c
        .simple_query(files)
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    assert_eq!(int(&rows[0], 4), data_w0 + 2002);
    assert_eq!(int(&rows[1], 4), log_w0 + 1002);

    // More work: every counter grows, none falls.
    post_value(&base, "/query-workload", workload(10)).await;
    assert_eq!(int(&one_row(&mut c, cpu).await, 0), 2020);
    let row = one_row(&mut c, waits).await;
    assert_eq!(int(&row, 0), 1010);

    // Performance counters: nchar(128), padded; batch requests cumulative.
    let row = one_row(&mut c, "SELECT cntr_value, cntr_type, object_name FROM sys.dm_os_performance_counters WHERE counter_name LIKE 'Batch Requests/sec%'").await;
    assert_eq!(int(&row, 0), 1010);
    assert_eq!(row.get::<i32, _>(1), Some(272696576));
    let object = row.get::<&str, _>(2).unwrap();
    assert_eq!(object.len(), 128);
    assert_eq!(object.trim_end(), "SQLServer:SQL Statistics");
    let row = one_row(&mut c, "SELECT cntr_value FROM sys.dm_os_performance_counters WHERE counter_name LIKE 'Total Server Memory (KB)%'").await;
    assert_eq!(int(&row, 0), 32 * 1024 * 9 / 10 * 1024);

    // The plan cache: one row for the plan, totals since it was cached.
    let row = one_row(&mut c, "SELECT execution_count, total_worker_time, total_logical_reads, total_elapsed_time, query_hash FROM sys.dm_exec_query_stats").await;
    assert_eq!(int(&row, 0), 1010);
    assert_eq!(int(&row, 1), 1010 * 2000);
    assert_eq!(int(&row, 2), 10100);
    assert_eq!(int(&row, 3), 1010 * 5000);
    assert_eq!(row.get::<&[u8], _>(4).unwrap().len(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_stats_take_their_arguments_as_sql_server_does() {
    let r = start(sql_enterprise(Release::Sql2019), TlsMode::Required).await;
    let mut c = connect(&r).await;
    exec(&mut c, "CREATE DATABASE Sales").await;
    let row = one_row(
        &mut c,
        "SELECT COUNT(*) FROM sys.dm_io_virtual_file_stats(NULL, NULL)",
    )
    .await;
    // master, tempdb, model, msdb and Sales: two files each.
    assert_eq!(row.get::<i32, _>(0), Some(10));
    let row = one_row(&mut c, "SELECT COUNT(*) FROM sys.dm_io_virtual_file_stats(DB_ID('Sales'), 2) AS vfs WHERE vfs.file_id = 2").await;
    assert_eq!(row.get::<i32, _>(0), Some(1));
    assert_eq!(
        error_code(&mut c, "SELECT * FROM sys.dm_io_virtual_file_stats").await,
        216
    );
    assert_eq!(
        error_code(&mut c, "SELECT * FROM sys.dm_io_virtual_file_stats(1)").await,
        174
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_text_reads_the_text_a_query_stats_handle_names() {
    let r = start(sql_enterprise(Release::Sql2019), TlsMode::Required).await;
    let base = control_api(&r).await.0;
    let mut c = connect(&r).await;
    exec(&mut c, "CREATE DATABASE Sales").await;
    let (status, _) = post_value(&base, "/query-workload", workload(3)).await;
    assert_eq!(status, 200);
    let row = one_row(&mut c, "SELECT TOP 5 qs.execution_count, st.text, st.dbid FROM sys.dm_exec_query_stats qs CROSS APPLY sys.dm_exec_sql_text(qs.sql_handle) AS st ORDER BY qs.total_worker_time DESC").await;
    assert_eq!(int(&row, 0), 3);
    assert_eq!(
        row.get::<&str, _>(1),
        Some("UPDATE dbo.Orders SET Total = Total + 1 WHERE Id = @id")
    );
    assert_eq!(row.get::<i16, _>(2), Some(5));
    let row = one_row(&mut c, "SELECT COUNT(*) FROM sys.dm_exec_query_stats qs OUTER APPLY sys.dm_exec_sql_text(qs.plan_handle) st WHERE st.text IS NULL").await;
    assert_eq!(row.get::<i32, _>(0), Some(1));
    let row = one_row(&mut c, "SELECT COUNT(*) FROM sys.dm_exec_sql_text(0x0200)").await;
    assert_eq!(row.get::<i32, _>(0), Some(0));
    assert_eq!(
        error_code(&mut c, "SELECT * FROM sys.dm_exec_sql_text").await,
        216
    );
}
