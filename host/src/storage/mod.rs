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
}

/// The storage labels of a run's environment.
#[derive(Default)]
pub struct Storage {
    /// Each label's backend, or why its configuration cannot be used (reported when a plugin
    /// opens it).
    labels: BTreeMap<String, Result<Backend, String>>,
}

impl Storage {
    pub fn new(env: &Environment, redactor: &Redactor) -> Storage {
        let labels = env
            .storage
            .iter()
            .map(|(label, cfg)| {
                let backend = match (&cfg.kind, &cfg.path) {
                    (ShareOrBlob::Share, Some(path)) => {
                        Ok(Backend::Share(share::Share::new(label, path)))
                    }
                    (ShareOrBlob::Share, None) => {
                        Err(format!("storage label `{label}` (share) needs `path`"))
                    }
                    (ShareOrBlob::Blob, _) => {
                        blob::Blob::new(label, cfg, redactor).map(Backend::Blob)
                    }
                };
                (label.clone(), backend)
            })
            .collect();
        Storage { labels }
    }

    pub fn get(&self, label: &str) -> Option<&Result<Backend, String>> {
        self.labels.get(label)
    }
}
