//! BINARY_CHECKSUM and CHECKSUM_AGG, which SQLite lacks, as SQL functions on the connection.

use rusqlite::Connection;
use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::ValueRef;

/// FNV-1a over a value's canonical text: the emulator's documented stand-in for
/// BINARY_CHECKSUM (SQL Server's algorithm is undocumented). Equal rows give equal checksums on
/// both sides of a migration, which is what validation compares.
fn fnv1a(bytes: &[u8], mut h: u32) -> u32 {
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

struct ChecksumAgg;

impl Aggregate<i64, Option<i64>> for ChecksumAgg {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<i64> {
        Ok(0)
    }
    fn step(&self, ctx: &mut Context<'_>, acc: &mut i64) -> rusqlite::Result<()> {
        // CHECKSUM_AGG combines with XOR, so it does not depend on row order.
        if let Ok(v) = ctx.get::<i64>(0) {
            *acc ^= v;
        }
        Ok(())
    }
    fn finalize(&self, _: &mut Context<'_>, acc: Option<i64>) -> rusqlite::Result<Option<i64>> {
        Ok(acc)
    }
}

pub(super) fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "ferry_binary_checksum",
        -1,
        FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_UTF8,
        |ctx| {
            let mut h = 0x811C_9DC5u32;
            for i in 0..ctx.len() {
                let bytes: Vec<u8> = match ctx.get_raw(i) {
                    ValueRef::Null => vec![0xFF],
                    ValueRef::Integer(x) => x.to_le_bytes().to_vec(),
                    ValueRef::Real(x) => x.to_le_bytes().to_vec(),
                    ValueRef::Text(t) => t.to_vec(),
                    ValueRef::Blob(b) => b.to_vec(),
                };
                h = fnv1a(&bytes, h);
                h = fnv1a(&[0x1F], h);
            }
            Ok(i64::from(h as i32))
        },
    )?;
    conn.create_aggregate_function(
        "ferry_checksum_agg",
        1,
        FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_UTF8,
        ChecksumAgg,
    )?;
    Ok(())
}
