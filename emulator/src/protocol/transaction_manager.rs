//! Transaction manager requests (MS-TDS 2.2.6.9): a client begins, commits, rolls back or saves
//! a transaction without T-SQL. The payload is ALL_HEADERS, a request type (USHORT) and the
//! type's fields; transaction names are B_VARBYTE (a byte count, then UTF-16), which is why SQL
//! Server has an error for a name of odd length (3976).

use super::headers::{self, RequestHeaders};
use super::{ProtocolError, malformed};

/// A request, as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TmRequest {
    /// TM_GET_DTC_ADDRESS (0), TM_PROPAGATE_XACT (1), TM_PROMOTE_XACT (6): distributed
    /// transactions, with the request type.
    Distributed(u16),
    /// TM_BEGIN_XACT (5).
    Begin(NewTransaction),
    /// TM_COMMIT_XACT (7), optionally beginning the next transaction at once.
    Commit {
        name: String,
        then_begin: Option<NewTransaction>,
    },
    /// TM_ROLLBACK_XACT (8): the whole transaction, or back to the savepoint `name`.
    Rollback {
        name: String,
        then_begin: Option<NewTransaction>,
    },
    /// TM_SAVE_XACT (9).
    Save { name: String },
}

/// A transaction to begin: its isolation level (0 unchanged … 5 snapshot) and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTransaction {
    pub isolation: u8,
    pub name: String,
}

/// Why a request cannot be carried out, as SQL Server reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TmError {
    /// 3972 (severity 20): the request is shorter than its type needs.
    WrongLength {
        kind: u16,
        expected: usize,
        actual: usize,
    },
    /// 3979: bytes after the request.
    TooLong,
    /// 3976: a transaction name whose byte length is odd.
    OddName(usize),
    /// A request type MS-TDS does not define.
    UnknownType(u16),
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
    kind: u16,
}

impl Reader<'_> {
    fn short(&self, need: usize) -> TmError {
        TmError::WrongLength {
            kind: self.kind,
            expected: self.at + need,
            actual: self.b.len(),
        }
    }

    fn byte(&mut self) -> Result<u8, TmError> {
        let b = *self.b.get(self.at).ok_or_else(|| self.short(1))?;
        self.at += 1;
        Ok(b)
    }

    /// B_VARBYTE holding UTF-16.
    fn name(&mut self) -> Result<String, TmError> {
        let len = self.byte()? as usize;
        if !len.is_multiple_of(2) {
            return Err(TmError::OddName(len));
        }
        let bytes = self
            .b
            .get(self.at..self.at + len)
            .ok_or_else(|| self.short(len))?;
        self.at += len;
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        Ok(String::from_utf16_lossy(&units))
    }

    fn new_transaction(&mut self) -> Result<NewTransaction, TmError> {
        let isolation = self.byte()?;
        let name = self.name()?;
        Ok(NewTransaction { isolation, name })
    }

    /// XACT_FLAGS: bit 0 (fBeginXact) asks for a new transaction after this one ends.
    fn then_begin(&mut self) -> Result<Option<NewTransaction>, TmError> {
        let flags = self.byte()?;
        if flags & 0x01 != 0 {
            self.new_transaction().map(Some)
        } else {
            Ok(None)
        }
    }
}

/// Parses a request: the headers (a framing error closes the connection) and the request or
/// the error SQL Server gives for it.
pub fn parse(
    payload: &[u8],
) -> Result<(RequestHeaders, Result<TmRequest, TmError>), ProtocolError> {
    let (headers, body_at) = headers::parse(payload)?;
    let body = &payload[body_at..];
    let kind = body
        .get(..2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .ok_or_else(|| malformed("transaction manager request has no type"))?;
    let mut r = Reader {
        b: body,
        at: 2,
        kind,
    };
    let request = (|| {
        let req = match kind {
            0 | 1 | 6 => {
                // The payloads of distributed requests are not read: they are refused whole.
                r.at = r.b.len();
                TmRequest::Distributed(kind)
            }
            5 => TmRequest::Begin(r.new_transaction()?),
            7 => TmRequest::Commit {
                name: r.name()?,
                then_begin: r.then_begin()?,
            },
            8 => TmRequest::Rollback {
                name: r.name()?,
                then_begin: r.then_begin()?,
            },
            9 => TmRequest::Save { name: r.name()? },
            other => return Err(TmError::UnknownType(other)),
        };
        if r.at < r.b.len() {
            return Err(TmError::TooLong);
        }
        Ok(req)
    })();
    Ok((headers, request))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(kind: u16, body: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&22u32.to_le_bytes());
        v.extend_from_slice(&18u32.to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&7u64.to_le_bytes());
        v.extend_from_slice(&1u32.to_le_bytes());
        v.extend_from_slice(&kind.to_le_bytes());
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn python_tds_requests() {
        // python-tds: begin (isolation 0, no name); commit and begin again (fBeginXact).
        let (h, r) = parse(&request(5, &[0, 0])).unwrap();
        assert_eq!(h.transaction_descriptor, Some(7));
        assert_eq!(
            r.unwrap(),
            TmRequest::Begin(NewTransaction {
                isolation: 0,
                name: String::new()
            })
        );
        let (_, r) = parse(&request(7, &[0, 1, 2, 0])).unwrap();
        assert_eq!(
            r.unwrap(),
            TmRequest::Commit {
                name: String::new(),
                then_begin: Some(NewTransaction {
                    isolation: 2,
                    name: String::new()
                })
            }
        );
        let (_, r) = parse(&request(9, &[4, b's', 0, b'p', 0])).unwrap();
        assert_eq!(r.unwrap(), TmRequest::Save { name: "sp".into() });
    }

    #[test]
    fn errors_carry_what_sql_server_reports() {
        assert_eq!(
            parse(&request(9, &[3, b's', 0, b'p'])).unwrap().1,
            Err(TmError::OddName(3))
        );
        assert!(matches!(
            parse(&request(7, &[0])).unwrap().1,
            Err(TmError::WrongLength { kind: 7, .. })
        ));
        assert_eq!(
            parse(&request(5, &[0, 0, 9])).unwrap().1,
            Err(TmError::TooLong)
        );
        assert_eq!(
            parse(&request(3, &[])).unwrap().1,
            Err(TmError::UnknownType(3))
        );
    }
}
