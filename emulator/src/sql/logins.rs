//! CREATE / ALTER / DROP LOGIN read from tokens, in the forms "CREATE LOGIN (Transact-SQL)"
//! and "ALTER LOGIN (Transact-SQL)" document.

use super::principal_statement::Statement;
use crate::instance::{LoginKind, LoginOptions, Password};
use crate::protocol::tokens::ServerMessage;
use crate::syntax::{Token, name_at, syntax_error};

pub(super) fn hex(n: &str) -> Option<Vec<u8>> {
    let h = n.strip_prefix("0x").or_else(|| n.strip_prefix("0X"))?;
    if h.len() % 2 != 0 {
        return None;
    }
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).ok())
        .collect()
}

/// One `KEY = value [modifiers]` item after WITH: key, value, and the words after the value
/// (HASHED, MUST_CHANGE, UNLOCK, OLD_PASSWORD = '…').
pub(super) type Item = (String, Token, Vec<Token>);

/// The comma-separated `KEY = value …` items of a WITH clause. `NO CREDENTIAL` is read as the
/// key NO with the value CREDENTIAL.
pub(super) fn items(st: &[Token]) -> Result<Vec<Item>, ServerMessage> {
    let mut out = Vec::new();
    for part in st.split(|t| t.is_punct(",")) {
        match part {
            [Token::Word(no), cred] if no.eq_ignore_ascii_case("NO") && cred.is("CREDENTIAL") => {
                out.push(("NO".into(), cred.clone(), Vec::new()));
            }
            [Token::Word(key), eq, value, rest @ ..] if eq.is_punct("=") => {
                out.push((key.to_ascii_uppercase(), value.clone(), rest.to_vec()));
            }
            [first, ..] => return Err(syntax_error(&first.display())),
            [] => return Err(syntax_error(",")),
        }
    }
    Ok(out)
}

fn on_off(v: &Token) -> Result<bool, ServerMessage> {
    if v.is("ON") {
        Ok(true)
    } else if v.is("OFF") {
        Ok(false)
    } else {
        Err(syntax_error(&v.display()))
    }
}

fn name_value(v: &Token) -> Result<String, ServerMessage> {
    match v {
        Token::Word(w) | Token::Quoted(w) => Ok(w.clone()),
        other => Err(syntax_error(&other.display())),
    }
}

fn password_value(value: &Token, rest: &[Token]) -> Result<(Password, bool), ServerMessage> {
    let hashed = rest.iter().any(|t| t.is("HASHED"));
    let must_change = rest.iter().any(|t| t.is("MUST_CHANGE"));
    for (i, t) in rest.iter().enumerate() {
        let known = t.is("HASHED") || t.is("MUST_CHANGE") || t.is("UNLOCK") || t.is("OLD_PASSWORD");
        let part_of_old = i > 0 && (rest[i - 1].is("OLD_PASSWORD") || rest[i - 1].is_punct("="));
        if !known && !part_of_old {
            return Err(syntax_error(&t.display()));
        }
    }
    let p = match (value, hashed) {
        (Token::Str { text, .. }, false) => Password::Plain(text.clone()),
        (Token::Number(n), true) => {
            let h = hex(n).ok_or_else(|| syntax_error(n))?;
            // SQL Server error 15021 (class 16) for a hash that is not a 2012+ (0x0200) hash.
            if h.len() != 70 || h[..2] != [0x02, 0x00] {
                return Err(ServerMessage::error(
                    15021,
                    16,
                    "Invalid value given for parameter PASSWORD. Specify a valid parameter value.",
                ));
            }
            Password::Hashed(h)
        }
        (other, _) => return Err(syntax_error(&other.display())),
    };
    Ok((p, must_change))
}

/// The options of a WITH clause; `alter`: ALTER LOGIN's set (NAME, NO CREDENTIAL).
fn login_options(st: &[Token], alter: bool) -> Result<LoginOptions, ServerMessage> {
    let mut o = LoginOptions::default();
    for (key, value, rest) in items(st)? {
        let simple = key != "PASSWORD";
        if simple && !rest.is_empty() {
            return Err(syntax_error(&rest[0].display()));
        }
        match key.as_str() {
            "PASSWORD" => {
                let (p, must_change) = password_value(&value, &rest)?;
                o.password = Some(p);
                o.must_change = must_change;
            }
            "SID" if !alter => {
                o.sid = Some(match &value {
                    Token::Number(n) => hex(n)
                        .filter(|b| !b.is_empty() && b.len() <= 85)
                        .ok_or_else(|| syntax_error(n))?,
                    other => return Err(syntax_error(&other.display())),
                })
            }
            "DEFAULT_DATABASE" => o.default_database = Some(name_value(&value)?),
            "DEFAULT_LANGUAGE" => o.default_language = Some(name_value(&value)?),
            "CHECK_POLICY" => o.check_policy = Some(on_off(&value)?),
            "CHECK_EXPIRATION" => o.check_expiration = Some(on_off(&value)?),
            "CREDENTIAL" => o.credential = Some(name_value(&value)?),
            "NAME" if alter => o.name = Some(name_value(&value)?),
            "NO" if alter => o.no_credential = true,
            // FROM EXTERNAL PROVIDER … WITH OBJECT_ID = '…' ("Microsoft Entra logins and
            // users with nonunique display names"): accepted; names resolve by name here.
            "OBJECT_ID" if !alter => {}
            other => return Err(syntax_error(other)),
        }
    }
    Ok(o)
}

/// CREATE, ALTER or DROP LOGIN (`st[1]` is LOGIN).
pub(super) fn parse(st: &[Token]) -> Result<Statement, ServerMessage> {
    let name = name_at(st, 2)?;
    if st[0].is("DROP") {
        return match st.get(3) {
            None => Ok(Statement::DropLogin(name)),
            Some(t) => Err(syntax_error(&t.display())),
        };
    }
    if st[0].is("ALTER") {
        return match st.get(3) {
            Some(t) if (t.is("ENABLE") || t.is("DISABLE")) && st.len() == 4 => {
                Ok(Statement::SetLoginDisabled(name, t.is("DISABLE")))
            }
            Some(t)
                if (t.is("ADD") || t.is("DROP"))
                    && st.get(4).is_some_and(|c| c.is("CREDENTIAL")) =>
            {
                if st.len() != 6 {
                    return Err(syntax_error(
                        &st.last().map(|x| x.display()).unwrap_or_default(),
                    ));
                }
                Ok(Statement::LoginCredential(
                    name,
                    name_at(st, 5)?,
                    t.is("ADD"),
                ))
            }
            Some(t) if t.is("WITH") => {
                Ok(Statement::AlterLogin(name, login_options(&st[4..], true)?))
            }
            Some(t) => Err(syntax_error(&t.display())),
            None => Err(syntax_error(&name)),
        };
    }
    let (kind, with_at) = match st.get(3) {
        Some(t) if t.is("WITH") => (None, 3),
        Some(t) if t.is("FROM") => match st.get(4) {
            Some(k) if k.is("WINDOWS") => (Some(LoginKind::Windows), 5),
            Some(k) if k.is("EXTERNAL") && st.get(5).is_some_and(|p| p.is("PROVIDER")) => {
                (Some(LoginKind::External), 6)
            }
            Some(k) if k.is("CERTIFICATE") => (Some(LoginKind::Certificate(name_at(st, 5)?)), 6),
            Some(k) if k.is("ASYMMETRIC") && st.get(5).is_some_and(|p| p.is("KEY")) => {
                (Some(LoginKind::AsymmetricKey(name_at(st, 6)?)), 7)
            }
            Some(k) => return Err(syntax_error(&k.display())),
            None => return Err(syntax_error("FROM")),
        },
        Some(t) => return Err(syntax_error(&t.display())),
        None => return Err(syntax_error(&name)),
    };
    let options = match st.get(with_at) {
        Some(w) if w.is("WITH") => {
            let o = login_options(&st[with_at + 1..], false)?;
            // The grammar of FROM WINDOWS | EXTERNAL PROVIDER takes DEFAULT_DATABASE and
            // DEFAULT_LANGUAGE (and OBJECT_ID) only; FROM CERTIFICATE | ASYMMETRIC KEY no WITH.
            let only_defaults = LoginOptions {
                default_database: o.default_database.clone(),
                default_language: o.default_language.clone(),
                ..Default::default()
            };
            match &kind {
                Some(LoginKind::Windows | LoginKind::External) if o != only_defaults => {
                    return Err(syntax_error(&st[with_at + 1].display()));
                }
                Some(LoginKind::Certificate(_) | LoginKind::AsymmetricKey(_)) => {
                    return Err(syntax_error("WITH"));
                }
                _ => o,
            }
        }
        Some(t) => return Err(syntax_error(&t.display())),
        None => LoginOptions::default(),
    };
    let kind = match kind {
        Some(k) => k,
        None => match &options.password {
            Some(Password::Plain(p)) => LoginKind::Sql {
                password: Some(p.clone()),
                hash: None,
            },
            Some(Password::Hashed(h)) => LoginKind::Sql {
                password: None,
                hash: Some(h.clone()),
            },
            None => return Err(syntax_error("WITH")),
        },
    };
    let mut options = options;
    if matches!(kind, LoginKind::Sql { .. }) {
        // The password went into the kind; the options keep only its MUST_CHANGE.
        options.password = None;
    }
    Ok(Statement::CreateLogin(name, kind, options))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::tokenize;

    #[test]
    fn reads_every_create_login_form() {
        let t = tokenize("CREATE LOGIN [app] WITH PASSWORD = N'p''w' MUST_CHANGE, SID = 0x0102, DEFAULT_DATABASE = [Sales], CHECK_POLICY = ON, CHECK_EXPIRATION = ON").unwrap();
        let Statement::CreateLogin(name, kind, o) = parse(&t).unwrap() else {
            panic!()
        };
        assert_eq!(name, "app");
        assert_eq!(
            kind,
            LoginKind::Sql {
                password: Some("p'w".into()),
                hash: None
            }
        );
        assert!(o.must_change);
        assert_eq!(o.sid, Some(vec![1, 2]));
        assert_eq!(o.check_expiration, Some(true));
        let t = tokenize("CREATE LOGIN x WITH PASSWORD = 0x0100 HASHED").unwrap();
        assert_eq!(parse(&t).unwrap_err().number, 15021);
        let t = tokenize("CREATE LOGIN [c] FROM CERTIFICATE [cert1]").unwrap();
        assert!(
            matches!(parse(&t).unwrap(), Statement::CreateLogin(_, LoginKind::Certificate(c), _) if c == "cert1")
        );
        let t = tokenize("ALTER LOGIN a WITH NAME = b, NO CREDENTIAL").unwrap();
        assert!(
            matches!(parse(&t).unwrap(), Statement::AlterLogin(_, o) if o.no_credential && o.name.as_deref() == Some("b"))
        );
        let t = tokenize("CREATE LOGIN x WITH PASSWORD = 'a', BOGUS = 1").unwrap();
        assert_eq!(parse(&t).unwrap_err().number, 102);
    }
}
