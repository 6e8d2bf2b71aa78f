//! CREATE CERTIFICATE and BACKUP CERTIFICATE, parsed from tokens ("CREATE CERTIFICATE
//! (Transact-SQL)", "BACKUP CERTIFICATE (Transact-SQL)").

use crate::instance::{CertificateStatement, PrivateKeyBinary};
use crate::protocol::tokens::ServerMessage;
use crate::syntax::{Token, name_at, near, syntax_error};

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

/// `KEY = value` at `i`: the value token, and where the next option starts.
fn option_value(st: &[Token], i: usize) -> Result<(&Token, usize), ServerMessage> {
    if !st.get(i + 1).is_some_and(|t| t.is_punct("=")) {
        return Err(near(&st[(i + 1).min(st.len())..]));
    }
    let v = st.get(i + 2).ok_or_else(|| syntax_error("="))?;
    Ok((v, i + 3))
}

fn string(t: &Token) -> Result<String, ServerMessage> {
    match t {
        Token::Str { text, .. } => Ok(text.clone()),
        other => Err(syntax_error(&other.display())),
    }
}

fn binary(t: &Token) -> Result<Vec<u8>, ServerMessage> {
    match t {
        Token::Number(n) => hex(n).ok_or_else(|| syntax_error(n)),
        other => Err(syntax_error(&other.display())),
    }
}

/// `ENCRYPTION BY PASSWORD = '…'` or `DECRYPTION BY PASSWORD = '…'` at `i`.
fn by_password(st: &[Token], i: usize) -> Result<(String, usize), ServerMessage> {
    if !(st.get(i + 1).is_some_and(|t| t.is("BY"))
        && st.get(i + 2).is_some_and(|t| t.is("PASSWORD")))
    {
        return Err(near(&st[(i + 1).min(st.len())..]));
    }
    let (v, next) = option_value(st, i + 2)?;
    Ok((string(v)?, next))
}

/// `BACKUP CERTIFICATE c TO FILE …`.
pub fn backup(st: &[Token]) -> Result<CertificateStatement, ServerMessage> {
    let name = name_at(st, 2)?;
    if !st.get(3).is_some_and(|t| t.is("TO")) {
        return Err(near(&st[3.min(st.len())..]));
    }
    Ok(CertificateStatement::Backup { name })
}

/// `DROP CERTIFICATE c`.
pub fn drop(st: &[Token]) -> Result<CertificateStatement, ServerMessage> {
    let name = name_at(st, 2)?;
    match st.get(3) {
        None => Ok(CertificateStatement::Drop { name }),
        Some(t) => Err(syntax_error(&t.display())),
    }
}

/// `CREATE CERTIFICATE …`.
pub fn create(st: &[Token]) -> Result<CertificateStatement, ServerMessage> {
    let name = name_at(st, 2)?;
    let mut i = 3;
    if st.get(i).is_some_and(|t| t.is("AUTHORIZATION")) {
        name_at(st, i + 1)?;
        i += 2;
    }
    if st.get(i).is_some_and(|t| t.is("FROM")) {
        return from(st, i + 1, name);
    }
    let mut password = None;
    if st.get(i).is_some_and(|t| t.is("ENCRYPTION")) {
        let (p, next) = by_password(st, i)?;
        password = Some(p);
        i = next;
    }
    if !st.get(i).is_some_and(|t| t.is("WITH")) {
        return Err(near(&st[i.min(st.len())..]));
    }
    i += 1;
    let (mut subject, mut start, mut expiry) = (None, None, None);
    while i < st.len() {
        if st[i].is("ACTIVE") {
            break;
        }
        let key = st[i].display().to_ascii_uppercase();
        let (v, next) = option_value(st, i)?;
        match key.as_str() {
            "SUBJECT" => subject = Some(string(v)?),
            "START_DATE" => start = Some(string(v)?),
            "EXPIRY_DATE" => expiry = Some(string(v)?),
            _ => return Err(syntax_error(&st[i].display())),
        }
        i = next;
        if st.get(i).is_some_and(|t| t.is_punct(",")) {
            i += 1;
        }
    }
    let subject = subject.ok_or_else(|| syntax_error("WITH"))?;
    Ok(CertificateStatement::Generate {
        name,
        password,
        subject,
        start,
        expiry,
    })
}

fn from(st: &[Token], i: usize, name: String) -> Result<CertificateStatement, ServerMessage> {
    let Some(kind) = st.get(i) else {
        return Err(syntax_error("FROM"));
    };
    if kind.is("FILE") || kind.is("EXECUTABLE") || kind.is("ASSEMBLY") {
        let keyword = if kind.is("ASSEMBLY") {
            "ASSEMBLY"
        } else {
            "FILE"
        };
        return Ok(CertificateStatement::FromFile {
            name,
            keyword: keyword.into(),
        });
    }
    if !kind.is("BINARY") {
        return Err(syntax_error(&kind.display()));
    }
    let (v, mut i) = option_value(st, i)?;
    let der = binary(v)?;
    let mut private_key = None;
    if st.get(i).is_some_and(|t| t.is("WITH")) {
        if !(st.get(i + 1).is_some_and(|t| t.is("PRIVATE"))
            && st.get(i + 2).is_some_and(|t| t.is("KEY"))
            && st.get(i + 3).is_some_and(|t| t.is_punct("(")))
        {
            return Err(near(&st[i + 1..]));
        }
        i += 4;
        let (mut pvk, mut decryption, mut encryption) = (None, None, None);
        while i < st.len() && !st[i].is_punct(")") {
            if st[i].is("BINARY") {
                let (v, next) = option_value(st, i)?;
                pvk = Some(binary(v)?);
                i = next;
            } else if st[i].is("FILE") {
                return Ok(CertificateStatement::FromFile {
                    name,
                    keyword: "FILE".into(),
                });
            } else if st[i].is("DECRYPTION") {
                let (p, next) = by_password(st, i)?;
                decryption = Some(p);
                i = next;
            } else if st[i].is("ENCRYPTION") {
                let (p, next) = by_password(st, i)?;
                encryption = Some(p);
                i = next;
            } else {
                return Err(syntax_error(&st[i].display()));
            }
            if st.get(i).is_some_and(|t| t.is_punct(",")) {
                i += 1;
            }
        }
        if i >= st.len() {
            return Err(syntax_error(&st[st.len() - 1].display()));
        }
        i += 1;
        let pvk = pvk.ok_or_else(|| syntax_error("("))?;
        private_key = Some(PrivateKeyBinary {
            pvk,
            decryption,
            encryption,
        });
    }
    if let Some(t) = st.get(i)
        && !t.is("ACTIVE")
    {
        return Err(syntax_error(&t.display()));
    }
    Ok(CertificateStatement::FromBinary {
        name,
        der,
        private_key,
    })
}

/// The text with the string literals inside each `CERTPRIVATEKEY(…)` call masked: they are
/// passwords, which the statement log never keeps.
pub fn mask_private_key_passwords(text: &str) -> String {
    let upper = text.to_ascii_uppercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(at) = upper[i..].find("CERTPRIVATEKEY") {
        let start = i + at + "CERTPRIVATEKEY".len();
        out.push_str(&text[i..start]);
        let mut depth = 0i32;
        let mut j = start;
        let bytes = text.as_bytes();
        while j < bytes.len() {
            match bytes[j] {
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth <= 0 {
                        break;
                    }
                }
                b'\'' => {
                    let mut k = j + 1;
                    while k < bytes.len() {
                        if bytes[k] == b'\'' {
                            if bytes.get(k + 1) == Some(&b'\'') {
                                k += 2;
                                continue;
                            }
                            break;
                        }
                        k += 1;
                    }
                    out.push_str("'***'");
                    j = k + 1;
                    continue;
                }
                _ => {}
            }
            let ch = text[j..].chars().next().unwrap_or(' ');
            out.push(ch);
            j += ch.len_utf8();
        }
        i = j.min(text.len());
    }
    out.push_str(&text[i..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::tokenize;

    #[test]
    fn parses_the_forms_of_create_certificate() {
        let t = tokenize("CREATE CERTIFICATE c ENCRYPTION BY PASSWORD = 'p' WITH SUBJECT = 's', EXPIRY_DATE = '20401031'").unwrap();
        assert_eq!(
            create(&t).unwrap(),
            CertificateStatement::Generate {
                name: "c".into(),
                password: Some("p".into()),
                subject: "s".into(),
                start: None,
                expiry: Some("20401031".into())
            }
        );
        let t = tokenize("CREATE CERTIFICATE c FROM BINARY = 0x3001 WITH PRIVATE KEY (BINARY = 0x1EF1, DECRYPTION BY PASSWORD = 'd', ENCRYPTION BY PASSWORD = 'e')").unwrap();
        assert_eq!(
            create(&t).unwrap(),
            CertificateStatement::FromBinary {
                name: "c".into(),
                der: vec![0x30, 1],
                private_key: Some(PrivateKeyBinary {
                    pvk: vec![0x1E, 0xF1],
                    decryption: Some("d".into()),
                    encryption: Some("e".into())
                })
            }
        );
        let t = tokenize("CREATE CERTIFICATE c FROM FILE = 'c:\\x.cer'").unwrap();
        assert!(matches!(
            create(&t).unwrap(),
            CertificateStatement::FromFile { .. }
        ));
        let t = tokenize("CREATE CERTIFICATE c WITH SUBJECT = 's', COLOUR = 'x'").unwrap();
        assert_eq!(create(&t).unwrap_err().number, 102);
        let t = tokenize("CREATE CERTIFICATE c FROM BINARY = 0x30 WITH PRIVATE KEY (BINARY = 0x1E")
            .unwrap();
        assert_eq!(create(&t).unwrap_err().number, 102);
    }

    #[test]
    fn certprivatekey_passwords_are_masked() {
        assert_eq!(
            mask_private_key_passwords(
                "SELECT CERTPRIVATEKEY(CERT_ID('c'), 'Enc''1', N'dec') AS k, 'kept'"
            ),
            "SELECT CERTPRIVATEKEY(CERT_ID('***'), '***', N'***') AS k, 'kept'"
        );
        assert_eq!(mask_private_key_passwords("SELECT 'é'"), "SELECT 'é'");
    }
}
