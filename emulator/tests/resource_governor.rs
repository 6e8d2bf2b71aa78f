//! Resource Governor's stored configuration as a migration reads and recreates it: pools,
//! workload groups and the classifier setting ("CREATE RESOURCE POOL", "CREATE WORKLOAD
//! GROUP", "ALTER RESOURCE GOVERNOR" and the sys.resource_governor_* pages).

mod common;

use common::*;
use ferry_emulator::TlsMode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predefined_pools_and_groups_are_there() {
    let src = start(sql2019(), TlsMode::Required).await;
    let mut s = connect(&src).await;
    let c = one_row(
        &mut s,
        "SELECT classifier_function_id, is_enabled FROM sys.resource_governor_configuration",
    )
    .await;
    assert_eq!(c.get::<i32, _>(0), Some(0));
    assert_eq!(c.get::<bool, _>(1), Some(false));
    let p = one_row(
        &mut s,
        "SELECT pool_id, min_cpu_percent, max_cpu_percent, min_memory_percent, max_memory_percent, \
         cap_cpu_percent, min_iops_per_volume, max_iops_per_volume \
         FROM sys.resource_governor_resource_pools WHERE name = N'default'",
    )
    .await;
    let row: Vec<Option<i32>> = (0..8).map(|i| p.get::<i32, _>(i)).collect();
    assert_eq!(row, [2, 0, 100, 0, 100, 100, 0, 0].map(Some));
    let g = one_row(
        &mut s,
        "SELECT group_id, importance, request_max_memory_grant_percent, pool_id \
         FROM sys.resource_governor_workload_groups WHERE name = N'internal'",
    )
    .await;
    assert_eq!(g.get::<i32, _>(0), Some(1));
    assert_eq!(g.get::<&str, _>(1), Some("Medium"));
    assert_eq!(g.get::<i32, _>(2), Some(25));
    assert_eq!(g.get::<i32, _>(3), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pools_and_groups_are_created_altered_and_dropped() {
    let src = start(sql2019(), TlsMode::Required).await;
    let mut s = connect(&src).await;
    exec(
        &mut s,
        "CREATE RESOURCE POOL [reports] WITH (MIN_CPU_PERCENT = 10, MAX_CPU_PERCENT = 40, \
         MAX_MEMORY_PERCENT = 30, MAX_IOPS_PER_VOLUME = 500)",
    )
    .await;
    exec(
        &mut s,
        "CREATE WORKLOAD GROUP [reporting] WITH (IMPORTANCE = LOW, MAX_DOP = 2, \
         REQUEST_MAX_CPU_TIME_SEC = 60) USING [reports]",
    )
    .await;
    exec(&mut s, "ALTER RESOURCE GOVERNOR RECONFIGURE").await;
    let p = one_row(
        &mut s,
        "SELECT pool_id, min_cpu_percent, max_cpu_percent, max_memory_percent, cap_cpu_percent, \
         max_iops_per_volume FROM sys.resource_governor_resource_pools WHERE name = N'reports'",
    )
    .await;
    let row: Vec<Option<i32>> = (0..6).map(|i| p.get::<i32, _>(i)).collect();
    assert_eq!(row, [256, 10, 40, 30, 100, 500].map(Some));
    let g = one_row(
        &mut s,
        "SELECT group_id, importance, max_dop, request_max_cpu_time_sec, request_max_memory_grant_percent, \
         pool_id FROM sys.resource_governor_workload_groups WHERE name = N'reporting'",
    )
    .await;
    assert_eq!(g.get::<i32, _>(0), Some(256));
    assert_eq!(g.get::<&str, _>(1), Some("Low"));
    assert_eq!(g.get::<i32, _>(2), Some(2));
    assert_eq!(g.get::<i32, _>(3), Some(60));
    assert_eq!(g.get::<i32, _>(4), Some(25));
    assert_eq!(g.get::<i32, _>(5), Some(256));
    let on = one_row(
        &mut s,
        "SELECT is_enabled FROM sys.resource_governor_configuration",
    )
    .await;
    assert_eq!(on.get::<bool, _>(0), Some(true));

    exec(
        &mut s,
        "ALTER RESOURCE POOL [default] WITH (MAX_CPU_PERCENT = 90)",
    )
    .await;
    exec(
        &mut s,
        "ALTER WORKLOAD GROUP [default] WITH (IMPORTANCE = HIGH)",
    )
    .await;
    let d = one_row(
        &mut s,
        "SELECT max_cpu_percent FROM sys.resource_governor_resource_pools WHERE pool_id = 2",
    )
    .await;
    assert_eq!(d.get::<i32, _>(0), Some(90));

    // A pool with a group cannot go; the group first, then the pool.
    assert_eq!(
        error_code(&mut s, "DROP RESOURCE POOL reports").await,
        10917
    );
    exec(&mut s, "DROP WORKLOAD GROUP reporting").await;
    exec(&mut s, "DROP RESOURCE POOL reports").await;
    exec(&mut s, "ALTER RESOURCE GOVERNOR DISABLE").await;
    let n = one_row(
        &mut s,
        "SELECT COUNT(*) FROM sys.resource_governor_resource_pools",
    )
    .await;
    assert_eq!(n.get::<i32, _>(0), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_settings_are_refused_with_sql_servers_errors() {
    let src = start(sql2019(), TlsMode::Required).await;
    let mut s = connect(&src).await;
    exec(
        &mut s,
        "CREATE RESOURCE POOL p1 WITH (MIN_CPU_PERCENT = 60)",
    )
    .await;
    for (sql, number) in [
        ("CREATE RESOURCE POOL p1", 10919),
        ("CREATE RESOURCE POOL [#p]", 10915),
        (
            "CREATE RESOURCE POOL p2 WITH (MIN_CPU_PERCENT = 50, MAX_CPU_PERCENT = 40)",
            10908,
        ),
        ("CREATE RESOURCE POOL p2 WITH (MIN_CPU_PERCENT = 50)", 10911),
        (
            "ALTER RESOURCE POOL nope WITH (MAX_CPU_PERCENT = 50)",
            10912,
        ),
        (
            "ALTER RESOURCE POOL internal WITH (MAX_CPU_PERCENT = 50)",
            10916,
        ),
        ("DROP RESOURCE POOL [default]", 10913),
        ("CREATE WORKLOAD GROUP g USING nope", 10912),
        ("CREATE WORKLOAD GROUP g USING internal", 10914),
        ("ALTER WORKLOAD GROUP [default] USING p1", 10922),
        ("ALTER WORKLOAD GROUP [default]", 10918),
        ("ALTER WORKLOAD GROUP nope WITH (MAX_DOP = 1)", 15151),
        ("DROP WORKLOAD GROUP [internal]", 10913),
        (
            "ALTER RESOURCE GOVERNOR WITH (CLASSIFIER_FUNCTION = dbo.rg_classifier)",
            10903,
        ),
        ("CREATE WORKLOAD GROUP g WITH (IMPORTANCE = URGENT)", 102),
    ] {
        assert_eq!(error_code(&mut s, sql).await, number, "{sql}");
    }
    exec(
        &mut s,
        "ALTER RESOURCE GOVERNOR WITH (CLASSIFIER_FUNCTION = NULL)",
    )
    .await;
    // The catalog is transactional; the governor's configuration cannot change in a
    // transaction.
    exec(&mut s, "BEGIN TRAN; CREATE RESOURCE POOL rolled_back").await;
    assert_eq!(
        error_code(&mut s, "ALTER RESOURCE GOVERNOR RECONFIGURE").await,
        574
    );
    exec(&mut s, "ROLLBACK").await;
    let n = one_row(
        &mut s,
        "SELECT COUNT(*) FROM sys.resource_governor_resource_pools WHERE name = N'rolled_back'",
    )
    .await;
    assert_eq!(n.get::<i32, _>(0), Some(0));
    // Nothing the refusals touched was written.
    let n = one_row(
        &mut s,
        "SELECT COUNT(*) FROM sys.resource_governor_workload_groups",
    )
    .await;
    assert_eq!(n.get::<i32, _>(0), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_instance_takes_pools_but_not_iops_limits() {
    let target = start(mi(), TlsMode::Required).await;
    let mut t = connect(&target).await;
    exec(
        &mut t,
        "CREATE RESOURCE POOL reports WITH (MAX_CPU_PERCENT = 40)",
    )
    .await;
    exec(&mut t, "CREATE WORKLOAD GROUP reporting USING reports").await;
    exec(&mut t, "ALTER RESOURCE GOVERNOR RECONFIGURE").await;
    assert_eq!(
        error_code(
            &mut t,
            "CREATE RESOURCE POOL io WITH (MAX_IOPS_PER_VOLUME = 100)"
        )
        .await,
        40517
    );
    assert_eq!(
        error_code(
            &mut t,
            "ALTER RESOURCE POOL reports WITH (MIN_IOPS_PER_VOLUME = 1)"
        )
        .await,
        40517
    );
    let g = one_row(
        &mut t,
        "SELECT pool_id FROM sys.resource_governor_workload_groups WHERE name = N'reporting'",
    )
    .await;
    assert_eq!(g.get::<i32, _>(0), Some(256));
}
