//! What `ferry plan` lists after the link's PUT: every call cutover (and, for a kept link,
//! failback and `ferry finish`) would send, made by the same functions those phases use but
//! without their reads, since while planning the link does not exist to be read. This matters
//! beyond review: `ferry apply plan.json` runs only what its plan lists, so a plan that
//! stopped at the PUT would refuse the cutover it was meant to allow.
//!
//! Listed as configured: a planned failover (T-SQL or ARM by version), or the break for one-way
//! versions; `failover = "forced"` plans the forced one. A forced failover asked for later
//! with `ferry cutover --allow-data-loss` is not in a planned-failover plan, and an applied
//! plan refuses it: that needs a plan that says so.

use ferry_sdk::prelude::*;
use serde_json::json;

use crate::arm;
use crate::config::Config;
use crate::cutover::{patch_sync, send_failover, sync_on_source};
use crate::failback::send_failback;
use crate::finish::drop_group;
use crate::state::{Link, State, forced};

pub fn after_link(cx: &mut Context<'_, Config>, mut link: Link) -> Result<Outcome<State>> {
    link.forced = forced(cx);
    if !link.forced {
        sync_on_source(cx, &link)?;
        patch_sync(cx, &link)?;
    }
    send_failover(cx, &mut link)?;
    let cfg = cx.config().clone();
    let kept = link.two_way && !link.broken && !link.forced && cfg.keep_link;
    if kept {
        // `ferry failback`: synchronous commit again (the same PATCH), then the failover back.
        send_failback(cx, &link)?;
    }
    // After a forced failover SQL Server's side is left to the DBA (finish::wrap_up).
    if cfg.drop_source_ag && !link.forced {
        if !link.broken {
            arm::begin(cx, "DELETE", &arm::link_path(&link), None)?;
        }
        for name in [link.dag.clone(), link.ag.clone()] {
            drop_group(cx, &name)?;
        }
    }
    Ok(Outcome::Done(json!({
        "method": "mi-link", "database": link.db, "planned": true, "kept": kept
    })))
}
