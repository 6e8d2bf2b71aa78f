//! The bisection on in-memory tables: every kind of change at every position is found, and
//! only it.

use std::cmp::Ordering;

use super::*;
use crate::data::key::KeyPart;

/// A table in memory: rows (key, contents) kept in key order.
#[derive(Clone, Default)]
struct Mem {
    rows: Vec<(Key, String)>,
}

fn cmp_part(a: &KeyPart, b: &KeyPart) -> Ordering {
    match (a, b) {
        (KeyPart::Int(x), KeyPart::Int(y)) => x.cmp(y),
        (KeyPart::Text(x), KeyPart::Text(y)) => x.cmp(y),
        _ => panic!("the test model orders ints and texts only"),
    }
}

fn cmp_key(a: &Key, b: &Key) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| cmp_part(x, y))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

fn row_hash(key: &Key, contents: &str) -> Vec<u8> {
    // FNV-1a, spread to 32 bytes: enough to tell rows apart in a test.
    let mut out = Vec::new();
    for salt in 0u64..4 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt;
        for b in map_key(key).bytes().chain(contents.bytes()) {
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

impl Mem {
    fn ints(n: i64) -> Mem {
        Mem {
            rows: (0..n)
                .map(|k| (vec![KeyPart::Int(k * 10)], format!("row {k}")))
                .collect(),
        }
    }
    fn put(&mut self, key: Key, contents: &str) {
        self.rows.retain(|(k, _)| k != &key);
        self.rows.push((key, contents.to_owned()));
        self.rows.sort_by(|a, b| cmp_key(&a.0, &b.0));
    }
    fn delete(&mut self, key: &Key) {
        self.rows.retain(|(k, _)| k != key);
    }
    fn in_range<'a>(&'a self, r: &'a Range) -> impl Iterator<Item = &'a (Key, String)> + 'a {
        self.rows.iter().filter(move |(k, _)| {
            r.lo.as_ref().is_none_or(|lo| cmp_key(k, lo).is_gt())
                && r.hi.as_ref().is_none_or(|hi| cmp_key(k, hi).is_le())
        })
    }
}

struct Pair {
    source: Mem,
    target: Mem,
}

impl Pair {
    fn side(&self, side: Side) -> &Mem {
        match side {
            Side::Source => &self.source,
            Side::Target => &self.target,
        }
    }
}

impl RangeSource for Pair {
    fn range_hash(&mut self, side: Side, range: &Range) -> Result<RangeHash> {
        let mut h = RangeHash::default();
        for (k, c) in self.side(side).in_range(range) {
            let rh = row_hash(k, c);
            h.count += 1;
            h.sum_a += i64::from(i32::from_be_bytes([rh[0], rh[1], rh[2], rh[3]]));
            h.sum_b += i64::from(i32::from_be_bytes([rh[4], rh[5], rh[6], rh[7]]));
        }
        Ok(h)
    }
    fn key_at(&mut self, side: Side, range: &Range, offset: u64) -> Result<Option<Key>> {
        Ok(self
            .side(side)
            .in_range(range)
            .nth(offset as usize)
            .map(|(k, _)| k.clone()))
    }
    fn leaf_rows(&mut self, side: Side, range: &Range) -> Result<Vec<(Key, Vec<u8>)>> {
        Ok(self
            .side(side)
            .in_range(range)
            .map(|(k, c)| (k.clone(), row_hash(k, c)))
            .collect())
    }
}

fn int(k: i64) -> Key {
    vec![KeyPart::Int(k)]
}

fn diff(source: &Mem, target: &Mem, leaf: u64) -> Bisection {
    let mut pair = Pair {
        source: source.clone(),
        target: target.clone(),
    };
    let mut b = Bisection::new(vec![Range::default()]);
    assert!(
        b.run(&mut pair, leaf, usize::MAX, u64::MAX, &mut || false)
            .unwrap()
    );
    b
}

#[test]
fn identical_tables_cost_two_round_trips() {
    let t = Mem::ints(1000);
    let b = diff(&t, &t, 16);
    assert!(b.diffs.is_empty());
    assert_eq!(b.matched_rows, 1000);
    assert_eq!(
        b.cost,
        Cost {
            round_trips: 2,
            rows_read: 2
        }
    );
}

#[test]
fn empty_tables_are_equal_and_one_sided_tables_list_every_row() {
    let empty = Mem::default();
    assert!(diff(&empty, &empty, 4).diffs.is_empty());
    let three = Mem::ints(3);
    let b = diff(&empty, &three, 4);
    assert_eq!(
        b.diffs,
        vec![
            RowDiff::Extra(int(0)),
            RowDiff::Extra(int(10)),
            RowDiff::Extra(int(20))
        ]
    );
    let b = diff(&Mem::ints(40), &empty, 4);
    assert_eq!(b.diffs.len(), 40);
    assert!(b.diffs.iter().all(|d| matches!(d, RowDiff::Missing(_))));
    assert_eq!(b.diffs[0].key(), &int(0));
    assert_eq!(b.diffs[39].key(), &int(390));
}

#[test]
fn a_change_at_every_position_is_found_alone() {
    let source = Mem::ints(50);
    for leaf in [1, 3, 8] {
        for k in 0..50 {
            let mut changed = source.clone();
            changed.put(int(k * 10), "changed");
            let b = diff(&source, &changed, leaf);
            assert_eq!(
                b.diffs,
                vec![RowDiff::Changed(int(k * 10))],
                "leaf {leaf} row {k}"
            );
            assert_eq!(b.matched_rows, 49);

            let mut deleted = source.clone();
            deleted.delete(&int(k * 10));
            let b = diff(&source, &deleted, leaf);
            assert_eq!(
                b.diffs,
                vec![RowDiff::Missing(int(k * 10))],
                "leaf {leaf} row {k}"
            );

            // Inserted between rows, before the first and after the last.
            let mut inserted = source.clone();
            inserted.put(int(k * 10 - 5), "new");
            let b = diff(&source, &inserted, leaf);
            assert_eq!(
                b.diffs,
                vec![RowDiff::Extra(int(k * 10 - 5))],
                "leaf {leaf} row {k}"
            );
        }
        let mut after = source.clone();
        after.put(int(10_000), "new");
        assert_eq!(
            diff(&source, &after, leaf).diffs,
            vec![RowDiff::Extra(int(10_000))]
        );
    }
}

#[test]
fn every_row_different_is_every_row_listed() {
    let source = Mem::ints(100);
    let mut target = Mem::default();
    for k in 0..100 {
        target.put(int(k * 10), "other");
    }
    let b = diff(&source, &target, 8);
    assert_eq!(b.diffs.len(), 100);
    let keys: Vec<&Key> = b.diffs.iter().map(RowDiff::key).collect();
    let expected: Vec<Key> = (0..100).map(|k| int(k * 10)).collect();
    assert_eq!(keys, expected.iter().collect::<Vec<_>>());
}

#[test]
fn composite_keys_bisect_across_their_first_column() {
    let mut source = Mem::default();
    for a in 0..12 {
        for b in ["AA", "BB", "CC"] {
            source.put(vec![KeyPart::Int(a), KeyPart::Text(b.into())], "x");
        }
    }
    let mut target = source.clone();
    target.put(vec![KeyPart::Int(5), KeyPart::Text("BB".into())], "y");
    target.delete(&vec![KeyPart::Int(11), KeyPart::Text("CC".into())]);
    target.put(vec![KeyPart::Int(0), KeyPart::Text("A".into())], "new");
    let b = diff(&source, &target, 2);
    assert_eq!(
        b.diffs,
        vec![
            RowDiff::Extra(vec![KeyPart::Int(0), KeyPart::Text("A".into())]),
            RowDiff::Changed(vec![KeyPart::Int(5), KeyPart::Text("BB".into())]),
            RowDiff::Missing(vec![KeyPart::Int(11), KeyPart::Text("CC".into())]),
        ]
    );
}

#[test]
fn a_few_changes_in_a_big_table_read_few_rows() {
    let source = Mem::ints(20_000);
    let mut target = source.clone();
    for k in [3, 9_000, 19_999] {
        target.put(int(k * 10), "changed");
    }
    let b = diff(&source, &target, 64);
    assert_eq!(b.diffs.len(), 3);
    // Three paths of ~log2(20000/64) splits, three leaves: far fewer than 40,000 rows.
    assert!(b.cost.rows_read < 600, "{:?}", b.cost);
    assert!(b.cost.round_trips < 100, "{:?}", b.cost);
}

#[test]
fn a_bisection_cut_into_budgets_finds_the_same_rows() {
    let source = Mem::ints(500);
    let mut target = source.clone();
    for k in [0, 17, 250, 251, 499] {
        target.put(int(k * 10), "changed");
    }
    target.delete(&int(1000));
    let whole = diff(&source, &target, 4);
    let mut pair = Pair { source, target };
    let mut b = Bisection::new(vec![Range::default()]);
    let mut calls = 0;
    // Journaled and read back between calls, as the state is.
    while !b.run(&mut pair, 4, usize::MAX, 3, &mut || false).unwrap() {
        b = serde_json::from_str(&serde_json::to_string(&b).unwrap()).unwrap();
        calls += 1;
    }
    assert!(calls > 5);
    assert_eq!(b.diffs, whole.diffs);
    assert_eq!(b.cost, whole.cost);
}

#[test]
fn listing_stops_at_the_limit() {
    let source = Mem::ints(100);
    let b = {
        let mut pair = Pair {
            source: source.clone(),
            target: Mem::default(),
        };
        let mut b = Bisection::new(vec![Range::default()]);
        assert!(b.run(&mut pair, 4, 10, u64::MAX, &mut || false).unwrap());
        b
    };
    assert!(b.stopped_at_limit);
    assert!(
        b.diffs.len() >= 10 && b.diffs.len() < 14,
        "{}",
        b.diffs.len()
    );
}

#[test]
fn sampled_ranges_compare_only_themselves() {
    let source = Mem::ints(100);
    let mut target = source.clone();
    target.put(int(50), "changed"); // inside the first range
    target.put(int(700), "changed"); // outside both
    let mut pair = Pair { source, target };
    let ranges = vec![
        Range {
            lo: None,
            hi: Some(int(90)),
        },
        Range {
            lo: Some(int(400)),
            hi: Some(int(490)),
        },
    ];
    let mut b = Bisection::new(ranges);
    assert!(
        b.run(&mut pair, 4, usize::MAX, u64::MAX, &mut || false)
            .unwrap()
    );
    assert_eq!(b.diffs, vec![RowDiff::Changed(int(50))]);
    // Ten rows in the first range, nine in the second, one of them changed.
    assert_eq!(b.matched_rows, 18);
}

#[test]
fn range_hash_halves_subtract() {
    let a = RangeHash {
        count: 5,
        sum_a: 10,
        sum_b: -3,
    };
    let l = RangeHash {
        count: 2,
        sum_a: 12,
        sum_b: 4,
    };
    assert_eq!(
        a.minus(l),
        RangeHash {
            count: 3,
            sum_a: -2,
            sum_b: -7
        }
    );
}

/// A big table as sorted (key, row hash) pairs with prefix sums, so a range's hash costs two
/// binary searches: enough for a million rows in a debug test.
struct Prefixed {
    keys: Vec<i64>,
    hashes: Vec<Vec<u8>>,
    /// (count, sum_a, sum_b) of the rows before each index.
    before: Vec<(u64, i64, i64)>,
}

impl Prefixed {
    fn new(rows: Vec<(i64, String)>) -> Self {
        let mut keys = Vec::new();
        let mut hashes = Vec::new();
        let mut before = vec![(0, 0, 0)];
        for (k, c) in rows {
            let h = row_hash(&int(k), &c);
            let (n, a, b) = *before.last().unwrap();
            before.push((
                n + 1,
                a + i64::from(i32::from_be_bytes([h[0], h[1], h[2], h[3]])),
                b + i64::from(i32::from_be_bytes([h[4], h[5], h[6], h[7]])),
            ));
            keys.push(k);
            hashes.push(h);
        }
        Prefixed {
            keys,
            hashes,
            before,
        }
    }
    fn bounds(&self, r: &Range) -> (usize, usize) {
        let key = |k: &Option<Key>| match k.as_deref() {
            Some([KeyPart::Int(v)]) => Some(*v),
            None => None,
            other => panic!("{other:?}"),
        };
        let lo = key(&r.lo).map_or(0, |lo| self.keys.partition_point(|k| *k <= lo));
        let hi = key(&r.hi).map_or(self.keys.len(), |hi| {
            self.keys.partition_point(|k| *k <= hi)
        });
        (lo, hi.max(lo))
    }
}

struct BigPair(Prefixed, Prefixed);

impl BigPair {
    fn side(&self, s: Side) -> &Prefixed {
        match s {
            Side::Source => &self.0,
            Side::Target => &self.1,
        }
    }
}

impl RangeSource for BigPair {
    fn range_hash(&mut self, side: Side, range: &Range) -> Result<RangeHash> {
        let t = self.side(side);
        let (lo, hi) = t.bounds(range);
        let (a, b) = (t.before[lo], t.before[hi]);
        Ok(RangeHash {
            count: b.0 - a.0,
            sum_a: b.1 - a.1,
            sum_b: b.2 - a.2,
        })
    }
    fn key_at(&mut self, side: Side, range: &Range, offset: u64) -> Result<Option<Key>> {
        let t = self.side(side);
        let (lo, hi) = t.bounds(range);
        let i = lo + offset as usize;
        Ok((i < hi).then(|| int(t.keys[i])))
    }
    fn leaf_rows(&mut self, side: Side, range: &Range) -> Result<Vec<(Key, Vec<u8>)>> {
        let t = self.side(side);
        let (lo, hi) = t.bounds(range);
        Ok((lo..hi)
            .map(|i| (int(t.keys[i]), t.hashes[i].clone()))
            .collect())
    }
}

#[test]
fn a_hundredth_of_a_percent_changed_moves_over_fifty_times_fewer_rows() {
    const N: i64 = 200_000;
    let source: Vec<(i64, String)> = (0..N).map(|k| (k, format!("row {k}"))).collect();
    let mut target = source.clone();
    // 0.01 % of the rows, spread over the key space.
    let changed: Vec<i64> = (0..N / 10_000).map(|j| j * 9_973 + 17).collect();
    eprintln!("{} rows changed", changed.len());
    for k in &changed {
        target[*k as usize].1 = "changed".into();
    }
    let mut pair = BigPair(Prefixed::new(source), Prefixed::new(target));
    let mut b = Bisection::new(vec![Range::default()]);
    assert!(
        b.run(&mut pair, 64, usize::MAX, u64::MAX, &mut || false)
            .unwrap()
    );
    let found: Vec<Key> = b.diffs.iter().map(|d| d.key().clone()).collect();
    assert_eq!(found, changed.iter().map(|k| int(*k)).collect::<Vec<_>>());
    // Comparing every row would move 2 × N rows.
    let every_row = 2 * N as u64;
    eprintln!("{:?}: {}× fewer rows", b.cost, every_row / b.cost.rows_read);
    assert!(
        b.cost.rows_read * 50 <= every_row,
        "{:?}: {}× fewer rows",
        b.cost,
        every_row / b.cost.rows_read
    );
}

#[test]
fn a_call_stops_when_its_time_is_up_and_the_next_carries_on() {
    let source = Mem::ints(300);
    let mut target = source.clone();
    target.put(int(1230), "changed");
    let whole = diff(&source, &target, 4);
    let mut pair = Pair { source, target };
    let mut b = Bisection::new(vec![Range::default()]);
    // Time is up after two ranges in each call.
    let mut calls = 0;
    loop {
        let mut checks = 0;
        let mut stop = || {
            checks += 1;
            checks > 2
        };
        calls += 1;
        if b.run(&mut pair, 4, usize::MAX, u64::MAX, &mut stop)
            .unwrap()
        {
            break;
        }
    }
    assert!(calls > 3, "{calls}");
    assert_eq!(b.diffs, whole.diffs);
}
