//! The run's secrets: references by label (`env:`, `file:`), resolved on first use, remembered
//! for the run and registered with the redactor before anything uses them; and values the host
//! makes itself (a SAS it signed), kept under labels no grant can name.

use parking_lot::Mutex;
use std::collections::BTreeMap;

use crate::config::SecretRef;
use crate::redact::Redactor;

/// Secret references by label, resolved on first use and remembered for the run.
#[derive(Default)]
pub struct Vault {
    refs: BTreeMap<String, SecretRef>,
    resolved: Mutex<BTreeMap<String, String>>,
    redactor: Redactor,
}

impl Vault {
    pub fn new(refs: BTreeMap<String, SecretRef>, redactor: Redactor) -> Self {
        Vault {
            refs,
            resolved: Mutex::default(),
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
}
