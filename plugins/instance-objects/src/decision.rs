//! What the plugin decided for each object, and carrying it out: a report row for every object
//! (the typed form of a dbatools `Copy-Dba*` row, with Managed Instance's reasons), the T-SQL
//! appended to the family's reviewable `.sql` file, and the statements run on the target.

use ferry_sdk::prelude::*;
use ferry_sdk::{Param, SqlConnection, StatementOptions};

use crate::config::Config;

/// One T-SQL batch for the target. Sealed parameters carry what the plugin never sees.
#[derive(Debug, Clone)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<Param>,
}

impl Statement {
    pub fn new(sql: impl Into<String>) -> Self {
        Statement {
            sql: sql.into(),
            params: Vec::new(),
        }
    }

    pub fn with(mut self, p: Param) -> Self {
        self.params.push(p);
        self
    }
}

/// What happens to an object.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// Missing on the target: these statements make it.
    Create(Vec<Statement>),
    /// On the target already, and the same.
    Unchanged,
    /// On the target and different (`differs` says how); `replace` makes it match, run only
    /// when the config says `replace = true`.
    Conflict {
        differs: String,
        replace: Vec<Statement>,
    },
    /// Left alone on purpose (a system object, one the family does not cover).
    Skipped { code: &'static str, why: String },
    /// Managed Instance cannot take it as it is; `why` says what to change.
    Refused { code: &'static str, why: String },
}

/// One object's decision.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The report's object type: "login", "server-role", "agent-job"…
    pub kind: &'static str,
    pub name: String,
    pub verdict: Verdict,
    /// Rewrites made for Managed Instance, each with its reason; shown in the report and as
    /// comments in the `.sql` file.
    pub notes: Vec<String>,
}

impl Decision {
    pub fn new(kind: &'static str, name: impl Into<String>, verdict: Verdict) -> Self {
        Decision {
            kind,
            name: name.into(),
            verdict,
            notes: Vec::new(),
        }
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Whether the object is (or will be) on the target as the source has it.
    pub fn lands(&self) -> bool {
        matches!(self.verdict, Verdict::Create(_) | Verdict::Unchanged)
    }
}

/// Counts for the step's output.
#[derive(Debug, Default, Clone, Copy, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Tally {
    pub migrated: u32,
    pub unchanged: u32,
    pub skipped: u32,
    pub refused: u32,
    pub conflict: u32,
    pub failed: u32,
}

impl Tally {
    pub fn add(&mut self, other: Tally) {
        self.migrated += other.migrated;
        self.unchanged += other.unchanged;
        self.skipped += other.skipped;
        self.refused += other.refused;
        self.conflict += other.conflict;
        self.failed += other.failed;
    }
}

fn row(d: &Decision, status: ObjectStatus, code: Option<&str>, text: Option<String>) -> ObjectRow {
    let mut notes: Vec<String> = d.notes.clone();
    notes.extend(text);
    ObjectRow {
        object_type: d.kind.to_owned(),
        name: d.name.clone(),
        status,
        reason_code: code.map(str::to_owned),
        notes: (!notes.is_empty()).then(|| notes.join(" ")),
    }
}

/// Runs one decision's statements: each goes to the `.sql` file, then to the target. The
/// first failure stops the object (its later statements depend on the earlier ones).
fn run(
    cx: &mut Context<'_, Config>,
    target: SqlConnection,
    script: Option<&str>,
    d: &Decision,
    statements: &[Statement],
) -> std::result::Result<(), String> {
    for s in statements {
        let header = d
            .notes
            .iter()
            .map(|n| format!("-- {}\n", n.replace('\n', " ")))
            .collect::<String>();
        let sql = format!(
            "-- {} {}\n{header}{}",
            d.kind,
            d.name.replace('\n', " "),
            s.sql
        );
        if let Some(script) = script {
            cx.script_append(script, &sql, &s.params)
                .map_err(|e| e.describe())?;
        }
        // Not idempotent: a CREATE sent twice after a dropped connection fails the second
        // time, and the next apply finds the object made and reports it unchanged.
        let options = StatementOptions {
            idempotent: false,
            timeout_ms: Some(120_000),
        };
        cx.execute(target, &sql, &s.params, options)
            .map_err(|e| e.describe())?;
    }
    Ok(())
}

/// Carries out a family's decisions and reports each object.
pub fn carry_out(
    cx: &mut Context<'_, Config>,
    target: SqlConnection,
    script: Option<&str>,
    decisions: &[Decision],
) -> Tally {
    let replace = cx.config().replace;
    let mut t = Tally::default();
    for d in decisions {
        let r = match &d.verdict {
            Verdict::Create(statements) => match run(cx, target, script, d, statements) {
                Ok(()) => {
                    t.migrated += 1;
                    row(d, ObjectStatus::Migrated, None, None)
                }
                Err(e) => {
                    t.failed += 1;
                    row(
                        d,
                        ObjectStatus::Failed,
                        Some("target-refused"),
                        Some(format!(
                            "The Managed Instance refused it: {e}. Fix the cause and apply again; \
                             objects already made are kept and reported unchanged."
                        )),
                    )
                }
            },
            Verdict::Unchanged => {
                t.unchanged += 1;
                row(d, ObjectStatus::Unchanged, None, None)
            }
            Verdict::Conflict {
                differs,
                replace: fix,
            } if replace => match run(cx, target, script, d, fix) {
                Ok(()) => {
                    t.migrated += 1;
                    row(
                        d,
                        ObjectStatus::Migrated,
                        Some("replaced"),
                        Some(format!("Replaced on the target ({differs}).")),
                    )
                }
                Err(e) => {
                    t.failed += 1;
                    row(
                        d,
                        ObjectStatus::Failed,
                        Some("target-refused"),
                        Some(format!("Replacing it failed: {e} ({differs}).")),
                    )
                }
            },
            Verdict::Conflict { differs, .. } => {
                t.conflict += 1;
                row(
                    d,
                    ObjectStatus::Conflict,
                    Some("differs-on-target"),
                    Some(format!(
                        "The target already has it, different: {differs}. Left alone; set \
                         `replace = true` in the step's config to make it match the source."
                    )),
                )
            }
            Verdict::Skipped { code, why } => {
                t.skipped += 1;
                row(d, ObjectStatus::Skipped, Some(code), Some(why.clone()))
            }
            Verdict::Refused { code, why } => {
                t.refused += 1;
                row(d, ObjectStatus::Refused, Some(code), Some(why.clone()))
            }
        };
        cx.report(r);
    }
    t
}
