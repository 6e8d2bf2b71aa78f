//! The `migration.toml` drafts: the databases grouped by the method picked for each, one file
//! per method (a migration's step runs for every database in it, so databases that go by
//! different methods go in different migrations). Each is valid for the host's format
//! (`host/src/config/migration.rs`: [migration], [[waves]], [plugins.*], [[steps]] with
//! config and grants) and for its plugin's config; the labels are the examples' (`source`,
//! `target`, `mi`, `backups`), and what only the user knows is `CHANGE-ME`.

use serde::{Deserialize, Serialize};

use crate::methods::Choice;
use crate::rules::Method;

/// One draft file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub file: String,
    pub method: Method,
    pub databases: Vec<String>,
    pub text: String,
}

/// A TOML string literal (quotes and escapes as TOML has them).
fn lit(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| lit(s)).collect();
    format!("[{}]", quoted.join(", "))
}

/// Comment lines: every line of `text` prefixed with `# `.
fn comment(text: &str) -> String {
    text.lines().map(|l| format!("# {l}\n")).collect()
}

/// The step (plugin, config and grants) each method needs, with the examples' labels.
fn step(method: Method) -> (&'static str, &'static str) {
    match method {
        Method::Native => (
            "native-restore",
            "[steps.config]\nsource = \"source\"\ntarget = \"target\"\nbackups = \"backups\"\n\
             mode = \"backup-to-url\"\nfolder = \"{db}\"\ntarget_name = \"{db}\"\n\n\
             [steps.grants]\nsql = [\"source\", \"target\"]\nstorage = [\"backups\"]\n",
        ),
        Method::Lrs => (
            "lrs",
            "[steps.config]\nsource = \"source\"\nazure = \"mi\"\nbackups = \"backups\"\n\
             folder = \"{db}\"\ntarget_name = \"{db}\"\nbackups_from = \"ferry\"\n\
             mode = \"continuous\"\n\n\
             [steps.grants]\nsql = [\"source\"]\nazure = [\"mi\"]\nstorage = [\"backups\"]\n",
        ),
        Method::MiLink => (
            "mi-link",
            "[steps.config]\nsource = \"source\"\ntarget = \"target\"\nazure = \"mi\"\n\
             # The address the Managed Instance reaches SQL Server at.\n\
             source_address = \"CHANGE-ME\"\ncreate_master_key = true\n\n\
             [steps.grants]\nsql = [\"source\", \"target\"]\nazure = [\"mi\"]\n",
        ),
        Method::Dms => (
            "dms",
            "[steps.config]\nservice_azure = \"rg\"\nservice_name = \"ferry-dms\"\n\
             mode = \"online\"\n\
             # Where DMS's integration runtime reaches the source, and as whom.\n\
             source_data_source = \"CHANGE-ME\"\nsource_user = \"CHANGE-ME\"\n\
             source_password_secret = \"source-password\"\n\
             blob = { storage_account_id = \"/subscriptions/CHANGE-ME/resourceGroups/CHANGE-ME/providers/Microsoft.Storage/storageAccounts/changeme\", container = \"migrations\", account_key_secret = \"storage-key\" }\n\n\
             [steps.grants]\nsql = [\"source\", \"target\"]\nazure = [\"mi\", \"rg\"]\n\
             secrets = [\"source-password\", \"storage-key\"]\n",
        ),
    }
}

/// One draft per method picked, in the order of [`Method::ALL`]; the databases no method can
/// move are named in each draft's header.
pub fn drafts(instance: &str, choices: &[Choice]) -> Vec<Draft> {
    let stuck: Vec<&Choice> = choices.iter().filter(|c| c.pick.is_none()).collect();
    let mut out = Vec::new();
    for method in Method::ALL {
        let mine: Vec<&Choice> = choices.iter().filter(|c| c.pick == Some(method)).collect();
        if mine.is_empty() {
            continue;
        }
        let databases: Vec<String> = mine.iter().map(|c| c.database.clone()).collect();
        let mut text = comment(&format!(
            "A draft ferry's `assess` step wrote for {instance}: the databases it would move with \
             {}. Review it, replace every CHANGE-ME, and define the labels in environment.toml \
             before `ferry plan`.",
            method.key()
        ));
        text.push_str("#\n");
        for c in mine.iter().filter(|c| !c.rationale.is_empty()) {
            text.push_str(&comment(&c.rationale));
        }
        if !stuck.is_empty() {
            text.push_str("#\n");
            text.push_str(&comment(&format!(
                "Not in any draft until their blockers are fixed: {}.",
                stuck
                    .iter()
                    .map(|c| c.database.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let (plugin, config) = step(method);
        text.push_str(&format!(
            "\n[migration]\nname = {}\n\n[[waves]]\nname = \"first\"\ndatabases = {}\n\n\
             [plugins.{key}]\nbundled = \"{plugin}\"\n\n[[steps]]\nname = \"{key}\"\n\
             plugin = \"{key}\"\n\n{config}",
            lit(&format!("assess-{}", method.key())),
            list(&databases),
            key = method.key(),
        ));
        out.push(Draft {
            file: format!("migration-{}.toml", method.key()),
            method,
            databases,
            text,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(db: &str, pick: Option<Method>) -> Choice {
        Choice {
            database: db.into(),
            size_gb: 1,
            methods: Default::default(),
            pick,
            rationale: format!("{db}: why\nsecond line"),
        }
    }

    #[test]
    fn databases_are_grouped_by_method_and_the_stuck_ones_named() {
        let d = drafts(
            "SRV01",
            &[
                choice("A\"b", Some(Method::Lrs)),
                choice("C", Some(Method::Native)),
                choice("D", Some(Method::Lrs)),
                choice("E", None),
            ],
        );
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].method, Method::Lrs);
        assert_eq!(d[0].databases, ["A\"b", "D"]);
        let v: toml::Table = toml::from_str(&d[0].text).unwrap();
        assert_eq!(v["waves"][0]["databases"][0].as_str(), Some("A\"b"));
        assert_eq!(v["plugins"]["lrs"]["bundled"].as_str(), Some("lrs"));
        assert!(d[0].text.contains("# second line"));
        assert!(d[0].text.contains("blockers are fixed: E."));
        assert_eq!(d[1].file, "migration-native.toml");
    }
}
