//! The bytes SQL Server hashes, and HASHBYTES' algorithms ("HASHBYTES (Transact-SQL)").
//!
//! SQLite keeps no T-SQL types, so the statement rewrite (sql/hash_calls.rs) tells each call
//! the type of its input as a [`Kind`]; the scalar path (sql/functions.rs) knows the type.
//! The bytes follow SQL Server's storage: varchar in its collation's code page (the emulator's
//! collations are the Latin1 ones, code page 1252, so 1252 it is), nvarchar as UTF-16LE,
//! varbinary as is, and integers big-endian as `CONVERT(varbinary, x)` writes them ("CAST and
//! CONVERT (Transact-SQL)": int to binary keeps the value's bytes, most significant first).

use rusqlite::types::ValueRef;

/// The T-SQL type of a value handed to a hashing function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    VarChar,
    NVarChar,
    VarBinary,
    /// An integer of this many bytes (tinyint 1, smallint 2, int 4, bigint 8).
    Int(u8),
    Bit,
    /// Types the emulator stores but does not lay out byte for byte (decimal, float, dates,
    /// uniqueidentifier): the checksums read their text (a documented stand-in), HASHBYTES
    /// refuses them.
    Other,
    /// text, ntext, image, xml, sql_variant, cursor: "noncomparable" in the CHECKSUM pages.
    Noncomparable,
    /// A client parameter: strings arrive as nvarchar, numbers as int or bigint, bytes as
    /// varbinary (how tiberius and ADO.NET send them).
    Auto,
}

impl Kind {
    /// The name the rewrite writes into SQL (`ferry_hashbytes(alg, x, 'nvarchar')`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::VarChar => "varchar",
            Kind::NVarChar => "nvarchar",
            Kind::VarBinary => "varbinary",
            Kind::Int(1) => "tinyint",
            Kind::Int(2) => "smallint",
            Kind::Int(4) => "int",
            Kind::Int(_) => "bigint",
            Kind::Bit => "bit",
            Kind::Other => "other",
            Kind::Noncomparable => "noncomparable",
            Kind::Auto => "auto",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Some(match name {
            "varchar" => Kind::VarChar,
            "nvarchar" => Kind::NVarChar,
            "varbinary" => Kind::VarBinary,
            "tinyint" => Kind::Int(1),
            "smallint" => Kind::Int(2),
            "int" => Kind::Int(4),
            "bigint" => Kind::Int(8),
            "bit" => Kind::Bit,
            "other" => Kind::Other,
            "noncomparable" => Kind::Noncomparable,
            "auto" => Kind::Auto,
            _ => return None,
        })
    }

    /// The kind of a column declared as `decl` (`nvarchar(50)`, `varchar(-1)`, `int`, …).
    pub fn of_declared(decl: &str) -> Kind {
        let base = decl
            .split('(')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match base.as_str() {
            "varchar" | "char" => Kind::VarChar,
            "nvarchar" | "nchar" | "sysname" => Kind::NVarChar,
            "varbinary" | "binary" | "rowversion" | "timestamp" => Kind::VarBinary,
            "tinyint" => Kind::Int(1),
            "smallint" => Kind::Int(2),
            "int" | "integer" => Kind::Int(4),
            "bigint" => Kind::Int(8),
            "bit" => Kind::Bit,
            "text" | "ntext" | "image" | "xml" | "sql_variant" | "cursor" => Kind::Noncomparable,
            _ => Kind::Other,
        }
    }
}

/// Text in code page 1252, as a varchar of a Latin1 collation holds it; a character the code
/// page lacks becomes `?`, as SQL Server's conversion to varchar writes it.
pub fn cp1252(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut buf = [0u8; 4];
    for c in text.chars() {
        let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(c.encode_utf8(&mut buf));
        out.extend_from_slice(if unmappable { b"?" } else { &bytes });
    }
    out
}

pub fn utf16le(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// A value's bytes as SQL Server holds it; None for NULL. Err names what cannot be laid out.
pub fn sql_bytes(kind: Kind, v: ValueRef<'_>) -> Result<Option<Vec<u8>>, String> {
    let text = |t: &[u8]| String::from_utf8_lossy(t).into_owned();
    Ok(Some(match (kind, v) {
        (_, ValueRef::Null) => return Ok(None),
        (_, ValueRef::Blob(b)) => b.to_vec(),
        (Kind::VarChar, ValueRef::Text(t)) => cp1252(&text(t)),
        (Kind::NVarChar | Kind::Auto, ValueRef::Text(t)) => utf16le(&text(t)),
        (Kind::VarChar, ValueRef::Integer(n)) => cp1252(&n.to_string()),
        (Kind::NVarChar, ValueRef::Integer(n)) => utf16le(&n.to_string()),
        (Kind::Int(width), ValueRef::Integer(n)) => {
            n.to_be_bytes()[8 - usize::from(width.min(8))..].to_vec()
        }
        (Kind::Int(width), ValueRef::Text(t)) => match text(t).trim().parse::<i64>() {
            Ok(n) => n.to_be_bytes()[8 - usize::from(width.min(8))..].to_vec(),
            Err(_) => return Err(format!("'{}' is not an integer", text(t))),
        },
        (Kind::Bit, ValueRef::Integer(n)) => vec![u8::from(n != 0)],
        (Kind::Auto, ValueRef::Integer(n)) => match i32::try_from(n) {
            Ok(small) => small.to_be_bytes().to_vec(),
            Err(_) => n.to_be_bytes().to_vec(),
        },
        (kind, _) => {
            return Err(format!(
                "ferry-emulator does not lay out a {} value byte for byte; CONVERT it to nvarchar or varbinary first",
                kind.name()
            ));
        }
    }))
}

/// HASHBYTES' digest of `bytes` with `algorithm` (any case); None for a name the page does not
/// list. MD2, MD4, MD5, SHA and SHA1 are deprecated since SQL Server 2016 but still answer.
pub fn digest(algorithm: &str, bytes: &[u8]) -> Option<Vec<u8>> {
    use md5::Digest as _;
    Some(match algorithm.to_ascii_uppercase().as_str() {
        "MD2" => md2::Md2::digest(bytes).to_vec(),
        "MD4" => md4::Md4::digest(bytes).to_vec(),
        "MD5" => md5::Md5::digest(bytes).to_vec(),
        "SHA" | "SHA1" => {
            use sha1::Digest as _;
            sha1::Sha1::digest(bytes).to_vec()
        }
        "SHA2_256" => sha2::Sha256::digest(bytes).to_vec(),
        "SHA2_512" => sha2::Sha512::digest(bytes).to_vec(),
        _ => return None,
    })
}

impl super::Instance {
    /// A table's columns with their declared T-SQL types, in order.
    pub fn column_decls(&self, schema_db: &str, table: &str) -> Vec<(String, String)> {
        let sql = format!(
            r#"PRAGMA "{}".table_info("{}")"#,
            schema_db.replace('"', "\"\""),
            table.replace('"', "\"\"")
        );
        let Ok(mut stmt) = self.conn.prepare(&sql) else {
            return vec![];
        };
        stmt.query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
            .map(|rows| rows.filter_map(Result::ok).collect())
            .unwrap_or_default()
    }
}

#[derive(Debug)]
struct Failed(String);

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failed {}

/// HASHBYTES of a value of `kind`: NULL for a NULL input or an algorithm the page does not
/// list (the page names no error for one; SQL Server answers NULL).
pub fn hashbytes(algorithm: &str, kind: Kind, v: ValueRef<'_>) -> Result<Option<Vec<u8>>, String> {
    Ok(match sql_bytes(kind, v)? {
        Some(bytes) => digest(algorithm, &bytes),
        None => None,
    })
}

/// `ferry_hashbytes(algorithm, input, 'kind')` for statements SQLite runs.
pub(super) fn register(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "ferry_hashbytes",
        3,
        FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_UTF8,
        |ctx| {
            let Some(algorithm) = ctx.get::<Option<String>>(0)? else {
                return Ok(None);
            };
            let kind: String = ctx.get(2)?;
            let kind = Kind::from_name(&kind).unwrap_or(Kind::Auto);
            hashbytes(&algorithm, kind, ctx.get_raw(1))
                .map_err(|e| rusqlite::Error::UserFunctionError(Box::new(Failed(e))))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02X}")).collect()
    }

    #[test]
    fn digests_follow_the_standards() {
        // RFC 1319 (MD2), RFC 1320 (MD4), RFC 1321 (MD5), FIPS 180 test vectors for "abc".
        let d = |a: &str| hex(&digest(a, b"abc").unwrap());
        assert_eq!(d("MD2"), "DA853B0D3F88D99B30283A69E6DED6BB");
        assert_eq!(d("md4"), "A448017AAF21D8525FC10AE87AA6729D");
        assert_eq!(d("MD5"), "900150983CD24FB0D6963F7D28E17F72");
        assert_eq!(d("SHA"), "A9993E364706816ABA3E25717850C26C9CD0D89D");
        assert_eq!(d("SHA1"), d("SHA"));
        assert_eq!(
            d("SHA2_256"),
            "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
        );
        assert!(d("SHA2_512").starts_with("DDAF35A193617ABACC417349AE204131"));
        assert_eq!(digest("SHA3_256", b"abc"), None);
    }

    #[test]
    fn values_are_laid_out_as_sql_server_holds_them() {
        let b = |k, v| sql_bytes(k, v).unwrap().unwrap();
        assert_eq!(
            b(Kind::VarChar, ValueRef::Text("é€".as_bytes())),
            [0xE9, 0x80]
        );
        assert_eq!(b(Kind::VarChar, ValueRef::Text("ā".as_bytes())), b"?");
        assert_eq!(b(Kind::NVarChar, ValueRef::Text(b"ab")), [b'a', 0, b'b', 0]);
        assert_eq!(b(Kind::Int(4), ValueRef::Integer(258)), [0, 0, 1, 2]);
        assert_eq!(b(Kind::Int(8), ValueRef::Integer(-1)), [0xFF; 8]);
        assert_eq!(b(Kind::Int(2), ValueRef::Integer(7)), [0, 7]);
        assert_eq!(b(Kind::Int(1), ValueRef::Integer(7)), [7]);
        assert_eq!(b(Kind::Auto, ValueRef::Integer(1)), [0, 0, 0, 1]);
        assert_eq!(sql_bytes(Kind::VarChar, ValueRef::Null).unwrap(), None);
        assert!(sql_bytes(Kind::Other, ValueRef::Real(1.5)).is_err());
    }
}
