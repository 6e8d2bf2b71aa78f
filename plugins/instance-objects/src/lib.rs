//! `instance-objects`: what lives outside the databases, moved to Azure SQL Managed Instance
//! (methods.md §4.6, §5): TDE certificates (through ARM), certificates, credentials, logins
//! (SQL with SID and password hash; Windows → Microsoft Entra), server roles, membership and
//! permissions, Database Mail, Agent operators and jobs, linked servers, audits, server
//! triggers, user-defined messages and configuration; then, per database once restored, the
//! remapping of its Windows users.
//!
//! Each family is read on both servers and every object decided: made, unchanged, a conflict
//! (left alone unless `replace = true`), skipped or refused with a reason a DBA can act on,
//! one report row each. What is made is also written, family by family, to owner-only `.sql`
//! files in the state directory. After the last family the target is read back and anything
//! still missing is a row of its own.
//!
//! # Resuming
//!
//! One family per step call, in dependency order; the state is the next family. A call cut
//! short is made again: what it had made is found on the target and reported unchanged, and
//! the rest is made. A TDE certificate upload is an ARM operation the state follows; after a
//! restart with the operation unknown, the certificate is looked for on the MI by thumbprint
//! before it is sent again.

pub mod config;
pub mod decision;
pub mod entra;
pub mod families;
pub mod msdb;
pub mod patterns;
pub mod servers;
pub mod table;
pub mod users;

use ferry_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use config::{Config, Part};
use decision::{Tally, Verdict, carry_out};
use families::tde::{self, Pending};
use families::{Family, ORDER};
use servers::Servers;

pub struct InstanceObjects;

/// Where a work item is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "at", rename_all = "kebab-case")]
pub enum State {
    #[default]
    Start,
    /// Families `ORDER[next..]` are still to do.
    Families {
        next: usize,
        tally: Tally,
        scripts: bool,
    },
    /// TDE certificates still to upload; `running` is the upload under way, with its
    /// operation.
    TdeUploads {
        queue: Vec<Pending>,
        running: Option<(Pending, String)>,
        tally: Tally,
        scripts: bool,
    },
    /// Everything sent: read the target back.
    Readback { tally: Tally, scripts: bool },
}

fn servers(cx: &mut Context<'_, Config>) -> Result<Servers> {
    let cfg = cx.config().clone();
    Ok(Servers {
        source: cx.sql(&cfg.source)?,
        target: cx.sql(&cfg.target)?,
    })
}

fn enabled(cfg: &Config) -> impl Iterator<Item = Family> + '_ {
    ORDER.into_iter().filter(|f| f.config(cfg).enabled)
}

/// Starts each family's `.sql` file afresh. Without the `scripts` grant the step goes on and
/// says once where the files would have been.
fn start_scripts(cx: &mut Context<'_, Config>) -> bool {
    let cfg = cx.config().clone();
    for f in enabled(&cfg) {
        if let Err(e) = cx.script_start(f.name()) {
            cx.warn(&format!(
                "no .sql files are written ({}): add `scripts = true` to the step's grants to \
                 have one per family in the state directory",
                e.describe()
            ));
            return false;
        }
    }
    if cfg.part == Part::Users {
        return cx.script_start("users").is_ok();
    }
    true
}

fn family_step(
    cx: &mut Context<'_, Config>,
    next: usize,
    mut tally: Tally,
    scripts: bool,
) -> Result<Outcome<State>> {
    let Some(family) = ORDER.get(next).copied() else {
        return Ok(Outcome::Next(State::Readback { tally, scripts }));
    };
    let after = State::Families {
        next: next + 1,
        tally,
        scripts,
    };
    if !family.config(cx.config()).enabled {
        return Ok(Outcome::Next(after));
    }
    cx.phase(family.name(), Some(next as f32 / ORDER.len() as f32), None);
    let s = servers(cx)?;
    let script = scripts.then_some(family.name());
    if family == Family::TdeCertificates {
        let (decisions, queue) = tde::decide(cx, s)?;
        // The uploads' rows come when each finishes.
        let now: Vec<_> = decisions
            .into_iter()
            .filter(|d| !matches!(&d.verdict, Verdict::Create(st) if st.is_empty()))
            .collect();
        tally.add(carry_out(cx, s.target, script, &now));
        return Ok(Outcome::Next(State::TdeUploads {
            queue,
            running: None,
            tally,
            scripts,
        }));
    }
    let decisions = family.decide(cx, s)?;
    tally.add(carry_out(cx, s.target, script, &decisions));
    Ok(Outcome::Next(State::Families {
        next: next + 1,
        tally,
        scripts,
    }))
}

fn tde_step(
    cx: &mut Context<'_, Config>,
    mut queue: Vec<Pending>,
    running: Option<(Pending, String)>,
    mut tally: Tally,
    scripts: bool,
) -> Result<Outcome<State>> {
    if let Some((p, op)) = running {
        let status = cx.operation(&op);
        let failure = match status {
            Ok(st) => match st.state {
                ferry_sdk::OperationState::Running => {
                    return Ok(Outcome::Wait {
                        until: WaitFor::Operation(op.clone()),
                        state: State::TdeUploads {
                            queue,
                            running: Some((p.clone(), op)),
                            tally,
                            scripts,
                        },
                        reason: format!("uploading TDE certificate {}", p.name),
                    });
                }
                ferry_sdk::OperationState::Succeeded => None,
                _ => Some(st.message.unwrap_or_else(|| "the operation failed".into())),
            },
            // An operation this process does not know (ferry restarted): the certificate is
            // looked for on the MI before it is sent again.
            Err(_) => {
                queue.insert(0, p);
                return Ok(Outcome::Next(State::TdeUploads {
                    queue,
                    running: None,
                    tally,
                    scripts,
                }));
            }
        };
        if failure.is_some() {
            tally.failed += 1;
        } else {
            tally.migrated += 1;
        }
        cx.report(tde::uploaded(&p, failure));
    }
    let Some(p) = queue.first().cloned() else {
        // On to the family after TDE certificates, which `ORDER` puts first.
        return Ok(Outcome::Next(State::Families {
            next: 1,
            tally,
            scripts,
        }));
    };
    queue.remove(0);
    let s = servers(cx)?;
    // Found on the MI already (an upload that finished while ferry was down): nothing to send.
    let (decisions, still) = tde::decide(cx, s)?;
    if !still.iter().any(|q| q.name == p.name) {
        if decisions
            .iter()
            .any(|d| d.name == p.name && matches!(d.verdict, Verdict::Unchanged))
        {
            tally.migrated += 1;
            cx.report(tde::uploaded(&p, None));
        }
        return Ok(Outcome::Next(State::TdeUploads {
            queue,
            running: None,
            tally,
            scripts,
        }));
    }
    cx.phase(
        "tde-certificates",
        None,
        Some(&format!("uploading {}", p.name)),
    );
    let op = match tde::begin_upload(cx, s, &p) {
        Ok(op) => op,
        Err(e @ Error::Transient(_)) => return Err(e),
        // This certificate cannot go (a key that does not export, a PFX Azure refuses): its
        // row says why, and the other families still move.
        Err(e) => {
            tally.failed += 1;
            cx.report(tde::uploaded(&p, Some(e.describe())));
            return Ok(Outcome::Next(State::TdeUploads {
                queue,
                running: None,
                tally,
                scripts,
            }));
        }
    };
    if cx.planning() {
        return Ok(Outcome::Next(State::TdeUploads {
            queue,
            running: None,
            tally,
            scripts,
        }));
    }
    Ok(Outcome::Wait {
        until: WaitFor::Operation(op.clone()),
        state: State::TdeUploads {
            queue,
            running: Some((p.clone(), op)),
            tally,
            scripts,
        },
        reason: format!("uploading TDE certificate {}", p.name),
    })
}

/// Reads every family back: anything the source has that the target still lacks is a row.
fn readback(cx: &mut Context<'_, Config>, mut tally: Tally) -> Result<Outcome<State>> {
    if !cx.planning() {
        cx.phase(
            "readback",
            Some(1.0),
            Some("comparing the target with the source"),
        );
        let s = servers(cx)?;
        let cfg = cx.config().clone();
        for f in enabled(&cfg) {
            for d in f.decide(cx, s)? {
                if let Verdict::Create(_) = d.verdict {
                    tally.failed += 1;
                    cx.report(ObjectRow {
                        object_type: d.kind.to_owned(),
                        name: d.name.clone(),
                        status: ObjectStatus::Failed,
                        reason_code: Some("missing-after-apply".into()),
                        notes: Some(
                            "Read back after apply, the target still lacks it; its row above \
                             says what went wrong."
                                .into(),
                        ),
                    });
                }
            }
        }
    }
    finish(tally)
}

fn finish(tally: Tally) -> Result<Outcome<State>> {
    if tally.failed > 0 {
        return Err(Error::failed(format!(
            "{} object(s) failed (see their report rows); {} migrated, {} unchanged. Fix the \
             causes and apply again: what was made is kept",
            tally.failed, tally.migrated, tally.unchanged
        )));
    }
    Ok(Outcome::Done(
        serde_json::to_value(tally).unwrap_or_default(),
    ))
}

impl Plugin for InstanceObjects {
    const NAME: &'static str = "instance-objects";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "Moves what lives outside the databases to Managed Instance (logins, roles, permissions, credentials, certificates and TDE certificates, Agent, Database Mail, linked servers, audits, triggers, messages, configuration) and remaps restored databases' Windows users to Microsoft Entra";
    type Config = Config;
    type State = State;

    /// The two servers only: the MI's azure label (TDE certificates), a storage label for
    /// file audits and the secret labels are optional, named in the config, and checked
    /// against the grants by the host on every call.
    fn needs() -> Vec<CapabilityNeed> {
        vec![
            need(
                CapabilityKind::Sql,
                "source",
                Access::Read,
                "reads what lives in master and msdb: principals, permissions, credentials, \
                 certificates, Agent, Database Mail, linked servers, audits, triggers",
            ),
            need(
                CapabilityKind::Sql,
                "target",
                Access::Write,
                "makes them on the Managed Instance; remaps restored databases' users",
            ),
        ]
    }

    fn validate(config: &Config) -> Result<Vec<Warning>> {
        if let Some(why) = config.entra.problem() {
            return Err(Error::invalid_config(Some("entra"), why));
        }
        Ok(Vec::new())
    }

    fn step(cx: &mut Context<'_, Config>, state: State) -> Result<Outcome<State>> {
        match state {
            State::Start => {
                let scripts = start_scripts(cx);
                if cx.config().part == Part::Users {
                    let tally = users::run(cx, scripts)?;
                    return finish(tally);
                }
                Ok(Outcome::Next(State::Families {
                    next: 0,
                    tally: Tally::default(),
                    scripts,
                }))
            }
            State::Families {
                next,
                tally,
                scripts,
            } => family_step(cx, next, tally, scripts),
            State::TdeUploads {
                queue,
                running,
                tally,
                scripts,
            } => tde_step(cx, queue, running, tally, scripts),
            State::Readback { tally, .. } => readback(cx, tally),
        }
    }
}

ferry_sdk::register!(InstanceObjects);
