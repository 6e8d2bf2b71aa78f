//! Storage backends by label: share labels (local or mounted directories) through
//! [`share::Share`], blob labels (Azure Blob containers) through [`blob::Blob`].

pub mod blob;
pub mod share;
pub mod upload;

use std::collections::BTreeMap;

use crate::config::{Environment, ShareOrBlob};
use crate::redact::Redactor;

/// The backend a storage label resolves to.
#[derive(Clone)]
pub enum Backend {
    Share(share::Share),
    Blob(blob::Blob),
    /// A label whose configuration cannot be used, with why; reported when a plugin opens it.
    Misconfigured(String),
}

/// The storage labels of a run's environment.
#[derive(Default)]
pub struct Storage {
    labels: BTreeMap<String, Backend>,
}

impl Storage {
    pub fn new(env: &Environment, redactor: &Redactor) -> Storage {
        let labels = env
            .storage
            .iter()
            .map(|(label, cfg)| {
                let backend = match (&cfg.kind, &cfg.path) {
                    (ShareOrBlob::Share, Some(path)) => {
                        Backend::Share(share::Share::new(label, path))
                    }
                    (ShareOrBlob::Share, None) => Backend::Misconfigured(format!(
                        "storage label `{label}` (share) needs `path`"
                    )),
                    (ShareOrBlob::Blob, _) => match blob::Blob::new(label, cfg, redactor) {
                        Ok(b) => Backend::Blob(b),
                        Err(why) => Backend::Misconfigured(why),
                    },
                };
                (label.clone(), backend)
            })
            .collect();
        Storage { labels }
    }

    pub fn get(&self, label: &str) -> Option<&Backend> {
        self.labels.get(label)
    }
}
