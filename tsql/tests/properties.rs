//! The pieces of the crate held to each other over generated text: what the quoting helpers
//! write, the lexer reads back as one token with the same content; nothing a name or a string
//! holds can hide a statement from the read-only classifier; the lexer never panics and its
//! spans cover exactly the tokens.

use ferry_tsql::{Token, batches, quote_name, quote_text, read_only, tokenize, tokenize_spanned};
use proptest::prelude::*;

/// Text biased towards what breaks scanners: quotes, brackets, comment markers, `@`, newlines,
/// `GO`, keywords.
fn nasty() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("'".to_owned()),
        Just("''".to_owned()),
        Just("]".to_owned()),
        Just("]]".to_owned()),
        Just("[".to_owned()),
        Just("\"".to_owned()),
        Just("--".to_owned()),
        Just("/*".to_owned()),
        Just("*/".to_owned()),
        Just("@sas".to_owned()),
        Just("\nGO\n".to_owned()),
        Just("; DROP DATABASE x; ".to_owned()),
        Just("N'".to_owned()),
        Just("é€𝄞".to_owned()),
        "[a-zA-Z0-9 ]{0,6}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn a_quoted_name_reads_back_as_one_name(s in nasty()) {
        prop_assert_eq!(tokenize(&quote_name(&s)).unwrap(), vec![Token::Quoted(s)]);
    }

    #[test]
    fn quoted_text_reads_back_as_one_string(s in nasty()) {
        prop_assert_eq!(
            tokenize(&quote_text(&s)).unwrap(),
            vec![Token::Str { text: s, unicode: true }]
        );
    }

    #[test]
    fn nothing_inside_a_name_or_a_string_is_a_statement(s in nasty()) {
        let read = format!("SELECT {} AS {} FROM t", quote_text(&s), quote_name(&s));
        prop_assert!(read_only::check(&read).is_ok(), "{read}");
        for hidden in [
            format!("SELECT {}; DROP TABLE t", quote_text(&s)),
            format!("SELECT 1 AS {} DELETE FROM t", quote_name(&s)),
            format!("SELECT 1 /* {} */; UPDATE t SET a = 1", s.replace("*/", "").replace("/*", "")),
            format!("SELECT 1 -- {}\nINSERT t VALUES (1)", s.replace('\n', " ")),
        ] {
            prop_assert!(read_only::check(&hidden).is_err(), "{hidden}");
        }
    }

    #[test]
    fn the_lexer_never_panics_and_its_spans_are_the_tokens(s in nasty()) {
        if let Ok(tokens) = tokenize_spanned(&s) {
            let mut end = 0;
            for t in &tokens {
                prop_assert!(t.span.start >= end && t.span.end > t.span.start);
                end = t.span.end;
                // Each token's own text reads back as that token.
                prop_assert_eq!(tokenize(&s[t.span.clone()]).unwrap(), vec![t.token.clone()]);
            }
        }
        let _ = read_only::check(&s);
        let _ = batches(&s);
    }

    #[test]
    fn batches_are_pieces_of_the_script_in_order(s in nasty()) {
        if let Ok(parts) = batches(&s) {
            let mut end = 0;
            for b in parts {
                prop_assert!(b.offset >= end);
                prop_assert_eq!(&s[b.offset..b.offset + b.text.len()], b.text);
                end = b.offset + b.text.len();
            }
        }
    }
}
