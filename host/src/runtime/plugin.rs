//! Loading a plugin: checking it is a component built for a WIT version this host speaks,
//! compiling (or loading from cache), linking once into an `InstancePre`, and asking it to
//! describe itself.

use sha2::{Digest, Sha256};

use crate::bindings::MigrationPluginPre;
use crate::bindings::types::PluginInfo;
use crate::runtime::cache::CacheUse;
use crate::runtime::store::StepData;

/// The WIT version this host implements.
pub const HOST_WIT_VERSION: (u32, u32, u32) = (0, 1, 0);
/// The custom section the SDK writes the plugin's WIT version into.
pub const WIT_VERSION_SECTION: &str = "ferry:wit-version";

/// A plugin ready to instantiate.
pub struct LoadedPlugin {
    /// Where it came from: "bundled:NAME" or a path.
    pub origin: String,
    pub sha256: String,
    pub wit_version: String,
    pub size: usize,
    pub info: PluginInfo,
    pub cache: CacheUse,
    pub(crate) pre: MigrationPluginPre<StepData>,
}

/// Why a plugin could not be loaded. Each message names the plugin and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{origin}: not a WebAssembly file")]
    NotWasm { origin: String },
    #[error(
        "{origin}: this is a core WebAssembly module, not a component; build the plugin with `cargo build --target wasm32-wasip2` against ferry-sdk"
    )]
    CoreModule { origin: String },
    #[error(
        "{origin}: names no `ferry:plugin` interface among its imports and exports (and has no `ferry:wit-version` section), so it is not a ferry plugin; build it against the WIT package in ferry's wit/ directory, or with ferry-sdk's `register!`"
    )]
    NoVersion { origin: String },
    #[error(
        "{origin}: was built for ferry WIT {plugin}, newer than the {host} this ferry speaks; upgrade ferry, or rebuild the plugin with ferry-sdk {host}"
    )]
    TooNew {
        origin: String,
        plugin: String,
        host: String,
    },
    #[error(
        "{origin}: was built for ferry WIT {plugin}, which this ferry ({host}) cannot run; rebuild the plugin with ferry-sdk {host}"
    )]
    Incompatible {
        origin: String,
        plugin: String,
        host: String,
    },
    #[error(
        "{origin}: sha256 is {actual}, but its `sha256` pins {expected}; if the new file is trusted, update that `sha256`"
    )]
    WrongHash {
        origin: String,
        expected: String,
        actual: String,
    },
    #[error("{origin}: cannot be linked against ferry's interfaces: {reason}")]
    Link { origin: String, reason: String },
    #[error("no bundled plugin is called `{name}` (bundled: {bundled})")]
    UnknownBundled { name: String, bundled: String },
    #[error("cannot read {origin}: {reason}")]
    Unreadable { origin: String, reason: String },
    #[error("{origin}: {reason}")]
    Other { origin: String, reason: String },
}

impl LoadError {
    /// The plugin is well-formed but this ferry will not run it (built for a newer WIT): the
    /// input is not wrong, ferry is too old, so the CLI exits with "refused", not "invalid".
    pub fn is_refusal(&self) -> bool {
        matches!(self, LoadError::TooNew { .. })
    }
}

/// Checks what `describe` returned before anything prints or stores it: a plugin's name goes
/// into file names and grants, and every string ends up on a terminal or in the journal.
pub fn check_info(info: &PluginInfo) -> Result<(), String> {
    let name_ok = !info.name.is_empty()
        && info.name.len() <= 64
        && info
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !name_ok {
        return Err(format!(
            "`describe` returned the name `{}`; a plugin name is 1–64 characters of a-z, 0-9 and `-`",
            info.name
                .chars()
                .take(80)
                .collect::<String>()
                .escape_default()
        ));
    }
    let limits: [(&str, usize, usize); 3] = [
        ("version", info.version.len(), 64),
        ("summary", info.summary.len(), 1024),
        ("config schema", info.config_schema.len(), 256 << 10),
    ];
    for (what, len, max) in limits {
        if len > max {
            return Err(format!(
                "`describe` returned a {what} of {len} bytes; the limit is {max}"
            ));
        }
    }
    if info.needs.len() > 64 {
        return Err(format!(
            "`describe` lists {} capability needs; the limit is 64",
            info.needs.len()
        ));
    }
    for n in &info.needs {
        if n.label.is_empty() || n.label.len() > 128 || n.why.len() > 1024 {
            return Err(format!(
                "`describe` lists a need with a label of {} bytes and a reason of {} bytes; labels are 1–128 bytes, reasons at most 1024",
                n.label.len(),
                n.why.len()
            ));
        }
    }
    Ok(())
}

/// The sha256 of a file's bytes, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Checks the bytes are a component and reads its WIT version, without compiling anything.
pub fn check_wit_version(origin: &str, bytes: &[u8]) -> Result<String, LoadError> {
    if !wasmparser::Parser::is_component(bytes) {
        return Err(if wasmparser::Parser::is_core_wasm(bytes) {
            LoadError::CoreModule {
                origin: origin.into(),
            }
        } else {
            LoadError::NotWasm {
                origin: origin.into(),
            }
        });
    }
    // The interfaces a component imports and exports carry the package's version in their
    // names (`ferry:plugin/tsql@0.1.0`): that is what it was built against, in any language.
    // The Rust SDK also writes a `ferry:wit-version` section; it is only read when the names
    // carry no version (a component that imports and exports no ferry interface).
    let mut section = None;
    let mut named: Vec<String> = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| LoadError::Other {
            origin: origin.into(),
            reason: format!("malformed component: {e}"),
        })?;
        let malformed = |e: wasmparser::BinaryReaderError| LoadError::Other {
            origin: origin.into(),
            reason: format!("malformed component: {e}"),
        };
        match payload {
            wasmparser::Payload::CustomSection(s) if s.name() == WIT_VERSION_SECTION => {
                section = Some(s.data().to_vec());
            }
            wasmparser::Payload::ComponentImportSection(r) => {
                for import in r {
                    named.extend(package_version(import.map_err(malformed)?.name.name));
                }
            }
            wasmparser::Payload::ComponentExportSection(r) => {
                for export in r {
                    named.extend(package_version(export.map_err(malformed)?.name.name));
                }
            }
            _ => {}
        }
    }
    named.sort_by_key(|v| parse_version(v));
    let text = match (named.last(), section) {
        (Some(v), _) => v.clone(),
        (None, Some(raw)) => String::from_utf8_lossy(&raw)
            .trim_end_matches('\0')
            .to_owned(),
        (None, None) => {
            return Err(LoadError::NoVersion {
                origin: origin.into(),
            });
        }
    };
    let parsed = parse_version(&text).ok_or_else(|| LoadError::Other {
        origin: origin.into(),
        reason: format!(
            "its `ferry:wit-version` section holds `{}`, not a version",
            text.escape_default()
        ),
    })?;
    let host = format!(
        "{}.{}.{}",
        HOST_WIT_VERSION.0, HOST_WIT_VERSION.1, HOST_WIT_VERSION.2
    );
    if parsed > HOST_WIT_VERSION {
        return Err(LoadError::TooNew {
            origin: origin.into(),
            plugin: text,
            host,
        });
    }
    // 0.x: only patch releases are compatible (additive changes, `@since`).
    if parsed.0 != HOST_WIT_VERSION.0 || parsed.1 != HOST_WIT_VERSION.1 {
        return Err(LoadError::Incompatible {
            origin: origin.into(),
            plugin: text,
            host,
        });
    }
    Ok(text)
}

/// The version in an import or export name of the `ferry:plugin` package
/// (`ferry:plugin/tsql@0.1.0` → `0.1.0`); other packages' names (WASI's) give none.
fn package_version(name: &str) -> Option<String> {
    let rest = name.strip_prefix("ferry:plugin/")?;
    let (_, version) = rest.split_once('@')?;
    Some(version.to_owned())
}

fn parse_version(s: &str) -> Option<(u32, u32, u32)> {
    let mut it = s.split('.').map(|p| p.parse::<u32>().ok());
    let v = (it.next()??, it.next()??, it.next()??);
    it.next().is_none().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_package_version_comes_from_ferry_interface_names_only() {
        assert_eq!(
            package_version("ferry:plugin/tsql@0.1.0").as_deref(),
            Some("0.1.0")
        );
        assert_eq!(
            package_version("ferry:plugin/plugin@0.2.1").as_deref(),
            Some("0.2.1")
        );
        assert_eq!(package_version("wasi:io/streams@0.2.6"), None);
        assert_eq!(package_version("ferry:plugin/tsql"), None);
    }

    #[test]
    fn versions() {
        assert_eq!(parse_version("0.1.0"), Some((0, 1, 0)));
        assert_eq!(parse_version("0.1"), None);
        assert_eq!(parse_version("0.1.0.1"), None);
        assert_eq!(parse_version("a.b.c"), None);
    }

    fn info(name: &str) -> PluginInfo {
        PluginInfo {
            name: name.into(),
            version: "1.0.0".into(),
            summary: "s".into(),
            config_schema: "{}".into(),
            needs: vec![],
        }
    }

    #[test]
    fn describe_answers_are_bounded() {
        assert!(check_info(&info("native-restore")).is_ok());
        for bad in ["", "Upper", "has space", "../x", &"a".repeat(65)] {
            assert!(check_info(&info(bad)).is_err(), "{bad:?}");
        }
        let mut big = info("ok");
        big.config_schema = "x".repeat(300 << 10);
        assert!(check_info(&big).unwrap_err().contains("config schema"));
    }

    #[test]
    fn refuses_non_components() {
        assert!(matches!(
            check_wit_version("x", b"not wasm at all"),
            Err(LoadError::NotWasm { .. })
        ));
        let core = b"\0asm\x01\0\0\0";
        assert!(matches!(
            check_wit_version("x", core),
            Err(LoadError::CoreModule { .. })
        ));
    }
}
