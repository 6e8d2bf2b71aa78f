//! `tsql`: connections by label, backed by the pools in [`crate::sql`]. `open` needs a read
//! grant; `query` a read grant when its text only reads and a write grant otherwise
//! ([`query_check`]); `execute` a write grant. Sealed parameters are resolved here from the secret
//! handles and rendered by the host, never returned to the plugin.

use wasmtime::component::Resource;

use crate::bindings::ferry::plugin::tsql::{
    Host, HostConnection, Param, ParamValue, QueryLimits, QueryResult, StatementOptions,
};
use crate::bindings::types::{Failure, PluginError};
use crate::capability::{Access, Kind, QueryUse, query_check};
use crate::plan::Decision;
use crate::runtime::store::StepData;
use crate::sql::{BoundParam, Prepared};

/// The host's side of a connection handle: the label; connections come from the label's pool
/// for each statement.
pub struct ConnectionHandle {
    pub label: String,
}

fn failed(message: String) -> PluginError {
    PluginError::Failed(Failure {
        message,
        code: None,
    })
}

impl StepData {
    fn bind(&mut self, params: Vec<Param>) -> Result<Vec<BoundParam>, PluginError> {
        params
            .into_iter()
            .map(|p| match p.value {
                ParamValue::Value(value) => Ok(BoundParam::Value {
                    name: p.name,
                    value,
                }),
                ParamValue::Sealed(secret) => {
                    let value = self.sealed_value(&secret, &format!("parameter @{}", p.name))?;
                    Ok(BoundParam::Sealed {
                        name: p.name,
                        value,
                    })
                }
            })
            .collect()
    }

    fn pool_for(
        &self,
        c: &Resource<ConnectionHandle>,
        access: Access,
    ) -> wasmtime::Result<Result<std::sync::Arc<crate::sql::Pool>, PluginError>> {
        let label = self.table.get(c)?.label.clone();
        if let Err(e) = self.check(Kind::Sql, &label, access) {
            return Ok(Err(e));
        }
        Ok(self
            .scope
            .sql
            .get(&label)
            .ok_or_else(|| failed(format!("environment.toml has no [sql.{label}]"))))
    }

    /// The pool behind a handle (after the grant check for `access`) and the statement with its
    /// parameters bound: what `query`, `execute` and `start` all begin with.
    fn prepare(
        &mut self,
        c: &Resource<ConnectionHandle>,
        access: Access,
        statement: &str,
        params: Vec<Param>,
    ) -> wasmtime::Result<Result<(std::sync::Arc<crate::sql::Pool>, Prepared), PluginError>> {
        Ok(self.pool_for(c, access)?.and_then(|pool| {
            let prepared = self
                .bind(params)
                .and_then(|b| Prepared::new(statement, b))?;
            Ok((pool, prepared))
        }))
    }

    /// The plan gate's decision on a mutating statement, recorded with sealed values as `***`.
    fn sql_gate(
        &self,
        c: &Resource<ConnectionHandle>,
        kind: &str,
        prepared: &Prepared,
    ) -> wasmtime::Result<Result<Decision, PluginError>> {
        let label = self.table.get(c)?.label.clone();
        Ok(self.plan_gate(kind, &label, prepared.for_log(), 64 << 10))
    }

    /// Errors from the server pass through the redactor like every plugin-visible string.
    fn clean_error(&self, e: PluginError) -> PluginError {
        match e {
            PluginError::Failed(mut f) => {
                f.message = self.clean(&f.message, 16 << 10);
                PluginError::Failed(f)
            }
            PluginError::Transient(mut f) => {
                f.message = self.clean(&f.message, 16 << 10);
                PluginError::Transient(f)
            }
            other => other,
        }
    }
}

impl HostConnection for StepData {
    async fn open(
        &mut self,
        label: String,
    ) -> wasmtime::Result<Result<Resource<ConnectionHandle>, PluginError>> {
        if let Err(e) = self.check(Kind::Sql, &label, Access::Read) {
            return Ok(Err(e));
        }
        if self.scope.sql.get(&label).is_none() {
            return Ok(Err(failed(format!(
                "environment.toml has no [sql.{label}]"
            ))));
        }
        Ok(Ok(self.table.push(ConnectionHandle { label })?))
    }

    async fn query(
        &mut self,
        c: Resource<ConnectionHandle>,
        statement: String,
        params: Vec<Param>,
        limits: QueryLimits,
    ) -> wasmtime::Result<Result<QueryResult, PluginError>> {
        let label = self.table.get(&c)?.label.clone();
        let used = match query_check(&self.scope.grants, &self.scope.step, &label, &statement) {
            Ok(u) => u,
            Err(e) => return Ok(Err(e)),
        };
        let (pool, prepared) = match self.prepare(&c, Access::Read, &statement, params)? {
            Ok(pp) => pp,
            Err(e) => return Ok(Err(e)),
        };
        if used == QueryUse::Changes {
            // A change through `query` (write grant): a plan cannot return its rows, so planning
            // refuses it; otherwise it passes the plan gate as `execute` would.
            if self.scope.plan.planning() {
                return Ok(Err(failed(format!(
                    "while planning, `query` may only read, and this statement may change \
                     something: {}. Send changes with `execute` so they are recorded in the plan",
                    prepared.for_log().lines().next().unwrap_or_default()
                ))));
            }
            if let Err(e) = self.sql_gate(&c, "execute", &prepared)? {
                return Ok(Err(e));
            }
        }
        // Reading twice changes nothing, so a read is retried after a dropped connection; a
        // change is not.
        Ok(pool
            .query(&prepared, limits, used == QueryUse::Reads)
            .await
            .map_err(|e| self.clean_error(e)))
    }

    async fn execute(
        &mut self,
        c: Resource<ConnectionHandle>,
        statement: String,
        params: Vec<Param>,
        options: StatementOptions,
    ) -> wasmtime::Result<Result<u64, PluginError>> {
        let (pool, prepared) = match self.prepare(&c, Access::Write, &statement, params)? {
            Ok(pp) => pp,
            Err(e) => return Ok(Err(e)),
        };
        match self.sql_gate(&c, "execute", &prepared)? {
            Ok(Decision::Run) => {}
            Ok(Decision::Recorded) => return Ok(Ok(0)),
            Err(e) => return Ok(Err(e)),
        }
        Ok(pool
            .execute(&prepared, options.idempotent)
            .await
            .map_err(|e| self.clean_error(e)))
    }

    async fn start(
        &mut self,
        c: Resource<ConnectionHandle>,
        statement: String,
        params: Vec<Param>,
        description: String,
    ) -> wasmtime::Result<Result<String, PluginError>> {
        let (pool, prepared) = match self.prepare(&c, Access::Write, &statement, params)? {
            Ok(pp) => pp,
            Err(e) => return Ok(Err(e)),
        };
        let decision = match self.sql_gate(&c, "start", &prepared)? {
            Ok(d) => d,
            Err(e) => return Ok(Err(e)),
        };
        let owner = (self.scope.step.clone(), self.scope.item.clone());
        let description = self.clean(&description, 512);
        let (id, reporter) = self.scope.ops.begin(owner, description);
        match decision {
            Decision::Run => pool.start(prepared, reporter),
            Decision::Recorded => reporter.succeeded(serde_json::json!({ "planned": true })),
        }
        Ok(Ok(id))
    }

    async fn drop(&mut self, c: Resource<ConnectionHandle>) -> wasmtime::Result<()> {
        self.table.delete(c)?;
        Ok(())
    }
}

impl Host for StepData {}
