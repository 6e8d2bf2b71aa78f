//! Result rows from tiberius to the WIT `sql-value`, within the query's row and byte limits.

use futures_util::TryStreamExt;
use tiberius::{ColumnData, ColumnType, QueryItem};

use super::Prepared;
use crate::bindings::ferry::plugin::tsql::{Column, QueryLimits, QueryResult, RowSet, SqlValue};

fn type_name(t: ColumnType) -> &'static str {
    match t {
        ColumnType::Null => "null",
        ColumnType::Bit | ColumnType::Bitn => "bit",
        ColumnType::Int1 => "tinyint",
        ColumnType::Int2 => "smallint",
        ColumnType::Int4 | ColumnType::Intn => "int",
        ColumnType::Int8 => "bigint",
        ColumnType::Float4 => "real",
        ColumnType::Float8 | ColumnType::Floatn => "float",
        ColumnType::Money | ColumnType::Money4 => "money",
        ColumnType::Datetime | ColumnType::Datetime4 | ColumnType::Datetimen => "datetime",
        ColumnType::Guid => "uniqueidentifier",
        ColumnType::Decimaln | ColumnType::Numericn => "decimal",
        ColumnType::Daten => "date",
        ColumnType::Timen => "time",
        ColumnType::Datetime2 => "datetime2",
        ColumnType::DatetimeOffsetn => "datetimeoffset",
        ColumnType::BigVarBin | ColumnType::BigBinary | ColumnType::Image => "varbinary",
        ColumnType::BigVarChar | ColumnType::BigChar | ColumnType::Text => "varchar",
        ColumnType::NVarchar | ColumnType::NChar | ColumnType::NText => "nvarchar",
        ColumnType::Xml => "xml",
        ColumnType::Udt => "udt",
        ColumnType::SSVariant => "sql_variant",
    }
}

/// `YYYY-MM-DD` for days since 0001-01-01 (719,162 days before 1970-01-01): tiberius without
/// its chrono feature gives day counts.
fn date(days: i64) -> String {
    let (y, m, d) = ferry_sas::civil_from_days(days - 719_162);
    format!("{y:04}-{m:02}-{d:02}")
}

fn time(increments: u64, scale: u8) -> String {
    let ticks = increments * 10u64.pow(7u32.saturating_sub(u32::from(scale)));
    let secs = ticks / 10_000_000;
    format!(
        "{:02}:{:02}:{:02}.{:07}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        ticks % 10_000_000
    )
}

/// 693,595 days from 0001-01-01 to 1900-01-01, the epoch of datetime and smalldatetime.
const DAYS_TO_1900: i64 = 693_595;

fn convert(v: ColumnData<'static>) -> SqlValue {
    match v {
        ColumnData::U8(x) => x.map_or(SqlValue::Null, |x| SqlValue::Int(i64::from(x))),
        ColumnData::I16(x) => x.map_or(SqlValue::Null, |x| SqlValue::Int(i64::from(x))),
        ColumnData::I32(x) => x.map_or(SqlValue::Null, |x| SqlValue::Int(i64::from(x))),
        ColumnData::I64(x) => x.map_or(SqlValue::Null, SqlValue::Int),
        ColumnData::F32(x) => x.map_or(SqlValue::Null, |x| SqlValue::Float(f64::from(x))),
        ColumnData::F64(x) => x.map_or(SqlValue::Null, SqlValue::Float),
        ColumnData::Bit(x) => x.map_or(SqlValue::Null, SqlValue::Bit),
        ColumnData::String(x) => x.map_or(SqlValue::Null, |s| SqlValue::Text(s.into_owned())),
        ColumnData::Guid(x) => x.map_or(SqlValue::Null, |g| {
            SqlValue::Guid(g.to_string().to_uppercase())
        }),
        ColumnData::Binary(x) => x.map_or(SqlValue::Null, |b| SqlValue::Binary(b.into_owned())),
        ColumnData::Numeric(x) => x.map_or(SqlValue::Null, |n| SqlValue::Decimal(n.to_string())),
        ColumnData::Xml(x) => x.map_or(SqlValue::Null, |x| SqlValue::Text(x.to_string())),
        ColumnData::DateTime(x) => x.map_or(SqlValue::Null, |d| {
            let ms = u64::from(d.seconds_fragments()) * 1000 / 300;
            SqlValue::Datetime(format!(
                "{}T{}",
                date(DAYS_TO_1900 + i64::from(d.days())),
                time(ms * 10_000, 7)
            ))
        }),
        ColumnData::SmallDateTime(x) => x.map_or(SqlValue::Null, |d| {
            SqlValue::Datetime(format!(
                "{}T{}",
                date(DAYS_TO_1900 + i64::from(d.days())),
                time(u64::from(d.seconds_fragments()) * 600_000_000, 7)
            ))
        }),
        ColumnData::Time(x) => x.map_or(SqlValue::Null, |t| {
            SqlValue::Datetime(time(t.increments(), t.scale()))
        }),
        ColumnData::Date(x) => x.map_or(SqlValue::Null, |d| {
            SqlValue::Datetime(date(i64::from(d.days())))
        }),
        ColumnData::DateTime2(x) => x.map_or(SqlValue::Null, |d| {
            SqlValue::Datetime(format!(
                "{}T{}",
                date(i64::from(d.date().days())),
                time(d.time().increments(), d.time().scale())
            ))
        }),
        ColumnData::DateTimeOffset(x) => x.map_or(SqlValue::Null, |d| {
            let dt = d.datetime2();
            let off = d.offset();
            SqlValue::Datetime(format!(
                "{}T{}{}{:02}:{:02}",
                date(i64::from(dt.date().days())),
                time(dt.time().increments(), dt.time().scale()),
                if off < 0 { '-' } else { '+' },
                off.abs() / 60,
                off.abs() % 60
            ))
        }),
    }
}

fn size(v: &SqlValue) -> usize {
    match v {
        SqlValue::Text(s) | SqlValue::Decimal(s) | SqlValue::Datetime(s) | SqlValue::Guid(s) => {
            s.len()
        }
        SqlValue::Binary(b) => b.len(),
        _ => 8,
    }
}

/// Runs a query and keeps rows until `limits` are reached; the rest is read and dropped.
pub(super) async fn collect<S>(
    conn: &mut tiberius::Client<S>,
    p: &Prepared,
    limits: QueryLimits,
) -> Result<QueryResult, tiberius::error::Error>
where
    S: futures_util::AsyncRead + futures_util::AsyncWrite + Unpin + Send,
{
    let mut stream = p.query().query(conn).await?;
    let mut sets: Vec<RowSet> = Vec::new();
    let (mut rows, mut bytes) = (0u32, 0usize);
    while let Some(item) = stream.try_next().await? {
        match item {
            QueryItem::Metadata(meta) => sets.push(RowSet {
                columns: meta
                    .columns()
                    .iter()
                    .map(|c| Column {
                        name: c.name().to_owned(),
                        sql_type: type_name(c.column_type()).to_owned(),
                    })
                    .collect(),
                rows: Vec::new(),
                truncated: false,
            }),
            QueryItem::Row(row) => {
                let Some(set) = sets.last_mut() else { continue };
                if rows >= limits.max_rows || bytes >= limits.max_bytes as usize {
                    set.truncated = true;
                    continue;
                }
                let values: Vec<SqlValue> = row.into_iter().map(convert).collect();
                bytes += values.iter().map(size).sum::<usize>();
                rows += 1;
                set.rows.push(values);
            }
        }
    }
    Ok(QueryResult {
        sets,
        messages: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates() {
        assert_eq!(super::date(0), "0001-01-01");
        assert_eq!(super::date(739_945), "2026-11-26");
        assert_eq!(super::time(495_071_234_567, 7), "13:45:07.1234567");
    }
}
