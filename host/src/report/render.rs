//! Markdown and HTML forms of a [`RunReport`]. The HTML is one file with its style inline, so
//! it survives being mailed or attached to a change ticket.

use std::fmt::Write as _;

use super::model::RunReport;
use crate::escape::{html as esc, markdown as cell};

fn size(bytes: Option<u64>) -> String {
    match bytes {
        Some(b) if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        Some(b) => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        None => "—".into(),
    }
}

fn duration(ms: i64) -> String {
    let s = ms as f64 / 1000.0;
    if s >= 60.0 {
        format!("{}m {:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!("{s:.1}s")
    }
}

fn phases(p: &[(String, u64)]) -> String {
    p.iter()
        .map(|(name, ms)| format!("{name} {}", duration(*ms as i64)))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn markdown(r: &RunReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Migration {} — run {}\n",
        cell(&r.migration),
        cell(&r.run)
    );
    let _ = writeln!(
        s,
        "{} databases: **{} done**, **{} failed**, {} other. Wall time {}.\n",
        r.databases.len(),
        r.done,
        r.failed,
        r.other,
        duration(r.finished_unix_ms - r.started_unix_ms)
    );
    let _ = writeln!(
        s,
        "| database | wave | outcome | method | size | time | phases | reason |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
    for d in &r.databases {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&d.name),
            cell(&d.wave),
            cell(&d.outcome),
            cell(d.method.as_deref().unwrap_or("—")),
            size(d.size_bytes),
            duration(d.duration_ms),
            cell(&phases(&d.phases)),
            cell(d.reason.as_deref().unwrap_or(""))
        );
    }
    if !r.objects.is_empty() {
        let _ = writeln!(s, "\n## Objects\n");
        let _ = writeln!(
            s,
            "| database | type | name | status | reason code | notes |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|");
        for o in &r.objects {
            let row = &o.row;
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                cell(&o.database),
                cell(&row.object_type),
                cell(&row.name),
                row.status.as_str(),
                cell(row.reason_code.as_deref().unwrap_or("")),
                cell(row.notes.as_deref().unwrap_or(""))
            );
        }
    }
    if !r.charts.is_empty() {
        let _ = writeln!(s, "\n## Charts\n");
        for c in &r.charts {
            let _ = writeln!(s, "{}", super::chart::table(c));
        }
    }
    s
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 8px;\
text-align:left;vertical-align:top}th{background:#f3f3f3}.done,.migrated{color:#176b2c}\
.failed,.blocked{color:#b3261e;font-weight:600}.skipped,.pending,.warning{color:#8a6d00}\
.passed{color:#176b2c}figure{margin:1em 0}";

pub fn html(r: &RunReport) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>ferry: {m}</title>\
         <style>{STYLE}</style></head><body><h1>Migration {m}</h1><p>Run {run}: {n} databases, \
         <span class=\"done\">{done} done</span>, <span class=\"failed\">{failed} failed</span>, \
         {other} other. Wall time {wall}.</p>",
        m = esc(&r.migration),
        run = esc(&r.run),
        n = r.databases.len(),
        done = r.done,
        failed = r.failed,
        other = r.other,
        wall = duration(r.finished_unix_ms - r.started_unix_ms)
    );
    s.push_str(
        "<table><tr><th>database</th><th>wave</th><th>outcome</th><th>method</th><th>size</th>\
         <th>time</th><th>phases</th><th>reason</th></tr>",
    );
    for d in &r.databases {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td class=\"{o}\">{o}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td></tr>",
            esc(&d.name),
            esc(&d.wave),
            esc(d.method.as_deref().unwrap_or("—")),
            size(d.size_bytes),
            duration(d.duration_ms),
            esc(&phases(&d.phases)),
            esc(d.reason.as_deref().unwrap_or("")),
            o = esc(&d.outcome),
        );
    }
    s.push_str("</table>");
    if !r.objects.is_empty() {
        s.push_str(
            "<h2>Objects</h2><table><tr><th>database</th><th>type</th><th>name</th>\
             <th>status</th><th>reason code</th><th>notes</th></tr>",
        );
        for o in &r.objects {
            let row = &o.row;
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{st}\">{st}</td><td>{}</td>\
                 <td>{}</td></tr>",
                esc(&o.database),
                esc(&row.object_type),
                esc(&row.name),
                esc(row.reason_code.as_deref().unwrap_or("")),
                esc(row.notes.as_deref().unwrap_or("")),
                st = row.status.as_str(),
            );
        }
        s.push_str("</table>");
    }
    if !r.charts.is_empty() {
        s.push_str("<h2>Charts</h2>");
        for c in &r.charts {
            s.push_str(&super::chart::svg(c));
        }
    }
    s.push_str("</body></html>\n");
    s
}
