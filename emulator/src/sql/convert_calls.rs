//! CONVERT in statements SQLite runs. SQLite has CAST but no CONVERT, and no styles; the
//! styles matter for binary data written as text ("CAST and CONVERT (Transact-SQL)", Binary
//! styles: `CONVERT(varchar(max), CERTENCODED(…), 1)` is how a certificate's public key is
//! read as `0x…` text). Before the rewrite, each `CONVERT(type, expr[, style])` becomes
//! `ferry_convert(expr, 'kind', style)` (instance/convert_fn.rs). Only the kinds below are
//! modelled; any other target type is refused by name rather than converted wrongly.

use std::borrow::Cow;

use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::SqlType;
use crate::syntax::{Token, parse_type};

/// What `ferry_convert` converts to.
fn kind(ty: SqlType) -> Option<&'static str> {
    match ty {
        SqlType::VarChar(_) | SqlType::NVarChar(_) => Some("text"),
        SqlType::VarBinary(_) => Some("binary"),
        SqlType::TinyInt | SqlType::SmallInt | SqlType::Int | SqlType::BigInt => Some("int"),
        _ => None,
    }
}

/// The index of the `)` closing the `(` at `open`, and the top-level commas between.
pub(super) fn call_shape(t: &[Token], open: usize) -> Option<(usize, Vec<usize>)> {
    let mut depth = 0;
    let mut commas = Vec::new();
    for (i, tok) in t.iter().enumerate().skip(open) {
        if tok.is_punct("(") {
            depth += 1;
        } else if tok.is_punct(")") {
            depth -= 1;
            if depth == 0 {
                return Some((i, commas));
            }
        } else if tok.is_punct(",") && depth == 1 {
            commas.push(i);
        }
    }
    None
}

fn refused(what: &str) -> ServerMessage {
    ServerMessage::error(
        50000,
        16,
        format!("ferry-emulator does not model CONVERT to {what} in a query over tables"),
    )
}

/// Whether `expr` is visibly nvarchar (an `N'…'` literal, or a CONVERT or CAST to nvarchar or
/// nchar): its bytes as varbinary are UTF-16LE ("CAST and CONVERT (Transact-SQL)": converting
/// character data to binary keeps its bytes, and nvarchar's are UTF-16). A column's type is
/// not visible here: nvarchar columns keep the emulator's UTF-8 bytes.
fn unicode(expr: &[Token]) -> bool {
    let names = |t: &[Token]| t.first().is_some_and(|w| w.is("NVARCHAR") || w.is("NCHAR"));
    match expr {
        [Token::Str { unicode, .. }] => *unicode,
        [c, open, rest @ .., close]
            if c.is("CONVERT") && open.is_punct("(") && close.is_punct(")") =>
        {
            names(rest)
        }
        [c, open, rest @ .., close]
            if c.is("CAST") && open.is_punct("(") && close.is_punct(")") =>
        {
            rest.iter()
                .rposition(|t| t.is("AS"))
                .is_some_and(|a| names(&rest[a + 1..]))
        }
        _ => false,
    }
}

/// `tokens` with every CONVERT call rewritten (borrowed when there is none).
pub fn rewrite_converts(tokens: &[Token]) -> Result<Cow<'_, [Token]>, ServerMessage> {
    let at =
        |i: usize| tokens[i].is("CONVERT") && tokens.get(i + 1).is_some_and(|x| x.is_punct("("));
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
        let Some((end, commas)) = call_shape(tokens, i + 1) else {
            return Err(refused("an unclosed call"));
        };
        let Some(&type_end) = commas.first() else {
            return Err(refused("a call without an expression"));
        };
        let (ty, _) = parse_type(&tokens[i + 2..type_end])?;
        let Some(kind) = kind(ty) else {
            return Err(refused(&crate::sql::convert::type_name(ty)));
        };
        let expr_end = commas.get(1).copied().unwrap_or(end);
        let kind = match kind {
            "binary" if unicode(&tokens[type_end + 1..expr_end]) => "binary_nvarchar",
            k => k,
        };
        out.push(Token::Word("ferry_convert".into()));
        out.push(Token::Punct("(".into()));
        // A CONVERT inside the expression is rewritten too.
        out.extend(
            rewrite_converts(&tokens[type_end + 1..expr_end])?
                .iter()
                .cloned(),
        );
        out.push(Token::Punct(",".into()));
        out.push(Token::Str {
            text: kind.into(),
            unicode: false,
        });
        out.push(Token::Punct(",".into()));
        match commas.get(1) {
            Some(&c) => out.extend(tokens[c + 1..end].iter().cloned()),
            None => out.push(Token::Number("0".into())),
        }
        out.push(Token::Punct(")".into()));
        i = end + 1;
    }
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::tokenize;

    /// The tokens as `display` writes them (string literals without their quotes).
    fn text(sql: &str) -> String {
        let t = tokenize(sql).unwrap();
        rewrite_converts(&t)
            .unwrap()
            .iter()
            .map(|t| t.display())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn a_convert_becomes_ferry_convert_with_its_kind_and_style() {
        assert_eq!(
            text("SELECT CONVERT(varchar(max), CERTENCODED(CERT_ID(N'c')), 1) AS der"),
            "SELECT ferry_convert ( CERTENCODED ( CERT_ID ( c ) ) , text , 1 ) AS der"
        );
        assert_eq!(
            text("SELECT CONVERT(int, x) + CONVERT(varbinary(8), CONVERT(varchar(10), y, 2))"),
            "SELECT ferry_convert ( x , int , 0 ) + ferry_convert ( ferry_convert ( y , text , 2 ) , binary , 0 )"
        );
        assert_eq!(
            text("SELECT CONVERT(varbinary(max), CONVERT(nvarchar(max), s))"),
            "SELECT ferry_convert ( ferry_convert ( s , text , 0 ) , binary_nvarchar , 0 )"
        );
    }

    #[test]
    fn a_type_not_modelled_is_refused_by_name() {
        let t = tokenize("SELECT CONVERT(date, x)").unwrap();
        let e = rewrite_converts(&t).unwrap_err();
        assert!(e.text.contains("CONVERT to date"), "{}", e.text);
    }
}
