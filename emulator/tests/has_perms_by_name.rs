//! HAS_PERMS_BY_NAME on the server ("HAS_PERMS_BY_NAME (Transact-SQL)"): the caller's
//! effective permission — sysadmin has all, DENY wins, CONTROL SERVER implies the rest — and
//! NULL for a permission that is not a server permission.

mod common;

use common::*;
use ferry_emulator::TlsMode;
use tiberius::{AuthMethod, EncryptionLevel};

async fn perm(c: &mut C, permission: &str) -> Option<i32> {
    one_row(
        c,
        &format!("SELECT HAS_PERMS_BY_NAME(NULL, NULL, '{permission}')"),
    )
    .await
    .get::<i32, _>(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_permissions_in_effect_for_the_caller() {
    let r = start(sql2019(), TlsMode::Optional).await;
    let mut sa = connect(&r).await;
    assert_eq!(perm(&mut sa, "CONTROL SERVER").await, Some(1));
    assert_eq!(perm(&mut sa, "NOT A PERMISSION").await, None);
    exec(
        &mut sa,
        "CREATE LOGIN dms_reader WITH PASSWORD = 'Dms#Reader-2026'",
    )
    .await;
    let login = || async {
        connect_with(
            &r,
            AuthMethod::sql_server("dms_reader", "Dms#Reader-2026"),
            EncryptionLevel::Required,
        )
        .await
        .unwrap()
    };
    let mut c = login().await;
    assert_eq!(perm(&mut c, "CONTROL SERVER").await, Some(0));
    assert_eq!(perm(&mut c, "VIEW SERVER STATE").await, Some(0));
    exec(&mut sa, "GRANT CONTROL SERVER TO dms_reader").await;
    assert_eq!(perm(&mut c, "CONTROL SERVER").await, Some(1));
    assert_eq!(perm(&mut c, "VIEW SERVER STATE").await, Some(1), "implied");
    exec(&mut sa, "DENY VIEW SERVER STATE TO dms_reader").await;
    assert_eq!(
        perm(&mut c, "VIEW SERVER STATE").await,
        Some(0),
        "DENY wins"
    );
    // Other securables are not modelled: refused, not answered wrongly.
    assert!(
        c.simple_query("SELECT HAS_PERMS_BY_NAME('master', 'DATABASE', 'CONNECT')")
            .await
            .is_err()
    );
}
