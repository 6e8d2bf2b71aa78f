//! The data comparison's statements, built from a table's key and columns. Ranges are given as
//! typed parameters (`@lo0…`, `@hi0…`) read back from a server, never as literals.

use ferry_sdk::tsql_text::quote_name;
use ferry_sdk::{Param, SqlValue};
use serde::{Deserialize, Serialize};

use super::bisect::Range;
use super::encode::{Column, row_hash};
use super::key::Key;

/// A user table, by schema and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRef {
    pub schema: String,
    pub name: String,
}

impl TableRef {
    /// `schema.table`, for reports.
    pub fn display(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
    /// `[db].[schema].[table]`.
    pub fn qualified(&self, db: &str) -> String {
        format!(
            "{}.{}.{}",
            quote_name(db),
            quote_name(&self.schema),
            quote_name(&self.name)
        )
    }
}

/// `(k0 > @lo0 OR (k0 = @lo0 AND k1 > @lo1))`: the key order's "after" (or, with `<` and a
/// last `<=`, "up to"), built from the last column out. Key columns are never NULL (a primary
/// key, or a unique index on non-nullable columns), so plain comparisons order them. Each
/// server orders text keys by its own collation: with different collations (a property row
/// says so) a row can fall in different ranges on the two sides and show as missing on one
/// and only on the target in another, never as equal when it is not.
fn compare(key: &[String], prefix: &str, strict: &str, last: &str) -> String {
    let n = key.len();
    let mut expr = String::new();
    for i in (0..n).rev() {
        let k = quote_name(&key[i]);
        let p = format!("@{prefix}{i}");
        expr = if i == n - 1 {
            format!("{k} {last} {p}")
        } else {
            format!("({k} {strict} {p} OR ({k} = {p} AND {expr}))")
        };
    }
    expr
}

fn bind(prefix: &str, key: &Key, params: &mut Vec<Param>) {
    for (i, part) in key.iter().enumerate() {
        params.push(Param::value(&format!("{prefix}{i}"), part.to_sql()));
    }
}

/// The WHERE clause (or "1 = 1") selecting `range`, and its parameters.
pub fn range_filter(key: &[String], range: &Range) -> (String, Vec<Param>) {
    let mut params = Vec::new();
    let mut parts = Vec::new();
    if let Some(lo) = &range.lo {
        parts.push(compare(key, "lo", ">", ">"));
        bind("lo", lo, &mut params);
    }
    if let Some(hi) = &range.hi {
        parts.push(compare(key, "hi", "<", "<="));
        bind("hi", hi, &mut params);
    }
    if parts.is_empty() {
        return ("1 = 1".to_owned(), params);
    }
    (parts.join(" AND "), params)
}

fn key_list(key: &[String]) -> String {
    key.iter()
        .map(|k| quote_name(k))
        .collect::<Vec<_>>()
        .join(", ")
}

/// COUNT_BIG and two sums of 32-bit slices of the rows' SHA-256 hashes. Each slice is a signed
/// int, so a sum stays within bigint for ranges under 2^32 rows. A differing range goes unseen
/// only if its counts are equal and both sums collide: for hashes that behave as random, about
/// 2^-64 per range compared, against 2^-32 for one CHECKSUM_AGG. SQL Server 2016 computes all
/// of it (no STRING_AGG, which is 2017+).
pub fn range_hash(
    table: &str,
    key: &[String],
    cols: &[Column],
    range: &Range,
) -> (String, Vec<Param>) {
    let (filter, params) = range_filter(key, range);
    let sql = format!(
        "SELECT COUNT_BIG(*) AS row_count, \
         SUM(CAST(CAST(SUBSTRING(r.h, 1, 4) AS int) AS bigint)) AS sum_a, \
         SUM(CAST(CAST(SUBSTRING(r.h, 5, 4) AS int) AS bigint)) AS sum_b \
         FROM (SELECT {} AS h FROM {table} WHERE {filter}) AS r",
        row_hash(cols)
    );
    (sql, params)
}

/// The key of the row at `@offset` in key order within `range` (OFFSET … FETCH, 2012+).
pub fn key_at(table: &str, key: &[String], range: &Range, offset: u64) -> (String, Vec<Param>) {
    let (filter, mut params) = range_filter(key, range);
    let keys = key_list(key);
    params.push(Param::value(
        "offset",
        SqlValue::Int(i64::try_from(offset).unwrap_or(i64::MAX)),
    ));
    let sql = format!(
        "SELECT {keys} FROM {table} WHERE {filter} ORDER BY {keys} \
         OFFSET @offset ROWS FETCH NEXT 1 ROWS ONLY"
    );
    (sql, params)
}

/// Every row's key and hash in `range`, in key order.
pub fn leaf(table: &str, key: &[String], cols: &[Column], range: &Range) -> (String, Vec<Param>) {
    let (filter, params) = range_filter(key, range);
    let keys = key_list(key);
    let sql = format!(
        "SELECT {keys}, {} AS row_hash FROM {table} WHERE {filter} ORDER BY {keys}",
        row_hash(cols)
    );
    (sql, params)
}

/// The exact row count (methods.md §6: "for exactness use COUNT_BIG(*)").
pub fn count(table: &str) -> String {
    format!("SELECT COUNT_BIG(*) AS row_count FROM {table}")
}

/// A table without a usable key: its count and CHECKSUM_AGG(BINARY_CHECKSUM(*)) (methods.md §6).
pub fn whole_checksum(table: &str) -> String {
    format!(
        "SELECT COUNT_BIG(*) AS row_count, CHECKSUM_AGG(BINARY_CHECKSUM(*)) AS checksum FROM {table}"
    )
}

/// The user tables of database `db`.
pub fn tables(db: &str) -> String {
    let d = quote_name(db);
    format!(
        "SELECT s.name AS schema_name, t.name AS table_name FROM {d}.sys.tables AS t \
         JOIN {d}.sys.schemas AS s ON s.schema_id = t.schema_id \
         WHERE t.is_ms_shipped = 0 ORDER BY s.name, t.name"
    )
}

/// A table's columns: the base type of an alias type, the name of a CLR type. `@table` is the
/// table's three-part name.
pub fn columns(db: &str) -> String {
    let d = quote_name(db);
    format!(
        "SELECT c.name, c.column_id, \
         CASE WHEN t.is_assembly_type = 1 THEN t.name ELSE TYPE_NAME(c.system_type_id) END AS type_name, \
         t.is_assembly_type FROM {d}.sys.columns AS c \
         JOIN {d}.sys.types AS t ON t.user_type_id = c.user_type_id \
         WHERE c.object_id = OBJECT_ID(@table) ORDER BY c.column_id"
    )
}

/// The unique indexes a key can come from, primary key first. Filtered and disabled indexes
/// do not hold every row.
pub fn keys(db: &str) -> String {
    let d = quote_name(db);
    format!(
        "SELECT i.index_id, i.name AS index_name, i.is_primary_key, ic.key_ordinal, \
         c.name AS column_name, c.is_nullable FROM {d}.sys.indexes AS i \
         JOIN {d}.sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id \
         JOIN {d}.sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id \
         WHERE i.object_id = OBJECT_ID(@table) AND (i.is_primary_key = 1 OR i.is_unique = 1) \
         AND i.has_filter = 0 AND i.is_disabled = 0 AND ic.key_ordinal > 0 \
         ORDER BY i.is_primary_key DESC, i.index_id, ic.key_ordinal"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::key::KeyPart;

    #[test]
    fn composite_ranges_compare_lexicographically() {
        let key = vec!["a".to_owned(), "b".to_owned()];
        let r = Range {
            lo: Some(vec![KeyPart::Int(1), KeyPart::Text("x".into())]),
            hi: Some(vec![KeyPart::Int(5), KeyPart::Text("y".into())]),
        };
        let (w, p) = range_filter(&key, &r);
        assert_eq!(
            w,
            "([a] > @lo0 OR ([a] = @lo0 AND [b] > @lo1)) AND ([a] < @hi0 OR ([a] = @hi0 AND [b] <= @hi1))"
        );
        let names: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["lo0", "lo1", "hi0", "hi1"]);
        let (w, p) = range_filter(&key[..1], &Range::default());
        assert_eq!((w.as_str(), p.len()), ("1 = 1", 0));
        let one = Range {
            lo: None,
            hi: Some(vec![KeyPart::Int(9)]),
        };
        assert_eq!(range_filter(&key[..1], &one).0, "[a] <= @hi0");
    }

    #[test]
    fn statements_name_the_table_and_order_by_the_key() {
        let t = TableRef {
            schema: "dbo".into(),
            name: "Order Lines".into(),
        };
        let q = t.qualified("Sales");
        assert_eq!(q, "[Sales].[dbo].[Order Lines]");
        let key = vec!["id".to_owned()];
        let (s, p) = key_at(&q, &key, &Range::default(), 41);
        assert!(
            s.ends_with("ORDER BY [id] OFFSET @offset ROWS FETCH NEXT 1 ROWS ONLY"),
            "{s}"
        );
        assert_eq!(p.len(), 1);
        let cols = vec![Column {
            name: "id".into(),
            type_name: "int".into(),
            assembly: false,
        }];
        let (s, _) = range_hash(&q, &key, &cols, &Range::default());
        assert!(s.contains("COUNT_BIG(*) AS row_count"));
        assert!(s.contains("FROM [Sales].[dbo].[Order Lines] WHERE 1 = 1) AS r"));
        let (s, _) = leaf(&q, &key, &cols, &Range::default());
        assert!(s.starts_with("SELECT [id], HASHBYTES('SHA2_256'"));
    }
}
