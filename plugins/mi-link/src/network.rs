//! The two connectivity tests of "Prepare environment for link" ("Test bidirectional network
//! connectivity"; methods.md §1.2), each a temporary Agent job running PowerShell's
//! `Test-NetConnection` (`tnc`), read back from msdb and deleted:
//! - SQL Server → MI: `tnc <mi fqdn> -port 5022` and `tnc <node> -port <HadrPort>` for each node
//!   `sys.dm_hadr_fabric_config_parameters` names on the MI; the step's message in
//!   `msdb.dbo.sysjobhistory` carries `TcpTestSucceeded : True|False`.
//! - MI → SQL Server: a temporary `TEST_ENDPOINT` on SQL Server when it has no mirroring
//!   endpoint yet, then `tnc <source> -port <port> -InformationLevel Quiet` on the MI, whose
//!   step log (`msdb.dbo.sysjobstepslogs`) says `True` or `False`.

use ferry_sdk::prelude::*;
use ferry_sdk::sql_value::{int, text};
use ferry_sdk::tsql_text::quote_name;
use ferry_sdk::{Param, SqlValue, now_ms};

use crate::config::Config;
use crate::sql::{Side, exec, exec_quietly, p, row, rows};
use crate::state::{Link, State, Tests, wait};

const TEST_ENDPOINT: &str = "TEST_ENDPOINT";
const TEST_CERT: &str = "TEST_CERT";
/// A job that has not finished in this time is taken as failed (tnc's own timeout is ~20 s
/// per address).
const JOB_TIMEOUT_MS: u64 = 10 * 60 * 1000;

fn job_names(db: &str) -> (String, String) {
    (
        format!("ferry_link_test_{db}_to_mi"),
        format!("ferry_link_test_{db}_from_mi"),
    )
}

/// Makes and starts one job of PowerShell steps; a leftover of an earlier run is replaced.
fn start_job(
    cx: &mut Context<'_, Config>,
    side: Side,
    job: &str,
    commands: &[String],
    log_to_table: bool,
) -> Result<()> {
    if job_id(cx, side, job)?.is_some() {
        exec(
            cx,
            side,
            "EXEC msdb.dbo.sp_delete_job @job_name = @job",
            &[p("job", job)],
            "deleting a leftover test job",
        )?;
    }
    exec(
        cx,
        side,
        "EXEC msdb.dbo.sp_add_job @job_name = @job",
        &[p("job", job)],
        "the connectivity test job",
    )?;
    for (i, command) in commands.iter().enumerate() {
        let last = i + 1 == commands.len();
        // Every step runs whatever the one before did: 3 = go to the next step; the last
        // quits reporting success (1) or failure (2).
        let (ok, fail) = if last { (1, 2) } else { (3, 3) };
        exec(
            cx,
            side,
            // Parameters are named apart from the procedure's own (`@command`, `@flags`): the
            // host writes a parameter's value wherever its name stands.
            "EXEC msdb.dbo.sp_add_jobstep @job_name = @job, @step_name = @step, @subsystem = N'PowerShell', \
             @command = @tnc, @on_success_action = @ok, @on_fail_action = @fail, @flags = @log_flags",
            &[
                p("job", job),
                p("step", &format!("tnc {}", i + 1)),
                p("tnc", command),
                Param::value("ok", SqlValue::Int(ok)),
                Param::value("fail", SqlValue::Int(fail)),
                // 8: write the step's output to sysjobstepslogs (sp_add_jobstep, sql-docs).
                Param::value("log_flags", SqlValue::Int(if log_to_table { 8 } else { 0 })),
            ],
            "a connectivity test step",
        )?;
    }
    exec(
        cx,
        side,
        "EXEC msdb.dbo.sp_add_jobserver @job_name = @job",
        &[p("job", job)],
        "the connectivity test job's server",
    )?;
    exec(
        cx,
        side,
        "EXEC msdb.dbo.sp_start_job @job_name = @job",
        &[p("job", job)],
        "starting the connectivity test job",
    )
}

fn job_id(cx: &mut Context<'_, Config>, side: Side, job: &str) -> Result<Option<String>> {
    Ok(row(
        cx,
        side,
        "SELECT job_id FROM msdb.dbo.sysjobs WHERE name = @job",
        &[p("job", job)],
    )?
    .map(|r| text(r.first())))
}

fn guid(name: &str, v: &str) -> Param {
    Param::value(name, SqlValue::Guid(v.to_owned()))
}

/// The job's history rows (step_id, run_status, message) once its outcome row (step 0) is
/// there; None while it runs.
fn finished(
    cx: &mut Context<'_, Config>,
    side: Side,
    job: &str,
) -> Result<Option<Vec<(i64, i64, String)>>> {
    let Some(id) = job_id(cx, side, job)? else {
        return Ok(None);
    };
    let h: Vec<(i64, i64, String)> = rows(
        cx,
        side,
        "SELECT step_id, run_status, message FROM msdb.dbo.sysjobhistory WHERE job_id = @id",
        &[guid("id", &id)],
    )?
    .iter()
    .map(|r| (int(r.first()), int(r.get(1)), text(r.get(2))))
    .collect();
    Ok(h.iter().any(|(s, ..)| *s == 0).then_some(h))
}

/// Starts both tests.
pub fn start(cx: &mut Context<'_, Config>, link: Link) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    cx.phase(
        "network",
        None,
        Some("connectivity tests through Agent jobs"),
    );
    // The recipe ("Test the connection from SQL Server to SQL Managed Instance"): the HADR
    // port from the fabric's configuration, and the FQDN of the node that hosts the primary
    // replica of the instance's ManagedServer service. Read view by view and joined here.
    let params = rows(
        cx,
        Side::Mi,
        "SELECT parameter_name, value FROM sys.dm_hadr_fabric_config_parameters \
         WHERE parameter_name = N'HadrPort'",
        &[],
    )?;
    let port = params.first().map(|r| text(r.get(1))).unwrap_or_default();
    let partitions: Vec<String> = rows(
        cx,
        Side::Mi,
        "SELECT partition_id, service_name FROM sys.dm_hadr_fabric_partitions",
        &[],
    )?
    .iter()
    .filter(|r| text(r.get(1)).contains("/ManagedServer/"))
    .map(|r| text(r.first()).to_ascii_lowercase())
    .collect();
    let primary_nodes: Vec<String> = rows(
        cx,
        Side::Mi,
        "SELECT partition_id, replica_role, node_name FROM sys.dm_hadr_fabric_replicas",
        &[],
    )?
    .iter()
    // replica_role 2: the primary (Service Fabric's ReplicaRole.Primary).
    .filter(|r| partitions.contains(&text(r.first()).to_ascii_lowercase()) && int(r.get(1)) == 2)
    .map(|r| text(r.get(2)))
    .collect();
    let nodes: Vec<String> = rows(
        cx,
        Side::Mi,
        "SELECT node_name, ip_address_or_fqdn FROM sys.dm_hadr_fabric_nodes",
        &[],
    )?
    .iter()
    .filter(|r| {
        primary_nodes
            .iter()
            .any(|n| n.eq_ignore_ascii_case(&text(r.first())))
    })
    .map(|r| text(r.get(1)))
    .collect();
    let mut commands = vec![format!("tnc {} -port 5022", link.mi_fqdn)];
    for node in nodes {
        commands.push(format!("tnc {node} -port {port}"));
    }
    let (to_mi, from_mi) = job_names(&link.db);
    start_job(cx, Side::Source, &to_mi, &commands, false)?;
    let endpoint = crate::endpoint::read(cx)?;
    let dmk = row(
        cx,
        Side::Source,
        "SELECT name FROM master.sys.symmetric_keys WHERE symmetric_key_id = 101",
        &[],
    )?
    .is_some();
    let mut tests = Tests {
        source_job: to_mi,
        started_ms: now_ms(),
        ..Tests::default()
    };
    let port = crate::endpoint::port(endpoint.as_ref(), &cfg);
    if endpoint.is_none() && !dmk {
        report(cx, "connectivity-mi-to-sql", ObjectStatus::Skipped, "not tested: SQL Server has no mirroring endpoint to answer and no master key to make a temporary one with".into());
    } else {
        // A TEST_ENDPOINT found is one a killed run made: used, then dropped like a new one.
        tests.test_endpoint = endpoint.as_ref().is_some_and(|e| e.name == TEST_ENDPOINT);
        if endpoint.is_none() {
            if crate::trust::cert_id(cx, TEST_CERT)? == 0 {
                exec(
                    cx,
                    Side::Source,
                    &format!(
                        "CREATE CERTIFICATE {} WITH SUBJECT = N'ferry link connectivity test'",
                        quote_name(TEST_CERT)
                    ),
                    &[],
                    "the test endpoint's certificate",
                )?;
            }
            exec(
                cx,
                Side::Source,
                &format!(
                    "CREATE ENDPOINT {} STATE = STARTED AS TCP (LISTENER_PORT = {port}, LISTENER_IP = ALL) FOR DATABASE_MIRRORING \
                 (ROLE = ALL, AUTHENTICATION = CERTIFICATE {}, ENCRYPTION = REQUIRED ALGORITHM AES)",
                    quote_name(TEST_ENDPOINT),
                    quote_name(TEST_CERT)
                ),
                &[],
                "the test endpoint",
            )?;
            tests.test_endpoint = true;
        }
        start_job(
            cx,
            Side::Mi,
            &from_mi,
            &[format!(
                "tnc {} -port {port} -InformationLevel Quiet",
                cfg.source_address
            )],
            true,
        )?;
        tests.mi_job = Some(from_mi);
    }
    if cx.planning() {
        clean(cx, &tests);
        return Ok(Outcome::Next(State::Trust { link }));
    }
    wait(
        cx,
        State::Network { link, tests },
        "the connectivity tests run",
    )
}

fn report(cx: &mut Context<'_, Config>, test: &str, status: ObjectStatus, notes: String) {
    let db = cx.item().to_owned();
    cx.report(ObjectRow {
        object_type: "link-precondition".into(),
        name: format!("{db}: {test}"),
        status,
        reason_code: Some(test.into()),
        notes: Some(notes),
    });
}

/// Reads both jobs back once they finished, cleans up, and goes on (or stops).
pub fn running(cx: &mut Context<'_, Config>, link: Link, tests: Tests) -> Result<Outcome<State>> {
    let to_mi = finished(cx, Side::Source, &tests.source_job)?;
    let from_mi = match &tests.mi_job {
        Some(j) => finished(cx, Side::Mi, j)?.map(Some),
        None => Some(None),
    };
    let (Some(to_mi), Some(from_mi)) = (to_mi, from_mi) else {
        if now_ms().saturating_sub(tests.started_ms) > JOB_TIMEOUT_MS {
            clean(cx, &tests);
            return Err(Error::failed(
                "the connectivity test jobs did not finish within 10 minutes: check that SQL Server Agent runs on both sides",
            ));
        }
        return wait(
            cx,
            State::Network { link, tests },
            "the connectivity tests run",
        );
    };
    let mut failures = Vec::new();
    for (step, _, message) in to_mi.iter().filter(|(s, ..)| *s > 0) {
        let ok = message.contains("TcpTestSucceeded : True");
        if !ok {
            failures.push(format!("SQL Server → MI step {step}: {}", message.trim()));
        }
    }
    let steps = to_mi.iter().filter(|(s, ..)| *s > 0).count();
    if steps == 0 {
        failures.push(
            "SQL Server → MI: the job ran no step (is PowerShell available to SQL Server Agent?)"
                .into(),
        );
    }
    let mi_ok = match (&tests.mi_job, from_mi) {
        (Some(job), Some(_)) => Some(step_log(cx, job)?.trim().eq_ignore_ascii_case("True")),
        _ => None,
    };
    clean(cx, &tests);
    let fix = "allow TCP 5022 and 11000-11999 between SQL Server and the MI's subnet (NSG, firewalls on both sides; private connectivity only)";
    report(
        cx,
        "connectivity-sql-to-mi",
        if failures.is_empty() {
            ObjectStatus::Unchanged
        } else {
            ObjectStatus::Refused
        },
        if failures.is_empty() {
            format!("{steps} port(s) reached")
        } else {
            format!("{}; {fix}", failures.join("; "))
        },
    );
    if let Some(ok) = mi_ok {
        report(
            cx,
            "connectivity-mi-to-sql",
            if ok {
                ObjectStatus::Unchanged
            } else {
                ObjectStatus::Refused
            },
            if ok {
                "the MI reached SQL Server's endpoint port".into()
            } else {
                format!(
                    "the MI could not reach {}; {fix}",
                    cx.config().source_address
                )
            },
        );
        if !ok {
            failures.push("MI → SQL Server: False".into());
        }
    }
    if !failures.is_empty() {
        return Err(Error::failed(format!(
            "[{}]: the connectivity tests failed: {}; {fix}",
            link.db,
            failures.join("; ")
        )));
    }
    if cx.config().check_only {
        return Ok(Outcome::Done(
            serde_json::json!({ "method": "mi-link", "database": link.db, "checked": true }),
        ));
    }
    Ok(Outcome::Next(State::Trust { link }))
}

fn step_log(cx: &mut Context<'_, Config>, job: &str) -> Result<String> {
    let Some(id) = job_id(cx, Side::Mi, job)? else {
        return Ok(String::new());
    };
    let Some(step) = row(
        cx,
        Side::Mi,
        "SELECT step_uid FROM msdb.dbo.sysjobsteps WHERE job_id = @id",
        &[guid("id", &id)],
    )?
    else {
        return Ok(String::new());
    };
    Ok(row(
        cx,
        Side::Mi,
        "SELECT log FROM msdb.dbo.sysjobstepslogs WHERE step_uid = @uid",
        &[guid("uid", &text(step.first()))],
    )?
    .map(|r| text(r.first()))
    .unwrap_or_default())
}

/// Deletes the jobs and the temporary endpoint; each is safe to repeat.
pub fn clean(cx: &mut Context<'_, Config>, tests: &Tests) {
    exec_quietly(
        cx,
        Side::Source,
        "EXEC msdb.dbo.sp_delete_job @job_name = @job",
        &[p("job", &tests.source_job)],
    );
    if let Some(j) = &tests.mi_job {
        exec_quietly(
            cx,
            Side::Mi,
            "EXEC msdb.dbo.sp_delete_job @job_name = @job",
            &[p("job", j)],
        );
    }
    if tests.test_endpoint {
        exec_quietly(
            cx,
            Side::Source,
            &format!("DROP ENDPOINT {}", quote_name(TEST_ENDPOINT)),
            &[],
        );
        exec_quietly(
            cx,
            Side::Source,
            &format!("DROP CERTIFICATE {}", quote_name(TEST_CERT)),
            &[],
        );
    }
}
