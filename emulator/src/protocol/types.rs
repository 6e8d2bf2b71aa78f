//! T-SQL types and values as TDS encodes them in COLMETADATA and ROW tokens (MS-TDS 2.2.5).

/// SQL_Latin1_General_CP1_CI_AS: LCID 0x0409, case- and accent-insensitive flags, sort id 52.
/// The default collation of SQL Server and MI.
pub const DEFAULT_COLLATION: [u8; 5] = [0x09, 0x04, 0xD0, 0x00, 0x34];

/// A declared column type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlType {
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Bit,
    Float,
    /// decimal(precision, scale)
    Decimal(u8, u8),
    /// nvarchar(n) in characters; None is nvarchar(max)
    NVarChar(Option<u16>),
    /// varchar(n); None is varchar(max)
    VarChar(Option<u16>),
    /// varbinary(n); None is varbinary(max)
    VarBinary(Option<u16>),
    UniqueIdentifier,
    Date,
    /// datetime2(7)
    DateTime2,
    SqlVariant,
}

/// A value. `Null` fits any type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bit(bool),
    Int(i64),
    Float(f64),
    /// An unscaled integer and its scale: 12.50 is (1250, 2).
    Decimal(i128, u8),
    Text(String),
    Binary(Vec<u8>),
    /// A GUID in its textual byte order.
    Guid([u8; 16]),
    /// Days since 0001-01-01.
    Date(u32),
    /// Days since 0001-01-01 and 100 ns ticks since midnight.
    DateTime2(u32, u64),
    /// sql_variant: the base type and value.
    Variant(Box<(SqlType, Value)>),
}

/// PLP (partially length-prefixed) marker for max types.
const PLP_NULL: u64 = u64::MAX;

fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

/// varchar carries single-byte code page 1252 text; characters outside Latin-1 become `?` as
/// SQL Server converts them.
fn latin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| if (c as u32) < 256 { c as u8 } else { b'?' })
        .collect()
}

fn decimal_len(precision: u8) -> u8 {
    match precision {
        0..=9 => 5,
        10..=19 => 9,
        20..=28 => 13,
        _ => 17,
    }
}

impl SqlType {
    /// TYPE_INFO as COLMETADATA carries it.
    pub fn type_info(self, out: &mut Vec<u8>) {
        match self {
            SqlType::TinyInt => out.extend_from_slice(&[0x26, 1]),
            SqlType::SmallInt => out.extend_from_slice(&[0x26, 2]),
            SqlType::Int => out.extend_from_slice(&[0x26, 4]),
            SqlType::BigInt => out.extend_from_slice(&[0x26, 8]),
            SqlType::Bit => out.extend_from_slice(&[0x68, 1]),
            SqlType::Float => out.extend_from_slice(&[0x6D, 8]),
            SqlType::Decimal(p, s) => out.extend_from_slice(&[0x6A, decimal_len(p), p, s]),
            SqlType::NVarChar(n) => {
                out.push(0xE7);
                put_u16(out, n.map_or(0xFFFF, |n| n.saturating_mul(2)));
                out.extend_from_slice(&DEFAULT_COLLATION);
            }
            SqlType::VarChar(n) => {
                out.push(0xA7);
                put_u16(out, n.unwrap_or(0xFFFF));
                out.extend_from_slice(&DEFAULT_COLLATION);
            }
            SqlType::VarBinary(n) => {
                out.push(0xA5);
                put_u16(out, n.unwrap_or(0xFFFF));
            }
            SqlType::UniqueIdentifier => out.extend_from_slice(&[0x24, 16]),
            SqlType::Date => out.push(0x28),
            SqlType::DateTime2 => out.extend_from_slice(&[0x2A, 7]),
            SqlType::SqlVariant => {
                out.push(0x62);
                out.extend_from_slice(&8009u32.to_le_bytes());
            }
        }
    }

    fn is_plp(self) -> bool {
        matches!(
            self,
            SqlType::NVarChar(None) | SqlType::VarChar(None) | SqlType::VarBinary(None)
        )
    }

    /// Encodes `v` as a ROW value of this type.
    pub fn encode(self, v: &Value, out: &mut Vec<u8>) {
        if self.is_plp() {
            let bytes = match (self, v) {
                (_, Value::Null) => {
                    out.extend_from_slice(&PLP_NULL.to_le_bytes());
                    return;
                }
                (SqlType::NVarChar(_), v) => utf16(&text(v)),
                (SqlType::VarChar(_), v) => latin1(&text(v)),
                (_, Value::Binary(b)) => b.clone(),
                (_, v) => latin1(&text(v)),
            };
            out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            // One chunk per 8000 bytes, as SQL Server sends them; then the zero terminator.
            for chunk in bytes.chunks(8000) {
                out.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
                out.extend_from_slice(chunk);
            }
            out.extend_from_slice(&0u32.to_le_bytes());
            return;
        }
        match (self, v) {
            (SqlType::NVarChar(_) | SqlType::VarChar(_) | SqlType::VarBinary(_), Value::Null) => {
                put_u16(out, 0xFFFF)
            }
            (SqlType::SqlVariant, Value::Null) => out.extend_from_slice(&0u32.to_le_bytes()),
            (_, Value::Null) => out.push(0),
            (SqlType::TinyInt, v) => out.extend_from_slice(&[1, int(v) as u8]),
            (SqlType::SmallInt, v) => {
                out.push(2);
                out.extend_from_slice(&(int(v) as i16).to_le_bytes());
            }
            (SqlType::Int, v) => {
                out.push(4);
                out.extend_from_slice(&(int(v) as i32).to_le_bytes());
            }
            (SqlType::BigInt, v) => {
                out.push(8);
                out.extend_from_slice(&int(v).to_le_bytes());
            }
            (SqlType::Bit, v) => out.extend_from_slice(&[1, u8::from(int(v) != 0)]),
            (SqlType::Float, v) => {
                out.push(8);
                out.extend_from_slice(&float(v).to_le_bytes());
            }
            (SqlType::Decimal(p, s), v) => {
                let unscaled = match v {
                    Value::Decimal(u, vs) => rescale(*u, *vs, s),
                    other => rescale(int(other) as i128, 0, s),
                };
                let len = decimal_len(p);
                out.push(len);
                out.push(u8::from(unscaled >= 0));
                out.extend_from_slice(&unscaled.unsigned_abs().to_le_bytes()[..(len - 1) as usize]);
            }
            (SqlType::NVarChar(_), v) => {
                let b = utf16(&text(v));
                put_u16(out, b.len() as u16);
                out.extend_from_slice(&b);
            }
            (SqlType::VarChar(_), v) => {
                let b = latin1(&text(v));
                put_u16(out, b.len() as u16);
                out.extend_from_slice(&b);
            }
            (SqlType::VarBinary(_), Value::Binary(b)) => {
                put_u16(out, b.len() as u16);
                out.extend_from_slice(b);
            }
            (SqlType::VarBinary(_), v) => {
                let b = latin1(&text(v));
                put_u16(out, b.len() as u16);
                out.extend_from_slice(&b);
            }
            (SqlType::UniqueIdentifier, Value::Guid(g)) => {
                out.push(16);
                out.extend_from_slice(&guid_wire(g));
            }
            (SqlType::Date, Value::Date(d) | Value::DateTime2(d, _)) => {
                out.push(3);
                out.extend_from_slice(&d.to_le_bytes()[..3]);
            }
            (SqlType::DateTime2, Value::DateTime2(d, t)) => {
                out.push(8);
                out.extend_from_slice(&t.to_le_bytes()[..5]);
                out.extend_from_slice(&d.to_le_bytes()[..3]);
            }
            (SqlType::DateTime2, Value::Date(d)) => {
                out.push(8);
                out.extend_from_slice(&[0; 5]);
                out.extend_from_slice(&d.to_le_bytes()[..3]);
            }
            (SqlType::SqlVariant, Value::Variant(inner)) => encode_variant(inner.0, &inner.1, out),
            (SqlType::SqlVariant, v) => {
                encode_variant(SqlType::NVarChar(Some(4000)), &Value::Text(text(v)), out)
            }
            // A value that does not fit its declared type: the caller's bug, sent as NULL
            // rather than as bytes that would desynchronise the client.
            (SqlType::UniqueIdentifier | SqlType::Date | SqlType::DateTime2, _) => out.push(0),
        }
    }
}

/// sql_variant (MS-TDS 2.2.5.5.4): total length, base type, property byte count, properties,
/// then the value without its own length prefix.
fn encode_variant(base: SqlType, v: &Value, out: &mut Vec<u8>) {
    let mut body = Vec::new();
    match base {
        SqlType::Int => {
            body.extend_from_slice(&[0x38, 0]);
            body.extend_from_slice(&(int(v) as i32).to_le_bytes());
        }
        SqlType::BigInt => {
            body.extend_from_slice(&[0x7F, 0]);
            body.extend_from_slice(&int(v).to_le_bytes());
        }
        _ => {
            let b = utf16(&text(v));
            body.extend_from_slice(&[0xE7, 7]);
            body.extend_from_slice(&(b.len().max(2) as u16).to_le_bytes());
            body.extend_from_slice(&DEFAULT_COLLATION);
            body.extend_from_slice(&b);
        }
    }
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
}

/// GUIDs travel with their first three groups little-endian.
fn guid_wire(g: &[u8; 16]) -> [u8; 16] {
    let mut w = *g;
    w[0..4].reverse();
    w[4..6].reverse();
    w[6..8].reverse();
    w
}

fn rescale(unscaled: i128, from: u8, to: u8) -> i128 {
    if to >= from {
        unscaled.saturating_mul(10i128.pow((to - from) as u32))
    } else {
        unscaled / 10i128.pow((from - to) as u32)
    }
}

/// A value as an integer (for int columns); text that is not a number is 0.
pub fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Bit(b) => i64::from(*b),
        Value::Float(f) => *f as i64,
        Value::Decimal(u, s) => (u / 10i128.pow(*s as u32)) as i64,
        Value::Text(t) => t.trim().parse().unwrap_or(0),
        Value::Variant(inner) => int(&inner.1),
        _ => 0,
    }
}

pub fn float(v: &Value) -> f64 {
    match v {
        Value::Float(f) => *f,
        Value::Decimal(u, s) => *u as f64 / 10f64.powi(*s as i32),
        Value::Text(t) => t.trim().parse().unwrap_or(0.0),
        Value::Variant(inner) => float(&inner.1),
        other => int(other) as f64,
    }
}

/// A value as text, as CONVERT(nvarchar, …) would show it.
pub fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bit(b) => u8::from(*b).to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Decimal(u, s) => {
            let scale = 10i128.pow(*s as u32);
            if *s == 0 {
                u.to_string()
            } else {
                format!(
                    "{}{}.{:0width$}",
                    if *u < 0 { "-" } else { "" },
                    (u / scale).abs(),
                    (u % scale).abs(),
                    width = *s as usize
                )
            }
        }
        Value::Text(t) => t.clone(),
        Value::Binary(b) => format!(
            "0x{}",
            b.iter().map(|x| format!("{x:02X}")).collect::<String>()
        ),
        Value::Guid(g) => {
            let h: String = g.iter().map(|x| format!("{x:02X}")).collect();
            format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            )
        }
        Value::Date(d) => date_text(*d),
        Value::DateTime2(d, t) => datetime_text(*d, *t),
        Value::Variant(inner) => text(&inner.1),
    }
}

/// Days from 0001-01-01 to 1970-01-01.
const UNIX_EPOCH_DAYS: i64 = 719_162;

/// `YYYY-MM-DD` for days since 0001-01-01 (proleptic Gregorian, as SQL Server's date type).
pub fn date_text(days: u32) -> String {
    let (y, m, d) = ferry_sas::civil_from_days(i64::from(days) - UNIX_EPOCH_DAYS);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 0001-01-01 for a civil date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> Option<u32> {
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from(if m > 2 { m - 3 } else { m + 9 });
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    u32::try_from(era * 146_097 + doe - 719_468 + UNIX_EPOCH_DAYS).ok()
}

/// `YYYY-MM-DD HH:MM:SS.fffffff` (datetime2(7)).
pub fn datetime_text(days: u32, ticks: u64) -> String {
    let secs = ticks / 10_000_000;
    format!(
        "{} {:02}:{:02}:{:02}.{:07}",
        date_text(days),
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        ticks % 10_000_000
    )
}

/// The current UTC time as datetime2 text.
pub fn now_text() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let days = (d.as_secs() / 86_400) as i64 + UNIX_EPOCH_DAYS;
    let ticks = (d.as_secs() % 86_400) * 10_000_000 + u64::from(d.subsec_nanos() / 100);
    datetime_text(days as u32, ticks)
}

/// Parses `YYYY-MM-DD[( |T)HH:MM[:SS[.fffffff]]]` into days and 100 ns ticks, and
/// `M/D/YYYY[ HH:MM…]`, the order us_english's DATEFORMAT mdy reads a slashed date in (the
/// default language of SQL Server and MI; "SET DATEFORMAT (Transact-SQL)").
pub fn parse_datetime(text: &str) -> Option<(u32, u64)> {
    let text = text.trim();
    let (date, time) = match text.find([' ', 'T']) {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let (y, m, d): (i64, u32, u32) = if date.contains('/') {
        let mut dp = date.split('/');
        let m = dp.next()?.parse().ok()?;
        let d = dp.next()?.parse().ok()?;
        let y = dp.next()?;
        if y.len() != 4 || dp.next().is_some() {
            return None;
        }
        (y.parse().ok()?, m, d)
    } else {
        let mut dp = date.split('-');
        (
            dp.next()?.parse().ok()?,
            dp.next()?.parse().ok()?,
            dp.next()?.parse().ok()?,
        )
    };
    let days = days_from_civil(y, m, d)?;
    let Some(time) = time else {
        return Some((days, 0));
    };
    let time = time.trim_end_matches('Z');
    let mut tp = time.split(':');
    let h: u64 = tp.next()?.parse().ok()?;
    let mi: u64 = tp.next()?.parse().ok()?;
    let (s, frac) = match tp.next() {
        Some(sec) => match sec.split_once('.') {
            Some((s, f)) => (
                s.parse::<u64>().ok()?,
                format!("{f:0<7}")[..7].parse::<u64>().ok()?,
            ),
            None => (sec.parse().ok()?, 0),
        },
        None => (0, 0),
    };
    Some((days, ((h * 60 + mi) * 60 + s) * 10_000_000 + frac))
}

/// A GUID (textual byte order) in SQL Server's storage order: the first three groups
/// little-endian. The same swap turns storage order back into textual order.
pub fn guid_storage_bytes(g: &[u8; 16]) -> [u8; 16] {
    let mut b = *g;
    b[..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    b
}

/// A GUID written as text (`6F9619FF-8B86-D011-B42D-00C04FC964FF`), or NULL when it is not one.
pub fn parse_guid_text(s: &str) -> Value {
    let hex: String = s.chars().filter(char::is_ascii_hexdigit).collect();
    if hex.len() != 32 {
        return Value::Null;
    }
    let mut g = [0u8; 16];
    for (i, b) in g.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).unwrap_or(0);
    }
    Value::Guid(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(date_text(0), "0001-01-01");
        let d = days_from_civil(2026, 11, 26).unwrap();
        assert_eq!(date_text(d), "2026-11-26");
        assert_eq!(
            parse_datetime("2000-02-29 13:45:07.1234567"),
            Some((days_from_civil(2000, 2, 29).unwrap(), 495_071_234_567))
        );
        assert_eq!(
            datetime_text(d, 495_071_234_567),
            "2026-11-26 13:45:07.1234567"
        );
        assert_eq!(parse_datetime("nope"), None);
    }

    #[test]
    fn nvarchar_max_is_plp_with_a_terminator() {
        let mut out = Vec::new();
        SqlType::NVarChar(None).encode(&Value::Text("ab".into()), &mut out);
        assert_eq!(
            out,
            [
                4, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, b'a', 0, b'b', 0, 0, 0, 0, 0
            ]
        );
        let mut out = Vec::new();
        SqlType::NVarChar(None).encode(&Value::Null, &mut out);
        assert_eq!(out, [0xFF; 8]);
    }

    #[test]
    fn decimals_carry_sign_and_magnitude() {
        let mut out = Vec::new();
        SqlType::Decimal(10, 2).encode(&Value::Decimal(-1250, 2), &mut out);
        assert_eq!(out[..3], [9, 0, 0xE2]);
        assert_eq!(text(&Value::Decimal(-1250, 2)), "-12.50");
    }
}
