//! The instance's databases: attaching one, CREATE, DROP and ALTER DATABASE, and what
//! statements ask about their tables.

use std::path::{Path, PathBuf};

use super::change_log::CHANGE_LOG;
use super::query::sqlite_error;
use super::state::ATTACH_LIMIT;
use super::{DatabaseInfo, Instance, Recovery};
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types;
use crate::statement::FileChange;

impl Instance {
    pub fn database(&self, name: &str) -> Option<&DatabaseInfo> {
        self.databases.get(&name.to_ascii_lowercase())
    }

    pub fn databases(&self) -> impl Iterator<Item = &DatabaseInfo> {
        self.databases.values()
    }

    /// Attaches a new database and records it: in `sys.databases`, in the emulator's own
    /// table, and in memory.
    pub(super) fn attach(
        &mut self,
        name: &str,
        file: Option<PathBuf>,
        recovery: Recovery,
        system: bool,
    ) -> Result<(), ServerMessage> {
        if self.databases.len() as i32 >= ATTACH_LIMIT {
            return Err(ServerMessage::error(
                50000,
                16,
                format!("ferry-emulator holds at most {ATTACH_LIMIT} databases per instance"),
            ));
        }
        self.attach_storage(name, file.as_deref(), system)?;
        let id = self.next_id;
        self.next_id += 1;
        let now = types::datetime_text(types::days_from_civil(2026, 1, 1).unwrap_or(0), 0);
        self.conn
            .execute(
                r#"INSERT INTO "sys.databases" (name, database_id, create_date, compatibility_level, collation_name, user_access_desc, state, state_desc, recovery_model, recovery_model_desc, is_read_only, is_encrypted, containment, containment_desc, is_accelerated_database_recovery_on) VALUES (?1, ?2, ?3, ?4, 'SQL_Latin1_General_CP1_CI_AS', 'MULTI_USER', 0, 'ONLINE', ?5, ?6, 0, 0, 0, 'NONE', 0)"#,
                rusqlite::params![name, id, now, self.compatibility_level, recovery as i64, recovery.desc()],
            )
            .map_err(sqlite_error)?;
        let info = DatabaseInfo {
            name: name.to_owned(),
            id,
            recovery,
            file,
            system,
            restoring: false,
            restored_lsn: 0,
            restored_full_guid: None,
            family_guid: super::guid_text(&super::unique_bytes(&format!("family/{name}"), 16)),
            log_chain: false,
        };
        self.save_database(&info)?;
        self.names.write().insert(info.id, info.name.clone());
        self.databases.insert(name.to_ascii_lowercase(), info);
        Ok(())
    }

    /// Attaches a database's file (or a fresh in-memory database) under its name, with the
    /// per-database views and tables every database has; used again at every start.
    pub(super) fn attach_storage(
        &mut self,
        name: &str,
        file: Option<&Path>,
        system: bool,
    ) -> Result<(), ServerMessage> {
        let path = file.map_or(":memory:".to_owned(), |f| f.display().to_string());
        self.conn
            .execute("ATTACH DATABASE ?1 AS ?2", rusqlite::params![path, name])
            .map_err(sqlite_error)?;
        if system {
            // See catalog.rs: system databases, like the catalog, are not synced write by write.
            let pragma = format!(
                r#"PRAGMA "{}".synchronous = OFF"#,
                name.replace('"', "\"\"")
            );
            self.conn.execute_batch(&pragma).map_err(sqlite_error)?;
        }
        // sys.database_files and sys.filegroups, per database: one data and one log file, as
        // CREATE DATABASE without file options gives; ALTER DATABASE … ADD adds rows. Kept in
        // the database's own file, so a restore brings the source's file layout with it.
        let files = format!(
            r#"CREATE TABLE IF NOT EXISTS "{q}"."sys.database_files" (file_id int, type tinyint, type_desc nvarchar(60), data_space_id int, name nvarchar(128), physical_name nvarchar(260), state_desc nvarchar(60), size int, max_size int, growth int);
               CREATE TABLE IF NOT EXISTS "{q}"."sys.filegroups" (name nvarchar(128), data_space_id int, type char(2), type_desc nvarchar(60));
               INSERT INTO "{q}"."sys.database_files" SELECT 1, 0, 'ROWS', 1, '{l}', '/var/opt/mssql/data/{l}.mdf', 'ONLINE', 1024, -1, 8192 WHERE NOT EXISTS (SELECT 1 FROM "{q}"."sys.database_files");
               INSERT INTO "{q}"."sys.database_files" SELECT 2, 1, 'LOG', 0, '{l}_log', '/var/opt/mssql/data/{l}_log.ldf', 'ONLINE', 1024, 268435456, 8192 WHERE (SELECT COUNT(*) FROM "{q}"."sys.database_files") = 1;
               INSERT INTO "{q}"."sys.filegroups" SELECT 'PRIMARY', 1, 'FG', 'ROWS_FILEGROUP' WHERE NOT EXISTS (SELECT 1 FROM "{q}"."sys.filegroups");
               CREATE TABLE IF NOT EXISTS "{q}"."ferry.settings" (name TEXT PRIMARY KEY, value TEXT);
               CREATE TABLE IF NOT EXISTS "{q}"."ferry.memory_optimized" (name TEXT PRIMARY KEY);"#,
            q = name.replace('"', "\"\""),
            l = name.replace('\'', "''")
        );
        self.conn.execute_batch(&files).map_err(sqlite_error)?;
        // CLR assemblies, Service Broker routes, FileTables (assemblies.rs, routes.rs,
        // filetables.rs).
        let facts = super::assemblies::schema(name, self.compatibility_level)
            + &super::routes::schema(name)
            + &super::filetables::schema(name);
        self.conn.execute_batch(&facts).map_err(sqlite_error)?;
        self.ensure_database_principals(name)?;
        self.ensure_database_roles(name)?;
        // Schema objects and their catalog views (schema_objects).
        self.ensure_object_catalog(name, system)?;
        if !system {
            let log = format!(
                r#"CREATE TABLE IF NOT EXISTS "{q}"."{}" (lsn INTEGER PRIMARY KEY AUTOINCREMENT, sql TEXT NOT NULL)"#,
                CHANGE_LOG,
                q = name.replace('"', "\"\"")
            );
            self.conn.execute_batch(&log).map_err(sqlite_error)?;
        }
        Ok(())
    }

    /// CREATE DATABASE. SQL Server error 1801 if the name is taken.
    pub fn create_database(&mut self, name: &str) -> Result<(), ServerMessage> {
        if self.database(name).is_some() {
            return Err(ServerMessage::error(
                1801,
                16,
                format!("Database '{name}' already exists. Choose a different database name."),
            ));
        }
        let file = self.new_file_path(name);
        self.attach(name, Some(file), Recovery::Full, false)
    }

    /// A fresh file for a database (any stale file of that name removed).
    pub(super) fn new_file_path(&self, name: &str) -> PathBuf {
        let safe: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let file = self.dir.join(format!("{safe}-{}.sqlite", self.next_id));
        let _ = std::fs::remove_file(&file);
        file
    }

    /// DROP DATABASE. SQL Server error 3701 if it does not exist.
    pub fn drop_database(&mut self, name: &str) -> Result<(), ServerMessage> {
        let Some(info) = self.database(name).cloned().filter(|d| !d.system) else {
            return Err(ServerMessage::error(
                3701,
                11,
                format!(
                    "Cannot drop the database '{name}', because it does not exist or you do not have permission."
                ),
            ));
        };
        self.conn
            .execute("DETACH DATABASE ?1", [&info.name])
            .map_err(sqlite_error)?;
        self.conn
            .execute(
                r#"DELETE FROM "sys.databases" WHERE name = ?1"#,
                [&info.name],
            )
            .map_err(sqlite_error)?;
        self.forget_database(&info.name)?;
        if let Some(f) = &info.file {
            let _ = std::fs::remove_file(f);
        }
        self.databases.remove(&name.to_ascii_lowercase());
        self.names.write().remove(&info.id);
        Ok(())
    }

    /// ALTER DATABASE … ADD [LOG] FILE / ADD FILEGROUP … [CONTAINS FILESTREAM].
    pub fn add_file(&mut self, db: &str, change: &FileChange) -> Result<(), ServerMessage> {
        let Some(info) = self.database(db).cloned() else {
            return Err(ServerMessage::error(
                5011,
                14,
                format!(
                    "User does not have permission to alter database '{db}', the database does not exist, or the database is not in a state that allows access checks."
                ),
            ));
        };
        let q = format!("\"{}\"", info.name.replace('"', "\"\""));
        let r = match change {
            FileChange::Filegroup { name, kind } => {
                let (ty, desc) = kind.catalog();
                self.conn.execute(
                    &format!(r#"INSERT INTO {q}."sys.filegroups" SELECT ?1, (SELECT MAX(data_space_id) + 1 FROM {q}."sys.filegroups"), ?2, ?3"#),
                    rusqlite::params![name, ty, desc],
                )
            }
            FileChange::File {
                log,
                name,
                filename,
                filegroup,
                size_pages,
            } => {
                // A file of a FILESTREAM or memory-optimized filegroup is a container:
                // sys.database_files type 2 (FILESTREAM) for both ("sys.database_files").
                let group: Option<(i64, bool)> = match filegroup {
                    Some(fg) => Some(
                        self.conn
                            .query_row(&format!(r#"SELECT data_space_id, type IN ('FD', 'FX') FROM {q}."sys.filegroups" WHERE name = ?1 COLLATE NOCASE"#), [fg], |r| Ok((r.get(0)?, r.get(1)?)))
                            // SQL Server error 5014 (severity 16).
                            .map_err(|_| ServerMessage::error(5014, 16, format!("The filegroup '{fg}' does not exist in database '{}'.", info.name)))?,
                    ),
                    None => None,
                };
                let (space, container) = group.unwrap_or((1, false));
                let (ty, desc, space) = if *log {
                    (1, "LOG", 0)
                } else if container {
                    (2, "FILESTREAM", space)
                } else {
                    (0, "ROWS", space)
                };
                self.conn.execute(
                    &format!(r#"INSERT INTO {q}."sys.database_files" SELECT (SELECT MAX(file_id) + 1 FROM {q}."sys.database_files"), ?1, ?2, ?3, ?4, ?5, 'ONLINE', ?6, -1, 8192"#),
                    rusqlite::params![ty, desc, space, name, filename, size_pages.unwrap_or(1024)],
                )
            }
        };
        r.map_err(sqlite_error)?;
        Ok(())
    }

    /// ALTER DATABASE … SET RECOVERY.
    pub fn set_recovery(&mut self, name: &str, recovery: Recovery) -> Result<(), ServerMessage> {
        let Some(n) = self.database(name).map(|d| d.name.clone()) else {
            return Err(ServerMessage::error(
                5011,
                14,
                format!(
                    "User does not have permission to alter database '{name}', the database does not exist, or the database is not in a state that allows access checks."
                ),
            ));
        };
        // A switch from SIMPLE ends the log chain: the next log backup begins a new one
        // (RESTORE HEADERONLY, BeginsLogChain).
        self.update_database(&n, |info| {
            if info.recovery == Recovery::Simple && recovery != Recovery::Simple {
                info.log_chain = false;
            }
            info.recovery = recovery
        })?;
        self.conn
            .execute(r#"UPDATE "sys.databases" SET recovery_model = ?2, recovery_model_desc = ?3 WHERE name = ?1"#, rusqlite::params![n, recovery as i64, recovery.desc()])
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// Whether a table or view exists.
    pub fn table_exists(&self, schema_db: &str, table: &str) -> bool {
        let sql = format!(
            r#"SELECT 1 FROM "{}".sqlite_master WHERE type IN ('table', 'view') AND name = ?1 COLLATE NOCASE"#,
            schema_db.replace('"', "\"\"")
        );
        self.conn.query_row(&sql, [table], |_| Ok(())).is_ok()
    }

    /// The column names of a table, in order.
    pub fn columns_of(&self, schema_db: &str, table: &str) -> Vec<String> {
        let columns = self.column_decls(schema_db, table);
        columns.into_iter().map(|(name, _)| name).collect()
    }
}
