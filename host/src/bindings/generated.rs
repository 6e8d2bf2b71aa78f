//! The code `bindgen!` generates for `wit/`, with the resources mapped to [`super::handles`] and
//! `plugin-error` made trappable through [`HostError`].

/// What a host import returns on failure: a `plugin-error` for the plugin, or a trap.
pub type HostError = crate::bindings::trappable::Trappable<ferry::plugin::types::PluginError>;

wasmtime::component::bindgen!({
    world: "migration-plugin",
    path: "../wit",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "ferry:plugin/secrets.secret": crate::bindings::handles::SecretHandle,
        "ferry:plugin/tsql.connection": crate::bindings::handles::ConnectionHandle,
        "ferry:plugin/storage.container": crate::bindings::handles::ContainerHandle,
    },
    trappable_error_type: {
        "ferry:plugin/types.plugin-error" => HostError,
    },
});
