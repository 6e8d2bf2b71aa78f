//! Loading real files: each limit and each name rule is refused with the file, the line and
//! the limit, and what is within them loads.

use std::path::{Path, PathBuf};

use super::limits::{
    MAX_DATABASES, MAX_ENVIRONMENT_FILE_BYTES, MAX_MIGRATION_FILE_BYTES, MAX_STEPS, MAX_WAVES,
};
use super::{Environment, InputError, Migration, PluginSource};

const STEP: &str = "[[steps]]\nname = \"s\"\nplugin = \"p\"\n";

/// A migration file with `top` before its tables and `rest` after the plugin.
fn migration(top: &str, rest: &str) -> String {
    format!("{top}\n[migration]\nname = \"m\"\n[plugins.p]\nbundled = \"hello-steps\"\n{rest}")
}

fn load_in(dir: &Path, text: &str) -> Result<Migration, InputError> {
    let path = dir.join("migration.toml");
    std::fs::write(&path, text).unwrap();
    Migration::load(&path)
}

fn load(text: &str) -> Result<Migration, InputError> {
    load_in(tempfile::tempdir().unwrap().path(), text)
}

/// The error's `file:line: message`, after checking it names the file.
fn refusal(result: Result<Migration, InputError>) -> String {
    let e = result.expect_err("refused");
    assert!(e.file.ends_with("migration.toml"), "{e}");
    format!("migration.toml:{}: {}", e.line.unwrap_or(0), e.message)
}

fn databases(n: usize) -> String {
    let names: Vec<String> = (0..n).map(|i| format!("\"db{i}\"")).collect();
    format!("databases = [\n{}\n]", names.join(",\n"))
}

#[test]
fn the_largest_migration_the_limits_allow_loads() {
    let m = load(&migration(&databases(MAX_DATABASES), STEP)).unwrap();
    assert_eq!(m.databases().count(), MAX_DATABASES);
}

#[test]
fn one_database_past_the_limit_is_refused_at_its_line() {
    let e = refusal(load(&migration(&databases(MAX_DATABASES + 1), STEP)));
    // Line 1 holds `databases = [`, so database n (from 0) is on line n + 2.
    let line = MAX_DATABASES + 2;
    assert!(
        e.starts_with(&format!("migration.toml:{line}: more than 50000 databases")),
        "{e}"
    );
    assert!(e.contains("\"Limits\" in the README"), "{e}");
}

#[test]
fn steps_and_waves_past_their_limits_are_refused() {
    let steps: String = (0..=MAX_STEPS)
        .map(|i| format!("[[steps]]\nname = \"s{i}\"\nplugin = \"p\"\n"))
        .collect();
    let e = refusal(load(&migration(&databases(1), &steps)));
    assert!(e.contains("more than 32 [[steps]]"), "{e}");
    let waves: String = (0..=MAX_WAVES)
        .map(|i| format!("[[waves]]\nname = \"w{i}\"\ndatabases = [\"d{i}\"]\n"))
        .collect();
    let e = refusal(load(&migration("", &format!("{STEP}{waves}"))));
    assert!(e.contains("more than 1000 [[waves]]"), "{e}");
}

#[test]
fn a_file_past_the_size_limit_is_refused_without_reading_it_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("migration.toml");
    let padding = "#".repeat(MAX_MIGRATION_FILE_BYTES as usize);
    std::fs::write(&path, migration(&databases(1), STEP) + &padding).unwrap();
    let e = Migration::load(&path).unwrap_err();
    assert_eq!(e.file, path);
    assert!(
        e.message
            .contains(&format!("larger than {MAX_MIGRATION_FILE_BYTES} bytes")),
        "{e}"
    );
    let env = dir.path().join("environment.toml");
    std::fs::write(&env, "#".repeat(MAX_ENVIRONMENT_FILE_BYTES as usize + 1)).unwrap();
    let e = Environment::load(&env).unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("larger than {MAX_ENVIRONMENT_FILE_BYTES} bytes")),
        "{e}"
    );
}

#[test]
fn database_names_are_checked_as_sql_server_checks_them() {
    let case = |list: &str| refusal(load(&migration(&format!("databases = [{list}]"), STEP)));
    let e = case(&format!("\"ok\", \"{}\"", "d".repeat(129)));
    assert!(
        e.contains("has 129 characters") && e.contains("at most 128"),
        "{e}"
    );
    let e = case("\"ok\",\n\"Sa\\u0000les\"");
    assert!(
        e.starts_with("migration.toml:2:") && e.contains("U+0000"),
        "{e}"
    );
    let e = case("\"Sales\\u001b[2J\"");
    assert!(
        e.contains("`Sales\\u001b[2J`") && !e.contains('\x1b'),
        "{e}"
    );
    let e = case("\"  \"");
    assert!(e.contains("is empty"), "{e}");
}

#[test]
fn names_that_differ_only_in_case_are_one_database() {
    let e = refusal(load(&migration(
        "databases = [\n\"Sales\",\n\"HR\",\n\"SALES\"\n]",
        STEP,
    )));
    assert!(
        e.starts_with("migration.toml:4: database `SALES` and `Sales` (line 2)"),
        "{e}"
    );
    assert!(e.contains("without regard to case"), "{e}");
    let waves = "[[waves]]\nname = \"a\"\ndatabases = [\"Straße\"]\n\
                 [[waves]]\nname = \"b\"\ndatabases = [\"STRASSE\"]\n";
    let e = refusal(load(&migration("", &format!("{STEP}{waves}"))));
    assert!(e.contains("`STRASSE` and `Straße`"), "{e}");
    let e = refusal(load(&migration("databases = [\"a\", \"a\"]", STEP)));
    assert!(e.contains("`a` is listed twice (first on line 1)"), "{e}");
}

#[test]
fn own_names_and_limits_are_bounded() {
    let long = "x".repeat(129);
    let e = refusal(load(
        &migration(&databases(1), STEP).replace("name = \"m\"", &format!("name = \"{long}\"")),
    ));
    assert!(
        e.contains("migration name") && e.contains("at most 128"),
        "{e}"
    );
    let e = refusal(load(&migration(
        &databases(1),
        &STEP.replace("name = \"s\"", "name = \"a\\u0007b\""),
    )));
    assert!(e.contains("step name `a\\u0007b`"), "{e}");
    let e = refusal(load(&migration(
        &databases(1),
        &format!("{STEP}[steps.limits]\nretries = 4000000000\n"),
    )));
    assert!(e.contains("limits.retries must be at most 100"), "{e}");
    let e = refusal(load(&migration(
        &databases(1),
        &format!(
            "{STEP}[steps.grants]\nsql = [{}]\n",
            (0..65)
                .map(|i| format!("\"l{i}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )));
    assert!(e.contains("more than 64 labels in sql"), "{e}");
}

fn file_plugin(dir: &Path, path: &str) -> Result<PathBuf, String> {
    let text = migration(&databases(1), STEP).replace(
        "bundled = \"hello-steps\"",
        &format!("path = \"{path}\"\nsha256 = \"{}\"", "0".repeat(64)),
    );
    match load_in(dir, &text) {
        Ok(m) => match &m.plugins["p"] {
            PluginSource::File { path, .. } => Ok(path.clone()),
            other => panic!("{other:?}"),
        },
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn a_relative_plugin_path_stays_in_the_migration_directory() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::path::absolute(dir.path()).unwrap();
    assert_eq!(
        file_plugin(&base, "plugins/gate.wasm"),
        Ok(base.join("plugins/gate.wasm"))
    );
    assert_eq!(
        file_plugin(&base, "plugins/../gate.wasm"),
        Ok(base.join("gate.wasm"))
    );
    assert_eq!(
        file_plugin(&base, "/opt/gate.wasm"),
        Ok("/opt/gate.wasm".into())
    );
    let e = file_plugin(&base, "../../gate.wasm").unwrap_err();
    assert!(e.contains("leaves the migration's directory"), "{e}");
    assert!(
        e.contains(&base.join("../../gate.wasm").display().to_string()),
        "{e}"
    );
    assert!(e.contains("give its absolute path"), "{e}");
}

/// The plugin `p` of a migration whose plugin entry is `entry`.
fn plugin_entry(dir: &Path, entry: &str) -> Result<PluginSource, String> {
    let text = migration(&databases(1), STEP).replace("bundled = \"hello-steps\"", entry);
    load_in(dir, &text)
        .map(|m| m.plugins["p"].clone())
        .map_err(|e| e.to_string())
}

#[test]
fn a_dev_plugin_is_a_path_without_a_pin_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::path::absolute(dir.path()).unwrap();
    assert_eq!(
        plugin_entry(&base, "path = \"gate.wasm\"\ndev = true"),
        Ok(PluginSource::Dev {
            path: base.join("gate.wasm")
        })
    );
    let cases = [
        (
            format!(
                "path = \"g.wasm\"\ndev = true\nsha256 = \"{}\"",
                "0".repeat(64)
            ),
            "takes no `sha256`",
        ),
        (
            "bundled = \"hello-steps\"\ndev = true".to_owned(),
            "give its `path`",
        ),
        ("dev = true".to_owned(), "give its `path`"),
        (
            "path = \"g.wasm\"".to_owned(),
            "or, while you develop it, `dev = true`",
        ),
        (
            "path = \"../g.wasm\"\ndev = true".to_owned(),
            "leaves the migration's directory",
        ),
    ];
    for (entry, expected) in cases {
        let e = plugin_entry(&base, &entry).unwrap_err();
        assert!(e.contains(expected), "{entry}: {e}");
    }
    // `dev = false` is the default: a pinned plugin still loads as a pinned one.
    let pinned = format!(
        "path = \"g.wasm\"\ndev = false\nsha256 = \"{}\"",
        "0".repeat(64)
    );
    assert!(matches!(
        plugin_entry(&base, &pinned),
        Ok(PluginSource::File { .. })
    ));
}

fn environment(text: &str, dir: &Path) -> Result<Environment, InputError> {
    let path = dir.join("environment.toml");
    std::fs::write(&path, text).unwrap();
    Environment::load(&path)
}

#[test]
fn a_blob_url_ferry_cannot_use_is_refused_at_its_label() {
    let dir = tempfile::tempdir().unwrap();
    let e = environment(
        "[secrets]\nx = \"env:X\"\n\n[storage.backups]\nkind = \"blob\"\nurl = \"file:///var/backups\"\naccount_key = \"env:K\"\n",
        dir.path(),
    )
    .unwrap_err();
    assert_eq!(e.line, Some(4), "{e}");
    assert!(
        e.message.contains("storage label `backups`") && e.message.contains("file: URL"),
        "{e}"
    );
    assert!(
        e.message
            .contains("https://ACCOUNT.blob.core.windows.net/CONTAINER"),
        "{e}"
    );
}

#[test]
fn a_trust_ca_file_that_is_not_a_certificate_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), "this is not a certificate\n").unwrap();
    let e = environment(
        "[sql.src]\nserver = \"localhost\"\ntrust_ca_file = \"ca.pem\"\nuser = \"sa\"\npassword = \"env:P\"\n",
        dir.path(),
    )
    .unwrap_err();
    assert_eq!(e.line, Some(1), "{e}");
    assert!(e.message.contains("sql label `src`"), "{e}");
    assert!(
        e.message.contains("ca.pem") && e.message.contains("not a valid X.509"),
        "{e}"
    );
}

#[test]
fn the_line_index_counts_lines_as_line_of_does() {
    let text = "a\n\nbc\nd\n";
    let lines = super::Lines::new(text);
    for offset in 0..=text.len() + 2 {
        assert_eq!(
            lines.of(offset),
            super::input::line_of(text, offset),
            "offset {offset}"
        );
    }
}
