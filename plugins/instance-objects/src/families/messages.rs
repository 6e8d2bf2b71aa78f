//! User-defined error messages (`sys.messages` above 50000, methods.md §5.8), made with
//! `sp_addmessage`. A message in another language needs its us_english version first, with the
//! same severity ("sp_addmessage", Remarks), so us_english comes first.

use ferry_sdk::SqlConnection;
use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::quote_text;

use crate::config::Config;
use crate::decision::{Decision, Statement, Verdict};
use crate::servers::Servers;
use crate::table::Table;

/// us_english's LCID in `sys.messages.language_id`.
const US_ENGLISH: i64 = 1033;

#[derive(Debug, Clone, PartialEq)]
struct Message {
    id: i64,
    language: i64,
    severity: i64,
    logged: bool,
    text: String,
}

fn read(cx: &mut Context<'_, Config>, conn: SqlConnection) -> Result<Vec<Message>> {
    let t = Table::read(
        cx,
        conn,
        "sys.messages",
        "SELECT message_id, language_id, severity, is_event_logged, text FROM sys.messages \
         WHERE message_id > 50000",
        &[],
    )?;
    let mut m: Vec<Message> = t
        .rows()
        .map(|r| Message {
            id: r.int("message_id"),
            language: r.int("language_id"),
            severity: r.int("severity"),
            logged: r.flag("is_event_logged"),
            text: r.text("text"),
        })
        .collect();
    m.sort_by_key(|m| (m.id, m.language != US_ENGLISH, m.language));
    Ok(m)
}

/// Language names by LCID (`sys.syslanguages`), read only when a message is not us_english.
fn languages(cx: &mut Context<'_, Config>, conn: SqlConnection) -> Result<Vec<(i64, String)>> {
    let t = Table::read(
        cx,
        conn,
        "sys.syslanguages",
        "SELECT lcid, name FROM sys.syslanguages",
        &[],
    )?;
    Ok(t.rows().map(|r| (r.int("lcid"), r.text("name"))).collect())
}

fn add(m: &Message, language: &str, replace: bool) -> Statement {
    Statement::new(format!(
        "EXEC sp_addmessage @msgnum = {}, @severity = {}, @msgtext = {}, @lang = {}, \
         @with_log = '{}'{}",
        m.id,
        m.severity,
        quote_text(&m.text),
        quote_text(language),
        if m.logged { "TRUE" } else { "FALSE" },
        if replace {
            ", @replace = 'replace'"
        } else {
            ""
        }
    ))
}

pub fn decide(cx: &mut Context<'_, Config>, s: Servers) -> Result<Vec<Decision>> {
    let patterns = cx.config().messages.patterns();
    let src = read(cx, s.source)?;
    let dst = read(cx, s.target)?;
    let names = if src.iter().any(|m| m.language != US_ENGLISH) {
        languages(cx, s.source)?
    } else {
        Vec::new()
    };
    let mut out = Vec::new();
    let mut english_lands = Vec::new();
    for m in &src {
        let language = if m.language == US_ENGLISH {
            Some("us_english".to_owned())
        } else {
            names
                .iter()
                .find(|(l, _)| *l == m.language)
                .map(|(_, n)| n.clone())
        };
        let name = format!(
            "{} ({})",
            m.id,
            language.clone().unwrap_or_else(|| m.language.to_string())
        );
        if !patterns.admits(&m.id.to_string()) {
            continue;
        }
        let Some(language) = language else {
            out.push(Decision::new(
                "message",
                name,
                Verdict::Refused {
                    code: "unknown-language",
                    why: format!(
                        "sys.syslanguages on the source has no language with LCID {}",
                        m.language
                    ),
                },
            ));
            continue;
        };
        if m.language != US_ENGLISH && !english_lands.contains(&m.id) {
            out.push(Decision::new(
                "message",
                name,
                Verdict::Skipped {
                    code: "us-english-missing",
                    why: "its us_english version is not moved, and sp_addmessage needs it before \
                          any other language"
                        .into(),
                },
            ));
            continue;
        }
        let there = dst
            .iter()
            .find(|t| t.id == m.id && t.language == m.language);
        let verdict = match there {
            None => Verdict::Create(vec![add(m, &language, false)]),
            Some(t) if t == m => Verdict::Unchanged,
            Some(t) => Verdict::Conflict {
                differs: format!(
                    "there it has severity {}{} and the text `{}`",
                    t.severity,
                    if t.logged { ", logged" } else { "" },
                    t.text
                ),
                replace: vec![add(m, &language, true)],
            },
        };
        if m.language == US_ENGLISH && !matches!(verdict, Verdict::Refused { .. }) {
            english_lands.push(m.id);
        }
        let mut d = Decision::new("message", name, verdict);
        if m.logged {
            d = d.note(
                "with_log kept: Managed Instance has no Windows application log; the message \
                 still goes to the error log",
            );
        }
        out.push(d);
    }
    Ok(out)
}
