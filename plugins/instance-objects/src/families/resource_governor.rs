//! Resource Governor (methods.md §5.8): user resource pools and workload groups, the settings
//! of the predefined `default` pool and group, and whether the governor is on. Managed
//! Instance supports Resource Governor ("CREATE RESOURCE POOL (Transact-SQL)" and "CREATE
//! WORKLOAD GROUP (Transact-SQL)" apply to Azure SQL Managed Instance, to be run in `master`).
//! The `internal` pool and group are the server's own and never compared. Per-volume IOPS
//! limits are left out: the T-SQL differences page is silent on them and Managed Instance
//! manages its storage's IO itself, so ferry takes the stricter reading.

use ferry_sdk::SqlConnection;
use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::quote_name;

use crate::config::Config;
use crate::decision::{Decision, Statement, Verdict};
use crate::servers::Servers;
use crate::table::Table;

const INTERNAL: i64 = 1;
const DEFAULT: i64 = 2;

/// A pool's settings in CREATE RESOURCE POOL's option order, and their SQL Server defaults.
const POOL_OPTIONS: [&str; 5] = [
    "MIN_CPU_PERCENT",
    "MAX_CPU_PERCENT",
    "CAP_CPU_PERCENT",
    "MIN_MEMORY_PERCENT",
    "MAX_MEMORY_PERCENT",
];
const POOL_DEFAULTS: [i64; 5] = [0, 100, 100, 0, 100];

/// A group's numeric settings after IMPORTANCE, and their defaults.
const GROUP_OPTIONS: [&str; 5] = [
    "REQUEST_MAX_MEMORY_GRANT_PERCENT",
    "REQUEST_MAX_CPU_TIME_SEC",
    "REQUEST_MEMORY_GRANT_TIMEOUT_SEC",
    "MAX_DOP",
    "GROUP_MAX_REQUESTS",
];
const GROUP_DEFAULTS: [i64; 5] = [25, 0, 0, 0, 0];

struct Pool {
    id: i64,
    name: String,
    settings: [i64; 5],
    iops: (i64, i64),
}

struct Group {
    id: i64,
    name: String,
    importance: String,
    settings: [i64; 5],
    pool_id: i64,
}

struct Governor {
    classifier: i64,
    enabled: bool,
}

fn read_pools(cx: &mut Context<'_, Config>, conn: SqlConnection) -> Result<Vec<Pool>> {
    let t = Table::read(
        cx,
        conn,
        "sys.resource_governor_resource_pools",
        "SELECT pool_id, name, min_cpu_percent, max_cpu_percent, cap_cpu_percent, \
         min_memory_percent, max_memory_percent, min_iops_per_volume, max_iops_per_volume \
         FROM sys.resource_governor_resource_pools",
        &[],
    )?;
    Ok(t.rows()
        .map(|r| Pool {
            id: r.int("pool_id"),
            name: r.text("name"),
            settings: POOL_OPTIONS.map(|o| r.int(&o.to_ascii_lowercase())),
            iops: (r.int("min_iops_per_volume"), r.int("max_iops_per_volume")),
        })
        .collect())
}

fn read_groups(cx: &mut Context<'_, Config>, conn: SqlConnection) -> Result<Vec<Group>> {
    let t = Table::read(
        cx,
        conn,
        "sys.resource_governor_workload_groups",
        "SELECT group_id, name, importance, request_max_memory_grant_percent, \
         request_max_cpu_time_sec, request_memory_grant_timeout_sec, max_dop, \
         group_max_requests, pool_id FROM sys.resource_governor_workload_groups",
        &[],
    )?;
    Ok(t.rows()
        .map(|r| Group {
            id: r.int("group_id"),
            name: r.text("name"),
            importance: r.text("importance").to_ascii_uppercase(),
            settings: GROUP_OPTIONS.map(|o| r.int(&o.to_ascii_lowercase())),
            pool_id: r.int("pool_id"),
        })
        .collect())
}

fn read_governor(cx: &mut Context<'_, Config>, conn: SqlConnection) -> Result<Governor> {
    let t = Table::read(
        cx,
        conn,
        "sys.resource_governor_configuration",
        "SELECT classifier_function_id, is_enabled FROM sys.resource_governor_configuration",
        &[],
    )?;
    let r = t.rows().next();
    Ok(Governor {
        classifier: r.as_ref().map_or(0, |r| r.int("classifier_function_id")),
        enabled: r.as_ref().is_some_and(|r| r.flag("is_enabled")),
    })
}

fn with_list(names: &[&str], values: &[i64]) -> String {
    let parts: Vec<String> = names
        .iter()
        .zip(values)
        .map(|(n, v)| format!("{n} = {v}"))
        .collect();
    parts.join(", ")
}

fn pool_statement(verb: &str, p: &Pool) -> Statement {
    Statement::new(format!(
        "{verb} RESOURCE POOL {} WITH ({})",
        quote_name(&p.name),
        with_list(&POOL_OPTIONS, &p.settings)
    ))
}

fn group_statement(verb: &str, g: &Group, pool: Option<&str>) -> Statement {
    let using = pool.map_or(String::new(), |p| format!(" USING {}", quote_name(p)));
    Statement::new(format!(
        "{verb} WORKLOAD GROUP {} WITH (IMPORTANCE = {}, {}){using}",
        quote_name(&g.name),
        g.importance,
        with_list(&GROUP_OPTIONS, &g.settings)
    ))
}

/// The verdict for an object both servers may have: made when missing, Unchanged when equal;
/// a predefined one still at SQL Server's defaults on the target is altered to the source's,
/// anything else that differs is a conflict.
fn verdict(
    there: Option<bool>,
    at_defaults: bool,
    create: Statement,
    alter: Statement,
    differs: &str,
) -> Verdict {
    match there {
        None => Verdict::Create(vec![create]),
        Some(true) => Verdict::Unchanged,
        Some(false) if at_defaults => Verdict::Create(vec![alter]),
        Some(false) => Verdict::Conflict {
            differs: differs.to_owned(),
            replace: vec![alter],
        },
    }
}

fn pool_decision(p: &Pool, dst: &[Pool]) -> Decision {
    let there = dst.iter().find(|x| x.name.eq_ignore_ascii_case(&p.name));
    let differs = there.map_or(String::new(), |x| {
        format!("the target has ({})", with_list(&POOL_OPTIONS, &x.settings))
    });
    let v = verdict(
        there.map(|x| x.settings == p.settings),
        there.is_some_and(|x| x.id == DEFAULT && x.settings == POOL_DEFAULTS),
        pool_statement("CREATE", p),
        pool_statement("ALTER", p),
        &differs,
    );
    let mut d = Decision::new("resource-pool", &p.name, v);
    if p.iops != (0, 0) {
        d = d.note(format!(
            "per-volume IOPS limits dropped (MIN_IOPS_PER_VOLUME = {}, MAX_IOPS_PER_VOLUME = \
             {}): Managed Instance manages its storage IO; size the instance's storage tier \
             instead",
            p.iops.0, p.iops.1
        ));
    }
    d
}

fn pool_name(pools: &[Pool], id: i64) -> String {
    pools
        .iter()
        .find(|p| p.id == id)
        .map_or_else(|| format!("pool {id}"), |p| p.name.clone())
}

pub fn decide(cx: &mut Context<'_, Config>, s: Servers) -> Result<Vec<Decision>> {
    let patterns = cx.config().resource_governor.patterns();
    let (src_pools, dst_pools) = (read_pools(cx, s.source)?, read_pools(cx, s.target)?);
    let (src_groups, dst_groups) = (read_groups(cx, s.source)?, read_groups(cx, s.target)?);
    let (src_rg, dst_rg) = (read_governor(cx, s.source)?, read_governor(cx, s.target)?);
    let mut out = Vec::new();
    // Pools a group may be put in: the default pool, and each pool that is or will be there.
    let mut landed: Vec<String> = vec!["default".into()];
    for p in src_pools
        .iter()
        .filter(|p| p.id != INTERNAL && patterns.admits(&p.name))
    {
        let d = pool_decision(p, &dst_pools);
        if d.lands()
            || dst_pools
                .iter()
                .any(|x| x.name.eq_ignore_ascii_case(&p.name))
        {
            landed.push(p.name.to_lowercase());
        }
        out.push(d);
    }
    for g in src_groups
        .iter()
        .filter(|g| g.id != INTERNAL && patterns.admits(&g.name))
    {
        let pool = pool_name(&src_pools, g.pool_id);
        if !landed.contains(&pool.to_lowercase()) {
            out.push(Decision::new(
                "workload-group",
                &g.name,
                Verdict::Skipped {
                    code: "pool-not-moved",
                    why: format!(
                        "its resource pool `{pool}` is not moved (excluded or refused): move \
                         the pool, or create the group by hand in another pool"
                    ),
                },
            ));
            continue;
        }
        let there = dst_groups
            .iter()
            .find(|x| x.name.eq_ignore_ascii_case(&g.name));
        let same = |x: &Group| {
            x.importance == g.importance
                && x.settings == g.settings
                && pool_name(&dst_pools, x.pool_id).eq_ignore_ascii_case(&pool)
        };
        // The default group cannot leave the default pool: no USING for it.
        let using = (g.id != DEFAULT).then_some(pool.as_str());
        let differs = there.map_or(String::new(), |x| {
            format!(
                "the target has (IMPORTANCE = {}, {}) in pool `{}`",
                x.importance,
                with_list(&GROUP_OPTIONS, &x.settings),
                pool_name(&dst_pools, x.pool_id)
            )
        });
        let v = verdict(
            there.map(same),
            there.is_some_and(|x| {
                x.id == DEFAULT && x.importance == "MEDIUM" && x.settings == GROUP_DEFAULTS
            }),
            group_statement("CREATE", g, using),
            group_statement("ALTER", g, using),
            &differs,
        );
        out.push(Decision::new("workload-group", &g.name, v));
    }
    if src_rg.classifier != 0 {
        out.push(Decision::new(
            "resource-governor",
            "classifier function",
            Verdict::Refused {
                code: "classifier-function-not-moved",
                why: format!(
                    "the source classifies sessions with a user-defined function in master \
                     (object_id {}); ferry does not move user functions, so on the Managed \
                     Instance every session runs in the default group until you create that \
                     function in master (schema-bound, returning sysname) and run ALTER \
                     RESOURCE GOVERNOR WITH (CLASSIFIER_FUNCTION = schema.name); ALTER \
                     RESOURCE GOVERNOR RECONFIGURE",
                    src_rg.classifier
                ),
            },
        ));
    }
    out.push(enablement(&src_rg, &dst_rg, &out));
    Ok(out)
}

/// Whether the governor is on: RECONFIGURE turns it on and applies the pools and groups just
/// made ("ALTER RESOURCE GOVERNOR"); a source with it off leaves the target's alone unless
/// the target has it on.
fn enablement(src: &Governor, dst: &Governor, before: &[Decision]) -> Decision {
    let changed = before
        .iter()
        .any(|d| matches!(d.verdict, Verdict::Create(_)));
    let v = match (src.enabled, dst.enabled) {
        (true, on) if !on || changed => {
            Verdict::Create(vec![Statement::new("ALTER RESOURCE GOVERNOR RECONFIGURE")])
        }
        (false, true) => Verdict::Conflict {
            differs: "the target has Resource Governor enabled; the source has it disabled".into(),
            replace: vec![Statement::new("ALTER RESOURCE GOVERNOR DISABLE")],
        },
        _ => Verdict::Unchanged,
    };
    Decision::new("resource-governor", "configuration", v)
}
