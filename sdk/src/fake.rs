//! [`FakeHost`]: runs plugin logic natively, in a plain `cargo test`, with scripted answers.
//!
//! ```ignore
//! let mut host = FakeHost::new().secret("token", "s3cret", false);
//! let out = host.run_item::<MyPlugin>(serde_json::json!({"greeting": "hi"}), "Sales").unwrap();
//! assert_eq!(host.rows.len(), 1);
//! ```

use std::collections::BTreeMap;

use crate::bindings::ferry::plugin::types::{Outcome as WitOutcome, WaitFor as WitWaitFor};
use crate::errors::{Error, Result};
use crate::handles::{Cell, Param, ParamValue, SealedRowSet, Secret};
use crate::host::Host;
use crate::plugin::Plugin;
use crate::wit::{
    ArmReference, ArmRequest, ArmResponse, CapabilityKind, Chart, Level, ListPage, ObjectInfo,
    ObjectRow, OperationStatus, ProgressUpdate, QueryLimits, QueryResult, SasPermission, SqlValue,
    StatementOptions, StepContext, UploadOptions,
};

type QueryHandler = Box<dyn FnMut(&str, &str, &[Param]) -> Result<QueryResult>>;
type ArmHandler = Box<dyn FnMut(&str, &ArmRequest) -> Result<ArmResponse>>;

/// A host for native tests: records everything a plugin emits and answers capability calls
/// from what the test configured. Unconfigured capabilities answer `unsupported`.
#[derive(Default)]
pub struct FakeHost {
    /// Log lines, in order.
    pub logs: Vec<(Level, String)>,
    /// Progress updates, in order.
    pub progress: Vec<ProgressUpdate>,
    /// Report rows, in order.
    pub rows: Vec<ObjectRow>,
    /// Report charts, in order.
    pub charts: Vec<Chart>,
    /// Waits the plugin asked for, as (reason, what) — the fake does not really wait.
    pub waits: Vec<(String, String)>,
    /// Labels whose secrets were revealed.
    pub reveals: Vec<String>,
    /// Statements run through `execute`, as (label, statement).
    pub executed: Vec<(String, String)>,
    /// The scratch directory to offer, if any.
    pub scratch: Option<String>,
    /// What `planning()` answers (false: an apply).
    pub planning: bool,
    /// Signals an operator sent (`"cutover"`).
    pub signals: Vec<String>,
    /// ARM requests sent (plain, sealed or begun), as (label, request); a sealed body shows
    /// each secret's `"{{name}}"` placeholder, never a value.
    pub arm: Vec<(String, ArmRequest)>,
    /// The references `azure_begin_with_references` resolved, as (name, value), in order.
    pub arm_references: Vec<(String, String)>,
    /// Statements appended to script files, as (file name, statement); a `start` clears its
    /// file's lines. Sealed parameters are shown as `@name = <label>`, never a value.
    pub scripts: Vec<(String, String)>,
    secrets: BTreeMap<String, (String, bool)>,
    open_secrets: Vec<String>,
    sql_labels: Vec<String>,
    on_query: Option<QueryHandler>,
    containers: BTreeMap<String, String>,
    open_containers: Vec<String>,
    /// Objects in the granted containers, by (label, name): what `stat`, `read` and `write`
    /// see. A test seeds them (`object`) and reads back what a plugin wrote.
    pub objects: BTreeMap<(String, String), Vec<u8>>,
    /// Per-label query handlers (`on_sql`), tried before `on_query`.
    sql_fixtures: BTreeMap<String, QueryHandler>,
    /// The attempt number of `run_item`'s first call (`attempt`); 1 unless a test sets it.
    first_attempt: Option<u32>,
    /// The fake wall clock in ms since the epoch (`clock`), which `now_ms` reads while
    /// `run_item` runs; None: the real clock.
    pub clock_ms: Option<u64>,
    on_azure: Option<ArmHandler>,
    /// Operations begun through `azure_begin`: the handler's answer, by id.
    arm_operations: BTreeMap<String, std::result::Result<(), crate::wit::Failure>>,
}

/// A query's answer with one result set: `columns` by name (typed `nvarchar`: plugins read
/// cells by position and whatever their type) and `rows`.
pub fn result_set(columns: &[&str], rows: Vec<Vec<SqlValue>>) -> QueryResult {
    QueryResult {
        sets: vec![crate::wit::RowSet {
            columns: columns
                .iter()
                .map(|c| crate::wit::Column {
                    name: (*c).to_owned(),
                    sql_type: "nvarchar".into(),
                })
                .collect(),
            rows,
            truncated: false,
        }],
        messages: vec![],
    }
}

impl FakeHost {
    /// An empty fake host.
    pub fn new() -> Self {
        Self::default()
    }

    /// Grants a secret; `reveal` says whether the plugin may see its value.
    pub fn secret(mut self, label: &str, value: &str, reveal: bool) -> Self {
        self.secrets
            .insert(label.to_owned(), (value.to_owned(), reveal));
        self
    }

    /// Grants a storage label whose container has this URL. `url`, `stat`, `read`, `write` and
    /// `delete` answer (from [`FakeHost::objects`]); listing, SAS and uploads stay unsupported.
    pub fn container(mut self, label: &str, url: &str) -> Self {
        self.containers.insert(label.to_owned(), url.to_owned());
        self
    }

    /// Puts an object into granted container `label` (granting it, with a placeholder URL,
    /// if `container` was not called).
    pub fn object(mut self, label: &str, name: &str, data: &[u8]) -> Self {
        self.containers
            .entry(label.to_owned())
            .or_insert_with(|| format!("https://fake.blob.core.windows.net/{label}"));
        self.objects
            .insert((label.to_owned(), name.to_owned()), data.to_vec());
        self
    }

    fn object_key(&self, c: u32, name: &str) -> Result<(String, String)> {
        match self.open_containers.get(c as usize) {
            Some(label) => Ok((label.clone(), name.to_owned())),
            None => Self::unsupported("storage"),
        }
    }

    /// Offers a scratch directory (a real directory on the test machine).
    pub fn scratch(mut self, dir: &std::path::Path) -> Self {
        self.scratch = Some(dir.display().to_string());
        self
    }

    /// Answers every query with `handler(label, statement, params)`; connections open for any label.
    pub fn on_query(
        mut self,
        handler: impl FnMut(&str, &str, &[Param]) -> Result<QueryResult> + 'static,
    ) -> Self {
        self.on_query = Some(Box::new(handler));
        self
    }

    /// Answers queries on connections to `label` with `handler(statement, params)`: one
    /// fixture per server, so a test of a plugin that reads a source and a target says what
    /// each answers. A label with neither a fixture nor `on_query` is refused as the real
    /// host refuses an ungranted label (`Denied`).
    pub fn on_sql(
        mut self,
        label: &str,
        handler: impl FnMut(&str, &[Param]) -> Result<QueryResult> + 'static,
    ) -> Self {
        let mut handler = handler;
        self.sql_fixtures.insert(
            label.to_owned(),
            Box::new(move |_label: &str, statement: &str, params: &[Param]| {
                handler(statement, params)
            }),
        );
        self
    }

    /// Makes `run_item`'s first call attempt `n` (later calls are first attempts of their
    /// state): how a test checks a step is idempotent when a crash made the host call it
    /// again with the same state.
    pub fn attempt(mut self, n: u32) -> Self {
        self.first_attempt = Some(n.max(1));
        self
    }

    /// Runs the plugin on a fake wall clock that starts at `start_ms` (ms since the epoch):
    /// `ferry_sdk::now_ms()` reads it during `run_item`, and each wait the plugin asks for
    /// moves it on as the host's wait would (a duration by that much, a deadline to it). A
    /// test can also move it itself between items (`advance`). How a test sees a deadline
    /// (`give_up_hours`) pass without waiting for it.
    pub fn clock(mut self, start_ms: u64) -> Self {
        self.clock_ms = Some(start_ms);
        self
    }

    /// Moves the fake clock on by `ms` (it starts at 0 if `clock` was not called).
    pub fn advance(&mut self, ms: u64) {
        self.clock_ms = Some(self.clock_ms.unwrap_or(0).saturating_add(ms));
    }

    /// Answers every ARM request with `handler(label, request)`. A long-running operation
    /// (`azure_begin`) is sent to the same handler at once: its answer is how the operation
    /// ends (an error becomes a Failed operation), which `operation_status` then reports.
    pub fn on_azure(
        mut self,
        handler: impl FnMut(&str, &ArmRequest) -> Result<ArmResponse> + 'static,
    ) -> Self {
        self.on_azure = Some(Box::new(handler));
        self
    }

    fn arm_send(&mut self, label: &str, request: &ArmRequest) -> Result<ArmResponse> {
        self.arm.push((label.to_owned(), request.clone()));
        match self.on_azure.as_mut() {
            Some(h) => h(label, request),
            None => Self::unsupported("Azure"),
        }
    }

    fn arm_begin(&mut self, label: &str, request: &ArmRequest) -> Result<String> {
        if self.on_azure.is_none() {
            return Self::unsupported("Azure");
        }
        let answer = match self.arm_send(label, request) {
            Ok(_) => Ok(()),
            Err(Error::Failed(f) | Error::Transient(f)) => Err(f),
            Err(e) => return Err(e),
        };
        let id = format!("arm-{}", self.arm_operations.len() + 1);
        self.arm_operations.insert(id.clone(), answer);
        Ok(id)
    }

    /// A step context for `item` with the given config.
    pub fn context(&self, config: &serde_json::Value, item: &str, attempt: u32) -> StepContext {
        StepContext {
            run_id: "fake-run".into(),
            step: "fake-step".into(),
            item: item.into(),
            attempt,
            config: config.to_string(),
            scratch: self.scratch.clone(),
        }
    }

    /// Runs plugin `P` on one work item until it is done, following `next` and skipping
    /// waits (recorded in [`FakeHost::waits`]). Returns the output JSON. Gives up after 1,000 calls.
    pub fn run_item<P: Plugin>(
        &mut self,
        config: serde_json::Value,
        item: &str,
    ) -> Result<serde_json::Value> {
        let mut state: Option<String> = None;
        for call in 0..1000 {
            let attempt = if call == 0 {
                self.first_attempt.unwrap_or(1)
            } else {
                1
            };
            let ctx = self.context(&config, item, attempt);
            let outcome = {
                let _clock = crate::phases::FakeClock::set(self.clock_ms);
                crate::runner::run_step::<P>(self, ctx, state.as_deref())?
            };
            match outcome {
                WitOutcome::Next(s) => state = Some(s),
                WitOutcome::Wait(w) => {
                    let what = match w.until {
                        WitWaitFor::DurationMs(ms) => {
                            self.clock_ms = self.clock_ms.map(|c| c.saturating_add(ms));
                            format!("{ms} ms")
                        }
                        WitWaitFor::UntilUnixMs(t) => {
                            self.clock_ms = self.clock_ms.map(|c| c.max(t));
                            format!("until {t}")
                        }
                        WitWaitFor::Operation(id) => format!("operation {id}"),
                    };
                    self.waits.push((w.reason, what));
                    state = Some(w.state);
                }
                WitOutcome::Done(out) => {
                    return serde_json::from_str(&out)
                        .map_err(|e| Error::failed(format!("output is not JSON: {e}")));
                }
            }
        }
        Err(Error::failed(
            "the plugin did not finish within 1,000 step calls",
        ))
    }

    fn unsupported<T>(what: &str) -> Result<T> {
        Err(Error::unsupported(format!(
            "FakeHost has no {what} configured"
        )))
    }
}

impl Host for FakeHost {
    fn log(&mut self, level: Level, message: &str) {
        self.logs.push((level, message.to_owned()))
    }
    fn log_enabled(&mut self, _level: Level) -> bool {
        true
    }
    fn progress(&mut self, update: &ProgressUpdate) {
        self.progress.push(update.clone())
    }
    fn report(&mut self, row: &ObjectRow) {
        self.rows.push(row.clone())
    }
    fn chart(&mut self, chart: &Chart) {
        self.charts.push(chart.clone())
    }

    fn secret_open(&mut self, label: &str) -> Result<u32> {
        if !self.secrets.contains_key(label) {
            return Err(Error::denied(
                CapabilityKind::Secret,
                label,
                "not granted in this FakeHost",
            ));
        }
        self.open_secrets.push(label.to_owned());
        Ok((self.open_secrets.len() - 1) as u32)
    }
    fn secret_label(&mut self, secret: u32) -> String {
        self.open_secrets
            .get(secret as usize)
            .cloned()
            .unwrap_or_default()
    }
    fn secret_generate(&mut self, purpose: &str) -> u32 {
        let label = format!("generated:{purpose}");
        self.secrets
            .insert(label.clone(), ("generated-password".into(), false));
        self.open_secrets.push(label);
        (self.open_secrets.len() - 1) as u32
    }
    fn secret_pkcs12(
        &mut self,
        certificate: &[u8],
        private_key: u32,
        _key_password: u32,
        _password: u32,
    ) -> Result<u32> {
        if certificate.is_empty() {
            return Err(Error::failed("building the PFX: the certificate is empty"));
        }
        let label = format!("pkcs12:{}", self.secret_label(private_key));
        self.secrets.insert(label.clone(), ("pfx".into(), false));
        self.open_secrets.push(label);
        Ok((self.open_secrets.len() - 1) as u32)
    }
    fn secret_reveal(&mut self, secret: u32) -> Result<String> {
        let label = self.secret_label(secret);
        match self.secrets.get(&label) {
            Some((value, true)) => {
                self.reveals.push(label);
                Ok(value.clone())
            }
            _ => Err(Error::denied(
                CapabilityKind::Secret,
                label,
                "reveal not granted",
            )),
        }
    }

    fn sql_open(&mut self, label: &str) -> Result<u32> {
        if !self.sql_fixtures.contains_key(label) {
            if self.on_query.is_none() && !self.sql_fixtures.is_empty() {
                return Err(Error::denied(
                    CapabilityKind::Sql,
                    label,
                    "not granted in this FakeHost (no on_sql fixture for it)",
                ));
            }
            if self.on_query.is_none() {
                return Self::unsupported("SQL handler");
            }
        }
        self.sql_labels.push(label.to_owned());
        Ok((self.sql_labels.len() - 1) as u32)
    }
    fn sql_query(
        &mut self,
        conn: u32,
        statement: &str,
        params: &[Param],
        _limits: QueryLimits,
    ) -> Result<QueryResult> {
        let label = self
            .sql_labels
            .get(conn as usize)
            .cloned()
            .unwrap_or_default();
        if let Some(h) = self.sql_fixtures.get_mut(&label) {
            return h(&label, statement, params);
        }
        match self.on_query.as_mut() {
            Some(h) => h(&label, statement, params),
            None => Self::unsupported("SQL handler"),
        }
    }
    fn sql_query_sealed(
        &mut self,
        conn: u32,
        statement: &str,
        params: &[Param],
        limits: QueryLimits,
        sealed_columns: &[String],
    ) -> Result<Vec<SealedRowSet>> {
        // The handler answers as for `query`; the sealed columns' cells become secrets the
        // plugin cannot reveal, labelled `sealed:<column>:<row>`.
        let result = self.sql_query(conn, statement, params, limits)?;
        let mut sets = Vec::new();
        for set in result.sets {
            let mut rows = Vec::new();
            for (r, row) in set.rows.into_iter().enumerate() {
                let mut cells = Vec::new();
                for (k, v) in row.into_iter().enumerate() {
                    let name = set
                        .columns
                        .get(k)
                        .map(|c| c.name.clone())
                        .unwrap_or_default();
                    let sealed = sealed_columns.iter().any(|c| c.eq_ignore_ascii_case(&name));
                    cells.push(match v {
                        SqlValue::Null => Cell::Value(SqlValue::Null),
                        v if sealed => {
                            let label = format!("sealed:{name}:{r}");
                            self.secrets
                                .insert(label.clone(), (format!("{v:?}"), false));
                            self.open_secrets.push(label);
                            Cell::Sealed(Secret((self.open_secrets.len() - 1) as u32))
                        }
                        v => Cell::Value(v),
                    });
                }
                rows.push(cells);
            }
            sets.push(SealedRowSet {
                columns: set.columns,
                rows,
                truncated: set.truncated,
            });
        }
        Ok(sets)
    }
    fn sql_execute(
        &mut self,
        conn: u32,
        statement: &str,
        params: &[Param],
        _options: StatementOptions,
    ) -> Result<u64> {
        let label = self
            .sql_labels
            .get(conn as usize)
            .cloned()
            .unwrap_or_default();
        self.executed.push((label.clone(), statement.to_owned()));
        if let Some(h) = self.sql_fixtures.get_mut(&label) {
            return h(&label, statement, params)
                .map(|r| r.sets.first().map_or(0, |s| s.rows.len() as u64));
        }
        match self.on_query.as_mut() {
            Some(h) => h(&label, statement, params)
                .map(|r| r.sets.first().map_or(0, |s| s.rows.len() as u64)),
            None => Self::unsupported("SQL handler"),
        }
    }
    /// Runs the statement at once, as `execute` does (it is recorded in `executed`); how it
    /// ended is the operation's state, which `operation_status` then reports.
    fn sql_start(
        &mut self,
        conn: u32,
        statement: &str,
        params: &[Param],
        _description: &str,
    ) -> Result<String> {
        let options = StatementOptions {
            idempotent: false,
            timeout_ms: None,
        };
        let answer = match self.sql_execute(conn, statement, params, options) {
            Ok(_) => Ok(()),
            Err(Error::Failed(f) | Error::Transient(f)) => Err(f),
            Err(e) => return Err(e),
        };
        let id = format!("sql-{}", self.arm_operations.len() + 1);
        self.arm_operations.insert(id.clone(), answer);
        Ok(id)
    }

    fn storage_open(&mut self, label: &str) -> Result<u32> {
        if !self.containers.contains_key(label) {
            // As the real host answers a label the step was not granted.
            return Err(Error::denied(
                CapabilityKind::Storage,
                label,
                "not granted in this FakeHost (no container for it)",
            ));
        }
        self.open_containers.push(label.to_owned());
        Ok((self.open_containers.len() - 1) as u32)
    }
    fn storage_list(
        &mut self,
        _c: u32,
        _prefix: &str,
        _marker: Option<&str>,
        _max: u32,
    ) -> Result<ListPage> {
        Self::unsupported("storage")
    }
    fn storage_stat(&mut self, c: u32, name: &str) -> Result<Option<ObjectInfo>> {
        let key = self.object_key(c, name)?;
        Ok(self.objects.get(&key).map(|data| ObjectInfo {
            name: name.to_owned(),
            size: data.len() as u64,
            last_modified: None,
            content_md5: None,
        }))
    }
    fn storage_read(&mut self, c: u32, name: &str, offset: u64, length: u32) -> Result<Vec<u8>> {
        let key = self.object_key(c, name)?;
        let Some(data) = self.objects.get(&key) else {
            return Err(Error::failed(format!(
                "`{name}` does not exist in `{}`",
                key.0
            )));
        };
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(data.len());
        let end = start.saturating_add(length as usize).min(data.len());
        Ok(data[start..end].to_vec())
    }
    fn storage_write(&mut self, c: u32, name: &str, data: &[u8]) -> Result<()> {
        let key = self.object_key(c, name)?;
        self.objects.insert(key, data.to_vec());
        Ok(())
    }
    fn storage_delete(&mut self, c: u32, name: &str) -> Result<bool> {
        let key = self.object_key(c, name)?;
        Ok(self.objects.remove(&key).is_some())
    }
    fn storage_url(&mut self, c: u32, name: &str) -> Result<String> {
        let Some(url) = self
            .open_containers
            .get(c as usize)
            .and_then(|l| self.containers.get(l))
        else {
            return Self::unsupported("storage");
        };
        Ok(if name.is_empty() {
            url.clone()
        } else {
            crate::blob_names::url_in(url, name)
        })
    }
    fn storage_create_sas(
        &mut self,
        _c: u32,
        _prefix: &str,
        _p: &[SasPermission],
        _e: u32,
    ) -> Result<u32> {
        Self::unsupported("storage")
    }
    fn storage_upload_from_share(
        &mut self,
        _c: u32,
        _s: &str,
        _p: &[String],
        _d: &str,
        _o: UploadOptions,
    ) -> Result<String> {
        Self::unsupported("storage")
    }

    fn azure_request(&mut self, label: &str, request: &ArmRequest) -> Result<ArmResponse> {
        self.arm_send(label, request)
    }
    fn azure_begin(&mut self, label: &str, request: &ArmRequest) -> Result<String> {
        self.arm_begin(label, request)
    }
    fn azure_request_sealed(
        &mut self,
        label: &str,
        request: &ArmRequest,
        _secrets: &[(String, u32)],
    ) -> Result<ArmResponse> {
        self.arm_send(label, request)
    }
    fn azure_begin_sealed(
        &mut self,
        label: &str,
        request: &ArmRequest,
        _secrets: &[(String, u32)],
    ) -> Result<String> {
        self.arm_begin(label, request)
    }

    fn azure_begin_with_references(
        &mut self,
        label: &str,
        request: &ArmRequest,
        _secrets: &[(String, u32)],
        references: &[ArmReference],
    ) -> Result<String> {
        if self.on_azure.is_none() {
            return Self::unsupported("Azure");
        }
        // Resolved as the host does, through the same handler (so a test sees the GET), kept
        // for assertions and written into the body (they are not secrets).
        let mut request = request.clone();
        // While planning the host reads nothing: the call is only recorded.
        let planning = self.planning;
        for r in references.iter().filter(|_| !planning) {
            let get = ArmRequest {
                method: "GET".into(),
                path: r.path.clone(),
                api_version: r.api_version.clone(),
                body: None,
            };
            let reply = self.arm_send(&r.label, &get)?;
            let value = serde_json::from_str::<serde_json::Value>(&reply.body)
                .ok()
                .and_then(|v| {
                    v.pointer(&r.pointer)
                        .and_then(|x| x.as_str())
                        .map(str::to_owned)
                })
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    Error::failed(format!(
                        "`{{{{{}}}}}` comes from GET {} on `{}`, which has no string at {}; \
                         nothing was sent",
                        r.name, r.path, r.label, r.pointer
                    ))
                })?;
            if let Some(body) = &mut request.body {
                let json = serde_json::Value::String(value.clone()).to_string();
                *body = body.replace(&format!("\"{{{{{}}}}}\"", r.name), &json);
            }
            self.arm_references.push((r.name.clone(), value));
        }
        self.arm_begin(label, &request)
    }

    fn operation_status(&mut self, id: &str) -> Result<OperationStatus> {
        let Some(answer) = self.arm_operations.get(id) else {
            // As the host answers an id it does not know (host/src/operations.rs `unknown`):
            // a plugin must handle it, since a restarted ferry forgets its operations.
            return Err(Error::failed(format!(
                "no host operation `{}` is known for this work item (was ferry restarted since \
                 it began?)",
                id.escape_default()
            )));
        };
        Ok(OperationStatus {
            id: id.to_owned(),
            description: "ARM operation".into(),
            state: match answer {
                Ok(()) => crate::wit::OperationState::Succeeded,
                Err(f) => crate::wit::OperationState::Failed(f.clone()),
            },
            fraction: None,
            bytes_done: None,
            message: None,
            result: None,
        })
    }
    fn operation_cancel(&mut self, _id: &str) -> Result<()> {
        Self::unsupported("operation backend")
    }
    fn script_start(&mut self, name: &str) -> Result<()> {
        self.scripts.retain(|(n, _)| n != name);
        Ok(())
    }
    fn script_append(&mut self, name: &str, statement: &str, params: &[Param]) -> Result<()> {
        let shown: Vec<String> = params
            .iter()
            .map(|p| match &p.value {
                ParamValue::Sealed(s) => format!("@{} = <{}>", p.name, self.secret_label(s.0)),
                ParamValue::Value(v) => format!("@{} = {v:?}", p.name),
            })
            .collect();
        let line = if shown.is_empty() {
            statement.to_owned()
        } else {
            format!("{statement} [{}]", shown.join(", "))
        };
        self.scripts.push((name.to_owned(), line));
        Ok(())
    }

    fn planning(&mut self) -> bool {
        self.planning
    }
    fn signal_requested(&mut self, name: &str) -> bool {
        self.signals.iter().any(|s| s == name)
    }
}
