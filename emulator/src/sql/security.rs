//! CREATE/ALTER/DROP LOGIN and CREATE/DROP CREDENTIAL, parsed from tokens; certificate
//! statements are parsed in sql/certificate.rs.

use crate::instance::{LoginKind, Password};
use crate::protocol::tokens::ServerMessage;
use crate::syntax::{Token, name_at, syntax_error};

/// A security statement, ready to apply to the instance.
#[derive(Debug, Clone, PartialEq)]
pub enum SecurityStatement {
    CreateLogin {
        name: String,
        kind: LoginKind,
        sid: Option<Vec<u8>>,
        default_db: Option<String>,
    },
    AlterLogin {
        name: String,
        password: Option<Password>,
        disabled: Option<bool>,
    },
    DropLogin(String),
    CreateCredential {
        name: String,
        identity: String,
        secret: Option<String>,
    },
    DropCredential(String),
    /// CREATE CERTIFICATE, BACKUP CERTIFICATE (sql/certificate.rs).
    Certificate(crate::instance::CertificateStatement),
    /// CREATE DATABASE ENCRYPTION KEY … ENCRYPTION BY SERVER CERTIFICATE cert.
    CreateEncryptionKey {
        certificate: String,
    },
    /// CREATE MASTER KEY …: accepted; the emulator keeps no key hierarchy.
    CreateMasterKey,
}

fn hex(n: &str) -> Option<Vec<u8>> {
    let h = n.strip_prefix("0x").or_else(|| n.strip_prefix("0X"))?;
    if h.len() % 2 != 0 {
        return None;
    }
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).ok())
        .collect()
}

/// `KEY = value [HASHED]` options after WITH, as (key, value token, hashed).
fn options(st: &[Token]) -> Result<Vec<(String, Token, bool)>, ServerMessage> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < st.len() {
        let Token::Word(key) = &st[i] else {
            return Err(syntax_error(&st[i].display()));
        };
        if !st.get(i + 1).is_some_and(|t| t.is_punct("=")) {
            return Err(syntax_error(key));
        }
        let value = st.get(i + 2).cloned().ok_or_else(|| syntax_error("="))?;
        i += 3;
        let mut hashed = false;
        while i < st.len() && !st[i].is_punct(",") {
            if st[i].is("HASHED") {
                hashed = true;
            } else if !(st[i].is("MUST_CHANGE") || st[i].is("CHECK_POLICY")) {
                return Err(syntax_error(&st[i].display()));
            }
            i += 1;
        }
        i += 1;
        out.push((key.to_ascii_uppercase(), value, hashed));
    }
    Ok(out)
}

/// Parses a security statement, or None if `st` is not one.
pub fn parse(st: &[Token]) -> Option<Result<SecurityStatement, ServerMessage>> {
    let verb = &st[0];
    let object = st.get(1)?;
    if object.is("LOGIN") && (verb.is("CREATE") || verb.is("ALTER") || verb.is("DROP")) {
        return Some(login(st));
    }
    if object.is("CREDENTIAL") && (verb.is("CREATE") || verb.is("DROP")) {
        return Some(credential(st));
    }
    if verb.is("CREATE") && object.is("MASTER") && st.get(2).is_some_and(|t| t.is("KEY")) {
        return Some(Ok(SecurityStatement::CreateMasterKey));
    }
    if verb.is("CREATE") && object.is("CERTIFICATE") {
        return Some(super::certificate::create(st).map(SecurityStatement::Certificate));
    }
    if verb.is("DROP") && object.is("CERTIFICATE") {
        return Some(super::certificate::drop(st).map(SecurityStatement::Certificate));
    }
    if verb.is("BACKUP") && object.is("CERTIFICATE") {
        return Some(super::certificate::backup(st).map(SecurityStatement::Certificate));
    }
    if verb.is("CREATE")
        && object.is("DATABASE")
        && st.get(2).is_some_and(|t| t.is("ENCRYPTION"))
        && st.get(3).is_some_and(|t| t.is("KEY"))
    {
        let cert = st
            .iter()
            .position(|t| t.is("CERTIFICATE"))
            .and_then(|i| st.get(i + 1));
        return Some(match cert {
            Some(Token::Word(w) | Token::Quoted(w)) => Ok(SecurityStatement::CreateEncryptionKey {
                certificate: w.clone(),
            }),
            _ => Err(syntax_error("KEY")),
        });
    }
    None
}

fn login(st: &[Token]) -> Result<SecurityStatement, ServerMessage> {
    let name = name_at(st, 2)?;
    if st[0].is("DROP") {
        return if st.len() == 3 {
            Ok(SecurityStatement::DropLogin(name))
        } else {
            Err(syntax_error(&st[3].display()))
        };
    }
    if st[0].is("ALTER") {
        return match st.get(3) {
            Some(t) if t.is("ENABLE") || t.is("DISABLE") => Ok(SecurityStatement::AlterLogin {
                name,
                password: None,
                disabled: Some(t.is("DISABLE")),
            }),
            Some(t) if t.is("WITH") => {
                let mut password = None;
                for (key, value, hashed) in options(&st[4..])? {
                    if key == "PASSWORD" {
                        password = Some(password_value(&value, hashed)?);
                    }
                }
                Ok(SecurityStatement::AlterLogin {
                    name,
                    password,
                    disabled: None,
                })
            }
            Some(t) => Err(syntax_error(&t.display())),
            None => Err(syntax_error(&name)),
        };
    }
    // CREATE LOGIN
    match st.get(3) {
        Some(t) if t.is("FROM") => {
            let kind = match st.get(4) {
                Some(k) if k.is("WINDOWS") => LoginKind::Windows,
                Some(k) if k.is("EXTERNAL") && st.get(5).is_some_and(|p| p.is("PROVIDER")) => {
                    LoginKind::External
                }
                Some(k) => return Err(syntax_error(&k.display())),
                None => return Err(syntax_error("FROM")),
            };
            Ok(SecurityStatement::CreateLogin {
                name,
                kind,
                sid: None,
                default_db: None,
            })
        }
        Some(t) if t.is("WITH") => {
            let (mut password, mut sid, mut default_db) = (None, None, None);
            for (key, value, hashed) in options(&st[4..])? {
                match key.as_str() {
                    "PASSWORD" => password = Some(password_value(&value, hashed)?),
                    "SID" => {
                        sid = Some(match &value {
                            Token::Number(n) => hex(n)
                                .filter(|b| !b.is_empty() && b.len() <= 85)
                                .ok_or_else(|| syntax_error(n))?,
                            other => return Err(syntax_error(&other.display())),
                        })
                    }
                    "DEFAULT_DATABASE" => default_db = Some(value.display()),
                    "DEFAULT_LANGUAGE" | "CHECK_POLICY" | "CHECK_EXPIRATION" | "CREDENTIAL" => {}
                    other => return Err(syntax_error(other)),
                }
            }
            let kind = match password {
                Some(Password::Plain(p)) => LoginKind::Sql {
                    password: Some(p),
                    hash: None,
                },
                Some(Password::Hashed(h)) => LoginKind::Sql {
                    password: None,
                    hash: Some(h),
                },
                None => return Err(syntax_error("WITH")),
            };
            Ok(SecurityStatement::CreateLogin {
                name,
                kind,
                sid,
                default_db,
            })
        }
        Some(t) => Err(syntax_error(&t.display())),
        None => Err(syntax_error(&name)),
    }
}

fn password_value(value: &Token, hashed: bool) -> Result<Password, ServerMessage> {
    match (value, hashed) {
        (Token::Str { text, .. }, false) => Ok(Password::Plain(text.clone())),
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
            Ok(Password::Hashed(h))
        }
        (other, _) => Err(syntax_error(&other.display())),
    }
}

fn credential(st: &[Token]) -> Result<SecurityStatement, ServerMessage> {
    let name = name_at(st, 2)?;
    if st[0].is("DROP") {
        return if st.len() == 3 {
            Ok(SecurityStatement::DropCredential(name))
        } else {
            Err(syntax_error(&st[3].display()))
        };
    }
    if !st.get(3).is_some_and(|t| t.is("WITH")) {
        return Err(syntax_error(
            &st.get(3).map(|t| t.display()).unwrap_or(name),
        ));
    }
    let (mut identity, mut secret) = (None, None);
    for (key, value, _) in options(&st[4..])? {
        let Token::Str { text, .. } = value else {
            return Err(syntax_error(&value.display()));
        };
        match key.as_str() {
            "IDENTITY" => identity = Some(text),
            "SECRET" => secret = Some(text),
            other => return Err(syntax_error(other)),
        }
    }
    let identity = identity.ok_or_else(|| syntax_error("WITH"))?;
    Ok(SecurityStatement::CreateCredential {
        name,
        identity,
        secret,
    })
}

/// The catalog tables a security statement changes, so a transaction can set them aside.
fn catalog_tables(sec: &SecurityStatement) -> &'static [&'static str] {
    match sec {
        SecurityStatement::CreateLogin { .. }
        | SecurityStatement::AlterLogin { .. }
        | SecurityStatement::DropLogin(_) => &["sys.server_principals", "sys.sql_logins"],
        SecurityStatement::CreateCredential { .. } | SecurityStatement::DropCredential(_) => {
            &["sys.credentials", "ferry.credential_secrets"]
        }
        SecurityStatement::Certificate(_) => &["sys.certificates", "ferry.certificate_keys"],
        SecurityStatement::CreateEncryptionKey { .. } => &["sys.dm_database_encryption_keys"],
        SecurityStatement::CreateMasterKey => &[],
    }
}

/// Carries out a security statement in database `database`; `mi` applies Managed Instance's
/// rules. Inside a transaction the catalog rows it changes are rolled back with it, as SQL
/// Server's catalog is transactional.
pub fn apply(
    sec: SecurityStatement,
    inst: &mut crate::instance::Instance,
    database: &str,
    mi: bool,
) -> Result<(), ServerMessage> {
    if inst.in_transaction() {
        for table in catalog_tables(&sec) {
            inst.before_write("main", table)?;
        }
    }
    use SecurityStatement as S;
    match sec {
        S::CreateLogin {
            name,
            kind,
            sid,
            default_db,
        } => inst.create_login(&name, kind, sid, default_db, mi),
        S::AlterLogin {
            name,
            password,
            disabled,
        } => inst.alter_login(&name, password, disabled),
        S::DropLogin(name) => inst.drop_login(&name),
        S::CreateCredential {
            name,
            identity,
            secret,
        } => inst.create_credential(&name, &identity, secret.as_deref()),
        S::DropCredential(name) => inst.drop_credential(&name),
        S::Certificate(st) => inst.certificate_statement(st, mi),
        S::CreateEncryptionKey { certificate } => {
            inst.create_encryption_key(database, &certificate)
        }
        S::CreateMasterKey => Ok(()),
    }
}

/// The statement text with `SECRET = '…'`, plain `PASSWORD = '…'` values and CERTPRIVATEKEY's
/// passwords masked, for the statement log: the emulator keeps what ran, never the secrets in
/// it.
pub fn mask_secrets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let upper = text.to_ascii_uppercase();
    let mut i = 0;
    while i < text.len() {
        let rest = &upper[i..];
        let key = ["SECRET", "PASSWORD"]
            .into_iter()
            .find(|k| rest.starts_with(k));
        if let Some(k) = key {
            let after = i + k.len();
            let tail = &text[after..];
            let eq = tail.len() - tail.trim_start().len();
            if tail.trim_start().starts_with('=') {
                let v = &tail[eq + 1..];
                let sp = v.len() - v.trim_start().len();
                let v = v.trim_start();
                let quoted = v.starts_with('\'') || v.starts_with("N'");
                if quoted {
                    let start = if v.starts_with("N'") { 2 } else { 1 };
                    let mut j = start;
                    let b = v.as_bytes();
                    while j < b.len() {
                        if b[j] == b'\'' {
                            if b.get(j + 1) == Some(&b'\'') {
                                j += 2;
                                continue;
                            }
                            break;
                        }
                        j += 1;
                    }
                    out.push_str(&text[i..after + eq + 1 + sp]);
                    out.push_str("'***'");
                    i = after + eq + 1 + sp + (j + 1).min(v.len());
                    continue;
                }
            }
        }
        let ch = text[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    super::linked_login_mask::mask_linked_login_passwords(
        &super::certificate::mask_private_key_passwords(&out),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::tokenize;

    #[test]
    fn parses_logins_and_credentials() {
        let t = tokenize("CREATE LOGIN [app] WITH PASSWORD = N'p''w', SID = 0x0102, DEFAULT_DATABASE = [Sales], CHECK_POLICY = OFF").unwrap();
        assert_eq!(
            parse(&t).unwrap().unwrap(),
            SecurityStatement::CreateLogin {
                name: "app".into(),
                kind: LoginKind::Sql {
                    password: Some("p'w".into()),
                    hash: None
                },
                sid: Some(vec![1, 2]),
                default_db: Some("Sales".into())
            }
        );
        let t = tokenize("CREATE CREDENTIAL [https://a.blob.core.windows.net/c] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = 'sv=2022&sig=x'").unwrap();
        assert!(
            matches!(parse(&t).unwrap().unwrap(), SecurityStatement::CreateCredential { ref secret, .. } if secret.as_deref() == Some("sv=2022&sig=x"))
        );
        let t = tokenize("CREATE LOGIN x WITH PASSWORD = 0x0100 HASHED").unwrap();
        assert_eq!(parse(&t).unwrap().unwrap_err().number, 15021);
    }

    #[test]
    fn masks_secret_values_in_the_log() {
        let m = mask_secrets(
            "CREATE CREDENTIAL [u] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = 'sv=1&sig=a''b'",
        );
        assert_eq!(
            m,
            "CREATE CREDENTIAL [u] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = '***'"
        );
        assert_eq!(
            mask_secrets("CREATE LOGIN a WITH PASSWORD = N'x', SID = 0x01"),
            "CREATE LOGIN a WITH PASSWORD = '***', SID = 0x01"
        );
        assert_eq!(
            mask_secrets("ALTER LOGIN a WITH PASSWORD = 0x0200AB HASHED"),
            "ALTER LOGIN a WITH PASSWORD = 0x0200AB HASHED"
        );
    }
}
