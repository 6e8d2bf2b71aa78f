//! Compiled components on disk, so a plugin is compiled by Cranelift once per ferry version
//! rather than on every run (~100 ms release, seconds in a debug build, vs < 1 ms to load).
//!
//! Files are named by the wasm's sha256 and the engine's compatibility hash (wasmtime version,
//! target, and codegen settings such as fuel), so a changed plugin or engine never loads a stale
//! artefact. Only files this cache wrote are ever deserialized: they live in ferry's own cache
//! directory and are written to a temporary name, then renamed, so a crash leaves no torn file.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where compiled components are kept; `None` compiles every time.
#[derive(Debug, Clone)]
pub struct ComponentCache {
    dir: Option<PathBuf>,
}

/// Whether a load came from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheUse {
    Hit,
    Miss,
    Disabled,
}

impl ComponentCache {
    pub fn new(dir: Option<PathBuf>) -> Self {
        ComponentCache { dir }
    }

    /// The default cache directory: `$FERRY_CACHE_DIR`, else `$XDG_CACHE_HOME/ferry`, else
    /// `~/.cache/ferry`.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(d) = std::env::var_os("FERRY_CACHE_DIR") {
            return Some(PathBuf::from(d));
        }
        if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
            return Some(Path::new(&d).join("ferry"));
        }
        std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache").join("ferry"))
    }

    fn file_for(&self, engine: &Engine, sha256: &str) -> Option<PathBuf> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        self.dir
            .as_ref()
            .map(|d| d.join(format!("{sha256}-{:016x}.cwasm", h.finish())))
    }

    /// Loads the compiled form of `wasm` (whose sha256 is `sha256`), compiling and storing it
    /// on a miss. A cache that cannot be written only costs time.
    pub fn load(
        &self,
        engine: &Engine,
        sha256: &str,
        wasm: &[u8],
    ) -> anyhow::Result<(Component, CacheUse)> {
        let Some(file) = self.file_for(engine, sha256) else {
            return Ok((
                Component::new(engine, wasm).map_err(anyhow::Error::from)?,
                CacheUse::Disabled,
            ));
        };
        if file.is_file() {
            // SAFETY: wasmtime requires `unsafe` because a .cwasm is machine code it will run.
            // This file was written by `store` below (from wasmtime's own serializer) into
            // ferry's private cache directory, under a name that pins the wasm's sha256 and the
            // engine's compatibility hash; wasmtime still checks its header and version. It is
            // mapped, not copied (half the load time); `store` only ever replaces a cache file by
            // renaming a new one over it, so a mapped file is never truncated under a running
            // ferry.
            match unsafe { Component::deserialize_file(engine, &file) } {
                Ok(c) => return Ok((c, CacheUse::Hit)),
                Err(e) => {
                    tracing::warn!(file = %file.display(), "ignoring unusable compiled plugin: {e}")
                }
            }
        }
        let component = Component::new(engine, wasm).map_err(anyhow::Error::from)?;
        if let Err(e) = store(&file, &component) {
            tracing::warn!(file = %file.display(), "cannot cache compiled plugin: {e:#}");
        }
        Ok((component, CacheUse::Miss))
    }
}

fn store(file: &Path, component: &Component) -> anyhow::Result<()> {
    let dir = file.parent().context("cache file has no directory")?;
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    let bytes = component.serialize().map_err(anyhow::Error::from)?;
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, file)?;
    Ok(())
}
