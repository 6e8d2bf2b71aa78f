//! `storage`: containers and shares by label. The grant check is real; the backends (Azure Blob,
//! share directories) are not here yet, so a granted label answers `unsupported`.

use wasmtime::component::Resource;

use crate::bindings::ferry::plugin::storage::{
    Host, HostContainer, ListPage, ObjectInfo, SasPermission, UploadOptions,
};
use crate::bindings::types::PluginError;
use crate::capability::{Access, Kind};
use crate::caps::no_backend;
use crate::caps::secrets::SecretHandle;
use crate::runtime::store::StepData;

/// The host's side of a container handle.
pub struct ContainerHandle {
    pub label: String,
}

impl StepData {
    fn container_op<T>(
        &mut self,
        c: &Resource<ContainerHandle>,
        access: Access,
    ) -> wasmtime::Result<Result<T, PluginError>> {
        let label = self.table.get(c)?.label.clone();
        Ok(self
            .check(Kind::Storage, &label, access)
            .and(Err(no_backend(Kind::Storage, &label))))
    }
}

impl HostContainer for StepData {
    async fn open(
        &mut self,
        label: String,
    ) -> wasmtime::Result<Result<Resource<ContainerHandle>, PluginError>> {
        Ok(self
            .check(Kind::Storage, &label, Access::Read)
            .and(Err(no_backend(Kind::Storage, &label))))
    }
    async fn list(
        &mut self,
        c: Resource<ContainerHandle>,
        _prefix: String,
        _marker: Option<String>,
        _max: u32,
    ) -> wasmtime::Result<Result<ListPage, PluginError>> {
        self.container_op(&c, Access::Read)
    }
    async fn stat(
        &mut self,
        c: Resource<ContainerHandle>,
        _name: String,
    ) -> wasmtime::Result<Result<Option<ObjectInfo>, PluginError>> {
        self.container_op(&c, Access::Read)
    }
    async fn read(
        &mut self,
        c: Resource<ContainerHandle>,
        _name: String,
        _offset: u64,
        _length: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, PluginError>> {
        self.container_op(&c, Access::Read)
    }
    async fn write(
        &mut self,
        c: Resource<ContainerHandle>,
        _name: String,
        _data: Vec<u8>,
    ) -> wasmtime::Result<Result<(), PluginError>> {
        self.container_op(&c, Access::Write)
    }
    async fn delete(
        &mut self,
        c: Resource<ContainerHandle>,
        _name: String,
    ) -> wasmtime::Result<Result<bool, PluginError>> {
        self.container_op(&c, Access::Write)
    }
    async fn create_sas(
        &mut self,
        c: Resource<ContainerHandle>,
        _prefix: String,
        _p: Vec<SasPermission>,
        _e: u32,
    ) -> wasmtime::Result<Result<Resource<SecretHandle>, PluginError>> {
        self.container_op(&c, Access::Write)
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
        self.container_op(&c, Access::Write)
    }
    async fn drop(&mut self, c: Resource<ContainerHandle>) -> wasmtime::Result<()> {
        self.table.delete(c)?;
        Ok(())
    }
}

impl Host for StepData {}
