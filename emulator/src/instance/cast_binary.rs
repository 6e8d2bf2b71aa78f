//! `ferry_binary_int(x, size)` (sql/cast_binary.rs): a blob as SQL Server's CAST reads it into
//! an integer of `size` bytes — big-endian, two's complement ("CAST and CONVERT
//! (Transact-SQL)", learn.microsoft.com, "Binary and varbinary"). A shorter value counts as
//! padded with zeros on the left (`CAST(0x01 AS int)` is 1). A longer one keeps its rightmost
//! `size` bytes: the page does not say so in words; it is what SQL Server returns for
//! `CAST(0x0102030405 AS int)` (33752069 = 0x02030405) as far as we know, and the narrower
//! reading of the bytes the integer can hold. Any other value goes back untouched.

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::{Value, ValueRef};

fn from_bytes(b: &[u8], size: usize) -> i64 {
    let size = size.clamp(1, 8);
    let tail = &b[b.len().saturating_sub(size)..];
    let mut v: i64 = 0;
    for &x in tail {
        v = (v << 8) | i64::from(x);
    }
    // Sign-extend from `size` bytes: the top bit of the target's width is the sign.
    let bits = 8 * size as u32;
    if bits < 64 && tail.len() == size && v & (1 << (bits - 1)) != 0 {
        v -= 1 << bits;
    }
    v
}

pub(super) fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "ferry_binary_int",
        2,
        FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_UTF8,
        |ctx| {
            let size = usize::try_from(ctx.get::<i64>(1)?).unwrap_or(8);
            Ok(match ctx.get_raw(0) {
                ValueRef::Blob(b) => Value::Integer(from_bytes(b, size)),
                other => Value::from(other),
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::from_bytes;

    #[test]
    fn bytes_read_big_endian_and_signed() {
        assert_eq!(from_bytes(&[0, 0, 0, 10], 4), 10);
        assert_eq!(from_bytes(&[1], 4), 1);
        assert_eq!(from_bytes(&[0xFF, 0xFF, 0xFF, 0xFE], 4), -2);
        assert_eq!(from_bytes(&[0x80, 0, 0, 0], 4), i64::from(i32::MIN));
        assert_eq!(from_bytes(&[1, 2, 3, 4, 5], 4), 0x0203_0405);
        assert_eq!(from_bytes(&[0xFF; 8], 8), -1);
        assert_eq!(from_bytes(&[0xFF], 2), 255);
    }
}
