//! What a grant names: the kind of capability and how much of it. Kept apart from the grant check
//! so that the configuration, which spells grants, and the check, which reads them, both depend
//! on these words without depending on each other.

use crate::bindings::ferry::plugin::types as wit;

/// A kind of capability, granted by label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Sql,
    Storage,
    Azure,
    Secret,
    Scratch,
}

impl Kind {
    /// The key under `[steps.grants]` that grants this kind.
    pub fn grant_key(self) -> &'static str {
        match self {
            Kind::Sql => "sql",
            Kind::Storage => "storage",
            Kind::Azure => "azure",
            Kind::Secret => "secrets",
            Kind::Scratch => "scratch",
        }
    }
}

impl From<wit::CapabilityKind> for Kind {
    fn from(k: wit::CapabilityKind) -> Self {
        match k {
            wit::CapabilityKind::Sql => Kind::Sql,
            wit::CapabilityKind::Storage => Kind::Storage,
            wit::CapabilityKind::Azure => Kind::Azure,
            wit::CapabilityKind::Secret => Kind::Secret,
            wit::CapabilityKind::Scratch => Kind::Scratch,
        }
    }
}

impl From<Kind> for wit::CapabilityKind {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Sql => wit::CapabilityKind::Sql,
            Kind::Storage => wit::CapabilityKind::Storage,
            Kind::Azure => wit::CapabilityKind::Azure,
            Kind::Secret => wit::CapabilityKind::Secret,
            Kind::Scratch => wit::CapabilityKind::Scratch,
        }
    }
}

/// How much a grant allows. `Read < Write`; `Reveal` (secrets only) allows `Read` too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Read,
    Write,
    Reveal,
}

impl Access {
    pub fn parse(s: &str) -> Option<Access> {
        match s {
            "read" => Some(Access::Read),
            "write" => Some(Access::Write),
            "reveal" => Some(Access::Reveal),
            _ => None,
        }
    }

    /// Whether a grant of `self` covers a use needing `needed`.
    pub fn covers(self, needed: Access) -> bool {
        matches!(
            (self, needed),
            (_, Access::Read) | (Access::Write, Access::Write) | (Access::Reveal, Access::Reveal)
        )
    }
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Access::Read => "read",
            Access::Write => "write",
            Access::Reveal => "reveal",
        })
    }
}

impl From<wit::Access> for Access {
    fn from(a: wit::Access) -> Self {
        match a {
            wit::Access::Read => Access::Read,
            wit::Access::Write => Access::Write,
            wit::Access::Reveal => Access::Reveal,
        }
    }
}
