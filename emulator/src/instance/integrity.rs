//! What DBCC CHECKDB reads, and the two control hooks tests use to make a side differ: tables
//! marked corrupt (CHECKDB then reports 8939/8928 on them) and rows changed behind the
//! server's back (`tamper`: no change log entry, so no backup, restore or link replica sees
//! it). Corruption marks live in the catalog, so they survive a restart like the data does.

use super::Instance;
use super::query::{q, sqlite_error};
use crate::protocol::tokens::ServerMessage;

const FAULTS: &str = "ferry.checkdb_faults";

/// A user table as CHECKDB reports it.
pub struct CheckedTable {
    /// `schema.table` as the SQLite table is named.
    pub name: String,
    pub object_id: i64,
    pub rows: i64,
    pub corrupt: bool,
}

/// A change made by the tamper hook.
pub enum Tamper {
    /// `UPDATE … SET <set> [WHERE <where>]`
    Update { set: String, filter: Option<String> },
    /// `DELETE … WHERE <where>`
    Delete(String),
    /// `INSERT INTO … <values>` (e.g. `VALUES (1, 'x')`)
    Insert(String),
}

fn not_found(db: &str, table: &str) -> ServerMessage {
    // SQL Server error 208 (class 16), naming the object.
    ServerMessage::error(208, 16, format!("Invalid object name '{db}.{table}'."))
}

impl Instance {
    fn ensure_faults(&self) -> Result<(), ServerMessage> {
        self.conn
            .execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS main.{} (db TEXT NOT NULL, tbl TEXT NOT NULL, PRIMARY KEY (db, tbl))",
                q(FAULTS)
            ))
            .map_err(sqlite_error)
    }

    /// The SQLite name of user table `schema.table` in `db`, when it exists.
    fn user_table(
        &self,
        db: &str,
        schema: &str,
        table: &str,
    ) -> Result<(String, String), ServerMessage> {
        let info = self.database(db).ok_or_else(|| not_found(db, table))?;
        let name = format!("{schema}.{table}");
        if !self.table_exists(&info.name, &name) {
            return Err(not_found(db, &name));
        }
        Ok((info.name.clone(), name))
    }

    /// Marks a table corrupt for CHECKDB (or clears the mark).
    pub fn set_table_corrupt(
        &mut self,
        db: &str,
        schema: &str,
        table: &str,
        corrupt: bool,
    ) -> Result<(), ServerMessage> {
        let (db, name) = self.user_table(db, schema, table)?;
        self.ensure_faults()?;
        let sql = if corrupt {
            format!(
                "INSERT OR IGNORE INTO main.{} (db, tbl) VALUES (?1, ?2)",
                q(FAULTS)
            )
        } else {
            format!(
                "DELETE FROM main.{} WHERE db = ?1 AND tbl = ?2 COLLATE NOCASE",
                q(FAULTS)
            )
        };
        self.conn
            .execute(&sql, [db.to_ascii_lowercase(), name.to_ascii_lowercase()])
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// The user tables of `db` in name order, with their row counts and corruption marks.
    pub fn checked_tables(&self, db: &str) -> Result<Vec<CheckedTable>, ServerMessage> {
        self.ensure_faults()?;
        let sql = format!(
            "SELECT rowid, name FROM {}.sqlite_master WHERE type = 'table' AND name NOT LIKE 'ferry.%' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'sys.%' ORDER BY name",
            q(db)
        );
        let mut stmt = self.conn.prepare(&sql).map_err(sqlite_error)?;
        let tables: Vec<(i64, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(sqlite_error)?
            .filter_map(Result::ok)
            .collect();
        let marked = format!(
            "SELECT 1 FROM main.{} WHERE db = ?1 AND tbl = ?2",
            q(FAULTS)
        );
        tables
            .into_iter()
            .map(|(rowid, name)| {
                // The id sys.objects and OBJECT_ID show for it.
                let quoted = name
                    .split_once('.')
                    .map(|(s, t)| format!("[{s}].[{t}]"))
                    .unwrap_or_else(|| name.clone());
                let object_id = self.object_id(db, &quoted, None).unwrap_or(rowid);
                let rows = self
                    .conn
                    .query_row(
                        &format!("SELECT COUNT(*) FROM {}.{}", q(db), q(&name)),
                        [],
                        |r| r.get(0),
                    )
                    .map_err(sqlite_error)?;
                let corrupt = self
                    .conn
                    .query_row(
                        &marked,
                        [db.to_ascii_lowercase(), name.to_ascii_lowercase()],
                        |_| Ok(()),
                    )
                    .is_ok();
                Ok(CheckedTable {
                    name,
                    object_id,
                    rows,
                    corrupt,
                })
            })
            .collect()
    }

    /// Changes rows of one table on this server only: straight on the SQLite table, so the
    /// change log (backups, restores, link replicas) never hears of it. Returns rows changed.
    pub fn tamper(
        &mut self,
        db: &str,
        schema: &str,
        table: &str,
        change: &Tamper,
    ) -> Result<u64, ServerMessage> {
        let (db, name) = self.user_table(db, schema, table)?;
        let target = format!("{}.{}", q(&db), q(&name));
        let sql = match change {
            Tamper::Update { set, filter } => match filter {
                Some(w) => format!("UPDATE {target} SET {set} WHERE {w}"),
                None => format!("UPDATE {target} SET {set}"),
            },
            Tamper::Delete(w) => format!("DELETE FROM {target} WHERE {w}"),
            Tamper::Insert(values) => format!("INSERT INTO {target} {values}"),
        };
        let n = self.conn.execute(&sql, []).map_err(sqlite_error)?;
        Ok(n as u64)
    }
}
