//! DATEADD in statements SQLite runs. Its first argument is a datepart keyword, not a value,
//! so SQLite cannot take the call as written: before the rewrite each `DATEADD(part, n, d)`
//! becomes `ferry_dateadd('part', n, d)` (instance/date_fn.rs), the part spelled out. The
//! dateparts and their abbreviations are those of "DATEADD (Transact-SQL)"
//! (learn.microsoft.com/sql/t-sql/functions/dateadd-transact-sql); any other word is SQL
//! Server's error 155 (severity 15) "'x' is not a recognized dateadd option.", raised while
//! the batch is parsed, so nothing runs.

use std::borrow::Cow;

use crate::protocol::tokens::ServerMessage;
use crate::syntax::Token;

use super::convert_calls::call_shape;

/// The datepart a DATEADD word names, spelled out (the docs' table of dateparts and
/// abbreviations).
pub fn datepart(word: &str) -> Option<&'static str> {
    Some(match word.to_ascii_lowercase().as_str() {
        "year" | "yy" | "yyyy" => "year",
        "quarter" | "qq" | "q" => "quarter",
        "month" | "mm" | "m" => "month",
        "dayofyear" | "dy" | "y" => "dayofyear",
        "day" | "dd" | "d" => "day",
        "week" | "wk" | "ww" => "week",
        "weekday" | "dw" | "w" => "weekday",
        "hour" | "hh" => "hour",
        "minute" | "mi" | "n" => "minute",
        "second" | "ss" | "s" => "second",
        "millisecond" | "ms" => "millisecond",
        "microsecond" | "mcs" => "microsecond",
        "nanosecond" | "ns" => "nanosecond",
        _ => return None,
    })
}

fn not_an_option(what: &str) -> ServerMessage {
    ServerMessage::error(
        155,
        15,
        format!("'{what}' is not a recognized dateadd option."),
    )
}

/// `tokens` with every DATEADD call rewritten (borrowed when there is none).
pub fn rewrite_dateadds(tokens: &[Token]) -> Result<Cow<'_, [Token]>, ServerMessage> {
    let at =
        |i: usize| tokens[i].is("DATEADD") && tokens.get(i + 1).is_some_and(|x| x.is_punct("("));
    if !(0..tokens.len()).any(at) {
        return Ok(Cow::Borrowed(tokens));
    }
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        if !at(i) {
            out.push(tokens[i].clone());
            i += 1;
            continue;
        }
        // SQL Server's error 174 for a call with the wrong number of arguments.
        let wrong = || {
            ServerMessage::error(
                174,
                15,
                "The dateadd function requires 3 argument(s).".to_owned(),
            )
        };
        let (end, commas) = call_shape(tokens, i + 1).ok_or_else(wrong)?;
        if commas.len() != 2 {
            return Err(wrong());
        }
        let part = match &tokens[i + 2..commas[0]] {
            [Token::Word(w)] => datepart(w).ok_or_else(|| not_an_option(w))?,
            other => {
                let shown: Vec<String> = other.iter().map(Token::display).collect();
                return Err(not_an_option(&shown.join(" ")));
            }
        };
        out.push(Token::Word("ferry_dateadd".into()));
        out.push(Token::Punct("(".into()));
        out.push(Token::Str {
            text: part.into(),
            unicode: false,
        });
        // A DATEADD inside the number or the date is rewritten too.
        out.extend(rewrite_dateadds(&tokens[commas[0]..end])?.iter().cloned());
        out.push(Token::Punct(")".into()));
        i = end + 1;
    }
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::tokenize;

    fn text(sql: &str) -> Result<String, ServerMessage> {
        let t = tokenize(sql).unwrap();
        Ok(rewrite_dateadds(&t)?
            .iter()
            .map(|t| t.display())
            .collect::<Vec<_>>()
            .join(" "))
    }

    #[test]
    fn a_dateadd_names_its_part_as_text() {
        assert_eq!(
            text("SELECT 1 WHERE x > DATEADD(SECOND, -60, GETUTCDATE())").unwrap(),
            "SELECT 1 WHERE x > ferry_dateadd ( second , - 60 , GETUTCDATE ( ) )"
        );
        assert_eq!(
            text("SELECT DATEADD(mi, 1, DATEADD(dd, 2, y))").unwrap(),
            "SELECT ferry_dateadd ( minute , 1 , ferry_dateadd ( day , 2 , y ) )"
        );
    }

    #[test]
    fn an_unknown_part_or_a_wrong_arity_is_refused_as_sql_server_does() {
        let e = text("SELECT DATEADD(fortnight, 1, y)").unwrap_err();
        assert_eq!(e.number, 155);
        assert!(e.text.contains("'fortnight'"), "{}", e.text);
        assert_eq!(text("SELECT DATEADD(day, 1)").unwrap_err().number, 174);
    }
}
