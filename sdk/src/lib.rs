//! # ferry-sdk
//!
//! Everything a ferry migration plugin depends on. A plugin is a type implementing [`Plugin`]:
//! a resumable state machine whose [`Plugin::step`] does a bounded piece of work for one work
//! item (usually a database) and returns [`Outcome::Next`], [`Outcome::Wait`] or
//! [`Outcome::Done`]. Capabilities (T-SQL, storage, secrets, Azure, logs, progress, report
//! rows) are reached through the [`Context`]; the host grants them by label.
//!
//! ```ignore
//! use ferry_sdk::prelude::*;
//!
//! #[derive(Default)]
//! struct Hello;
//!
//! impl Plugin for Hello {
//!     const NAME: &'static str = "hello";
//!     const VERSION: &'static str = env!("CARGO_PKG_VERSION");
//!     const SUMMARY: &'static str = "Says hello to each database";
//!     type Config = serde_json::Value;
//!     type State = ();
//!     fn step(cx: &mut Context<'_, Self::Config>, _state: ()) -> Result<Outcome<()>> {
//!         cx.info(&format!("hello, {}", cx.item()));
//!         Ok(Outcome::done())
//!     }
//! }
//!
//! ferry_sdk::register!(Hello);
//! ```
//!
//! Plugin logic is unit-tested natively with [`fake::FakeHost`]; the same code runs on the real
//! host when built with `cargo build --target wasm32-wasip2`.

#![deny(missing_docs)]

extern crate self as ferry_sdk;

pub mod arm_errors;
#[doc(hidden)]
pub mod bindings;
pub mod blob_names;
mod config_schema;
mod context;
mod credentials;
pub mod entra;
mod errors;
pub mod fake;
mod handles;
mod host;
pub mod link_versions;
mod mi_facts;
pub mod mi_limits;
mod phases;
mod plugin;
mod runner;
mod source_db;
pub mod sql_value;
pub mod sql_version;
pub mod striping;
pub mod tsql_text;
pub mod url_errors;
mod wasm_host;
mod wit;

pub use config_schema::{config_schema, stated_and_real_defaults};
pub use context::Context;
pub use errors::{Error, Result};
pub use handles::{Cell, Container, Param, ParamValue, SealedRowSet, Secret, SqlConnection};
pub use host::Host;
pub use phases::{Phases, now_ms};
pub use plugin::{Outcome, Plugin, WaitFor, need};
pub use runner::{parse_config, run_cleanup, run_step};
pub use source_db::SourceDatabase;

pub use wit::*;

/// The WIT package version this SDK was built against. The host reads it from the plugin's
/// `ferry:wit-version` custom section and refuses plugins built for a newer WIT.
pub const WIT_VERSION: &str = "0.1.0";

/// [`WIT_VERSION`] zero-padded to the fixed size of the custom section.
#[doc(hidden)]
pub const WIT_VERSION_SECTION: [u8; 16] = {
    let mut out = [0u8; 16];
    let v = WIT_VERSION.as_bytes();
    let mut i = 0;
    while i < v.len() {
        out[i] = v[i];
        i += 1;
    }
    out
};

/// The usual imports for a plugin crate.
pub mod prelude {
    pub use crate::{
        Access, CapabilityKind, CapabilityNeed, Context, Error, Level, ObjectRow, ObjectStatus,
        Outcome, Plugin, ProgressUpdate, Result, WaitFor, Warning, need,
    };
}

#[doc(hidden)]
pub mod __private {
    pub use crate::bindings;
    pub use crate::wasm_host::Adapter;
    pub use wit_bindgen;
}

/// Exports a [`Plugin`] as the plugin's component. Use once per plugin crate, at the top level.
///
/// It also records the WIT version the plugin was built against in the `ferry:wit-version`
/// custom section, which the host checks before loading the plugin.
#[macro_export]
macro_rules! register {
    ($plugin:ty) => {
        // Exported only in the wasm build: natively the plugin is an ordinary library tested
        // with FakeHost, and WIT export names are not valid native symbol names.
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __FerryPluginAdapter = $crate::__private::Adapter<$plugin>;
            $crate::__private::bindings::__export_plugin_world!(
                __FerryPluginAdapter with_types_in $crate::__private::bindings
            );
            // `unsafe(link_section)` is how Rust places bytes in a named custom section; the
            // section holds plain bytes that nothing executes.
            #[unsafe(link_section = "ferry:wit-version")]
            #[used]
            static __FERRY_WIT_VERSION: [u8; 16] = $crate::WIT_VERSION_SECTION;
        };
    };
}
