//! Seeding and replication, watched ("Troubleshoot link": seeding and sync queries; methods.md
//! §1.4): ARM's view of the link, the source's seeding and replica DMVs, the log the link
//! holds; progress at every look, errors mapped, cutover begun on request.

use ferry_sdk::now_ms;
use ferry_sdk::prelude::*;
use ferry_sdk::sql_value::{int, text};

use crate::arm::{self, LinkView};
use crate::config::Config;
use crate::dmv::{db_replicas, group_id, replicas, seconds};
use crate::setup::{link_failure, seeding_started};
use crate::sql::{Side, p, row, rows};
use crate::state::{Link, State, wait};
use crate::{cutover, link_errors};

/// ARM's view; a link ARM no longer has, or one in an error state, ends the item.
fn view(cx: &mut Context<'_, Config>, link: &mut Link, group: Option<&str>) -> Result<LinkView> {
    let Some(v) = arm::link_view(cx, link)? else {
        return Err(Error::failed(format!(
            "[{}]: the MI no longer has the link [{}] (it was deleted): drop the DAG [{}] on SQL Server and run `ferry apply --retry-failed` to make it again",
            link.db, link.dag, link.dag
        )));
    };
    let remote_error = match group {
        Some(g) => replicas(cx, g)?
            .into_iter()
            .find(|r| !r.is_local && r.error_number != 0),
        None => None,
    };
    if v.failed() {
        let (code, detail) = match &remote_error {
            Some(r) => (
                i32::try_from(r.error_number).ok(),
                format!("{}; {}", v.state, r.error_description),
            ),
            None => (
                None,
                format!("{}: {}", v.state, v.error.clone().unwrap_or_default()),
            ),
        };
        return Err(link_failure(
            link,
            code.filter(|c| link_errors::meaning(*c).is_some()),
            &detail,
        ));
    }
    if let Some(r) = remote_error {
        let said = format!(
            "{} {} ({})",
            r.error_number, r.error_description, r.connected
        );
        if link.last_error.as_deref() != Some(&said) {
            let what = link_errors::meaning(r.error_number as i32)
                .map_or_else(String::new, |m| format!(" — {}; {}", m.meaning, m.remedy));
            cx.warn(&format!(
                "[{}]: the MI's replica reports error {}{what}",
                link.db,
                said.trim()
            ));
            link.last_error = Some(said);
        }
    }
    Ok(v)
}

pub fn seeding(cx: &mut Context<'_, Config>, mut link: Link) -> Result<Outcome<State>> {
    seeding_started(&mut link);
    let group = group_id(cx, &link.dag)?;
    let v = view(cx, &mut link, group.as_deref())?;
    if v.state.contains("Synchroniz") {
        link.seeding_ended_ms = now_ms();
        link.phases.begin("replicating");
        cx.info(&format!(
            "[{}] is seeded ({:.1} s); replicating",
            link.db,
            seconds(link.seeding_ended_ms - link.seeding_started_ms)
        ));
        return Ok(Outcome::Next(State::Synchronizing { link }));
    }
    let stats = row(
        cx,
        Side::Source,
        "SELECT internal_state_desc, database_size_bytes, transferred_size_bytes, \
         transfer_rate_bytes_per_second, estimate_time_complete_utc FROM sys.dm_hadr_physical_seeding_stats \
         WHERE local_database_name = @db",
        &[p("db", &link.db)],
    )?;
    let (fraction, msg) = match &stats {
        Some(r) => {
            let (size, done) = (int(r.get(1)), int(r.get(2)));
            let f = (size > 0).then(|| (done as f64 / size as f64).clamp(0.0, 1.0) as f32);
            (
                f,
                format!(
                    "{} MiB of {} MiB at {} KiB/s ({}), ARM says {}",
                    done >> 20,
                    size >> 20,
                    int(r.get(3)) >> 10,
                    text(r.first()),
                    v.seeding_progress
                        .clone()
                        .unwrap_or_else(|| v.state.clone())
                ),
            )
        }
        None => (
            None,
            format!(
                "{} (seeding {})",
                v.state,
                v.seeding_progress
                    .clone()
                    .unwrap_or_else(|| "not started".into())
            ),
        ),
    };
    cx.progress(ProgressUpdate {
        phase: "seeding".into(),
        fraction,
        bytes_done: stats.as_ref().map(|r| int(r.get(2)).max(0) as u64),
        bytes_total: stats.as_ref().map(|r| int(r.get(1)).max(0) as u64),
        current: Some(link.db.clone()),
        message: Some(msg),
    });
    wait(cx, State::Seeding { link }, "the MI seeds the database")
}

pub fn synchronizing(cx: &mut Context<'_, Config>, mut link: Link) -> Result<Outcome<State>> {
    // A forced failover is for a lost source: its DMVs are not waited for.
    if crate::state::forced(cx) && cutover_requested(cx) {
        return cutover::begin(cx, link);
    }
    let Some(group) = group_id(cx, &link.dag)? else {
        return Err(Error::failed(format!(
            "[{}]: the DAG [{}] is gone from SQL Server; run `ferry apply --retry-failed` to make it again",
            link.db, link.dag
        )));
    };
    let v = view(cx, &mut link, Some(&group))?;
    let dbs = db_replicas(cx, &group)?;
    let send = dbs.iter().map(|d| d.send_queue_kb).max().unwrap_or(0);
    let redo = dbs.iter().map(|d| d.redo_queue_kb).max().unwrap_or(0);
    link.peak_send_queue_kb = link.peak_send_queue_kb.max(send);
    if let Some(l) = v.lag_seconds {
        link.peak_lag_seconds = link.peak_lag_seconds.max(l);
    }
    let local = dbs
        .iter()
        .find(|d| d.is_local)
        .map(|d| d.last_hardened_lsn.clone())
        .unwrap_or_default();
    let remote = dbs
        .iter()
        .find(|d| !d.is_local)
        .map_or("?", |d| d.sync_state.as_str());
    cx.progress(ProgressUpdate {
        phase: "replicating".into(),
        fraction: None,
        bytes_done: None,
        bytes_total: None,
        current: Some(link.db.clone()),
        message: Some(format!(
            "MI replica {remote}, send queue {send} KB, redo queue {redo} KB, ARM lag {} s, hardened LSN source {local} / MI {}",
            v.lag_seconds.map_or("?".into(), |l| format!("{l:.0}")),
            v.last_hardened_lsn.clone().unwrap_or_else(|| "?".into())
        )),
    });
    log_held(cx, &mut link)?;
    cert_expiry(cx, &mut link, v.partner_cert_expiry.as_deref());
    if cutover_requested(cx) {
        return cutover::begin(cx, link);
    }
    wait(
        cx,
        State::Synchronizing { link },
        "the link replicates; waiting for cutover",
    )
}

/// Warns once when the link holds the log (`log_reuse_wait_desc = AVAILABILITY_REPLICA`) and
/// it fills past `log_warn_percent` (`DBCC SQLPERF(LOGSPACE)`).
fn log_held(cx: &mut Context<'_, Config>, link: &mut Link) -> Result<()> {
    let wait = row(
        cx,
        Side::Source,
        "SELECT log_reuse_wait_desc FROM sys.databases WHERE name = @db",
        &[p("db", &link.db)],
    )?
    .map(|r| text(r.first()))
    .unwrap_or_default();
    if !wait.eq_ignore_ascii_case("AVAILABILITY_REPLICA") {
        link.log_warned = false;
        return Ok(());
    }
    // Log space only sharpens the warning: a server that refuses DBCC SQLPERF (no VIEW
    // SERVER STATE) leaves it out, the link goes on.
    let space = match rows(cx, Side::Source, "DBCC SQLPERF(LOGSPACE)", &[]) {
        Ok(r) => r,
        Err(Error::Failed(f)) => {
            cx.debug(&format!("DBCC SQLPERF(LOGSPACE): {}", f.message));
            Vec::new()
        }
        Err(e) => return Err(e),
    };
    let used = space
        .iter()
        .find(|r| text(r.first()) == link.db)
        .and_then(|r| text(r.get(2)).trim().parse::<f64>().ok());
    let limit = f64::from(cx.config().log_warn_percent);
    if let Some(pct) = used.filter(|p| *p >= limit)
        && !link.log_warned
    {
        cx.warn(&format!(
            "[{}]: the link holds the log (AVAILABILITY_REPLICA) and it is {pct:.0}% full: keep taking log backups, check the link's lag and network; a full log stops replication",
            link.db
        ));
        link.log_warned = true;
    }
    Ok(())
}

/// Warns once when ARM says SQL Server's endpoint certificate expires within
/// `rotate_certificate_days` (at least 30): the link stops when it expires (methods.md §1.6).
fn cert_expiry(cx: &mut Context<'_, Config>, link: &mut Link, expiry: Option<&str>) {
    let Some(day) = expiry.and_then(crate::trust::day_of) else {
        return;
    };
    let left = day - crate::trust::today();
    let within = i64::from(cx.config().rotate_certificate_days.max(30));
    if left <= within && !link.cert_warned {
        cx.warn(&format!(
            "[{}]: SQL Server's endpoint certificate [{}] expires in {left} days and the link stops then: rotate it (a new certificate uploaded through serverTrustCertificates, ALTER ENDPOINT … AUTHENTICATION = CERTIFICATE [new]); ferry rotates it when the link is set up again with rotate_certificate_days",
            link.db, link.cert_name
        ));
        link.cert_warned = true;
    }
}

/// `ferry cutover` for this database, or `cutover_after` passed.
pub fn cutover_requested(cx: &mut Context<'_, Config>) -> bool {
    let gate = cx
        .config()
        .cutover_after
        .as_deref()
        .and_then(|at| crate::config::cutover_ms(at).ok())
        .is_some_and(|at| now_ms() >= at);
    gate || cx.signal_requested("cutover")
}
