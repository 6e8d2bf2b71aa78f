//! The Azure Resource Manager front end of the emulated Managed Instance: ARM shapes for the
//! instance and its databases over HTTP on loopback, backed by the MI's own catalog, so a
//! database created or deleted here appears or disappears on the TDS side (methods.md §0.2,
//! §7.3).
//!
//! Answered: the subscription's and the resource group's lists of managed instances, `GET
//! {MI}`, `GET {MI}/databases`, `GET|PUT|DELETE {MI}/databases/{db}` (PUT with `createMode:
//! Default` creates an empty database), the operation URLs they hand out
//! (`Azure-AsyncOperation` and `Location`, with `Retry-After`, carrying the request's
//! api-version), a bearer token check (401 with `WWW-Authenticate`), the api-versions of the
//! Microsoft.Sql specs the answers were checked against, paths without regard to case, and
//! injectable faults (429 with `Retry-After`, 5xx, a garbled body). `createMode:
//! RestoreExternalBackup` starts a Log Replay Service job ([`crate::lrs`]), a long-running
//! operation watched through `restoreDetails/Default` (shaped per api-version) and finished
//! by `completeRestore`. `POST {MI}/tdeCertificates` uploads a TDE certificate (PFX) into the
//! instance's certificate store (`tde_certificates`). Azure Database Migration Service
//! (`Microsoft.DataMigration`: `sqlMigrationServices`, `databaseMigrations` under the
//! instance, an emulated self-hosted integration runtime) is answered by the `dms_*` modules,
//! its migrations run by the same LRS jobs. `GET …/Microsoft.Storage/storageAccounts/{name}` reads
//! the storage accounts DMS was told about (`storage_accounts`). Over HTTP, or HTTPS with the emulator's CA
//! ([`https_config`]).

mod accepted;
mod api_version;
mod dag_actions;
mod dag_body;
mod dag_shape;
mod dags;
mod databases;
mod dms_control;
mod dms_engine;
mod dms_migration;
mod dms_monitor_lag;
mod dms_ops;
mod dms_routes;
mod dms_runtime;
mod dms_service;
mod dms_shape;
mod dms_state;
mod dms_steps;
mod dms_target;
mod endpoint_certificates;
mod front_end;
mod link_ops;
mod link_routes;
mod link_target;
mod link_work;
mod lrs;
mod operation;
mod options;
mod persist;
mod reply;
mod restore_details;
mod routes;
mod state;
mod storage_accounts;
mod target;
mod tde_certificates;
mod tde_install;
mod tls;
mod trust_certificates;

pub use front_end::ArmServer;
pub use options::ArmOptions;
pub use reply::GUESS_INFO_TYPE;
pub use tls::https_config;
