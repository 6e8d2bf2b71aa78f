//! The first calls: a migration already under the MI for this database is adopted by its
//! operation id (never started twice); otherwise the service, the preconditions and the PUT
//! that starts it (a long-running operation, methods.md §3.3 step 4).

use ferry_sdk::prelude::*;

use crate::arm::{self, View, dms, migration_path};
use crate::config::Config;
use crate::dms_errors::explain;
use crate::state::{Migration, State, ended, wait};
use crate::{preflight, secrets};

pub fn start(cx: &mut Context<'_, Config>) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    let db = cx.item().to_owned();
    let mut m = Migration {
        target: cfg.target_for(&db),
        db,
        ..Migration::default()
    };
    if let Some(v) = arm::migration(cx, &m.target)? {
        return adopt(cx, m, v, false);
    }
    let (mi_id, _) = arm::instance(cx)?;
    m.mi_id = mi_id;
    // The preconditions first: a refusal is known at once, not after the runtime is up.
    m.phases.begin("checking");
    Ok(Outcome::Next(State::Checking { m }))
}

/// A migration ARM already has for the target: followed when it is this database's and still
/// going; a finished failure or another database's stops the item.
fn adopt(
    cx: &mut Context<'_, Config>,
    mut m: Migration,
    v: View,
    ours: bool,
) -> Result<Outcome<State>> {
    if !v.source_database.eq_ignore_ascii_case(&m.db) {
        return Err(Error::failed(format!(
            "[{}]: the MI already has a migration to [{}] from database [{}]: DMS never \
             overwrites; choose another target_name",
            m.db, m.target, v.source_database
        )));
    }
    if v.finished_badly() {
        let (code, msg) = v.error.clone().unwrap_or((None, String::new()));
        let why = explain(
            &m.db,
            Error::failed(format!("{}: {msg}", code.as_deref().unwrap_or("Failed"))),
        );
        if ours {
            return Err(why);
        }
        return Err(Error::failed(format!(
            "a migration of [{}] ended {} before ({}); delete its record (DELETE {}) and the \
             restoring database on the MI, then run `ferry apply --retry-failed`",
            m.db,
            v.migration_status,
            why.describe(),
            migration_path(&m.target)
        )));
    }
    m.operation_id = v.operation_id.clone();
    if ours {
        m.started_operation_id = m.operation_id.clone();
    } else {
        m.adopted = true;
        cx.info(&format!(
            "[{}]: DMS already migrates it (operation {}); following that migration, not \
             starting another",
            m.db,
            m.operation_id.as_deref().unwrap_or("unknown")
        ));
    }
    m.phases.begin("restoring");
    // This look counts: a file first seen here keeps its first status in the timeline.
    crate::observe::observe(cx, &mut m, &v);
    Ok(Outcome::Next(State::Monitoring { m }))
}

/// The preconditions, then `validateIr` when asked.
pub fn checking(cx: &mut Context<'_, Config>, mut m: Migration) -> Result<Outcome<State>> {
    cx.phase("checking", None, Some("preconditions of the migration"));
    let checks = preflight::run(cx, &m.db, &m.target)?;
    preflight::judge(cx, &m.db, &checks)?;
    m.phases.begin("service");
    Ok(Outcome::Next(State::Service { m, op: None }))
}

pub fn starting(
    cx: &mut Context<'_, Config>,
    m: Migration,
    op: Option<String>,
) -> Result<Outcome<State>> {
    if let Some(id) = op.clone() {
        let done = ended(cx, &id, "starting the migration").map_err(|e| explain(&m.db, e))?;
        if done.is_none() {
            return wait(cx, State::Starting { m, op }, "DMS starts the migration");
        }
        return match arm::migration(cx, &m.target)? {
            Some(v) => adopt(cx, m, v, true),
            // Accepted, not listed yet: looked at again.
            None if done == Some(true) => {
                wait(cx, State::Starting { m, op }, "ARM lists the migration")
            }
            // Neither the operation nor the migration is known: the PUT never left.
            None => Ok(Outcome::Next(State::Starting { m, op: None })),
        };
    }
    // A call cut short after its PUT reached ARM is made again: that migration is ours.
    if cx.attempt() > 1
        && let Some(v) = arm::migration(cx, &m.target)?
    {
        return adopt(cx, m, v, true);
    }
    let cfg = cx.config().clone();
    let sealed = secrets::open(cx)?;
    let put = dms(
        "PUT",
        &migration_path(&m.target),
        &cfg,
        Some(arm::start_body(&cfg, &m)),
    );
    let id = cx
        .azure_begin_with_references(
            &cfg.azure,
            &put,
            &sealed,
            &[arm::service_id_reference(&cfg)],
        )
        .map_err(|e| explain(&m.db, e))?;
    if cx.planning() {
        // The cutover's calls too: `ferry apply plan.json` runs only what the plan lists.
        if cfg.mode == crate::config::Mode::Online {
            crate::cutover::plan(cx, &m)?;
        }
        return Ok(Outcome::Done(serde_json::json!({
            "method": "dms", "database": m.db, "target": m.target, "planned": true
        })));
    }
    Ok(Outcome::wait_operation(
        id.clone(),
        State::Starting { m, op: Some(id) },
        "DMS starts the migration",
    ))
}
