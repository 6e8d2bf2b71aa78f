//! The engine, linker and compiled-component cache every plugin of a run shares, and the epoch
//! ticker that enforces call deadlines.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine};

use super::cache::ComponentCache;
use super::call::{self, StepCall, StepFailure};
use super::plugin::{LoadError, LoadedPlugin, check_wit_version, sha256_hex};
use super::store::StepData;
use crate::bindings::types::{Outcome, StepContext, Warning};
use crate::bindings::{MigrationPlugin, MigrationPluginPre};

/// How often the epoch advances. A running guest yields to tokio at every tick, so deadlines
/// are enforced to within about this much; 10 ms costs nothing measurable on a tight loop.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Runtime settings that change compiled code or where it is kept.
#[derive(Debug, Clone, Default)]
pub struct RuntimeOptions {
    /// Where compiled components are cached; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// Compile with fuel metering, for steps that set `limits.fuel`. Costs ~30 % compile time.
    pub fuel: bool,
}

/// The engine, linker and cache shared by every plugin of a run.
pub struct Runtime {
    engine: Engine,
    linker: Linker<StepData>,
    cache: ComponentCache,
    fuel: bool,
}

impl Runtime {
    pub fn new(options: RuntimeOptions) -> anyhow::Result<Runtime> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        config.consume_fuel(options.fuel);
        let engine = Engine::new(&config).map_err(anyhow::Error::from)?;
        start_epoch_ticker(&engine)?;

        let mut linker = Linker::<StepData>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(anyhow::Error::from)?;
        MigrationPlugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(anyhow::Error::from)?;
        Ok(Runtime {
            engine,
            linker,
            cache: ComponentCache::new(options.cache_dir),
            fuel: options.fuel,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn has_fuel(&self) -> bool {
        self.fuel
    }

    /// Loads a plugin from bytes: checks, compiles or loads from cache, links, describes.
    /// `pinned` is the sha256 a migration file requires, if any.
    pub async fn load(
        &self,
        origin: &str,
        bytes: &[u8],
        pinned: Option<&str>,
    ) -> Result<Arc<LoadedPlugin>, LoadError> {
        let sha256 = sha256_hex(bytes);
        if let Some(expected) = pinned
            && expected != sha256
        {
            return Err(LoadError::WrongHash {
                origin: origin.into(),
                expected: expected.into(),
                actual: sha256,
            });
        }
        let wit_version = check_wit_version(origin, bytes)?;
        let (component, cache) =
            self.cache
                .load(&self.engine, &sha256, bytes)
                .map_err(|e| LoadError::Other {
                    origin: origin.into(),
                    reason: format!("cannot compile: {e:#}"),
                })?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .and_then(MigrationPluginPre::new)
            .map_err(|e| LoadError::Link {
                origin: origin.into(),
                reason: format!("{e:#}"),
            })?;
        let info = call::describe(self.calls(), &pre)
            .await
            .map_err(|e| LoadError::Other {
                origin: origin.into(),
                reason: format!("`describe` failed: {}", e.message()),
            })?;
        super::plugin::check_info(&info).map_err(|reason| LoadError::Other {
            origin: origin.into(),
            reason,
        })?;
        Ok(Arc::new(LoadedPlugin {
            origin: origin.into(),
            sha256,
            wit_version,
            size: bytes.len(),
            info,
            cache,
            pre,
        }))
    }
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the engine is dropped. A thread of
/// its own, so a busy tokio runtime cannot delay deadlines.
fn start_epoch_ticker(engine: &Engine) -> std::io::Result<()> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("ferry-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .map(drop)
}

impl Runtime {
    fn calls(&self) -> call::Engine<'_> {
        call::Engine {
            engine: &self.engine,
            fuel: self.has_fuel(),
        }
    }

    /// Asks a plugin to check a step config. Runs with no grants.
    pub async fn validate(
        &self,
        plugin: &LoadedPlugin,
        step: &str,
        config: &str,
    ) -> Result<Vec<Warning>, StepFailure> {
        call::validate(self.calls(), plugin, step, config).await
    }

    /// One `step` call. The outcome's state and output are checked for size and for secret
    /// values before the caller journals them.
    pub async fn step(
        &self,
        plugin: &LoadedPlugin,
        call: &StepCall,
        ctx: StepContext,
        state: Option<&str>,
    ) -> Result<Outcome, StepFailure> {
        call::step(self.calls(), plugin, call, ctx, state).await
    }

    /// Best-effort `cleanup` after a failure. Its own failures are only logged.
    pub async fn cleanup(
        &self,
        plugin: &LoadedPlugin,
        call: &StepCall,
        ctx: StepContext,
        state: Option<&str>,
    ) -> Result<(), StepFailure> {
        call::cleanup(self.calls(), plugin, call, ctx, state).await
    }
}
