//! The option values of CREATE/ALTER ENDPOINT … FOR DATABASE_MIRRORING ("CREATE ENDPOINT
//! (Transact-SQL)") and the codes `sys.database_mirroring_endpoints` shows for them.

use crate::protocol::tokens::ServerMessage;
use crate::syntax::syntax_error;

type R<T> = Result<T, ServerMessage>;

/// AUTHENTICATION = WINDOWS [NTLM|KERBEROS|NEGOTIATE] [CERTIFICATE c] | CERTIFICATE c
/// [WINDOWS [method]]. WINDOWS alone means NEGOTIATE ("CREATE ENDPOINT": "NEGOTIATE … is the
/// default").
pub(super) fn auth(v: &str) -> R<(Option<String>, Option<String>, bool)> {
    let words: Vec<&str> = v.split_whitespace().collect();
    let (mut windows, mut cert, mut cert_first) = (None, None, false);
    let mut k = 0;
    while k < words.len() {
        match words[k].to_ascii_uppercase().as_str() {
            "WINDOWS" => {
                let method = words.get(k + 1).map(|w| w.to_ascii_uppercase());
                match method.as_deref() {
                    Some(m @ ("NTLM" | "KERBEROS" | "NEGOTIATE")) => {
                        windows = Some(m.to_owned());
                        k += 2;
                    }
                    _ => {
                        windows = Some("NEGOTIATE".to_owned());
                        k += 1;
                    }
                }
            }
            "CERTIFICATE" => {
                let name = words
                    .get(k + 1)
                    .ok_or_else(|| syntax_error("CERTIFICATE"))?;
                cert_first = windows.is_none();
                cert = Some((*name).to_owned());
                k += 2;
            }
            other => return Err(syntax_error(other)),
        }
    }
    if windows.is_none() && cert.is_none() {
        return Err(syntax_error("AUTHENTICATION"));
    }
    Ok((windows, cert, cert_first))
}

/// ENCRYPTION = DISABLED | SUPPORTED | REQUIRED [ALGORITHM AES | RC4 | AES RC4 | RC4 AES].
/// Without ALGORITHM the page names RC4 the default; the emulator keeps that (the link then
/// refuses the endpoint, which is what a real source without ALGORITHM AES gets).
pub(super) fn encryption(v: &str) -> R<(String, String)> {
    let words: Vec<String> = v
        .split_whitespace()
        .map(|w| w.to_ascii_uppercase())
        .collect();
    let mode = words.first().cloned().unwrap_or_default();
    if !["DISABLED", "SUPPORTED", "REQUIRED"].contains(&mode.as_str()) {
        return Err(syntax_error(&mode));
    }
    let algorithm = match &words[1..] {
        [] => "RC4".to_owned(),
        [a, rest @ ..] if a == "ALGORITHM" => {
            let algs: Vec<&str> = rest.iter().map(|s| s.as_str()).collect();
            match algs.as_slice() {
                ["AES"] | ["RC4"] | ["AES", "RC4"] | ["RC4", "AES"] => algs.join(" "),
                _ => {
                    return Err(syntax_error(
                        rest.first().map_or("ALGORITHM", |s| s.as_str()),
                    ));
                }
            }
        }
        [x, ..] => return Err(syntax_error(x)),
    };
    Ok((mode, algorithm))
}

/// "sys.database_mirroring_endpoints": connection_auth and its description.
pub(super) fn auth_codes(a: &(Option<String>, Option<String>, bool)) -> (i64, String) {
    let w = |m: &str| match m {
        "NTLM" => 1,
        "KERBEROS" => 2,
        _ => 3,
    };
    match a {
        (Some(m), None, _) => (w(m), m.clone()),
        (None, Some(_), _) => (4, "CERTIFICATE".into()),
        (Some(m), Some(_), false) => (w(m) + 4, format!("{m}, CERTIFICATE")),
        (Some(m), Some(_), true) => (w(m) + 7, format!("CERTIFICATE, {m}")),
        (None, None, _) => (0, "NONE".into()),
    }
}

/// "sys.database_mirroring_endpoints": encryption_algorithm and its description (SUPPORTED
/// lists NONE first).
pub(super) fn algorithm_codes(mode: &str, alg: &str) -> (i64, String, bool) {
    if mode == "DISABLED" {
        return (0, "NONE".into(), false);
    }
    let none = mode == "SUPPORTED";
    let (code, desc) = match (none, alg) {
        (false, "RC4") => (1, "RC4"),
        (false, "AES") => (2, "AES"),
        (true, "RC4") => (3, "NONE, RC4"),
        (true, "AES") => (4, "NONE, AES"),
        (false, "RC4 AES") => (5, "RC4, AES"),
        (false, _) => (6, "AES, RC4"),
        (true, "RC4 AES") => (7, "NONE, RC4, AES"),
        (true, _) => (8, "NONE, AES, RC4"),
    };
    (code, desc.into(), true)
}

pub(super) fn state_code(s: &str) -> i64 {
    match s {
        "STARTED" => 0,
        "STOPPED" => 1,
        _ => 2,
    }
}
