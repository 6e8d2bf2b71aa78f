//! Which label each of a plugin's needs points at in one step. A plugin declares a need under a
//! default label (`sql tickets read`); the step's config may send it elsewhere. The plugin says
//! which config key does that with `"x-ferry-need": "<need label>"` on the key in its config
//! schema (Rust: `#[schemars(extend("x-ferry-need" = "tickets"))]`), whatever the key is called;
//! without that, a key named after the need is taken to be it, as before the keyword existed.

use crate::bindings::types::CapabilityNeed;
use crate::capability::{Access, Kind};

/// The schema keyword that ties a config key to the need whose label it holds.
pub const NEED_KEYWORD: &str = "x-ferry-need";

/// One need as this step's config resolves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedNeed {
    pub kind: Kind,
    /// The label the plugin will ask for in this step.
    pub label: String,
    pub access: Access,
    /// The config key that chose the label, when one did.
    pub key: Option<String>,
    /// Whether the plugin's schema declares that key (so no guess about other keys is made).
    pub declared: bool,
}

/// Each need of `needs`, with the label this `config` gives it under `schema`.
pub fn resolve(
    needs: &[CapabilityNeed],
    schema: &serde_json::Value,
    config: &serde_json::Value,
) -> Vec<ResolvedNeed> {
    let properties = schema.get("properties").and_then(|p| p.as_object());
    needs
        .iter()
        .map(|need| {
            let declared_key = properties.and_then(|props| {
                props
                    .iter()
                    .find(|(_, p)| {
                        p.get(NEED_KEYWORD).and_then(|v| v.as_str()) == Some(&need.label)
                    })
                    .map(|(key, p)| (key.clone(), p))
            });
            let (key, default, declared) = match declared_key {
                Some((key, p)) => (key, p.get("default").and_then(|d| d.as_str()), true),
                None => (need.label.clone(), None, false),
            };
            let configured = config.get(&key).and_then(|v| v.as_str());
            let label = configured.or(default).unwrap_or(&need.label).to_owned();
            ResolvedNeed {
                kind: Kind::from(need.kind),
                label,
                access: need.access.into(),
                key: (configured.is_some() || declared).then_some(key),
                declared,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::types::{Access as WitAccess, CapabilityKind};
    use serde_json::json;

    fn need(label: &str, access: WitAccess) -> CapabilityNeed {
        CapabilityNeed {
            kind: CapabilityKind::Sql,
            label: label.into(),
            access,
            why: "w".into(),
        }
    }

    /// (schema, config) → the label the `tickets` need resolves to, and the key that chose it.
    #[test]
    fn a_need_follows_the_key_the_schema_declares_for_it() {
        let declared = json!({"properties": {
            "change_db": {"type": "string", "default": "tickets-prod", NEED_KEYWORD: "tickets"},
            "tickets": {"type": "string"},
        }});
        let plain = json!({"properties": {"tickets": {"type": "string"}}});
        let cases = [
            // The declared key, whatever it is called.
            (
                &declared,
                json!({"change_db": "cab"}),
                "cab",
                Some("change_db"),
                true,
            ),
            // Its schema default when the step leaves it out.
            (
                &declared,
                json!({}),
                "tickets-prod",
                Some("change_db"),
                true,
            ),
            // A key named after the need is not it when another key is declared.
            (
                &declared,
                json!({"tickets": "other"}),
                "tickets-prod",
                Some("change_db"),
                true,
            ),
            // Undeclared: the key named after the need, else the need's own label.
            (
                &plain,
                json!({"tickets": "cab"}),
                "cab",
                Some("tickets"),
                false,
            ),
            (&plain, json!({}), "tickets", None, false),
            (&plain, json!({"tickets": 3}), "tickets", None, false),
        ];
        for (schema, config, label, key, declared) in cases {
            let r = resolve(&[need("tickets", WitAccess::Read)], schema, &config);
            assert_eq!(
                (r[0].label.as_str(), r[0].key.as_deref(), r[0].declared),
                (label, key, declared),
                "{config}"
            );
            assert_eq!((r[0].kind, r[0].access), (Kind::Sql, Access::Read));
        }
    }
}
