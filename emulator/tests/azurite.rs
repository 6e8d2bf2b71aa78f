//! Azurite and the emulator's blob layer: our account-key SAS is accepted, permissions and
//! signatures are enforced, and blobs round-trip.

use ferry_emulator::azurite::{self, Azurite};
use ferry_emulator::blob::{self, BlobError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sas_permissions_are_enforced_by_azurite() {
    let az = Azurite::start().unwrap();
    az.create_container("backups").await.unwrap();
    let write = azurite::container_sas(
        azurite::ACCOUNT,
        azurite::ACCOUNT_KEY,
        "backups",
        "racwl",
        "2099-01-01T00:00:00Z",
    )
    .unwrap();
    let read = azurite::container_sas(
        azurite::ACCOUNT,
        azurite::ACCOUNT_KEY,
        "backups",
        "rl",
        "2099-01-01T00:00:00Z",
    )
    .unwrap();
    let loc = blob::locate(&format!("{}/Sales/full.bak", az.container_url("backups"))).unwrap();

    blob::upload(&loc, &write, vec![7u8; 100_000], false)
        .await
        .unwrap();
    assert_eq!(
        blob::download(&loc, &read).await.unwrap(),
        vec![7u8; 100_000]
    );
    assert_eq!(
        blob::upload(&loc, &write, vec![1], false)
            .await
            .unwrap_err(),
        BlobError::Exists,
        "no overwrite without FORMAT"
    );
    blob::upload(&loc, &write, vec![1], true).await.unwrap();
    assert_eq!(
        blob::upload(&loc, &read, vec![1], true).await.unwrap_err(),
        BlobError::AccessDenied,
        "a read/list SAS cannot write"
    );
    let forged = read.replace("sig=", "sig=AAAA");
    assert_eq!(
        blob::download(&loc, &forged).await.unwrap_err(),
        BlobError::AccessDenied
    );
    let expired = azurite::container_sas(
        azurite::ACCOUNT,
        azurite::ACCOUNT_KEY,
        "backups",
        "rl",
        "2001-01-01T00:00:00Z",
    )
    .unwrap();
    assert_eq!(
        blob::download(&loc, &expired).await.unwrap_err(),
        BlobError::AccessDenied
    );
    // Larger than one block: staged in 8 MiB blocks and committed as one list.
    let big: Vec<u8> = (0..20_000_000u32).map(|i| (i % 251) as u8).collect();
    let big_loc = blob::locate(&format!("{}/Sales/big.bak", az.container_url("backups"))).unwrap();
    blob::upload(&big_loc, &write, big.clone(), false)
        .await
        .unwrap();
    assert_eq!(blob::download(&big_loc, &read).await.unwrap(), big);
    assert_eq!(
        blob::upload(&big_loc, &write, big.clone(), false)
            .await
            .unwrap_err(),
        BlobError::Exists
    );
    blob::upload(&big_loc, &write, big[..9_000_000].to_vec(), true)
        .await
        .unwrap();
    assert_eq!(
        blob::download(&big_loc, &read).await.unwrap().len(),
        9_000_000,
        "an overwrite replaces the block list"
    );
    let missing = blob::locate(&format!("{}/nope.bak", az.container_url("backups"))).unwrap();
    assert_eq!(
        blob::download(&missing, &read).await.unwrap_err(),
        BlobError::NotFound
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persistent_azurite_keeps_its_blobs_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let az = Azurite::start_persistent(0, dir.path()).unwrap();
    let port = az.addr.port();
    az.ensure_container("backups").await.unwrap();
    az.ensure_container("backups").await.unwrap();
    let sas = azurite::devstore_container_sas("backups", "racwl").unwrap();
    let loc = blob::locate(&format!("{}/Sales/full.bak", az.container_url("backups"))).unwrap();
    blob::upload(&loc, &sas, vec![9u8; 50_000], false)
        .await
        .unwrap();
    // Written just before the stop: Azurite saves its metadata when it closes on SIGTERM.
    drop(az);

    let az = Azurite::start_persistent(port, dir.path()).unwrap();
    az.ensure_container("backups").await.unwrap();
    assert_eq!(blob::download(&loc, &sas).await.unwrap(), vec![9u8; 50_000]);
}
