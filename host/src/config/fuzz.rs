//! Property tests of the two parsers over arbitrary and structurally mutated TOML: valid files
//! with a value swapped for a wrong type, a huge number, deep nesting, a long string or control
//! characters, unknown keys added, the text cut or spliced. Whatever the input, loading never
//! panics, a refusal is an [`InputError`] naming the file, and an accepted file is within
//! [the limits](super::limits).

use std::path::Path;

use proptest::prelude::*;
use proptest::sample::Index;
use toml::{Table, Value};

use super::limits::{
    MAX_CONCURRENCY, MAX_DATABASES, MAX_GRANTS, MAX_RETRIES, MAX_STEPS, MAX_WAVES,
};
use super::names::{collation_key, database_name_problem, name_problem};
use super::{BlobAddress, Environment, InputError, Migration};

const CASES: u32 = 300;

/// A value of any shape that could break a parser or slip past a check.
fn weird_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::Integer),
        prop_oneof![
            Just(i64::MAX),
            Just(i64::MIN),
            Just(0),
            Just(-1),
            Just(1 << 40)
        ]
        .prop_map(Value::Integer),
        any::<f64>().prop_map(Value::Float),
        prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(1e300),
            Just(1e-300)
        ]
        .prop_map(Value::Float),
        any::<bool>().prop_map(Value::Boolean),
        any::<String>().prop_map(Value::String),
        hostile_name().prop_map(Value::String),
        (1usize..5000).prop_map(|n| Value::String("x".repeat(n))),
        (1usize..150).prop_map(|depth| nested(depth, true)),
        (1usize..150).prop_map(|depth| nested(depth, false)),
        prop::collection::vec(hostile_name(), 0..5)
            .prop_map(|v| Value::Array(v.into_iter().map(Value::String).collect())),
        Just(Value::Table(Table::new())),
    ]
}

/// Arrays (or tables) nested `depth` deep, around one string.
fn nested(depth: usize, arrays: bool) -> Value {
    (0..depth).fold(Value::String("deep".into()), |inner, _| {
        if arrays {
            Value::Array(vec![inner])
        } else {
            Value::Table(Table::from_iter([("k".to_owned(), inner)]))
        }
    })
}

/// Names a database or label might have: ordinary, case twins, at and past 128 characters,
/// with control characters, escape sequences or bidi overrides.
fn hostile_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z][A-Za-z0-9_]{0,12}",
        Just("Sales".to_owned()),
        Just("SALES".to_owned()),
        Just("Sales ".to_owned()),
        Just("Straße".to_owned()),
        Just("STRASSE".to_owned()),
        (120usize..140).prop_map(|n| "d".repeat(n)),
        (60usize..70).prop_map(|n| "😀".repeat(n)),
        "[a-z]{1,5}[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}][a-z]{0,5}",
        Just("Sales\x1b[31m\x1b]0;owned\x07".to_owned()),
        Just("Sa\0les".to_owned()),
        Just("evil\u{202e}gpj.exe".to_owned()),
        Just(" ".to_owned()),
        Just(String::new()),
    ]
}

/// A valid migration, some of whose names are hostile.
fn migration_doc() -> impl Strategy<Value = Table> {
    (
        prop::collection::vec(hostile_name(), 1..12),
        any::<bool>(),
        1usize..4,
        prop::option::of(1usize..300),
    )
        .prop_map(|(databases, in_waves, steps, concurrency)| {
            let mut doc = Table::new();
            doc.insert(
                "migration".into(),
                Value::Table(Table::from_iter([("name".into(), "fuzz".into())])),
            );
            let plugin = Table::from_iter([("bundled".to_owned(), Value::from("hello-steps"))]);
            doc.insert(
                "plugins".into(),
                Value::Table(Table::from_iter([("hello".into(), Value::Table(plugin))])),
            );
            let steps = (0..steps).map(|i| {
                let grants = Table::from_iter([
                    (
                        "secrets".to_owned(),
                        Value::Array(vec!["demo-token".into()]),
                    ),
                    ("scratch".to_owned(), Value::Boolean(true)),
                ]);
                let limits = Table::from_iter([
                    ("timeout_seconds".to_owned(), Value::Float(30.0)),
                    ("retries".to_owned(), Value::Integer(2)),
                ]);
                let config = Table::from_iter([("greeting".to_owned(), Value::from("hi"))]);
                Value::Table(Table::from_iter([
                    ("name".to_owned(), Value::String(format!("step{i}"))),
                    ("plugin".to_owned(), "hello".into()),
                    ("config".to_owned(), Value::Table(config)),
                    ("grants".to_owned(), Value::Table(grants)),
                    ("limits".to_owned(), Value::Table(limits)),
                ]))
            });
            doc.insert("steps".into(), Value::Array(steps.collect()));
            let names: Vec<Value> = databases.into_iter().map(Value::String).collect();
            if in_waves {
                let half = names.len() / 2;
                let wave = |name: &str, dbs: &[Value]| {
                    Value::Table(Table::from_iter([
                        ("name".to_owned(), Value::from(name)),
                        ("databases".to_owned(), Value::Array(dbs.to_vec())),
                    ]))
                };
                let waves = vec![
                    wave("first", &names[..half]),
                    wave("second", &names[half..]),
                ];
                doc.insert("waves".into(), Value::Array(waves));
            } else {
                doc.insert("databases".into(), Value::Array(names));
            }
            if let Some(c) = concurrency {
                let limits = Table::from_iter([("concurrency".to_owned(), Value::from(c as i64))]);
                doc.insert("limits".into(), Value::Table(limits));
            }
            doc
        })
}

/// A valid environment with every kind of label.
fn environment_doc() -> impl Strategy<Value = Table> {
    (
        prop_oneof![
            Just("https://acct.blob.core.windows.net/backups/Sales"),
            Just("http://127.0.0.1:10000/devstoreaccount1/backups"),
            Just("file:///var/backups/c"),
            Just("http://10.1.2.3/acct/c"),
            Just("https://acct.blob.core.windows.net/c?sig=SECRET"),
            Just("ftp://x/y/z"),
        ],
        prop_oneof![Just("ca.pem"), Just("garbage.pem"), Just("missing.pem")],
        hostile_name(),
    )
        .prop_map(|(url, ca, label)| {
            let table = |pairs: &[(&str, Value)]| {
                Value::Table(Table::from_iter(
                    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())),
                ))
            };
            let sql = table(&[
                ("server", "localhost".into()),
                ("port", Value::Integer(14330)),
                ("tls", "required".into()),
                ("trust_ca_file", ca.into()),
                ("user", "sa".into()),
                ("password", "env:FUZZ_PASSWORD".into()),
            ]);
            let blob = table(&[
                ("kind", "blob".into()),
                ("url", url.into()),
                ("account_key", "env:FUZZ_KEY".into()),
            ]);
            let share = table(&[("kind", "share".into()), ("path", "share".into())]);
            let azure = table(&[
                (
                    "subscription",
                    "00000000-0000-0000-0000-000000000000".into(),
                ),
                ("token", "env:FUZZ_TOKEN".into()),
            ]);
            let mut doc = Table::new();
            doc.insert("sql".into(), table(&[("src", sql.clone()), (&label, sql)]));
            doc.insert(
                "storage".into(),
                table(&[("backups", blob), ("share", share)]),
            );
            doc.insert("azure".into(), table(&[("mi", azure)]));
            doc.insert(
                "secrets".into(),
                table(&[("token", "env:FUZZ_TOKEN".into())]),
            );
            doc
        })
}

/// Every path to a value in the document (table keys and array positions).
fn paths(value: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let children: Vec<(String, &Value)> = match value {
        Value::Table(t) => t.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        _ => Vec::new(),
    };
    for (key, child) in children {
        at.push(key);
        out.push(at.clone());
        paths(child, at, out);
        at.pop();
    }
}

fn is_table(doc: &Value, path: &[String]) -> bool {
    let found = path.iter().try_fold(doc, |v, key| match v {
        Value::Table(t) => t.get(key),
        Value::Array(a) => a.get(key.parse::<usize>().ok()?),
        _ => None,
    });
    matches!(found, Some(Value::Table(_)))
}

fn slot<'a>(doc: &'a mut Value, path: &[String]) -> &'a mut Value {
    path.iter().fold(doc, |v, key| match v {
        Value::Table(t) => t.get_mut(key).expect("a path from `paths`"),
        Value::Array(a) => &mut a[key.parse::<usize>().expect("an index")],
        _ => unreachable!("paths only lead through tables and arrays"),
    })
}

/// One structural change to a valid document.
#[derive(Debug, Clone)]
enum Mutation {
    None,
    /// Replace the value at one path.
    Replace(Index, Value),
    /// Add an unknown key to one table.
    AddKey(Index, String, Value),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => Just(Mutation::None),
        4 => (any::<Index>(), weird_value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        1 => (any::<Index>(), "[a-z_]{1,10}", weird_value())
            .prop_map(|(i, k, v)| Mutation::AddKey(i, k, v)),
    ]
}

/// A change to the text itself.
#[derive(Debug, Clone)]
enum Splice {
    None,
    Truncate(Index),
    Insert(Index, String),
}

fn splice() -> impl Strategy<Value = Splice> {
    prop_oneof![
        4 => Just(Splice::None),
        1 => any::<Index>().prop_map(Splice::Truncate),
        1 => (any::<Index>(), prop_oneof![Just("\"".to_owned()), Just("[".to_owned()),
            Just("\n[[steps]]\n".to_owned()), Just("\0".to_owned()), any::<String>()])
            .prop_map(|(i, s)| Splice::Insert(i, s)),
    ]
}

/// The document after its mutation and splice, as file bytes; none if the mutated value
/// cannot be written as TOML at all.
fn render(doc: Table, mutation: Mutation, splice: Splice) -> Option<Vec<u8>> {
    let mut doc = Value::Table(doc);
    let mut all = Vec::new();
    paths(&doc, &mut Vec::new(), &mut all);
    match mutation {
        Mutation::None => {}
        Mutation::Replace(i, v) => {
            let path = i.get(&all).clone();
            *slot(&mut doc, &path) = v;
        }
        Mutation::AddKey(i, key, v) => {
            let root = Vec::new();
            let tables: Vec<&Vec<String>> = std::iter::once(&root)
                .chain(all.iter())
                .filter(|p| is_table(&doc, p))
                .collect();
            let path = i.get(&tables).to_vec();
            if let Value::Table(t) = slot(&mut doc, &path) {
                t.insert(key, v);
            }
        }
    }
    let mut text = toml::to_string(&doc).ok()?;
    match splice {
        Splice::None => {}
        Splice::Truncate(i) => {
            let at = i.index(text.len() + 1);
            let at = (0..=at)
                .rev()
                .find(|a| text.is_char_boundary(*a))
                .unwrap_or(0);
            text.truncate(at);
        }
        Splice::Insert(i, s) => {
            let at = i.index(text.len() + 1);
            let at = (0..=at)
                .rev()
                .find(|a| text.is_char_boundary(*a))
                .unwrap_or(0);
            text.insert_str(at, &s);
        }
    }
    Some(text.into_bytes())
}

/// Writes `bytes` as `name` in a fresh directory (with the files an environment refers to)
/// and loads it.
type Loaded<T> = (std::path::PathBuf, Result<T, InputError>, tempfile::TempDir);

fn load<T>(name: &str, bytes: &[u8], loader: fn(&Path) -> Result<T, InputError>) -> Loaded<T> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), test_ca()).unwrap();
    std::fs::write(dir.path().join("garbage.pem"), "not a certificate").unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let result = loader(&path);
    (path, result, dir)
}

fn test_ca() -> &'static str {
    static CA: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CA.get_or_init(|| {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["fuzz CA".into()]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).unwrap().pem()
    })
}

fn assert_names_the_file(path: &Path, e: &InputError) -> Result<(), TestCaseError> {
    prop_assert_eq!(&e.file, path, "{}", e);
    prop_assert!(!e.message.is_empty());
    Ok(())
}

fn assert_within_limits(m: &Migration) -> Result<(), TestCaseError> {
    prop_assert!(name_problem(&m.name).is_none(), "{:?}", m.name);
    prop_assert!(!m.steps.is_empty() && m.steps.len() <= MAX_STEPS);
    prop_assert!(!m.waves.is_empty() && m.waves.len() <= MAX_WAVES);
    prop_assert!((1..=MAX_CONCURRENCY).contains(&m.limits.concurrency));
    let mut keys = std::collections::HashSet::new();
    for (wave, db) in m.databases() {
        prop_assert!(name_problem(&wave.name).is_none(), "{:?}", wave.name);
        prop_assert!(database_name_problem(db).is_none(), "{:?}", db);
        prop_assert!(keys.insert(collation_key(db)), "{:?} twice", db);
    }
    prop_assert!(keys.len() <= MAX_DATABASES);
    for s in &m.steps {
        prop_assert!(name_problem(&s.name).is_none(), "{:?}", s.name);
        prop_assert!(s.limits.retries.is_none_or(|r| r <= MAX_RETRIES) && s.limits.timeout_ms >= 1);
        for grants in [
            &s.grants.sql,
            &s.grants.storage,
            &s.grants.azure,
            &s.grants.secrets,
        ] {
            prop_assert!(grants.len() <= MAX_GRANTS);
            for g in grants {
                prop_assert!(name_problem(&g.label).is_none(), "{:?}", g.label);
            }
        }
    }
    Ok(())
}

fn assert_environment_usable(env: &Environment) -> Result<(), TestCaseError> {
    for (label, s) in &env.storage {
        prop_assert!(name_problem(label).is_none(), "{:?}", label);
        if let Some(url) = &s.url {
            prop_assert!(BlobAddress::parse(url).is_ok(), "{}", url);
        }
    }
    for (label, s) in &env.sql {
        prop_assert!(name_problem(label).is_none(), "{:?}", label);
        if let Some(ca) = &s.trust_ca_file {
            prop_assert!(super::read_trust_ca(ca).is_ok(), "{}", ca.display());
        }
    }
    Ok(())
}

/// Loads `bytes` (if the mutated document could be written at all) as `name`: an accepted
/// file must pass `accepted`, a refused one must name the file.
fn loads_or_names_the_file<T>(
    name: &str,
    bytes: Option<Vec<u8>>,
    loader: fn(&Path) -> Result<T, InputError>,
    accepted: fn(&T) -> Result<(), TestCaseError>,
) -> Result<(), TestCaseError> {
    let Some(bytes) = bytes else { return Ok(()) };
    let (path, result, _dir) = load(name, &bytes, loader);
    match result {
        Ok(loaded) => accepted(&loaded),
        Err(e) => assert_names_the_file(&path, &e),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_migrations_load_or_are_refused_naming_the_file(
        doc in migration_doc(), mutation in mutation(), splice in splice()
    ) {
        loads_or_names_the_file("migration.toml", render(doc, mutation, splice), Migration::load, assert_within_limits)?;
    }

    #[test]
    fn mutated_environments_load_or_are_refused_naming_the_file(
        doc in environment_doc(), mutation in mutation(), splice in splice()
    ) {
        loads_or_names_the_file("environment.toml", render(doc, mutation, splice), Environment::load, assert_environment_usable)?;
    }

    #[test]
    fn arbitrary_bytes_are_refused_naming_the_file(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        for (name, loaded) in [
            ("migration.toml", load("migration.toml", &bytes, Migration::load).1.map(|_| ())),
            ("environment.toml", load("environment.toml", &bytes, Environment::load).1.map(|_| ())),
        ] {
            if let Err(e) = loaded {
                prop_assert!(e.file.ends_with(name), "{}", e);
            }
        }
    }
}
