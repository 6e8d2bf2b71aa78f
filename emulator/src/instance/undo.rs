//! What a transaction changed, so a rollback can put it back.
//!
//! All sessions share one SQLite connection (every database attached to it, so statements join
//! across databases), and a SQLite connection has one transaction; so a session's transaction
//! cannot be a SQLite transaction. Instead, before a transaction first changes a table (at each
//! savepoint level), the table's rows are copied aside with their rowids; a rollback puts the
//! copy back. CREATE TABLE is undone by a drop; DROP TABLE renames the table aside until the
//! commit. SQLite's pre-update hook or session extension would record row changes instead, but
//! both need a SQLite built with them (and bindgen at build time), and the session extension
//! ignores tables without a primary key, which T-SQL heaps are.
//!
//! The record of what to undo lives in the catalog (`ferry.transaction_undo`), written before
//! the change, so an emulator killed with transactions open undoes them when it starts again,
//! as SQL Server's recovery rolls back what was not committed ("Transaction log architecture
//! and management guide", recovery's undo phase).

use rusqlite::Connection;

use super::query::{q, sqlite_error};
use crate::protocol::tokens::ServerMessage;

/// The undo record, in `main`.
pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS "ferry.transaction_undo" (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, spid INTEGER NOT NULL, level INTEGER NOT NULL,
    kind TEXT NOT NULL, db TEXT NOT NULL, tbl TEXT NOT NULL, aside TEXT
);
"#;

/// What one undo entry undoes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// The table's rows were copied to `aside` (a table in `main`).
    Rows,
    /// The table was created in the transaction.
    Created,
    /// The table was dropped in the transaction: it waits under the name `aside`.
    Dropped,
}

impl Kind {
    fn code(self) -> &'static str {
        match self {
            Kind::Rows => "rows",
            Kind::Created => "created",
            Kind::Dropped => "dropped",
        }
    }
}

struct Entry {
    seq: i64,
    kind: String,
    db: String,
    tbl: String,
    aside: Option<String>,
}

/// Whether `spid` already set aside `db`.`tbl` at savepoint level `level` (or created it
/// there, when its rows need no copy).
pub(super) fn covered(
    conn: &Connection,
    spid: u16,
    level: usize,
    db: &str,
    tbl: &str,
) -> Result<bool, ServerMessage> {
    conn.query_row(
        r#"SELECT COUNT(*) FROM main."ferry.transaction_undo" WHERE spid = ?1 AND level = ?2 AND kind IN ('rows', 'created') AND db = ?3 COLLATE NOCASE AND tbl = ?4 COLLATE NOCASE"#,
        rusqlite::params![spid, level as i64, db, tbl],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
    .map_err(sqlite_error)
}

/// Records an undo entry; for [`Kind::Rows`], copies the table's rows aside first.
pub(super) fn note(
    conn: &Connection,
    spid: u16,
    level: usize,
    kind: Kind,
    db: &str,
    tbl: &str,
    aside: Option<&str>,
) -> Result<(), ServerMessage> {
    conn.execute(
        r#"INSERT INTO main."ferry.transaction_undo" (spid, level, kind, db, tbl, aside) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"#,
        rusqlite::params![spid, level as i64, kind.code(), db, tbl, aside],
    )
    .map_err(sqlite_error)?;
    if kind == Kind::Rows {
        let seq = conn.last_insert_rowid();
        let copy = format!("ferry.before {seq}");
        let sql = format!(
            r#"CREATE TABLE main.{} AS SELECT rowid AS "ferry.rowid", * FROM {}.{}"#,
            q(&copy),
            q(db),
            q(tbl)
        );
        conn.execute_batch(&sql).map_err(sqlite_error)?;
        conn.execute(
            r#"UPDATE main."ferry.transaction_undo" SET aside = ?2 WHERE seq = ?1"#,
            rusqlite::params![seq, copy],
        )
        .map_err(sqlite_error)?;
    }
    Ok(())
}

/// The sessions whose open transactions changed `db`.`tbl`.
pub(super) fn holders(conn: &Connection, db: &str, tbl: &str) -> Result<Vec<u16>, ServerMessage> {
    let mut stmt = conn
        .prepare(r#"SELECT DISTINCT spid FROM main."ferry.transaction_undo" WHERE db = ?1 COLLATE NOCASE AND tbl = ?2 COLLATE NOCASE"#)
        .map_err(sqlite_error)?;
    let rows = stmt
        .query_map([db, tbl], |r| r.get::<_, u16>(0))
        .map_err(sqlite_error)?;
    Ok(rows.filter_map(Result::ok).collect())
}

fn entries(conn: &Connection, spid: u16, from_level: usize) -> Result<Vec<Entry>, ServerMessage> {
    let mut stmt = conn
        .prepare(r#"SELECT seq, kind, db, tbl, aside FROM main."ferry.transaction_undo" WHERE spid = ?1 AND level >= ?2 ORDER BY seq DESC"#)
        .map_err(sqlite_error)?;
    let rows = stmt
        .query_map(rusqlite::params![spid, from_level as i64], |r| {
            Ok(Entry {
                seq: r.get(0)?,
                kind: r.get(1)?,
                db: r.get(2)?,
                tbl: r.get(3)?,
                aside: r.get(4)?,
            })
        })
        .map_err(sqlite_error)?;
    rows.collect::<Result<_, _>>().map_err(sqlite_error)
}

/// A table's columns, but for its rowid alias (an `INTEGER PRIMARY KEY` column is the rowid,
/// written through `rowid`).
fn columns(conn: &Connection, db: &str, tbl: &str) -> Result<Vec<String>, ServerMessage> {
    let sql = format!("PRAGMA {}.table_info({})", q(db), q(tbl));
    let mut stmt = conn.prepare(&sql).map_err(sqlite_error)?;
    let cols: Vec<(String, String, i64)> = stmt
        .query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get(5)?)))
        .map_err(sqlite_error)?
        .filter_map(Result::ok)
        .collect();
    let keys = cols.iter().filter(|c| c.2 > 0).count();
    Ok(cols
        .into_iter()
        .filter(|c| !(c.2 == 1 && keys == 1 && c.1.eq_ignore_ascii_case("INTEGER")))
        .map(|c| q(&c.0))
        .collect())
}

/// Undoes `spid`'s entries from savepoint level `from_level` on, newest first, and forgets
/// them.
pub(super) fn roll_back(
    conn: &Connection,
    spid: u16,
    from_level: usize,
) -> Result<(), ServerMessage> {
    for e in entries(conn, spid, from_level)? {
        let aside = e.aside.clone().unwrap_or_default();
        let sql = match e.kind.as_str() {
            "rows" => {
                let cols = columns(conn, &e.db, &e.tbl)?.join(", ");
                format!(
                    r#"DELETE FROM {db}.{t}; INSERT INTO {db}.{t} (rowid, {cols}) SELECT "ferry.rowid", {cols} FROM main.{a}; DROP TABLE main.{a};"#,
                    db = q(&e.db),
                    t = q(&e.tbl),
                    a = q(&aside)
                )
            }
            "created" => format!("DROP TABLE IF EXISTS {}.{}", q(&e.db), q(&e.tbl)),
            _ => format!(
                "ALTER TABLE {}.{} RENAME TO {}",
                q(&e.db),
                q(&aside),
                q(&e.tbl)
            ),
        };
        // A table whose database is gone meanwhile has nothing left to restore.
        if let Err(err) = conn.execute_batch(&sql) {
            tracing::warn!(db = %e.db, table = %e.tbl, "undoing a transaction's change: {err}");
        }
        conn.execute(
            r#"DELETE FROM main."ferry.transaction_undo" WHERE seq = ?1"#,
            [e.seq],
        )
        .map_err(sqlite_error)?;
    }
    Ok(())
}

/// Makes `spid`'s changes permanent: the copies go, and so do the tables it dropped.
pub(super) fn commit(conn: &Connection, spid: u16) -> Result<(), ServerMessage> {
    for e in entries(conn, spid, 0)? {
        let sql = match (e.kind.as_str(), &e.aside) {
            ("rows", Some(a)) => format!("DROP TABLE IF EXISTS main.{}", q(a)),
            ("dropped", Some(a)) => format!("DROP TABLE IF EXISTS {}.{}", q(&e.db), q(a)),
            _ => String::new(),
        };
        if !sql.is_empty() {
            conn.execute_batch(&sql).map_err(sqlite_error)?;
        }
    }
    conn.execute(
        r#"DELETE FROM main."ferry.transaction_undo" WHERE spid = ?1"#,
        [spid],
    )
    .map_err(sqlite_error)?;
    Ok(())
}

/// The sessions whose transactions were open when the instance was last closed.
pub(super) fn unfinished(conn: &Connection) -> Result<Vec<u16>, ServerMessage> {
    let mut stmt = conn
        .prepare(r#"SELECT DISTINCT spid FROM main."ferry.transaction_undo""#)
        .map_err(sqlite_error)?;
    let rows = stmt
        .query_map([], |r| r.get::<_, u16>(0))
        .map_err(sqlite_error)?;
    Ok(rows.filter_map(Result::ok).collect())
}
