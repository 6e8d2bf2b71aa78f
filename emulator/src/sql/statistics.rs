//! `UPDATE STATISTICS table [WITH FULLSCAN | SAMPLE n PERCENT | RESAMPLE …]` ("UPDATE
//! STATISTICS (Transact-SQL)"), `EXEC sp_updatestats` and `ALTER DATABASE … SET
//! COMPATIBILITY_LEVEL = n` ("ALTER DATABASE (Transact-SQL) compatibility level"). Statistics
//! updates are recorded for STATS_DATE (instance/statistics.rs); the options are accepted.

use super::session::SessionView;
use crate::instance::Instance;
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types;
use crate::syntax::{Token, name_at, near};

#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// The table as written.
    UpdateStatistics(String),
    CompatibilityLevel(String, i64),
}

/// Parses the statements above; None for anything else.
pub fn parse(st: &[Token]) -> Option<Result<Statement, ServerMessage>> {
    let word = |i: usize, w: &str| st.get(i).is_some_and(|t| t.is(w));
    if word(0, "UPDATE") && word(1, "STATISTICS") {
        let mut end = 2;
        while st
            .get(end)
            .is_some_and(|t| !t.is("WITH") && !t.is_punct("("))
        {
            end += 1;
        }
        let name: String = st[2..end].iter().map(Token::display).collect();
        if name.is_empty() {
            return Some(Err(near(&st[2..])));
        }
        return Some(Ok(Statement::UpdateStatistics(name)));
    }
    if word(0, "ALTER") && word(1, "DATABASE") && word(3, "SET") && word(4, "COMPATIBILITY_LEVEL") {
        let db = match name_at(st, 2) {
            Ok(d) => d,
            Err(e) => return Some(Err(e)),
        };
        return Some(match (st.get(5), st.get(6)) {
            (Some(eq), Some(Token::Number(n))) if eq.is_punct("=") && st.len() == 7 => n
                .parse()
                .map(|n| Statement::CompatibilityLevel(db, n))
                .map_err(|_| near(&st[6..])),
            _ => Err(near(&st[5.min(st.len())..])),
        });
    }
    None
}

/// SQL Server error 1088 (class 16).
fn no_object(name: &str) -> ServerMessage {
    ServerMessage::error(
        1088,
        16,
        format!(
            "Cannot find the object \"{name}\" because it does not exist or you do not have permissions."
        ),
    )
}

pub fn apply(
    st: &Statement,
    s: &SessionView<'_>,
    inst: &mut Instance,
) -> Result<(), ServerMessage> {
    match st {
        Statement::UpdateStatistics(name) => {
            let id = inst
                .object_id(s.database, name, None)
                .ok_or_else(|| no_object(name))?;
            let db = database_of(name, s.database);
            inst.record_stats_update(&db, id, &types::now_text())
        }
        Statement::CompatibilityLevel(db, level) => {
            let info = inst.database(db).ok_or_else(|| {
                // SQL Server error 911 (class 16).
                ServerMessage::error(
                    911,
                    16,
                    format!("Database '{db}' does not exist. Make sure that the name is entered correctly."),
                )
            })?;
            let name = info.name.clone();
            // The levels the version supports: from its lowest (compat_levels.rs) up to its
            // own (160 on MI and SQL Server 2022, 150 on 2019, …); error 15048 lists them.
            let top = i64::from(s.personality.compatibility_level());
            let bottom = super::compat_levels::lowest(s.personality);
            let valid: Vec<i64> = (bottom / 10..=top / 10).map(|x| x * 10).collect();
            if !valid.contains(level) {
                let (last, rest) = valid.split_last().unwrap_or((&100, &[]));
                let listed: Vec<String> = rest.iter().map(i64::to_string).collect();
                return Err(ServerMessage::error(
                    15048,
                    16,
                    format!(
                        "Valid values of the database compatibility level are {}, or {last}.",
                        listed.join(", ")
                    ),
                ));
            }
            inst.set_compatibility_level(&name, *level as u8)
        }
    }
}

/// The database a `[db.]schema.table` name lives in.
fn database_of(name: &str, current: &str) -> String {
    let parts: Vec<&str> = name.split('.').collect();
    match parts.as_slice() {
        [db, _, _] if !db.is_empty() => db.trim_matches(['[', ']', '"']).to_owned(),
        _ => current.to_owned(),
    }
}

/// `sp_updatestats`: every user table of the current database, then the procedure's closing
/// line.
pub fn update_all(
    s: &SessionView<'_>,
    inst: &mut Instance,
) -> Result<Vec<ServerMessage>, ServerMessage> {
    let db = inst
        .database(s.database)
        .map(|d| d.name.clone())
        .unwrap_or_else(|| s.database.to_owned());
    let now = types::now_text();
    for id in inst.user_table_ids(&db)? {
        inst.record_stats_update(&db, id, &now)?;
    }
    Ok(vec![ServerMessage::info(
        0,
        "Statistics for all tables have been updated.",
    )])
}

/// STATS_DATE(object_id, stats_id): when those statistics were last updated, NULL when never
/// (or for an object or statistics the database does not have).
pub fn stats_date(
    args: &[super::env::Typed],
    env: &super::env::Env<'_>,
) -> Result<super::env::Typed, ServerMessage> {
    use crate::protocol::types::{SqlType, Value};
    let [(_, object), (_, stats)] = args else {
        // SQL Server error 174 (class 15).
        return Err(ServerMessage::error(
            174,
            15,
            "The stats_date function requires 2 argument(s).",
        ));
    };
    let date = match (object, stats) {
        (Value::Null, _) | (_, Value::Null) => None,
        (o, st) => env
            .inst
            .stats_date(env.s.database, types::int(o), types::int(st)),
    };
    let value = date
        .and_then(|d| types::parse_datetime(&d))
        .map_or(Value::Null, |(d, t)| Value::DateTime2(d, t));
    // "STATS_DATE (Transact-SQL)": datetime; the emulator's datetime is datetime2.
    Ok((SqlType::DateTime2, value))
}
