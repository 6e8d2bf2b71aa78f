//! The runtime directly: the compile cache, and that a corrupt cache entry costs only time.

mod common;

use ferry_host::runtime::cache::CacheUse;
use ferry_host::runtime::{Runtime, RuntimeOptions};

fn runtime(dir: &std::path::Path) -> Runtime {
    Runtime::new(RuntimeOptions {
        cache_dir: Some(dir.to_owned()),
        fuel: false,
    })
    .unwrap()
}

#[tokio::test]
async fn compiled_plugins_are_cached_and_a_corrupt_entry_is_recompiled() {
    let wasm = std::fs::read(common::fixture("hostile")).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let first = runtime(dir.path())
        .load("hostile", &wasm, None)
        .await
        .unwrap();
    assert_eq!(first.cache, CacheUse::Miss);
    assert_eq!(first.info.name, "hostile");
    let second = runtime(dir.path())
        .load("hostile", &wasm, None)
        .await
        .unwrap();
    assert_eq!(second.cache, CacheUse::Hit);

    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(
        entries[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(&first.sha256)
    );
    // Corrupt it the only way ferry itself replaces files: a new file renamed over the old.
    drop((first, second));
    let garbage = dir.path().join("garbage.tmp");
    std::fs::write(&garbage, b"garbage").unwrap();
    std::fs::rename(&garbage, &entries[0]).unwrap();
    let third = runtime(dir.path())
        .load("hostile", &wasm, None)
        .await
        .unwrap();
    assert_eq!(
        third.cache,
        CacheUse::Miss,
        "a corrupt entry is ignored and rewritten"
    );
    assert_eq!(
        runtime(dir.path())
            .load("hostile", &wasm, None)
            .await
            .unwrap()
            .cache,
        CacheUse::Hit
    );

    // Fuel changes the generated code, so it has its own entry.
    let fuel = Runtime::new(RuntimeOptions {
        cache_dir: Some(dir.path().to_owned()),
        fuel: true,
    })
    .unwrap();
    assert_eq!(
        fuel.load("hostile", &wasm, None).await.unwrap().cache,
        CacheUse::Miss
    );
}
