//! What a check answers when a database cannot go to the Managed Instance.

/// A reason the database cannot be migrated, before anything is changed: a short code for the
/// report and the sentence for the person reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Which limit, as a stable short code (`storage`, `file-count`, `filestream`…).
    pub code: &'static str,
    /// What stands in the way, the error the restore would end with, and what to do first.
    pub reason: String,
}

impl Refusal {
    /// A refusal with this code and reason.
    pub fn new(code: &'static str, reason: String) -> Refusal {
        Refusal { code, reason }
    }
}
