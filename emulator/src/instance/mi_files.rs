//! What Managed Instance refuses in ALTER DATABASE … ADD: FILESTREAM ("T-SQL differences
//! between SQL Server and Azure SQL Managed Instance": FILESTREAM and FileTable aren't
//! supported) and a second log file (same page: multiple log files aren't supported).

use super::Instance;
use super::query::q;
use crate::protocol::tokens::ServerMessage;
use crate::statement::{FileChange, FilegroupKind};

impl Instance {
    /// Refuses on Managed Instance what it does not support. A FILESTREAM filegroup gets SQL
    /// Server's error 5591 (severity 16), "FILESTREAM feature is disabled.": MI has no FILESTREAM
    /// access level to turn on (SERVERPROPERTY('FilestreamEffectiveLevel') is 0). The page gives
    /// no error for a second log file; the emulator answers with SQL Server's 5008 for an ALTER
    /// DATABASE statement that is not supported, as it does for the recovery model.
    pub fn refuse_on_managed_instance(
        &self,
        db: &str,
        change: &FileChange,
    ) -> Result<(), ServerMessage> {
        match change {
            FileChange::Filegroup {
                kind: FilegroupKind::Filestream,
                ..
            } => Err(ServerMessage::error(
                5591,
                16,
                "FILESTREAM feature is disabled.",
            )),
            FileChange::File { log: true, .. } if self.log_files(db) >= 1 => {
                Err(ServerMessage::error(
                    5008,
                    16,
                    "This ALTER DATABASE statement is not supported. Correct the syntax and execute the statement again.",
                ))
            }
            _ => Ok(()),
        }
    }

    fn log_files(&self, db: &str) -> i64 {
        let Some(name) = self.database(db).map(|d| d.name.clone()) else {
            return 0;
        };
        let sql = format!(
            r#"SELECT COUNT(*) FROM {}."sys.database_files" WHERE type = 1"#,
            q(&name)
        );
        self.conn.query_row(&sql, [], |r| r.get(0)).unwrap_or(0)
    }
}
