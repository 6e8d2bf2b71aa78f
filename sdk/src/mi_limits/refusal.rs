//! What a check answers when a database cannot go to the Managed Instance.

/// A reason the database cannot be migrated, before anything is changed: a short code for the
/// report and the sentence for the person reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub reason: String,
}

impl Refusal {
    pub fn new(code: &'static str, reason: String) -> Refusal {
        Refusal { code, reason }
    }
}
