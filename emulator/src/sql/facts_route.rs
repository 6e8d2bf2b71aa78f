//! CREATE ROUTE, read from tokens ("CREATE ROUTE (Transact-SQL)").

use crate::instance::RouteSpec;
use crate::protocol::tokens::ServerMessage;
use crate::syntax::{Token, name_at, near, syntax_error};

/// `CREATE ROUTE name [AUTHORIZATION owner] WITH [SERVICE_NAME = '…',] [BROKER_INSTANCE =
/// '…',] [LIFETIME = seconds,] ADDRESS = '…' [, MIRROR_ADDRESS = '…']`. ADDRESS is the one
/// option the syntax requires.
pub(super) fn create_route(st: &[Token]) -> Result<RouteSpec, ServerMessage> {
    let mut spec = RouteSpec {
        name: name_at(st, 2)?,
        ..RouteSpec::default()
    };
    let mut i = 3;
    if st.get(i).is_some_and(|t| t.is("AUTHORIZATION")) {
        name_at(st, i + 1)?;
        i += 2;
    }
    if !st.get(i).is_some_and(|t| t.is("WITH")) {
        return Err(near(&st[i.min(st.len())..]));
    }
    i += 1;
    let mut address = None;
    loop {
        let (Some(Token::Word(option)), Some(eq), Some(value)) =
            (st.get(i), st.get(i + 1), st.get(i + 2))
        else {
            return Err(near(&st[i.min(st.len())..]));
        };
        if !eq.is_punct("=") {
            return Err(syntax_error(&eq.display()));
        }
        let text = match value {
            Token::Str { text, .. } => Some(text.clone()),
            _ => None,
        };
        match (option.to_ascii_uppercase().as_str(), text, value) {
            ("SERVICE_NAME", Some(t), _) => spec.service_name = Some(t),
            ("BROKER_INSTANCE", Some(t), _) => spec.broker_instance = Some(t),
            ("ADDRESS", Some(t), _) => address = Some(t),
            ("MIRROR_ADDRESS", Some(t), _) => spec.mirror_address = Some(t),
            ("LIFETIME", None, Token::Number(n)) => {
                spec.lifetime = Some(n.parse().map_err(|_| syntax_error(n))?)
            }
            _ => return Err(syntax_error(&value.display())),
        }
        i += 3;
        match st.get(i) {
            None => break,
            Some(t) if t.is_punct(",") => i += 1,
            Some(t) => return Err(syntax_error(&t.display())),
        }
    }
    spec.address = address.ok_or_else(|| near(&st[st.len()..]))?;
    Ok(spec)
}
