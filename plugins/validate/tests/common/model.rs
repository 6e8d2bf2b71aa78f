//! The in-test table model: rows in key order, answering the data comparison's queries (counts,
//! range hashes, split keys, leaf rows, whole-table checksums) as a server holding them would.

use std::cmp::Ordering;

use ferry_sdk::{Param, ParamValue, QueryResult, SqlValue};

use super::{i, keq, set};

/// A table in the model: its columns (name, type), its key columns (empty: no usable key), and
/// its rows as key values and contents.
#[derive(Clone, Default)]
pub struct Table {
    pub columns: Vec<(String, String)>,
    pub key: Vec<String>,
    pub rows: Vec<(Vec<SqlValue>, String)>,
}

fn cmp_value(a: &SqlValue, b: &SqlValue) -> Ordering {
    match (a, b) {
        (SqlValue::Int(x), SqlValue::Int(y)) => x.cmp(y),
        (SqlValue::Text(x), SqlValue::Text(y)) => x.cmp(y),
        _ => panic!("the model orders ints and texts: {a:?} {b:?}"),
    }
}

fn cmp_key(a: &[SqlValue], b: &[SqlValue]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| cmp_value(x, y))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// The row's hash as the model's HASHBYTES: FNV-1a over key and contents, spread to 32 bytes.
pub fn row_hash(key: &[SqlValue], contents: &str) -> Vec<u8> {
    let text = format!("{key:?}{contents}");
    let mut out = Vec::new();
    for salt in 0u64..4 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt;
        for b in text.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // The murmur3 finalizer: FNV alone changes by ±prime when a last byte flips by one,
        // and such deltas cancel out in a sum.
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^= h >> 33;
        out.extend_from_slice(&h.to_be_bytes());
    }
    out
}

impl Table {
    /// `n` rows keyed `id` = 0, 10, 20, … with contents "row k".
    pub fn ints(n: i64) -> Table {
        Table {
            columns: vec![
                ("id".into(), "int".into()),
                ("name".into(), "nvarchar".into()),
            ],
            key: vec!["id".into()],
            rows: (0..n)
                .map(|k| (vec![i(k * 10)], format!("row {k}")))
                .collect(),
        }
    }
    pub fn put(&mut self, key: Vec<SqlValue>, contents: &str) {
        self.rows.retain(|(k, _)| !keq(k, &key));
        self.rows.push((key, contents.to_owned()));
        self.rows.sort_by(|a, b| cmp_key(&a.0, &b.0));
    }
    pub fn delete(&mut self, key: &[SqlValue]) {
        self.rows.retain(|(k, _)| !keq(k, key));
    }

    fn bound(params: &[Param], prefix: &str) -> Option<Vec<SqlValue>> {
        let mut out = Vec::new();
        for n in 0.. {
            let name = format!("{prefix}{n}");
            match params.iter().find(|p| p.name == name) {
                Some(Param {
                    value: ParamValue::Value(v),
                    ..
                }) => out.push(v.clone()),
                _ => break,
            }
        }
        (!out.is_empty()).then_some(out)
    }

    fn in_range(&self, params: &[Param]) -> Vec<&(Vec<SqlValue>, String)> {
        let lo = Self::bound(params, "lo");
        let hi = Self::bound(params, "hi");
        self.rows
            .iter()
            .filter(|(k, _)| {
                lo.as_ref().is_none_or(|lo| cmp_key(k, lo).is_gt())
                    && hi.as_ref().is_none_or(|hi| cmp_key(k, hi).is_le())
            })
            .collect()
    }

    pub fn answer(&self, sql: &str, params: &[Param]) -> QueryResult {
        let key_cols: Vec<&str> = self.key.iter().map(String::as_str).collect();
        if sql.contains("CHECKSUM_AGG(BINARY_CHECKSUM(*))") {
            let sum = self.rows.iter().fold(0i64, |a, (k, c)| {
                let h = row_hash(k, c);
                a ^ i64::from(i32::from_be_bytes([h[0], h[1], h[2], h[3]]))
            });
            return set(
                &["row_count", "checksum"],
                vec![vec![i(self.rows.len() as i64), i(sum)]],
            );
        }
        if sql.starts_with("SELECT COUNT_BIG(*) AS row_count FROM") {
            return set(&["row_count"], vec![vec![i(self.rows.len() as i64)]]);
        }
        let rows = self.in_range(params);
        if sql.contains("SUM(CAST(CAST(SUBSTRING(r.h, 1, 4)") {
            let (mut a, mut b) = (0i64, 0i64);
            for (k, c) in &rows {
                let h = row_hash(k, c);
                a += i64::from(i32::from_be_bytes([h[0], h[1], h[2], h[3]]));
                b += i64::from(i32::from_be_bytes([h[4], h[5], h[6], h[7]]));
            }
            let (a, b) = if rows.is_empty() {
                (SqlValue::Null, SqlValue::Null)
            } else {
                (i(a), i(b))
            };
            return set(
                &["row_count", "sum_a", "sum_b"],
                vec![vec![i(rows.len() as i64), a, b]],
            );
        }
        if sql.contains("OFFSET @offset ROWS") {
            let offset = match params.iter().find(|p| p.name == "offset") {
                Some(Param {
                    value: ParamValue::Value(SqlValue::Int(n)),
                    ..
                }) => *n as usize,
                _ => panic!("no @offset"),
            };
            let out = rows
                .get(offset)
                .map(|(k, _)| k.clone())
                .into_iter()
                .collect();
            return set(&key_cols, out);
        }
        if sql.contains("AS row_hash FROM") {
            let mut cols = key_cols.clone();
            cols.push("row_hash");
            let out = rows
                .iter()
                .map(|(k, c)| {
                    let mut r = k.clone();
                    r.push(SqlValue::Binary(row_hash(k, c)));
                    r
                })
                .collect();
            return set(&cols, out);
        }
        panic!("the table model cannot answer: {sql}");
    }
}
