//! `storage`: containers and shares by label. Share labels are served by
//! [`crate::storage::share`]; blob labels are granted and configured but have no backend for
//! plugins yet, so they answer `unsupported` naming the label.

use wasmtime::component::Resource;

use crate::bindings::ferry::plugin::storage::{
    Host, HostContainer, ListPage, ObjectInfo, SasPermission, UploadOptions,
};
use crate::bindings::types::{Failure, PluginError};
use crate::capability::{Access, Kind};
use crate::caps::secrets::SecretHandle;
use crate::runtime::store::StepData;
use crate::storage::Backend;
use crate::storage::share::Share;

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
    /// The share behind a handle, after the grant check for `access`.
    fn share_for(
        &mut self,
        c: &Resource<ContainerHandle>,
        access: Access,
    ) -> wasmtime::Result<Result<Share, PluginError>> {
        let label = self.table.get(c)?.label.clone();
        Ok(self
            .check(Kind::Storage, &label, access)
            .and_then(|()| self.backend(&label)))
    }

    fn backend(&self, label: &str) -> Result<Share, PluginError> {
        match self.scope.storage.get(label) {
            Some(Backend::Share(share)) => Ok(share.clone()),
            Some(Backend::Blob) => Err(PluginError::Unsupported(format!(
                "storage label `{label}` is a blob container; blob access from plugins is not \
                 supported yet in this ferry version (share labels are)"
            ))),
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
        Ok(match self.share_for(&c, Access::Read)? {
            Ok(s) => blocking(move || s.list(&prefix, marker.as_deref(), max)).await,
            Err(e) => Err(e),
        })
    }
    async fn stat(
        &mut self,
        c: Resource<ContainerHandle>,
        name: String,
    ) -> wasmtime::Result<Result<Option<ObjectInfo>, PluginError>> {
        Ok(match self.share_for(&c, Access::Read)? {
            Ok(s) => blocking(move || s.stat(&name)).await,
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
        Ok(match self.share_for(&c, Access::Read)? {
            Ok(s) => blocking(move || s.read(&name, offset, length)).await,
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
        Ok(match self.share_for(&c, Access::Write)? {
            Ok(s) => blocking(move || s.write(&name, &data)).await,
            Err(e) => Err(e),
        })
    }
    async fn delete(
        &mut self,
        c: Resource<ContainerHandle>,
        name: String,
    ) -> wasmtime::Result<Result<bool, PluginError>> {
        Ok(match self.share_for(&c, Access::Write)? {
            Ok(s) => blocking(move || s.delete(&name)).await,
            Err(e) => Err(e),
        })
    }
    async fn create_sas(
        &mut self,
        c: Resource<ContainerHandle>,
        _prefix: String,
        _p: Vec<SasPermission>,
        _e: u32,
    ) -> wasmtime::Result<Result<Resource<SecretHandle>, PluginError>> {
        let label = self.table.get(&c)?.label.clone();
        Ok(self
            .share_for(&c, Access::Write)?
            .and(Err(PluginError::Unsupported(format!(
                "create-sas on `{label}`: a share has no shared access signature, and SAS for blob \
             labels is not supported yet in this ferry version"
            )))))
    }
    async fn upload_from_share(
        &mut self,
        c: Resource<ContainerHandle>,
        share: String,
        _paths: Vec<String>,
        _dest: String,
        _o: UploadOptions,
    ) -> wasmtime::Result<Result<String, PluginError>> {
        if let Err(e) = self.check(Kind::Storage, &share, Access::Read) {
            return Ok(Err(e));
        }
        let label = self.table.get(&c)?.label.clone();
        Ok(self
            .share_for(&c, Access::Write)?
            .and(Err(PluginError::Unsupported(format!(
                "upload-from-share into `{label}` is not supported yet in this ferry version"
            )))))
    }
    async fn drop(&mut self, c: Resource<ContainerHandle>) -> wasmtime::Result<()> {
        self.table.delete(c)?;
        Ok(())
    }
}

impl Host for StepData {}
