//! Which names ferry accepts: database names as SQL Server does, and ferry's own names
//! (migration, steps, waves, plugins, labels), and when two database names are the same
//! database.

use super::limits::MAX_NAME_CHARS;
use crate::escape::terminal;

/// Why a database name cannot be used, or nothing.
///
/// SQL Server: an identifier has 1 through 128 characters ("Database identifiers",
/// learn.microsoft.com/sql/relational-databases/databases/database-identifiers) and a database
/// name is a `sysname`, functionally `nvarchar(128)` NOT NULL ("Data types (Transact-SQL)"),
/// so the 128 are UTF-16 code units. A delimited identifier may hold any other character; the
/// docs are silent on control characters, and ferry refuses every one (NUL included): such a
/// name cannot be typed, is shown differently by every tool, and in a terminal or a report it
/// is an escape sequence, not a name. A name of only spaces is refused too: SQL Server
/// ignores trailing spaces when it compares names, so it is the empty name.
pub fn database_name_problem(name: &str) -> Option<String> {
    let units = name.encode_utf16().count();
    if name.trim_end_matches(' ').is_empty() {
        Some("is empty; a database name has 1 to 128 characters".into())
    } else if units > MAX_NAME_CHARS {
        Some(format!(
            "has {units} characters (UTF-16 code units); SQL Server allows at most \
             {MAX_NAME_CHARS} in a database name"
        ))
    } else {
        name.chars().find(|c| c.is_control()).map(|c| {
            format!(
                "holds the control character U+{:04X}; ferry refuses control characters in \
                 names (they would be shown as terminal escapes)",
                c as u32
            )
        })
    }
}

/// Why one of ferry's own names (migration, step, wave, plugin, label) cannot be used, or
/// nothing: 1 to 128 characters, none of them a control character, for the same reasons as
/// database names.
pub fn name_problem(name: &str) -> Option<String> {
    let chars = name.chars().count();
    if name.trim().is_empty() {
        Some("is empty".into())
    } else if chars > MAX_NAME_CHARS {
        Some(format!(
            "has {chars} characters; names have at most {MAX_NAME_CHARS}"
        ))
    } else {
        name.chars().find(|c| c.is_control()).map(|c| {
            format!(
                "holds the control character U+{:04X}; names cannot hold control characters",
                c as u32
            )
        })
    }
}

/// A name quoted for a message: shortened past 80 characters (the message names the limit)
/// and with every control character shown as text.
pub fn quoted(name: &str) -> String {
    let short: String = name.chars().take(80).collect();
    let more = if short.len() < name.len() { "…" } else { "" };
    format!("`{}{more}`", terminal(&short))
}

/// The key under which two database names are the same database.
///
/// A database name takes the instance's collation ("Database identifiers": identifiers of
/// instance-level objects such as database names get the instance's default collation), and
/// the default collations SQL Server setup offers (`SQL_Latin1_General_CP1_CI_AS`,
/// `Latin1_General_CI_AS`) are case-insensitive, so `Sales` and `SALES` are one database.
/// ferry compares under Unicode full case folding (CaseFolding.txt, statuses C and F), which
/// also makes `ß` and `ss` one name, as the Windows collations do, after dropping trailing
/// spaces, which SQL Server ignores when it compares strings (ANSI padding). This is the
/// stricter choice: a case-sensitive instance could hold both `Sales` and `SALES`, and a
/// migration of both is refused rather than risking two items that write one database.
/// Accents and widths still tell names apart, as in the accent-sensitive defaults.
pub fn collation_key(name: &str) -> String {
    unicase::UniCase::new(name.trim_end_matches(' ')).to_folded_case()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_follow_sysname() {
        assert_eq!(database_name_problem("Sales"), None);
        assert_eq!(database_name_problem("Ventes été 2024 [old]"), None);
        assert_eq!(database_name_problem(&"d".repeat(128)), None);
        // 64 characters outside the BMP are 128 UTF-16 code units; 65 are 130.
        assert_eq!(database_name_problem(&"😀".repeat(64)), None);
        assert!(
            database_name_problem(&"😀".repeat(65))
                .unwrap()
                .contains("130 characters")
        );
        assert!(
            database_name_problem(&"d".repeat(129))
                .unwrap()
                .contains("at most 128")
        );
        for bad in [
            "",
            "   ",
            "Sa\0les",
            "Sales\x1b[2J",
            "Sa\nles",
            "Sales\u{9b}",
        ] {
            assert!(database_name_problem(bad).is_some(), "{bad:?}");
        }
        assert!(database_name_problem("a\0").unwrap().contains("U+0000"));
    }

    #[test]
    fn names_that_differ_in_case_or_trailing_spaces_are_one_database() {
        assert_eq!(collation_key("Sales"), collation_key("SALES"));
        assert_eq!(collation_key("Sales"), collation_key("sales  "));
        assert_eq!(collation_key("Straße"), collation_key("STRASSE"));
        assert_eq!(collation_key("ΣΊΣΥΦΟΣ"), collation_key("σίσυφος"));
        assert_ne!(collation_key("Sales"), collation_key(" Sales"));
        assert_ne!(collation_key("Café"), collation_key("Cafe"));
    }

    #[test]
    fn own_names_are_short_and_printable() {
        assert_eq!(name_problem("restore"), None);
        assert!(name_problem("").is_some());
        assert!(name_problem(&"x".repeat(129)).is_some());
        assert!(name_problem("a\tb").is_some());
    }

    #[test]
    fn quoted_names_are_short_and_visible() {
        assert_eq!(quoted("a\x1bb"), "`a\\u001bb`");
        let long = quoted(&"x".repeat(500));
        assert!(long.len() < 90 && long.ends_with("…`"), "{long}");
    }
}
