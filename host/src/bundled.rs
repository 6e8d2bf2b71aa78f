//! Plugins that travel inside the `ferry` binary (built by `build.rs`).

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// The bytes of a bundled plugin.
pub fn get(name: &str) -> Option<&'static [u8]> {
    BUNDLED.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}

/// The names of all bundled plugins.
pub fn names() -> Vec<&'static str> {
    BUNDLED.iter().map(|(n, _)| *n).collect()
}
