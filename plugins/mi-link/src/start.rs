//! The first call: every precondition judged and reported, then the link's names and what
//! the source's version can do fixed in the journaled [`Link`].

use ferry_sdk::prelude::*;

use crate::config::Config;
use crate::preflight::{self, Status};
use crate::state::{Link, State};
use crate::{network, versions};

pub fn start(cx: &mut Context<'_, Config>) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    let db = cx.item().to_owned();
    cx.phase("checking", None, Some("preconditions of the link"));
    let facts = preflight::read(cx, &db)?;
    let ag = cfg.ag_for(&db);
    let checks = preflight::judge(&db, &facts, &cfg, &ag);
    let mut refusals = Vec::new();
    for c in &checks {
        let status = match c.status {
            Status::Pass if cfg.check_only => ObjectStatus::Unchanged,
            Status::Pass => continue,
            Status::Warn => ObjectStatus::Warning,
            Status::Refuse => ObjectStatus::Refused,
            Status::NotChecked => ObjectStatus::Skipped,
        };
        if c.status == Status::Warn {
            cx.warn(&format!("[{db}] {}: {}", c.code, c.reason));
        }
        if c.status == Status::Refuse {
            refusals.push(format!("{}: {}", c.code, c.reason));
        }
        cx.report(ObjectRow {
            object_type: "link-precondition".into(),
            name: format!("{db}: {}", c.code),
            status,
            reason_code: Some(c.code.into()),
            notes: Some(c.reason.clone()),
        });
    }
    if !refusals.is_empty() {
        return Err(Error::failed(format!(
            "[{db}] cannot be linked, nothing was changed: {}",
            refusals.join(" | ")
        )));
    }
    // Checked above: a version is there and supported.
    let v = facts.version.unwrap_or(ferry_sdk::sql_version::SqlVersion {
        major: 16,
        minor: 0,
        build: 1000,
    });
    let policy = facts
        .mi
        .policy
        .unwrap_or(ferry_sdk::sql_version::UpdatePolicy::SqlServer2022);
    let port = crate::endpoint::port(facts.endpoint.as_ref(), &cfg);
    let link = Link {
        db: db.clone(),
        ag,
        dag: cfg.dag_for(&db),
        server_name: facts.server_name.clone(),
        mi_name: facts.mi.name.clone(),
        mi_fqdn: facts.mi.fqdn.clone(),
        source_url: format!("TCP://{}:{port}", cfg.source_address),
        cluster_type: versions::has_cluster_type(v),
        one_way: versions::one_way(v),
        tsql_failover: versions::tsql_failover(v),
        // The older body has no failoverMode: such a link is one-way for failback purposes.
        two_way: versions::two_way(v, policy) && cfg.databases_shape(),
        ..Link::default()
    };
    if link.mi_name.is_empty() || link.mi_fqdn.is_empty() {
        return Err(Error::failed(
            "ARM did not give the MI's name and fullyQualifiedDomainName: the link needs both",
        ));
    }
    let mut link = link;
    link.phases.begin("setup");
    cx.info(&format!(
        "[{db}]: a {} link from {} to [{}]",
        if link.two_way { "two-way" } else { "one-way" },
        v.release(),
        link.mi_name
    ));
    if cfg.connectivity_test {
        return network::start(cx, link);
    }
    if cfg.check_only {
        return Ok(Outcome::Done(serde_json::json!({
            "method": "mi-link", "database": db, "checked": true
        })));
    }
    Ok(Outcome::Next(State::Trust { link }))
}
