//! The control API of one emulated server over HTTP. The same operations as the in-process
//! [`Server`] methods:
//!
//! | method and path | body | does |
//! |---|---|---|
//! | `GET /statements` | | every statement received: spid, user, time (Unix ms), text (secrets masked) |
//! | `POST /sql` | `{"sql": "…"}` | runs a batch as the server itself (seeding); results or the SQL Server error |
//! | `POST /faults` | `{"pattern": "backup database", "error": 3201}` or `"disconnect": true`, `"disconnect_during": true` or `"delay_ms": 500`; optional `"times": 1`, `"skip": 2` (let two matches pass first), `"at": "login"` (match login names at login instead of statements) | injects a fault |
//! | `DELETE /faults` | | removes every fault |
//! | `GET /clock`, `POST /clock` | `{"speed": 60}` | reads or sets the virtual clock's speed |
//! | `GET /entra-directory`, `PUT /entra-directory` | `{"users": ["alice@contoso.com"], "groups": ["SQL Admins"]}` | reads or replaces the emulated Microsoft Entra directory (MI's `FROM EXTERNAL PROVIDER`) |
//! | `POST /restore-time` | `{"seconds": 120}` or `{"seconds": null}` | sets how long a background restore takes (virtual) |
//! | `POST /stop` | | stops the server (clients find nothing listening) |
//! | `POST /restart` | | starts it again (stopping it first if it runs) on the same port and data |
//! | `POST /tables/{db}/{schema}/{table}/tamper` | `{"update": {"set": "Qty = Qty + 1", "where": "Id IN (7, 9)"}}`, `{"delete_where": "Id = 3"}` or `{"insert": "VALUES (…)"}` | changes rows on this server only, past the change log (no backup, restore or link replica carries it); answers `{"rows": n}` (tables.rs) |
//! | `POST /tables/{db}/{schema}/{table}/corrupt` | `{"corrupt": true}` | DBCC CHECKDB reports the table's page unreadable (8939, 8928, 8989) until `false` (tables.rs) |
//! | `GET`/`POST /resources`, `POST /query-workload` | | the resource model and workload generator ([`super::resources`]) |

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::reply::{bad_request, done, restarted};
use crate::control::{Fault, FaultAction, FaultRule};
use crate::protocol::types::text;
use crate::server::Server;
use crate::sql::Outcome;

/// The routes for one server; `serve` nests one per server under `/source` and `/target`.
pub fn router(server: Arc<Server>) -> Router {
    super::tables::routes(Router::new())
        .route("/statements", get(statements))
        .route("/sql", post(sql))
        .route("/faults", post(add_fault).delete(clear_faults))
        .route("/clock", get(clock).post(set_clock))
        .route(
            "/entra-directory",
            get(super::entra::get_directory).put(super::entra::put_directory),
        )
        .route("/restore-time", post(restore_time))
        .route("/stop", post(stop))
        .route("/restart", post(restart))
        .merge(super::resources::routes())
        .with_state(server)
}

async fn statements(State(s): State<Arc<Server>>) -> Json<J> {
    let list: Vec<J> = s
        .statements()
        .into_iter()
        .map(|r| json!({ "spid": r.spid, "user": r.user, "at_ms": r.at.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0), "text": r.text }))
        .collect();
    Json(J::Array(list))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SqlBody {
    sql: String,
}

async fn sql(State(s): State<Arc<Server>>, Json(body): Json<SqlBody>) -> (StatusCode, Json<J>) {
    // run_sql may do blob I/O through block_in_place, which needs a runtime worker thread —
    // which an axum handler is.
    match s.run_sql(&body.sql) {
        Ok(outcomes) => (
            StatusCode::OK,
            Json(json!({ "results": outcomes.iter().map(outcome_json).collect::<Vec<_>>() })),
        ),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": { "number": e.number, "class": e.class, "message": e.text } })),
        ),
    }
}

fn outcome_json(o: &Outcome) -> J {
    match o {
        Outcome::Rows { columns, rows } => json!({
            "columns": columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
            "rows": rows.iter().map(|r| r.iter().map(|v| if *v == crate::protocol::types::Value::Null { J::Null } else { J::String(text(v)) }).collect::<Vec<_>>()).collect::<Vec<_>>(),
        }),
        Outcome::Done(count) => json!({ "done": count }),
        Outcome::Info(m) => json!({ "info": m.text }),
        Outcome::DatabaseChanged { new, .. } => json!({ "database": new }),
        Outcome::Operation(op) => json!({ "operation": op.id }),
        Outcome::Error(m) => json!({ "error": { "number": m.number, "message": m.text } }),
        Outcome::Errors(list) => {
            json!({ "errors": list.iter().map(|m| json!({ "number": m.number, "message": m.text })).collect::<Vec<_>>() })
        }
        Outcome::Transaction(change, descriptor) => {
            json!({ "transaction": format!("{change:?}"), "descriptor": descriptor })
        }
        Outcome::Procedure(inner, status) => {
            json!({ "procedure": inner.iter().map(outcome_json).collect::<Vec<_>>(), "status": status })
        }
        Outcome::Options(_) | Outcome::Terminate => json!({ "done": null }),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultBody {
    pattern: String,
    error: Option<i32>,
    disconnect: Option<bool>,
    /// Run the statement, then drop the connection before the reply.
    disconnect_during: Option<bool>,
    delay_ms: Option<u64>,
    /// Run the statement, then hold its reply this long.
    hold_reply_ms: Option<u64>,
    times: Option<u32>,
    /// Matching requests to let through before the fault applies.
    skip: Option<u32>,
    /// `statement` (the default) or `login`.
    at: Option<String>,
}

async fn add_fault(
    State(s): State<Arc<Server>>,
    Json(b): Json<FaultBody>,
) -> (StatusCode, Json<J>) {
    let action = match (
        b.error,
        b.disconnect,
        b.disconnect_during,
        b.delay_ms,
        b.hold_reply_ms,
    ) {
        (Some(n), None, None, None, None) => FaultAction::Error(n),
        (None, Some(true), None, None, None) => FaultAction::Disconnect,
        (None, None, Some(true), None, None) => FaultAction::DisconnectDuring,
        (None, None, None, Some(ms), None) => FaultAction::Delay(Duration::from_millis(ms)),
        (None, None, None, None, Some(ms)) => FaultAction::DelayAfter(Duration::from_millis(ms)),
        _ => {
            return bad_request(
                "give exactly one of `error`, `disconnect: true`, `disconnect_during: true`, \
                 `delay_ms` or `hold_reply_ms`",
            );
        }
    };
    let mut rule = FaultRule::from(Fault {
        pattern: b.pattern,
        action,
        times: b.times,
    })
    .after(b.skip.unwrap_or(0));
    match b.at.as_deref() {
        None | Some("statement") => {}
        Some("login") => rule = rule.at_login(),
        Some(other) => {
            return bad_request(&format!("`at` is `statement` or `login`, not `{other}`"));
        }
    }
    s.inject(rule);
    done()
}

async fn stop(State(s): State<Arc<Server>>) -> (StatusCode, Json<J>) {
    s.stop().await;
    done()
}

async fn restart(State(s): State<Arc<Server>>) -> (StatusCode, Json<J>) {
    restarted(s.restart().await, "the server")
}

async fn clear_faults(State(s): State<Arc<Server>>) -> StatusCode {
    s.clear_faults();
    StatusCode::NO_CONTENT
}

async fn clock(State(s): State<Arc<Server>>) -> Json<J> {
    let now = s
        .clock()
        .now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    Json(json!({ "speed": s.clock().speed(), "now_ms": now }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockBody {
    speed: f64,
}

async fn set_clock(
    State(s): State<Arc<Server>>,
    Json(b): Json<ClockBody>,
) -> (StatusCode, Json<J>) {
    if !(b.speed.is_finite() && b.speed > 0.0) {
        return bad_request("speed must be a positive number");
    }
    s.clock().set_speed(b.speed);
    done()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RestoreTimeBody {
    seconds: Option<f64>,
}

async fn restore_time(
    State(s): State<Arc<Server>>,
    Json(b): Json<RestoreTimeBody>,
) -> (StatusCode, Json<J>) {
    match b.seconds {
        Some(x) if !(x.is_finite() && x >= 0.0) => bad_request("seconds must be zero or more"),
        other => {
            s.set_restore_time(other.map(Duration::from_secs_f64));
            done()
        }
    }
}
