//! Security statements parsed from tokens: CREATE/DROP CREDENTIAL and keys here; certificate
//! statements in sql/certificate.rs; logins, server roles, permissions and users in
//! principals.rs.

use crate::protocol::tokens::ServerMessage;
use crate::syntax::{Token, name_at, syntax_error};

/// A security statement, ready to apply to the instance.
#[derive(Debug, Clone, PartialEq)]
pub enum SecurityStatement {
    /// Logins, server roles, server permissions and database users (principals.rs).
    Principals(super::principals::Statement),
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
    /// CREATE MASTER KEY …: `master`'s key in sys.symmetric_keys (instance/master_key.rs).
    CreateMasterKey,
}

/// Parses a security statement, or None if `st` is not one.
pub fn parse(st: &[Token]) -> Option<Result<SecurityStatement, ServerMessage>> {
    let verb = &st[0];
    let object = st.get(1)?;
    if let Some(p) = super::principals::parse(st) {
        return Some(p.map(SecurityStatement::Principals));
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
    for (key, value, _) in super::logins::items(&st[4..])? {
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
        SecurityStatement::Principals(_) => &[],
        SecurityStatement::CreateCredential { .. } | SecurityStatement::DropCredential(_) => {
            &["sys.credentials", "ferry.credential_secrets"]
        }
        SecurityStatement::Certificate(_) => &["sys.certificates", "ferry.certificate_keys"],
        SecurityStatement::CreateEncryptionKey { .. } => &["sys.dm_database_encryption_keys"],
        SecurityStatement::CreateMasterKey => &["sys.symmetric_keys"],
    }
}

/// Carries out a security statement in database `database`; `mi` applies Managed Instance's
/// rules. Inside a transaction the catalog rows it changes are rolled back with it, as SQL
/// Server's catalog is transactional.
pub fn apply(
    sec: SecurityStatement,
    inst: &mut crate::instance::Instance,
    database: &str,
    user: &str,
    mi: bool,
) -> Result<(), ServerMessage> {
    if inst.in_transaction() {
        for table in catalog_tables(&sec) {
            inst.before_write("main", table)?;
        }
        if let SecurityStatement::Principals(p) = &sec {
            for (db, table) in super::principals::tables(p, database) {
                inst.before_write(&db, table)?;
            }
        }
    }
    use SecurityStatement as S;
    match sec {
        S::Principals(p) => super::principals::apply(p, inst, database, user, mi),
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
        S::CreateMasterKey => inst.create_master_key(database),
    }
}

/// The statement text with `SECRET = '…'`, plain `PASSWORD = '…'` values, CERTPRIVATEKEY's
/// passwords and linked servers' remote passwords masked, for the statement log: the emulator
/// keeps what ran, never the secrets in it.
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
    fn parses_credentials() {
        let t = tokenize("CREATE CREDENTIAL [https://a.blob.core.windows.net/c] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = 'sv=2022&sig=x'").unwrap();
        assert!(
            matches!(parse(&t).unwrap().unwrap(), SecurityStatement::CreateCredential { ref secret, .. } if secret.as_deref() == Some("sv=2022&sig=x"))
        );
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
