//! `ALTER DATABASE … SET QUERY_STORE …` read into what it asks ("ALTER DATABASE SET options
//! (Transact-SQL)", Query Store options):
//!
//! ```text
//! SET QUERY_STORE = ON [ ( <option> [, …] ) ] | = OFF [ ( FORCED ) ] | CLEAR [ ALL ] | ( <option> [, …] )
//! ```
//!
//! Values are checked as SQL Server checks them: DATA_FLUSH_INTERVAL_SECONDS below 60 and an
//! INTERVAL_LENGTH_MINUTES other than 1, 5, 10, 15, 30, 60 or 1440 are error 153 (the page
//! lists those values); a name the grammar lacks is error 102 at it.

use super::SessionView;
use crate::instance::{
    CaptureMode, Instance, StoreChange, StoreOptions, StoreState, query_store_available,
};
use crate::protocol::tokens::ServerMessage;
use crate::syntax::{Token, closing_paren, near, syntax_error};

/// Runs the statement on `db` (`CURRENT`: the session's database). Servers before 2016 do
/// not know the option: error 102 at QUERY_STORE, as for any word ALTER DATABASE SET lacks.
pub fn apply(
    db: &str,
    change: &StoreChange,
    s: &SessionView<'_>,
    inst: &mut Instance,
) -> Result<(), ServerMessage> {
    if !query_store_available(s.personality) {
        return Err(syntax_error("QUERY_STORE"));
    }
    let db = if db.eq_ignore_ascii_case("CURRENT") {
        s.database
    } else {
        db
    };
    inst.alter_query_store(db, change, s.personality)
}

/// SQL Server error 153: "Invalid usage of the option %.*ls in the %ls statement."
fn invalid_usage(option: &str, class: u8) -> ServerMessage {
    ServerMessage::error(
        153,
        class,
        format!("Invalid usage of the option {option} in the ALTER DATABASE statement."),
    )
}

/// Reads what follows `SET QUERY_STORE` (`t`), to the statement's end.
pub fn parse(t: &[Token]) -> Result<StoreChange, ServerMessage> {
    match t {
        [] => Err(near(t)),
        [eq, on, rest @ ..] if eq.is_punct("=") && on.is("ON") => {
            Ok(StoreChange::On(parse_block(rest)?))
        }
        [eq, off, rest @ ..] if eq.is_punct("=") && off.is("OFF") => match rest {
            [] => Ok(StoreChange::Off),
            [open, forced, close]
                if open.is_punct("(") && forced.is("FORCED") && close.is_punct(")") =>
            {
                Ok(StoreChange::Off)
            }
            _ => Err(near(rest)),
        },
        [clear] if clear.is("CLEAR") => Ok(StoreChange::Clear),
        [clear, all] if clear.is("CLEAR") && all.is("ALL") => Ok(StoreChange::Clear),
        [open, ..] if open.is_punct("(") => Ok(StoreChange::Options(parse_block(t)?)),
        _ => Err(near(t)),
    }
}

/// `( option = value, … )`, or nothing.
fn parse_block(t: &[Token]) -> Result<StoreOptions, ServerMessage> {
    let mut o = StoreOptions::default();
    if t.is_empty() {
        return Ok(o);
    }
    if !t[0].is_punct("(") {
        return Err(near(t));
    }
    let close = closing_paren(t, 0).ok_or_else(|| near(&t[t.len()..]))?;
    if close + 1 != t.len() {
        return Err(near(&t[close + 1..]));
    }
    let mut rest = &t[1..close];
    while !rest.is_empty() {
        let (name, after) = match rest {
            [Token::Word(n), eq, after @ ..] if eq.is_punct("=") => (n.to_ascii_uppercase(), after),
            _ => return Err(near(rest)),
        };
        let used = option(&name, after, &mut o)?;
        rest = &after[used..];
        match rest.first() {
            None => {}
            Some(c) if c.is_punct(",") && rest.len() > 1 => rest = &rest[1..],
            Some(_) => return Err(near(rest)),
        }
    }
    Ok(o)
}

fn number(t: &[Token]) -> Result<i64, ServerMessage> {
    match t.first() {
        Some(Token::Number(n)) => n
            .parse::<i64>()
            .ok()
            .filter(|v| i32::try_from(*v).is_ok())
            .ok_or_else(|| syntax_error(n)),
        _ => Err(near(t)),
    }
}

/// One option's value; how many tokens it took.
fn option(name: &str, v: &[Token], o: &mut StoreOptions) -> Result<usize, ServerMessage> {
    let word = |allowed: &[&str]| -> Result<String, ServerMessage> {
        match v.first() {
            Some(Token::Word(w)) if allowed.iter().any(|a| w.eq_ignore_ascii_case(a)) => {
                Ok(w.to_ascii_uppercase())
            }
            // OFF and ON are keywords: SQL Server names them as such (error 156).
            Some(Token::Word(w))
                if w.eq_ignore_ascii_case("OFF") || w.eq_ignore_ascii_case("ON") =>
            {
                Err(ServerMessage::error(
                    156,
                    15,
                    format!(
                        "Incorrect syntax near the keyword '{}'.",
                        w.to_ascii_uppercase()
                    ),
                ))
            }
            _ => Err(near(v)),
        }
    };
    match name {
        "OPERATION_MODE" => {
            o.operation_mode = Some(match word(&["READ_WRITE", "READ_ONLY"])?.as_str() {
                "READ_WRITE" => StoreState::ReadWrite,
                _ => StoreState::ReadOnly,
            });
            Ok(1)
        }
        "CLEANUP_POLICY" => match v {
            [open, Token::Word(n), eq, rest @ ..]
                if open.is_punct("(")
                    && n.eq_ignore_ascii_case("STALE_QUERY_THRESHOLD_DAYS")
                    && eq.is_punct("=") =>
            {
                o.stale_query_threshold_days = Some(number(rest)?);
                match rest.get(1) {
                    Some(c) if c.is_punct(")") => Ok(5),
                    _ => Err(near(&rest[1.min(rest.len())..])),
                }
            }
            _ => Err(near(v)),
        },
        "DATA_FLUSH_INTERVAL_SECONDS" => {
            let n = number(v)?;
            if n < 60 {
                return Err(invalid_usage("flush_interval_seconds", 15));
            }
            o.flush_interval_seconds = Some(n);
            Ok(1)
        }
        "MAX_STORAGE_SIZE_MB" => {
            o.max_storage_size_mb = Some(number(v)?);
            Ok(1)
        }
        "INTERVAL_LENGTH_MINUTES" => {
            let n = number(v)?;
            if ![1, 5, 10, 15, 30, 60, 1440].contains(&n) {
                return Err(invalid_usage("interval_length_minutes", 16));
            }
            o.interval_length_minutes = Some(n);
            Ok(1)
        }
        "SIZE_BASED_CLEANUP_MODE" => {
            // { AUTO | OFF }: OFF is this option's own value; ON is a keyword it does not take.
            o.size_based_cleanup_auto = Some(match v.first() {
                Some(w) if w.is("OFF") => false,
                _ => word(&["AUTO"])? == "AUTO",
            });
            Ok(1)
        }
        "QUERY_CAPTURE_MODE" => {
            o.capture_mode = Some(match word(&["ALL", "AUTO", "NONE", "CUSTOM"])?.as_str() {
                "ALL" => CaptureMode::All,
                "AUTO" => CaptureMode::Auto,
                "NONE" => CaptureMode::None,
                _ => CaptureMode::Custom,
            });
            Ok(1)
        }
        "MAX_PLANS_PER_QUERY" => {
            o.max_plans_per_query = Some(number(v)?);
            Ok(1)
        }
        "WAIT_STATS_CAPTURE_MODE" => {
            o.wait_stats_capture = Some(match v.first() {
                Some(w) if w.is("ON") => true,
                Some(w) if w.is("OFF") => false,
                _ => return Err(near(v)),
            });
            Ok(1)
        }
        // The policy of CUSTOM capture: read, not kept (the emulator captures CUSTOM as AUTO).
        "QUERY_CAPTURE_POLICY" => {
            if !v.first().is_some_and(|x| x.is_punct("(")) {
                return Err(near(v));
            }
            closing_paren(v, 0)
                .map(|c| c + 1)
                .ok_or_else(|| near(&v[v.len()..]))
        }
        _ => Err(syntax_error(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(sql: &str) -> Result<StoreChange, ServerMessage> {
        let t = crate::syntax::tokenize(sql).unwrap();
        parse(&t)
    }

    #[test]
    fn reads_each_form() {
        assert_eq!(read("= OFF").unwrap(), StoreChange::Off);
        assert_eq!(read("= OFF (FORCED)").unwrap(), StoreChange::Off);
        assert_eq!(read("CLEAR ALL").unwrap(), StoreChange::Clear);
        let StoreChange::On(o) = read(
            "= ON (OPERATION_MODE = READ_WRITE, CLEANUP_POLICY = (STALE_QUERY_THRESHOLD_DAYS = 30), INTERVAL_LENGTH_MINUTES = 15, QUERY_CAPTURE_MODE = ALL, WAIT_STATS_CAPTURE_MODE = ON)",
        )
        .unwrap() else {
            panic!("not ON");
        };
        assert_eq!(o.operation_mode, Some(StoreState::ReadWrite));
        assert_eq!(o.stale_query_threshold_days, Some(30));
        assert_eq!(o.interval_length_minutes, Some(15));
        assert_eq!(o.capture_mode, Some(CaptureMode::All));
        assert_eq!(o.wait_stats_capture, Some(true));
        assert!(matches!(
            read("(MAX_STORAGE_SIZE_MB = 500)").unwrap(),
            StoreChange::Options(_)
        ));
    }

    #[test]
    fn refuses_what_sql_server_refuses() {
        assert_eq!(
            read("= ON (INTERVAL_LENGTH_MINUTES = 7)")
                .unwrap_err()
                .number,
            153
        );
        assert_eq!(
            read("= ON (DATA_FLUSH_INTERVAL_SECONDS = 59)")
                .unwrap_err()
                .number,
            153
        );
        assert_eq!(read("= ON (BOGUS = 1)").unwrap_err().number, 102);
        assert_eq!(read("= ON (OPERATION_MODE = OFF)").unwrap_err().number, 156);
        assert_eq!(
            read("= ON (OPERATION_MODE = READ_WRITE,)")
                .unwrap_err()
                .number,
            102
        );
        assert_eq!(read("= MAYBE").unwrap_err().number, 102);
    }
}
