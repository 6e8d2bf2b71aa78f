//! ticket-gate: waits until each database's change ticket is approved.
//!
//! `ferry plugin new` starts every plugin from this one: a step that reads a table on a SQL
//! label, reports a row per database, waits and looks again, and behaves in a plan. Change
//! `step` to do your own work; the guide (docs/plugins.md in ferry) has a recipe for every
//! `Context` method.

use std::time::Duration;

use ferry_sdk::prelude::*;
use ferry_sdk::{Param, QueryLimits, SqlValue, now_ms, sql_value};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `[steps.config]` of a ticket-gate step.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// SQL label of the change-ticket database. `x-ferry-need` tells `ferry check` that this
    /// key holds the label of the `tickets` need, so it checks the step's grant for that label.
    #[serde(default = "default_tickets")]
    #[schemars(length(min = 1), extend("x-ferry-need" = "tickets"))]
    pub tickets: String,
    /// Seconds between two looks at a ticket that is not approved yet.
    #[serde(default = "default_poll")]
    #[schemars(range(min = 5, max = 3600))]
    pub poll_seconds: u64,
    /// Hours to wait for approval before the database's item fails (0: no limit).
    #[serde(default = "default_give_up")]
    pub give_up_hours: u64,
}

fn default_tickets() -> String {
    "tickets".into()
}
fn default_poll() -> u64 {
    60
}
fn default_give_up() -> u64 {
    72
}

/// Where a database is between calls.
#[derive(Debug, Default, Serialize, Deserialize)]
pub enum State {
    /// Not looked yet.
    #[default]
    Start,
    /// Looked at least once; not approved when last seen.
    Waiting { since_ms: u64, looks: u32 },
}

/// The latest ticket for a database. `@db` is a typed parameter: never format names into SQL.
const TICKET_SQL: &str = "SELECT TOP (1) status, ticket_id FROM dbo.change_tickets \
                          WHERE database_name = @db ORDER BY requested_at DESC";

pub struct TicketGate;

impl Plugin for TicketGate {
    const NAME: &'static str = "ticket-gate";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "Waits until each database's change ticket is approved";
    type Config = Config;
    type State = State;

    fn needs() -> Vec<CapabilityNeed> {
        vec![need(
            CapabilityKind::Sql,
            "tickets",
            Access::Read,
            "reads the change-ticket table",
        )]
    }

    fn validate(config: &Config) -> Result<Vec<Warning>> {
        let mut warnings = Vec::new();
        if config.give_up_hours == 0 {
            warnings.push(Warning {
                key: Some("give_up_hours".into()),
                message: "a ticket nobody approves keeps its database waiting forever".into(),
            });
        }
        Ok(warnings)
    }

    fn step(cx: &mut Context<'_, Config>, state: State) -> Result<Outcome<State>> {
        let (since_ms, looks) = match state {
            State::Start => (now_ms(), 0),
            State::Waiting { since_ms, looks } => (since_ms, looks),
        };
        let db = cx.item().to_owned();
        let label = cx.config().tickets.clone();
        let planning = cx.planning();

        // Re-check on every call: the ticket may have changed while we waited, or while ferry
        // was down. Reading is idempotent, so a repeated call (attempt > 1) needs no care.
        let conn = cx.sql(&label)?;
        let params = [Param::value("db", SqlValue::Text(db.clone()))];
        let limits = QueryLimits {
            max_rows: 1,
            max_bytes: 4096,
        };
        let rows = cx
            .query(conn, TICKET_SQL, &params, limits)?
            .into_first_rows();
        let Some(row) = rows.first() else {
            cx.report(gate_row(
                &db,
                ObjectStatus::Blocked,
                "ticket-missing",
                format!("no change ticket names `{db}`; raise one"),
            ));
            return Err(Error::failed(format!(
                "no change ticket names database `{db}` in sql label `{label}`"
            )));
        };
        let status = sql_value::text(row.first()).to_ascii_lowercase();
        let ticket = sql_value::text(row.get(1));

        match status.as_str() {
            "approved" => {
                cx.report(gate_row(
                    &db,
                    ObjectStatus::Passed,
                    "ticket-approved",
                    format!("{ticket} is approved"),
                ));
                Ok(Outcome::Done(
                    serde_json::json!({ "ticket": ticket, "looks": looks + 1 }),
                ))
            }
            "rejected" => {
                cx.report(gate_row(
                    &db,
                    ObjectStatus::Blocked,
                    "ticket-rejected",
                    format!("{ticket} was rejected; the restore will not run"),
                ));
                Err(Error::failed(format!(
                    "change ticket {ticket} for `{db}` was rejected"
                )))
            }
            _ if planning => {
                // A plan does not wait for a person: say where the ticket stands and move on.
                cx.report(gate_row(
                    &db,
                    ObjectStatus::Blocked,
                    "ticket-not-approved",
                    format!("{ticket} is {status}; `ferry apply` will wait for it"),
                ));
                Ok(Outcome::Done(
                    serde_json::json!({ "ticket": ticket, "planned": true }),
                ))
            }
            _ => {
                let limit_ms = cx.config().give_up_hours.saturating_mul(3_600_000);
                if limit_ms > 0 && now_ms().saturating_sub(since_ms) > limit_ms {
                    cx.report(gate_row(
                        &db,
                        ObjectStatus::Blocked,
                        "ticket-timeout",
                        format!("{ticket} was still {status} when the gate gave up"),
                    ));
                    return Err(Error::failed(format!(
                        "change ticket {ticket} for `{db}` is still {status} after {} hours",
                        cx.config().give_up_hours
                    )));
                }
                let message = format!("{ticket} is {status}");
                cx.phase("ticket", None, Some(message.as_str()));
                let poll = Duration::from_secs(cx.config().poll_seconds);
                Ok(Outcome::wait_for(
                    poll,
                    State::Waiting {
                        since_ms,
                        looks: looks + 1,
                    },
                    format!("waiting for change ticket {ticket} ({status})"),
                ))
            }
        }
    }
}

fn gate_row(db: &str, status: ObjectStatus, code: &str, notes: String) -> ObjectRow {
    ObjectRow {
        object_type: "change-ticket".into(),
        name: db.to_owned(),
        status,
        reason_code: Some(code.into()),
        notes: Some(notes),
    }
}

ferry_sdk::register!(TicketGate);
