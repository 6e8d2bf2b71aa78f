//! The seam between plugin logic and whatever answers its capability calls: the real ferry host
//! (through the WIT imports) or [`crate::fake::FakeHost`] in native unit tests.
//!
//! Resources (secrets, connections, containers) are handed out as small integer handles, so a
//! fake host need not imitate WIT resources.

use crate::errors::Result;
use crate::handles::{Param, SealedRowSet};
use crate::wit::{
    ArmReference, ArmRequest, ArmResponse, Chart, Level, ListPage, ObjectInfo, ObjectRow,
    OperationStatus, ProgressUpdate, QueryLimits, QueryResult, SasPermission, StatementOptions,
    UploadOptions,
};

/// Every capability call a plugin can make. Implemented by the wasm host adapter and by
/// [`crate::fake::FakeHost`]; plugins use it only through [`crate::Context`].
#[allow(missing_docs)]
pub trait Host {
    fn log(&mut self, level: Level, message: &str);
    fn log_enabled(&mut self, level: Level) -> bool;
    fn progress(&mut self, update: &ProgressUpdate);
    fn report(&mut self, row: &ObjectRow);
    fn chart(&mut self, chart: &Chart);

    fn secret_open(&mut self, label: &str) -> Result<u32>;
    fn secret_label(&mut self, secret: u32) -> String;
    fn secret_reveal(&mut self, secret: u32) -> Result<String>;
    fn secret_generate(&mut self, purpose: &str) -> u32;
    fn secret_pkcs12(
        &mut self,
        certificate: &[u8],
        private_key: u32,
        key_password: u32,
        password: u32,
    ) -> Result<u32>;

    fn sql_open(&mut self, label: &str) -> Result<u32>;
    fn sql_query(
        &mut self,
        conn: u32,
        statement: &str,
        params: &[Param],
        limits: QueryLimits,
    ) -> Result<QueryResult>;
    fn sql_query_sealed(
        &mut self,
        conn: u32,
        statement: &str,
        params: &[Param],
        limits: QueryLimits,
        sealed_columns: &[String],
    ) -> Result<Vec<SealedRowSet>>;
    fn sql_execute(
        &mut self,
        conn: u32,
        statement: &str,
        params: &[Param],
        options: StatementOptions,
    ) -> Result<u64>;
    fn sql_start(
        &mut self,
        conn: u32,
        statement: &str,
        params: &[Param],
        description: &str,
    ) -> Result<String>;

    fn storage_open(&mut self, label: &str) -> Result<u32>;
    fn storage_list(
        &mut self,
        container: u32,
        prefix: &str,
        marker: Option<&str>,
        max: u32,
    ) -> Result<ListPage>;
    fn storage_stat(&mut self, container: u32, name: &str) -> Result<Option<ObjectInfo>>;
    fn storage_url(&mut self, container: u32, name: &str) -> Result<String>;
    fn storage_read(
        &mut self,
        container: u32,
        name: &str,
        offset: u64,
        length: u32,
    ) -> Result<Vec<u8>>;
    fn storage_write(&mut self, container: u32, name: &str, data: &[u8]) -> Result<()>;
    fn storage_delete(&mut self, container: u32, name: &str) -> Result<bool>;
    fn storage_create_sas(
        &mut self,
        container: u32,
        prefix: &str,
        permissions: &[SasPermission],
        expiry_minutes: u32,
    ) -> Result<u32>;
    fn storage_upload_from_share(
        &mut self,
        container: u32,
        share_label: &str,
        paths: &[String],
        dest_prefix: &str,
        options: UploadOptions,
    ) -> Result<String>;

    fn azure_request(&mut self, label: &str, request: &ArmRequest) -> Result<ArmResponse>;
    fn azure_begin(&mut self, label: &str, request: &ArmRequest) -> Result<String>;
    fn azure_begin_sealed(
        &mut self,
        label: &str,
        request: &ArmRequest,
        secrets: &[(String, u32)],
    ) -> Result<String>;
    fn azure_begin_with_references(
        &mut self,
        label: &str,
        request: &ArmRequest,
        secrets: &[(String, u32)],
        references: &[ArmReference],
    ) -> Result<String>;
    fn azure_request_sealed(
        &mut self,
        label: &str,
        request: &ArmRequest,
        secrets: &[(String, u32)],
    ) -> Result<ArmResponse>;

    fn operation_status(&mut self, id: &str) -> Result<OperationStatus>;
    fn operation_cancel(&mut self, id: &str) -> Result<()>;

    fn script_start(&mut self, name: &str) -> Result<()>;
    fn script_append(&mut self, name: &str, statement: &str, params: &[Param]) -> Result<()>;

    fn planning(&mut self) -> bool;
    fn signal_requested(&mut self, name: &str) -> bool;
}
