//! The hashes the workload generator gives queries and plans. SQL Server computes
//! `query_hash` from the query's normalized tree, undocumented; the emulator hashes the
//! normalized text (keywords and names upper-cased, literals replaced, one space between
//! tokens) with SHA-256 and keeps 8 bytes, so the same text hashes the same on every emulated
//! server and texts differing only in literals, case or spacing hash alike, as SQL Server's do.

use sha2::{Digest, Sha256};

use crate::syntax::Token;

pub(super) fn hex(b: &[u8]) -> String {
    format!(
        "0x{}",
        b.iter().map(|x| format!("{x:02X}")).collect::<String>()
    )
}

pub(super) fn hash8(parts: &[&[u8]]) -> [u8; 8] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
        h.update([0u8]);
    }
    let d = h.finalize();
    let mut out = [0u8; 8];
    out.copy_from_slice(&d[..8]);
    out
}

/// The text with literals replaced and words upper-cased, one space between tokens, without a
/// closing `;`. Errors name what could not be read.
pub fn normalized(text: &str) -> Result<String, String> {
    let tokens = crate::syntax::tokenize(text).map_err(|(_, m)| m)?;
    let mut out: Vec<String> = tokens
        .iter()
        .map(|t| match t {
            Token::Word(w) | Token::Quoted(w) => w.to_uppercase(),
            Token::Str { .. } | Token::Number(_) => "?".into(),
            Token::Var(v) => format!("@{}", v.to_lowercase()),
            other => other.display(),
        })
        .collect();
    while out.last().is_some_and(|t| t == ";") {
        out.pop();
    }
    if out.is_empty() {
        return Err("the text is empty".into());
    }
    Ok(out.join(" "))
}

/// The query's hash: 8 bytes of SHA-256 over its normalized text.
pub fn query_hash(text: &str) -> Result<[u8; 8], String> {
    Ok(hash8(&[b"ferry query_hash", normalized(text)?.as_bytes()]))
}

/// The plan's hash: the one given as `0x` and 16 hex digits, or 8 bytes of SHA-256 over the
/// query's hash and the plan's label.
pub fn plan_hash(query: &[u8; 8], plan: Option<&str>) -> Result<[u8; 8], String> {
    let label = plan.unwrap_or("A");
    if let Some(digits) = label
        .strip_prefix("0x")
        .or_else(|| label.strip_prefix("0X"))
    {
        if digits.len() != 16 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!(
                "plan {label} is not 0x and 16 hex digits (an 8-byte query_plan_hash)"
            ));
        }
        let mut out = [0u8; 8];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&digits[i * 2..i * 2 + 2], 16).unwrap_or(0);
        }
        return Ok(out);
    }
    Ok(hash8(&[b"ferry query_plan_hash", query, label.as_bytes()]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_ignores_literals_case_spacing_and_brackets() {
        let a = query_hash("SELECT Name FROM dbo.T WHERE Id = 5").unwrap();
        let b = query_hash("select   name from [dbo].[t] where id = 42;").unwrap();
        let c = query_hash("SELECT Name FROM dbo.T WHERE Id > 5").unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(query_hash("   ").is_err());
    }

    #[test]
    fn plans_differ_by_label_and_take_an_explicit_hash() {
        let q = query_hash("SELECT 1").unwrap();
        assert_ne!(
            plan_hash(&q, None).unwrap(),
            plan_hash(&q, Some("B")).unwrap()
        );
        assert_eq!(
            plan_hash(&q, None).unwrap(),
            plan_hash(&q, Some("A")).unwrap()
        );
        assert_eq!(
            plan_hash(&q, Some("0x0102030405060708")).unwrap(),
            [1, 2, 3, 4, 5, 6, 7, 8]
        );
        assert!(plan_hash(&q, Some("0x12")).is_err());
    }
}
