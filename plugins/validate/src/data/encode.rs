//! How each column enters a row's hash: converted to text that is the same on both servers
//! exactly when the values are the same ("CAST and CONVERT (Transact-SQL)", learn.microsoft.com,
//! for every style used below).
//!
//! A row hash is `HASHBYTES('SHA2_256', CONCAT(c1, '|', c2, …))`: CONCAT (SQL Server 2012+)
//! rather than CONCAT_WS, which is 2017+ and skips NULLs (so `(NULL, 'a')` and `('a', NULL)`
//! would hash alike). Each column is `'n'` when NULL and `'v'` and its text otherwise, and no
//! column's text holds `|` (strings and bytes go in as hex), so distinct rows give distinct
//! inputs. HASHBYTES has no 8,000-byte input limit from SQL Server 2016 on ("HASHBYTES
//! (Transact-SQL)").

use ferry_sdk::tsql_text::quote_name;
use serde::{Deserialize, Serialize};

/// A column as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// The system type (an alias type's base type), or the CLR type's name.
    pub type_name: String,
    /// `sys.types.is_assembly_type`: a CLR type (hierarchyid, geometry, geography or a user's).
    pub assembly: bool,
}

/// How a column is turned into text for the hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Integers, bit, decimal/numeric: CONVERT to varchar, exact.
    Number,
    /// money/smallmoney: CONVERT style 2, four decimals (style 0 rounds to two).
    Money,
    /// float/real: CONVERT style 3, 17 significant digits, "every distinct float or real value
    /// is guaranteed to convert to a distinct character string" (SQL Server 2016+).
    Float,
    /// Dates and times: CONVERT style 121, ODBC canonical with the type's full fractional
    /// precision and, for datetimeoffset, the offset.
    Temporal,
    /// Character types (and xml): as nvarchar(max), whose UTF-16 bytes go in as hex, so the
    /// same characters hash alike whatever each server's collation or code page.
    Unicode,
    /// binary, varbinary, image, rowversion, hierarchyid: the bytes as hex (CONVERT style 2).
    Bytes,
    /// uniqueidentifier: its 36-character form.
    Guid,
    /// sql_variant: its base type's name and its value's bytes as hex.
    Variant,
    /// geometry, geography and user CLR types: their serialized bytes (SRID included) as hex;
    /// two equal values serialized differently would show as a difference.
    Serialized,
    /// A type this plugin does not know: left out of the hash and listed.
    NotCompared,
}

pub fn encoding(c: &Column) -> Encoding {
    let t = c.type_name.to_ascii_lowercase();
    match t.as_str() {
        "tinyint" | "smallint" | "int" | "bigint" | "bit" | "decimal" | "numeric" => {
            Encoding::Number
        }
        "money" | "smallmoney" => Encoding::Money,
        "float" | "real" => Encoding::Float,
        "date" | "time" | "datetime" | "datetime2" | "smalldatetime" | "datetimeoffset" => {
            Encoding::Temporal
        }
        "char" | "varchar" | "nchar" | "nvarchar" | "text" | "ntext" | "sysname" | "xml" => {
            Encoding::Unicode
        }
        "binary" | "varbinary" | "image" | "timestamp" | "rowversion" | "hierarchyid" => {
            Encoding::Bytes
        }
        "uniqueidentifier" => Encoding::Guid,
        "sql_variant" => Encoding::Variant,
        "geometry" | "geography" => Encoding::Serialized,
        _ if c.assembly => Encoding::Serialized,
        _ => Encoding::NotCompared,
    }
}

/// Whether BINARY_CHECKSUM leaves the column out: "noncomparable data types include cursor,
/// image, ntext, text, xml, and noncomparable common language runtime (CLR) user-defined
/// types" ("BINARY_CHECKSUM (Transact-SQL)"). The spatial types are noncomparable CLR types;
/// hierarchyid is comparable. A user CLR type is taken as noncomparable (the catalog does not
/// say whether it is byte-ordered).
pub fn checksum_ignores(c: &Column) -> bool {
    let t = c.type_name.to_ascii_lowercase();
    matches!(
        t.as_str(),
        "text" | "ntext" | "image" | "xml" | "geometry" | "geography"
    ) || (c.assembly && t != "hierarchyid")
}

/// How the report says a column was compared, for the types that need saying.
pub fn how(e: Encoding) -> Option<&'static str> {
    match e {
        Encoding::Variant => Some("by base type and value bytes"),
        Encoding::Serialized => Some("by serialized bytes"),
        Encoding::NotCompared => Some("not compared (unknown type)"),
        _ => None,
    }
}

/// The column's text, or None when it is not compared.
fn text_of(col: &str, e: Encoding) -> Option<String> {
    let hex = |bin: String| format!("CONVERT(varchar(max), {bin}, 2)");
    Some(match e {
        Encoding::Number => format!("CONVERT(varchar(64), {col})"),
        Encoding::Money => format!("CONVERT(varchar(64), {col}, 2)"),
        Encoding::Float => format!("CONVERT(varchar(64), {col}, 3)"),
        Encoding::Temporal => format!("CONVERT(varchar(64), {col}, 121)"),
        Encoding::Unicode => hex(format!(
            "CONVERT(varbinary(max), CONVERT(nvarchar(max), {col}))"
        )),
        Encoding::Bytes | Encoding::Serialized => hex(format!("CONVERT(varbinary(max), {col})")),
        Encoding::Guid => format!("CONVERT(varchar(36), {col})"),
        // A sql_variant holds at most 8,016 bytes and no max type.
        Encoding::Variant => format!(
            "CONCAT(CONVERT(varchar(128), SQL_VARIANT_PROPERTY({col}, 'BaseType')), ':', {})",
            hex(format!("CONVERT(varbinary(8000), {col})"))
        ),
        Encoding::NotCompared => return None,
    })
}

/// One column's part of the hash input.
pub fn column_expr(c: &Column) -> Option<String> {
    let col = quote_name(&c.name);
    let text = text_of(&col, encoding(c))?;
    Some(format!(
        "CASE WHEN {col} IS NULL THEN 'n' ELSE 'v' + {text} END"
    ))
}

/// CONCAT takes 2 to 254 arguments: columns go in groups of 100 (with their separators), the
/// groups into one outer CONCAT.
const GROUP: usize = 100;

/// The row hash expression over `columns`.
pub fn row_hash(columns: &[Column]) -> String {
    let parts: Vec<String> = columns.iter().filter_map(column_expr).collect();
    let groups: Vec<String> = parts
        .chunks(GROUP)
        .map(|g| {
            let mut args: Vec<&str> = Vec::new();
            for p in g {
                args.push(p);
                args.push("'|'");
            }
            format!("CONCAT({})", args.join(", "))
        })
        .collect();
    let inner = match groups.len() {
        0 => "''".to_owned(),
        1 => groups.into_iter().next().unwrap_or_default(),
        _ => format!("CONCAT({})", groups.join(", ")),
    };
    format!("HASHBYTES('SHA2_256', {inner})")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, t: &str) -> Column {
        Column {
            name: name.into(),
            type_name: t.into(),
            assembly: matches!(t, "geography" | "geometry" | "hierarchyid" | "Point"),
        }
    }

    #[test]
    fn each_type_has_its_conversion() {
        assert_eq!(
            column_expr(&col("id", "int")).unwrap(),
            "CASE WHEN [id] IS NULL THEN 'n' ELSE 'v' + CONVERT(varchar(64), [id]) END"
        );
        assert!(column_expr(&col("m", "money")).unwrap().contains("[m], 2)"));
        assert!(column_expr(&col("f", "float")).unwrap().contains("[f], 3)"));
        assert!(
            column_expr(&col("d", "datetimeoffset"))
                .unwrap()
                .contains("[d], 121)")
        );
        assert!(
            column_expr(&col("s", "varchar"))
                .unwrap()
                .contains("CONVERT(varbinary(max), CONVERT(nvarchar(max), [s])), 2)")
        );
        assert!(
            column_expr(&col("v", "sql_variant"))
                .unwrap()
                .contains("BaseType")
        );
        assert_eq!(encoding(&col("g", "geography")), Encoding::Serialized);
        assert_eq!(encoding(&col("p", "Point")), Encoding::Serialized);
        assert_eq!(encoding(&col("h", "hierarchyid")), Encoding::Bytes);
        assert_eq!(column_expr(&col("x", "vector")), None);
        assert!(column_expr(&col("a]b", "int")).unwrap().contains("[a]]b]"));
    }

    #[test]
    fn checksum_leaves_out_the_noncomparable_types() {
        assert!(checksum_ignores(&col("t", "text")));
        assert!(checksum_ignores(&col("x", "xml")));
        assert!(checksum_ignores(&col("g", "geography")));
        assert!(checksum_ignores(&col("p", "Point")));
        assert!(!checksum_ignores(&col("h", "hierarchyid")));
        assert!(!checksum_ignores(&col("n", "nvarchar")));
    }

    #[test]
    fn wide_rows_are_concatenated_in_groups() {
        let one = row_hash(&[col("a", "int")]);
        assert!(
            one.starts_with("HASHBYTES('SHA2_256', CONCAT(CASE"),
            "{one}"
        );
        assert!(one.ends_with(", '|'))"), "{one}");
        let many: Vec<Column> = (0..250).map(|i| col(&format!("c{i}"), "int")).collect();
        let h = row_hash(&many);
        // Three groups, none over 254 arguments.
        assert_eq!(h.matches("CONCAT(").count(), 4);
        assert_eq!(h.matches("'|'").count(), 250);
    }
}
