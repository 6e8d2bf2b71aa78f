//! Rows and pages of each table's partitions ("sys.partitions", "sys.dm_db_partition_stats",
//! "sys.allocation_units"), computed when a statement reads them. Each index has one
//! partition. Rows are exact (COUNT(*)) for every index (a filtered index shows its table's
//! count: a guess on the high side).
//!
//! Pages are an estimate by "Estimate the size of a heap" (SQL Server docs): Row_Size =
//! Fixed_Data_Size + Variable_Data_Size + Null_Bitmap + 4, Null_Bitmap = 2 + (Num_Cols + 7) / 8,
//! Variable_Data_Size = 2 + 2 × Num_Variable_Cols + the variable data, Rows_Per_Page = 8096 /
//! (Row_Size + 2), pages = ⌈rows / Rows_Per_Page⌉ — with the rows' actual average sizes (nvarchar
//! two bytes a character) instead of the declared maximums. used_page_count adds the IAM page;
//! reserved_page_count rounds up to whole 8-page extents (uniform extents, the default since
//! SQL Server 2016). Everything is in-row: no LOB or row-overflow pages (a guess: large max
//! values would move off-row on SQL Server). Nonclustered indexes hold their key and included
//! columns and an 8-byte row locator.

use crate::instance::Instance;
use crate::instance::query::{q, sqlite_error};
use crate::protocol::tokens::ServerMessage;

/// The base of partition, hobt and allocation unit ids (SQL Server's look like
/// 72057594…; docs say only that they are unique in the database).
const ID_BASE: i64 = 72_057_594_037_927_936;

/// A column's kind for the size estimate: fixed bytes, or variable with a byte factor per
/// character (2 for n-types).
#[derive(Clone, Copy)]
enum Size {
    Fixed(i64),
    Variable(i64),
}

fn size_of(system_type_id: i64, max_length: i64) -> Size {
    match system_type_id {
        // varchar, varbinary, text, image, sql_variant, xml, CLR types
        167 | 165 | 35 | 34 | 98 | 241 | 240 => Size::Variable(1),
        231 | 99 => Size::Variable(2),
        _ => Size::Fixed(max_length.max(1)),
    }
}

/// Pages a number of rows of an average size fill.
fn pages(rows: i64, fixed: f64, variable_cols: i64, variable: f64, cols: i64) -> i64 {
    if rows == 0 {
        return 0;
    }
    let var = if variable_cols > 0 {
        2.0 + 2.0 * variable_cols as f64 + variable
    } else {
        0.0
    };
    let row = fixed + var + (2 + (cols + 7) / 8) as f64 + 4.0;
    let per_page = ((8096.0 / (row + 2.0)).floor() as i64).max(1);
    (rows + per_page - 1) / per_page
}

impl Instance {
    /// Recomputes a database's partition rows.
    pub fn refresh_object_stats(&mut self, db: &str) -> Result<(), ServerMessage> {
        let d = q(db);
        let tables: Vec<(i64, String)> = {
            let sql = format!(
                r#"SELECT object_id, sqlite_name FROM {d}."sys.objects" o JOIN {d}."ferry.objects" f USING (object_id) WHERE o.type = 'U'"#
            );
            let mut stmt = self.conn.prepare(&sql).map_err(sqlite_error)?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(sqlite_error)?
                .filter_map(Result::ok)
                .collect()
        };
        let mut rows_sql = vec![format!(r#"DELETE FROM {d}."ferry.partition_stats""#)];
        for (id, sqlite_name) in tables {
            // (column_id, name, size)
            let columns: Vec<(i64, String, Size)> = {
                let sql = format!(
                    r#"SELECT column_id, name, system_type_id, max_length, user_type_id FROM {d}."ferry.columns" WHERE object_id = ?1 ORDER BY column_id"#
                );
                let mut stmt = self.conn.prepare(&sql).map_err(sqlite_error)?;
                stmt.query_map([id], |r| {
                    Ok((r.get(0)?, r.get(1)?, size_of(r.get(2)?, r.get(3)?)))
                })
                .map_err(sqlite_error)?
                .filter_map(Result::ok)
                .collect()
            };
            let mut select = vec!["COUNT(*)".to_owned()];
            for (_, name, size) in &columns {
                select.push(match size {
                    Size::Fixed(_) => "0".into(),
                    Size::Variable(f) => format!(
                        "COALESCE(AVG({f} * length(CASE typeof({c}) WHEN 'blob' THEN {c} ELSE CAST({c} AS TEXT) END)), 0)",
                        c = q(name)
                    ),
                });
            }
            let sql = format!("SELECT {} FROM {d}.{}", select.join(", "), q(&sqlite_name));
            let averages: Vec<f64> = self
                .conn
                .query_row(&sql, [], |r| {
                    (0..select.len())
                        .map(|i| r.get::<_, f64>(i))
                        .collect::<Result<Vec<_>, _>>()
                })
                .map_err(sqlite_error)?;
            let count = averages.first().copied().unwrap_or(0.0) as i64;
            let estimate = |ids: &[i64], locator: bool| {
                let mut fixed = if locator { 8.0 } else { 0.0 };
                let (mut vars, mut var_bytes, mut n) = (0, 0.0, 0);
                for (i, (cid, _, size)) in columns.iter().enumerate() {
                    if !ids.contains(cid) {
                        continue;
                    }
                    n += 1;
                    match size {
                        Size::Fixed(b) => fixed += *b as f64,
                        Size::Variable(_) => {
                            vars += 1;
                            var_bytes += averages.get(i + 1).copied().unwrap_or(0.0);
                        }
                    }
                }
                pages(count, fixed, vars, var_bytes, n)
            };
            let all: Vec<i64> = columns.iter().map(|c| c.0).collect();
            let indexes: Vec<(i64, Vec<i64>)> = {
                let sql = format!(
                    r#"SELECT i.index_id, (SELECT group_concat(column_id) FROM {d}."ferry.index_columns" c WHERE c.object_id = i.object_id AND c.index_id = i.index_id) FROM {d}."ferry.indexes" i WHERE i.object_id = ?1 ORDER BY i.index_id"#
                );
                let mut stmt = self.conn.prepare(&sql).map_err(sqlite_error)?;
                stmt.query_map([id], |r| {
                    let cols: Option<String> = r.get(1)?;
                    Ok((
                        r.get(0)?,
                        cols.unwrap_or_default()
                            .split(',')
                            .filter_map(|c| c.parse().ok())
                            .collect(),
                    ))
                })
                .map_err(sqlite_error)?
                .filter_map(Result::ok)
                .collect()
            };
            for (index_id, cols) in indexes {
                let data = if index_id <= 1 {
                    estimate(&all, false)
                } else {
                    estimate(&cols, true)
                };
                let used = if data > 0 { data + 1 } else { 0 };
                let reserved = (used + 7) / 8 * 8;
                let pid = ID_BASE + id * 65_536 + index_id;
                rows_sql.push(format!(
                    r#"INSERT INTO {d}."ferry.partition_stats" VALUES ({pid}, {id}, {index_id}, 1, {pid}, {count}, {count}, 0, 'NONE', {data}, {used}, {reserved}, 0, 0, 0, 0, {used}, {reserved}, {pid}, 1, 'IN_ROW_DATA', 1)"#
                ));
            }
        }
        for s in rows_sql {
            self.conn.execute_batch(&s).map_err(sqlite_error)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heap_estimate_follows_the_documented_formula() {
        // 1000 rows of one int: Row_Size = 4 + 0 + (2 + 1) + 4 = 11; 8096 / 13 = 622 rows a
        // page; 2 pages.
        assert_eq!(pages(1000, 4.0, 0, 0.0, 1), 2);
        assert_eq!(pages(0, 4.0, 0, 0.0, 1), 0);
        // nvarchar of 100 characters: 200 bytes + 2 + 2 = 204; + 3 + 4 = 211 → 38 a page.
        assert_eq!(pages(38, 0.0, 1, 200.0, 1), 1);
        assert_eq!(pages(39, 0.0, 1, 200.0, 1), 2);
    }
}
