//! Keeps secret values out of everything a plugin hands back. Every value the host resolves is
//! registered here before it is used, and every string from a plugin passes through here before
//! it reaches a log, an event, the journal or an error.

use parking_lot::RwLock;
use std::borrow::Cow;
use std::sync::Arc;

/// What replaces a secret value.
pub const MASK: &str = "***";

/// The set of secret values known to this process.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    values: Arc<RwLock<Vec<String>>>,
}

impl Redactor {
    /// Registers a value. Its JSON-escaped form is registered too, since state and output
    /// travel as JSON text.
    pub fn register(&self, value: &str) {
        if value.is_empty() {
            return;
        }
        let mut values = self.values.write();
        let escaped = serde_json::to_string(value).unwrap_or_default();
        let escaped = escaped.trim_matches('"').to_owned();
        for v in [value.to_owned(), escaped] {
            if !v.is_empty() && !values.contains(&v) {
                values.push(v);
            }
        }
        // Longest first, so a secret that contains another is masked whole.
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    /// `text` with every known secret value replaced by [`MASK`].
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let values = self.values.read();
        if !values.iter().any(|v| text.contains(v.as_str())) {
            return Cow::Borrowed(text);
        }
        let mut out = text.to_owned();
        for v in values.iter() {
            out = out.replace(v.as_str(), MASK);
        }
        Cow::Owned(out)
    }

    /// Whether `text` contains a known secret value.
    pub fn leaks(&self, text: &str) -> bool {
        let values = self.values.read();
        values.iter().any(|v| text.contains(v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_raw_and_json_escaped_values() {
        let r = Redactor::default();
        r.register("p\"w");
        assert_eq!(r.redact("a p\"w b"), "a *** b");
        let json = serde_json::json!({"v": "p\"w"}).to_string();
        assert!(r.leaks(&json));
        assert!(!r.redact(&json).contains("p\\\"w"));
        assert_eq!(r.redact("clean"), "clean");
    }

    #[test]
    fn longer_secret_masked_whole() {
        let r = Redactor::default();
        r.register("abc");
        r.register("abcdef");
        assert_eq!(r.redact("xabcdefx"), "x***x");
    }
}
