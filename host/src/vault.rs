//! The run's secrets: references by label (`env:`, `file:`), resolved on first use, remembered
//! for the run and registered with the redactor before anything uses them; and values the host
//! makes itself (a SAS it signed), kept under labels no grant can name.

use parking_lot::Mutex;
use std::collections::{BTreeMap, BTreeSet};

use crate::config::SecretRef;
use crate::redact::Redactor;

/// Secret references by label, resolved on first use and remembered for the run.
#[derive(Default)]
pub struct Vault {
    refs: BTreeMap<String, SecretRef>,
    resolved: Mutex<BTreeMap<String, String>>,
    /// Labels whose value is binary, kept as `0x` and upper-case hex: a password hash or a
    /// private key read sealed from a server, written back only as a `0x…` literal.
    binary: Mutex<BTreeSet<String>>,
    redactor: Redactor,
}

/// A sealed value as the host writes it: text goes into a statement quoted, binary as a
/// `0x…` literal (DDL such as `CREATE LOGIN … PASSWORD = 0x… HASHED` takes no parameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealedValue {
    Text(String),
    /// `0x` and upper-case hex digits, nothing else.
    Binary(String),
}

impl Vault {
    pub fn new(refs: BTreeMap<String, SecretRef>, redactor: Redactor) -> Self {
        Vault {
            refs,
            resolved: Mutex::default(),
            binary: Mutex::default(),
            redactor,
        }
    }

    /// The value for a label. Errors name the label and the reference, never a value.
    pub fn resolve(&self, label: &str) -> Result<String, String> {
        let mut cache = self.resolved.lock();
        if let Some(v) = cache.get(label) {
            return Ok(v.clone());
        }
        let r = self
            .refs
            .get(label)
            .ok_or_else(|| format!("environment.toml has no [secrets] entry `{label}`"))?;
        let value = r
            .resolve()
            .map_err(|e| format!("secret `{label}` ({r}): {e}"))?;
        self.redactor.register(&value);
        cache.insert(label.to_owned(), value.clone());
        Ok(value)
    }
}

impl Vault {
    /// Keeps a value the host made (a SAS it signed) under a fresh label, so a plugin can hold
    /// it as a sealed handle. No grant names such a label, so it can never be revealed.
    pub fn seal_generated(&self, prefix: &str, value: String) -> String {
        self.redactor.register(&value);
        let mut cache = self.resolved.lock();
        let label = format!("{prefix}#{}", cache.len() + 1);
        cache.insert(label.clone(), value);
        label
    }

    /// Keeps bytes read sealed from a server (a password hash, a private key) under a fresh
    /// label. Their hex forms are registered with the redactor in both cases, with and
    /// without `0x`, since that is how binary shows up in text.
    pub fn seal_binary(&self, prefix: &str, bytes: &[u8]) -> String {
        let upper = hex::encode_upper(bytes);
        let lower = hex::encode(bytes);
        // A value of a few bytes masked everywhere would mask innocent text (and hide
        // nothing worth hiding), so only values of 8 bytes or more are registered.
        if bytes.len() >= 8 {
            for v in [&upper, &lower] {
                self.redactor.register(v);
            }
        }
        let label = {
            let mut cache = self.resolved.lock();
            let label = format!("{prefix}#{}", cache.len() + 1);
            cache.insert(label.clone(), format!("0x{upper}"));
            label
        };
        self.binary.lock().insert(label.clone());
        label
    }

    /// The value behind a label, as the host writes it.
    pub fn sealed(&self, label: &str) -> Result<SealedValue, String> {
        let value = self.resolve(label)?;
        Ok(if self.binary.lock().contains(label) {
            SealedValue::Binary(value)
        } else {
            SealedValue::Text(value)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_values_are_hex_literals_and_masked_in_both_cases() {
        let r = Redactor::default();
        let v = Vault::new(BTreeMap::new(), r.clone());
        let label = v.seal_binary("hash", &[0x02, 0, 0xab, 0xcd, 1, 2, 3, 4, 5]);
        assert_eq!(
            v.sealed(&label).unwrap(),
            SealedValue::Binary("0x0200ABCD0102030405".into())
        );
        assert_eq!(r.redact("x 0200abcd0102030405 y"), "x *** y");
        assert_eq!(r.redact("0x0200ABCD0102030405"), "0x***");
        let text = v.seal_generated("pw", "s3cret-value".into());
        assert_eq!(
            v.sealed(&text).unwrap(),
            SealedValue::Text("s3cret-value".into())
        );
    }
}
