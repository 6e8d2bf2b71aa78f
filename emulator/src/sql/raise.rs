//! RAISERROR and THROW, as their Transact-SQL reference pages describe them.
//!
//! RAISERROR with a message text raises error 50000, the text formatted printf-style with its
//! arguments; severity 0–10 is informational (severity 10 reaches the client as 0, "Database
//! engine error severities"), 11–18 an error, 19–25 needs WITH LOG (error 2754), 20–25 ends the
//! connection. RAISERROR with a message number needs a message added with sp_addmessage; the
//! emulator has none, so it answers as SQL Server does for a missing one (18054). THROW raises
//! the number it is given (50000 or more, else error 35100) at severity 16, and ends the batch.

use super::expr::{Expr, arguments, parse_expr};
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::{self, Value};
use crate::syntax::{Token, expect, near};

/// A parsed RAISERROR.
pub struct Raise<'t> {
    pub message: Expr<'t>,
    pub severity: Expr<'t>,
    pub state: Expr<'t>,
    pub args: Vec<Expr<'t>>,
    pub with_log: bool,
}

/// `RAISERROR ( msg, severity, state [, arg …] ) [WITH LOG | NOWAIT | SETERROR …]`.
pub fn parse_raiserror(t: &[Token]) -> Result<Raise<'_>, ServerMessage> {
    let (exprs, rest) = arguments(expect(&t[1..], "(")?)?;
    if exprs.len() < 3 {
        return Err(near(rest));
    }
    let mut with_log = false;
    if let Some(first) = rest.first() {
        if !first.is("WITH") {
            return Err(near(rest));
        }
        for o in rest[1..].iter().filter(|x| !x.is_punct(",")) {
            if o.is("LOG") {
                with_log = true;
            } else if !(o.is("NOWAIT") || o.is("SETERROR")) {
                return Err(crate::syntax::syntax_error(&o.display()));
            }
        }
    }
    let mut exprs = exprs.into_iter();
    let (Some(message), Some(severity), Some(state)) = (exprs.next(), exprs.next(), exprs.next())
    else {
        return Err(near(rest));
    };
    Ok(Raise {
        message,
        severity,
        state,
        args: exprs.collect(),
        with_log,
    })
}

/// `THROW` (re-throw) or `THROW number, message, state`.
pub fn parse_throw(t: &[Token]) -> Result<Option<[Expr<'_>; 3]>, ServerMessage> {
    if t.len() == 1 {
        return Ok(None);
    }
    let (number, r) = parse_expr(&t[1..])?;
    let (message, r) = parse_expr(expect(r, ",")?)?;
    let (state, r) = parse_expr(expect(r, ",")?)?;
    if !r.is_empty() {
        return Err(near(r));
    }
    Ok(Some([number, message, state]))
}

/// What a RAISERROR raises: the message, and whether the connection ends after it.
pub fn raiserror(
    message: &Value,
    severity: i64,
    state: i64,
    args: &[Value],
    with_log: bool,
) -> Result<(ServerMessage, bool), ServerMessage> {
    let severity = severity.clamp(0, 25);
    if severity > 18 && !with_log {
        // SQL Server error 2754 (severity 16).
        return Err(ServerMessage::error(
            2754,
            16,
            "Error severity levels greater than 18 can only be specified by members of the sysadmin role, using the WITH LOG option.",
        ));
    }
    let state = if state < 0 { 1 } else { state.min(255) } as u8;
    let (number, text) = match message {
        Value::Text(t) => (50000, format(t, args)),
        other => {
            let id = types::int(other);
            if id < 13000 || id == 50000 {
                // SQL Server error 2732 (severity 16).
                return Err(ServerMessage::error(
                    2732,
                    16,
                    format!(
                        "Error number {id} is invalid. The number must be from 13000 through 2147483647 and it cannot be 50000."
                    ),
                ));
            }
            // SQL Server error 18054 (severity 16): the emulator has no sp_addmessage messages.
            return Err(ServerMessage::error(
                18054,
                16,
                format!(
                    "Error {id}, severity {severity}, state {state} was raised, but no message with that error number was found in sys.messages. If error is larger than 50000, make sure the user-defined message is added using sp_addmessage."
                ),
            ));
        }
    };
    // Severity 10 is sent as 0 ("Database engine error severities").
    let class = if severity == 10 { 0 } else { severity as u8 };
    let mut m = ServerMessage::error(number, class, truncate(text));
    m.state = state;
    Ok((m, severity >= 20))
}

/// What a THROW raises. SQL Server errors 35100 (number out of range) and 35101 (state out of
/// range).
pub fn throw(number: &Value, message: &Value, state: &Value) -> ServerMessage {
    let n = types::int(number);
    if !(50000..=i64::from(i32::MAX)).contains(&n) {
        // SQL Server raises it in state 10 (its output as published, e.g. raresql.com's
        // "guidelines to implement THROW statement"; Microsoft's error list gives no state).
        let mut m = ServerMessage::error(
            35100,
            16,
            format!(
                "Error number {n} in the THROW statement is outside the valid range. Specify an error number in the valid range of 50000 to 2147483647."
            ),
        );
        m.state = 10;
        return m;
    }
    let s = types::int(state);
    if !(0..=255).contains(&s) {
        return ServerMessage::error(
            35101,
            16,
            format!(
                "State {s} in the THROW statement is outside the valid range. Specify a state in the valid range of 0 to 255."
            ),
        );
    }
    let mut m = ServerMessage::error(n as i32, 16, truncate(types::text(message)));
    m.state = s as u8;
    m
}

/// Messages are capped at 2,047 characters; a longer one ends in `...`.
fn truncate(t: String) -> String {
    if t.chars().count() <= 2047 {
        return t;
    }
    let mut s: String = t.chars().take(2044).collect();
    s.push_str("...");
    s
}

/// printf-style formatting as RAISERROR does it: `%[flags][width][.precision]type` with types
/// d, i, u, o, x, X, s; `%%` is a percent sign.
pub fn format(text: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        let mut flags = String::new();
        while let Some(f) = chars.peek().filter(|f| "-+ 0#".contains(**f)) {
            flags.push(*f);
            chars.next();
        }
        let mut width = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            width.push(*d);
            chars.next();
        }
        let mut precision = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                p.push(*d);
                chars.next();
            }
            precision = p.parse::<usize>().ok();
        }
        // Size prefixes (h, l, I64) change nothing here.
        while chars
            .peek()
            .is_some_and(|c| matches!(c, 'h' | 'l' | 'I' | '6' | '4'))
        {
            chars.next();
        }
        let Some(kind) = chars.next() else {
            break;
        };
        let arg = args.next();
        let piece = match (kind, arg) {
            (_, None) => "(null)".to_owned(),
            (_, Some(Value::Null)) => "(null)".to_owned(),
            ('d' | 'i', Some(v)) => {
                let i = types::int(v);
                if flags.contains('+') && i >= 0 {
                    format!("+{i}")
                } else {
                    i.to_string()
                }
            }
            ('u', Some(v)) => (types::int(v) as u32).to_string(),
            ('o', Some(v)) => format!("{:o}", types::int(v) as u32),
            ('x', Some(v)) => format!("{:x}", types::int(v) as u32),
            ('X', Some(v)) => format!("{:X}", types::int(v) as u32),
            (_, Some(v)) => {
                let t = types::text(v);
                match precision {
                    Some(p) => t.chars().take(p).collect(),
                    None => t,
                }
            }
        };
        let width: usize = width.parse().unwrap_or(0);
        let pad = width.saturating_sub(piece.chars().count());
        if flags.contains('-') {
            out.push_str(&piece);
            out.push_str(&" ".repeat(pad));
        } else if flags.contains('0') && matches!(kind, 'd' | 'i' | 'u' | 'x' | 'X' | 'o') {
            out.push_str(&"0".repeat(pad));
            out.push_str(&piece);
        } else {
            out.push_str(&" ".repeat(pad));
            out.push_str(&piece);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_raiserror() {
        let args = [Value::Int(7), Value::Text("Sales".into())];
        assert_eq!(
            format("%d rows in %s, 100%%", &args),
            "7 rows in Sales, 100%"
        );
        let three = [
            Value::Int(7),
            Value::Text("Sales".into()),
            Value::Text("Orders".into()),
        ];
        assert_eq!(format("[%5d|%-7s|%.2s]", &three), "[    7|Sales  |Or]");
        assert_eq!(format("%s", &[]), "(null)");
    }

    #[test]
    fn numbers_and_severities() {
        let (m, end) = raiserror(&Value::Text("x".into()), 16, 3, &[], false).unwrap();
        assert_eq!((m.number, m.class, m.state, end), (50000, 16, 3, false));
        let (m, _) = raiserror(&Value::Text("x".into()), 10, 1, &[], false).unwrap();
        assert_eq!(m.class, 0);
        assert_eq!(
            raiserror(&Value::Text("x".into()), 20, 1, &[], false)
                .unwrap_err()
                .number,
            2754
        );
        assert!(
            raiserror(&Value::Text("x".into()), 20, 1, &[], true)
                .unwrap()
                .1
        );
        assert_eq!(
            raiserror(&Value::Int(50001), 16, 1, &[], false)
                .unwrap_err()
                .number,
            18054
        );
        let t = throw(
            &Value::Int(51000),
            &Value::Text("boom".into()),
            &Value::Int(2),
        );
        assert_eq!((t.number, t.class, t.state), (51000, 16, 2));
        assert_eq!(
            throw(&Value::Int(1), &Value::Text("x".into()), &Value::Int(1)).number,
            35100
        );
    }
}
