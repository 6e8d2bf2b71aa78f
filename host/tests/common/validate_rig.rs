//! The rig of the `validate` tests: the native-restore rig's servers, a source seeded with a
//! keyed table, a keyless one and a user, and a migration whose wave restores each database
//! and then validates it in a step of its own.

use std::time::{Duration, Instant};

use ferry_emulator::instance::Tamper;
use ferry_emulator::{Fault, FaultAction};
use serde_json::Value;

use super::native_rig::Rig;

/// The validate step's first read of the target (its properties query), held by the rig.
const FIRST_TARGET_READ: &str = "is_accelerated_database_recovery_on FROM sys.databases";

/// A change made to the target during [`ValidateRig::apply_changing_target`].
pub enum Change {
    /// Rows of `dbo.<table>` changed past the change log.
    Tamper(&'static str, Tamper),
    /// `dbo.<table>` marked corrupt for DBCC CHECKDB.
    Corrupt(&'static str),
}

/// Rows of `dbo.Orders` the seed writes (keys 1..=ORDERS).
pub const ORDERS: i64 = 600;

/// The validate rig: [`Rig`] with the two-step migration written over its own.
pub struct ValidateRig {
    pub rig: Rig,
}

/// A migration that restores `dbs` natively and then runs `validate` with `config` (the
/// inside of an inline TOML table, e.g. `depth = "full"`).
fn migration(dbs: &[&str], config: &str) -> String {
    let list = dbs
        .iter()
        .map(|d| format!("\"{d}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "databases = [{list}]\n[migration]\nname = \"validated\"\n\
         [plugins.native]\nbundled = \"native-restore\"\n\
         [plugins.validate]\nbundled = \"validate\"\n\
         [[steps]]\nname = \"restore\"\nplugin = \"native\"\n\
         [steps.grants]\nsql = [\"source\", \"target\"]\nstorage = [\"backups\", \"share:read\"]\n\
         [[steps]]\nname = \"validate\"\nplugin = \"validate\"\nconfig = {{ {config} }}\n\
         [steps.grants]\nsql = [\"source:read\", \"target\"]\n"
    )
}

impl ValidateRig {
    /// Source databases `dbs`, each seeded by [`seed`]; `config` is the validate step's.
    pub async fn new(dbs: &[&str], config: &str) -> ValidateRig {
        let rig = Rig::new(dbs, "").await;
        for db in dbs {
            rig.on_source(&seed(db));
        }
        std::fs::write(rig.site.migration(), migration(dbs, config)).unwrap();
        ValidateRig { rig }
    }

    /// `ferry apply` of a second migration, `revalidate.toml`, with only a validate step of
    /// `config` over `dbs` (its own run and state, as an operator validates again later).
    pub async fn revalidate(
        &self,
        dbs: &[&str],
        config: &str,
    ) -> (std::process::Output, Vec<Value>, String) {
        let full = migration(dbs, config).replace("name = \"validated\"", "name = \"revalidated\"");
        let (head, _) = full.split_once("[[steps]]").unwrap_or_default();
        let (_, validate) = full
            .split_once("\n[[steps]]\nname = \"validate\"")
            .unwrap_or_default();
        let only = format!("{head}[[steps]]\nname = \"validate\"{validate}");
        std::fs::write(self.rig.site.path("revalidate.toml"), only).unwrap();
        self.rig
            .ferry(&["apply", "--json", "revalidate.toml"])
            .await
    }

    /// `ferry apply --json migration.toml`: its output, events and text.
    pub async fn apply(&self) -> (std::process::Output, Vec<Value>, String) {
        self.rig.ferry(&["apply", "--json", "migration.toml"]).await
    }

    /// `ferry apply` in which `changes` are made to `db` on the target once the restore has
    /// brought it online and before the validate step reads it: the step's first read of the
    /// target is held (an injected delay) while the test changes the target through the hooks
    /// behind the control API's `POST /tables/{db}/{schema}/{table}/tamper` and `…/corrupt`.
    pub async fn apply_changing_target(
        &self,
        db: &str,
        changes: Vec<Change>,
    ) -> (std::process::Output, Vec<Value>, String) {
        self.rig.mi.inject(Fault {
            pattern: FIRST_TARGET_READ.into(),
            action: FaultAction::Delay(Duration::from_secs(3)),
            times: Some(1),
        });
        let change = async {
            let deadline = Instant::now() + Duration::from_secs(120);
            while self.rig.state(db) != "ONLINE" {
                assert!(
                    Instant::now() < deadline,
                    "{db} never came online on the target"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            for c in changes {
                match c {
                    Change::Tamper(table, t) => {
                        let n = self.rig.mi.tamper(db, "dbo", table, &t).await.unwrap();
                        assert!(n > 0, "the tamper changed no row of {db}.dbo.{table}");
                    }
                    Change::Corrupt(table) => self
                        .rig
                        .mi
                        .set_table_corrupt(db, "dbo", table, true)
                        .await
                        .unwrap(),
                }
            }
        };
        let (out, ()) = tokio::join!(self.apply(), change);
        out
    }
}

/// The seed of database `db`: `dbo.Orders` with a primary key, `dbo.Notes` without a key.
pub fn seed(db: &str) -> String {
    let rows: Vec<String> = (1..=ORDERS)
        .map(|i| {
            format!(
                "({i}, {}, N'order {i}', CAST({i}.25 AS decimal(9, 2)))",
                i % 17
            )
        })
        .collect();
    format!(
        "CREATE TABLE [{db}].dbo.Orders (Id int NOT NULL PRIMARY KEY, Qty int NOT NULL, \
         Note nvarchar(40) NULL, Price decimal(9, 2) NULL); \
         INSERT INTO [{db}].dbo.Orders VALUES {}; \
         CREATE TABLE [{db}].dbo.Notes (Msg nvarchar(40) NULL, Seq int NULL); \
         INSERT INTO [{db}].dbo.Notes VALUES (N'a', 1), (N'b', 2), (NULL, 3)",
        rows.join(", ")
    )
}

/// The `row` events of the validate step for `db`.
pub fn validate_rows<'a>(events: &'a [Value], db: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["event"] == "row" && e["item"] == db && e["step"] == "validate")
        .collect()
}
