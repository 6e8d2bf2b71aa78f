//! The endpoint, the AG and the DAG on SQL Server ("Configure link with T-SQL", "Create an
//! availability group" and "Create a distributed availability group"; methods.md §1.3 steps 3
//! and 4), each made only when the catalog does not show it, then the link on the MI
//! (`PUT distributedAvailabilityGroups/{dag}`, a long-running operation) unless ARM has it.

use ferry_sdk::now_ms;
use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::{quote_name, quote_text};

use crate::arm;
use crate::config::Config;
use crate::link_errors;
use crate::sql::{Side, exec, p, row};
use crate::state::{Link, State, ended};
use crate::{endpoint, trust};

/// `CREATE AVAILABILITY GROUP` for the database; no CLUSTER_TYPE on SQL Server 2016, which
/// does not know it.
pub fn ag_statement(link: &Link) -> String {
    format!(
        "CREATE AVAILABILITY GROUP {}{} FOR DATABASE {} REPLICA ON {} WITH (ENDPOINT_URL = {}, \
         AVAILABILITY_MODE = SYNCHRONOUS_COMMIT, FAILOVER_MODE = MANUAL, SEEDING_MODE = AUTOMATIC)",
        quote_name(&link.ag),
        if link.cluster_type {
            " WITH (CLUSTER_TYPE = NONE)"
        } else {
            ""
        },
        quote_name(&link.db),
        quote_text(&link.server_name),
        quote_text(&link.source_url)
    )
}

/// `CREATE AVAILABILITY GROUP … WITH (DISTRIBUTED)` joining the AG and the MI's side.
pub fn dag_statement(link: &Link) -> String {
    let mi_listener = format!("tcp://{}:5022;Server=[{}]", link.mi_fqdn, link.mi_name);
    format!(
        "CREATE AVAILABILITY GROUP {} WITH (DISTRIBUTED) AVAILABILITY GROUP ON {} WITH \
         (LISTENER_URL = {}, AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT, FAILOVER_MODE = MANUAL, \
         SEEDING_MODE = AUTOMATIC, SESSION_TIMEOUT = 20), {} WITH (LISTENER_URL = {}, \
         AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT, FAILOVER_MODE = MANUAL, SEEDING_MODE = AUTOMATIC)",
        quote_name(&link.dag),
        quote_text(&link.ag),
        quote_text(&link.source_url),
        quote_text(&link.mi_name),
        quote_text(&mi_listener)
    )
}

/// Whether SQL Server has an availability group of this name.
pub fn ag_exists(cx: &mut Context<'_, Config>, name: &str) -> Result<bool> {
    Ok(row(
        cx,
        Side::Source,
        "SELECT group_id FROM sys.availability_groups WHERE name = @name",
        &[p("name", name)],
    )?
    .is_some())
}

pub fn linking(cx: &mut Context<'_, Config>, link: Link) -> Result<Outcome<State>> {
    cx.phase(
        "setup",
        None,
        Some("endpoint, availability groups and the link"),
    );
    let cert_id = trust::cert_id(cx, &link.cert_name)?;
    endpoint::ensure(cx, &link, cert_id)?;
    if !ag_exists(cx, &link.ag)? {
        exec(
            cx,
            Side::Source,
            &ag_statement(&link),
            &[],
            "CREATE AVAILABILITY GROUP",
        )?;
    }
    if !ag_exists(cx, &link.dag)? {
        exec(
            cx,
            Side::Source,
            &dag_statement(&link),
            &[],
            "CREATE AVAILABILITY GROUP (DISTRIBUTED)",
        )?;
    }
    if arm::link_view(cx, &link)?.is_some() {
        cx.info(&format!(
            "the MI has the link [{}] already; following it",
            link.dag
        ));
        return Ok(Outcome::Next(State::Seeding { link }));
    }
    let cfg = cx.config().clone();
    let op = arm::begin(
        cx,
        "PUT",
        &arm::link_path(&link),
        Some(arm::link_body(&cfg, &link)),
    )?;
    if cx.planning() {
        // Nothing to wait for: `plan` lists what follows (see lib.rs's dispatch).
        return Ok(Outcome::Next(State::Creating { link, op: None }));
    }
    Ok(Outcome::wait_operation(
        op.clone(),
        State::Creating { link, op: Some(op) },
        "the MI creates the link",
    ))
}

/// The link's PUT: done, failed with a mapped error, or unknown (ferry restarted) and read
/// back from ARM.
pub fn creating(
    cx: &mut Context<'_, Config>,
    link: Link,
    op: Option<String>,
) -> Result<Outcome<State>> {
    if let Some(op) = &op {
        match ended(cx, op, "creating the link") {
            Ok(true) => return Ok(Outcome::Next(State::Seeding { link })),
            Ok(false) => {}
            Err(Error::Failed(f)) => return Err(link_failure(&link, f.code, &f.message)),
            Err(e) => return Err(e),
        }
    }
    if arm::link_view(cx, &link)?.is_some() {
        return Ok(Outcome::Next(State::Seeding { link }));
    }
    // Neither the operation nor the link is known: the PUT never left; send it.
    Ok(Outcome::Next(State::Linking { link }))
}

/// A failure of the link, explained when its number is in the table.
pub fn link_failure(link: &Link, code: Option<i32>, message: &str) -> Error {
    let m = code
        .and_then(link_errors::meaning)
        .or_else(|| link_errors::find_in(message));
    match m {
        Some(m) => Error::failed_with_code(link_errors::describe(&link.db, m, message), m.number),
        None => Error::Failed(ferry_sdk::Failure {
            message: format!("[{}]: the link failed: {message}", link.db),
            code,
        }),
    }
}

pub fn seeding_started(link: &mut Link) {
    if link.seeding_started_ms == 0 {
        link.seeding_started_ms = now_ms();
        link.phases.begin("seeding");
    }
}
