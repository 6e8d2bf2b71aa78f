//! Failback for a two-way link kept after cutover (`keep_link`; "Fail over link": a planned
//! failover from the MI back to SQL Server 2022/2025): on `ferry failback` the link switches to
//! synchronous commit, the hardened LSNs must be equal and stable as at cutover, then ARM's
//! planned `failover`. `ferry finish` ends the wait instead. Before the failover is sent the
//! roles are read: one a killed ferry sent is never sent twice.

use ferry_sdk::prelude::*;
use serde_json::json;

use crate::arm;
use crate::config::Config;
use crate::cutover::patch_sync;
use crate::dmv::{Hold, group_id, hold, source_role};
use crate::finish::{finish, wrap_up};
use crate::state::{Link, State, ended, wait};

fn source_primary(cx: &mut Context<'_, Config>, link: &Link) -> Result<bool> {
    Ok(source_role(cx, &link.dag)?
        .as_deref()
        .is_some_and(|r| r.eq_ignore_ascii_case("PRIMARY")))
}

/// Waits for `failback` (fail back) or `finish` (end the wait). The `cutover` signal that led
/// here stays set, so it is not one of them.
pub fn reversed(cx: &mut Context<'_, Config>, mut link: Link) -> Result<Outcome<State>> {
    if cx.signal_requested("failback") {
        link.stable = None;
        if !link.failback_sync_sent {
            let op = patch_sync(cx, &link)?;
            link.failback_sync_sent = true;
            return Ok(Outcome::wait_operation(
                op,
                State::FailbackDraining { link },
                "the link switches to synchronous commit",
            ));
        }
        return Ok(Outcome::Next(State::FailbackDraining { link }));
    }
    if cx.signal_requested("finish") {
        return wrap_up(cx, link);
    }
    wait(
        cx,
        State::Reversed { link },
        "waiting for `ferry failback` or `ferry finish`",
    )
}

pub fn draining(cx: &mut Context<'_, Config>, mut link: Link) -> Result<Outcome<State>> {
    if source_primary(cx, &link)? {
        return finish(cx, link, true);
    }
    let Some(group) = group_id(cx, &link.dag)? else {
        return Err(Error::failed(format!(
            "[{}]: the DAG [{}] is gone from SQL Server; it cannot take the database back",
            link.db, link.dag
        )));
    };
    match hold(cx, &mut link, &group)? {
        Hold::Stable(_, _) => {}
        Hold::Differs(lsns) => {
            cx.phase(
                "failback",
                None,
                Some(&format!(
                    "waiting for SQL Server to harden the tail: {lsns}"
                )),
            );
            return wait(
                cx,
                State::FailbackDraining { link },
                "last_hardened_lsn differs",
            );
        }
        Hold::Disconnected(why) => {
            cx.phase("failback", None, Some(&why));
            return wait(
                cx,
                State::FailbackDraining { link },
                "SQL Server and the MI are not connected; waiting for the link to reconnect",
            );
        }
        Hold::Holding(lsn) => {
            cx.phase(
                "failback",
                None,
                Some(&format!("last_hardened_lsn {lsn} equal; holding")),
            );
            return wait(
                cx,
                State::FailbackDraining { link },
                "last_hardened_lsn equal; waiting for it to stay so",
            );
        }
    }
    let op = send_failback(cx, &link)?;
    Ok(Outcome::wait_operation(
        op.clone(),
        State::FailingBack { link, op: Some(op) },
        "failing back to SQL Server",
    ))
}

/// The failback: ARM's planned `failover`, which goes to the side that is secondary (SQL
/// Server, after the cutover). `ferry plan` lists it for a kept link.
pub fn send_failback(cx: &mut Context<'_, Config>, link: &Link) -> Result<String> {
    arm::begin(
        cx,
        "POST",
        &format!("{}/failover", arm::link_path(link)),
        Some(json!({ "failoverType": "Planned" })),
    )
}

pub fn failing_back(
    cx: &mut Context<'_, Config>,
    link: Link,
    op: Option<String>,
) -> Result<Outcome<State>> {
    if let Some(op) = &op {
        ended(cx, op, "the failback")?;
    }
    if source_primary(cx, &link)? {
        return finish(cx, link, true);
    }
    wait(
        cx,
        State::FailingBack { link, op: None },
        "SQL Server becomes primary again",
    )
}
