//! Response tokens (MS-TDS 2.2.7), written into one reply buffer.

use super::types::{DEFAULT_COLLATION, SqlType, Value};

/// DONE status bits (MS-TDS 2.2.7.6).
pub const DONE_FINAL: u16 = 0x00;
pub const DONE_MORE: u16 = 0x01;
pub const DONE_ERROR: u16 = 0x02;
pub const DONE_COUNT: u16 = 0x10;
pub const DONE_ATTN: u16 = 0x20;

/// How a transaction changed, for its ENVCHANGE token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionChange {
    Began,
    Committed,
    RolledBack,
}

/// A result column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub ty: SqlType,
    pub nullable: bool,
}

impl Column {
    pub fn new(name: &str, ty: SqlType) -> Self {
        Column {
            name: name.to_owned(),
            ty,
            nullable: true,
        }
    }
}

/// A message from the server: an error (class ≥ 11) or informational message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerMessage {
    pub number: i32,
    pub state: u8,
    pub class: u8,
    pub text: String,
    pub procedure: String,
    pub line: u32,
}

impl ServerMessage {
    pub fn error(number: i32, class: u8, text: impl Into<String>) -> Self {
        ServerMessage {
            number,
            state: 1,
            class,
            text: text.into(),
            procedure: String::new(),
            line: 1,
        }
    }

    pub fn info(number: i32, text: impl Into<String>) -> Self {
        ServerMessage {
            number,
            state: 1,
            class: 0,
            text: text.into(),
            procedure: String::new(),
            line: 1,
        }
    }
}

/// A reply being built: tokens appended in order.
#[derive(Debug, Default)]
pub struct Reply {
    pub buf: Vec<u8>,
}

fn us_varchar(out: &mut Vec<u8>, s: &str) {
    let units: Vec<u16> = s.encode_utf16().collect();
    out.extend_from_slice(&(units.len() as u16).to_le_bytes());
    for u in units {
        out.extend_from_slice(&u.to_le_bytes());
    }
}

fn b_varchar(out: &mut Vec<u8>, s: &str) {
    let units: Vec<u16> = s.encode_utf16().take(255).collect();
    out.push(units.len() as u8);
    for u in units {
        out.extend_from_slice(&u.to_le_bytes());
    }
}

impl Reply {
    /// RETURNSTATUS: a procedure's return value.
    pub fn return_status(&mut self, status: i32) {
        self.buf.push(0x79);
        self.buf.extend_from_slice(&status.to_le_bytes());
    }

    fn token_with_u16_len(&mut self, token: u8, body: Vec<u8>) {
        self.buf.push(token);
        self.buf
            .extend_from_slice(&(body.len() as u16).to_le_bytes());
        self.buf.extend_from_slice(&body);
    }

    fn env_change(&mut self, kind: u8, new: &str, old: &str) {
        let mut body = vec![kind];
        b_varchar(&mut body, new);
        b_varchar(&mut body, old);
        self.token_with_u16_len(0xE3, body);
    }

    /// ENVCHANGE database (type 1).
    pub fn env_database(&mut self, new: &str, old: &str) {
        self.env_change(1, new, old);
    }

    /// ENVCHANGE packet size (type 4). Both values must be numbers (tds.md gotcha 5).
    pub fn env_packet_size(&mut self, new: usize, old: usize) {
        self.env_change(4, &new.to_string(), &old.to_string());
    }

    /// ENVCHANGE SQL collation (type 7).
    pub fn env_collation(&mut self) {
        let mut body = vec![7, DEFAULT_COLLATION.len() as u8];
        body.extend_from_slice(&DEFAULT_COLLATION);
        body.push(0);
        self.token_with_u16_len(0xE3, body);
    }

    /// ENVCHANGE for a transaction (MS-TDS 2.2.7.9): begin (type 8) carries the new
    /// descriptor, which the client echoes in the ALL_HEADERS of every later request; commit
    /// (9) and rollback (10) carry the ended one as the old value.
    pub fn env_transaction(&mut self, change: TransactionChange, descriptor: u64) {
        let d = descriptor.to_le_bytes();
        let mut body = Vec::with_capacity(11);
        match change {
            TransactionChange::Began => {
                body.extend_from_slice(&[8, 8]);
                body.extend_from_slice(&d);
                body.push(0);
            }
            TransactionChange::Committed | TransactionChange::RolledBack => {
                let kind = if change == TransactionChange::Committed {
                    9
                } else {
                    10
                };
                body.extend_from_slice(&[kind, 0, 8]);
                body.extend_from_slice(&d);
            }
        }
        self.token_with_u16_len(0xE3, body);
    }

    /// ENVCHANGE routing (type 20): the MI gateway sends the client on to the node.
    pub fn env_routing(&mut self, host: &str, port: u16) {
        let mut value = vec![0u8];
        value.extend_from_slice(&port.to_le_bytes());
        us_varchar(&mut value, host);
        let mut body = vec![20];
        body.extend_from_slice(&(value.len() as u16).to_le_bytes());
        body.extend_from_slice(&value);
        body.extend_from_slice(&0u16.to_le_bytes());
        self.token_with_u16_len(0xE3, body);
    }

    fn message(&mut self, token: u8, m: &ServerMessage, server: &str) {
        let mut body = Vec::new();
        body.extend_from_slice(&m.number.to_le_bytes());
        body.push(m.state);
        body.push(m.class);
        us_varchar(&mut body, &m.text);
        b_varchar(&mut body, server);
        b_varchar(&mut body, &m.procedure);
        body.extend_from_slice(&m.line.to_le_bytes());
        self.token_with_u16_len(token, body);
    }

    /// ERROR (class ≥ 11) or INFO, by the message's class.
    pub fn server_message(&mut self, m: &ServerMessage, server: &str) {
        let token = if m.class > 10 { 0xAA } else { 0xAB };
        self.message(token, m, server);
    }

    /// LOGINACK: interface SQL, TDS 7.4 (big-endian, MS-TDS 2.2.7.14), program name and version.
    pub fn login_ack(&mut self, prog: &str, version: (u8, u8, u16)) {
        let mut body = vec![1];
        body.extend_from_slice(&0x7400_0004u32.to_be_bytes());
        b_varchar(&mut body, prog);
        body.extend_from_slice(&[
            version.0,
            version.1,
            (version.2 >> 8) as u8,
            version.2 as u8,
        ]);
        self.token_with_u16_len(0xAD, body);
    }

    /// FEATUREEXTACK acknowledging FEDAUTH with a security token (no data), and nothing else:
    /// tiberius rejects acknowledgements of features it did not ask for (tds.md gotcha 6).
    pub fn feature_ext_ack_fedauth(&mut self) {
        self.buf.push(0xAE);
        self.buf.push(0x02);
        self.buf.extend_from_slice(&0u32.to_le_bytes());
        self.buf.push(0xFF);
    }

    /// COLMETADATA.
    pub fn columns(&mut self, cols: &[Column]) {
        self.buf.push(0x81);
        self.buf
            .extend_from_slice(&(cols.len() as u16).to_le_bytes());
        for c in cols {
            self.buf.extend_from_slice(&0u32.to_le_bytes()); // user type
            self.buf
                .extend_from_slice(&u16::from(c.nullable).to_le_bytes()); // flags: nullable
            c.ty.type_info(&mut self.buf);
            b_varchar(&mut self.buf, &c.name);
        }
    }

    /// ROW.
    pub fn row(&mut self, cols: &[Column], values: &[Value]) {
        self.buf.push(0xD1);
        for (c, v) in cols.iter().zip(values) {
            c.ty.encode(v, &mut self.buf);
        }
    }

    /// DONE.
    pub fn done(&mut self, status: u16, count: u64) {
        self.done_token(0xFD, status, count);
    }

    /// DONEINPROC (0xFF) ends a statement inside an RPC; DONEPROC (0xFE) ends the RPC.
    pub fn done_token(&mut self, token: u8, status: u16, count: u64) {
        self.buf.push(token);
        self.buf.extend_from_slice(&status.to_le_bytes());
        self.buf.extend_from_slice(&0u16.to_le_bytes()); // current command
        self.buf.extend_from_slice(&count.to_le_bytes());
    }
}
