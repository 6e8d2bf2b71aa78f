//! Expressions outside table queries, read with T-SQL's operator precedence ("Operator
//! precedence", Transact-SQL reference): unary `- + ~`; `* / %`; `+ - & ^ |`; comparisons;
//! NOT; AND; OR, IN, BETWEEN, LIKE. A subquery (`EXISTS (SELECT …)`, `(SELECT …)`) marks the
//! expression for SQLite, which evaluates it with the tables.

use crate::protocol::types::SqlType;
use crate::syntax::{Parsed, Token, closing_paren, expect, near, parse_type, syntax_error};

/// An operator between two operands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Mul,
    Div,
    Mod,
    Add,
    Sub,
    BitAnd,
    BitOr,
    BitXor,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

#[derive(Debug, Clone)]
pub enum Expr<'t> {
    Literal(&'t Token),
    Null,
    Global(&'t str),
    Var(&'t str),
    Call(&'t str, Vec<Expr<'t>>),
    Cast(Box<Expr<'t>>, SqlType),
    /// CONVERT with a style (the third argument).
    Convert(Box<Expr<'t>>, SqlType, Box<Expr<'t>>),
    Neg(Box<Expr<'t>>),
    BitNot(Box<Expr<'t>>),
    Not(Box<Expr<'t>>),
    Binary(Box<Expr<'t>>, Op, Box<Expr<'t>>),
    IsNull(Box<Expr<'t>>, bool),
    In(Box<Expr<'t>>, Vec<Expr<'t>>, bool),
    Between(Box<Expr<'t>>, Box<Expr<'t>>, Box<Expr<'t>>, bool),
    Like(Box<Expr<'t>>, Box<Expr<'t>>, bool),
    Case {
        operand: Option<Box<Expr<'t>>>,
        whens: Vec<(Expr<'t>, Expr<'t>)>,
        otherwise: Option<Box<Expr<'t>>>,
    },
    /// `*` in a select list.
    Star,
    /// A subquery: only SQLite can evaluate the expression.
    Subquery,
}

/// Whether a text expression needs the tables: it holds a subquery or EXISTS.
pub fn needs_tables(t: &[Token]) -> bool {
    // The certificate functions read sys.certificates, which only SQLite has
    // (`DECLARE @id int = CERT_ID('MicrosoftPKI')`, "Configure link with T-SQL").
    t.iter().any(|x| {
        x.is("SELECT")
            || x.is("EXISTS")
            || x.is("CERT_ID")
            || x.is("CERTENCODED")
            || x.is("CERTPRIVATEKEY")
    })
}

pub fn parse_expr(t: &[Token]) -> Parsed<'_, Expr<'_>> {
    level(t, and_expr, |x| x.is("OR").then_some(Op::Or))
}

fn and_expr(t: &[Token]) -> Parsed<'_, Expr<'_>> {
    level(t, not_expr, |x| x.is("AND").then_some(Op::And))
}

fn not_expr(t: &[Token]) -> Parsed<'_, Expr<'_>> {
    if t.first().is_some_and(|x| x.is("NOT")) {
        let (e, rest) = not_expr(&t[1..])?;
        return Ok((Expr::Not(Box::new(e)), rest));
    }
    predicate(t)
}

fn comparison(t: &Token) -> Option<Op> {
    let Token::Punct(p) = t else { return None };
    Some(match p.as_str() {
        "=" => Op::Eq,
        "<>" | "!=" => Op::Ne,
        "<" => Op::Lt,
        "<=" | "!>" => Op::Le,
        ">" => Op::Gt,
        ">=" | "!<" => Op::Ge,
        _ => return None,
    })
}

fn predicate(t: &[Token]) -> Parsed<'_, Expr<'_>> {
    if t.first().is_some_and(|x| x.is("EXISTS")) {
        let close = closing_paren(t, 1).ok_or_else(|| near(&t[1..]))?;
        return Ok((Expr::Subquery, &t[close + 1..]));
    }
    let (left, rest) = additive(t)?;
    let Some(x) = rest.first() else {
        return Ok((left, rest));
    };
    if let Some(op) = comparison(x) {
        let (right, r) = additive(&rest[1..])?;
        return Ok((Expr::Binary(Box::new(left), op, Box::new(right)), r));
    }
    if x.is("IS") {
        let (negated, r) = match rest.get(1) {
            Some(n) if n.is("NOT") => (true, &rest[2..]),
            _ => (false, &rest[1..]),
        };
        if !r.first().is_some_and(|n| n.is("NULL")) {
            return Err(near(r));
        }
        return Ok((Expr::IsNull(Box::new(left), negated), &r[1..]));
    }
    let (negated, r) = if x.is("NOT") {
        (true, &rest[1..])
    } else {
        (false, rest)
    };
    match r.first() {
        Some(k) if k.is("IN") => {
            let open = &r[1..];
            if open.get(1).is_some_and(|x| x.is("SELECT")) {
                let close = closing_paren(open, 0).ok_or_else(|| near(open))?;
                return Ok((Expr::Subquery, &open[close + 1..]));
            }
            let mut r = expect(open, "(")?;
            let mut items = Vec::new();
            loop {
                let (e, rr) = additive(r)?;
                items.push(e);
                if rr.first().is_some_and(|x| x.is_punct(",")) {
                    r = &rr[1..];
                    continue;
                }
                r = expect(rr, ")")?;
                break;
            }
            Ok((Expr::In(Box::new(left), items, negated), r))
        }
        Some(k) if k.is("BETWEEN") => {
            let (low, rr) = additive(&r[1..])?;
            if !rr.first().is_some_and(|x| x.is("AND")) {
                return Err(near(rr));
            }
            let (high, rr) = additive(&rr[1..])?;
            Ok((
                Expr::Between(Box::new(left), Box::new(low), Box::new(high), negated),
                rr,
            ))
        }
        Some(k) if k.is("LIKE") => {
            let (pattern, rr) = additive(&r[1..])?;
            Ok((Expr::Like(Box::new(left), Box::new(pattern), negated), rr))
        }
        _ if negated => Err(near(r)),
        _ => Ok((left, rest)),
    }
}

/// A left-associative level of binary operators: `next (op next)*`.
fn level<'t>(
    t: &'t [Token],
    next: fn(&'t [Token]) -> Parsed<'t, Expr<'t>>,
    op: fn(&Token) -> Option<Op>,
) -> Parsed<'t, Expr<'t>> {
    let (mut left, mut rest) = next(t)?;
    while let Some(x) = rest.first() {
        let Some(op) = op(x) else { break };
        let (right, r) = next(&rest[1..])?;
        left = Expr::Binary(Box::new(left), op, Box::new(right));
        rest = r;
    }
    Ok((left, rest))
}

fn additive(t: &[Token]) -> Parsed<'_, Expr<'_>> {
    level(t, multiplicative, |x| match x.display().as_str() {
        _ if !matches!(x, Token::Punct(_)) => None,
        "+" => Some(Op::Add),
        "-" => Some(Op::Sub),
        "&" => Some(Op::BitAnd),
        "|" => Some(Op::BitOr),
        "^" => Some(Op::BitXor),
        _ => None,
    })
}

fn multiplicative(t: &[Token]) -> Parsed<'_, Expr<'_>> {
    level(t, unary, |x| match x.display().as_str() {
        _ if !matches!(x, Token::Punct(_)) => None,
        "*" => Some(Op::Mul),
        "/" => Some(Op::Div),
        "%" => Some(Op::Mod),
        _ => None,
    })
}

fn unary(t: &[Token]) -> Parsed<'_, Expr<'_>> {
    match t.first() {
        Some(Token::Punct(p)) if p == "-" => {
            let (e, rest) = unary(&t[1..])?;
            Ok((Expr::Neg(Box::new(e)), rest))
        }
        Some(Token::Punct(p)) if p == "+" => unary(&t[1..]),
        Some(Token::Punct(p)) if p == "~" => {
            let (e, rest) = unary(&t[1..])?;
            Ok((Expr::BitNot(Box::new(e)), rest))
        }
        _ => primary(t),
    }
}

/// Arguments after a `(`, up to and past the `)`.
pub fn arguments(mut t: &[Token]) -> Parsed<'_, Vec<Expr<'_>>> {
    let mut args = Vec::new();
    if t.first().is_some_and(|x| x.is_punct(")")) {
        return Ok((args, &t[1..]));
    }
    loop {
        let (a, r) = parse_expr(t)?;
        args.push(a);
        if r.first().is_some_and(|x| x.is_punct(",")) {
            t = &r[1..];
            continue;
        }
        return expect(r, ")").map(|r| (args, r));
    }
}

fn case(t: &[Token]) -> Parsed<'_, Expr<'_>> {
    let (operand, mut t) = if t.first().is_some_and(|x| x.is("WHEN")) {
        (None, t)
    } else {
        let (e, r) = parse_expr(t)?;
        (Some(Box::new(e)), r)
    };
    let mut whens = Vec::new();
    while t.first().is_some_and(|x| x.is("WHEN")) {
        let (when, r) = parse_expr(&t[1..])?;
        if !r.first().is_some_and(|x| x.is("THEN")) {
            return Err(near(r));
        }
        let (then, r) = parse_expr(&r[1..])?;
        whens.push((when, then));
        t = r;
    }
    if whens.is_empty() {
        return Err(near(t));
    }
    let otherwise = if t.first().is_some_and(|x| x.is("ELSE")) {
        let (e, r) = parse_expr(&t[1..])?;
        t = r;
        Some(Box::new(e))
    } else {
        None
    };
    if !t.first().is_some_and(|x| x.is("END")) {
        return Err(near(t));
    }
    Ok((
        Expr::Case {
            operand,
            whens,
            otherwise,
        },
        &t[1..],
    ))
}

fn primary(t: &[Token]) -> Parsed<'_, Expr<'_>> {
    let Some(first) = t.first() else {
        return Err(syntax_error(""));
    };
    match first {
        Token::Number(_) | Token::Str { .. } => Ok((Expr::Literal(first), &t[1..])),
        Token::Global(g) => Ok((Expr::Global(g), &t[1..])),
        Token::Var(v) => Ok((Expr::Var(v), &t[1..])),
        Token::Punct(p) if p == "*" => Ok((Expr::Star, &t[1..])),
        Token::Punct(p) if p == "(" => {
            if t.get(1).is_some_and(|x| x.is("SELECT")) {
                let close = closing_paren(t, 0).ok_or_else(|| near(t))?;
                return Ok((Expr::Subquery, &t[close + 1..]));
            }
            let (e, rest) = parse_expr(&t[1..])?;
            expect(rest, ")").map(|rest| (e, rest))
        }
        Token::Word(w) if w.eq_ignore_ascii_case("NULL") => Ok((Expr::Null, &t[1..])),
        Token::Word(w) if w.eq_ignore_ascii_case("CASE") => case(&t[1..]),
        Token::Word(w) if w.eq_ignore_ascii_case("CAST") => {
            let rest = expect(&t[1..], "(")?;
            let (e, rest) = parse_expr(rest)?;
            if !rest.first().is_some_and(|x| x.is("AS")) {
                return Err(near(rest));
            }
            let (ty, rest) = parse_type(&rest[1..])?;
            let rest = expect(rest, ")")?;
            Ok((Expr::Cast(Box::new(e), ty), rest))
        }
        Token::Word(w) if w.eq_ignore_ascii_case("CONVERT") => {
            let rest = expect(&t[1..], "(")?;
            let (ty, rest) = parse_type(rest)?;
            let rest = expect(rest, ",")?;
            let (e, rest) = parse_expr(rest)?;
            // A style: binary styles are honoured (scalar.rs); the date and number styles are
            // not, the emulator writes those one way.
            if rest.first().is_some_and(|x| x.is_punct(",")) {
                let (style, rest) = additive(&rest[1..])?;
                let rest = expect(rest, ")")?;
                return Ok((Expr::Convert(Box::new(e), ty, Box::new(style)), rest));
            }
            let rest = expect(rest, ")")?;
            Ok((Expr::Cast(Box::new(e), ty), rest))
        }
        Token::Word(w) if t.get(1).is_some_and(|x| x.is_punct("(")) => {
            let (args, rest) = arguments(&t[2..])?;
            Ok((Expr::Call(w, args), rest))
        }
        other => Err(syntax_error(&other.display())),
    }
}

/// A select list without FROM: expressions with optional aliases.
pub struct SelectList<'t> {
    pub items: Vec<(Expr<'t>, String)>,
}

pub fn parse_select_list(mut t: &[Token]) -> Parsed<'_, SelectList<'_>> {
    let mut items = Vec::new();
    loop {
        let (expr, rest) = parse_expr(t)?;
        t = rest;
        let mut name = String::new();
        if t.first().is_some_and(|x| x.is("AS")) {
            t = &t[1..];
            match t.first() {
                Some(Token::Word(w) | Token::Quoted(w)) | Some(Token::Str { text: w, .. }) => {
                    name = w.clone()
                }
                _ => return Err(near(t)),
            }
            t = &t[1..];
        } else if let Some(Token::Word(w) | Token::Quoted(w)) = t.first()
            && !w.eq_ignore_ascii_case("FROM")
            && !w.eq_ignore_ascii_case("WHERE")
        {
            name = w.clone();
            t = &t[1..];
        }
        items.push((expr, name));
        if t.first().is_some_and(|x| x.is_punct(",")) {
            t = &t[1..];
            continue;
        }
        return Ok((SelectList { items }, t));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::tokenize;

    #[test]
    fn precedence() {
        let t = tokenize("1 + 2 * 3 = 7 AND NOT @x IS NULL OR 2 IN (1, 2)").unwrap();
        let (e, rest) = parse_expr(&t).unwrap();
        assert!(rest.is_empty());
        let Expr::Binary(left, Op::Or, _) = e else {
            panic!("{e:?}")
        };
        let Expr::Binary(cmp, Op::And, _) = *left else {
            panic!()
        };
        let Expr::Binary(sum, Op::Eq, _) = *cmp else {
            panic!()
        };
        assert!(matches!(*sum, Expr::Binary(_, Op::Add, _)));
    }

    #[test]
    fn subqueries_are_marked() {
        let t = tokenize("EXISTS (SELECT 1 FROM t) AND 1 = 1").unwrap();
        let (e, rest) = parse_expr(&t).unwrap();
        assert!(rest.is_empty());
        assert!(matches!(e, Expr::Binary(l, Op::And, _) if matches!(*l, Expr::Subquery)));
        assert!(needs_tables(&t));
    }
}
