//! The bisecting diff, over any [`RangeSource`]: a key range is hashed on both sides; where the
//! hashes differ it is split at a key read from one side and each half compared again, until a
//! differing range holds at most `leaf_rows` rows, whose (key, row hash) pairs are then read
//! from both sides and matched by key. Only range hashes, split keys and leaf pairs cross the
//! network, never whole rows.
//!
//! The work is a stack of pending ranges, journaled between step calls: [`Bisection::run`]
//! stops after a budget of round trips and carries on from the same stack in the next call.
//!
//! A split hashes only the left half on each side; the right half's hash is the parent's minus
//! the left's (a count and sums, see [`RangeHash`]), so a split costs one key read and two
//! hash queries.

use std::collections::HashMap;

use ferry_sdk::Result;
use serde::{Deserialize, Serialize};

use super::key::{Key, map_key};

/// A range's fingerprint on one side: its row count and two sums of 32-bit slices of its rows'
/// SHA-256 hashes. Sums, unlike CHECKSUM_AGG (whose algorithm the docs do not state), are
/// documented exact arithmetic, so the right half of a split is the parent minus the left half.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeHash {
    pub count: u64,
    pub sum_a: i64,
    pub sum_b: i64,
}

impl RangeHash {
    /// The hash of the rows in `self` but not in `part` (a sub-range of it).
    pub fn minus(self, part: RangeHash) -> RangeHash {
        RangeHash {
            count: self.count.saturating_sub(part.count),
            sum_a: self.sum_a.wrapping_sub(part.sum_a),
            sum_b: self.sum_b.wrapping_sub(part.sum_b),
        }
    }
}

/// Keys above `lo` (exclusive) up to `hi` (inclusive); `None` is unbounded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Range {
    pub lo: Option<Key>,
    pub hi: Option<Key>,
}

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    Source,
    Target,
}

/// What the bisection reads; each call is one round trip.
pub trait RangeSource {
    /// The range's [`RangeHash`] on `side`.
    fn range_hash(&mut self, side: Side, range: &Range) -> Result<RangeHash>;
    /// The key of the row at `offset` (0-based, in key order) within `range` on `side`.
    fn key_at(&mut self, side: Side, range: &Range, offset: u64) -> Result<Option<Key>>;
    /// Every (key, row hash) pair in `range` on `side`.
    fn leaf_rows(&mut self, side: Side, range: &Range) -> Result<Vec<(Key, Vec<u8>)>>;
}

/// A range still to compare, with its hashes when a split already knows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    pub range: Range,
    pub source: Option<RangeHash>,
    pub target: Option<RangeHash>,
}

/// A row that differs, by key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "key", rename_all = "snake_case")]
pub enum RowDiff {
    /// On both sides with different contents.
    Changed(Key),
    /// On the source only.
    Missing(Key),
    /// On the target only.
    Extra(Key),
}

impl RowDiff {
    pub fn key(&self) -> &Key {
        match self {
            RowDiff::Changed(k) | RowDiff::Missing(k) | RowDiff::Extra(k) => k,
        }
    }
}

/// What the comparison cost: the benchmark reports these.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cost {
    /// Queries sent (each one round trip).
    pub round_trips: u64,
    /// Rows that came back over the network, both sides.
    pub rows_read: u64,
}

impl Cost {
    pub fn add(&mut self, other: Cost) {
        self.round_trips += other.round_trips;
        self.rows_read += other.rows_read;
    }
}

/// A table's bisection, journaled between calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Bisection {
    /// Ranges still to compare; the last is next (left halves first, so keys come in order).
    pub stack: Vec<Pending>,
    /// Differing rows found, in key order within each starting range.
    pub diffs: Vec<RowDiff>,
    /// Rows compared and found equal (by source count).
    pub matched_rows: u64,
    /// Set when `max_listed` differences were found: the ranges left were not compared.
    pub stopped_at_limit: bool,
    pub cost: Cost,
}

impl Bisection {
    /// A bisection over `ranges`, compared in the order given.
    pub fn new(ranges: Vec<Range>) -> Self {
        let stack = ranges
            .into_iter()
            .rev()
            .map(|range| Pending {
                range,
                source: None,
                target: None,
            })
            .collect();
        Bisection {
            stack,
            ..Bisection::default()
        }
    }

    pub fn finished(&self) -> bool {
        self.stack.is_empty() || self.stopped_at_limit
    }

    /// Compares ranges until the stack is empty, `max_listed` differences are found,
    /// `budget` round trips were spent or `stop` says time is up (a pending range is finished
    /// first, so a call may go up to three over). Returns whether the bisection is finished.
    pub fn run(
        &mut self,
        src: &mut dyn RangeSource,
        leaf_rows: u64,
        max_listed: usize,
        budget: u64,
        stop: &mut dyn FnMut() -> bool,
    ) -> Result<bool> {
        let leaf_rows = leaf_rows.max(1);
        let start = self.cost.round_trips;
        while self.cost.round_trips - start < budget && !self.finished() && !stop() {
            if self.diffs.len() >= max_listed {
                self.stopped_at_limit = true;
                break;
            }
            let Some(p) = self.stack.pop() else { break };
            self.compare(src, p, leaf_rows)?;
        }
        if self.diffs.len() >= max_listed && !self.stack.is_empty() {
            self.stopped_at_limit = true;
        }
        Ok(self.finished())
    }

    fn hash(&mut self, src: &mut dyn RangeSource, side: Side, r: &Range) -> Result<RangeHash> {
        self.cost.round_trips += 1;
        self.cost.rows_read += 1;
        src.range_hash(side, r)
    }

    fn compare(&mut self, src: &mut dyn RangeSource, p: Pending, leaf_rows: u64) -> Result<()> {
        let s = match p.source {
            Some(h) => h,
            None => self.hash(src, Side::Source, &p.range)?,
        };
        let t = match p.target {
            Some(h) => h,
            None => self.hash(src, Side::Target, &p.range)?,
        };
        if s == t {
            self.matched_rows += s.count;
            return Ok(());
        }
        if s.count.max(t.count) <= leaf_rows {
            return self.leaf(src, &p.range);
        }
        // Split on the side with more rows: its row at the middle offset is strictly before
        // its last row in the range, so both halves are smaller than the range on that side.
        let (side, n) = if s.count >= t.count {
            (Side::Source, s.count)
        } else {
            (Side::Target, t.count)
        };
        self.cost.round_trips += 1;
        let Some(mid) = src.key_at(side, &p.range, n / 2 - 1)? else {
            // The side changed under us (a live target): compare the range row by row.
            return self.leaf(src, &p.range);
        };
        self.cost.rows_read += 1;
        let left = Range {
            lo: p.range.lo.clone(),
            hi: Some(mid.clone()),
        };
        let right = Range {
            lo: Some(mid),
            hi: p.range.hi,
        };
        let ls = self.hash(src, Side::Source, &left)?;
        let lt = self.hash(src, Side::Target, &left)?;
        self.stack.push(Pending {
            range: right,
            source: Some(s.minus(ls)),
            target: Some(t.minus(lt)),
        });
        self.stack.push(Pending {
            range: left,
            source: Some(ls),
            target: Some(lt),
        });
        Ok(())
    }

    fn leaf(&mut self, src: &mut dyn RangeSource, range: &Range) -> Result<()> {
        let source = src.leaf_rows(Side::Source, range)?;
        let target = src.leaf_rows(Side::Target, range)?;
        self.cost.round_trips += 2;
        self.cost.rows_read += (source.len() + target.len()) as u64;
        // Matched by key, not by position: the two servers may order text keys differently.
        let mut on_target: HashMap<String, (usize, &Vec<u8>)> = target
            .iter()
            .enumerate()
            .map(|(i, (k, h))| (map_key(k), (i, h)))
            .collect();
        for (k, h) in &source {
            match on_target.remove(&map_key(k)) {
                Some((_, th)) if th == h => self.matched_rows += 1,
                Some(_) => self.diffs.push(RowDiff::Changed(k.clone())),
                None => self.diffs.push(RowDiff::Missing(k.clone())),
            }
        }
        let mut extra: Vec<(usize, &Key)> = on_target
            .into_values()
            .map(|(i, _)| (i, &target[i].0))
            .collect();
        extra.sort_by_key(|(i, _)| *i);
        self.diffs
            .extend(extra.into_iter().map(|(_, k)| RowDiff::Extra(k.clone())));
        Ok(())
    }
}

#[cfg(test)]
#[path = "bisect_tests.rs"]
mod tests;
