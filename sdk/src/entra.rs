//! Windows accounts → Microsoft Entra principals (methods.md §5.1), shared by `instance-objects`
//! (which makes the logins) and `assess` (which finds the unmapped ones first). Managed Instance has no
//! Windows authentication, so `CREATE LOGIN … FROM WINDOWS` has no target: each Windows login
//! becomes `CREATE LOGIN [...] FROM EXTERNAL PROVIDER` under the name the mapping gives, and
//! each database user of it is remapped with `ALTER USER … WITH LOGIN`.
//!
//! The rule for users is the one Microsoft's own login migration uses (`DOMAIN\name` →
//! `name@<entra domain>`); Entra groups are named by their display name, so a group maps to its
//! name without the domain. An explicit entry always wins. A Windows account with neither is
//! refused, never guessed.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Windows accounts → Microsoft Entra principals. Managed Instance has no Windows
/// authentication: each `DOMAIN\name` login becomes `CREATE LOGIN [...] FROM EXTERNAL
/// PROVIDER`, and each database user of it is remapped to that login.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EntraMap {
    /// NetBIOS domain → UPN suffix: `CONTOSO = "contoso.com"` maps the Windows user
    /// `CONTOSO\bob` to `bob@contoso.com` and the group `CONTOSO\DBAs` to the Entra group
    /// `DBAs`. Domains compare case-insensitively.
    pub domains: BTreeMap<String, String>,
    /// Explicit mappings, which win over `domains`: `"CONTOSO\\svc_app" = "svc-app@contoso.com"`.
    pub principals: BTreeMap<String, String>,
}

/// A Windows principal's kind, as `sys.server_principals.type` has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowsKind {
    /// `U`, a Windows user: it maps to a UPN, `name@suffix`.
    User,
    /// `G`, a Windows group: it maps to the Entra group's display name, `name`.
    Group,
}

/// How a name was mapped, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    /// The Entra principal's name, as `CREATE LOGIN [...] FROM EXTERNAL PROVIDER` takes it.
    pub entra: String,
    /// The mapping entry that gave it (`entra.principals."CONTOSO\\svc_app"`,
    /// `entra.domains.CONTOSO`), so an operator can find and fix it.
    pub rule: String,
}

/// `DOMAIN\name` split at its first backslash.
pub fn split(name: &str) -> Option<(&str, &str)> {
    let (d, n) = name.split_once('\\')?;
    (!d.is_empty() && !n.is_empty()).then_some((d, n))
}

impl EntraMap {
    /// Why the mapping cannot be used as written (an entry with an empty side), for a step's
    /// `validate`.
    pub fn problem(&self) -> Option<&'static str> {
        self.domains
            .iter()
            .chain(&self.principals)
            .any(|(k, v)| k.trim().is_empty() || v.trim().is_empty())
            .then_some("an Entra mapping entry has an empty side")
    }

    /// The Entra name for a Windows principal, or None when nothing maps it.
    pub fn map(&self, windows: &str, kind: WindowsKind) -> Option<Mapped> {
        if let Some((k, v)) = self
            .principals
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(windows))
        {
            return Some(Mapped {
                entra: v.clone(),
                rule: format!("entra.principals.\"{}\"", k.escape_debug()),
            });
        }
        let (domain, name) = split(windows)?;
        let (d, suffix) = self
            .domains
            .iter()
            .find(|(d, _)| d.eq_ignore_ascii_case(domain))?;
        let entra = match kind {
            WindowsKind::User => format!("{name}@{}", suffix.trim_start_matches('@')),
            WindowsKind::Group => name.to_owned(),
        };
        Some(Mapped {
            entra,
            rule: format!("entra.domains.{d}"),
        })
    }

    /// What to tell an operator when `windows` maps to nothing.
    pub fn missing(&self, windows: &str) -> String {
        let domain = split(windows).map_or("DOMAIN", |(d, _)| d);
        format!(
            "Managed Instance has no Windows authentication and the Microsoft Entra mapping has \
             no entry for `{windows}`: add `{domain} = \"<UPN suffix>\"` under [domains] or \
             `\"{}\" = \"<Entra name>\"` under [principals] in the mapping, then apply again",
            windows.replace('\\', "\\\\")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> EntraMap {
        EntraMap {
            domains: [("CONTOSO".to_owned(), "contoso.com".to_owned())].into(),
            principals: [(
                "CONTOSO\\svc_app".to_owned(),
                "svc-app@contoso.com".to_owned(),
            )]
            .into(),
        }
    }

    #[test]
    fn users_get_the_upn_suffix_groups_their_name_overrides_win() {
        let m = map();
        assert_eq!(
            m.map("contoso\\Bob", WindowsKind::User).unwrap().entra,
            "Bob@contoso.com"
        );
        assert_eq!(
            m.map("CONTOSO\\DBAs", WindowsKind::Group).unwrap().entra,
            "DBAs"
        );
        let o = m.map("CONTOSO\\SVC_APP", WindowsKind::User).unwrap();
        assert_eq!(o.entra, "svc-app@contoso.com");
        assert!(o.rule.starts_with("entra.principals"));
        assert!(m.map("FABRIKAM\\eve", WindowsKind::User).is_none());
        assert!(m.map("nodomain", WindowsKind::User).is_none());
        assert!(m.missing("FABRIKAM\\eve").contains("FABRIKAM = "));
        assert_eq!(m.problem(), None);
        let mut empty = map();
        empty.domains.insert("EMPTY".into(), " ".into());
        assert!(empty.problem().unwrap().contains("empty side"));
    }
}
