//! Host bindings for `wit/` (package `ferry:plugin@0.1.0`). Imports are async on the host so a
//! plugin waiting on SQL or storage costs no thread, and trappable so the host can stop a plugin
//! that abuses a capability. Resources map to the host types in [`crate::caps`].

wasmtime::component::bindgen!({
    world: "migration-plugin",
    path: "../wit",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "ferry:plugin/secrets.secret": crate::caps::secrets::SecretHandle,
        "ferry:plugin/tsql.connection": crate::caps::tsql::ConnectionHandle,
        "ferry:plugin/storage.container": crate::caps::storage::ContainerHandle,
    },
});

pub use exports::ferry::plugin::plugin as guest;
pub use ferry::plugin::types;
