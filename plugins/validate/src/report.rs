//! Findings and their report rows. Every check is a row, passing or not; every status comes
//! from [`status`], the one place a verdict becomes an `ObjectStatus`.

use ferry_sdk::prelude::*;
use serde::{Deserialize, Serialize};

/// What a comparison found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// The same on both sides.
    Same,
    /// A change the step made on the target as configured (compatibility level, statistics).
    Changed,
    /// A difference: fails the work item.
    Differs,
    /// A difference Managed Instance makes on purpose; the notes say which and why.
    Expected,
    /// Not compared (a view the server's version lacks, a type the hash cannot cover).
    NotCompared,
}

/// The report status of a verdict.
pub fn status(v: Verdict) -> ObjectStatus {
    match v {
        // A check that found nothing wrong: the step moves nothing, so not `unchanged`.
        Verdict::Same => ObjectStatus::Passed,
        Verdict::Changed => ObjectStatus::Migrated,
        Verdict::Differs => ObjectStatus::Failed,
        Verdict::Expected => ObjectStatus::Warning,
        Verdict::NotCompared => ObjectStatus::Skipped,
    }
}

/// One report row to be.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub object_type: String,
    pub name: String,
    pub verdict: Verdict,
    pub reason_code: String,
    pub notes: String,
}

impl Finding {
    pub fn new(
        object_type: &str,
        name: impl Into<String>,
        verdict: Verdict,
        reason_code: &str,
        notes: impl Into<String>,
    ) -> Self {
        Finding {
            object_type: object_type.to_owned(),
            name: name.into(),
            verdict,
            reason_code: reason_code.to_owned(),
            notes: notes.into(),
        }
    }
}

/// Differences named in the failure's summary; the rest are counted.
const NAMED: usize = 20;

/// What the work item has found so far (journaled).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    pub passed: u64,
    pub differences: u64,
    pub expected: u64,
    pub not_compared: u64,
    /// The first differences, as `object_type name`.
    pub named: Vec<String>,
}

impl Tally {
    fn count(&mut self, f: &Finding) {
        match f.verdict {
            Verdict::Same | Verdict::Changed => self.passed += 1,
            Verdict::Expected => self.expected += 1,
            Verdict::NotCompared => self.not_compared += 1,
            Verdict::Differs => {
                self.differences += 1;
                if self.named.len() < NAMED {
                    self.named.push(format!("{} {}", f.object_type, f.name));
                }
            }
        }
    }

    /// The failure when anything differs, naming what and saying what to do.
    pub fn failure(&self) -> Option<Error> {
        if self.differences == 0 {
            return None;
        }
        let more = self.differences.saturating_sub(self.named.len() as u64);
        let tail = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        Some(Error::failed(format!(
            "{} difference(s) between source and target: {}{tail}. Each is a report row with \
             what differs and, where there is one, the statement that fixes it; fix them (or \
             migrate the database again) and run the validation again",
            self.differences,
            self.named.join("; ")
        )))
    }
}

/// Reports `f` and counts it.
pub fn emit(cx: &mut Context<'_, crate::config::Config>, tally: &mut Tally, f: Finding) {
    tally.count(&f);
    cx.report(ObjectRow {
        object_type: f.object_type,
        name: f.name,
        status: status(f.verdict),
        reason_code: Some(f.reason_code),
        notes: Some(f.notes),
    });
}

pub fn emit_all(
    cx: &mut Context<'_, crate::config::Config>,
    tally: &mut Tally,
    findings: Vec<Finding>,
) {
    for f in findings {
        emit(cx, tally, f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_differences_fail_and_the_summary_names_them() {
        let mut t = Tally::default();
        t.count(&Finding::new("property", "x", Verdict::Expected, "e", ""));
        t.count(&Finding::new("object", "a", Verdict::Same, "s", ""));
        assert!(t.failure().is_none());
        for i in 0..25 {
            t.count(&Finding::new(
                "table-data",
                format!("dbo.t{i}"),
                Verdict::Differs,
                "d",
                "",
            ));
        }
        let m = t.failure().unwrap().describe();
        assert!(
            m.contains("25 difference(s)") && m.contains("table-data dbo.t0"),
            "{m}"
        );
        assert!(m.contains("and 5 more"), "{m}");
        assert_eq!(status(Verdict::Differs), ObjectStatus::Failed);
        assert_eq!(status(Verdict::Same), ObjectStatus::Passed);
        assert_eq!(status(Verdict::Changed), ObjectStatus::Migrated);
    }
}
