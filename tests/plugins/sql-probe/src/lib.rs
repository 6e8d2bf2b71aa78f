//! Runs the statements its config lists, each through the `tsql` capability of a label, and
//! returns what each gave back (rows as text, rows affected, or the error and its number).

use ferry_sdk::prelude::*;
use ferry_sdk::{
    BlockChecksum, Param, QueryLimits, SasPermission, SqlValue, StatementOptions, UploadOptions,
};
use serde::Deserialize;
use serde_json::{Value, json};

#[allow(dead_code)] // only used in the wasm build
#[derive(Deserialize)]
struct Statement {
    label: String,
    /// "query" or "execute"
    kind: String,
    sql: String,
    #[serde(default)]
    params: serde_json::Map<String, Value>,
    /// Parameter name → secret label, passed sealed.
    #[serde(default)]
    sealed: serde_json::Map<String, Value>,
    #[serde(default)]
    max_rows: Option<u32>,
    /// Run a query this many times more before the one whose result is kept (benchmarks).
    #[serde(default)]
    repeat: u32,
    /// Return an error from the step instead of recording it, so the host's retry policy
    /// (transient vs permanent) applies to it.
    #[serde(default)]
    propagate: bool,
    /// For "copy-sealed": `sql` is read with these columns sealed, then `then` runs once per
    /// row (through `then_kind`, "query" or "execute", on `then_label`) with each column as
    /// `@column`, the sealed ones as sealed parameters; `script` also appends `then` to that
    /// script file.
    #[serde(default)]
    sealed_columns: Vec<String>,
    #[serde(default)]
    then: String,
    #[serde(default)]
    then_kind: String,
    #[serde(default)]
    then_label: String,
    #[serde(default)]
    script: Option<String>,
}

/// A storage call: `op` is "write", "read", "list", "stat" or "delete".
#[allow(dead_code)] // only used in the wasm build
#[derive(Deserialize)]
struct FileOp {
    label: String,
    op: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    data: String,
    #[serde(default)]
    offset: u64,
    #[serde(default)]
    length: u32,
    /// For uploads: "none" sends no per-block checksum, "crc64" CRC64; anything else MD5.
    #[serde(default)]
    checksum: String,
}

#[allow(dead_code)] // only used in the wasm build
#[derive(Deserialize)]
struct Config {
    #[serde(default)]
    statements: Vec<Statement>,
    /// Storage calls, made before the statements on the first call.
    #[serde(default)]
    files: Vec<FileOp>,
}

#[allow(dead_code)] // only used in the wasm build
fn file_op(cx: &mut Context<'_, serde_json::Value>, f: &FileOp) -> Value {
    let outcome = cx.container(&f.label).and_then(|c| match f.op.as_str() {
        "write" => cx
            .write(c, &f.name, f.data.as_bytes())
            .map(|()| json!("written")),
        "read" => cx
            .read(c, &f.name, f.offset, f.length)
            .map(|b| json!(String::from_utf8_lossy(&b))),
        "stat" => cx.stat(c, &f.name).map(|o| json!(o.map(|o| o.size))),
        "delete" => cx.delete(c, &f.name).map(|d| json!(d)),
        "sas" => {
            let permissions: Vec<SasPermission> = f
                .data
                .chars()
                .filter_map(|ch| match ch {
                    'r' => Some(SasPermission::Read),
                    'l' => Some(SasPermission::List),
                    'w' => Some(SasPermission::Write),
                    'c' => Some(SasPermission::Create),
                    'a' => Some(SasPermission::Add),
                    'd' => Some(SasPermission::Delete),
                    _ => None,
                })
                .collect();
            cx.create_sas(c, &f.name, &permissions, f.length)
                .map(|_| json!("sealed"))
        }
        _ => cx
            .list(c, &f.name, None, 100)
            .map(|p| json!(p.objects.iter().map(|o| o.name.clone()).collect::<Vec<_>>())),
    });
    match outcome {
        Ok(v) => json!({ "ok": v }),
        Err(e) => json!({ "error": e.describe() }),
    }
}

#[allow(dead_code)] // only used in the wasm build
fn text(v: &SqlValue) -> Value {
    match v {
        SqlValue::Null => Value::Null,
        SqlValue::Bit(b) => json!(b),
        SqlValue::Int(i) => json!(i),
        SqlValue::Float(f) => json!(f),
        SqlValue::Decimal(s) | SqlValue::Text(s) | SqlValue::Datetime(s) | SqlValue::Guid(s) => {
            json!(s)
        }
        SqlValue::Binary(b) => json!(format!(
            "0x{}",
            b.iter().map(|x| format!("{x:02X}")).collect::<String>()
        )),
    }
}

/// One "copy-sealed" statement: a sealed read, then `then` per row with the cells as
/// parameters.
#[allow(dead_code)] // only used in the wasm build
fn copy_sealed(
    cx: &mut Context<'_, serde_json::Value>,
    conn: ferry_sdk::SqlConnection,
    st: &Statement,
    params: &[Param],
) -> Value {
    let limits = QueryLimits {
        max_rows: 100,
        max_bytes: 1 << 20,
    };
    let sealed: Vec<&str> = st.sealed_columns.iter().map(String::as_str).collect();
    let sets = match cx.query_sealed(conn, &st.sql, params, limits, &sealed) {
        Ok(s) => s,
        Err(e) => return json!({ "error": e.describe() }),
    };
    let then_conn = match cx.sql(&st.then_label) {
        Ok(c) => c,
        Err(e) => return json!({ "error": e.describe() }),
    };
    let mut out = Vec::new();
    for set in sets {
        for row in set.rows {
            let mut p = Vec::new();
            let mut shown = Vec::new();
            for (col, cell) in set.columns.iter().zip(row) {
                match cell {
                    ferry_sdk::Cell::Sealed(s) => {
                        shown.push(json!("sealed"));
                        p.push(Param::sealed(&col.name, s));
                    }
                    ferry_sdk::Cell::Value(v) => {
                        shown.push(text(&v));
                        p.push(Param::value(&col.name, v));
                    }
                }
            }
            if let Some(script) = &st.script
                && let Err(e) = cx.script_append(script, &st.then, &p)
            {
                out.push(json!({ "cells": shown, "error": e.describe() }));
                continue;
            }
            let done = if st.then_kind == "query" {
                cx.query(then_conn, &st.then, &p, limits).map(|r| {
                    json!(
                        r.into_first_rows()
                            .iter()
                            .map(|row| row.iter().map(text).collect::<Vec<_>>())
                            .collect::<Vec<_>>()
                    )
                })
            } else {
                cx.execute(
                    then_conn,
                    &st.then,
                    &p,
                    StatementOptions {
                        idempotent: false,
                        timeout_ms: None,
                    },
                )
                .map(|n| json!(n))
            };
            out.push(match done {
                Ok(v) => json!({ "cells": shown, "then": v }),
                Err(e) => json!({ "cells": shown, "error": e.describe() }),
            });
        }
    }
    json!({ "rows": out })
}

/// Where the probe is between calls: the next statement, the results so far, and the host
/// operation it waits on.
#[allow(dead_code)] // only used in the wasm build
#[derive(Default, serde::Serialize, Deserialize)]
struct State {
    next: usize,
    results: Vec<Value>,
    pending: Option<String>,
    /// Storage calls already made (an upload waits, then the rest follow).
    #[serde(default)]
    files_done: usize,
}

#[allow(dead_code)] // only exported in the wasm build
struct SqlProbe;

impl Plugin for SqlProbe {
    const NAME: &'static str = "sql-probe";
    const VERSION: &'static str = "0.0.1";
    const SUMMARY: &'static str = "Runs listed T-SQL through granted labels (tests only)";
    type Config = serde_json::Value;
    type State = State;

    fn needs() -> Vec<CapabilityNeed> {
        vec![need(
            CapabilityKind::Sql,
            "src",
            Access::Write,
            "runs the test statements",
        )]
    }

    fn step(cx: &mut Context<'_, serde_json::Value>, mut state: State) -> Result<Outcome<State>> {
        let config: Config = ferry_sdk::parse_config(&cx.config().to_string())?;
        if let Some(op) = state.pending.take() {
            let status = cx.operation(&op);
            state.results.push(match status {
                Ok(s) => json!({
                    "operation": match &s.state {
                        ferry_sdk::OperationState::Running => "running".to_owned(),
                        ferry_sdk::OperationState::Succeeded => "succeeded".to_owned(),
                        ferry_sdk::OperationState::Failed(f) => format!("failed {}: {}", f.code.unwrap_or(0), f.message),
                        ferry_sdk::OperationState::Cancelled => "cancelled".to_owned(),
                    },
                    "fraction": s.fraction,
                    "result": s.result,
                }),
                Err(e) => json!({ "error": e.describe() }),
            });
        }
        let mut results = std::mem::take(&mut state.results);
        if state.next == 0 {
            for (i, f) in config.files.iter().enumerate().skip(state.files_done) {
                if f.op != "upload" {
                    results.push(file_op(cx, f));
                    continue;
                }
                // `data` names the share, `name` the path, `length` the block size.
                let options = UploadOptions {
                    block_size: (f.length > 0).then_some(f.length),
                    concurrency: None,
                    checksum: match f.checksum.as_str() {
                        "none" => BlockChecksum::None,
                        "crc64" => BlockChecksum::Crc64,
                        _ => BlockChecksum::Md5,
                    },
                };
                let started = cx.container(&f.label).and_then(|c| {
                    cx.upload_from_share(
                        c,
                        &f.data,
                        std::slice::from_ref(&f.name),
                        "copied/",
                        options,
                    )
                });
                match started {
                    Ok(id) => {
                        let state = State {
                            next: 0,
                            results,
                            pending: Some(id.clone()),
                            files_done: i + 1,
                        };
                        return Ok(Outcome::wait_operation(id, state, "waiting for an upload"));
                    }
                    Err(e) => results.push(json!({ "error": e.describe() })),
                }
            }
        }
        for (index, st) in config.statements.iter().enumerate().skip(state.next) {
            // `arm` / `arm-begin`: `sql` is "METHOD path"; `params` may hold `api_version` and
            // a JSON `body`.
            if st.kind == "arm" || st.kind == "arm-begin" || st.kind == "arm-sealed" {
                let (method, path) = st.sql.split_once(' ').unwrap_or((st.sql.as_str(), ""));
                let request = ferry_sdk::ArmRequest {
                    method: method.to_owned(),
                    path: path.to_owned(),
                    api_version: st
                        .params
                        .get("api_version")
                        .and_then(Value::as_str)
                        .unwrap_or("2023-08-01")
                        .to_owned(),
                    body: st.params.get("body").map(Value::to_string),
                };
                if st.kind == "arm-begin" {
                    match cx.azure_begin(&st.label, &request) {
                        Ok(id) => {
                            let state = State {
                                next: index + 1,
                                results,
                                pending: Some(id.clone()),
                                files_done: config.files.len(),
                            };
                            return Ok(Outcome::wait_operation(id, state, "waiting for ARM"));
                        }
                        Err(e) => results.push(json!({ "error": e.describe() })),
                    }
                    continue;
                }
                let reply = if st.kind == "arm-sealed" {
                    // `sealed` maps each body placeholder to a secret label.
                    let mut secrets = Vec::new();
                    for (name, label) in &st.sealed {
                        secrets.push((
                            name.as_str(),
                            cx.secret(label.as_str().unwrap_or_default())?,
                        ));
                    }
                    cx.azure_sealed(&st.label, &request, &secrets)
                } else {
                    cx.azure(&st.label, &request)
                };
                results.push(match reply {
                    Ok(r) => json!({
                        "status": r.status,
                        "body": serde_json::from_str::<Value>(&r.body).unwrap_or(Value::Null),
                    }),
                    Err(e) => json!({ "error": e.describe(), "code": match &e { Error::Failed(f) | Error::Transient(f) => f.code, _ => None } }),
                });
                continue;
            }
            let conn = match cx.sql(&st.label) {
                Ok(c) => c,
                Err(e) => {
                    results.push(json!({ "error": e.describe() }));
                    continue;
                }
            };
            let mut params: Vec<Param> = Vec::new();
            for (name, v) in &st.params {
                let value = match v {
                    Value::Null => SqlValue::Null,
                    Value::Bool(b) => SqlValue::Bit(*b),
                    Value::Number(n) if n.is_i64() => SqlValue::Int(n.as_i64().unwrap_or(0)),
                    Value::Number(n) => SqlValue::Float(n.as_f64().unwrap_or(0.0)),
                    other => SqlValue::Text(other.as_str().unwrap_or_default().to_owned()),
                };
                params.push(Param::value(name, value));
            }
            for (name, label) in &st.sealed {
                let secret = cx.secret(label.as_str().unwrap_or_default())?;
                params.push(Param::sealed(name, secret));
            }
            if st.kind == "copy-sealed" {
                results.push(copy_sealed(cx, conn, st, &params));
                continue;
            }
            if st.kind == "start" {
                let id = cx.start_statement(conn, &st.sql, &params, &st.sql)?;
                let state = State {
                    next: index + 1,
                    results,
                    pending: Some(id.clone()),
                    files_done: config.files.len(),
                };
                return Ok(Outcome::wait_operation(
                    id,
                    state,
                    "waiting for a long statement",
                ));
            }
            let outcome = if st.kind == "query" {
                let limits = QueryLimits {
                    max_rows: st.max_rows.unwrap_or(1000),
                    max_bytes: 1 << 20,
                };
                for _ in 0..st.repeat {
                    cx.query(conn, &st.sql, &params, limits)?;
                }
                cx.query(conn, &st.sql, &params, limits).map(|r| {
                    let sets: Vec<Value> = r
                        .sets
                        .iter()
                        .map(|s| {
                            json!({
                                "columns": s.columns.iter().map(|c| json!([c.name, c.sql_type])).collect::<Vec<_>>(),
                                "rows": s.rows.iter().map(|row| row.iter().map(text).collect::<Vec<_>>()).collect::<Vec<_>>(),
                                "truncated": s.truncated,
                            })
                        })
                        .collect();
                    json!({ "sets": sets })
                })
            } else {
                cx.execute(
                    conn,
                    &st.sql,
                    &params,
                    StatementOptions {
                        idempotent: true,
                        timeout_ms: None,
                    },
                )
                .map(|n| json!({ "affected": n }))
            };
            results.push(match outcome {
                Ok(v) => v,
                Err(e) if st.propagate => return Err(e),
                Err(e) => json!({ "error": e.describe(), "code": match &e { Error::Failed(f) | Error::Transient(f) => f.code, _ => None } }),
            });
        }
        Ok(Outcome::Done(json!({ "results": results })))
    }
}

ferry_sdk::register!(SqlProbe);
