//! `sp_configure` options (methods.md §5.8): each option the source set differently from the
//! target is set on the MI, when Managed Instance lets a user set it ("T-SQL differences between
//! SQL Server and Azure SQL Managed Instance", Stored procedures, functions, and triggers;
//! "Server configuration options"). Advanced options need `show advanced options` on first, so
//! that comes first when any is set.

use ferry_sdk::SqlConnection;
use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::quote_text;

use crate::config::Config;
use crate::decision::{Decision, Statement, Verdict};
use crate::servers::Servers;
use crate::table::Table;

/// Options Managed Instance does not let a user set, with their SQL Server default and why
/// (lower case, as `sys.configurations` names them). An option at its default needs nothing.
pub const UNSUPPORTED: [(&str, i64, &str); 10] = [
    (
        "allow polybase export",
        0,
        "Managed Instance sets it through the Azure API (serverConfigurationOptions \
         allowPolybaseExport), not sp_configure",
    ),
    ("allow updates", 0, "not supported on Managed Instance"),
    (
        "filestream_access_level",
        0,
        "Managed Instance has no FILESTREAM or FileTable",
    ),
    (
        "max text repl size",
        65536,
        "not supported on Managed Instance",
    ),
    (
        "remote access",
        1,
        "not supported on Managed Instance (linked servers replace remote servers)",
    ),
    (
        "remote data archive",
        0,
        "Managed Instance has no Stretch Database",
    ),
    (
        "remote proc trans",
        0,
        "not supported on Managed Instance; distributed transactions run only among MIs of a \
         server trust group",
    ),
    (
        "scan for startup procs",
        0,
        "Managed Instance has no startup procedures",
    ),
    ("xp_cmdshell", 0, "Managed Instance has no xp_cmdshell"),
    (
        "ole automation procedures",
        0,
        "Managed Instance ignores it (no OLE Automation)",
    ),
];

/// Options sized to the source's machine: Managed Instance sizes memory, schedulers and
/// workers to its service tier. The T-SQL differences page is silent on them; ferry leaves
/// them alone rather than carry one machine's sizing to another.
const MACHINE: [&str; 9] = [
    "max server memory (mb)",
    "min server memory (mb)",
    "affinity mask",
    "affinity i/o mask",
    "affinity64 mask",
    "affinity64 i/o mask",
    "max worker threads",
    "priority boost",
    "lightweight pooling",
];

/// Set by the step itself when an advanced option needs it.
const SERVICE: [&str; 1] = ["show advanced options"];

struct Option_ {
    name: String,
    value: i64,
    advanced: bool,
    dynamic: bool,
}

fn read(cx: &mut Context<'_, Config>, conn: SqlConnection) -> Result<Vec<Option_>> {
    let t = Table::read(
        cx,
        conn,
        "sys.configurations",
        "SELECT name, value, value_in_use, is_advanced, is_dynamic FROM sys.configurations",
        &[],
    )?;
    Ok(t.rows()
        .map(|r| Option_ {
            name: r.text("name"),
            value: r.int("value"),
            advanced: r.flag("is_advanced"),
            dynamic: r.flag("is_dynamic"),
        })
        .collect())
}

fn set(name: &str, value: i64) -> Statement {
    Statement::new(format!(
        "EXEC sp_configure {}, {value}; RECONFIGURE",
        quote_text(name)
    ))
}

pub fn decide(cx: &mut Context<'_, Config>, s: Servers) -> Result<Vec<Decision>> {
    let patterns = cx.config().configuration.patterns();
    let src = read(cx, s.source)?;
    let dst = read(cx, s.target)?;
    let advanced_on = dst
        .iter()
        .any(|o| o.name.eq_ignore_ascii_case("show advanced options") && o.value == 1);
    let mut out = Vec::new();
    let mut needs_advanced = false;
    for o in src.iter().filter(|o| patterns.admits(&o.name)) {
        let lower = o.name.to_lowercase();
        if SERVICE.contains(&lower.as_str()) {
            continue;
        }
        let there = dst.iter().find(|t| t.name.eq_ignore_ascii_case(&o.name));
        let verdict = if let Some((_, default, why)) =
            UNSUPPORTED.iter().find(|(n, _, _)| *n == lower)
        {
            if o.value == *default || there.is_some_and(|t| t.value == o.value) {
                continue;
            } else {
                Verdict::Skipped {
                    code: "option-not-supported",
                    why: format!(
                        "{why}; the source has it at {}: whatever relied on it needs another way",
                        o.value
                    ),
                }
            }
        } else if MACHINE.contains(&lower.as_str()) {
            if there.is_some_and(|t| t.value == o.value) {
                continue;
            }
            Verdict::Skipped {
                code: "option-machine-sized",
                why: format!(
                    "the source has it at {} for its own hardware; Managed Instance sizes it to \
                     its service tier: set it by hand if the MI needs it",
                    o.value
                ),
            }
        } else {
            match there {
                None => Verdict::Skipped {
                    code: "option-not-on-target",
                    why: "the Managed Instance has no such option (sys.configurations)".into(),
                },
                Some(t) if t.value == o.value => Verdict::Unchanged,
                Some(t) => {
                    needs_advanced |= o.advanced && !advanced_on;
                    let fix = vec![set(&t.name, o.value)];
                    Verdict::Create(fix)
                }
            }
        };
        let mut d = Decision::new("configuration", &o.name, verdict);
        if !o.dynamic && matches!(d.verdict, Verdict::Create(_)) {
            d = d.note(
                "not dynamic (sys.configurations is_dynamic = 0): the value takes effect when \
                 the Managed Instance restarts",
            );
        }
        out.push(d);
    }
    if needs_advanced {
        // Advanced options are set only while `show advanced options` is on; it stays on, as
        // the source's DBA turned it on to set them.
        out.insert(
            0,
            Decision::new(
                "configuration",
                "show advanced options",
                Verdict::Create(vec![set("show advanced options", 1)]),
            )
            .note("turned on to set the advanced options below"),
        );
    }
    Ok(out)
}
