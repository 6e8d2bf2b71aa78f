//! Control hooks on one table of one server, for tests that need the two sides of a migration
//! to differ or a check to fail:
//! - `POST /tables/{db}/{schema}/{table}/tamper` with `{"update": {"set": "Qty = Qty + 1",
//!   "where": "Id IN (7, 9)"}}`, `{"delete_where": "Id = 3"}` or `{"insert": "VALUES (…)"}`
//!   (SQLite expressions over the table's columns, one statement) changes rows on this server
//!   only: the change log never records it, so no backup, restore or link replica carries it.
//!   Answers `{"rows": n}`.
//! - `POST /tables/{db}/{schema}/{table}/corrupt` with `{"corrupt": true|false}` makes DBCC
//!   CHECKDB report the table's page as unreadable (sql/maintenance.rs), or stop doing so.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Json, Router, routing::post};
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::reply::{bad_request, done};
use crate::instance::Tamper;
use crate::protocol::tokens::ServerMessage;
use crate::server::Server;

pub(super) fn routes(router: Router<Arc<Server>>) -> Router<Arc<Server>> {
    router
        .route("/tables/{db}/{schema}/{table}/tamper", post(tamper))
        .route("/tables/{db}/{schema}/{table}/corrupt", post(corrupt))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    set: String,
    #[serde(rename = "where")]
    filter: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TamperBody {
    update: Option<UpdateBody>,
    delete_where: Option<String>,
    insert: Option<String>,
}

fn failed(e: ServerMessage) -> (StatusCode, Json<J>) {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({ "error": { "number": e.number, "class": e.class, "message": e.text } })),
    )
}

impl Server {
    /// Changes rows of `db.schema.table` on this server only (see the module's doc).
    pub async fn tamper(
        &self,
        db: &str,
        schema: &str,
        table: &str,
        change: &Tamper,
    ) -> Result<u64, ServerMessage> {
        self.with_instance_when_running(|inst| inst.tamper(db, schema, table, change))
            .await
    }

    /// Marks a table corrupt for DBCC CHECKDB, or clears the mark.
    pub async fn set_table_corrupt(
        &self,
        db: &str,
        schema: &str,
        table: &str,
        corrupt: bool,
    ) -> Result<(), ServerMessage> {
        self.with_instance_when_running(|inst| inst.set_table_corrupt(db, schema, table, corrupt))
            .await
    }
}

async fn tamper(
    State(s): State<Arc<Server>>,
    Path((db, schema, table)): Path<(String, String, String)>,
    Json(body): Json<TamperBody>,
) -> (StatusCode, Json<J>) {
    let change = match body {
        TamperBody {
            update: Some(u),
            delete_where: None,
            insert: None,
        } => Tamper::Update {
            set: u.set,
            filter: u.filter,
        },
        TamperBody {
            update: None,
            delete_where: Some(w),
            insert: None,
        } => Tamper::Delete(w),
        TamperBody {
            update: None,
            delete_where: None,
            insert: Some(v),
        } => Tamper::Insert(v),
        _ => {
            return bad_request(
                "send exactly one of {\"update\": {\"set\": …, \"where\": …}}, {\"delete_where\": …} or {\"insert\": \"VALUES (…)\"}",
            );
        }
    };
    match s.tamper(&db, &schema, &table, &change).await {
        Ok(n) => (StatusCode::OK, Json(json!({ "rows": n }))),
        Err(e) => failed(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CorruptBody {
    corrupt: bool,
}

async fn corrupt(
    State(s): State<Arc<Server>>,
    Path((db, schema, table)): Path<(String, String, String)>,
    Json(body): Json<CorruptBody>,
) -> (StatusCode, Json<J>) {
    match s
        .set_table_corrupt(&db, &schema, &table, body.corrupt)
        .await
    {
        Ok(()) => done(),
        Err(e) => failed(e),
    }
}
