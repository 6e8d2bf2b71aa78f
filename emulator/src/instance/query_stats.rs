//! `sys.dm_exec_query_stats` and `sys.dm_exec_sql_text` as the workload generator fills them.

use sha2::{Digest, Sha256};

use super::Instance;
use super::query::sqlite_error;
use super::query_store_record::time_text;
use super::query_workload::WorkloadQuery;

impl Instance {
    /// `sys.dm_exec_query_stats`: one row per plan, totals since it was cached. The handles
    /// have SQL Server's shape (0x02… for a batch's text, 0x06… for an ad hoc plan), not its
    /// bytes.
    pub(super) fn add_query_stats(
        &mut self,
        db: &super::DatabaseInfo,
        query: &WorkloadQuery,
        (qh, ph): ([u8; 8], [u8; 8]),
        (start, end): (i64, i64),
    ) -> Result<(), crate::protocol::tokens::ServerMessage> {
        let utf16: Vec<u8> = query
            .text
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        let digest = Sha256::digest(&utf16);
        let mut plan_handle = vec![0x06, 0, (db.id & 0xFF) as u8, 0];
        plan_handle.extend_from_slice(&Sha256::digest([&digest[..], &ph[..]].concat())[..20]);
        plan_handle.extend_from_slice(&[0u8; 20]);
        // The batch's text, once per database ("sys.dm_exec_sql_text": dbid, and NULL objectid
        // and number for an ad hoc batch).
        let found = self.conn.query_row(
            r#"SELECT rowid FROM temp."sys.dm_exec_sql_text" WHERE dbid = ?1 AND text = ?2"#,
            rusqlite::params![db.id, query.text],
            |r| r.get::<_, i64>(0),
        );
        let row = match found {
            Ok(row) => row,
            Err(_) => {
                self.conn
                    .execute(
                        r#"INSERT INTO temp."sys.dm_exec_sql_text" VALUES (?1, NULL, NULL, 0, ?2)"#,
                        rusqlite::params![db.id, query.text],
                    )
                    .map_err(sqlite_error)?;
                self.conn.last_insert_rowid()
            }
        };
        let sql_handle = super::resource_model::sql_handle(row, &digest);
        let n = query.executions;
        let exists: bool = self
            .conn
            .query_row(
                r#"SELECT COUNT(*) FROM temp."sys.dm_exec_query_stats" WHERE plan_handle = ?1"#,
                [&plan_handle],
                |r| r.get::<_, i64>(0),
            )
            .map_err(sqlite_error)?
            > 0;
        let metrics = [
            ("worker_time", query.cpu_us),
            ("physical_reads", query.physical_reads),
            ("logical_writes", query.logical_writes),
            ("logical_reads", query.logical_reads),
            ("elapsed_time", query.duration_us),
            ("rows", query.rowcount),
        ];
        if !exists {
            let zeros = vec!["0"; metrics.len() * 4].join(", ");
            let sql = format!(
                r#"INSERT INTO temp."sys.dm_exec_query_stats" (sql_handle, statement_start_offset, statement_end_offset, plan_generation_num, plan_handle, creation_time, last_execution_time, execution_count, query_hash, query_plan_hash, {cols}) VALUES (?1, 0, -1, 1, ?2, ?3, ?3, 0, ?4, ?5, {zeros})"#,
                cols = metrics
                    .iter()
                    .flat_map(|(m, _)| ["total", "last", "min", "max"].map(|k| format!("{k}_{m}")))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            self.conn
                .execute(
                    &sql,
                    rusqlite::params![
                        sql_handle,
                        plan_handle,
                        time_text(start),
                        qh.to_vec(),
                        ph.to_vec()
                    ],
                )
                .map_err(sqlite_error)?;
            self.add_plan_attributes(db.id, &plan_handle, &sql_handle)?;
        }
        for (m, v) in metrics {
            let (min, max) = if exists {
                (format!("MIN(min_{m}, ?2)"), format!("MAX(max_{m}, ?2)"))
            } else {
                ("?2".into(), "?2".into())
            };
            self.conn
                .execute(
                    &format!(r#"UPDATE temp."sys.dm_exec_query_stats" SET total_{m} = total_{m} + ?1, last_{m} = ?2, min_{m} = {min}, max_{m} = {max} WHERE plan_handle = ?3"#),
                    rusqlite::params![n.saturating_mul(v), v, plan_handle],
                )
                .map_err(sqlite_error)?;
        }
        self.conn
            .execute(
                r#"UPDATE temp."sys.dm_exec_query_stats" SET execution_count = execution_count + ?1, last_execution_time = MAX(last_execution_time, ?2) WHERE plan_handle = ?3"#,
                rusqlite::params![n, time_text(end), plan_handle],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }
}
