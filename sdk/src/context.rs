//! [`Context`]: what a step call sees of the world.

use std::path::{Path, PathBuf};

use crate::errors::Result;
use crate::handles::{Container, Param, SealedRowSet, Secret, SqlConnection};
use crate::host::Host;
use crate::wit::{
    ArmReference, ArmRequest, ArmResponse, Chart, Level, ListPage, ObjectInfo, ObjectRow,
    OperationStatus, ProgressUpdate, QueryLimits, QueryResult, SasPermission, StatementOptions,
    UploadOptions,
};

/// What a step call knows and can do: its config, its work item, and the capabilities the host
/// granted. Every capability call goes through the host, which checks the grant.
pub struct Context<'h, C> {
    config: C,
    run_id: String,
    step: String,
    item: String,
    attempt: u32,
    scratch: Option<PathBuf>,
    host: &'h mut dyn Host,
}

impl<'h, C> Context<'h, C> {
    pub(crate) fn new(config: C, ctx: crate::wit::StepContext, host: &'h mut dyn Host) -> Self {
        Context {
            config,
            run_id: ctx.run_id,
            step: ctx.step,
            item: ctx.item,
            attempt: ctx.attempt,
            scratch: ctx.scratch.map(PathBuf::from),
            host,
        }
    }

    /// The step's configuration.
    pub fn config(&self) -> &C {
        &self.config
    }
    /// The run id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }
    /// The step's name.
    pub fn step_name(&self) -> &str {
        &self.step
    }
    /// The work item, usually a database name.
    pub fn item(&self) -> &str {
        &self.item
    }
    /// 1 on a first call; more when a call with the same state was interrupted.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
    /// The scratch directory, if the step was granted one. Use `std::fs` inside it.
    pub fn scratch_dir(&self) -> Option<&Path> {
        self.scratch.as_deref()
    }

    /// Writes a log line.
    pub fn log(&mut self, level: Level, message: &str) {
        self.host.log(level, message)
    }
    /// Whether a line at `level` would be kept.
    pub fn log_enabled(&mut self, level: Level) -> bool {
        self.host.log_enabled(level)
    }
    /// Logs at info level.
    pub fn info(&mut self, message: &str) {
        self.log(Level::Info, message)
    }
    /// Logs at warn level.
    pub fn warn(&mut self, message: &str) {
        self.log(Level::Warn, message)
    }
    /// Logs at debug level.
    pub fn debug(&mut self, message: &str) {
        self.log(Level::Debug, message)
    }
    /// Replaces the work item's progress.
    pub fn progress(&mut self, update: ProgressUpdate) {
        self.host.progress(&update)
    }
    /// Sets progress to a phase and fraction with a message.
    pub fn phase(&mut self, phase: &str, fraction: Option<f32>, message: Option<&str>) {
        self.progress(ProgressUpdate {
            phase: phase.to_owned(),
            fraction,
            bytes_done: None,
            bytes_total: None,
            current: None,
            message: message.map(str::to_owned),
        })
    }
    /// Adds a report row.
    pub fn report(&mut self, row: ObjectRow) {
        self.host.report(&row)
    }
    /// Adds a chart to the report (grouped bars in the HTML form, a table in the Markdown one):
    /// each series needs one finite value per label, or the host leaves the chart out.
    pub fn chart(&mut self, chart: Chart) {
        self.host.chart(&chart)
    }

    /// Opens a secret by label (needs a `secrets` grant).
    pub fn secret(&mut self, label: &str) -> Result<Secret> {
        self.host.secret_open(label).map(Secret)
    }
    /// The label of a secret.
    pub fn secret_label(&mut self, secret: Secret) -> String {
        self.host.secret_label(secret.0)
    }
    /// The value of a secret (needs a `label:reveal` grant; audited).
    pub fn reveal(&mut self, secret: Secret) -> Result<String> {
        self.host.secret_reveal(secret.0)
    }

    /// A new random password only the host knows (no grant needed), for protecting a value
    /// in transit between two sealed uses: `CERTPRIVATEKEY`'s encryption password, then the
    /// PFX built from it.
    pub fn generate_secret(&mut self, purpose: &str) -> Secret {
        Secret(self.host.secret_generate(purpose))
    }
    /// A sealed, base64 PKCS#12 (PFX) built by the host from a certificate's DER bytes and its
    /// private key as SQL Server's `CERTPRIVATEKEY` exports it (a sealed cell), protected by
    /// `password`: what Azure's `tdeCertificates` API takes as `privateBlob`.
    pub fn pkcs12(
        &mut self,
        certificate: &[u8],
        private_key: Secret,
        key_password: Secret,
        password: Secret,
    ) -> Result<Secret> {
        self.host
            .secret_pkcs12(certificate, private_key.0, key_password.0, password.0)
            .map(Secret)
    }

    /// Starts the step's reviewable `<name>.sql` file afresh (needs the `scripts` grant).
    pub fn script_start(&mut self, name: &str) -> Result<()> {
        self.host.script_start(name)
    }
    /// Appends a statement to `<name>.sql`, parameters written as literals and sealed ones
    /// with their values (the file is owner-only and says so).
    pub fn script_append(&mut self, name: &str, statement: &str, params: &[Param]) -> Result<()> {
        self.host.script_append(name, statement, params)
    }

    /// Opens a T-SQL connection by label.
    pub fn sql(&mut self, label: &str) -> Result<SqlConnection> {
        self.host.sql_open(label).map(SqlConnection)
    }
    /// Runs a query. Under a `read` grant the text must only read: the host refuses anything
    /// else (a write, an EXEC of a procedure that is not a reporting system procedure, a
    /// statement hidden after a comment) with [`Error::Denied`](crate::Error::Denied) before
    /// sending it.
    pub fn query(
        &mut self,
        conn: SqlConnection,
        statement: &str,
        params: &[Param],
        limits: QueryLimits,
    ) -> Result<QueryResult> {
        self.host.sql_query(conn.0, statement, params, limits)
    }
    /// Runs a query whose `sealed_columns` (by name) come back as [`crate::Cell::Sealed`] secrets: a
    /// password hash or a private key passes from one server to another without the plugin
    /// ever holding it. Grant rules as for [`Context::query`].
    pub fn query_sealed(
        &mut self,
        conn: SqlConnection,
        statement: &str,
        params: &[Param],
        limits: QueryLimits,
        sealed_columns: &[&str],
    ) -> Result<Vec<SealedRowSet>> {
        let cols: Vec<String> = sealed_columns.iter().map(|c| (*c).to_owned()).collect();
        self.host
            .sql_query_sealed(conn.0, statement, params, limits, &cols)
    }
    /// Runs a statement; returns rows affected.
    pub fn execute(
        &mut self,
        conn: SqlConnection,
        statement: &str,
        params: &[Param],
        options: StatementOptions,
    ) -> Result<u64> {
        self.host.sql_execute(conn.0, statement, params, options)
    }
    /// Starts a long statement as a host operation; returns its id.
    pub fn start_statement(
        &mut self,
        conn: SqlConnection,
        statement: &str,
        params: &[Param],
        description: &str,
    ) -> Result<String> {
        self.host.sql_start(conn.0, statement, params, description)
    }

    /// Opens a container or share by label.
    pub fn container(&mut self, label: &str) -> Result<Container> {
        self.host.storage_open(label).map(Container)
    }
    /// Lists one page of objects under a prefix.
    pub fn list(
        &mut self,
        c: Container,
        prefix: &str,
        marker: Option<&str>,
        max: u32,
    ) -> Result<ListPage> {
        self.host.storage_list(c.0, prefix, marker, max)
    }
    /// Every object under a prefix, a page (blob storage's maximum of 5,000) at a time.
    pub fn list_all(&mut self, c: Container, prefix: &str) -> Result<Vec<ObjectInfo>> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self.list(c, prefix, marker.as_deref(), 5000)?;
            out.extend(page.objects);
            match page.next_marker {
                Some(m) => marker = Some(m),
                None => return Ok(out),
            }
        }
    }
    /// The URL SQL Server and MI use for `name` in a blob container (the container's URL for
    /// an empty name), without any SAS.
    pub fn url(&mut self, c: Container, name: &str) -> Result<String> {
        self.host.storage_url(c.0, name)
    }
    /// Whether an operator sent this work item the signal `name` (`"cutover"`, from
    /// `ferry cutover`).
    pub fn signal_requested(&mut self, name: &str) -> bool {
        self.host.signal_requested(name)
    }
    /// True while `ferry plan` runs this step: reads are real, changes are recorded in the
    /// plan instead of made (see the `planning` WIT interface).
    pub fn planning(&mut self) -> bool {
        self.host.planning()
    }
    /// Describes an object.
    pub fn stat(&mut self, c: Container, name: &str) -> Result<Option<ObjectInfo>> {
        self.host.storage_stat(c.0, name)
    }
    /// Reads a byte range.
    pub fn read(&mut self, c: Container, name: &str, offset: u64, length: u32) -> Result<Vec<u8>> {
        self.host.storage_read(c.0, name, offset, length)
    }
    /// Writes a small object.
    pub fn write(&mut self, c: Container, name: &str, data: &[u8]) -> Result<()> {
        self.host.storage_write(c.0, name, data)
    }
    /// Deletes an object.
    pub fn delete(&mut self, c: Container, name: &str) -> Result<bool> {
        self.host.storage_delete(c.0, name)
    }
    /// Makes a sealed SAS for a prefix.
    pub fn create_sas(
        &mut self,
        c: Container,
        prefix: &str,
        permissions: &[SasPermission],
        expiry_minutes: u32,
    ) -> Result<Secret> {
        self.host
            .storage_create_sas(c.0, prefix, permissions, expiry_minutes)
            .map(Secret)
    }
    /// Starts an upload from a share to this container; returns the operation id.
    pub fn upload_from_share(
        &mut self,
        c: Container,
        share_label: &str,
        paths: &[String],
        dest_prefix: &str,
        options: UploadOptions,
    ) -> Result<String> {
        self.host
            .storage_upload_from_share(c.0, share_label, paths, dest_prefix, options)
    }

    /// Sends an ARM request.
    pub fn azure(&mut self, label: &str, request: &ArmRequest) -> Result<ArmResponse> {
        self.host.azure_request(label, request)
    }
    /// Sends an ARM request whose JSON body holds `"{{name}}"` where each sealed secret goes;
    /// the host writes the values in, so the plugin never sees them.
    pub fn azure_sealed(
        &mut self,
        label: &str,
        request: &ArmRequest,
        secrets: &[(&str, Secret)],
    ) -> Result<ArmResponse> {
        let handles: Vec<(String, u32)> = secrets
            .iter()
            .map(|(name, s)| ((*name).to_owned(), s.0))
            .collect();
        self.host.azure_request_sealed(label, request, &handles)
    }
    /// Starts an ARM long-running operation; returns the operation id.
    pub fn azure_begin(&mut self, label: &str, request: &ArmRequest) -> Result<String> {
        self.host.azure_begin(label, request)
    }
    /// Starts an ARM long-running operation whose body holds sealed secrets (see
    /// [`Context::azure_sealed`]); returns the operation id.
    pub fn azure_begin_sealed(
        &mut self,
        label: &str,
        request: &ArmRequest,
        secrets: &[(&str, Secret)],
    ) -> Result<String> {
        let handles: Vec<(String, u32)> = secrets
            .iter()
            .map(|(name, s)| ((*name).to_owned(), s.0))
            .collect();
        self.host.azure_begin_sealed(label, request, &handles)
    }

    /// Starts an ARM long-running operation whose body holds sealed secrets and values the
    /// host reads from ARM as it sends it (`"{{name}}"` for each): the id of a resource this
    /// run creates, a migration's current operation id. Plans show where each value comes
    /// from, so a plan made before the resource existed matches the apply. Returns the
    /// operation id.
    pub fn azure_begin_with_references(
        &mut self,
        label: &str,
        request: &ArmRequest,
        secrets: &[(&str, Secret)],
        references: &[ArmReference],
    ) -> Result<String> {
        let handles: Vec<(String, u32)> = secrets
            .iter()
            .map(|(name, s)| ((*name).to_owned(), s.0))
            .collect();
        self.host
            .azure_begin_with_references(label, request, &handles, references)
    }

    /// The status of a host operation.
    pub fn operation(&mut self, id: &str) -> Result<OperationStatus> {
        self.host.operation_status(id)
    }
    /// Cancels a host operation.
    pub fn cancel_operation(&mut self, id: &str) -> Result<()> {
        self.host.operation_cancel(id)
    }
}
