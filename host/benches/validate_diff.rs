//! The `validate` plugin's bisecting diff against comparing every row (issue 17's benchmark):
//! two emulated servers hold the same table (`FERRY_BENCH_ROWS` rows, 5,000,000 by default:
//! about 1 GiB at SQL Server's ~200 bytes a row of this shape), 0.01 % of the rows are then
//! changed on the target only (half updated, half deleted, past the change log), and in the
//! same run
//! (a) the plugin's own bisection (`validate::data::bisect`, with the plugin's statements from
//!     `validate::data::statements`) runs over tiberius, cut into top ranges as `depth = "full"`
//!     cuts a table, and must find exactly the changed keys;
//! (b) every row is read from both sides in key order over tiberius and compared.
//! Printed: rows moved, round trips and time of each, and the ratio of rows moved.
//! Run: `cargo bench -p ferry --bench validate_diff` (`FERRY_BENCH_ROWS=200000` for a quick
//! run). The plugin is driven directly rather than through `ferry apply`, so the figures are
//! the diff's, without a restore of a 1 GiB database before it.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use ferry_emulator::instance::Tamper;
use ferry_emulator::{Personality, Server, ServerOptions, ServerTls, TlsMode};
use ferry_sdk::{ParamValue, SqlValue};
use futures_util::TryStreamExt as _;
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt as _};
use validate::data::bisect::{Bisection, Range, RangeHash, RangeSource, RowDiff, Side};
use validate::data::encode::Column;
use validate::data::key::{Key, KeyPart};
use validate::data::statements;
use validate::data::table::sample_slices;

const PASSWORD: &str = "Bench#validate-1";
const TABLE: &str = "[Bench].[dbo].[Big]";
/// The plugin's defaults: leaf ranges of 64 rows, top ranges of 1,000,000.
const LEAF_ROWS: u64 = 64;
const TOP_RANGE_ROWS: u64 = 1_000_000;

type Client = tiberius::Client<Compat<TcpStream>>;

async fn server(dir: &std::path::Path, name: &str, certs: Arc<ServerTls>) -> Server {
    let options = ServerOptions {
        personality: Personality::ManagedInstance {
            name: format!("{name}.database.windows.net"),
        },
        tls: TlsMode::Required,
        logins: HashMap::from([("sa".to_owned(), PASSWORD.to_owned())]),
        access_tokens: HashMap::new(),
        redirect: None,
        data_dir: dir.join(name),
    };
    Server::start("127.0.0.1:0".parse().unwrap(), options, certs)
        .await
        .unwrap()
}

async fn connect(addr: std::net::SocketAddr, ca: &std::path::Path) -> Client {
    let mut config = tiberius::Config::new();
    config.host("localhost");
    config.port(addr.port());
    config.authentication(tiberius::AuthMethod::sql_server("sa", PASSWORD));
    config.encryption(tiberius::EncryptionLevel::Required);
    config.trust_cert_ca(ca.to_str().unwrap());
    // A hash over a million-row range can take longer than tiberius' default 30 s.
    config.command_timeout(None);
    let tcp = TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    tiberius::Client::connect(config, tcp.compat_write())
        .await
        .unwrap()
}

/// The table on one server, its rows made server-side (a recursive CTE straight into the
/// emulator's SQLite table, so a million rows take seconds, not a million INSERTs).
async fn seed(s: &Server, rows: u64) {
    s.run_sql(
        "CREATE DATABASE Bench; CREATE TABLE Bench.dbo.Big (Id bigint NOT NULL PRIMARY KEY, \
         Qty int NOT NULL, Note nvarchar(100) NULL)",
    )
    .unwrap();
    let filler = "x".repeat(80);
    let insert = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) \
         SELECT i, i % 1000, 'row ' || i || ' {filler}' FROM n"
    );
    let n = s
        .tamper("Bench", "dbo", "Big", &Tamper::Insert(insert))
        .await
        .unwrap();
    assert_eq!(n, rows);
}

/// SQL with the plugin's named parameters as tiberius' positional ones, and their values.
fn positional(sql: &str, params: &[ferry_sdk::Param]) -> (String, Vec<i64>) {
    let mut sql = sql.to_owned();
    let mut order: Vec<(usize, &ferry_sdk::Param)> = params.iter().enumerate().collect();
    // Longest names first, so `@lo1` never rewrites part of `@lo10`.
    order.sort_by_key(|(_, p)| std::cmp::Reverse(p.name.len()));
    for (i, p) in &order {
        sql = sql.replace(&format!("@{}", p.name), &format!("@P{}", i + 1));
    }
    let values = params
        .iter()
        .map(|p| match &p.value {
            ParamValue::Value(SqlValue::Int(n)) => *n,
            other => panic!("the bench's keys are bigint; parameter {other:?}"),
        })
        .collect();
    (sql, values)
}

fn int(row: &tiberius::Row, i: usize) -> Option<i64> {
    row.try_get::<i64, _>(i)
        .ok()
        .flatten()
        .or_else(|| row.try_get::<i32, _>(i).ok().flatten().map(i64::from))
}

/// The plugin's [`RangeSource`] over two tiberius connections.
struct Tds<'a> {
    rt: &'a tokio::runtime::Runtime,
    source: &'a mut Client,
    target: &'a mut Client,
    key: Vec<String>,
    columns: Vec<Column>,
}

impl Tds<'_> {
    fn rows(&mut self, side: Side, sql: &str, params: &[ferry_sdk::Param]) -> Vec<tiberius::Row> {
        let (sql, values) = positional(sql, params);
        let client = match side {
            Side::Source => &mut *self.source,
            Side::Target => &mut *self.target,
        };
        self.rt.block_on(async {
            let binds: Vec<&dyn tiberius::ToSql> =
                values.iter().map(|v| v as &dyn tiberius::ToSql).collect();
            client
                .query(sql.as_str(), &binds)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .into_first_result()
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        })
    }
}

impl RangeSource for Tds<'_> {
    fn range_hash(&mut self, side: Side, range: &Range) -> ferry_sdk::Result<RangeHash> {
        let (sql, p) = statements::range_hash(TABLE, &self.key, &self.columns, range);
        let rows = self.rows(side, &sql, &p);
        Ok(rows.first().map_or(RangeHash::default(), |r| RangeHash {
            count: int(r, 0).unwrap_or(0) as u64,
            sum_a: int(r, 1).unwrap_or(0),
            sum_b: int(r, 2).unwrap_or(0),
        }))
    }

    fn key_at(&mut self, side: Side, range: &Range, offset: u64) -> ferry_sdk::Result<Option<Key>> {
        let (sql, p) = statements::key_at(TABLE, &self.key, range, offset);
        let rows = self.rows(side, &sql, &p);
        Ok(rows
            .first()
            .and_then(|r| int(r, 0))
            .map(|k| vec![KeyPart::Int(k)]))
    }

    fn leaf_rows(&mut self, side: Side, range: &Range) -> ferry_sdk::Result<Vec<(Key, Vec<u8>)>> {
        let (sql, p) = statements::leaf(TABLE, &self.key, &self.columns, range);
        let rows = self.rows(side, &sql, &p);
        Ok(rows
            .iter()
            .map(|r| {
                let key = vec![KeyPart::Int(int(r, 0).unwrap())];
                (key, r.get::<&[u8], _>(1).unwrap_or_default().to_vec())
            })
            .collect())
    }
}

fn column(name: &str, t: &str) -> Column {
    Column {
        name: name.into(),
        type_name: t.into(),
        assembly: false,
    }
}

/// (a): the bisection, as the plugin runs it at `depth = "full"`. Keys found, rows moved,
/// round trips.
fn bisect(tds: &mut Tds<'_>, rows: u64) -> (BTreeSet<i64>, u64, u64) {
    let slices = sample_slices(rows, TOP_RANGE_ROWS, u64::MAX);
    let mut boundaries = HashMap::new();
    let (mut trips, mut moved) = (0, 0);
    for &(_, end) in &slices {
        if end < rows {
            let k = tds
                .key_at(Side::Source, &Range::default(), end - 1)
                .unwrap();
            trips += 1;
            moved += 1;
            boundaries.insert(end, k);
        }
    }
    let at = |o: u64| boundaries.get(&o).cloned().flatten();
    let ranges: Vec<Range> = slices
        .iter()
        .map(|&(a, b)| Range {
            lo: if a == 0 { None } else { at(a) },
            hi: if b >= rows { None } else { at(b) },
        })
        .collect();
    let mut b = Bisection::new(ranges);
    let done = b
        .run(tds, LEAF_ROWS, usize::MAX, u64::MAX, &mut || false)
        .unwrap();
    assert!(done);
    let keys = b
        .diffs
        .iter()
        .map(|d| match d {
            RowDiff::Changed(k) | RowDiff::Missing(k) | RowDiff::Extra(k) => match k[0] {
                KeyPart::Int(i) => i,
                ref other => panic!("key {other:?}"),
            },
        })
        .collect();
    (keys, moved + b.cost.rows_read, trips + b.cost.round_trips)
}

/// (b): every row of both sides in key order, compared. Keys that differ, rows moved.
fn every_row(rt: &tokio::runtime::Runtime, s: &mut Client, t: &mut Client) -> (BTreeSet<i64>, u64) {
    let sql = "SELECT Id, Qty, Note FROM Bench.dbo.Big ORDER BY Id";
    rt.block_on(async {
        let mut a = s.query(sql, &[]).await.unwrap().into_row_stream();
        let mut b = t.query(sql, &[]).await.unwrap().into_row_stream();
        let row = |r: tiberius::Row| {
            (
                int(&r, 0).unwrap(),
                int(&r, 1),
                r.get::<&str, _>(2).map(str::to_owned),
            )
        };
        let (mut x, mut y) = (
            a.try_next().await.unwrap().map(row),
            b.try_next().await.unwrap().map(row),
        );
        let (mut diffs, mut moved) = (BTreeSet::new(), 0u64);
        loop {
            match (&x, &y) {
                (None, None) => break,
                (Some(l), Some(r)) if l.0 == r.0 => {
                    if l != r {
                        diffs.insert(l.0);
                    }
                    moved += 2;
                    x = a.try_next().await.unwrap().map(row);
                    y = b.try_next().await.unwrap().map(row);
                }
                (Some(l), r) if r.as_ref().is_none_or(|r| l.0 < r.0) => {
                    diffs.insert(l.0);
                    moved += 1;
                    x = a.try_next().await.unwrap().map(row);
                }
                (_, Some(r)) => {
                    diffs.insert(r.0);
                    moved += 1;
                    y = b.try_next().await.unwrap().map(row);
                }
                (Some(_), None) => unreachable!("handled above"),
            }
        }
        (diffs, moved)
    })
}

fn main() {
    let rows: u64 = std::env::var("FERRY_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000_000)
        .max(20_000);
    let servers_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let certs = Arc::new(ServerTls::generate(&[]).unwrap());
    let t = Instant::now();
    let (src, tgt) = servers_rt.block_on(async {
        let src = server(data.path(), "src", certs.clone()).await;
        let tgt = server(data.path(), "tgt", certs.clone()).await;
        seed(&src, rows).await;
        seed(&tgt, rows).await;
        (src, tgt)
    });
    // 0.01 %: one row in 20,000 updated and one deleted, on the target only.
    let changed: BTreeSet<i64> = (1..=rows as i64)
        .filter(|i| i % 20_000 == 1 || i % 20_000 == 10_001)
        .collect();
    servers_rt.block_on(async {
        let update = Tamper::Update {
            set: "Qty = Qty + 1".into(),
            filter: Some("Id % 20000 = 1".into()),
        };
        tgt.tamper("Bench", "dbo", "Big", &update).await.unwrap();
        let delete = Tamper::Delete("Id % 20000 = 10001".into());
        tgt.tamper("Bench", "dbo", "Big", &delete).await.unwrap();
    });
    println!(
        "validate_diff: {rows} rows on each side (~{} MiB at 200 bytes a row), {} changed on the target; seeded in {:.1} s",
        (rows * 200) >> 20,
        changed.len(),
        t.elapsed().as_secs_f64()
    );
    let ca = data.path().join("ca.pem");
    std::fs::write(&ca, src.ca_pem()).unwrap();
    let (mut s, mut g) =
        client_rt.block_on(async { (connect(src.addr, &ca).await, connect(tgt.addr, &ca).await) });

    let t = Instant::now();
    let mut tds = Tds {
        rt: &client_rt,
        source: &mut s,
        target: &mut g,
        key: vec!["Id".into()],
        columns: vec![
            column("Id", "bigint"),
            column("Qty", "int"),
            column("Note", "nvarchar"),
        ],
    };
    let (found, moved_a, trips_a) = bisect(&mut tds, rows);
    let time_a = t.elapsed().as_secs_f64();
    assert_eq!(
        found, changed,
        "the bisection finds exactly the changed keys"
    );

    let t = Instant::now();
    let (all, moved_b) = every_row(&client_rt, &mut s, &mut g);
    let time_b = t.elapsed().as_secs_f64();
    assert_eq!(all, changed, "comparing every row finds the same keys");

    println!("| diff | rows moved | round trips | time (s) |");
    println!("|---|---:|---:|---:|");
    println!("| bisecting (validate) | {moved_a} | {trips_a} | {time_a:.1} |");
    println!("| every row | {moved_b} | 2 | {time_b:.1} |");
    println!(
        "rows moved: {:.0}x fewer (goal: 50x); time: {:.2}x",
        moved_b as f64 / moved_a.max(1) as f64,
        time_b / time_a.max(1e-9)
    );
    drop((src, tgt));
}
