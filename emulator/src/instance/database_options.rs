//! What ALTER DATABASE sets beyond files, kept in the database's own file (so a backup carries
//! it): the recovery model as Managed Instance allows it, accelerated database recovery's
//! version store, memory-optimized tables; and renaming a database (an MI restore finishes
//! under a temporary name, then takes its own).

use super::query::{q, sqlite_error};
use super::{Instance, Recovery};
use crate::protocol::tokens::ServerMessage;

/// SQL Server error 5011 (severity 14), for ALTER DATABASE of a database there is not.
pub(super) fn no_database(name: &str) -> ServerMessage {
    ServerMessage::error(
        5011,
        14,
        format!(
            "User does not have permission to alter database '{name}', the database does not exist, or the database is not in a state that allows access checks."
        ),
    )
}

impl Instance {
    /// ALTER DATABASE … SET RECOVERY, by a user. On Managed Instance the recovery model is
    /// FULL and cannot be changed ("T-SQL differences between SQL Server and Azure SQL Managed
    /// Instance", ALTER DATABASE: RECOVERY SIMPLE and BULK_LOGGED "can't be modified"). The
    /// page gives no error number; the emulator answers with SQL Server's 5008 for an ALTER
    /// DATABASE statement that is not supported.
    pub fn set_recovery_by_user(
        &mut self,
        name: &str,
        recovery: Recovery,
        mi: bool,
    ) -> Result<(), ServerMessage> {
        if mi && recovery != Recovery::Full {
            if self.database(name).is_none() {
                return Err(no_database(name));
            }
            return Err(ServerMessage::error(
                5008,
                16,
                "This ALTER DATABASE statement is not supported. Correct the syntax and execute the statement again.",
            ));
        }
        self.set_recovery(name, recovery)
    }

    /// A setting kept in a database's file.
    pub(super) fn setting(&self, db: &str, name: &str) -> Option<String> {
        let sql = format!(
            r#"SELECT value FROM {}."ferry.settings" WHERE name = ?1"#,
            q(db)
        );
        self.conn.query_row(&sql, [name], |r| r.get(0)).ok()
    }

    pub(super) fn set_setting(
        &self,
        db: &str,
        name: &str,
        value: Option<&str>,
    ) -> Result<(), ServerMessage> {
        let sql = format!(
            r#"INSERT OR REPLACE INTO {}."ferry.settings" VALUES (?1, ?2)"#,
            q(db)
        );
        self.conn
            .execute(&sql, rusqlite::params![name, value])
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// ALTER DATABASE … SET ACCELERATED_DATABASE_RECOVERY = ON [(PERSISTENT_VERSION_STORE_FILEGROUP
    /// = fg)] ("Manage accelerated database recovery"): the version store's filegroup, PRIMARY
    /// unless named. SQL Server error 5014 for a filegroup the database does not have.
    pub fn set_accelerated_recovery(
        &mut self,
        db: &str,
        on: bool,
        filegroup: Option<&str>,
    ) -> Result<(), ServerMessage> {
        let Some(name) = self.database(db).map(|d| d.name.clone()) else {
            return Err(no_database(db));
        };
        if let Some(fg) = filegroup {
            let sql = format!(
                r#"SELECT COUNT(*) FROM {}."sys.filegroups" WHERE name = ?1 COLLATE NOCASE"#,
                q(&name)
            );
            let n: i64 = self
                .conn
                .query_row(&sql, [fg], |r| r.get(0))
                .map_err(sqlite_error)?;
            if n == 0 {
                return Err(ServerMessage::error(
                    5014,
                    16,
                    format!("The filegroup '{fg}' does not exist in database '{name}'."),
                ));
            }
        }
        let pvs = on.then(|| filegroup.unwrap_or("PRIMARY"));
        self.set_setting(&name, "pvs_filegroup", pvs)
    }

    /// ALTER DATABASE … SET CONTAINMENT = PARTIAL | NONE ("ALTER DATABASE SET options",
    /// CONTAINMENT), kept in the database's file and shown by `sys.databases.containment`. SQL
    /// Server also requires the server option `contained database authentication` (error
    /// 12824 without it); the emulator has no sp_configure and does not check it.
    pub fn set_containment(&mut self, db: &str, partial: bool) -> Result<(), ServerMessage> {
        let Some(name) = self.database(db).map(|d| d.name.clone()) else {
            return Err(no_database(db));
        };
        self.set_setting(&name, "containment", partial.then_some("PARTIAL"))
    }

    /// The filegroup of a database's persistent version store, when ADR is on.
    pub fn version_store_filegroup(&self, db: &str) -> Option<String> {
        self.setting(db, "pvs_filegroup")
    }

    /// Records a memory-optimized table (CREATE TABLE … WITH (MEMORY_OPTIMIZED = ON)).
    pub(crate) fn note_memory_optimized(
        &mut self,
        db: &str,
        table: &str,
    ) -> Result<(), ServerMessage> {
        let sql = format!(
            r#"INSERT OR REPLACE INTO {}."ferry.memory_optimized" VALUES (?1)"#,
            q(db)
        );
        self.conn.execute(&sql, [table]).map_err(sqlite_error)?;
        Ok(())
    }

    /// Whether a database has a MEMORY_OPTIMIZED_DATA filegroup with a container.
    pub fn has_memory_optimized_container(&self, db: &str) -> bool {
        let sql = format!(
            r#"SELECT COUNT(*) FROM {d}."sys.database_files" f JOIN {d}."sys.filegroups" g ON g.data_space_id = f.data_space_id WHERE g.type = 'FX' AND f.type = 2"#,
            d = q(db)
        );
        self.conn
            .query_row(&sql, [], |r| r.get::<_, i64>(0))
            .is_ok_and(|n| n > 0)
    }

    /// How many memory-optimized tables a database has.
    pub fn memory_optimized_tables(&self, db: &str) -> i64 {
        let sql = format!(
            r#"SELECT COUNT(*) FROM {d}."ferry.memory_optimized" m JOIN {d}.sqlite_master s ON s.name = m.name COLLATE NOCASE"#,
            d = q(db)
        );
        self.conn.query_row(&sql, [], |r| r.get(0)).unwrap_or(0)
    }

    /// Renames a database: its file is attached again under the new name.
    pub(crate) fn rename_database(&mut self, from: &str, to: &str) -> Result<(), ServerMessage> {
        let Some(info) = self.database(from).cloned() else {
            return Err(no_database(from));
        };
        self.conn
            .execute("DETACH DATABASE ?1", [&info.name])
            .map_err(sqlite_error)?;
        self.attach_storage(to, info.file.as_deref(), info.system)?;
        self.conn
            .execute(
                r#"UPDATE "sys.databases" SET name = ?2 WHERE name = ?1"#,
                [&info.name, to],
            )
            .map_err(sqlite_error)?;
        self.forget_database(&info.name)?;
        self.databases.remove(&info.name.to_ascii_lowercase());
        let mut renamed = info;
        renamed.name = to.to_owned();
        self.save_database(&renamed)?;
        self.names.write().insert(renamed.id, renamed.name.clone());
        self.databases.insert(to.to_ascii_lowercase(), renamed);
        Ok(())
    }
}
