//! RPC requests (MS-TDS 2.2.6.6): a procedure (by name or well-known id) and typed parameters.
//! Every parameter type tiberius sends is decoded; others close nothing, they are refused with
//! an error naming the type.

use super::types::{SqlType, Value};
use super::{ProtocolError, malformed};

/// Well-known procedure ids (MS-TDS 2.2.6.6, ProcID).
pub const SP_EXECUTESQL: u16 = 10;

#[derive(Debug, Clone, PartialEq)]
pub enum Proc {
    Id(u16),
    Name(String),
}

impl Proc {
    /// The procedure's name as SQL Server reports it in errors.
    pub fn name(&self) -> String {
        match self {
            Proc::Id(SP_EXECUTESQL) => "sp_executesql".into(),
            Proc::Id(id) => format!("procedure id {id}"),
            Proc::Name(n) => n.clone(),
        }
    }

    pub fn is_executesql(&self) -> bool {
        match self {
            Proc::Id(id) => *id == SP_EXECUTESQL,
            Proc::Name(n) => n
                .trim_start_matches("sys.")
                .eq_ignore_ascii_case("sp_executesql"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Without `@`; empty for positional parameters.
    pub name: String,
    pub output: bool,
    pub ty: SqlType,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub proc: Proc,
    pub params: Vec<Param>,
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtocolError> {
        let s = self
            .b
            .get(self.at..self.at + n)
            .ok_or_else(|| malformed("RPC request is truncated"))?;
        self.at += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, ProtocolError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, ProtocolError> {
        let s = self.take(2)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Result<u32, ProtocolError> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64(&mut self) -> Result<u64, ProtocolError> {
        let s = self.take(8)?;
        Ok(u64::from_le_bytes(s.try_into().unwrap_or([0; 8])))
    }
    fn utf16(&mut self, chars: usize) -> Result<String, ProtocolError> {
        utf16(self.take(chars * 2)?)
    }
    fn done(&self) -> bool {
        self.at >= self.b.len()
    }
    /// A PLP value: total length (or NULL), then chunks until a zero-length one.
    fn plp(&mut self) -> Result<Option<Vec<u8>>, ProtocolError> {
        let total = self.u64()?;
        if total == u64::MAX {
            return Ok(None);
        }
        let mut out = Vec::new();
        loop {
            let n = self.u32()? as usize;
            if n == 0 {
                return Ok(Some(out));
            }
            out.extend_from_slice(self.take(n)?);
            if out.len() > super::packet::MAX_MESSAGE {
                return Err(malformed("PLP value larger than a message"));
            }
        }
    }
}

fn utf16(b: &[u8]) -> Result<String, ProtocolError> {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).map_err(|_| malformed("RPC text is not valid UTF-16"))
}

fn int_le(b: &[u8]) -> i64 {
    match b.len() {
        1 => i64::from(b[0]),
        2 => i64::from(i16::from_le_bytes([b[0], b[1]])),
        4 => i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        8 => i64::from_le_bytes(b.try_into().unwrap_or([0; 8])),
        _ => 0,
    }
}

fn uint_le(b: &[u8]) -> u64 {
    b.iter()
        .rev()
        .fold(0u64, |acc, x| (acc << 8) | u64::from(*x))
}

/// 100 ns ticks for a time of `scale` digits (MS-TDS 2.2.5.4.2: TIME is 10^-scale seconds).
fn ticks(raw: u64, scale: u8) -> u64 {
    raw * 10u64.pow(7u32.saturating_sub(u32::from(scale)))
}

/// Parses one RPC request (the first, if the client batched several).
pub fn parse(payload: &[u8]) -> Result<Request, ProtocolError> {
    let mut r = Reader { b: payload, at: 0 };
    let headers = r.u32()? as usize;
    if headers < 4 {
        return Err(malformed("RPC ALL_HEADERS length is too small"));
    }
    r.take(headers - 4)?;
    let name_len = r.u16()?;
    let proc = if name_len == 0xFFFF {
        Proc::Id(r.u16()?)
    } else {
        Proc::Name(r.utf16(name_len as usize)?)
    };
    let _options = r.u16()?;
    let mut params = Vec::new();
    while !r.done() {
        let b = r.b[r.at];
        // 0xFF / 0x80 separate batched RPCs; only the first is executed.
        if b == 0xFF || b == 0x80 {
            break;
        }
        let name_chars = r.u8()? as usize;
        let name = r.utf16(name_chars)?.trim_start_matches('@').to_owned();
        let status = r.u8()?;
        let (ty, value) = typed_value(&mut r)?;
        params.push(Param {
            name,
            output: status & 0x01 != 0,
            ty,
            value,
        });
        if params.len() > 2100 {
            // SQL Server's limit is 2100 parameters per request.
            return Err(malformed("more than 2100 RPC parameters"));
        }
    }
    Ok(Request { proc, params })
}

fn typed_value(r: &mut Reader<'_>) -> Result<(SqlType, Value), ProtocolError> {
    let t = r.u8()?;
    let nullable_len = |r: &mut Reader<'_>| -> Result<Option<Vec<u8>>, ProtocolError> {
        let n = r.u8()? as usize;
        Ok(if n == 0 {
            None
        } else {
            Some(r.take(n)?.to_vec())
        })
    };
    Ok(match t {
        // INTN
        0x26 => {
            let max = r.u8()?;
            let ty = match max {
                1 => SqlType::TinyInt,
                2 => SqlType::SmallInt,
                4 => SqlType::Int,
                _ => SqlType::BigInt,
            };
            let v = nullable_len(r)?.map_or(Value::Null, |b| {
                if max == 1 {
                    Value::Int(i64::from(b[0]))
                } else {
                    Value::Int(int_le(&b))
                }
            });
            (ty, v)
        }
        // INT1, INT2, INT4, INT8, BIT (fixed length)
        0x30 => (SqlType::TinyInt, Value::Int(i64::from(r.u8()?))),
        0x34 => (SqlType::SmallInt, Value::Int(int_le(r.take(2)?))),
        0x38 => (SqlType::Int, Value::Int(int_le(r.take(4)?))),
        0x7F => (SqlType::BigInt, Value::Int(int_le(r.take(8)?))),
        0x32 => (SqlType::Bit, Value::Bit(r.u8()? != 0)),
        // BITN
        0x68 => {
            r.u8()?;
            (
                SqlType::Bit,
                nullable_len(r)?.map_or(Value::Null, |b| Value::Bit(b[0] != 0)),
            )
        }
        // FLTN
        0x6D => {
            r.u8()?;
            let v = nullable_len(r)?.map_or(Value::Null, |b| match b.len() {
                4 => Value::Float(f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
                _ => Value::Float(f64::from_le_bytes(
                    b.as_slice().try_into().unwrap_or([0; 8]),
                )),
            });
            (SqlType::Float, v)
        }
        // DECIMALN, NUMERICN
        0x6A | 0x6C => {
            r.u8()?;
            let precision = r.u8()?;
            let scale = r.u8()?;
            let v = nullable_len(r)?.map_or(Ok(Value::Null), |b| {
                let (sign, mag) = b.split_first().ok_or_else(|| malformed("empty decimal"))?;
                let mut m = [0u8; 16];
                let n = mag.len().min(16);
                m[..n].copy_from_slice(&mag[..n]);
                let u = u128::from_le_bytes(m) as i128;
                Ok::<_, ProtocolError>(Value::Decimal(if *sign == 0 { -u } else { u }, scale))
            })?;
            (SqlType::Decimal(precision, scale), v)
        }
        // GUID
        0x24 => {
            r.u8()?;
            let v = nullable_len(r)?.map_or(Value::Null, |b| {
                let mut g = [0u8; 16];
                g.copy_from_slice(&b[..16.min(b.len())]);
                g[0..4].reverse();
                g[4..6].reverse();
                g[6..8].reverse();
                Value::Guid(g)
            });
            (SqlType::UniqueIdentifier, v)
        }
        // DATEN
        0x28 => (
            SqlType::Date,
            nullable_len(r)?.map_or(Value::Null, |b| Value::Date(uint_le(&b) as u32)),
        ),
        // TIMEN, DATETIME2N, DATETIMEOFFSETN: time of `scale` digits, then date, then offset.
        0x29..=0x2B => {
            let scale = r.u8()?;
            let v = nullable_len(r)?.map_or(Value::Null, |b| {
                let time_len = b.len()
                    - if t == 0x29 {
                        0
                    } else if t == 0x2A {
                        3
                    } else {
                        5
                    };
                let time = ticks(uint_le(&b[..time_len]), scale);
                let date = if t == 0x29 {
                    0
                } else {
                    uint_le(&b[time_len..time_len + 3]) as u32
                };
                Value::DateTime2(date, time)
            });
            // time(n) has no column type of its own here yet; it travels as datetime2 on day 0.
            (SqlType::DateTime2, v)
        }
        // DATETIMN: days since 1900-01-01 and 1/300 s ticks.
        0x6F => {
            r.u8()?;
            let v = nullable_len(r)?.map_or(Value::Null, |b| {
                if b.len() == 8 {
                    let days = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                    let t300 = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
                    // 693595 days from 0001-01-01 to 1900-01-01.
                    Value::DateTime2((693_595 + days) as u32, u64::from(t300) * 10_000_000 / 300)
                } else {
                    Value::Null
                }
            });
            (SqlType::DateTime2, v)
        }
        // NVARCHAR, NCHAR
        0xE7 | 0xEF => {
            let max = r.u16()?;
            r.take(5)?;
            let v = if max == 0xFFFF {
                r.plp()?
                    .map_or(Ok(Value::Null), |b| utf16(&b).map(Value::Text))?
            } else {
                let n = r.u16()?;
                if n == 0xFFFF {
                    Value::Null
                } else {
                    Value::Text(utf16(r.take(n as usize)?)?)
                }
            };
            (
                SqlType::NVarChar(if max == 0xFFFF { None } else { Some(max / 2) }),
                v,
            )
        }
        // BIGVARCHR, BIGCHAR (single-byte; read as Latin-1)
        0xA7 | 0xAF => {
            let max = r.u16()?;
            r.take(5)?;
            let bytes = if max == 0xFFFF {
                r.plp()?
            } else {
                let n = r.u16()?;
                if n == 0xFFFF {
                    None
                } else {
                    Some(r.take(n as usize)?.to_vec())
                }
            };
            (
                SqlType::VarChar(if max == 0xFFFF { None } else { Some(max) }),
                bytes.map_or(Value::Null, |b| {
                    Value::Text(b.iter().map(|c| *c as char).collect())
                }),
            )
        }
        // BIGVARBIN, BIGBINARY
        0xA5 | 0xAD => {
            let max = r.u16()?;
            let bytes = if max == 0xFFFF {
                r.plp()?
            } else {
                let n = r.u16()?;
                if n == 0xFFFF {
                    None
                } else {
                    Some(r.take(n as usize)?.to_vec())
                }
            };
            (
                SqlType::VarBinary(if max == 0xFFFF { None } else { Some(max) }),
                bytes.map_or(Value::Null, Value::Binary),
            )
        }
        // XML: a schema flag, then PLP UTF-16.
        0xF1 => {
            if r.u8()? != 0 {
                return Err(malformed("typed XML parameters are not supported"));
            }
            (
                SqlType::NVarChar(None),
                r.plp()?
                    .map_or(Ok(Value::Null), |b| utf16(&b).map(Value::Text))?,
            )
        }
        other => {
            return Err(malformed(format!(
                "RPC parameter type 0x{other:02x} is not supported"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Vec<u8> {
        // ALL_HEADERS with one transaction-descriptor header (22 bytes in all).
        let mut h = 22u32.to_le_bytes().to_vec();
        h.extend_from_slice(&18u32.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&[0; 8]);
        h.extend_from_slice(&1u32.to_le_bytes());
        h
    }

    #[test]
    fn executesql_with_an_int_and_a_string() {
        let mut b = header();
        b.extend_from_slice(&0xFFFFu16.to_le_bytes());
        b.extend_from_slice(&SP_EXECUTESQL.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        let nv = |b: &mut Vec<u8>, s: &str| {
            let u: Vec<u8> = s.encode_utf16().flat_map(|x| x.to_le_bytes()).collect();
            b.extend_from_slice(&[0, 0, 0xE7, 0x40, 0x1F, 0, 0, 0, 0, 0]);
            b.extend_from_slice(&(u.len() as u16).to_le_bytes());
            b.extend_from_slice(&u);
        };
        nv(&mut b, "SELECT @P1");
        nv(&mut b, "@P1 int");
        b.extend_from_slice(&[3, b'@', 0, b'P', 0, b'1', 0, 0, 0x26, 4, 4]);
        b.extend_from_slice(&42i32.to_le_bytes());
        let req = parse(&b).unwrap();
        assert!(req.proc.is_executesql());
        assert_eq!(req.params.len(), 3);
        assert_eq!(req.params[0].value, Value::Text("SELECT @P1".into()));
        assert_eq!(
            (req.params[2].name.as_str(), &req.params[2].value),
            ("P1", &Value::Int(42))
        );
        assert!(
            parse(&b[..b.len() - 2]).is_err(),
            "truncated values are refused"
        );
    }
}
