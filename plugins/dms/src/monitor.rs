//! The migration followed with GET (methods.md §3.3 step 5): `migrationStatus` (§3.4), each
//! file's status as it changes (the timeline the report shows), pending logs, the current and
//! last restored file, and blocking reasons, each said once. `Retriable` is DMS retrying within
//! its own window (8 hours, then 2039/2040): waited through.

use ferry_sdk::now_ms;
use ferry_sdk::prelude::*;

use crate::arm;
use crate::config::{Config, Mode};
use crate::observe::{failure, observe};
use crate::state::{Migration, State, wait};
use crate::{cancel, cutover, report};

pub fn monitoring(cx: &mut Context<'_, Config>, mut m: Migration) -> Result<Outcome<State>> {
    let Some(v) = arm::migration(cx, &m.target)? else {
        return Err(Error::failed(format!(
            "[{}]: the migration to [{}] is gone from the MI (deleted outside ferry); run \
             `ferry apply --retry-failed` to start it again",
            m.db, m.target
        )));
    };
    crate::telemetry::refresh(cx, &mut m);
    observe(cx, &mut m, &v);
    match v.migration_status.as_str() {
        "Succeeded" => return Ok(report::finish(cx, m)),
        "Failed" | "Canceled" | "Cancelled" => return Err(failure(&m, &v)),
        "Retriable" => {
            if m.retriable_since_ms == 0 {
                m.retriable_since_ms = now_ms();
                cx.warn(&format!(
                    "[{}]: DMS retries the migration{}; ferry waits (DMS gives up after its \
                     retry window with 2039/2040)",
                    m.db,
                    v.error
                        .as_ref()
                        .map(|(_, e)| format!(" after: {e}"))
                        .unwrap_or_default()
                ));
            }
            let (code, message) = v.error.clone().unwrap_or_default();
            let meaning = crate::dms_errors::find(code.as_deref(), &message);
            if meaning.is_some_and(|x| x.key == "2014") {
                let advice = crate::service::runtime_advice(cx.config(), &m.db, "offline");
                crate::service::offline_too_long(
                    cx,
                    &mut m,
                    &advice,
                    "the migration stays in DMS as it is and is followed, not started again",
                )?;
            } else {
                m.runtime_offline_since_ms = 0;
            }
            return wait(cx, State::Monitoring { m }, "DMS retries the migration");
        }
        // A cutover was sent (by a call cut short before its state was journaled, or from
        // the portal): followed, never sent again.
        "Completing" => {
            if m.cutover_sent_ms == 0 && cx.config().mode == Mode::Online {
                m.cutover_sent_ms = now_ms();
            }
            return Ok(Outcome::Next(State::CuttingOver { m, op: None }));
        }
        _ => {
            m.retriable_since_ms = 0;
            m.runtime_offline_since_ms = 0;
        }
    }
    if cx.signal_requested("cancel") {
        return cancel::begin(cx, m);
    }
    if cx.config().mode == Mode::Online && cutover::requested(cx) {
        return cutover::prepare(cx, m, &v);
    }
    let why = format!("DMS migrates the database ({})", v.migration_status);
    wait(cx, State::Monitoring { m }, &why)
}
