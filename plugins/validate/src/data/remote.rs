//! [`RangeSource`] over the two servers: each call one query through the step's labels.

use ferry_sdk::prelude::*;
use ferry_sdk::{QueryLimits, SqlValue};

use super::bisect::{Range, RangeHash, RangeSource, Side};
use super::encode::Column;
use super::key::{Key, KeyPart};
use super::statements;
use crate::config::Config;
use crate::sql::{Server, read};

/// One row of hashes or one key.
const ONE: QueryLimits = QueryLimits {
    max_rows: 1,
    max_bytes: 1 << 20,
};

/// A table on both servers.
pub struct Remote<'a, 'h> {
    pub cx: &'a mut Context<'h, Config>,
    /// `[db].[schema].[table]` on the source and on the target.
    pub source_table: String,
    pub target_table: String,
    pub key: &'a [String],
    pub columns: &'a [Column],
    /// Most rows a leaf may hold (a range's count can grow on a live target between the hash
    /// and the read: twice the leaf size is allowed for).
    pub leaf_limit: u32,
}

fn server(side: Side) -> Server {
    match side {
        Side::Source => Server::Source,
        Side::Target => Server::Target,
    }
}

fn key_of(values: &[SqlValue]) -> Key {
    values.iter().map(KeyPart::from).collect()
}

impl Remote<'_, '_> {
    fn table(&self, side: Side) -> &str {
        match side {
            Side::Source => &self.source_table,
            Side::Target => &self.target_table,
        }
    }
}

/// The key of the row at `offset` in key order within `range` of `table` on `server`.
pub fn key_at(
    cx: &mut Context<'_, Config>,
    server: Server,
    table: &str,
    key: &[String],
    range: &Range,
    offset: u64,
) -> Result<Option<Key>> {
    let (sql, params) = statements::key_at(table, key, range, offset);
    let rows = read(cx, server, &format!("a key of {table}"), &sql, &params, ONE)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let values = rows.values(0);
    Ok(Some(key_of(&values[..key.len().min(values.len())])))
}

impl RangeSource for Remote<'_, '_> {
    fn range_hash(&mut self, side: Side, range: &Range) -> Result<RangeHash> {
        let (sql, params) = statements::range_hash(self.table(side), self.key, self.columns, range);
        let what = format!("a key range's hash of {}", self.table(side));
        let rows = read(self.cx, server(side), &what, &sql, &params, ONE)?;
        // SUM over no rows is NULL, read as 0.
        Ok(rows
            .iter()
            .next()
            .map_or(RangeHash::default(), |r| RangeHash {
                count: u64::try_from(r.int("row_count")).unwrap_or(0),
                sum_a: r.int("sum_a"),
                sum_b: r.int("sum_b"),
            }))
    }

    fn key_at(&mut self, side: Side, range: &Range, offset: u64) -> Result<Option<Key>> {
        let (sql, params) = statements::key_at(self.table(side), self.key, range, offset);
        let what = format!("a split key of {}", self.table(side));
        let rows = read(self.cx, server(side), &what, &sql, &params, ONE)?;
        Ok((!rows.is_empty())
            .then(|| key_of(&rows.values(0)[..self.key.len().min(rows.values(0).len())])))
    }

    fn leaf_rows(&mut self, side: Side, range: &Range) -> Result<Vec<(Key, Vec<u8>)>> {
        let (sql, params) = statements::leaf(self.table(side), self.key, self.columns, range);
        let what = format!("the row hashes of a key range of {}", self.table(side));
        let limits = QueryLimits {
            max_rows: self.leaf_limit,
            max_bytes: 32 << 20,
        };
        let rows = read(self.cx, server(side), &what, &sql, &params, limits)?;
        let n = self.key.len();
        let mut out = Vec::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            let values = rows.values(i);
            let hash = match r.value("row_hash") {
                Some(SqlValue::Binary(b)) => b.clone(),
                other => {
                    return Err(Error::failed(format!(
                        "{what}: the row hash came back as {other:?}, not binary"
                    )));
                }
            };
            out.push((key_of(&values[..n.min(values.len())]), hash));
        }
        Ok(out)
    }
}
