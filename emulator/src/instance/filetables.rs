//! FileTables, per database: `CREATE TABLE … AS FILETABLE` ("Create, alter, and drop
//! FileTables", "CREATE TABLE (Transact-SQL)": AS FILETABLE) and `sys.filetables`
//! ("sys.filetables (Transact-SQL)"). The table is a user table like any other (sys.tables
//! lists it) with FileTable's fixed schema ("FileTable schema"); which tables are FileTables,
//! and their directories, are kept in the database's own file.

use super::Instance;
use super::query::{q, sqlite_error};
use crate::protocol::tokens::ServerMessage;

/// What the database keeps, and `sys.filetables` over it: object_id (the table's, as
/// sys.tables gives it), is_enabled ("1 = FileTable is in enabled state"; a new one is),
/// directory_name and filename_collation_name, a subset of the documented columns.
pub(super) fn schema(db: &str) -> String {
    format!(
        r#"CREATE TABLE IF NOT EXISTS {d}."ferry.filetables" (table_name TEXT PRIMARY KEY, directory_name TEXT, collation TEXT);
           CREATE VIEW IF NOT EXISTS {d}."sys.filetables" AS SELECT m.rowid AS object_id, 1 AS is_enabled, f.directory_name AS directory_name, f.collation AS filename_collation_name FROM "ferry.filetables" AS f JOIN sqlite_master AS m ON m.type = 'table' AND m.name = f.table_name;"#,
        d = q(db)
    )
}

/// FileTable's fixed columns ("FileTable schema"). path_locator and parent_path_locator are
/// hierarchyid and the times datetimeoffset(7) in SQL Server; the emulator has neither type
/// and keeps them as varbinary(892) (hierarchyid's largest size) and datetime2.
const COLUMNS: &str = "stream_id uniqueidentifier NOT NULL, file_stream varbinary(-1), name nvarchar(255) NOT NULL, path_locator varbinary(892) NOT NULL PRIMARY KEY, parent_path_locator varbinary(892), file_type nvarchar(255), cached_file_size bigint, creation_time datetime2 NOT NULL, last_write_time datetime2 NOT NULL, last_access_time datetime2, is_directory bit NOT NULL, is_offline bit NOT NULL, is_hidden bit NOT NULL, is_readonly bit NOT NULL, is_archive bit NOT NULL, is_system bit NOT NULL, is_temporary bit NOT NULL";

impl Instance {
    /// CREATE TABLE schema.name AS FILETABLE [WITH (FILETABLE_DIRECTORY = …,
    /// FILETABLE_COLLATE_FILENAME = …)]. A FileTable lives in the database's FILESTREAM
    /// filegroup: without one SQL Server refuses with error 1969 (severity 16), as for any
    /// FILESTREAM data. "If you don't provide a directory name, the name of the FileTable is
    /// used"; the file names' collation defaults to the database's.
    pub fn create_filetable(
        &mut self,
        db: &str,
        schema: &str,
        name: &str,
        directory: Option<&str>,
        collation: Option<&str>,
    ) -> Result<(), ServerMessage> {
        let db = self.database_in_use(db)?;
        let has_filestream = format!(
            r#"SELECT 1 FROM {}."sys.filegroups" WHERE type = 'FD'"#,
            q(&db)
        );
        if self
            .conn
            .query_row(&has_filestream, [], |_| Ok(()))
            .is_err()
        {
            return Err(ServerMessage::error(
                1969,
                16,
                format!("Default FILESTREAM filegroup is not available in database '{db}'."),
            ));
        }
        let table = format!("{schema}.{name}");
        if self.table_exists(&db, &table) {
            return Err(super::assemblies::taken(name));
        }
        let collation = match collation {
            None => "SQL_Latin1_General_CP1_CI_AS".to_owned(),
            Some(c) if c.eq_ignore_ascii_case("database_default") => {
                "SQL_Latin1_General_CP1_CI_AS".to_owned()
            }
            Some(c) => c.to_owned(),
        };
        let sql = format!(
            r#"CREATE TABLE {}.{} ({COLUMNS}); INSERT OR REPLACE INTO {}."ferry.filetables" VALUES ({}, {}, {})"#,
            q(&db),
            q(&table),
            q(&db),
            lit(&table),
            lit(directory.unwrap_or(name)),
            lit(&collation)
        );
        self.conn.execute_batch(&sql).map_err(sqlite_error)?;
        // sys.tables and sys.objects list it (schema_objects).
        self.record_new_tables(&db)
    }
}

/// A SQLite string literal.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
