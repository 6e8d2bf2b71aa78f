//! Transaction manager requests (MS-TDS 2.2.6.9): begin, commit, roll back and save a
//! transaction without T-SQL, answered with ENVCHANGE tokens (MS-TDS 2.2.7.9) carrying the
//! descriptor the client echoes from then on. Errors are SQL Server's ("Database engine events
//! and errors 3000 to 3999"): 3972 for a request shorter than its type (severity 20, which
//! ends the connection), 3979 for one longer, 3976 for a name of odd length, 3995 for an
//! isolation level beyond 5, 3902/3903 without a transaction; distributed transactions are
//! refused with 8501, as a server without MSDTC does.

use super::requests::{Session, check_descriptor};
use super::shared::Shared;
use crate::protocol::tokens::{DONE_ERROR, DONE_FINAL, Reply, ServerMessage, TransactionChange};
use crate::protocol::transaction_manager::{NewTransaction, TmError, TmRequest, parse};
use crate::protocol::{ProtocolError, malformed};

/// Answers a request. After a severity-20 error the session is marked to end with the reply.
pub(super) fn transaction_manager(
    payload: &[u8],
    s: &Shared,
    session: &mut Session,
) -> Result<Reply, ProtocolError> {
    let (_, request) = parse(payload)?;
    let mut r = Reply::default();
    let server = s.server_name().to_owned();
    let refuse = |r: &mut Reply, m: ServerMessage| {
        r.server_message(&m, &server);
        r.done(DONE_ERROR, 0);
    };
    let request = match request {
        Ok(req) => req,
        Err(TmError::WrongLength {
            kind,
            expected,
            actual,
        }) => {
            refuse(
                &mut r,
                ServerMessage::error(
                    3972,
                    20,
                    format!(
                        "Incoming Tabular Data Stream (TDS) protocol is incorrect. Transaction Manager event has wrong length. Event type: {kind}. Expected length: {expected}. Actual length: {actual}."
                    ),
                ),
            );
            session.terminate = true;
            return Ok(r);
        }
        Err(TmError::TooLong) => {
            refuse(
                &mut r,
                ServerMessage::error(
                    3979,
                    16,
                    "The TM request is longer than expected. The request is not processed.",
                ),
            );
            return Ok(r);
        }
        Err(TmError::OddName(n)) => {
            refuse(
                &mut r,
                ServerMessage::error(
                    3976,
                    16,
                    format!(
                        "The transaction name has the odd length {n}. The batch has been aborted."
                    ),
                ),
            );
            return Ok(r);
        }
        Err(TmError::UnknownType(t)) => {
            return Err(malformed(format!(
                "transaction manager request of type {t}, which MS-TDS does not define"
            )));
        }
    };
    if let Some(e) = check_descriptor(payload, s, session)? {
        refuse(&mut r, e);
        return Ok(r);
    }
    let spid = session.spid;
    let outcome = tokio::task::block_in_place(|| {
        s.with_instance(|inst| -> Result<Vec<(TransactionChange, u64)>, ServerMessage> {
            let begin = |inst: &mut crate::instance::Instance, t: &NewTransaction| {
                if t.isolation > 5 {
                    return Err(ServerMessage::error(
                        3995,
                        16,
                        format!("Unknown transaction isolation level {}, valid value range is 0 to 5.", t.isolation),
                    ));
                }
                // A second TM_BEGIN_XACT while a transaction is open: MS-TDS does not say
                // what the server does; the emulator refuses it (the stricter choice), with
                // SQL Server's error for a new transaction it will not start.
                if inst.transaction_count(spid) > 0 {
                    return Err(ServerMessage::error(
                        3988,
                        16,
                        "New transaction is not allowed because there are other threads running in the session.",
                    ));
                }
                let name = (!t.name.is_empty()).then(|| t.name.clone());
                Ok(inst.begin_transaction(spid, name).map(|d| (TransactionChange::Began, d)))
            };
            let mut changes = Vec::new();
            match &request {
                TmRequest::Distributed(_) => {
                    return Err(ServerMessage::error(
                        8501,
                        16,
                        format!("MSDTC on server '{server}' is unavailable."),
                    ));
                }
                TmRequest::Begin(t) => changes.extend(begin(inst, t)?),
                TmRequest::Commit { then_begin, .. } => {
                    if let Some(d) = inst.commit_transaction(spid, true)? {
                        changes.push((TransactionChange::Committed, d));
                    }
                    if let Some(t) = then_begin {
                        changes.extend(begin(inst, t)?);
                    }
                }
                TmRequest::Rollback { name, then_begin } => {
                    let name = (!name.is_empty()).then_some(name.as_str());
                    if let Some(d) = inst.rollback_transaction(spid, name)? {
                        changes.push((TransactionChange::RolledBack, d));
                    }
                    if let Some(t) = then_begin {
                        changes.extend(begin(inst, t)?);
                    }
                }
                TmRequest::Save { name } => inst.save_transaction(spid, name)?,
            }
            Ok(changes)
        })
    })
    .unwrap_or_else(|stopped| Err(stopped.message()));
    match outcome {
        Ok(changes) => {
            for (change, d) in changes {
                r.env_transaction(change, d);
            }
            r.done(DONE_FINAL, 0);
        }
        Err(e) => refuse(&mut r, e),
    }
    Ok(r)
}
