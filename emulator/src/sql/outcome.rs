//! What the statements of a batch produce, for the server to send.

use super::session::SessionOptions;
use crate::instance::{Descriptor, OperationStart};
use crate::protocol::tokens::{Column, ServerMessage, TransactionChange};
use crate::protocol::types::Value;

/// What one statement produced, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Rows {
        columns: Vec<Column>,
        rows: Vec<Vec<Value>>,
    },
    /// A statement that returns no rows; the count, when it affects rows.
    Done(Option<u64>),
    Info(ServerMessage),
    Error(ServerMessage),
    /// Several errors for one statement (e.g. 3201 then 3013), then one DONE.
    Errors(Vec<ServerMessage>),
    /// A background operation the server must run to completion before replying.
    Operation(OperationStart),
    /// The session's database changed (ENVCHANGE), with SQL Server's info message 5701.
    DatabaseChanged {
        old: String,
        new: String,
    },
    /// A transaction began or ended (ENVCHANGE types 8, 9, 10).
    Transaction(TransactionChange, Descriptor),
    /// What a procedure produced (statements end in DONEINPROC), then its return status
    /// (RETURNSTATUS and DONEPROC).
    Procedure(Vec<Outcome>, i32),
    /// The session's options changed.
    Options(SessionOptions),
    /// The connection ends after what came before (an error of severity 20 or more).
    Terminate,
}
