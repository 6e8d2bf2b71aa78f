//! Storage backends by label. Share labels (local or mounted directories) are served by
//! [`share::Share`]; blob labels (Azure Blob containers) are not wired into the plugin interface
//! yet and answer `unsupported` with the label named.

pub mod share;

use std::collections::BTreeMap;

use crate::config::{Environment, ShareOrBlob};

/// The backend a storage label resolves to.
pub enum Backend {
    Share(share::Share),
    /// A blob container: configured, but this version has no blob backend for plugins yet.
    Blob,
}

/// The storage labels of a run's environment.
#[derive(Default)]
pub struct Storage {
    labels: BTreeMap<String, Backend>,
}

impl Storage {
    pub fn new(env: &Environment) -> Storage {
        let labels = env
            .storage
            .iter()
            .map(|(label, cfg)| {
                let backend = match (&cfg.kind, &cfg.path) {
                    (ShareOrBlob::Share, Some(path)) => {
                        Backend::Share(share::Share::new(label, path))
                    }
                    // Environment loading already refuses a share without `path`.
                    _ => Backend::Blob,
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
