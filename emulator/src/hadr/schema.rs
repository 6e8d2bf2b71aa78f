//! The Always On catalog views and DMVs as SQLite tables. The catalog views (endpoints,
//! availability groups, replicas, databases) live in the catalog's `main` schema and survive a
//! restart, as SQL Server keeps them in master; the DMVs live in `temp` and start empty at every
//! start, as SQL Server's dynamic management views are rebuilt from the running state. Columns
//! are the documented ones, in their documented order, up to the last one ferry or the docs'
//! monitoring queries read ("sys.database_mirroring_endpoints", "sys.tcp_endpoints",
//! "sys.availability_groups", "sys.availability_replicas", "sys.availability_databases_cluster",
//! "sys.dm_hadr_availability_replica_states", "sys.dm_hadr_database_replica_states",
//! "sys.dm_hadr_physical_seeding_stats", "sys.dm_hadr_automatic_seeding", learn.microsoft.com).
//! Tables are created IF NOT EXISTS, so a data directory written before they existed gains them.

use rusqlite::Connection;

/// Views in `main`, by the name a statement uses after `sys.`.
pub const CATALOG_VIEWS: &[&str] = &[
    "database_mirroring_endpoints",
    "tcp_endpoints",
    "availability_groups",
    "availability_replicas",
    "availability_databases_cluster",
];

/// Views in `temp`.
pub const RUNTIME_VIEWS: &[&str] = &[
    "dm_hadr_availability_replica_states",
    "dm_hadr_database_replica_states",
    "dm_hadr_physical_seeding_stats",
    "dm_hadr_automatic_seeding",
    "dm_hadr_fabric_config_parameters",
    "dm_hadr_fabric_partitions",
    "dm_hadr_fabric_replicas",
    "dm_hadr_fabric_nodes",
];

const CATALOG: &str = r#"
CREATE TABLE IF NOT EXISTS "sys.database_mirroring_endpoints" (
    name sysname, endpoint_id int, principal_id int, protocol tinyint, protocol_desc nvarchar(60),
    type tinyint, type_desc nvarchar(60), state tinyint, state_desc nvarchar(60), is_admin_endpoint bit,
    role tinyint, role_desc nvarchar(60), is_encryption_enabled bit, connection_auth tinyint,
    connection_auth_desc nvarchar(60), certificate_id int, encryption_algorithm tinyint,
    encryption_algorithm_desc nvarchar(60)
);
CREATE TABLE IF NOT EXISTS "sys.tcp_endpoints" (
    name sysname, endpoint_id int, principal_id int, protocol tinyint, protocol_desc nvarchar(60),
    type tinyint, type_desc nvarchar(60), state tinyint, state_desc nvarchar(60), is_admin_endpoint bit,
    port int, is_dynamic_port bit, ip_address nvarchar(45)
);
CREATE TABLE IF NOT EXISTS "sys.availability_groups" (
    group_id uniqueidentifier, name sysname, resource_id nvarchar(40), resource_group_id nvarchar(40),
    failure_condition_level int, health_check_timeout int, automated_backup_preference tinyint,
    automated_backup_preference_desc nvarchar(60), version smallint, basic_features bit, dtc_support bit,
    db_failover bit, is_distributed bit, cluster_type tinyint, cluster_type_desc nvarchar(60),
    required_synchronized_secondaries_to_commit int, sequence_number bigint, is_contained bit
);
CREATE TABLE IF NOT EXISTS "sys.availability_replicas" (
    replica_id uniqueidentifier, group_id uniqueidentifier, replica_metadata_id int,
    replica_server_name nvarchar(256), owner_sid varbinary(85), endpoint_url nvarchar(128),
    availability_mode tinyint, availability_mode_desc nvarchar(60), failover_mode tinyint,
    failover_mode_desc nvarchar(60), session_timeout int, primary_role_allow_connections tinyint,
    primary_role_allow_connections_desc nvarchar(60), secondary_role_allow_connections tinyint,
    secondary_role_allow_connections_desc nvarchar(60), create_date datetime, modify_date datetime,
    backup_priority int, read_only_routing_url nvarchar(256), seeding_mode tinyint,
    seeding_mode_desc nvarchar(60), read_write_routing_url nvarchar(256)
);
CREATE TABLE IF NOT EXISTS "sys.availability_databases_cluster" (
    group_id uniqueidentifier, group_database_id uniqueidentifier, database_name nvarchar(128),
    truncation_lsn numeric(25,0)
);
CREATE TABLE IF NOT EXISTS "ferry.availability_groups" (
    name TEXT PRIMARY KEY COLLATE NOCASE, local_role INTEGER NOT NULL, create_any_database INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS "ferry.hadr_endpoint_certificate" (der BLOB NOT NULL, thumbprint TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS "ferry.hadr_network" (token TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS msdb."dbo.sysjobactivity" (
    session_id int, job_id uniqueidentifier NOT NULL, run_requested_date datetime, run_requested_source sysname,
    queued_date datetime, start_execution_date datetime, last_executed_step_id int,
    last_executed_step_date datetime, stop_execution_date datetime, job_history_id int,
    next_scheduled_run_date datetime
);
CREATE TABLE IF NOT EXISTS msdb."dbo.sysjobstepslogs" (
    log_id INTEGER PRIMARY KEY, log nvarchar(-1) NOT NULL, date_created datetime NOT NULL,
    date_modified datetime NOT NULL, log_size bigint NOT NULL, step_uid uniqueidentifier NOT NULL
);
CREATE TABLE IF NOT EXISTS "ferry.certificate_issuers" (
    certificate TEXT NOT NULL COLLATE NOCASE, issuer TEXT NOT NULL COLLATE NOCASE, PRIMARY KEY (certificate, issuer)
);
"#;

const RUNTIME: &str = r#"
CREATE TEMP TABLE IF NOT EXISTS "sys.dm_hadr_availability_replica_states" (
    replica_id uniqueidentifier, group_id uniqueidentifier, is_local bit, role tinyint, role_desc nvarchar(60),
    operational_state tinyint, operational_state_desc nvarchar(60), connected_state tinyint,
    connected_state_desc nvarchar(60), recovery_health tinyint, recovery_health_desc nvarchar(60),
    synchronization_health tinyint, synchronization_health_desc nvarchar(60),
    last_connect_error_number int, last_connect_error_description nvarchar(1024),
    last_connect_error_timestamp datetime, write_lease_remaining_ticks bigint,
    current_configuration_commit_start_time_utc datetime
);
CREATE TEMP TABLE IF NOT EXISTS "sys.dm_hadr_database_replica_states" (
    database_id int, group_id uniqueidentifier, replica_id uniqueidentifier,
    group_database_id uniqueidentifier, is_local bit, is_primary_replica bit,
    synchronization_state tinyint, synchronization_state_desc nvarchar(60), is_commit_participant bit,
    synchronization_health tinyint, synchronization_health_desc nvarchar(60), database_state tinyint,
    database_state_desc nvarchar(60), is_suspended bit, suspend_reason tinyint,
    suspend_reason_desc nvarchar(60), recovery_lsn numeric(25,0), truncation_lsn numeric(25,0),
    last_sent_lsn numeric(25,0), last_sent_time datetime, last_received_lsn numeric(25,0),
    last_received_time datetime, last_hardened_lsn numeric(25,0), last_hardened_time datetime,
    last_redone_lsn numeric(25,0), last_redone_time datetime, log_send_queue_size bigint,
    log_send_rate bigint, redo_queue_size bigint, redo_rate bigint, filestream_send_rate bigint,
    end_of_log_lsn numeric(25,0), last_commit_lsn numeric(25,0), last_commit_time datetime,
    low_water_mark_for_ghosts bigint, secondary_lag_seconds bigint
);
CREATE TEMP TABLE IF NOT EXISTS "sys.dm_hadr_physical_seeding_stats" (
    local_physical_seeding_id uniqueidentifier, remote_physical_seeding_id uniqueidentifier,
    local_database_id int, local_database_name nvarchar(128), remote_machine_name nvarchar(128),
    role_desc nvarchar(60), internal_state_desc nvarchar(60), transfer_rate_bytes_per_second bigint,
    transferred_size_bytes bigint, database_size_bytes bigint, start_time_utc datetime,
    end_time_utc datetime, estimate_time_complete_utc datetime, total_disk_io_wait_time_ms bigint,
    total_network_wait_time_ms bigint, failure_code int, failure_message nvarchar(4000),
    failure_time_utc datetime, is_compression_enabled bit
);
CREATE TEMP TABLE IF NOT EXISTS "sys.dm_hadr_automatic_seeding" (
    start_time datetime, completion_time datetime, ag_id uniqueidentifier, ag_db_id uniqueidentifier,
    ag_remote_replica_id uniqueidentifier, operation_id uniqueidentifier, is_source bit,
    current_state nvarchar(32), performed_seeding bit, failure_state int,
    failure_state_desc nvarchar(128), error_code int, number_of_attempts int
);
CREATE TEMP TABLE IF NOT EXISTS "sys.dm_hadr_fabric_config_parameters" (
    section_name nvarchar(256), parameter_name nvarchar(256), value nvarchar(4000)
);
CREATE TEMP TABLE IF NOT EXISTS "sys.dm_hadr_fabric_partitions" (
    partition_id uniqueidentifier, service_name nvarchar(256)
);
CREATE TEMP TABLE IF NOT EXISTS "sys.dm_hadr_fabric_replicas" (
    partition_id uniqueidentifier, replica_id bigint, replica_role int, replica_status int,
    replica_address nvarchar(512), node_name nvarchar(256)
);
CREATE TEMP TABLE IF NOT EXISTS "sys.dm_hadr_fabric_nodes" (
    node_name nvarchar(256), node_id nvarchar(256), ip_address_or_fqdn nvarchar(256)
);
CREATE TEMP TABLE IF NOT EXISTS "ferry.hadr_requests" (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, ag TEXT NOT NULL);
"#;

/// The columns `sys.databases` gains for Always On ("sys.databases": `replica_id`,
/// `group_database_id`, `log_reuse_wait`, `log_reuse_wait_desc`), added to a catalog that
/// lacks them.
const DATABASE_COLUMNS: &[(&str, &str)] = &[
    ("log_reuse_wait", "tinyint DEFAULT 0"),
    ("log_reuse_wait_desc", "nvarchar(60) DEFAULT 'NOTHING'"),
    ("replica_id", "uniqueidentifier DEFAULT NULL"),
    ("group_database_id", "uniqueidentifier DEFAULT NULL"),
];

/// Creates what is missing; called every time an instance is opened.
pub fn create_tables(conn: &Connection) -> rusqlite::Result<()> {
    super::string_functions::register(conn)?;
    conn.execute_batch(CATALOG)?;
    conn.execute_batch(RUNTIME)?;
    let has_databases: bool = conn
        .query_row(
            r#"SELECT COUNT(*) FROM sqlite_master WHERE name = 'sys.databases'"#,
            [],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)?;
    if !has_databases {
        return Ok(());
    }
    let existing: Vec<String> = {
        let mut st = conn.prepare(r#"SELECT name FROM pragma_table_info('sys.databases')"#)?;
        st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?
    };
    for (col, decl) in DATABASE_COLUMNS {
        if !existing.iter().any(|c| c.eq_ignore_ascii_case(col)) {
            conn.execute_batch(&format!(
                r#"ALTER TABLE "sys.databases" ADD COLUMN {col} {decl}"#
            ))?;
        }
    }
    Ok(())
}
