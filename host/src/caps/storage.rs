//! `storage`: containers and shares by label, served by [`crate::storage`] — shares through
//! cap-std, blob containers through the Azure Blob SDK; `upload-from-share` is a host operation
//! ([`crate::storage::upload`]).

use wasmtime::component::Resource;

use crate::bindings::ferry::plugin::storage::{
    Host, HostContainer, ListPage, ObjectInfo, SasPermission, UploadOptions,
};
use crate::bindings::types::{Failure, PluginError};
use crate::capability::{Access, Kind};
use crate::caps::secrets::SecretHandle;
use crate::plan::Decision;
use crate::runtime::store::StepData;
use crate::storage::Backend;

/// The most a single `read` returns and a single `write` accepts, as the WIT documents: big
/// enough for a backup header or a manifest, small enough that a plugin cannot make the host
/// hold a whole backup in memory (bulk copies are host operations).
const MAX_TRANSFER: u32 = 4 * 1024 * 1024;

/// The host's side of a container handle.
pub struct ContainerHandle {
    pub label: String,
}

fn failed(message: String) -> PluginError {
    PluginError::Failed(Failure {
        message,
        code: None,
    })
}

impl StepData {
    /// The backend behind a handle, after the grant check for `access`.
    fn target(
        &mut self,
        c: &Resource<ContainerHandle>,
        access: Access,
    ) -> wasmtime::Result<Result<Backend, PluginError>> {
        let label = self.table.get(c)?.label.clone();
        Ok(self
            .check(Kind::Storage, &label, access)
            .and_then(|()| self.backend(&label)))
    }

    /// The plan gate's decision on a storage change.
    fn storage_gate(
        &self,
        c: &Resource<ContainerHandle>,
        kind: &str,
        text: String,
    ) -> wasmtime::Result<Result<Decision, PluginError>> {
        let label = self.table.get(c)?.label.clone();
        Ok(self.plan_gate(kind, &label, &text, 16 << 10))
    }

    fn backend(&self, label: &str) -> Result<Backend, PluginError> {
        match self.scope.storage.get(label) {
            Some(Ok(b)) => Ok(b.clone()),
            Some(Err(why)) => Err(failed(why.clone())),
            None => Err(failed(format!("environment.toml has no [storage.{label}]"))),
        }
    }
}

/// Runs blocking file work off the async executor.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, PluginError> + Send + 'static,
) -> Result<T, PluginError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(failed(format!("storage task failed: {e}"))))
}

impl HostContainer for StepData {
    async fn open(
        &mut self,
        label: String,
    ) -> wasmtime::Result<Result<Resource<ContainerHandle>, PluginError>> {
        if let Err(e) = self
            .check(Kind::Storage, &label, Access::Read)
            .and_then(|()| self.backend(&label))
        {
            return Ok(Err(e));
        }
        Ok(Ok(self.table.push(ContainerHandle { label })?))
    }
    async fn list(
        &mut self,
        c: Resource<ContainerHandle>,
        prefix: String,
        marker: Option<String>,
        max: u32,
    ) -> wasmtime::Result<Result<ListPage, PluginError>> {
        Ok(match self.target(&c, Access::Read)? {
            Ok(Backend::Share(s)) => {
                blocking(move || s.list(&prefix, marker.as_deref(), max)).await
            }
            Ok(Backend::Blob(b)) => b.list(&prefix, marker, max).await,
            Err(e) => Err(e),
        })
    }
    async fn stat(
        &mut self,
        c: Resource<ContainerHandle>,
        name: String,
    ) -> wasmtime::Result<Result<Option<ObjectInfo>, PluginError>> {
        Ok(match self.target(&c, Access::Read)? {
            Ok(Backend::Share(s)) => blocking(move || s.stat(&name)).await,
            Ok(Backend::Blob(b)) => b.stat(&name).await,
            Err(e) => Err(e),
        })
    }
    async fn read(
        &mut self,
        c: Resource<ContainerHandle>,
        name: String,
        offset: u64,
        length: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, PluginError>> {
        let length = length.min(MAX_TRANSFER);
        Ok(match self.target(&c, Access::Read)? {
            Ok(Backend::Share(s)) => blocking(move || s.read(&name, offset, length)).await,
            Ok(Backend::Blob(b)) => b.read(&name, offset, length).await,
            Err(e) => Err(e),
        })
    }
    async fn write(
        &mut self,
        c: Resource<ContainerHandle>,
        name: String,
        data: Vec<u8>,
    ) -> wasmtime::Result<Result<(), PluginError>> {
        if data.len() > MAX_TRANSFER as usize {
            return Ok(Err(failed(format!(
                "`{name}`: write takes at most {MAX_TRANSFER} bytes, got {}; copy large files \
                 with upload-from-share",
                data.len()
            ))));
        }
        match self.storage_gate(&c, "write", format!("`{name}` ({} bytes)", data.len()))? {
            Ok(Decision::Run) => {}
            Ok(Decision::Recorded) => return Ok(Ok(())),
            Err(e) => return Ok(Err(e)),
        }
        Ok(match self.target(&c, Access::Write)? {
            Ok(Backend::Share(s)) => blocking(move || s.write(&name, &data)).await,
            Ok(Backend::Blob(b)) => b.write(&name, data).await,
            Err(e) => Err(e),
        })
    }
    async fn delete(
        &mut self,
        c: Resource<ContainerHandle>,
        name: String,
    ) -> wasmtime::Result<Result<bool, PluginError>> {
        match self.storage_gate(&c, "delete", format!("`{name}`"))? {
            Ok(Decision::Run) => {}
            Ok(Decision::Recorded) => return Ok(Ok(true)),
            Err(e) => return Ok(Err(e)),
        }
        Ok(match self.target(&c, Access::Write)? {
            Ok(Backend::Share(s)) => blocking(move || s.delete(&name)).await,
            Ok(Backend::Blob(b)) => b.delete(&name).await,
            Err(e) => Err(e),
        })
    }
    async fn url(
        &mut self,
        c: Resource<ContainerHandle>,
        name: String,
    ) -> wasmtime::Result<Result<String, PluginError>> {
        let label = self.table.get(&c)?.label.clone();
        Ok(match self.target(&c, Access::Read)? {
            Ok(Backend::Blob(b)) => b.url(&name),
            Ok(Backend::Share(_)) => Err(failed(format!(
                "url on `{label}`: a share has no URL SQL Server could read; upload its files \
                 to a blob label first"
            ))),
            Err(e) => Err(e),
        })
    }
    async fn create_sas(
        &mut self,
        c: Resource<ContainerHandle>,
        _prefix: String,
        permissions: Vec<SasPermission>,
        minutes: u32,
    ) -> wasmtime::Result<Result<Resource<SecretHandle>, PluginError>> {
        let label = self.table.get(&c)?.label.clone();
        let sas = match self.target(&c, Access::Write)? {
            Ok(Backend::Blob(b)) => b.create_sas(&permissions, minutes),
            Ok(Backend::Share(_)) => Err(PluginError::Unsupported(format!(
                "create-sas on `{label}`: a share has no shared access signature"
            ))),
            Err(e) => Err(e),
        };
        Ok(match sas {
            Ok(value) => {
                let sealed = self
                    .scope
                    .vault
                    .seal_generated(&format!("storage.{label}.generated-sas"), value);
                Ok(self.table.push(SecretHandle { label: sealed })?)
            }
            Err(e) => Err(e),
        })
    }
    async fn upload_from_share(
        &mut self,
        c: Resource<ContainerHandle>,
        share: String,
        paths: Vec<String>,
        dest: String,
        options: UploadOptions,
    ) -> wasmtime::Result<Result<String, PluginError>> {
        let source = match self
            .check(Kind::Storage, &share, Access::Read)
            .and_then(|()| self.backend(&share))
        {
            Ok(Backend::Share(s)) => s,
            Ok(_) => {
                return Ok(Err(failed(format!(
                    "upload-from-share: `{share}` is not a share label"
                ))));
            }
            Err(e) => return Ok(Err(e)),
        };
        let target = match self.target(&c, Access::Write)? {
            Ok(Backend::Blob(b)) => b,
            Ok(_) => {
                return Ok(Err(failed(
                    "upload-from-share uploads into a blob label; this container is a share".into(),
                )));
            }
            Err(e) => return Ok(Err(e)),
        };
        let plan = match crate::storage::upload::UploadPlan::new(&options) {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        if paths.is_empty() {
            return Ok(Err(failed(
                "upload-from-share needs at least one path".into(),
            )));
        }
        // Refuse a path that leaves the share now, at the call, not later in the operation.
        if let Some(e) = paths
            .iter()
            .find_map(|p| source.checked(p.trim_end_matches('/')).err())
        {
            return Ok(Err(e));
        }
        let decision = match self.storage_gate(
            &c,
            "upload",
            format!("from share `{share}`: {} → `{dest}`", paths.join(", ")),
        )? {
            Ok(d) => d,
            Err(e) => return Ok(Err(e)),
        };
        let owner = (self.scope.step.clone(), self.scope.item.clone());
        let description = format!(
            "upload {} path(s) from `{share}` to `{}`",
            paths.len(),
            target.label()
        );
        let (id, reporter) = self.scope.ops.begin(owner, description);
        match decision {
            Decision::Run => {
                crate::storage::upload::start(source, target, paths, dest, plan, reporter)
            }
            Decision::Recorded => reporter.succeeded(serde_json::json!({ "planned": true })),
        }
        Ok(Ok(id))
    }
    async fn drop(&mut self, c: Resource<ContainerHandle>) -> wasmtime::Result<()> {
        self.table.delete(c)?;
        Ok(())
    }
}

impl Host for StepData {}
