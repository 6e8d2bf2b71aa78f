//! The real host, reached through the WIT imports, and the adapter that exports a [`Plugin`] as
//! the WIT `plugin` interface. Only meaningful inside a wasm32-wasip2 component; natively the
//! imports are stubs and tests use [`crate::fake::FakeHost`] instead.

use std::marker::PhantomData;

use crate::bindings::exports::ferry::plugin::plugin::Guest;
use crate::bindings::ferry::plugin::{
    azure, log, operations, planning, progress, report, scripts, secrets, signals, storage, tsql,
    types,
};
use crate::errors::{Error, Result};
use crate::handles::{Cell, Param, ParamValue, SealedRowSet, Secret};
use crate::host::Host;
use crate::plugin::Plugin;
use crate::wit::{
    ArmReference, ArmRequest, ArmResponse, Chart, Level, ListPage, ObjectInfo, ObjectRow,
    OperationStatus, ProgressUpdate, QueryLimits, QueryResult, SasPermission, StatementOptions,
    UploadOptions,
};

/// Exports plugin `P` through the generated `Guest` trait. Used by [`crate::register!`].
pub struct Adapter<P>(PhantomData<P>);

impl<P: Plugin> Guest for Adapter<P> {
    fn describe() -> types::PluginInfo {
        P::info()
    }

    fn validate(config: String) -> Result<Vec<types::Warning>> {
        let config: P::Config = crate::runner::parse_config(&config)?;
        P::validate(&config)
    }

    fn step(context: types::StepContext, state: Option<String>) -> Result<types::Outcome> {
        crate::runner::run_step::<P>(&mut WasmHost::default(), context, state.as_deref())
    }

    fn cleanup(context: types::StepContext, state: Option<String>) {
        crate::runner::run_cleanup::<P>(&mut WasmHost::default(), context, state.as_deref())
    }
}

/// Resource handles live here for the length of one step call; the SDK hands out their indexes.
#[derive(Default)]
struct WasmHost {
    secrets: Vec<secrets::Secret>,
    connections: Vec<tsql::Connection>,
    containers: Vec<storage::Container>,
}

fn push<T>(table: &mut Vec<T>, value: T) -> u32 {
    table.push(value);
    (table.len() - 1) as u32
}

fn missing(what: &str) -> Error {
    Error::failed(format!(
        "unknown {what} handle (was it opened in an earlier step call?)"
    ))
}

impl WasmHost {
    fn secret(&self, id: u32) -> Result<&secrets::Secret> {
        self.secrets
            .get(id as usize)
            .ok_or_else(|| missing("secret"))
    }
    fn connection(&self, id: u32) -> Result<&tsql::Connection> {
        self.connections
            .get(id as usize)
            .ok_or_else(|| missing("connection"))
    }
    fn container(&self, id: u32) -> Result<&storage::Container> {
        self.containers
            .get(id as usize)
            .ok_or_else(|| missing("container"))
    }
    /// The secrets an ARM body names, as the WIT records that borrow them.
    fn arm_secrets(&self, secrets: &[(String, u32)]) -> Result<Vec<azure::ArmSecret<'_>>> {
        secrets
            .iter()
            .map(|(name, id)| {
                Ok(azure::ArmSecret {
                    name: name.clone(),
                    secret: self.secret(*id)?,
                })
            })
            .collect()
    }

    fn params<'a>(&'a self, params: &[Param]) -> Result<Vec<tsql::Param<'a>>> {
        params
            .iter()
            .map(|p| {
                Ok(tsql::Param {
                    name: p.name.clone(),
                    value: match &p.value {
                        ParamValue::Value(v) => tsql::ParamValue::Value(v.clone()),
                        ParamValue::Sealed(s) => tsql::ParamValue::Sealed(self.secret(s.0)?),
                    },
                })
            })
            .collect()
    }
}

impl Host for WasmHost {
    fn log(&mut self, level: Level, message: &str) {
        log::emit(level, message)
    }
    fn log_enabled(&mut self, level: Level) -> bool {
        log::enabled(level)
    }
    fn progress(&mut self, update: &ProgressUpdate) {
        progress::update(update)
    }
    fn chart(&mut self, chart: &Chart) {
        report::add_chart(chart)
    }
    fn report(&mut self, row: &ObjectRow) {
        report::add_row(row)
    }

    fn secret_open(&mut self, label: &str) -> Result<u32> {
        let s = secrets::Secret::open(label)?;
        Ok(push(&mut self.secrets, s))
    }
    fn secret_label(&mut self, secret: u32) -> String {
        self.secret(secret).map(|s| s.label()).unwrap_or_default()
    }
    fn secret_reveal(&mut self, secret: u32) -> Result<String> {
        self.secret(secret)?.reveal()
    }
    fn secret_generate(&mut self, purpose: &str) -> u32 {
        let s = secrets::Secret::generate(purpose);
        push(&mut self.secrets, s)
    }
    fn secret_pkcs12(
        &mut self,
        certificate: &[u8],
        private_key: u32,
        key_password: u32,
        password: u32,
    ) -> Result<u32> {
        let s = secrets::Secret::pkcs12(
            certificate,
            self.secret(private_key)?,
            self.secret(key_password)?,
            self.secret(password)?,
        )?;
        Ok(push(&mut self.secrets, s))
    }

    fn sql_open(&mut self, label: &str) -> Result<u32> {
        let c = tsql::Connection::open(label)?;
        Ok(push(&mut self.connections, c))
    }
    fn sql_query(
        &mut self,
        conn: u32,
        statement: &str,
        params: &[Param],
        limits: QueryLimits,
    ) -> Result<QueryResult> {
        let params = self.params(params)?;
        self.connection(conn)?.query(statement, &params, limits)
    }
    fn sql_query_sealed(
        &mut self,
        conn: u32,
        statement: &str,
        params: &[Param],
        limits: QueryLimits,
        sealed_columns: &[String],
    ) -> Result<Vec<SealedRowSet>> {
        let result = {
            let params = self.params(params)?;
            self.connection(conn)?
                .query_sealed(statement, &params, limits, sealed_columns)?
        };
        let mut sets = Vec::with_capacity(result.sets.len());
        for set in result.sets {
            let rows = set
                .rows
                .into_iter()
                .map(|row| {
                    row.into_iter()
                        .map(|cell| match cell {
                            tsql::Cell::Value(v) => Cell::Value(v),
                            tsql::Cell::Sealed(s) => {
                                Cell::Sealed(Secret(push(&mut self.secrets, s)))
                            }
                        })
                        .collect()
                })
                .collect();
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
        options: StatementOptions,
    ) -> Result<u64> {
        let params = self.params(params)?;
        self.connection(conn)?.execute(statement, &params, options)
    }
    fn sql_start(
        &mut self,
        conn: u32,
        statement: &str,
        params: &[Param],
        description: &str,
    ) -> Result<String> {
        let params = self.params(params)?;
        self.connection(conn)?
            .start(statement, &params, description)
    }

    fn storage_open(&mut self, label: &str) -> Result<u32> {
        let c = storage::Container::open(label)?;
        Ok(push(&mut self.containers, c))
    }
    fn storage_list(
        &mut self,
        container: u32,
        prefix: &str,
        marker: Option<&str>,
        max: u32,
    ) -> Result<ListPage> {
        self.container(container)?.list(prefix, marker, max)
    }
    fn storage_stat(&mut self, container: u32, name: &str) -> Result<Option<ObjectInfo>> {
        self.container(container)?.stat(name)
    }
    fn storage_read(
        &mut self,
        container: u32,
        name: &str,
        offset: u64,
        length: u32,
    ) -> Result<Vec<u8>> {
        self.container(container)?.read(name, offset, length)
    }
    fn storage_write(&mut self, container: u32, name: &str, data: &[u8]) -> Result<()> {
        self.container(container)?.write(name, data)
    }
    fn storage_url(&mut self, container: u32, name: &str) -> Result<String> {
        self.container(container)?.url(name)
    }
    fn storage_delete(&mut self, container: u32, name: &str) -> Result<bool> {
        self.container(container)?.delete(name)
    }
    fn storage_create_sas(
        &mut self,
        container: u32,
        prefix: &str,
        permissions: &[SasPermission],
        expiry_minutes: u32,
    ) -> Result<u32> {
        let s = self
            .container(container)?
            .create_sas(prefix, permissions, expiry_minutes)?;
        Ok(push(&mut self.secrets, s))
    }
    fn storage_upload_from_share(
        &mut self,
        container: u32,
        share_label: &str,
        paths: &[String],
        dest_prefix: &str,
        options: UploadOptions,
    ) -> Result<String> {
        self.container(container)?
            .upload_from_share(share_label, paths, dest_prefix, options)
    }

    fn azure_request(&mut self, label: &str, request: &ArmRequest) -> Result<ArmResponse> {
        azure::request(label, request)
    }
    fn azure_begin(&mut self, label: &str, request: &ArmRequest) -> Result<String> {
        azure::begin(label, request)
    }
    fn azure_request_sealed(
        &mut self,
        label: &str,
        request: &ArmRequest,
        secrets: &[(String, u32)],
    ) -> Result<ArmResponse> {
        let sealed = self.arm_secrets(secrets)?;
        azure::request_sealed(label, request, &sealed)
    }
    fn azure_begin_sealed(
        &mut self,
        label: &str,
        request: &ArmRequest,
        secrets: &[(String, u32)],
    ) -> Result<String> {
        let sealed = self.arm_secrets(secrets)?;
        azure::begin_sealed(label, request, &sealed)
    }

    fn azure_begin_with_references(
        &mut self,
        label: &str,
        request: &ArmRequest,
        secrets: &[(String, u32)],
        references: &[ArmReference],
    ) -> Result<String> {
        let sealed = self.arm_secrets(secrets)?;
        azure::begin_with_references(label, request, &sealed, references)
    }

    fn operation_status(&mut self, id: &str) -> Result<OperationStatus> {
        operations::status(id)
    }
    fn operation_cancel(&mut self, id: &str) -> Result<()> {
        operations::cancel(id)
    }
    fn script_start(&mut self, name: &str) -> Result<()> {
        scripts::start(name)
    }
    fn script_append(&mut self, name: &str, statement: &str, params: &[Param]) -> Result<()> {
        let params = self.params(params)?;
        scripts::append(name, statement, &params)
    }

    fn planning(&mut self) -> bool {
        planning::active()
    }
    fn signal_requested(&mut self, name: &str) -> bool {
        signals::requested(name)
    }
}
