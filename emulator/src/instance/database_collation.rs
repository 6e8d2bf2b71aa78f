//! ALTER DATABASE … COLLATE ("ALTER DATABASE (Transact-SQL)", `COLLATE collation_name`:
//! "Specifies the collation for the database"; "Set or change the database collation": the
//! new collation applies to new objects and shows in `sys.databases.collation_name`; existing
//! columns keep theirs).

use super::Instance;
use super::database_options::no_database;
use super::query::sqlite_error;
use crate::protocol::tokens::ServerMessage;

/// Whether the emulator knows `name` as a collation. It models code page 1252 text only (see
/// `hashing.rs`), so it takes the Latin1 collations ("Windows collation name", "SQL Server
/// collation name": Latin1_General[_100|_140]_{CI|CS}_{AI|AS}[_KS][_WS][_SC][_UTF8] and
/// SQL_Latin1_General_CP1_{CI_AS|CS_AS|CI_AI}) and refuses every other name with error 448,
/// real collations of other code pages included: the stricter choice, since it could not
/// compare or hash their text as SQL Server would.
pub fn known_collation(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    if [
        "SQL_LATIN1_GENERAL_CP1_CI_AS",
        "SQL_LATIN1_GENERAL_CP1_CS_AS",
        "SQL_LATIN1_GENERAL_CP1_CI_AI",
    ]
    .contains(&n.as_str())
    {
        return true;
    }
    let Some(rest) = n.strip_prefix("LATIN1_GENERAL_") else {
        return false;
    };
    let (version, rest) = match rest.split_once('_') {
        Some(("100", r)) => (100, r),
        Some(("140", r)) => (140, r),
        _ => (80, rest),
    };
    let mut parts = rest.split('_');
    let case = parts.next();
    let accent = parts.next();
    if !matches!(case, Some("CI" | "CS")) || !matches!(accent, Some("AI" | "AS")) {
        return false;
    }
    // The optional flags, in their documented order; _SC needs a version 90+ collation (the
    // 140 ones are supplementary-character aware without it), _UTF8 a version 100+ one.
    let order: &[&str] = match version {
        100 => &["KS", "WS", "SC", "UTF8"],
        140 => &["KS", "WS", "UTF8"],
        _ => &["KS", "WS"],
    };
    let mut at = 0;
    for p in parts {
        match order[at..].iter().position(|o| *o == p) {
            Some(i) => at += i + 1,
            None => return false,
        }
    }
    true
}

impl Instance {
    /// ALTER DATABASE `db` COLLATE `collation`. SQL Server error 448 for a collation it does not
    /// have, 5011 for a database that does not exist.
    pub fn set_database_collation(
        &mut self,
        db: &str,
        collation: &str,
    ) -> Result<(), ServerMessage> {
        if !known_collation(collation) {
            return Err(ServerMessage::error(
                448,
                16,
                format!("Invalid collation '{collation}'."),
            ));
        }
        let Some(name) = self.database(db).map(|d| d.name.clone()) else {
            return Err(no_database(db));
        };
        self.conn
            .execute(
                r#"UPDATE "sys.databases" SET collation_name = ?2 WHERE name = ?1"#,
                rusqlite::params![name, collation],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::known_collation;

    #[test]
    fn latin1_collations_are_known_and_others_refused() {
        for ok in [
            "SQL_Latin1_General_CP1_CI_AS",
            "Latin1_General_CS_AS",
            "Latin1_General_100_CI_AS_SC_UTF8",
            "latin1_general_140_ci_ai_ks_ws",
        ] {
            assert!(known_collation(ok), "{ok}");
        }
        for bad in [
            "Latin1_General_CI_XX",
            "Latin1_General_CI_AS_UTF8",
            "Latin1_General_100_CI_AS_UTF8_SC",
            "Japanese_CI_AS",
            "nonsense",
        ] {
            assert!(!known_collation(bad), "{bad}");
        }
    }
}
