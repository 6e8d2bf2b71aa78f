//! After the failover: the MI's first full backup awaited before the link's metadata goes
//! (dropping earlier is a known cause of the database going unavailable after a later MI
//! restart; "Fail over link", clean up; methods.md §1.5 step 7), the DAG and AG dropped on
//! SQL Server when asked, and the per-database report.

use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::quote_name;
use serde_json::json;

use crate::arm;
use crate::config::Config;
use crate::dmv::{mi_backup_mark, seconds};
use crate::setup::ag_exists;
use crate::sql::{Side, exec};
use crate::state::{Link, State, wait};

pub fn awaiting_backup(cx: &mut Context<'_, Config>, link: Link) -> Result<Outcome<State>> {
    // The wait protects the MI's copy from losing the link's metadata before its first backup
    // ("Fail over link", clean up). A broken one-way link was deleted at the break itself, so
    // there is nothing left to drop early: SQL Server's AGs go at once.
    if !link.broken && mi_backup_mark(cx, &link.db)? <= link.mi_backup_mark {
        cx.phase(
            "awaiting-backup",
            None,
            Some("waiting for the MI's first full backup of the database"),
        );
        return wait(
            cx,
            State::AwaitingBackup { link },
            "the MI takes its first full backup",
        );
    }
    if link.two_way && !link.broken && !link.forced && cx.config().keep_link {
        cx.info(&format!(
            "[{}]: the link is kept, SQL Server its secondary: `ferry failback` fails back, `ferry finish` ends the wait",
            link.db
        ));
        return Ok(Outcome::Next(State::Reversed { link }));
    }
    wrap_up(cx, link)
}

/// The end of a link: after a forced failover SQL Server's side is left alone (said why);
/// otherwise with `drop_source_ag` the link is deleted on the MI if it still exists, then its
/// DAG and AG dropped on SQL Server; then the report.
pub fn wrap_up(cx: &mut Context<'_, Config>, link: Link) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    if link.forced && cfg.drop_source_ag {
        cx.warn(&format!(
            "[{}]: after a forced failover ferry leaves SQL Server's DAG [{}] and AG [{}] alone: its copy may hold writes the MI lacks. Back it up, then drop them (or SET (ROLE = SECONDARY) to rejoin) once it is reachable",
            link.db, link.dag, link.ag
        ));
    }
    if cfg.drop_source_ag && !link.forced {
        // A link that failed over still exists on the MI: deleted first, so the MI stops
        // looking for its old partner.
        if !link.broken && arm::link_view(cx, &link)?.is_some() {
            let op = arm::begin(cx, "DELETE", &arm::link_path(&link), None)?;
            return Ok(Outcome::wait_operation(
                op,
                State::AwaitingBackup { link },
                "deleting the link on the MI",
            ));
        }
        for name in [&link.dag, &link.ag] {
            if ag_exists(cx, name)? {
                drop_group(cx, name)?;
            }
        }
    }
    finish(cx, link, false)
}

/// DROP AVAILABILITY GROUP on SQL Server (the DAG first, then its AG).
pub fn drop_group(cx: &mut Context<'_, Config>, name: &str) -> Result<()> {
    exec(
        cx,
        Side::Source,
        &format!("DROP AVAILABILITY GROUP {}", quote_name(name)),
        &[],
        "dropping the link's availability group on SQL Server",
    )
}

/// The report row and output: seeding time, peak lag, LSNs compared, downtime.
pub fn finish(
    cx: &mut Context<'_, Config>,
    mut link: Link,
    failed_back: bool,
) -> Result<Outcome<State>> {
    link.phases.end();
    let seeding_s = seconds(
        link.seeding_ended_ms
            .saturating_sub(link.seeding_started_ms),
    );
    let downtime_ms = link.writable_ms.saturating_sub(link.cutover_started_ms);
    let (src_lsn, mi_lsn) = link.compared.clone().unwrap_or_default();
    let how = if failed_back {
        "failed over and back to SQL Server"
    } else if link.broken {
        "link broken (one-way)"
    } else {
        "failed over"
    };
    cx.phase("done", Some(1.0), Some(how));
    cx.report(ObjectRow {
        object_type: "database".into(),
        name: link.db.clone(),
        status: ObjectStatus::Migrated,
        reason_code: None,
        notes: Some(format!(
            "{} → MI through the link ({how}): seeding {seeding_s:.1} s, peak lag {:.0} s / {} KB send queue, last_hardened_lsn source {} = MI {}, downtime {:.1} s",
            link.db,
            link.peak_lag_seconds,
            link.peak_send_queue_kb,
            if src_lsn.is_empty() { "-" } else { &src_lsn },
            if mi_lsn.is_empty() { "-" } else { &mi_lsn },
            seconds(downtime_ms)
        )),
    });
    Ok(Outcome::Done(json!({
        "method": "mi-link",
        "database": link.db,
        "dag": link.dag,
        "broken": link.broken,
        "failed_back": failed_back,
        "seeding_ms": link.seeding_ended_ms.saturating_sub(link.seeding_started_ms),
        "peak_lag_seconds": link.peak_lag_seconds,
        "peak_send_queue_kb": link.peak_send_queue_kb,
        "lsn_source": src_lsn,
        "lsn_mi": mi_lsn,
        "downtime_ms": downtime_ms,
        "phases": link.phases.to_output(),
    })))
}
