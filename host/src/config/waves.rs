//! The databases of `migration.toml`, top-level or in `[[waves]]`: each name checked as SQL
//! Server checks a database name, each database in one wave only (compared as the server
//! compares names), and the counts within [the limits](super::limits).

use std::collections::HashMap;

use serde::Deserialize;
use toml::Spanned;

use super::Lines;
use super::limits::{MAX_DATABASES, MAX_WAVES};
use super::names::{collation_key, database_name_problem, name_problem, quoted};

/// A group of databases migrated together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wave {
    pub name: String,
    pub databases: Vec<String>,
}

/// A `[[waves]]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WaveEntry {
    name: Spanned<String>,
    databases: Spanned<Vec<Spanned<String>>>,
}

/// A list of database names as written, with where each is.
pub(super) type DatabaseList = Spanned<Vec<Spanned<String>>>;

/// A problem and its line.
type Problem = (Option<usize>, String);

/// The waves of a migration, from either the top-level `databases` or `[[waves]]`.
pub(super) fn waves(
    lines: &Lines,
    top_level: Option<DatabaseList>,
    entries: Vec<WaveEntry>,
) -> Result<Vec<Wave>, Problem> {
    let at = |span: std::ops::Range<usize>| Some(lines.of(span.start));
    let lists: Vec<(Spanned<String>, DatabaseList)> = match (top_level, entries.is_empty()) {
        (Some(dbs), true) => vec![(Spanned::new(0..0, "all".to_owned()), dbs)],
        (None, false) => {
            if let Some(extra) = entries.get(MAX_WAVES) {
                return Err((
                    at(extra.name.span()),
                    format!(
                        "more than {MAX_WAVES} [[waves]], the most a migration has (see \
                         \"Limits\" in the README); merge waves or split the migration"
                    ),
                ));
            }
            entries.into_iter().map(|w| (w.name, w.databases)).collect()
        }
        (None, true) => {
            return Err((
                None,
                "no databases: add `databases = [\"…\"]` or [[waves]] tables".into(),
            ));
        }
        (Some(dbs), false) => {
            return Err((
                at(dbs.span()),
                "give databases either at the top level or in [[waves]], not both".into(),
            ));
        }
    };

    let mut wave_names = HashMap::new();
    // Each database's collation key → its name as first written and its line.
    let mut seen: HashMap<String, (String, usize)> = HashMap::new();
    let mut waves = Vec::with_capacity(lists.len());
    for (name, list) in lists {
        let name_line = lines.of(name.span().start);
        let name = name.into_inner();
        if let Some(p) = name_problem(&name) {
            return Err((Some(name_line), format!("wave name {} {p}", quoted(&name))));
        }
        if let Some(first) = wave_names.insert(name.clone(), name_line) {
            return Err((
                Some(name_line),
                format!(
                    "wave name {} is used twice (first on line {first}); wave names must be \
                     unique",
                    quoted(&name)
                ),
            ));
        }
        let mut databases = Vec::with_capacity(list.get_ref().len());
        for db in list.into_inner() {
            let line = lines.of(db.span().start);
            let db = db.into_inner();
            if seen.len() == MAX_DATABASES {
                return Err((
                    Some(line),
                    format!(
                        "more than {MAX_DATABASES} databases, the most one migration lists (see \
                         \"Limits\" in the README); split them into several migrations"
                    ),
                ));
            }
            if let Some(p) = database_name_problem(&db) {
                return Err((
                    Some(line),
                    format!("wave {}: database name {} {p}", quoted(&name), quoted(&db)),
                ));
            }
            if let Some((first, first_line)) = seen.insert(collation_key(&db), (db.clone(), line)) {
                let how = if first == db {
                    format!("is listed twice (first on line {first_line})")
                } else {
                    format!(
                        "and {} (line {first_line}) are one database: SQL Server compares \
                         database names without regard to case or trailing spaces under its \
                         default collations",
                        quoted(&first)
                    )
                };
                return Err((
                    Some(line),
                    format!(
                        "database {} {how}; each database belongs to one wave, once",
                        quoted(&db)
                    ),
                ));
            }
            databases.push(db);
        }
        waves.push(Wave { name, databases });
    }
    Ok(waves)
}
