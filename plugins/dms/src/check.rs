//! One precondition's verdict, as preflight reports it.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Refuse,
    NotChecked,
}

#[derive(Debug, Clone)]
pub struct Check {
    pub code: &'static str,
    pub status: Status,
    pub reason: String,
}

pub fn check(code: &'static str, ok: bool, reason: impl Into<String>) -> Check {
    Check {
        code,
        status: if ok { Status::Pass } else { Status::Refuse },
        reason: reason.into(),
    }
}
