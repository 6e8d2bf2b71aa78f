//! Converting a value to a type, as CAST and assignment to a variable do, with SQL Server's
//! errors: 245 when text is not a number ("Conversion failed when converting the varchar value
//! 'x' to data type int."), 8115 when a number does not fit ("Arithmetic overflow error
//! converting expression to data type int.").

use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::{self, SqlType, Value};

/// CONVERT of binary bytes to characters with a binary style ("CAST and CONVERT
/// (Transact-SQL)", Binary styles): 1 writes `0x` and two upper-case hex digits a byte, 2 the
/// digits alone. Style 0 (bytes as ASCII characters) and other styles: None, the plain
/// conversion's business.
pub fn binary_styled(bytes: &[u8], style: i64) -> Option<String> {
    let digits = || bytes.iter().map(|b| format!("{b:02X}")).collect::<String>();
    match style {
        1 => Some(format!("0x{}", digits())),
        2 => Some(digits()),
        _ => None,
    }
}

/// A type's name as SQL Server's messages write it.
pub fn type_name(ty: SqlType) -> String {
    match ty {
        SqlType::TinyInt => "tinyint".into(),
        SqlType::SmallInt => "smallint".into(),
        SqlType::Int => "int".into(),
        SqlType::BigInt => "bigint".into(),
        SqlType::Bit => "bit".into(),
        SqlType::Float => "float".into(),
        SqlType::Decimal(..) => "numeric".into(),
        SqlType::NVarChar(_) => "nvarchar".into(),
        SqlType::VarChar(_) => "varchar".into(),
        SqlType::VarBinary(_) => "varbinary".into(),
        SqlType::UniqueIdentifier => "uniqueidentifier".into(),
        SqlType::Date => "date".into(),
        SqlType::DateTime2 => "datetime2".into(),
        SqlType::SqlVariant => "sql_variant".into(),
    }
}

/// SQL Server error 8115 (severity 16).
pub fn overflow(ty: SqlType) -> ServerMessage {
    ServerMessage::error(
        8115,
        16,
        format!(
            "Arithmetic overflow error converting expression to data type {}.",
            type_name(ty)
        ),
    )
}

/// SQL Server error 245 (severity 16).
pub fn conversion_failed(from: SqlType, v: &Value, to: SqlType) -> ServerMessage {
    ServerMessage::error(
        245,
        16,
        format!(
            "Conversion failed when converting the {} value '{}' to data type {}.",
            type_name(from),
            types::text(v),
            type_name(to)
        ),
    )
}

/// The range of an integer type.
fn int_range(ty: SqlType) -> Option<(i64, i64)> {
    Some(match ty {
        SqlType::Bit => (i64::MIN, i64::MAX),
        SqlType::TinyInt => (0, 255),
        SqlType::SmallInt => (i16::MIN.into(), i16::MAX.into()),
        SqlType::Int => (i32::MIN.into(), i32::MAX.into()),
        SqlType::BigInt => (i64::MIN, i64::MAX),
        _ => return None,
    })
}

/// Whether `ty` is a number type.
pub fn is_number(ty: SqlType) -> bool {
    matches!(
        ty,
        SqlType::TinyInt
            | SqlType::SmallInt
            | SqlType::Int
            | SqlType::BigInt
            | SqlType::Bit
            | SqlType::Float
            | SqlType::Decimal(..)
    )
}

/// Checks an integer result against its type's range.
pub fn fit_int(i: i128, ty: SqlType) -> Result<Value, ServerMessage> {
    let (lo, hi) = int_range(ty).unwrap_or((i64::MIN, i64::MAX));
    if i < i128::from(lo) || i > i128::from(hi) {
        return Err(overflow(ty));
    }
    Ok(if ty == SqlType::Bit {
        Value::Bit(i != 0)
    } else {
        Value::Int(i as i64)
    })
}

/// Converts `v` (of type `from`) to `to`.
pub fn convert(v: Value, from: SqlType, to: SqlType) -> Result<Value, ServerMessage> {
    if v == Value::Null {
        return Ok(Value::Null);
    }
    let v = match v {
        Value::Variant(inner) => inner.1,
        other => other,
    };
    Ok(match to {
        SqlType::TinyInt | SqlType::SmallInt | SqlType::Int | SqlType::BigInt | SqlType::Bit => {
            let i: i128 = match &v {
                Value::Int(i) => (*i).into(),
                Value::Bit(b) => i128::from(*b),
                Value::Float(f) => f.trunc() as i128,
                Value::Decimal(u, s) => u / 10i128.pow(u32::from(*s)),
                Value::Text(t) => {
                    let t = t.trim();
                    if to == SqlType::Bit
                        && (t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false"))
                    {
                        i128::from(t.eq_ignore_ascii_case("true"))
                    } else {
                        t.parse::<i128>()
                            .map_err(|_| conversion_failed(from, &v, to))?
                    }
                }
                _ => return Err(conversion_failed(from, &v, to)),
            };
            if to == SqlType::Bit {
                Value::Bit(i != 0)
            } else {
                fit_int(i, to)?
            }
        }
        SqlType::Float => Value::Float(match &v {
            Value::Text(t) => t
                .trim()
                .parse()
                .map_err(|_| conversion_failed(from, &v, to))?,
            other => types::float(other),
        }),
        SqlType::Decimal(p, s) => {
            let f = match &v {
                Value::Text(t) => t
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| conversion_failed(from, &v, to))?,
                Value::Decimal(u, scale) => {
                    let u = rescale(*u, *scale, s);
                    if digits(u) > i64::from(p) {
                        return Err(overflow(to));
                    }
                    return Ok(Value::Decimal(u, s));
                }
                other => types::float(other),
            };
            let u = (f * 10f64.powi(i32::from(s))).round() as i128;
            if digits(u) > i64::from(p) {
                return Err(overflow(to));
            }
            Value::Decimal(u, s)
        }
        SqlType::NVarChar(n) | SqlType::VarChar(n) => {
            let t = types::text(&v);
            // Assignment truncates text to the declared length without an error, as SET and
            // SELECT do for variables.
            Value::Text(match n {
                Some(n) => t.chars().take(n as usize).collect(),
                None => t,
            })
        }
        SqlType::VarBinary(n) => {
            let b = match v {
                Value::Binary(b) => b,
                Value::Text(t) => t.into_bytes(),
                Value::Int(i) => i.to_be_bytes().to_vec(),
                // uniqueidentifier to binary(16): SQL Server's storage order, the first three
                // groups little-endian (as `DECLARE @jobId BINARY(16)` in scripted jobs holds it).
                Value::Guid(g) => types::guid_storage_bytes(&g).to_vec(),
                other => return Err(conversion_failed(from, &other, to)),
            };
            Value::Binary(match n {
                Some(n) => b.into_iter().take(n as usize).collect(),
                None => b,
            })
        }
        SqlType::Date | SqlType::DateTime2 => match &v {
            Value::Date(_) | Value::DateTime2(..) => v,
            Value::Text(t) => match types::parse_datetime(t) {
                Some((d, ticks)) if to == SqlType::DateTime2 => Value::DateTime2(d, ticks),
                Some((d, _)) => Value::Date(d),
                // SQL Server error 241 (severity 16).
                None => {
                    return Err(ServerMessage::error(
                        241,
                        16,
                        "Conversion failed when converting date and/or time from character string.",
                    ));
                }
            },
            _ => return Err(conversion_failed(from, &v, to)),
        },
        SqlType::UniqueIdentifier | SqlType::SqlVariant => v,
    })
}

fn digits(u: i128) -> i64 {
    u.unsigned_abs()
        .checked_ilog10()
        .map_or(1, |d| i64::from(d) + 1)
}

fn rescale(u: i128, from: u8, to: u8) -> i128 {
    if to >= from {
        u.saturating_mul(10i128.pow(u32::from(to - from)))
    } else {
        let f = 10i128.pow(u32::from(from - to));
        // Rounds half away from zero, as SQL Server does converting to a smaller scale.
        let q = u / f;
        let r = u % f;
        if r.abs() * 2 >= f { q + u.signum() } else { q }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_and_their_errors() {
        let t = |s: &str| Value::Text(s.into());
        let vc = SqlType::VarChar(Some(10));
        assert_eq!(
            convert(t(" 42 "), vc, SqlType::Int).unwrap(),
            Value::Int(42)
        );
        assert_eq!(convert(t("abc"), vc, SqlType::Int).unwrap_err().number, 245);
        assert_eq!(
            convert(Value::Int(300), SqlType::Int, SqlType::TinyInt)
                .unwrap_err()
                .number,
            8115
        );
        assert_eq!(
            convert(
                Value::Decimal(12345, 3),
                SqlType::Decimal(10, 3),
                SqlType::Decimal(10, 2)
            )
            .unwrap(),
            Value::Decimal(1235, 2)
        );
        assert_eq!(
            convert(t("abcdef"), vc, SqlType::NVarChar(Some(3))).unwrap(),
            t("abc")
        );
    }
}
