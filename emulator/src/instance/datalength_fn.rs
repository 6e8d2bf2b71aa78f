//! DATALENGTH in statements SQLite runs: "DATALENGTH (Transact-SQL)" returns the bytes a value
//! takes, which depend on its T-SQL type (an nvarchar character takes two, a varchar one in
//! code page 1252, an int four). SQLite keeps no such types, so sql/hash_calls.rs writes the
//! input's type beside it (`ferry_datalength(x, 'nvarchar')`, the way HASHBYTES gets it) and
//! the bytes are those [`super::hashing::sql_bytes`] lays out; NULL stays NULL. A type the
//! emulator does not lay out byte for byte (dates, decimals) fails naming it rather than
//! answering a wrong length.

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;

use super::hashing::{Kind, sql_bytes};

#[derive(Debug)]
struct Unsized(String);

impl std::fmt::Display for Unsized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unsized {}

pub(super) fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "ferry_datalength",
        2,
        FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_UTF8,
        |ctx| {
            let kind: String = ctx.get(1)?;
            let kind = Kind::from_name(&kind).unwrap_or(Kind::Auto);
            match sql_bytes(kind, ctx.get_raw(0)) {
                Ok(bytes) => Ok(bytes.map(|b| b.len() as i64)),
                Err(e) => Err(rusqlite::Error::UserFunctionError(Box::new(Unsized(e)))),
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_follow_the_type() {
        let c = Connection::open_in_memory().unwrap();
        register(&c).unwrap();
        let len = |sql: &str| {
            c.query_row(sql, [], |r| r.get::<_, Option<i64>>(0))
                .unwrap()
        };
        assert_eq!(len("SELECT ferry_datalength('abc', 'nvarchar')"), Some(6));
        assert_eq!(len("SELECT ferry_datalength('abc', 'varchar')"), Some(3));
        assert_eq!(len("SELECT ferry_datalength(7, 'int')"), Some(4));
        assert_eq!(len("SELECT ferry_datalength(7, 'bigint')"), Some(8));
        assert_eq!(len("SELECT ferry_datalength(NULL, 'nvarchar')"), None);
        assert!(
            c.query_row("SELECT ferry_datalength('2024-01-01', 'other')", [], |r| {
                r.get::<_, i64>(0)
            })
            .is_err()
        );
    }
}
