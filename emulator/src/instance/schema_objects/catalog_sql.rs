//! The tables that keep a database's schema objects, inside the database's own file (so a
//! backup carries them and a restore brings them back), and the `sys.*` catalog views over
//! them. Column names and types follow the catalog views' pages ("sys.objects", "sys.tables",
//! "sys.columns", "sys.sql_modules", "sys.triggers", "sys.indexes", "sys.index_columns",
//! "sys.key_constraints", "sys.foreign_keys", "sys.foreign_key_columns",
//! "sys.check_constraints", "sys.default_constraints", "sys.partitions",
//! "sys.dm_db_partition_stats", "sys.allocation_units", "sys.schemas", "sys.types"); each view
//! gives a subset of the documented columns. Values a view shows are stored typed in the
//! tables, because SQLite only reports a declared type for a plain column.

/// The tables; `{d}` is the quoted database.
pub(super) const TABLES: &str = r#"
CREATE TABLE IF NOT EXISTS {d}."ferry.objects" (
    name nvarchar(128) NOT NULL, object_id int PRIMARY KEY, principal_id int, schema_id int NOT NULL,
    parent_object_id int NOT NULL, type char(2) NOT NULL, type_desc nvarchar(60) NOT NULL,
    create_date datetime NOT NULL, modify_date datetime NOT NULL, is_ms_shipped bit NOT NULL,
    is_published bit NOT NULL, is_schema_published bit NOT NULL, sqlite_name TEXT);
CREATE TABLE IF NOT EXISTS {d}."ferry.tables" (
    object_id int PRIMARY KEY, is_memory_optimized bit NOT NULL, durability tinyint NOT NULL,
    durability_desc nvarchar(60) NOT NULL, temporal_type tinyint NOT NULL,
    temporal_type_desc nvarchar(60) NOT NULL, is_filetable bit NOT NULL);
CREATE TABLE IF NOT EXISTS {d}."ferry.columns" (
    object_id int NOT NULL, name nvarchar(128) NOT NULL, column_id int NOT NULL,
    system_type_id tinyint NOT NULL, user_type_id int NOT NULL, max_length smallint NOT NULL,
    precision tinyint NOT NULL, scale tinyint NOT NULL, collation_name nvarchar(128),
    is_nullable bit NOT NULL, is_identity bit NOT NULL, is_computed bit NOT NULL,
    default_object_id int NOT NULL, PRIMARY KEY (object_id, column_id));
CREATE TABLE IF NOT EXISTS {d}."ferry.modules" (
    object_id int PRIMARY KEY, definition nvarchar(-1), uses_ansi_nulls bit NOT NULL,
    uses_quoted_identifier bit NOT NULL, is_schema_bound bit NOT NULL,
    uses_database_collation bit NOT NULL, is_recompiled bit NOT NULL,
    null_on_null_input bit NOT NULL, execute_as_principal_id int,
    uses_native_compilation bit NOT NULL, parent_class tinyint NOT NULL,
    parent_class_desc nvarchar(60) NOT NULL, parent_id int NOT NULL, is_disabled bit NOT NULL,
    is_not_for_replication bit NOT NULL, is_instead_of_trigger bit NOT NULL);
CREATE TABLE IF NOT EXISTS {d}."ferry.indexes" (
    object_id int NOT NULL, name nvarchar(128), index_id int NOT NULL, type tinyint NOT NULL,
    type_desc nvarchar(60) NOT NULL, is_unique bit NOT NULL, data_space_id int NOT NULL,
    ignore_dup_key bit NOT NULL, is_primary_key bit NOT NULL, is_unique_constraint bit NOT NULL,
    fill_factor tinyint NOT NULL, is_padded bit NOT NULL, is_disabled bit NOT NULL,
    is_hypothetical bit NOT NULL, allow_row_locks bit NOT NULL, allow_page_locks bit NOT NULL,
    has_filter bit NOT NULL, filter_definition nvarchar(-1), PRIMARY KEY (object_id, index_id));
CREATE TABLE IF NOT EXISTS {d}."ferry.index_columns" (
    object_id int NOT NULL, index_id int NOT NULL, index_column_id int NOT NULL,
    column_id int NOT NULL, key_ordinal tinyint NOT NULL, partition_ordinal tinyint NOT NULL,
    is_descending_key bit NOT NULL, is_included_column bit NOT NULL);
CREATE TABLE IF NOT EXISTS {d}."ferry.constraints" (
    object_id int PRIMARY KEY, unique_index_id int, is_system_named bit NOT NULL,
    is_enforced bit NOT NULL, definition nvarchar(-1), parent_column_id int NOT NULL,
    is_disabled bit NOT NULL, is_not_trusted bit NOT NULL, is_not_for_replication bit NOT NULL,
    uses_database_collation bit, referenced_object_id int, key_index_id int,
    delete_referential_action tinyint, delete_referential_action_desc nvarchar(60),
    update_referential_action tinyint, update_referential_action_desc nvarchar(60));
CREATE TABLE IF NOT EXISTS {d}."ferry.foreign_key_columns" (
    constraint_object_id int NOT NULL, constraint_column_id int NOT NULL,
    parent_object_id int NOT NULL, parent_column_id int NOT NULL,
    referenced_object_id int NOT NULL, referenced_column_id int NOT NULL);
CREATE TABLE IF NOT EXISTS {d}."ferry.schemas" (
    name nvarchar(128) NOT NULL, schema_id int PRIMARY KEY, principal_id int);
CREATE TABLE IF NOT EXISTS {d}."ferry.types" (
    name nvarchar(128) NOT NULL, system_type_id tinyint NOT NULL, user_type_id int PRIMARY KEY,
    schema_id int NOT NULL, principal_id int, max_length smallint NOT NULL,
    precision tinyint NOT NULL, scale tinyint NOT NULL, collation_name nvarchar(128),
    is_nullable bit, is_user_defined bit NOT NULL, is_assembly_type bit NOT NULL,
    default_object_id int NOT NULL, rule_object_id int NOT NULL, is_table_type bit NOT NULL);
CREATE TABLE IF NOT EXISTS {d}."ferry.partition_stats" (
    partition_id bigint NOT NULL, object_id int NOT NULL, index_id int NOT NULL,
    partition_number int NOT NULL, hobt_id bigint NOT NULL, rows bigint, row_count bigint NOT NULL,
    data_compression tinyint NOT NULL, data_compression_desc nvarchar(60) NOT NULL,
    in_row_data_page_count bigint NOT NULL, in_row_used_page_count bigint NOT NULL,
    in_row_reserved_page_count bigint NOT NULL, lob_used_page_count bigint NOT NULL,
    lob_reserved_page_count bigint NOT NULL, row_overflow_used_page_count bigint NOT NULL,
    row_overflow_reserved_page_count bigint NOT NULL, used_page_count bigint NOT NULL,
    reserved_page_count bigint NOT NULL, allocation_unit_id bigint NOT NULL,
    au_type tinyint NOT NULL, au_type_desc nvarchar(60) NOT NULL, data_space_id int NOT NULL);
"#;

/// The columns every view derived from sys.objects begins with ("sys.objects": columns
/// inherited by sys.tables, sys.views, sys.procedures, sys.key_constraints, …).
const OBJECT_COLUMNS: &str = "o.name, o.object_id, o.principal_id, o.schema_id, o.parent_object_id, o.type, o.type_desc, o.create_date, o.modify_date, o.is_ms_shipped, o.is_published, o.is_schema_published";

/// Only tables SQLite still has count: a table dropped outside the emulator's statements
/// leaves no object behind.
const LIVE: &str = "(o.type <> 'U' OR EXISTS (SELECT 1 FROM sqlite_master m WHERE m.type = 'table' AND m.name = o.sqlite_name))";

/// The views, re-created at every attach (their text names no database, so a restore under
/// another name keeps working; INFORMATION_SCHEMA's TABLE_CATALOG is the name it is attached
/// under).
pub(super) fn views(d: &str, db: &str) -> String {
    let catalog = super::shared::lit(db);
    let oc = OBJECT_COLUMNS;
    let view = |name: &str, body: String| {
        format!(r#"DROP VIEW IF EXISTS {d}."sys.{name}"; CREATE VIEW {d}."sys.{name}" AS {body};"#)
    };
    let objects_of =
        |types: &str| format!(r#"SELECT {oc} FROM "ferry.objects" o WHERE o.type IN ({types})"#);
    // sys.key_constraints, sys.foreign_keys, sys.check_constraints and sys.default_constraints:
    // sys.objects' columns, then the kind's own from "ferry.constraints".
    let constraints_of = |types: &str, own: &str| {
        format!(
            r#"SELECT {oc}, {own} FROM "ferry.objects" o JOIN "ferry.constraints" c ON c.object_id = o.object_id WHERE o.type IN ({types})"#
        )
    };
    [
        view("objects", format!(r#"SELECT {oc} FROM "ferry.objects" o WHERE {LIVE}"#)),
        view(
            "tables",
            format!(
                r#"SELECT {oc}, t.is_memory_optimized, t.durability, t.durability_desc, t.temporal_type, t.temporal_type_desc, t.is_filetable FROM "ferry.objects" o JOIN "ferry.tables" t ON t.object_id = o.object_id WHERE o.type = 'U' AND {LIVE}"#
            ),
        ),
        view("views", objects_of("'V'")),
        view("procedures", objects_of("'P'")),
        view(
            "sql_modules",
            r#"SELECT object_id, definition, uses_ansi_nulls, uses_quoted_identifier, is_schema_bound, uses_database_collation, is_recompiled, null_on_null_input, execute_as_principal_id, uses_native_compilation FROM "ferry.modules""#.into(),
        ),
        view(
            "triggers",
            r#"SELECT o.name, o.object_id, m.parent_class, m.parent_class_desc, m.parent_id, o.type, o.type_desc, o.create_date, o.modify_date, o.is_ms_shipped, m.is_disabled, m.is_not_for_replication, m.is_instead_of_trigger FROM "ferry.objects" o JOIN "ferry.modules" m ON m.object_id = o.object_id WHERE o.type = 'TR'"#.into(),
        ),
        view(
            "columns",
            r#"SELECT object_id, name, column_id, system_type_id, user_type_id, max_length, precision, scale, collation_name, is_nullable, is_identity, is_computed, default_object_id FROM "ferry.columns""#.into(),
        ),
        view(
            "indexes",
            r#"SELECT object_id, name, index_id, type, type_desc, is_unique, data_space_id, ignore_dup_key, is_primary_key, is_unique_constraint, fill_factor, is_padded, is_disabled, is_hypothetical, allow_row_locks, allow_page_locks, has_filter, filter_definition FROM "ferry.indexes""#.into(),
        ),
        view(
            "index_columns",
            r#"SELECT object_id, index_id, index_column_id, column_id, key_ordinal, partition_ordinal, is_descending_key, is_included_column FROM "ferry.index_columns""#.into(),
        ),
        view(
            "key_constraints",
            constraints_of(
                "'PK', 'UQ'",
                "c.unique_index_id, c.is_system_named, c.is_enforced",
            ),
        ),
        view(
            "foreign_keys",
            constraints_of(
                "'F'",
                "c.referenced_object_id, c.key_index_id, c.is_disabled, c.is_not_for_replication, c.is_not_trusted, c.delete_referential_action, c.delete_referential_action_desc, c.update_referential_action, c.update_referential_action_desc, c.is_system_named",
            ),
        ),
        view(
            "foreign_key_columns",
            r#"SELECT constraint_object_id, constraint_column_id, parent_object_id, parent_column_id, referenced_object_id, referenced_column_id FROM "ferry.foreign_key_columns""#.into(),
        ),
        view(
            "check_constraints",
            constraints_of(
                "'C'",
                "c.is_disabled, c.is_not_for_replication, c.is_not_trusted, c.parent_column_id, c.definition, c.uses_database_collation, c.is_system_named",
            ),
        ),
        view(
            "default_constraints",
            constraints_of(
                "'D'",
                "c.parent_column_id, c.definition, c.is_system_named",
            ),
        ),
        view(
            "partitions",
            r#"SELECT partition_id, object_id, index_id, partition_number, hobt_id, rows, data_compression, data_compression_desc FROM "ferry.partition_stats""#.into(),
        ),
        view(
            "dm_db_partition_stats",
            r#"SELECT partition_id, object_id, index_id, partition_number, in_row_data_page_count, in_row_used_page_count, in_row_reserved_page_count, lob_used_page_count, lob_reserved_page_count, row_overflow_used_page_count, row_overflow_reserved_page_count, used_page_count, reserved_page_count, row_count FROM "ferry.partition_stats""#.into(),
        ),
        view(
            "allocation_units",
            r#"SELECT allocation_unit_id, au_type AS type, au_type_desc AS type_desc, hobt_id AS container_id, data_space_id, reserved_page_count AS total_pages, used_page_count AS used_pages, in_row_data_page_count AS data_pages FROM "ferry.partition_stats""#.into(),
        ),
        view(
            "schemas",
            r#"SELECT name, schema_id, principal_id FROM "ferry.schemas""#.into(),
        ),
        view(
            "types",
            r#"SELECT name, system_type_id, user_type_id, schema_id, principal_id, max_length, precision, scale, collation_name, is_nullable, is_user_defined, is_assembly_type, default_object_id, rule_object_id, is_table_type FROM "ferry.types""#.into(),
        ),
        // sys.filetables (instance/filetables.rs) with the ids sys.tables gives.
        format!(
            r#"DROP VIEW IF EXISTS {d}."sys.filetables"; CREATE VIEW {d}."sys.filetables" AS SELECT o.object_id AS object_id, 1 AS is_enabled, f.directory_name AS directory_name, f.collation AS filename_collation_name FROM "ferry.filetables" AS f JOIN "ferry.objects" AS o ON o.type = 'U' AND o.sqlite_name = f.table_name;"#
        ),
        // "INFORMATION_SCHEMA.TABLES" and "INFORMATION_SCHEMA.COLUMNS" (a subset of their
        // columns): tables and views; columns of tables.
        format!(
            r#"DROP VIEW IF EXISTS {d}."INFORMATION_SCHEMA.TABLES"; CREATE VIEW {d}."INFORMATION_SCHEMA.TABLES" AS SELECT {catalog} AS TABLE_CATALOG, s.name AS TABLE_SCHEMA, o.name AS TABLE_NAME, CASE o.type WHEN 'U' THEN 'BASE TABLE' ELSE 'VIEW' END AS TABLE_TYPE FROM "ferry.objects" o JOIN "ferry.schemas" s ON s.schema_id = o.schema_id WHERE o.type IN ('U', 'V') AND {LIVE};"#
        ),
        format!(
            r#"DROP VIEW IF EXISTS {d}."INFORMATION_SCHEMA.COLUMNS"; CREATE VIEW {d}."INFORMATION_SCHEMA.COLUMNS" AS SELECT {catalog} AS TABLE_CATALOG, s.name AS TABLE_SCHEMA, o.name AS TABLE_NAME, c.name AS COLUMN_NAME, c.column_id AS ORDINAL_POSITION, dc.definition AS COLUMN_DEFAULT, CASE c.is_nullable WHEN 1 THEN 'YES' ELSE 'NO' END AS IS_NULLABLE, ty.name AS DATA_TYPE, CASE WHEN c.system_type_id IN (167, 175, 165, 173) THEN c.max_length WHEN c.system_type_id IN (231, 239) THEN CASE c.max_length WHEN -1 THEN -1 ELSE c.max_length / 2 END END AS CHARACTER_MAXIMUM_LENGTH, CASE WHEN c.system_type_id IN (48, 52, 56, 127, 106, 108, 59, 62, 60, 122) THEN c.precision END AS NUMERIC_PRECISION, CASE WHEN c.system_type_id IN (48, 52, 56, 127, 106, 108, 60, 122) THEN c.scale END AS NUMERIC_SCALE, c.collation_name AS COLLATION_NAME FROM "ferry.columns" c JOIN "ferry.objects" o ON o.object_id = c.object_id JOIN "ferry.schemas" s ON s.schema_id = o.schema_id JOIN "ferry.types" ty ON ty.user_type_id = c.user_type_id LEFT JOIN "ferry.constraints" dc ON dc.object_id = c.default_object_id WHERE {LIVE};"#
        ),
    ]
    .concat()
}
