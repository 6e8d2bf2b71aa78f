//! The database master key of `master` ("CREATE MASTER KEY", "sys.symmetric_keys"): made once
//! (15578 the second time), shown with id 101, and needed before a certificate whose private key
//! it protects (15581), as the link guide's scripts assume.

mod common;

use common::*;
use ferry_emulator::TlsMode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_key_is_made_once_and_protects_certificates() {
    let r = start(sql2019(), TlsMode::Optional).await;
    let mut c = connect(&r).await;
    let none = c
        .simple_query("SELECT COUNT(*) FROM master.sys.symmetric_keys WHERE symmetric_key_id = 101")
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(none.get::<i32, _>(0), Some(0));

    let err = c
        .simple_query("CREATE CERTIFICATE NoKey WITH SUBJECT = 'no master key'")
        .await
        .expect_err("a certificate the master key would protect needs one");
    assert!(
        err.to_string().contains("15581") || err.to_string().contains("create a master key"),
        "{err}"
    );
    // One protected by a password needs none.
    c.simple_query("CREATE CERTIFICATE WithPassword ENCRYPTION BY PASSWORD = 'Cert#Pa55word' WITH SUBJECT = 'own password'")
        .await
        .unwrap();

    c.simple_query("CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Master#Key-2026'")
        .await
        .unwrap();
    let row = c
        .simple_query("SELECT name, key_length, algorithm_desc FROM master.sys.symmetric_keys WHERE symmetric_key_id = 101")
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.get::<&str, _>(0), Some("##MS_DatabaseMasterKey##"));
    assert_eq!(row.get::<i32, _>(1), Some(256));
    assert_eq!(row.get::<&str, _>(2), Some("AES_256"));

    let again = c
        .simple_query("CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Another#Key-2026'")
        .await
        .expect_err("a second master key is refused");
    assert!(
        again.to_string().contains("already a master key"),
        "{again}"
    );
    c.simple_query("CREATE CERTIFICATE Endpoint WITH SUBJECT = 'endpoint'")
        .await
        .unwrap();
}
