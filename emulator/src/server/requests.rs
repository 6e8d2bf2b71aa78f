//! One request of a logged-in session: a SQL batch or an RPC, its statements run on the
//! instance, and the reply tokens they produce.

use std::time::SystemTime;

use super::options::StatementRecord;
use super::shared::Shared;
use crate::instance::OperationStart;
use crate::protocol::tokens::{
    DONE_COUNT, DONE_ERROR, DONE_FINAL, DONE_MORE, Reply, ServerMessage,
};
use crate::protocol::types::{SqlType, Value};
use crate::protocol::{ProtocolError, malformed};
use crate::sql::{Outcome, SessionView, execute_batch};

/// A logged-in client, as its requests see it.
pub(super) struct Session {
    pub(super) spid: u16,
    pub(super) user: String,
    pub(super) database: String,
    pub(super) packet_size: usize,
    /// Background operations the last request started; the reply waits for them.
    pub(super) pending: Vec<OperationStart>,
}

/// ALL_HEADERS (MS-TDS 2.2.5.3) precede the SQL text: a total length, then the headers.
pub(super) fn batch_text(payload: &[u8]) -> Result<String, ProtocolError> {
    let total = payload
        .get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or_else(|| malformed("SQL batch is empty"))?;
    let text = payload
        .get(total..)
        .ok_or_else(|| malformed("SQL batch headers run past the message"))?;
    if text.len() % 2 != 0 {
        return Err(malformed("SQL batch text is not UTF-16"));
    }
    let units: Vec<u16> = text
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).map_err(|_| malformed("SQL batch text is not valid UTF-16"))
}

fn record(s: &Shared, session: &Session, text: &str) {
    s.statements.lock().push(StatementRecord {
        spid: session.spid,
        user: session.user.clone(),
        at: SystemTime::now(),
        text: crate::sql::security::mask_secrets(text),
    });
}

pub(super) fn sql_batch(
    payload: &[u8],
    s: &Shared,
    session: &mut Session,
) -> Result<Reply, ProtocolError> {
    let text = batch_text(payload)?;
    record(s, session, &text);
    let mut r = Reply::default();
    run_statements(&text, &[], s, session, &mut r, DONE);
    Ok(r)
}

/// Token bytes that end a statement: DONE in a batch, DONEINPROC inside an RPC, DONEPROC
/// at the end of an RPC (MS-TDS 2.2.7.6–8).
pub(super) const DONE: u8 = 0xFD;
const DONEINPROC: u8 = 0xFF;
pub(super) const DONEPROC: u8 = 0xFE;

type Vars = [(String, SqlType, Value)];

/// An RPC: sp_executesql runs its statement with the parameters bound; other procedures are
/// unknown (SQL Server error 2812) until the emulator implements them.
pub(super) fn rpc(
    payload: &[u8],
    s: &Shared,
    session: &mut Session,
) -> Result<Reply, ProtocolError> {
    let server = s.options.personality.server_name().to_owned();
    let mut r = Reply::default();
    let req = match crate::protocol::rpc::parse(payload) {
        Ok(req) => req,
        // A well-framed request with a parameter type we do not decode: refuse the request but
        // keep the connection (the whole message was read, so the stream is still in step).
        Err(ProtocolError::Malformed(m)) if m.contains("not supported") => {
            r.server_message(
                &ServerMessage::error(50000, 16, format!("ferry-emulator: {m}")),
                &server,
            );
            r.done_token(DONEPROC, DONE_ERROR, 0);
            return Ok(r);
        }
        Err(e) => return Err(e),
    };
    if !req.proc.is_executesql() {
        record(s, session, &format!("EXEC {}", req.proc.name()));
        let text = format!("Could not find stored procedure '{}'.", req.proc.name());
        r.server_message(&ServerMessage::error(2812, 16, text), &server);
        r.done_token(DONEPROC, DONE_ERROR, 0);
        return Ok(r);
    }
    let mut params = req.params.into_iter();
    let Some(Value::Text(statement)) = params.next().map(|p| p.value) else {
        // SQL Server error 214 (class 16).
        let text = "Procedure expects parameter '@statement' of type 'ntext/nchar/nvarchar'.";
        r.server_message(&ServerMessage::error(214, 16, text), &server);
        r.done_token(DONEPROC, DONE_ERROR, 0);
        return Ok(r);
    };
    let _declarations = params.next();
    let vars: Vec<(String, SqlType, Value)> = params.map(|p| (p.name, p.ty, p.value)).collect();
    record(s, session, &statement);
    run_statements(&statement, &vars, s, session, &mut r, DONEINPROC);
    r.return_status(0);
    r.done_token(DONEPROC, DONE_FINAL, 0);
    Ok(r)
}

/// Runs statements and writes their results, each ended by `done`.
fn run_statements(
    text: &str,
    vars: &Vars,
    s: &Shared,
    session: &mut Session,
    r: &mut Reply,
    done: u8,
) {
    let server = s.options.personality.server_name().to_owned();
    let view = SessionView {
        personality: &s.options.personality,
        database: &session.database,
        spid: session.spid,
        user: &session.user,
        vars,
    };
    // The instance lock may be held across blob I/O (BACKUP/RESTORE … URL block on it), so a
    // session waiting for the lock must not pin a runtime worker: with every worker parked on
    // the lock, nothing would drive the I/O the holder waits for. `block_in_place` hands this
    // worker's other tasks to a fresh one while it waits.
    let outcomes =
        tokio::task::block_in_place(|| s.with_instance(|inst| execute_batch(text, &view, inst)))
            .unwrap_or_else(|stopped| vec![Outcome::Error(stopped.message())]);
    let n = outcomes.len();
    for (i, o) in outcomes.into_iter().enumerate() {
        // In a batch the last DONE is final; inside an RPC every DONEINPROC says MORE and
        // the DONEPROC after them ends the reply.
        let more = if i + 1 < n || done == DONEINPROC {
            DONE_MORE
        } else {
            DONE_FINAL
        };
        match o {
            Outcome::Rows { columns, rows } => {
                r.columns(&columns);
                for row in &rows {
                    r.row(&columns, row);
                }
                r.done_token(done, more | DONE_COUNT, rows.len() as u64);
            }
            Outcome::Done(count) => {
                let status = more | if count.is_some() { DONE_COUNT } else { 0 };
                r.done_token(done, status, count.unwrap_or(0));
            }
            Outcome::Info(m) => r.server_message(&m, &server),
            Outcome::Error(m) => {
                r.server_message(&m, &server);
                r.done_token(done, more | DONE_ERROR, 0);
            }
            Outcome::Operation(op) => session.pending.push(op),
            Outcome::Errors(list) => {
                for m in &list {
                    r.server_message(m, &server);
                }
                r.done_token(done, more | DONE_ERROR, 0);
            }
            Outcome::DatabaseChanged { old, new } => {
                r.env_database(&new, &old);
                let text = format!("Changed database context to '{new}'.");
                r.server_message(&ServerMessage::info(5701, text), &server);
                r.done_token(done, more, 0);
                session.database = new;
            }
        }
    }
    if n == 0 && done == DONE {
        r.done(DONE_FINAL, 0);
    }
}
