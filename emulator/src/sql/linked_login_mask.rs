//! The statement log's view of sp_addlinkedsrvlogin: its remote password masked, by name and
//! by position, as `security::mask_secrets` masks PASSWORD = and SECRET = ("sp_addlinkedsrvlogin
//! (Transact-SQL)" warns that such passwords end up in scripts and logs).

/// The text with sp_addlinkedsrvlogin's remote passwords masked, for the statement log:
/// `@rmtpassword = '…'` and the fifth positional argument.
pub fn mask_linked_login_passwords(text: &str) -> String {
    use crate::syntax::Token;
    let Ok(tokens) = ferry_tsql::tokenize_spanned(text) else {
        return text.to_owned();
    };
    let mut secrets = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if !t.token.is("sp_addlinkedsrvlogin") {
            continue;
        }
        let mut arg = 0;
        let mut j = i + 1;
        while let Some(x) = tokens.get(j) {
            if x.token.is_punct(";") {
                break;
            }
            let named = matches!(&x.token, Token::Var(_))
                && tokens.get(j + 1).is_some_and(|e| e.token.is_punct("="));
            let (value, is_password) = if named {
                let Token::Var(v) = &x.token else { break };
                (tokens.get(j + 2), v.eq_ignore_ascii_case("rmtpassword"))
            } else {
                (Some(x), arg == 4)
            };
            if let Some(v) = value
                && is_password
                && matches!(v.token, Token::Str { .. })
            {
                secrets.push(v.span.clone());
            }
            // On to the next argument.
            while let Some(y) = tokens.get(j) {
                j += 1;
                if y.token.is_punct(",") {
                    break;
                }
                if y.token.is_punct(";") {
                    j = tokens.len();
                    break;
                }
            }
            arg += 1;
            if arg > 4 {
                break;
            }
        }
    }
    let mut out = text.to_owned();
    for span in secrets.into_iter().rev() {
        out.replace_range(span, "'***'");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::mask_linked_login_passwords as mask;

    #[test]
    fn remote_passwords_are_masked_in_the_log() {
        assert_eq!(
            mask("EXEC sp_addlinkedsrvlogin N'S', 'FALSE', NULL, N'u', N'p''w'; SELECT 'x'"),
            "EXEC sp_addlinkedsrvlogin N'S', 'FALSE', NULL, N'u', '***'; SELECT 'x'"
        );
        assert_eq!(
            mask(
                "EXEC master.dbo.sp_addlinkedsrvlogin @rmtsrvname = 'S', @rmtpassword = 'pw', @useself = 'FALSE'"
            ),
            "EXEC master.dbo.sp_addlinkedsrvlogin @rmtsrvname = 'S', @rmtpassword = '***', @useself = 'FALSE'"
        );
        assert_eq!(
            mask("SELECT 'a', 'b', 'c', 'd', 'e'"),
            "SELECT 'a', 'b', 'c', 'd', 'e'"
        );
    }
}
