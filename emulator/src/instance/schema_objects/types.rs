//! The system data types ("sys.types (Transact-SQL)": the rows every database has, with their
//! documented ids, lengths, precisions and scales) and what a column's declared type gives
//! sys.columns ("sys.columns": max_length in bytes, -1 for max; precision and scale of
//! numeric types, 0 otherwise).

/// (name, system_type_id, user_type_id, max_length, precision, scale, collatable).
pub(super) const SYSTEM_TYPES: &[(&str, i64, i64, i64, i64, i64, bool)] = &[
    ("image", 34, 34, 16, 0, 0, false),
    ("text", 35, 35, 16, 0, 0, true),
    ("uniqueidentifier", 36, 36, 16, 0, 0, false),
    ("date", 40, 40, 3, 10, 0, false),
    ("time", 41, 41, 5, 16, 7, false),
    ("datetime2", 42, 42, 8, 27, 7, false),
    ("datetimeoffset", 43, 43, 10, 34, 7, false),
    ("tinyint", 48, 48, 1, 3, 0, false),
    ("smallint", 52, 52, 2, 5, 0, false),
    ("int", 56, 56, 4, 10, 0, false),
    ("smalldatetime", 58, 58, 4, 16, 0, false),
    ("real", 59, 59, 4, 24, 0, false),
    ("money", 60, 60, 8, 19, 4, false),
    ("datetime", 61, 61, 8, 23, 3, false),
    ("float", 62, 62, 8, 53, 0, false),
    ("sql_variant", 98, 98, 8016, 0, 0, false),
    ("ntext", 99, 99, 16, 0, 0, true),
    ("bit", 104, 104, 1, 1, 0, false),
    ("decimal", 106, 106, 17, 38, 38, false),
    ("numeric", 108, 108, 17, 38, 38, false),
    ("smallmoney", 122, 122, 4, 10, 4, false),
    ("bigint", 127, 127, 8, 19, 0, false),
    ("hierarchyid", 240, 128, 892, 0, 0, false),
    ("geometry", 240, 129, -1, 0, 0, false),
    ("geography", 240, 130, -1, 0, 0, false),
    ("varbinary", 165, 165, 8000, 0, 0, false),
    ("varchar", 167, 167, 8000, 0, 0, true),
    ("binary", 173, 173, 8000, 0, 0, false),
    ("char", 175, 175, 8000, 0, 0, true),
    ("timestamp", 189, 189, 8, 0, 0, false),
    ("nvarchar", 231, 231, 8000, 0, 0, true),
    ("nchar", 239, 239, 8000, 0, 0, true),
    ("xml", 241, 241, -1, 0, 0, false),
    ("sysname", 231, 256, 256, 0, 0, true),
];

/// The database's default collation: the emulator's databases all have it
/// (`sys.databases.collation_name`, see instance/databases.rs).
pub(super) const DEFAULT_COLLATION: &str = "SQL_Latin1_General_CP1_CI_AS";

/// What sys.columns shows for a column's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ColumnType {
    pub system_type_id: i64,
    pub user_type_id: i64,
    pub max_length: i64,
    pub precision: i64,
    pub scale: i64,
    pub collatable: bool,
}

/// Bytes a decimal of `precision` takes ("decimal and numeric (Transact-SQL)": 5, 9, 13, 17).
fn decimal_bytes(precision: i64) -> i64 {
    match precision {
        ..=9 => 5,
        10..=19 => 9,
        20..=28 => 13,
        _ => 17,
    }
}

/// Bytes of the time part with fractional-second `scale` ("time (Transact-SQL)": 3, 4, 5).
fn time_bytes(scale: i64) -> i64 {
    match scale {
        ..=2 => 3,
        3..=4 => 4,
        _ => 5,
    }
}

/// The sys.columns facts of a declared type; None for a type the emulator does not know (a
/// user-defined type).
pub(super) fn column_type(name: &str, args: &[Option<i64>]) -> Option<ColumnType> {
    let name = name.to_ascii_lowercase();
    let name = match name.as_str() {
        "integer" => "int".to_owned(),
        "character" => "char".to_owned(),
        "rowversion" => "timestamp".to_owned(),
        "dec" => "decimal".to_owned(),
        "double" => "float".to_owned(),
        _ => name,
    };
    let &(_, system, user, max, precision, scale, collatable) =
        SYSTEM_TYPES.iter().find(|t| t.0 == name)?;
    let arg = |i: usize| args.get(i).copied();
    let mut t = ColumnType {
        system_type_id: system,
        user_type_id: user,
        max_length: max,
        precision,
        scale,
        collatable,
    };
    match name.as_str() {
        // "char and varchar", "nchar and nvarchar", "binary and varbinary": the length
        // defaults to 1 in a column definition; max is -1; n-types take two bytes a character.
        "char" | "varchar" | "binary" | "varbinary" | "nchar" | "nvarchar" => {
            let wide = name.starts_with('n');
            t.max_length = match arg(0) {
                Some(None) => -1,
                Some(Some(n)) => n * if wide { 2 } else { 1 },
                None => {
                    if wide {
                        2
                    } else {
                        1
                    }
                }
            };
        }
        "decimal" | "numeric" => {
            let p = arg(0).flatten().unwrap_or(18);
            t.precision = p;
            t.scale = arg(1).flatten().unwrap_or(0);
            t.max_length = decimal_bytes(p);
        }
        // "float and real": float(1..24) is real.
        "float" if arg(0).flatten().is_some_and(|n| n <= 24) => {
            return column_type("real", &[]);
        }
        "datetime2" | "time" | "datetimeoffset" => {
            let s = arg(0).flatten().unwrap_or(7);
            t.scale = s;
            let (base_len, base_precision) = match name.as_str() {
                "time" => (0, 8),
                "datetime2" => (3, 19),
                _ => (5, 26),
            };
            t.max_length = base_len + time_bytes(s);
            t.precision = base_precision + if s > 0 { s + 1 } else { 0 };
        }
        _ => {}
    }
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_precisions_and_scales_follow_the_type_pages() {
        let nv = column_type("nvarchar", &[Some(50)]).unwrap();
        assert_eq!((nv.system_type_id, nv.max_length), (231, 100));
        assert_eq!(column_type("nvarchar", &[None]).unwrap().max_length, -1);
        assert_eq!(column_type("varchar", &[]).unwrap().max_length, 1);
        let d = column_type("decimal", &[Some(10), Some(2)]).unwrap();
        assert_eq!((d.max_length, d.precision, d.scale), (9, 10, 2));
        let dt = column_type("datetime2", &[]).unwrap();
        assert_eq!((dt.max_length, dt.precision, dt.scale), (8, 27, 7));
        let dt0 = column_type("datetime2", &[Some(0)]).unwrap();
        assert_eq!((dt0.max_length, dt0.precision, dt0.scale), (6, 19, 0));
        assert_eq!(
            column_type("float", &[Some(24)]).unwrap().system_type_id,
            59
        );
        assert_eq!(column_type("INT", &[]).unwrap().precision, 10);
        assert!(column_type("dbo.MyType", &[]).is_none());
    }
}
