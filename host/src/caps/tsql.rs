//! `tsql`: connections by label, backed by the pools in [`crate::sql`]. `open` needs a read
//! grant; `query` a read grant when its text only reads and a write grant otherwise
//! ([`query_check`]); `execute` and `start` a write grant. Sealed parameters are resolved here
//! from the secret handles and rendered by the host, never returned to the plugin.

use std::sync::Arc;

use wasmtime::component::Resource;

use crate::bindings::ferry::plugin::tsql::{
    Cell, Host, HostConnection, Param, ParamValue, QueryLimits, QueryResult, SealedQueryResult,
    SealedRowSet, SqlValue, StatementOptions,
};
use crate::bindings::handles::{ConnectionHandle, SecretHandle};
use crate::bindings::types::PluginError;
use crate::bindings::{HostError, failed};
use crate::capability::{Access, Kind, QueryUse, query_check};
use crate::plan::Decision;
use crate::runtime::store::StepData;
use crate::sql::{BoundParam, Pool, Prepared};

impl StepData {
    pub(super) fn bind(&mut self, params: Vec<Param>) -> Result<Vec<BoundParam>, PluginError> {
        params
            .into_iter()
            .map(|p| match p.value {
                ParamValue::Value(value) => Ok(BoundParam::Value {
                    name: p.name,
                    value,
                }),
                ParamValue::Sealed(secret) => {
                    let value = self.sealed(&secret, &format!("parameter @{}", p.name))?;
                    Ok(BoundParam::Sealed {
                        name: p.name,
                        value,
                    })
                }
            })
            .collect()
    }

    fn pool(&self, label: &str) -> Result<Arc<Pool>, PluginError> {
        self.scope
            .sql
            .get(label)
            .ok_or_else(|| failed(format!("environment.toml has no [sql.{label}]")))
    }

    /// The label behind a handle.
    fn connection_label(&self, c: &Resource<ConnectionHandle>) -> Result<String, HostError> {
        Ok(self.table.get(c)?.label.clone())
    }

    /// The pool behind a handle (after the grant check for `access`) and the statement with its
    /// parameters bound: what `query`, `execute` and `start` all begin with.
    fn prepare(
        &mut self,
        label: &str,
        access: Access,
        statement: &str,
        params: Vec<Param>,
    ) -> Result<(Arc<Pool>, Prepared), HostError> {
        self.check(Kind::Sql, label, access)?;
        let pool = self.pool(label)?;
        let prepared = Prepared::new(statement, self.bind(params)?)?;
        Ok((pool, prepared))
    }

    /// The plan gate's decision on a mutating statement, recorded with sealed values as `***`.
    fn sql_gate(
        &self,
        label: &str,
        kind: &str,
        prepared: &Prepared,
    ) -> Result<Decision, PluginError> {
        self.plan_gate(kind, label, prepared.for_log(), 64 << 10)
    }
}

impl HostConnection for StepData {
    async fn open(&mut self, label: String) -> Result<Resource<ConnectionHandle>, HostError> {
        self.check(Kind::Sql, &label, Access::Read)?;
        self.pool(&label)?;
        Ok(self.table.push(ConnectionHandle { label })?)
    }

    async fn query(
        &mut self,
        c: Resource<ConnectionHandle>,
        statement: String,
        params: Vec<Param>,
        limits: QueryLimits,
    ) -> Result<QueryResult, HostError> {
        let mut result = self.query_raw(c, statement, params, limits).await?;
        for set in &mut result.sets {
            for row in &mut set.rows {
                for cell in row.iter_mut() {
                    self.mask_cell(cell);
                }
            }
        }
        Ok(result)
    }

    async fn query_sealed(
        &mut self,
        c: Resource<ConnectionHandle>,
        statement: String,
        params: Vec<Param>,
        limits: QueryLimits,
        sealed_columns: Vec<String>,
    ) -> Result<SealedQueryResult, HostError> {
        let result = self.query_raw(c, statement, params, limits).await?;
        let mut sets = Vec::with_capacity(result.sets.len());
        for set in result.sets {
            let sealed: Vec<bool> = set
                .columns
                .iter()
                .map(|col| {
                    sealed_columns
                        .iter()
                        .any(|s| s.eq_ignore_ascii_case(&col.name))
                })
                .collect();
            let mut rows = Vec::with_capacity(set.rows.len());
            for row in set.rows {
                let mut cells = Vec::with_capacity(row.len());
                for (k, value) in row.into_iter().enumerate() {
                    cells.push(if sealed.get(k).copied().unwrap_or(false) {
                        self.seal_cell(&set.columns[k].name, value)?
                    } else {
                        let mut value = value;
                        self.mask_cell(&mut value);
                        Cell::Value(value)
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
        Ok(SealedQueryResult {
            sets,
            messages: result.messages,
        })
    }

    async fn execute(
        &mut self,
        c: Resource<ConnectionHandle>,
        statement: String,
        params: Vec<Param>,
        options: StatementOptions,
    ) -> Result<u64, HostError> {
        let label = self.connection_label(&c)?;
        let (pool, prepared) = self.prepare(&label, Access::Write, &statement, params)?;
        if self.sql_gate(&label, "execute", &prepared)? == Decision::Recorded {
            return Ok(0);
        }
        let affected = pool
            .execute(&prepared, options.idempotent)
            .await
            .map_err(|e| self.clean_error(e))?;
        Ok(affected)
    }

    async fn start(
        &mut self,
        c: Resource<ConnectionHandle>,
        statement: String,
        params: Vec<Param>,
        description: String,
    ) -> Result<String, HostError> {
        let label = self.connection_label(&c)?;
        let (pool, prepared) = self.prepare(&label, Access::Write, &statement, params)?;
        let decision = self.sql_gate(&label, "start", &prepared)?;
        let owner = (self.scope.step.clone(), self.scope.item.clone());
        let description = self.clean(&description, 512);
        let (id, reporter) = self.scope.ops.begin(owner, description);
        match decision {
            Decision::Run => pool.start(prepared, reporter),
            Decision::Recorded => reporter.succeeded(serde_json::json!({ "planned": true })),
        }
        Ok(id)
    }

    async fn drop(&mut self, c: Resource<ConnectionHandle>) -> wasmtime::Result<()> {
        self.table.delete(c)?;
        Ok(())
    }
}

impl StepData {
    /// `query` without the redaction of its cells: `query-sealed` seals first.
    async fn query_raw(
        &mut self,
        c: Resource<ConnectionHandle>,
        statement: String,
        params: Vec<Param>,
        limits: QueryLimits,
    ) -> Result<QueryResult, HostError> {
        let label = self.connection_label(&c)?;
        let used = query_check(&self.scope.grants, &self.scope.step, &label, &statement)?;
        let (pool, prepared) = self.prepare(&label, Access::Read, &statement, params)?;
        if used == QueryUse::Changes {
            // A change through `query` (write grant): a plan cannot return its rows, so planning
            // refuses it; otherwise it passes the plan gate as `execute` would.
            if self.scope.plan.planning() {
                return Err(failed(format!(
                    "while planning, `query` may only read, and this statement may change \
                     something: {}. Send changes with `execute` so they are recorded in the plan",
                    prepared.for_log().lines().next().unwrap_or_default()
                ))
                .into());
            }
            self.sql_gate(&label, "execute", &prepared)?;
        }
        // Reading twice changes nothing, so a read is retried after a dropped connection; a
        // change is not.
        let rows = pool
            .query(&prepared, limits, used == QueryUse::Reads)
            .await
            .map_err(|e| self.clean_error(e))?;
        Ok(rows)
    }

    /// A result cell that holds a secret the host knows (`SELECT @sas` with a sealed
    /// parameter, a value stored earlier and read back) is masked: results reach the plugin,
    /// and a sealed value must never come back out of the server unsealed. Binary cells are
    /// compared in hex, the form sealed binary values are registered in.
    fn mask_cell(&self, cell: &mut SqlValue) {
        match cell {
            SqlValue::Text(t) if self.scope.redactor.leaks(t) => {
                *t = self.scope.redactor.redact(t).into_owned();
            }
            SqlValue::Binary(b)
                if b.len() >= 8 && self.scope.redactor.leaks(&hex::encode_upper(&*b)) =>
            {
                *cell = SqlValue::Text(crate::redact::MASK.to_owned());
            }
            _ => {}
        }
    }

    /// A cell of a sealed column: kept by the host, handed to the plugin as a handle.
    fn seal_cell(&mut self, column: &str, value: SqlValue) -> Result<Cell, HostError> {
        let label = match value {
            SqlValue::Null => return Ok(Cell::Value(SqlValue::Null)),
            SqlValue::Binary(b) => self.scope.vault.seal_binary("sealed-read", &b),
            SqlValue::Text(t) => self.scope.vault.seal_generated("sealed-read", t),
            _ => {
                return Err(failed(format!(
                    "query-sealed: column `{column}` is neither text nor binary; only those \
                     can be sealed"
                ))
                .into());
            }
        };
        Ok(Cell::Sealed(self.table.push(SecretHandle { label })?))
    }
}

impl Host for StepData {}
