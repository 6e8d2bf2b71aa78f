//! Text from outside ferry (database names, plugin log lines, server errors, report rows) made
//! safe for where it is shown: one function per target format, used wherever such text is
//! printed. A name like `Sales\x1b]0;owned\x07` must not retitle the terminal, rewrite a line
//! with `\r`, forge a second line, or break a Markdown table.
//!
//! Hand-written: each is a short character map, and the crates that escape HTML or Markdown
//! do not also neutralise terminal controls, which every format here needs first.

use std::borrow::Cow;

/// Characters that change how text is shown rather than being shown: every C0 and C1
/// control and DEL (Unicode category Cc: ESC starts terminal escape sequences, U+009B is a
/// one-byte CSI on some terminals, CR rewrites the line), the line and paragraph separators,
/// and the bidirectional controls that reorder what follows them ("Trojan Source",
/// CVE-2021-42574).
fn is_display_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// Text for a terminal, a log line or a pipe: each display control becomes visible text
/// (`\n`, `\r`, or `\u001b`), so one value is one line and cannot steer the terminal. A tab is
/// kept. The `\uXXXX` form is also a JSON escape of the same character, so a JSON line
/// passed through here still parses to the same value.
pub fn terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\t' && is_display_control(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\t' => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if is_display_control(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Output that may span lines (a plan, a status table): each line through [`terminal`], the
/// line breaks kept. What `ferry` writes to stdout and stderr passes through here.
pub fn terminal_lines(s: &str) -> Cow<'_, str> {
    if !s
        .chars()
        .any(|c| c != '\t' && c != '\n' && is_display_control(c))
    {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.split('\n').map(terminal).collect::<Vec<_>>().join("\n"))
}

/// Text for a Markdown table cell (and any other inline Markdown): terminal controls made
/// visible first, then every character that could start Markdown or HTML markup
/// backslash-escaped (CommonMark §2.4: any ASCII punctuation may be), `|` included so a cell
/// never splits (GFM tables §4.10). The result is one line.
pub fn markdown(s: &str) -> String {
    let visible = terminal(s);
    let mut out = String::with_capacity(visible.len() + 8);
    for c in visible.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '~' | '[' | ']' | '<' | '>' | '&' | '|' | '!' | '#'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Text for HTML element content or a quoted attribute: terminal controls made visible, then
/// the five characters HTML gives meaning escaped.
pub fn html(s: &str) -> String {
    terminal(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "Sales\x1b[31m\x1b]0;owned\x07\r\nFAKE\u{9b}2J\u{202e}gnp.exe\x7f\0";

    fn no_controls(s: &str) {
        assert!(
            !s.chars().any(|c| is_display_control(c) && c != '\t'),
            "{s:?}"
        );
    }

    #[test]
    fn terminal_text_shows_every_control_and_nothing_else_changes() {
        let t = terminal(HOSTILE);
        no_controls(&t);
        assert_eq!(
            t,
            "Sales\\u001b[31m\\u001b]0;owned\\u0007\\r\\nFAKE\\u009b2J\\u202egnp.exe\\u007f\\u0000"
        );
        assert!(matches!(terminal("Sales_2024 Ünï\tcode"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_json_line_through_the_terminal_filter_still_parses_to_the_same_value() {
        let line = serde_json::json!({ "name": HOSTILE }).to_string();
        let shown = terminal_lines(&line);
        no_controls(&shown);
        let back: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(back["name"], HOSTILE);
    }

    #[test]
    fn multi_line_output_keeps_its_lines() {
        assert_eq!(terminal_lines("a\x1b\nb\n"), "a\\u001b\nb\n");
        assert!(matches!(terminal_lines("a\n\tb\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn markdown_cells_neither_split_nor_render_markup() {
        let m = markdown("a|b\nc <img src=x> *bold* [x](http://e) `code` \\ &amp;");
        assert_eq!(
            m,
            "a\\|b\\\\nc \\<img src=x\\> \\*bold\\* \\[x\\](http://e) \\`code\\` \\\\ \\&amp;"
        );
        assert!(!m.contains('\n'));
        no_controls(&markdown(HOSTILE));
    }

    #[test]
    fn html_text_is_escaped() {
        assert_eq!(
            html("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        no_controls(&html(HOSTILE));
    }
}
