//! `storage`: containers and shares by label, served by [`crate::storage`] — shares through
//! cap-std, blob containers through the Azure Blob SDK; `upload-from-share` is a host operation
//! ([`crate::storage::upload`]).

use wasmtime::component::Resource;

use crate::bindings::ferry::plugin::storage::{
    Host, HostContainer, ListPage, ObjectInfo, SasPermission, UploadOptions,
};
use crate::bindings::handles::{ContainerHandle, SecretHandle};
use crate::bindings::types::PluginError;
use crate::bindings::{HostError, failed};
use crate::capability::{Access, Kind};
use crate::plan::Decision;
use crate::runtime::store::StepData;
use crate::storage::Backend;
use crate::storage::blob::Blob;
use crate::storage::share::Share;

/// The most a single `read` returns and a single `write` accepts, as the WIT documents: big
/// enough for a backup header or a manifest, small enough that a plugin cannot make the host
/// hold a whole backup in memory (bulk copies are host operations).
const MAX_TRANSFER: u32 = 4 * 1024 * 1024;

impl StepData {
    /// The label behind a handle.
    fn container_label(&self, c: &Resource<ContainerHandle>) -> Result<String, HostError> {
        Ok(self.table.get(c)?.label.clone())
    }

    /// The backend behind a handle, after the grant check for `access`.
    fn target(
        &mut self,
        c: &Resource<ContainerHandle>,
        access: Access,
    ) -> Result<(String, Backend), HostError> {
        let label = self.container_label(c)?;
        self.check(Kind::Storage, &label, access)?;
        let backend = self.backend(&label)?;
        Ok((label, backend))
    }

    /// The plan gate's decision on a storage change.
    fn storage_gate(
        &self,
        c: &Resource<ContainerHandle>,
        kind: &str,
        text: String,
    ) -> Result<Decision, HostError> {
        let label = self.container_label(c)?;
        // The grant first, as for SQL and ARM: a plan must not record a change the apply
        // would be denied.
        self.check(Kind::Storage, &label, Access::Write)?;
        Ok(self.plan_gate(kind, &label, &text, 16 << 10)?)
    }

    fn backend(&self, label: &str) -> Result<Backend, PluginError> {
        match self.scope.storage.get(label) {
            Some(Ok(b)) => Ok(b.clone()),
            Some(Err(why)) => Err(failed(why.clone())),
            None => Err(failed(format!("environment.toml has no [storage.{label}]"))),
        }
    }

    /// The share behind a share label the step may read.
    fn source_share(&self, label: &str) -> Result<Share, PluginError> {
        self.check(Kind::Storage, label, Access::Read)?;
        match self.backend(label)? {
            Backend::Share(s) => Ok(s),
            Backend::Blob(_) => Err(failed(format!(
                "upload-from-share: `{label}` is not a share label"
            ))),
        }
    }

    /// The blob container behind a handle the step may write.
    fn blob_target(&mut self, c: &Resource<ContainerHandle>) -> Result<Blob, HostError> {
        match self.target(c, Access::Write)? {
            (_, Backend::Blob(b)) => Ok(b),
            (_, Backend::Share(_)) => Err(failed(
                "upload-from-share uploads into a blob label; this container is a share",
            )
            .into()),
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
    async fn open(&mut self, label: String) -> Result<Resource<ContainerHandle>, HostError> {
        self.check(Kind::Storage, &label, Access::Read)?;
        self.backend(&label)?;
        Ok(self.table.push(ContainerHandle { label })?)
    }
    async fn list(
        &mut self,
        c: Resource<ContainerHandle>,
        prefix: String,
        marker: Option<String>,
        max: u32,
    ) -> Result<ListPage, HostError> {
        Ok(match self.target(&c, Access::Read)?.1 {
            Backend::Share(s) => blocking(move || s.list(&prefix, marker.as_deref(), max)).await,
            Backend::Blob(b) => b.list(&prefix, marker, max).await,
        }?)
    }
    async fn stat(
        &mut self,
        c: Resource<ContainerHandle>,
        name: String,
    ) -> Result<Option<ObjectInfo>, HostError> {
        Ok(match self.target(&c, Access::Read)?.1 {
            Backend::Share(s) => blocking(move || s.stat(&name)).await,
            Backend::Blob(b) => b.stat(&name).await,
        }?)
    }
    async fn read(
        &mut self,
        c: Resource<ContainerHandle>,
        name: String,
        offset: u64,
        length: u32,
    ) -> Result<Vec<u8>, HostError> {
        let length = length.min(MAX_TRANSFER);
        Ok(match self.target(&c, Access::Read)?.1 {
            Backend::Share(s) => blocking(move || s.read(&name, offset, length)).await,
            Backend::Blob(b) => b.read(&name, offset, length).await,
        }?)
    }
    async fn write(
        &mut self,
        c: Resource<ContainerHandle>,
        name: String,
        data: Vec<u8>,
    ) -> Result<(), HostError> {
        if data.len() > MAX_TRANSFER as usize {
            return Err(failed(format!(
                "`{name}`: write takes at most {MAX_TRANSFER} bytes, got {}; copy large files \
                 with upload-from-share",
                data.len()
            ))
            .into());
        }
        let text = format!("`{name}` ({} bytes)", data.len());
        if self.storage_gate(&c, "write", text)? == Decision::Recorded {
            return Ok(());
        }
        Ok(match self.target(&c, Access::Write)?.1 {
            Backend::Share(s) => blocking(move || s.write(&name, &data)).await,
            Backend::Blob(b) => b.write(&name, data).await,
        }?)
    }
    async fn delete(
        &mut self,
        c: Resource<ContainerHandle>,
        name: String,
    ) -> Result<bool, HostError> {
        if self.storage_gate(&c, "delete", format!("`{name}`"))? == Decision::Recorded {
            return Ok(true);
        }
        Ok(match self.target(&c, Access::Write)?.1 {
            Backend::Share(s) => blocking(move || s.delete(&name)).await,
            Backend::Blob(b) => b.delete(&name).await,
        }?)
    }
    async fn url(
        &mut self,
        c: Resource<ContainerHandle>,
        name: String,
    ) -> Result<String, HostError> {
        match self.target(&c, Access::Read)? {
            (_, Backend::Blob(b)) => Ok(b.url(&name)?),
            (label, Backend::Share(_)) => Err(failed(format!(
                "url on `{label}`: a share has no URL SQL Server could read; upload its files \
                 to a blob label first"
            ))
            .into()),
        }
    }
    async fn create_sas(
        &mut self,
        c: Resource<ContainerHandle>,
        _prefix: String,
        permissions: Vec<SasPermission>,
        minutes: u32,
    ) -> Result<Resource<SecretHandle>, HostError> {
        let value = match self.target(&c, Access::Write)? {
            (_, Backend::Blob(b)) => b.create_sas(&permissions, minutes)?,
            (label, Backend::Share(_)) => {
                return Err(PluginError::Unsupported(format!(
                    "create-sas on `{label}`: a share has no shared access signature"
                ))
                .into());
            }
        };
        let label = self.container_label(&c)?;
        let sealed = self
            .scope
            .vault
            .seal_generated(&format!("storage.{label}.generated-sas"), value);
        Ok(self.table.push(SecretHandle { label: sealed })?)
    }
    async fn upload_from_share(
        &mut self,
        c: Resource<ContainerHandle>,
        share: String,
        paths: Vec<String>,
        dest: String,
        options: UploadOptions,
    ) -> Result<String, HostError> {
        let source = self.source_share(&share)?;
        let target = self.blob_target(&c)?;
        let plan = crate::storage::upload::UploadPlan::new(&options)?;
        if paths.is_empty() {
            return Err(failed("upload-from-share needs at least one path").into());
        }
        // Refuse a path that leaves the share now, at the call, not later in the operation.
        for p in &paths {
            source.checked(p.trim_end_matches('/'))?;
        }
        let text = format!("from share `{share}`: {} → `{dest}`", paths.join(", "));
        let decision = self.storage_gate(&c, "upload", text)?;
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
        Ok(id)
    }
    async fn drop(&mut self, c: Resource<ContainerHandle>) -> wasmtime::Result<()> {
        self.table.delete(c)?;
        Ok(())
    }
}

impl Host for StepData {}
