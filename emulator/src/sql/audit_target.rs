//! The pieces of the server audit statements that describe where an audit writes: option
//! lists, the TO target ("CREATE SERVER AUDIT (Transact-SQL)", file options with their
//! limits), and which targets each server takes.

use crate::instance::AuditTarget;
use crate::protocol::tokens::ServerMessage;
use crate::syntax::{Token, closing_paren, near, syntax_error};

type R<T> = Result<T, ServerMessage>;

/// `KEY = value` pairs of an option list.
pub(super) type Options<'t> = Vec<(String, &'t [Token])>;

/// `( KEY = value, … )` starting at `st[open]`: the pairs and the index after `)`.
pub(super) fn options(st: &[Token], open: usize) -> R<(Options<'_>, usize)> {
    if !st.get(open).is_some_and(|t| t.is_punct("(")) {
        return Err(near(&st[open.min(st.len())..]));
    }
    let close = closing_paren(st, open).ok_or_else(|| near(&st[st.len()..]))?;
    let mut out = Vec::new();
    for item in st[open + 1..close].split(|t| t.is_punct(",")) {
        match item {
            [Token::Word(k), eq, value @ ..] if eq.is_punct("=") && !value.is_empty() => {
                out.push((k.to_ascii_uppercase(), value))
            }
            _ => return Err(near(if item.is_empty() { &st[close..] } else { item })),
        }
    }
    Ok((out, close + 1))
}

pub(super) fn number(v: &[Token]) -> R<i64> {
    match v {
        [Token::Number(n)] => n.parse().map_err(|_| syntax_error(n)),
        _ => Err(near(v)),
    }
}

pub(super) fn on_off(v: &[Token]) -> R<bool> {
    match v {
        [t] if t.is("ON") => Ok(true),
        [t] if t.is("OFF") => Ok(false),
        _ => Err(near(v)),
    }
}

pub(super) fn string(v: &[Token]) -> R<String> {
    match v {
        [Token::Str { text, .. }] => Ok(text.clone()),
        _ => Err(near(v)),
    }
}

/// The audit target after TO, and the index after it.
pub(super) fn target(st: &[Token], i: usize) -> R<(AuditTarget, usize)> {
    let word = st.get(i).ok_or_else(|| near(&st[st.len()..]))?;
    if word.is("APPLICATION_LOG") {
        return Ok((AuditTarget::ApplicationLog, i + 1));
    }
    if word.is("SECURITY_LOG") {
        return Ok((AuditTarget::SecurityLog, i + 1));
    }
    if word.is("EXTERNAL_MONITOR") {
        return Ok((AuditTarget::ExternalMonitor, i + 1));
    }
    let (opts, after) = options(st, i + 1)?;
    if word.is("URL") {
        let mut path = None;
        for (k, v) in opts {
            match k.as_str() {
                "PATH" => path = Some(string(v)?),
                "RETENTION_DAYS" => {
                    number(v)?;
                }
                other => return Err(syntax_error(other)),
            }
        }
        let path = path.ok_or_else(|| syntax_error(")"))?;
        return Ok((AuditTarget::Url { path }, after));
    }
    if !word.is("FILE") {
        return Err(syntax_error(&word.display()));
    }
    let (mut path, mut size, mut rollover, mut files, mut reserve) = (None, 0, None, None, false);
    for (k, v) in opts {
        match k.as_str() {
            "FILEPATH" => path = Some(string(v)?),
            "MAXSIZE" => {
                size = match v {
                    [u] if u.is("UNLIMITED") => 0,
                    [n, unit] => {
                        let n = number(std::slice::from_ref(n))?;
                        let factor = match unit {
                            u if u.is("MB") => 1,
                            u if u.is("GB") => 1024,
                            u if u.is("TB") => 1024 * 1024,
                            u => return Err(syntax_error(&u.display())),
                        };
                        n.checked_mul(factor)
                            .ok_or_else(|| syntax_error(&unit.display()))?
                    }
                    _ => return Err(near(v)),
                };
                if size > 0 && size < 2 {
                    // SQL Server error 33070 (severity 16).
                    return Err(ServerMessage::error(
                        33070,
                        16,
                        "The specified maximum size limit for the audit log file is less than the minimum value allowed. The maximum size limit must be at least 2 MB.",
                    ));
                }
            }
            "MAX_ROLLOVER_FILES" if files.is_none() => {
                rollover = Some(match v {
                    [u] if u.is("UNLIMITED") => i64::from(i32::MAX),
                    _ => number(v)?,
                })
            }
            "MAX_FILES" if rollover.is_none() => files = Some(number(v)?),
            "RESERVE_DISK_SPACE" => reserve = on_off(v)?,
            other => return Err(syntax_error(other)),
        }
    }
    if reserve && size == 0 {
        // SQL Server error 33077 (severity 16).
        return Err(ServerMessage::error(
            33077,
            16,
            "RESERVE_DISK_SPACE cannot be specified when setting MAXSIZE = UNLIMITED. Either reduce MAXSIZE or do not specify RESERVE_DISK_SPACE.",
        ));
    }
    let path = path.ok_or_else(|| syntax_error(")"))?;
    Ok((
        AuditTarget::File {
            path,
            max_size_mb: size,
            // "MAX_ROLLOVER_FILES … The default value is UNLIMITED."
            max_rollover_files: rollover.unwrap_or(i64::from(i32::MAX)),
            max_files: files.unwrap_or(0),
            reserve_disk_space: reserve,
        },
        after,
    ))
}

/// The Managed Instance takes only URL and EXTERNAL_MONITOR targets: the others are options
/// it does not support (error 41901, as for its other unsupported options). SQL Server has no
/// URL or EXTERNAL_MONITOR target ("Applies to: Azure SQL Managed Instance"): a syntax error.
pub(super) fn check_target(t: &AuditTarget, mi: bool) -> R<()> {
    let word = match t {
        AuditTarget::File { .. } => "FILE",
        AuditTarget::ApplicationLog => "APPLICATION_LOG",
        AuditTarget::SecurityLog => "SECURITY_LOG",
        AuditTarget::Url { .. } => "URL",
        AuditTarget::ExternalMonitor => "EXTERNAL_MONITOR",
    };
    let mi_target = matches!(t, AuditTarget::Url { .. } | AuditTarget::ExternalMonitor);
    if mi && !mi_target {
        return Err(ServerMessage::error(
            41901,
            16,
            format!(
                "One or more of the options ({word}) are not supported for this statement in SQL Database Managed Instance. Review the documentation for supported options."
            ),
        ));
    }
    if !mi && mi_target {
        return Err(syntax_error(word));
    }
    if let AuditTarget::Url { path } = t {
        // "the URL of the Azure Blob storage container where the .xel files are placed":
        // scheme, account host and a container.
        let rest = path
            .strip_prefix("https://")
            .or_else(|| path.strip_prefix("http://"));
        let container = rest
            .and_then(|r| r.split_once('/'))
            .map(|(host, c)| (host, c.trim_matches('/')));
        if !matches!(container, Some((h, c)) if !h.is_empty() && !c.is_empty()) {
            // SQL Server error 33072 (severity 16).
            return Err(ServerMessage::error(
                33072,
                16,
                "The audit log file path is invalid.",
            ));
        }
    }
    Ok(())
}
