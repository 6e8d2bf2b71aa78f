//! The session a batch runs in, as its statements see it.

use super::variables::Variables;
use crate::personality::Personality;

/// Session options SET changes that the emulator acts on ("SET statements", Transact-SQL
/// reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionOptions {
    /// SET XACT_ABORT ON: a run-time error rolls back the whole transaction and ends the batch.
    pub xact_abort: bool,
    /// SET NOCOUNT ON: DONE tokens carry no row count.
    pub nocount: bool,
}

/// What a batch can see of its session.
pub struct SessionView<'a> {
    pub personality: &'a Personality,
    pub database: &'a str,
    pub spid: u16,
    pub user: &'a str,
    /// Variables in scope: the batch's own, or the parameters an sp_executesql RPC bound.
    pub vars: &'a Variables,
    pub options: SessionOptions,
}
