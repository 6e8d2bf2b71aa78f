//! The raw bindings generated from `wit/`. Plugin authors never touch these directly; the SDK
//! re-exports the plain data types and wraps the resources behind [`crate::Host`].
//!
//! `sdk/wit` is a symlink to the workspace's `wit/`, the one copy of the contract: a path
//! inside the package is what `cargo package` follows and ships as files, so the published
//! crate builds without the workspace around it (`../wit` would not exist there).

wit_bindgen::generate!({
    world: "migration-plugin",
    path: "wit",
    pub_export_macro: true,
    export_macro_name: "__export_plugin_world",
    default_bindings_module: "::ferry_sdk::__private::bindings",
    runtime_path: "::ferry_sdk::__private::wit_bindgen::rt",
    generate_all,
});
