//! The plan file `ferry plan` writes and `ferry apply plan.json` reads: JSON for ferry, with a
//! text twin for people. It holds statements with sealed values as `***` and the inputs'
//! fingerprint (hashes, never secrets).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::PlannedAction;

/// The format tag; a plan from another format is refused with a sentence.
pub const FORMAT: &str = "ferry-plan/1";

/// A reviewed plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    pub format: String,
    /// The migration's name.
    pub migration: String,
    /// The migration and environment files, absolute.
    pub migration_file: PathBuf,
    pub environment_file: PathBuf,
    /// When the plan was made, milliseconds since the Unix epoch.
    pub created_unix_ms: u64,
    /// The inputs' fingerprint when the plan was made.
    pub inputs: BTreeMap<String, String>,
    /// Every work item, in wave and step order.
    pub items: Vec<PlannedItem>,
}

/// One database through one step.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedItem {
    pub step: String,
    pub item: String,
    pub wave: String,
    /// `ready` (the step would go ahead) or `stops` (it would stop; `reason` says why).
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The changes it would make, in order.
    pub actions: Vec<PlannedAction>,
}

impl PlanFile {
    /// Reads a plan; errors name the file and what is wrong.
    pub fn read(path: &Path) -> Result<PlanFile, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the plan: {e}", path.display()))?;
        let plan: PlanFile = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}: not a ferry plan ({e}); make one with `ferry plan migration.toml`",
                path.display()
            )
        })?;
        if plan.format != FORMAT {
            return Err(format!(
                "{}: plan format `{}` is not `{FORMAT}`, which this ferry reads; make the plan \
                 again with this ferry",
                path.display(),
                plan.format
            ));
        }
        Ok(plan)
    }

    /// Writes `path` (JSON) and the text form beside it (`.txt`), each by rename so a reader
    /// never sees half a plan.
    pub fn write(&self, path: &Path) -> Result<PathBuf, String> {
        let json = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        let text_path = path.with_extension("txt");
        for (p, body) in [(path, json), (text_path.as_path(), self.text())] {
            let tmp = p.with_extension("tmp");
            std::fs::write(&tmp, body)
                .and_then(|()| std::fs::rename(&tmp, p))
                .map_err(|e| format!("cannot write {}: {e}", p.display()))?;
        }
        Ok(text_path)
    }

    /// The readable form: per database, each step's outcome and its changes.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "Plan for migration `{}`", self.migration);
        let _ = writeln!(s, "  migration:   {}", self.migration_file.display());
        let _ = writeln!(s, "  environment: {}", self.environment_file.display());
        let changes: usize = self.items.iter().map(|i| i.actions.len()).sum();
        let stops = self.items.iter().filter(|i| i.outcome != "ready").count();
        let _ = writeln!(
            s,
            "  {} work items, {changes} changes, {stops} would stop\n",
            self.items.len()
        );
        let mut by_db: BTreeMap<(&str, &str), Vec<&PlannedItem>> = BTreeMap::new();
        for i in &self.items {
            by_db.entry((&i.wave, &i.item)).or_default().push(i);
        }
        for ((wave, db), items) in by_db {
            let _ = writeln!(s, "{db}  (wave {wave})");
            for i in items {
                match &i.reason {
                    Some(r) => {
                        let _ = writeln!(s, "  {}: {} — {r}", i.step, i.outcome);
                    }
                    None => {
                        let _ = writeln!(s, "  {}: {}", i.step, i.outcome);
                    }
                }
                for a in &i.actions {
                    let _ = writeln!(s, "    [{} on {}]", a.kind, a.label);
                    for line in a.text.lines() {
                        let _ = writeln!(s, "      {line}");
                    }
                }
            }
            s.push('\n');
        }
        // A reviewer reads this in a terminal: a control character a plugin put in a
        // statement or a reason is shown as text, as on ferry's own output.
        crate::escape::terminal_lines(&s).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_form_shows_control_characters_as_text() {
        let plan = PlanFile {
            format: FORMAT.into(),
            migration: "m".into(),
            migration_file: "/m/migration.toml".into(),
            environment_file: "/m/environment.toml".into(),
            created_unix_ms: 0,
            inputs: BTreeMap::new(),
            items: vec![PlannedItem {
                step: "restore".into(),
                item: "Sales".into(),
                wave: "all".into(),
                outcome: "stops".into(),
                reason: Some("odd\x1b]0;owned\x07".into()),
                actions: vec![PlannedAction {
                    kind: "execute".into(),
                    label: "target".into(),
                    text: "SELECT 1\r\nSELECT '\u{9b}2J'".into(),
                }],
            }],
        };
        let text = plan.text();
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text}");
        assert!(text.contains("odd\\u001b]0;owned\\u0007"), "{text}");
        assert!(text.contains("      SELECT '\\u009b2J'"), "{text}");
    }
}
