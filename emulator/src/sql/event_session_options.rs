//! The WITH options of CREATE EVENT SESSION ("CREATE EVENT SESSION (Transact-SQL)"), as
//! `sys.server_event_sessions` stores them (KB, milliseconds), with messages 25702 / 25703.

use crate::instance::XeOptions;
use crate::protocol::tokens::ServerMessage;
use crate::syntax::{Token, near};

type R<T> = Result<T, ServerMessage>;

/// Message 25703 (severity 16).
fn invalid_option(o: &str) -> ServerMessage {
    ServerMessage::error(
        25703,
        16,
        format!(
            "The event session option, \"{o}\", has an invalid value. Correct the value and re-issue the statement."
        ),
    )
}

/// A size in KB: `n [KB|MB]` (KB when no unit is given, as the page's default unit).
fn size_kb(o: &str, v: &[Token]) -> R<i64> {
    let (n, unit) = match v {
        [Token::Number(n)] => (n, None),
        [Token::Number(n), u] => (n, Some(u)),
        _ => return Err(invalid_option(o)),
    };
    let n: i64 = n.parse().map_err(|_| invalid_option(o))?;
    match unit {
        None => Ok(n),
        Some(u) if u.is("KB") => Ok(n),
        Some(u) if u.is("MB") => Ok(n * 1024),
        _ => Err(invalid_option(o)),
    }
}

fn word(o: &str, v: &[Token], words: &[(&str, char)]) -> R<char> {
    match v {
        [t] => words
            .iter()
            .find(|(w, _)| t.is(w))
            .map(|(_, c)| *c)
            .ok_or_else(|| invalid_option(o)),
        _ => Err(invalid_option(o)),
    }
}

pub(super) fn options(t: &[Token]) -> R<XeOptions> {
    let mut o = XeOptions::default();
    let mut seen: Vec<String> = Vec::new();
    for item in t.split(|x| x.is_punct(",")) {
        let [Token::Word(k), eq, v @ ..] = item else {
            return Err(near(item));
        };
        if !eq.is_punct("=") {
            return Err(near(item));
        }
        let k = k.to_ascii_uppercase();
        if seen.contains(&k) {
            return Err(ServerMessage::error(
                25702,
                16,
                format!(
                    "The event session option, \"{k}\", is set more than once. Remove the duplicate session option and re-issue the statement."
                ),
            ));
        }
        seen.push(k.clone());
        let on_off = [("ON", '1'), ("OFF", '0')];
        match k.as_str() {
            "MAX_MEMORY" => o.max_memory = size_kb(&k, v)?,
            "MAX_EVENT_SIZE" => o.max_event_size = size_kb(&k, v)?,
            "EVENT_RETENTION_MODE" => {
                let modes = [
                    ("ALLOW_SINGLE_EVENT_LOSS", 'S'),
                    ("ALLOW_MULTIPLE_EVENT_LOSS", 'M'),
                    ("NO_EVENT_LOSS", 'N'),
                ];
                o.retention = word(&k, v, &modes)?;
            }
            "MEMORY_PARTITION_MODE" => {
                let modes = [("NONE", 'G'), ("PER_NODE", 'P'), ("PER_CPU", 'C')];
                o.partition = word(&k, v, &modes)?;
            }
            "TRACK_CAUSALITY" => o.track_causality = word(&k, v, &on_off)? == '1',
            "STARTUP_STATE" => o.startup_state = word(&k, v, &on_off)? == '1',
            // "sys.server_event_sessions": milliseconds, "-1 indicates that dispatch latency
            // is infinite".
            "MAX_DISPATCH_LATENCY" => {
                o.max_dispatch_latency = match v {
                    [t] if t.is("INFINITE") => -1,
                    [Token::Number(n), s] if s.is("SECONDS") => {
                        n.parse::<i64>().map_err(|_| invalid_option(&k))? * 1000
                    }
                    _ => return Err(invalid_option(&k)),
                }
            }
            _ => return Err(near(item)),
        }
    }
    Ok(o)
}
