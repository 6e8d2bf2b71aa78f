//! One request of a logged-in session: a SQL batch or an RPC, its statements run on the
//! instance, and the reply tokens they produce.

use std::time::SystemTime;

use super::options::StatementRecord;
use super::shared::Shared;
use crate::instance::OperationStart;
use crate::protocol::headers;
use crate::protocol::tokens::{
    DONE_COUNT, DONE_ERROR, DONE_FINAL, DONE_MORE, Reply, ServerMessage,
};
use crate::protocol::types::Value;
use crate::protocol::{ProtocolError, malformed};
use crate::sql::{Outcome, SessionOptions, SessionView, Variables, execute_batch};

/// A background operation a request started, and where in the reply its end goes: the
/// statement's messages and DONE are written once the operation is over.
pub(super) struct Pending {
    pub(super) op: OperationStart,
    pub(super) at: usize,
    pub(super) done: u8,
    pub(super) more: u16,
}

/// A logged-in client, as its requests see it.
pub(super) struct Session {
    pub(super) spid: u16,
    pub(super) user: String,
    pub(super) database: String,
    pub(super) packet_size: usize,
    pub(super) options: SessionOptions,
    /// Background operations the last request started; the reply waits for them.
    pub(super) pending: Vec<Pending>,
    /// The connection ends after this reply (an error of severity 20 or more).
    pub(super) terminate: bool,
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

/// Checks the transaction descriptor a request carries against the session's transaction
/// (MS-TDS 2.2.5.3.2: the client sends the descriptor of the transaction the server last
/// announced). A stale descriptor is SQL Server's error 3971 ("The server failed to resume the
/// transaction. Desc:…"); none while a transaction is open, 3989. SQL Server checks the
/// descriptor; the exact case a client hits first is not documented.
pub(super) fn check_descriptor(
    payload: &[u8],
    s: &Shared,
    session: &Session,
) -> Result<Option<ServerMessage>, ProtocolError> {
    let (h, _) = headers::parse(payload)?;
    let sent = h.transaction_descriptor.unwrap_or(0);
    let current =
        tokio::task::block_in_place(|| s.with_instance(|i| i.transaction_descriptor(session.spid)))
            .unwrap_or(0);
    Ok(match (sent, current) {
        (a, b) if a == b => None,
        (0, _) => Some(ServerMessage::error(
            3989,
            16,
            "New request is not allowed to start because it should come with valid transaction descriptor.",
        )),
        (a, _) => Some(ServerMessage::error(
            3971,
            16,
            format!("The server failed to resume the transaction. Desc:{a:x}."),
        )),
    })
}

pub(super) fn sql_batch(
    payload: &[u8],
    s: &Shared,
    session: &mut Session,
) -> Result<Reply, ProtocolError> {
    let text = batch_text(payload)?;
    record(s, session, &text);
    let mut r = Reply::default();
    if let Some(e) = check_descriptor(payload, s, session)? {
        r.server_message(&e, s.server_name());
        r.done(DONE_ERROR, 0);
        return Ok(r);
    }
    run_statements(&text, &Variables::default(), s, session, &mut r, DONE);
    Ok(r)
}

/// Token bytes that end a statement: DONE in a batch, DONEINPROC inside an RPC, DONEPROC
/// at the end of an RPC (MS-TDS 2.2.7.6–8).
pub(super) const DONE: u8 = 0xFD;
const DONEINPROC: u8 = 0xFF;
pub(super) const DONEPROC: u8 = 0xFE;

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
    if let Some(e) = check_descriptor(payload, s, session)? {
        r.server_message(&e, &server);
        r.done_token(DONEPROC, DONE_ERROR, 0);
        return Ok(r);
    }
    if !req.proc.is_executesql() {
        record(s, session, &format!("EXEC {}", req.proc.name()));
        r.server_message(&crate::sql::not_found(&req.proc.name()), &server);
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
    let vars = Variables::from_params(params.map(|p| (p.name, p.ty, p.value)));
    record(s, session, &statement);
    run_statements(&statement, &vars, s, session, &mut r, DONEINPROC);
    r.return_status(0);
    r.done_token(DONEPROC, DONE_FINAL, 0);
    Ok(r)
}

/// Runs statements and writes their results, each ended by `done`.
fn run_statements(
    text: &str,
    vars: &Variables,
    s: &Shared,
    session: &mut Session,
    r: &mut Reply,
    done: u8,
) {
    let view = SessionView {
        personality: &s.options.personality,
        database: &session.database,
        spid: session.spid,
        user: &session.user,
        vars,
        options: session.options,
    };
    // The instance lock may be held across blob I/O (BACKUP/RESTORE … URL block on it), so a
    // session waiting for the lock must not pin a runtime worker: with every worker parked on
    // the lock, nothing would drive the I/O the holder waits for. `block_in_place` hands this
    // worker's other tasks to a fresh one while it waits.
    let outcomes =
        tokio::task::block_in_place(|| s.with_instance(|inst| execute_batch(text, &view, inst)))
            .unwrap_or_else(|stopped| vec![Outcome::Error(stopped.message())]);
    let last_more = if done == DONEINPROC {
        DONE_MORE
    } else {
        DONE_FINAL
    };
    write_outcomes(outcomes, s, session, r, done, last_more);
    if done == DONE && r.buf.is_empty() && session.pending.is_empty() {
        r.done(DONE_FINAL, 0);
    }
}

/// Writes outcomes as tokens; `last_more` is the status of the last statement's DONE.
fn write_outcomes(
    outcomes: Vec<Outcome>,
    s: &Shared,
    session: &mut Session,
    r: &mut Reply,
    done: u8,
    last_more: u16,
) {
    let server = s.options.personality.server_name().to_owned();
    // Which outcomes end a statement, to know which DONE is the last.
    let ends = |o: &Outcome| {
        matches!(
            o,
            Outcome::Rows { .. }
                | Outcome::Done(_)
                | Outcome::Error(_)
                | Outcome::Errors(_)
                | Outcome::DatabaseChanged { .. }
                | Outcome::Procedure(..)
                | Outcome::Operation(_)
        )
    };
    let last = outcomes.iter().rposition(ends);
    for (i, o) in outcomes.into_iter().enumerate() {
        let more = if Some(i) == last {
            last_more
        } else {
            DONE_MORE
        };
        let count_bit = if session.options.nocount {
            0
        } else {
            DONE_COUNT
        };
        match o {
            Outcome::Rows { columns, rows } => {
                r.columns(&columns);
                for row in &rows {
                    r.row(&columns, row);
                }
                r.done_token(done, more | count_bit, rows.len() as u64);
            }
            Outcome::Done(count) => {
                let status = more | if count.is_some() { count_bit } else { 0 };
                r.done_token(done, status, count.unwrap_or(0));
            }
            Outcome::Info(m) => r.server_message(&m, &server),
            Outcome::Error(m) => {
                r.server_message(&m, &server);
                r.done_token(done, more | DONE_ERROR, 0);
            }
            Outcome::Operation(op) => session.pending.push(Pending {
                op,
                at: r.buf.len(),
                done,
                more,
            }),
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
            Outcome::Transaction(change, descriptor) => r.env_transaction(change, descriptor),
            Outcome::Procedure(inner, status) => {
                write_outcomes(inner, s, session, r, DONEINPROC, DONE_MORE);
                r.return_status(status);
                r.done_token(DONEPROC, more, 0);
            }
            Outcome::Options(options) => session.options = options,
            Outcome::Terminate => session.terminate = true,
        }
    }
}

/// The tokens that end a background operation's statement: its messages (or errors) and DONE.
pub(super) fn operation_end(
    result: Result<Vec<ServerMessage>, Vec<ServerMessage>>,
    p: &Pending,
    server: &str,
) -> Vec<u8> {
    let mut r = Reply::default();
    let status = match result {
        Ok(messages) => {
            for m in &messages {
                r.server_message(m, server);
            }
            p.more
        }
        Err(errors) => {
            for m in &errors {
                r.server_message(m, server);
            }
            p.more | DONE_ERROR
        }
    };
    r.done_token(p.done, status, 0);
    r.buf
}
