//! Cutover ("Fail over link", learn.microsoft.com; methods.md §1.5): synchronous commit on
//! both sides, `last_hardened_lsn` equal and stable for `stable_seconds`, then a planned
//! failover (T-SQL `FAILOVER` on the primary from SQL Server 2022 CU13, else ARM `failover`),
//! or for one-way versions the link deleted (break); a forced failover only when asked.
//! Before anything is sent again after a restart, the roles are read: a failover already made
//! is never made twice (a second one would swap the roles back).

use ferry_sdk::now_ms;
use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::{quote_name, quote_text};
use serde_json::json;

use crate::arm;
use crate::config::Config;
use crate::dmv::{Hold, group_id, hold, mi_backup_mark, seconds, source_role};
use crate::setup::link_failure;
use crate::sql::{Side, exec};
use crate::state::{Link, State, ended, forced, wait};

pub fn begin(cx: &mut Context<'_, Config>, mut link: Link) -> Result<Outcome<State>> {
    if link.cutover_started_ms == 0 {
        link.cutover_started_ms = now_ms();
        link.phases.begin("cutover");
        link.mi_backup_mark = mi_backup_mark(cx, &link.db)?;
        link.forced = forced(cx);
    }
    cx.info(&format!("[{}]: cutover begins", link.db));
    if link.forced {
        return fail_over(cx, link);
    }
    sync_on_source(cx, &link)?;
    let op = patch_sync(cx, &link)?;
    Ok(Outcome::wait_operation(
        op.clone(),
        State::SwitchingSync { link, op: Some(op) },
        "the link switches to synchronous commit",
    ))
}

/// ARM's half of synchronous commit (PATCH `replicationMode = Sync`), at cutover and failback.
pub fn patch_sync(cx: &mut Context<'_, Config>, link: &Link) -> Result<String> {
    arm::begin(
        cx,
        "PATCH",
        &arm::link_path(link),
        Some(json!({ "properties": { "replicationMode": "Sync" } })),
    )
}

/// `ALTER AVAILABILITY GROUP [dag] MODIFY AVAILABILITY GROUP ON … SYNCHRONOUS_COMMIT`: setting
/// the mode it has is harmless, so it is sent again after a restart.
pub fn sync_on_source(cx: &mut Context<'_, Config>, link: &Link) -> Result<()> {
    let sql = format!(
        "ALTER AVAILABILITY GROUP {} MODIFY AVAILABILITY GROUP ON {} WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT), {} WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT)",
        quote_name(&link.dag),
        quote_text(&link.ag),
        quote_text(&link.mi_name)
    );
    exec(
        cx,
        Side::Source,
        &sql,
        &[],
        "switching the DAG to synchronous commit",
    )
}

pub fn switching_sync(
    cx: &mut Context<'_, Config>,
    mut link: Link,
    op: Option<String>,
) -> Result<Outcome<State>> {
    let done = match &op {
        Some(op) => ended(cx, op, "switching the link to synchronous commit")?,
        None => false,
    };
    let synced = done
        || arm::link_view(cx, &link)?
            .and_then(|v| v.replication_mode)
            .is_some_and(|m| m.eq_ignore_ascii_case("Sync"));
    if !synced {
        return begin(cx, link);
    }
    link.sync_sent = true;
    Ok(Outcome::Next(State::Draining { link }))
}

/// Where the roles stand: (source's local DAG replica role, ARM's instance role).
fn roles(
    cx: &mut Context<'_, Config>,
    link: &Link,
) -> Result<(Option<String>, Option<String>, bool)> {
    let source = match source_role(cx, &link.dag) {
        Ok(r) => r,
        // A forced failover is for a source that is lost: not reaching it is expected, and
        // its role unknown (a split brain shows once it is back).
        Err(e) if link.forced => {
            cx.warn(&format!(
                "[{}]: SQL Server's role could not be read: {}",
                link.db,
                e.describe()
            ));
            None
        }
        Err(e) => return Err(e),
    };
    let view = arm::link_view(cx, link)?;
    let exists = view.is_some();
    Ok((source, view.and_then(|v| v.instance_role), exists))
}

fn primary(r: &Option<String>) -> bool {
    r.as_deref()
        .is_some_and(|r| r.eq_ignore_ascii_case("PRIMARY"))
}

/// Both sides PRIMARY after a forced failover: split brain, with the documented repair.
fn split_brain(link: &Link) -> Error {
    Error::failed(format!(
        "[{db}]: split brain — SQL Server and the MI both report PRIMARY for [{dag}]. Repair (\"Fail over link\", methods.md §1.5): back up the side that must become secondary (a tail-log backup on SQL Server, a COPY_ONLY full on the MI) to keep its writes, then on that side ALTER AVAILABILITY GROUP [{dag}] SET (ROLE = SECONDARY); then a planned failover from the intended primary. ferry does not choose the side for you",
        db = link.db,
        dag = link.dag
    ))
}

pub fn draining(cx: &mut Context<'_, Config>, mut link: Link) -> Result<Outcome<State>> {
    let (source_role, _, exists) = roles(cx, &link)?;
    if source_role
        .as_deref()
        .is_some_and(|r| r.eq_ignore_ascii_case("SECONDARY"))
    {
        return failed_over(cx, link);
    }
    // The break a killed ferry sent went through: the link is gone from the MI.
    if !exists {
        if link.one_way {
            link.broken = true;
            return failed_over(cx, link);
        }
        return Err(Error::failed(format!(
            "[{}]: the MI no longer has the link [{}] during cutover, and SQL Server is still its primary: someone deleted it. Check the database on the MI before using it; run `ferry apply --retry-failed` to make the link again",
            link.db, link.dag
        )));
    }
    let Some(group) = group_id(cx, &link.dag)? else {
        return Err(Error::failed(format!(
            "[{}]: the DAG [{}] is gone from SQL Server during cutover",
            link.db, link.dag
        )));
    };
    let modes = crate::sql::rows(
        cx,
        Side::Source,
        "SELECT group_id, availability_mode_desc FROM sys.availability_replicas",
        &[],
    )?;
    let async_left = modes.iter().any(|r| {
        ferry_sdk::sql_value::text(r.first()).eq_ignore_ascii_case(&group)
            && !ferry_sdk::sql_value::text(r.get(1)).eq_ignore_ascii_case("SYNCHRONOUS_COMMIT")
    });
    if async_left {
        sync_on_source(cx, &link)?;
        return wait(
            cx,
            State::Draining { link },
            "the DAG switches to synchronous commit",
        );
    }
    let held = hold(cx, &mut link, &group)?;
    let msg = match held {
        Hold::Stable(src, mi) => {
            link.compared = Some((src, mi));
            return fail_over(cx, link);
        }
        Hold::Differs(lsns) => {
            cx.phase(
                "cutover",
                None,
                Some(&format!("waiting for the MI to harden the tail: {lsns}")),
            );
            return wait(cx, State::Draining { link }, "last_hardened_lsn differs");
        }
        Hold::Disconnected(why) => {
            cx.phase("cutover", None, Some(&why));
            return wait(
                cx,
                State::Draining { link },
                "SQL Server and the MI are not connected; waiting for the link to reconnect",
            );
        }
        Hold::Holding(lsn) => format!(
            "last_hardened_lsn {lsn} equal on both sides; holding for {} s",
            cx.config().stable_seconds
        ),
    };
    cx.phase("cutover", None, Some(&msg));
    wait(
        cx,
        State::Draining { link },
        "last_hardened_lsn equal; waiting for it to stay so",
    )
}

/// Sends the failover (or the break).
fn fail_over(cx: &mut Context<'_, Config>, mut link: Link) -> Result<Outcome<State>> {
    if !link.one_way {
        // A failover a killed ferry sent may have happened: a second one would swap back.
        let (source, mi, _) = roles(cx, &link)?;
        let source_secondary = source
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case("SECONDARY"));
        if primary(&mi) || source_secondary {
            return failed_over(cx, link);
        }
    }
    // One way (2016–2019): failing over is breaking the link; forced or not, the DELETE.
    if link.one_way && arm::link_view(cx, &link)?.is_none() {
        link.broken = true;
        return failed_over(cx, link);
    }
    let op = send_failover(cx, &mut link)?;
    if cx.planning() {
        return Ok(Outcome::Done(
            json!({ "method": "mi-link", "database": link.db, "planned": true }),
        ));
    }
    let reason = if link.broken {
        "the link is deleted (break)"
    } else {
        "the link fails over"
    };
    Ok(match op {
        Some(op) => Outcome::wait_operation(
            op.clone(),
            State::FailingOver { link, op: Some(op) },
            reason,
        ),
        None => Outcome::Next(State::FailingOver { link, op: None }),
    })
}

/// The failover itself, with no reads: the ARM DELETE (one way: the break), the forced or
/// planned ARM `failover`, or T-SQL `FAILOVER`. Its operation, if it is one. `ferry plan`
/// lists the same calls (`crate::plan`).
pub fn send_failover(cx: &mut Context<'_, Config>, link: &mut Link) -> Result<Option<String>> {
    let path = arm::link_path(link);
    Ok(if link.one_way {
        link.broken = true;
        Some(arm::begin(cx, "DELETE", &path, None)?)
    } else if link.forced {
        cx.warn(&format!(
            "[{}]: forced failover; transactions the MI has not hardened are lost",
            link.db
        ));
        Some(arm::begin(
            cx,
            "POST",
            &format!("{path}/failover"),
            Some(json!({ "failoverType": "ForcedAllowDataLoss" })),
        )?)
    } else if link.tsql_failover {
        exec(
            cx,
            Side::Source,
            &format!(
                "ALTER AVAILABILITY GROUP {} FAILOVER",
                quote_name(&link.dag)
            ),
            &[],
            "the planned failover",
        )?;
        None
    } else {
        Some(arm::begin(
            cx,
            "POST",
            &format!("{path}/failover"),
            Some(json!({ "failoverType": "Planned" })),
        )?)
    })
}

pub fn failing_over(
    cx: &mut Context<'_, Config>,
    link: Link,
    op: Option<String>,
) -> Result<Outcome<State>> {
    if let Some(op) = &op {
        match ended(
            cx,
            op,
            if link.broken {
                "deleting the link"
            } else {
                "the failover"
            },
        ) {
            Ok(_) => {}
            Err(Error::Failed(f)) => return Err(link_failure(&link, f.code, &f.message)),
            Err(e) => return Err(e),
        }
    }
    let (source, mi, exists) = roles(cx, &link)?;
    if link.broken {
        return if exists {
            wait(
                cx,
                State::FailingOver { link, op: None },
                "the link is being deleted",
            )
        } else {
            failed_over(cx, link)
        };
    }
    if primary(&source) && primary(&mi) {
        return Err(split_brain(&link));
    }
    if primary(&mi)
        || source
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case("SECONDARY"))
    {
        return failed_over(cx, link);
    }
    wait(
        cx,
        State::FailingOver { link, op: None },
        "the roles change",
    )
}

fn failed_over(cx: &mut Context<'_, Config>, mut link: Link) -> Result<Outcome<State>> {
    if link.writable_ms == 0 {
        link.writable_ms = now_ms();
        link.failed_over = true;
        link.phases.begin("awaiting-backup");
        cx.info(&format!(
            "[{}] is writable on the MI; cutover took {:.1} s",
            link.db,
            seconds(link.writable_ms.saturating_sub(link.cutover_started_ms))
        ));
    }
    // After a forced failover the source may still claim PRIMARY: split brain.
    if link.forced && !link.broken {
        let (source, mi, _) = roles(cx, &link)?;
        if primary(&source) && primary(&mi) {
            return Err(split_brain(&link));
        }
    }
    Ok(Outcome::Next(State::AwaitingBackup { link }))
}
