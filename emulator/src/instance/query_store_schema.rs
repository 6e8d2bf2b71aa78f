//! The tables behind the Query Store views ([`super::query_store`]).

/// The tables behind the views, in each database's file. Columns are a subset of the documented
/// ones ("sys.database_query_store_options", "sys.query_store_query_text", "sys.query_store_query",
/// "sys.query_store_plan", "sys.query_store_runtime_stats_interval", "sys.query_store_runtime_stats",
/// "sys.query_store_wait_stats"), in their order. The documented `datetimeoffset` columns are
/// `datetime2` holding UTC: the emulator's type system has no datetimeoffset (a documented
/// divergence, see the README).
pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS {q}."sys.database_query_store_options" (
    desired_state smallint, desired_state_desc nvarchar(60), actual_state smallint, actual_state_desc nvarchar(60),
    readonly_reason int, current_storage_size_mb bigint, flush_interval_seconds bigint, interval_length_minutes bigint,
    max_storage_size_mb bigint, stale_query_threshold_days bigint, max_plans_per_query bigint,
    query_capture_mode smallint, query_capture_mode_desc nvarchar(60), size_based_cleanup_mode smallint,
    size_based_cleanup_mode_desc nvarchar(60), wait_stats_capture_mode smallint, wait_stats_capture_mode_desc nvarchar(60)
);
CREATE TABLE IF NOT EXISTS {q}."sys.query_store_query_text" (
    query_text_id bigint PRIMARY KEY, query_sql_text nvarchar(-1), statement_sql_handle varbinary(64),
    is_part_of_encrypted_module bit, has_restricted_text bit
);
CREATE TABLE IF NOT EXISTS {q}."sys.query_store_query" (
    query_id bigint PRIMARY KEY, query_text_id bigint, context_settings_id bigint, object_id bigint,
    query_hash binary(8), is_internal_query bit, query_parameterization_type tinyint,
    query_parameterization_type_desc nvarchar(60), initial_compile_start_time datetime2,
    last_compile_start_time datetime2, last_execution_time datetime2, count_compiles bigint
);
CREATE TABLE IF NOT EXISTS {q}."sys.query_store_plan" (
    plan_id bigint PRIMARY KEY, query_id bigint, plan_group_id bigint, engine_version nvarchar(32),
    compatibility_level smallint, query_plan_hash binary(8), query_plan nvarchar(-1), is_trivial_plan bit,
    is_parallel_plan bit, is_forced_plan bit, count_compiles bigint, initial_compile_start_time datetime2,
    last_compile_start_time datetime2, last_execution_time datetime2
);
CREATE TABLE IF NOT EXISTS {q}."sys.query_store_runtime_stats_interval" (
    runtime_stats_interval_id bigint PRIMARY KEY, start_time datetime2, end_time datetime2, comment nvarchar(-1)
);
CREATE TABLE IF NOT EXISTS {q}."sys.query_store_runtime_stats" (
    runtime_stats_id bigint PRIMARY KEY, plan_id bigint, runtime_stats_interval_id bigint, execution_type tinyint,
    execution_type_desc nvarchar(128), first_execution_time datetime2, last_execution_time datetime2,
    count_executions bigint,
    avg_duration float, last_duration bigint, min_duration bigint, max_duration bigint, stdev_duration float,
    avg_cpu_time float, last_cpu_time bigint, min_cpu_time bigint, max_cpu_time bigint, stdev_cpu_time float,
    avg_logical_io_reads float, last_logical_io_reads bigint, min_logical_io_reads bigint, max_logical_io_reads bigint, stdev_logical_io_reads float,
    avg_logical_io_writes float, last_logical_io_writes bigint, min_logical_io_writes bigint, max_logical_io_writes bigint, stdev_logical_io_writes float,
    avg_physical_io_reads float, last_physical_io_reads bigint, min_physical_io_reads bigint, max_physical_io_reads bigint, stdev_physical_io_reads float,
    avg_dop float, last_dop bigint, min_dop bigint, max_dop bigint, stdev_dop float,
    avg_rowcount float, last_rowcount bigint, min_rowcount bigint, max_rowcount bigint, stdev_rowcount float
);
"#;

/// The wait view, from 2017 on.
pub(super) const WAITS_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS {q}."sys.query_store_wait_stats" (
    wait_stats_id bigint PRIMARY KEY, plan_id bigint, runtime_stats_interval_id bigint, wait_category smallint,
    wait_category_desc nvarchar(60), execution_type tinyint, execution_type_desc nvarchar(60),
    total_query_wait_time_ms bigint, avg_query_wait_time_ms float, last_query_wait_time_ms bigint,
    min_query_wait_time_ms bigint, max_query_wait_time_ms bigint, stdev_query_wait_time_ms float
);
"#;
