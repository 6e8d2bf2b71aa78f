//! The run report: per database (method, size, time per phase, outcome and reason) and per
//! object row, built from the journal and written as JSON, Markdown and a self-contained HTML
//! page a DBA can mail around.

mod chart;
mod model;
mod render;

use std::path::{Path, PathBuf};

pub use model::{ChartReport, DatabaseReport, ObjectReport, RunReport, StepReport};

/// Writes `report.json`, `report.md` and `report.html` into `dir` (each through a temporary
/// file and a rename, so a reader never sees half a report); returns the HTML report's path.
pub fn write(report: &RunReport, dir: &Path) -> Result<PathBuf, String> {
    let json = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
    let files = [
        ("report.json", json),
        ("report.md", render::markdown(report)),
        ("report.html", render::html(report)),
    ];
    for (name, body) in files {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, body)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(dir.join("report.html"))
}
