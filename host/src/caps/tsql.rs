//! `tsql`: connections by label. The grant check is real; the backend (tiberius) is not here
//! yet, so a granted label answers `unsupported`.

use wasmtime::component::Resource;

use crate::bindings::ferry::plugin::tsql::{
    Host, HostConnection, Param, QueryLimits, QueryResult, StatementOptions,
};
use crate::bindings::types::PluginError;
use crate::capability::{Access, Kind};
use crate::caps::no_backend;
use crate::runtime::store::StepData;

/// The host's side of a connection handle.
pub struct ConnectionHandle {
    pub label: String,
}

impl HostConnection for StepData {
    async fn open(
        &mut self,
        label: String,
    ) -> wasmtime::Result<Result<Resource<ConnectionHandle>, PluginError>> {
        if let Err(e) = self.check(Kind::Sql, &label, Access::Read) {
            return Ok(Err(e));
        }
        Ok(Err(no_backend(Kind::Sql, &label)))
    }

    async fn query(
        &mut self,
        c: Resource<ConnectionHandle>,
        _statement: String,
        _params: Vec<Param>,
        _limits: QueryLimits,
    ) -> wasmtime::Result<Result<QueryResult, PluginError>> {
        let label = self.table.get(&c)?.label.clone();
        Ok(self
            .check(Kind::Sql, &label, Access::Read)
            .and(Err(no_backend(Kind::Sql, &label))))
    }

    async fn execute(
        &mut self,
        c: Resource<ConnectionHandle>,
        _statement: String,
        _params: Vec<Param>,
        _options: StatementOptions,
    ) -> wasmtime::Result<Result<u64, PluginError>> {
        let label = self.table.get(&c)?.label.clone();
        Ok(self
            .check(Kind::Sql, &label, Access::Write)
            .and(Err(no_backend(Kind::Sql, &label))))
    }

    async fn start(
        &mut self,
        c: Resource<ConnectionHandle>,
        _statement: String,
        _params: Vec<Param>,
        _description: String,
    ) -> wasmtime::Result<Result<String, PluginError>> {
        let label = self.table.get(&c)?.label.clone();
        Ok(self
            .check(Kind::Sql, &label, Access::Write)
            .and(Err(no_backend(Kind::Sql, &label))))
    }

    async fn drop(&mut self, c: Resource<ConnectionHandle>) -> wasmtime::Result<()> {
        self.table.delete(c)?;
        Ok(())
    }
}

impl Host for StepData {}
