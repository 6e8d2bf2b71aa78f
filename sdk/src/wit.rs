//! The plain data types of the WIT interfaces, as plugins use them (the resources stay behind
//! [`crate::host::Host`]). The crate root re-exports them; the SDK's own modules import them
//! from here, so that no module depends on the crate root.

pub use crate::bindings::ferry::plugin::azure::{ArmReference, ArmRequest, ArmResponse};
pub use crate::bindings::ferry::plugin::log::Level;
pub use crate::bindings::ferry::plugin::operations::{OperationState, OperationStatus};
pub use crate::bindings::ferry::plugin::progress::ProgressUpdate;
pub use crate::bindings::ferry::plugin::report::{Chart, ChartSeries, ObjectRow, ObjectStatus};
pub use crate::bindings::ferry::plugin::storage::{
    BlockChecksum, ListPage, ObjectInfo, SasPermission, UploadOptions,
};
pub use crate::bindings::ferry::plugin::tsql::{
    Column, QueryLimits, QueryResult, RowSet, ServerMessage, SqlValue, StatementOptions,
};
pub use crate::bindings::ferry::plugin::types::{
    Access, CapabilityKind, CapabilityNeed, ConfigProblem, Denial, Failure, PluginInfo,
    StepContext, Warning,
};
