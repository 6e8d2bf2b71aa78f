//! `sys.dm_exec_plan_attributes(plan_handle)` for the plans the workload generator caches
//! ("sys.dm_exec_plan_attributes (Transact-SQL)": one row per attribute, columns `attribute
//! nvarchar(128)`, `value sql_variant`, `is_cache_key bit`). Only the attributes below are
//! kept (the page lists more: the execution-context and cursor counters, which nothing the
//! emulator models would move); for an ad hoc batch `dbid` is "the ID of the database from
//! which the batch is executed", `objectid` "an internal hash of the batch text" and `user_id`
//! -2 ("the batch submitted does not depend on implicit name resolution").
//!
//! The view has no handle column, so the rows of one plan are found by their rowid: the
//! plan's key (six bytes of its handle's hash, [`plan_key`]) times [`PER_PLAN`] plus the
//! attribute's place; `CROSS APPLY sys.dm_exec_plan_attributes(h)` becomes a join on
//! `rowid / 64 = ferry_plan_key(h)` (sql/dmv_calls.rs). Two plans whose six bytes agree
//! would share their rows: one in 2^48, a risk an emulator takes.

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::{Value, ValueRef};

use super::Instance;
use super::query::sqlite_error;
use crate::protocol::tokens::ServerMessage;

/// The view, in `temp` with the other DMVs (created with the resource model).
pub(super) const SCHEMA: &str = r#"
CREATE TEMP TABLE IF NOT EXISTS "sys.dm_exec_plan_attributes" (
    attribute nvarchar(128), value sql_variant, is_cache_key bit
);
"#;

/// Rowids per plan.
pub const PER_PLAN: i64 = 64;

/// The key of one of the emulator's plan handles (`0x06`, three bytes, a 20-byte hash, zeros);
/// None for anything else, which then has no attributes (as a handle no longer cached).
pub fn plan_key(handle: &[u8]) -> Option<i64> {
    if handle.len() != 44 || handle[0] != 0x06 {
        return None;
    }
    let mut key = [0u8; 8];
    key[2..].copy_from_slice(&handle[4..10]);
    Some(i64::from_be_bytes(key))
}

/// `ferry_plan_key(handle)`, NULL for what is not a plan handle.
pub(super) fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "ferry_plan_key",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            Ok(match ctx.get_raw(0) {
                ValueRef::Blob(b) => plan_key(b),
                _ => None,
            })
        },
    )
}

impl Instance {
    /// The attributes of a plan just cached for an ad hoc batch run in database `db_id`.
    pub(super) fn add_plan_attributes(
        &mut self,
        db_id: i64,
        plan_handle: &[u8],
        sql_handle: &[u8],
    ) -> Result<(), ServerMessage> {
        let Some(key) = plan_key(plan_handle) else {
            return Ok(());
        };
        // An internal hash of the batch text: four bytes of the text's digest in its handle.
        let mut hash = [0u8; 4];
        hash.copy_from_slice(&sql_handle[12..16]);
        // The SET options a TDS client connects with by default, as the page's bits: ANSI_PADDING
        // 1, Parallel Plan 2, CONCAT_NULL_YIELDS_NULL 8, ANSI_WARNINGS 16, ANSI_NULLS 32,
        // QUOTED_IDENTIFIER 64, ANSI_NULL_DFLT_ON 128 (ARITHABORT, 4096, is off for such
        // clients). The docs give no value to copy; this is their sum.
        let rows: [(&str, Value, bool); 9] = [
            ("set_options", Value::Integer(251), true),
            (
                "objectid",
                Value::Integer(i64::from(i32::from_be_bytes(hash))),
                true,
            ),
            ("dbid", Value::Integer(db_id), true),
            ("dbid_execute", Value::Integer(0), true),
            ("user_id", Value::Integer(-2), true),
            ("language_id", Value::Integer(0), true),
            ("date_format", Value::Integer(1), true),
            ("date_first", Value::Integer(7), true),
            ("sql_handle", Value::Blob(sql_handle.to_vec()), false),
        ];
        for (k, (name, value, cache_key)) in rows.into_iter().enumerate() {
            self.conn
                .execute(
                    r#"INSERT OR REPLACE INTO temp."sys.dm_exec_plan_attributes" (rowid, attribute, value, is_cache_key) VALUES (?1, ?2, ?3, ?4)"#,
                    rusqlite::params![key * PER_PLAN + k as i64, name, value, cache_key],
                )
                .map_err(sqlite_error)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_emulators_plan_handles_have_a_key() {
        let mut h = vec![0x06, 0, 5, 0];
        h.extend_from_slice(&[0xAB; 20]);
        h.extend_from_slice(&[0; 20]);
        assert_eq!(plan_key(&h), Some(0xABAB_ABAB_ABAB));
        assert!(plan_key(&h[..43]).is_none());
        h[0] = 0x02;
        assert!(plan_key(&h).is_none());
        // The rows of the largest key stay within a rowid.
        assert!((0xFFFF_FFFF_FFFFi64).checked_mul(PER_PLAN).is_some());
    }
}
