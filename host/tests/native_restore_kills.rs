//! `ferry apply` SIGKILLed right after each change `native-restore` makes has reached its
//! server, then run again: the database ends migrated exactly once — one BACKUP, one RESTORE,
//! no credential left on either server, the source untouched. The changes are the rows of the
//! table at the top of `plugins/native-restore/src/lib.rs`. The emulator carries each change
//! out and then holds its reply (`Fault::delay_after`), so ferry dies still waiting for it,
//! before the journal can record what came of it.

mod common;

use std::time::Duration;

use common::native_rig::*;
use common::*;
use ferry_emulator::{Fault, Server};

/// Far longer than a test runs: ferry is killed while the reply is held.
const HOLD: Duration = Duration::from_secs(600);

/// Which server a change is made on.
#[derive(Clone, Copy)]
enum On {
    Source,
    Target,
}

impl On {
    fn server(self, rig: &Rig) -> &Server {
        match self {
            On::Source => &rig.src,
            On::Target => &rig.mi,
        }
    }
}

/// Kills the first `ferry apply` right after the first statement containing `change` ran on
/// `on`, runs `apply` again, and checks the database ended migrated once; returns the second
/// run's output.
async fn killed_after(rig: &Rig, on: On, change: &str) -> String {
    let server = on.server(rig);
    server.inject(Fault::delay_after(change, HOLD).times(1));
    let apply = rig.command(&["apply", "--json", "migration.toml"]);
    kill_when(apply, &rig.site.path("killed.log"), || {
        received(server, change) > 0
    })
    .await;

    let (out, _, all) = rig.ferry(&["apply", "--json", "migration.toml"]).await;
    assert!(out.status.success(), "{all}");
    assert_eq!(times_done(&rig.site, "Sales"), 1, "{all}");
    assert_eq!(rig.state("Sales"), "ONLINE", "{all}");
    assert_eq!(rig.count(&rig.mi, "SELECT COUNT(*) FROM [Sales].dbo.T"), 3);
    assert_eq!(
        received(&rig.mi, "RESTORE DATABASE [Sales]"),
        1,
        "one restore reached the MI: {all}"
    );
    for (name, s) in [("source", &rig.src), ("MI", &rig.mi)] {
        assert_eq!(
            rig.count(s, "SELECT COUNT(*) FROM sys.credentials"),
            0,
            "no credential is left on the {name}: {all}"
        );
    }
    assert_eq!(
        Rig::scalar(
            &rig.src,
            "SELECT state_desc FROM sys.databases WHERE name = N'Sales'"
        ),
        Some(ferry_emulator::protocol::types::Value::Text(
            "ONLINE".into()
        )),
        "the source stays as it was"
    );
    assert!(
        !all.contains("could not drop"),
        "a credential already dropped is not a warning: {all}"
    );
    all
}

async fn rig() -> Rig {
    Rig::new(&["Sales"], "").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_after_the_source_credential_was_made_keeps_it_ferrys_to_drop() {
    let rig = rig().await;
    killed_after(&rig, On::Source, "CREATE CREDENTIAL").await;
    assert_eq!(
        received(&rig.src, "CREATE CREDENTIAL"),
        1,
        "the repeat found the credential made"
    );
    assert_eq!(received(&rig.src, "BACKUP DATABASE [Sales]"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_after_the_backup_finds_it_in_msdb_and_takes_no_second() {
    let rig = rig().await;
    let all = killed_after(&rig, On::Source, "BACKUP DATABASE [Sales]").await;
    assert_eq!(
        received(&rig.src, "BACKUP DATABASE [Sales]"),
        1,
        "msdb showed the backup finished: {all}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_after_the_source_credential_was_dropped_does_not_back_up_again() {
    // The failure issue 12 reports: the resumed call ran BACKUP again without the
    // credential (3201) and failed the database for good.
    let rig = rig().await;
    let all = killed_after(&rig, On::Source, "DROP CREDENTIAL").await;
    assert_eq!(
        received(&rig.src, "BACKUP DATABASE [Sales]"),
        1,
        "no second BACKUP: {all}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_after_the_mi_credential_was_made_keeps_it_ferrys_to_drop() {
    let rig = rig().await;
    killed_after(&rig, On::Target, "CREATE CREDENTIAL").await;
    assert_eq!(received(&rig.mi, "CREATE CREDENTIAL"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_after_the_restore_started_follows_it() {
    let rig = rig().await;
    killed_after(&rig, On::Target, "RESTORE DATABASE [Sales]").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_after_the_mi_credential_was_dropped_finishes_once() {
    let rig = rig().await;
    killed_after(&rig, On::Target, "DROP CREDENTIAL").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_while_backups_are_uploaded_from_a_share_uploads_them_again() {
    // An upload has no server reply to hold: ferry is killed once it waits on the upload.
    // Whether the blob had landed or not, the resumed run uploads to the same names again.
    let rig = Rig::new(&["Sales"], "mode = \"share\"\nshare = \"share\"").await;
    rig.backup_to_share("Sales", true);
    let log = rig.site.path("killed.log");
    let apply = rig.command(&["apply", "--json", "migration.toml"]);
    kill_when(apply, &log, || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("uploading backups from the share")
    })
    .await;
    let (out, _, all) = rig.ferry(&["apply", "--json", "migration.toml"]).await;
    assert!(out.status.success(), "{all}");
    assert_eq!(times_done(&rig.site, "Sales"), 1, "{all}");
    assert_eq!(rig.state("Sales"), "ONLINE", "{all}");
    assert_eq!(received(&rig.mi, "RESTORE DATABASE [Sales]"), 1, "{all}");
    assert_eq!(
        rig.count(&rig.mi, "SELECT COUNT(*) FROM sys.credentials"),
        0,
        "{all}"
    );
}
