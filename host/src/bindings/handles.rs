//! The host's side of each WIT resource: what a handle in a plugin's table stands for. Each holds
//! a label, never a connection, a client or a secret's value: those stay with the label's
//! backend, shared by every step, and a handle cannot outlive its step's store.

/// A secret handle: the label it was opened with. The value is resolved only when the host
/// writes it somewhere the plugin never sees, or when a `reveal` grant allows.
pub struct SecretHandle {
    pub label: String,
}

/// A T-SQL connection handle: the label; each statement takes a connection from the label's
/// pool.
pub struct ConnectionHandle {
    pub label: String,
}

/// A storage container handle: the label of a share or blob container.
pub struct ContainerHandle {
    pub label: String,
}
