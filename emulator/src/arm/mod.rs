//! The Azure Resource Manager front end of the emulated Managed Instance: ARM shapes for the
//! instance and its databases over HTTP on loopback, backed by the MI's own catalog, so a
//! database created or deleted here appears or disappears on the TDS side (methods.md §0.2,
//! §7.3).
//!
//! Answered: `GET {MI}`, `GET {MI}/databases`, `GET|PUT|DELETE {MI}/databases/{db}` (PUT
//! with `createMode: Default` creates an empty database), the operation URLs they hand out
//! (`Azure-AsyncOperation` for PUT, `Location` for DELETE, with `Retry-After`), a bearer token
//! check, `api-version` required, and injectable throttling (429 with `Retry-After`).
//! `createMode: RestoreExternalBackup` starts a Log Replay Service job ([`crate::lrs`]),
//! watched through `restoreDetails/Default` and finished by `completeRestore`.

mod front_end;
mod lrs;
mod operation;
mod options;
mod persist;
mod reply;
mod routes;
mod state;

pub use front_end::ArmServer;
pub use options::ArmOptions;
