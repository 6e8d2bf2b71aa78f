//! The control API of one server's resource model and workload generator (nested with
//! [`super::router`]):
//!
//! | method and path | body | does |
//! |---|---|---|
//! | `GET /resources` | | the machine: `cpu_count`, `hyperthread_ratio`, `memory_mb`, `target_memory_mb`, `committed_memory_mb` |
//! | `POST /resources` | any of those fields | changes it (`sys.dm_os_sys_info`, `sys.dm_os_schedulers`, the memory counters); 400 saying why for a machine that cannot be |
//! | `POST /query-workload` | `{"db": "Sales", "interval_minutes": 60, "queries": [{"text": "…", "executions": 500, "cpu_us": 120, "duration_us": 300, "logical_reads": 40, "waits": {"PAGEIOLATCH_SH": 5}, "plan": "B"}]}` | records the queries as run over the last `interval_minutes` (Query Store, `sys.dm_exec_query_stats`, waits, file I/O, CPU); answers each query's `query_hash`, `query_plan_hash` and intervals |
//!
//! Optional per query: `logical_writes`, `physical_reads` (pages, default 0), `rowcount`, `dop`
//! (default 1); `waits` are milliseconds per execution by `sys.dm_os_wait_stats` wait type.
//! (`/workload` is the MI link's write workload under `serve --hadr`, hence `/query-workload`.)

use std::sync::Arc;

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value as J, json};

use super::reply::bad_request;
use crate::instance::{QueryWorkload, ResourceChange};
use crate::server::Server;

/// The routes, for [`super::router`] to merge.
pub(super) fn routes() -> Router<Arc<Server>> {
    Router::new()
        .route("/resources", get(resources).post(set_resources))
        .route("/query-workload", post(query_workload))
}

/// 409 while the server is stopped: there is no instance to read or change.
fn stopped(e: crate::protocol::tokens::ServerMessage) -> (StatusCode, Json<J>) {
    (
        StatusCode::CONFLICT,
        Json(json!({ "error": { "message": e.text } })),
    )
}

async fn resources(State(s): State<Arc<Server>>) -> (StatusCode, Json<J>) {
    let p = s.personality().clone();
    match s.with_running_instance(|inst| inst.resources(&p)) {
        Ok(Ok(r)) => (StatusCode::OK, Json(json!(r))),
        Ok(Err(e)) | Err(e) => stopped(e),
    }
}

async fn set_resources(
    State(s): State<Arc<Server>>,
    body: Result<Json<ResourceChange>, JsonRejection>,
) -> (StatusCode, Json<J>) {
    let Ok(Json(change)) = body else {
        return bad_request(
            "send any of {\"cpu_count\": 16, \"hyperthread_ratio\": 8, \"memory_mb\": 65536, \"target_memory_mb\": 58000, \"committed_memory_mb\": 58000}",
        );
    };
    let p = s.personality().clone();
    match s.with_running_instance(|inst| inst.set_resources(&change, &p)) {
        Ok(Ok(r)) => (StatusCode::OK, Json(json!(r))),
        Ok(Err(why)) => bad_request(&why),
        Err(e) => stopped(e),
    }
}

async fn query_workload(
    State(s): State<Arc<Server>>,
    body: Result<Json<QueryWorkload>, JsonRejection>,
) -> (StatusCode, Json<J>) {
    let w = match body {
        Ok(Json(w)) => w,
        Err(e) => {
            return bad_request(&format!(
                "send {{\"db\": \"Sales\", \"queries\": [{{\"text\": \"SELECT …\", \"executions\": 500, \"cpu_us\": 120, \"duration_us\": 300, \"logical_reads\": 40}}]}}: {e}"
            ));
        }
    };
    let p = s.personality().clone();
    match s.with_running_instance(|inst| inst.run_query_workload(&w, &p)) {
        Ok(Ok(reports)) => (StatusCode::OK, Json(json!({ "queries": reports }))),
        Ok(Err(why)) => bad_request(&why),
        Err(e) => stopped(e),
    }
}
