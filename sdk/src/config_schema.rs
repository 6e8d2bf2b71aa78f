//! A plugin's config schema, derived from its config type with `schemars`: descriptions come
//! from the doc comments, defaults from the same `Default` the deserializer fills missing keys
//! from, so what `ferry plugins describe` states is what the plugin does.
//!
//! ```ignore
//! #[derive(serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
//! #[serde(default, deny_unknown_fields)]
//! pub struct Config {
//!     /// SQL label of the source SQL Server.
//!     #[schemars(length(min = 1))]
//!     pub source: String,
//! }
//!
//! impl Default for Config {
//!     fn default() -> Self {
//!         Config { source: "source".into() }
//!     }
//! }
//!
//! fn config_schema() -> serde_json::Value {
//!     ferry_sdk::config_schema::<Config>()
//! }
//! ```

use schemars::generate::SchemaSettings;
use schemars::transform::{Transform, transform_subschemas};
use schemars::{JsonSchema, Schema};
use serde_json::Value;

use crate::errors::{Error, Result};
use crate::runner::parse_config;

/// The JSON Schema (draft 2020-12) of config type `C`, as the host validates step configs
/// against and `ferry plugins describe` prints. Every subschema is inlined, so each key reads
/// in one place, with no `$ref` into `$defs`; a unit enum is a plain `enum` of its values.
pub fn config_schema<C: JsonSchema>() -> Value {
    SchemaSettings::draft2020_12()
        .with(|s| s.inline_subschemas = true)
        .with_transform(ValuesAsEnum)
        .with_transform(OneLineDescriptions)
        .into_generator()
        .into_root_schema_for::<C>()
        .to_value()
}

/// The config the `default`s of [`config_schema::<C>`] add up to, next to the config an empty
/// `[steps.config]` gets, as `Debug` text: a plugin's test asserts they are equal. Derivation
/// takes both from the same functions, but schemars leaves a default out silently when the
/// field's type is not `Serialize`, and a type serialized under other names than it is
/// deserialized would state values the plugin refuses: both are caught here. A key that is
/// not required but states no default is an error.
pub fn stated_and_real_defaults<C>() -> Result<(String, String)>
where
    C: JsonSchema + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let schema = config_schema::<C>();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut stated = serde_json::Map::new();
    for (key, property) in schema["properties"].as_object().into_iter().flatten() {
        match property.get("default") {
            Some(default) => {
                stated.insert(key.clone(), default.clone());
            }
            None if required.contains(&key.as_str()) => {}
            None => {
                return Err(Error::invalid_config(
                    Some(key),
                    "the schema states no default for this optional key: give it \
                     #[serde(default …)] and make its type Serialize",
                ));
            }
        }
    }
    let stated: C = parse_config(&Value::Object(stated).to_string())?;
    let real: C = parse_config("{}")?;
    Ok((format!("{stated:?}"), format!("{real:?}")))
}

/// schemars derives a unit enum whose variants have doc comments as a `oneOf` of one `const`
/// per variant. On a wrong value the host's validator then says only that no branch matched;
/// as an `enum` it names the allowed values. The variants' descriptions are kept, appended to
/// the key's own as "`value`: what it does".
#[derive(Clone)]
struct ValuesAsEnum;

impl Transform for ValuesAsEnum {
    fn transform(&mut self, schema: &mut Schema) {
        transform_subschemas(self, schema);
        let Some(Value::Array(branches)) = schema.get("oneOf") else {
            return;
        };
        let Some(values) = branches
            .iter()
            .map(string_const)
            .collect::<Option<Vec<_>>>()
        else {
            return;
        };
        let meanings: Vec<String> = values
            .iter()
            .filter_map(|(value, meaning)| Some(format!("`{value}`: {}", meaning.as_ref()?)))
            .collect();
        let names: Vec<Value> = values.into_iter().map(|(v, _)| v.into()).collect();
        schema.remove("oneOf");
        schema.insert("type".into(), "string".into());
        schema.insert("enum".into(), names.into());
        if !meanings.is_empty() {
            let own = schema.get("description").and_then(Value::as_str);
            let text = own.into_iter().chain(meanings.iter().map(String::as_str));
            let text: Vec<&str> = text.collect();
            schema.insert("description".into(), text.join(" ").into());
        }
    }
}

/// A `oneOf` branch that is one string value and at most its description: the value and the
/// description, else None.
fn string_const(branch: &Value) -> Option<(String, Option<String>)> {
    let branch = branch.as_object()?;
    let value = branch.get("const")?.as_str()?.to_owned();
    let only_known = branch
        .keys()
        .all(|k| matches!(k.as_str(), "const" | "type" | "description"));
    let described = branch.get("description").and_then(Value::as_str);
    only_known.then(|| (value, described.map(str::to_owned)))
}

/// Doc comments are wrapped at the source's line width; `ferry plugins describe` prints the
/// schema as JSON, where each line break would show as `\n`.
#[derive(Clone)]
struct OneLineDescriptions;

impl Transform for OneLineDescriptions {
    fn transform(&mut self, schema: &mut Schema) {
        transform_subschemas(self, schema);
        if let Some(Value::String(text)) = schema.get_mut("description") {
            *text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    /// How it ends.
    #[derive(Debug, Deserialize, Serialize, JsonSchema)]
    #[serde(rename_all = "kebab-case")]
    enum Ending {
        /// Waits for a signal.
        Continuous,
        /// Ends by
        /// itself.
        AutoComplete,
    }

    // The fields are read only through `Debug`, by the defaults test.
    #[allow(dead_code)]
    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        /// A label,
        /// on two lines.
        #[serde(default = "label")]
        #[schemars(length(min = 1))]
        label: String,
        #[serde(default = "ending")]
        ending: Ending,
        #[serde(default)]
        note: Option<String>,
        /// Seconds.
        #[serde(default = "seconds")]
        #[schemars(range(min = 1, max = 60))]
        seconds: u32,
    }

    fn label() -> String {
        "src".into()
    }
    fn ending() -> Ending {
        Ending::Continuous
    }
    fn seconds() -> u32 {
        10
    }

    #[test]
    fn keys_read_in_one_place_with_defaults_descriptions_and_limits() {
        let schema = config_schema::<Sample>();
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert!(schema.get("$defs").is_none(), "{schema:#}");
        assert_eq!(schema["additionalProperties"], false);
        let p = &schema["properties"];
        assert_eq!(p["label"]["default"], "src");
        assert_eq!(p["label"]["description"], "A label, on two lines.");
        assert_eq!(p["label"]["minLength"], 1);
        assert_eq!(p["seconds"]["minimum"], 1);
        assert_eq!(p["seconds"]["maximum"], 60);
        assert_eq!(p["ending"]["default"], "continuous");
        assert_eq!(
            p["ending"]["enum"],
            serde_json::json!(["continuous", "auto-complete"])
        );
        assert_eq!(
            p["ending"]["description"],
            "How it ends. `continuous`: Waits for a signal. `auto-complete`: Ends by itself."
        );
        assert!(p["note"].get("default").is_some(), "{schema:#}");
    }

    #[test]
    fn the_hosts_validator_takes_the_schema_and_names_what_is_wrong() {
        let validator = jsonschema::validator_for(&config_schema::<Sample>()).unwrap();
        let errors = |config: serde_json::Value| -> Vec<String> {
            validator
                .iter_errors(&config)
                .map(|e| e.to_string())
                .collect()
        };
        assert!(errors(serde_json::json!({})).is_empty());
        assert!(errors(serde_json::json!({"ending": "auto-complete", "seconds": 60})).is_empty());
        let wrong = errors(serde_json::json!({"ending": "sometime"}));
        assert!(
            wrong.len() == 1 && wrong[0].contains("not one of \"continuous\" or \"auto-complete\""),
            "{wrong:?}"
        );
        assert_eq!(errors(serde_json::json!({"seconds": 0})).len(), 1);
        assert_eq!(errors(serde_json::json!({"label": ""})).len(), 1);
        assert_eq!(errors(serde_json::json!({"lable": "src"})).len(), 1);
    }

    #[test]
    fn stated_defaults_are_the_real_ones() {
        let (stated, real) = stated_and_real_defaults::<Sample>().unwrap();
        assert_eq!(stated, real);
    }

    #[test]
    fn an_optional_key_without_a_stated_default_is_named() {
        /// Not `Serialize`: schemars cannot state its default.
        #[derive(Debug, Default, Deserialize, JsonSchema)]
        enum Opaque {
            #[default]
            One,
        }
        #[derive(Debug, Deserialize, JsonSchema)]
        struct Silent {
            #[serde(default)]
            #[allow(dead_code)]
            opaque: Opaque,
        }
        let err = stated_and_real_defaults::<Silent>().unwrap_err();
        assert!(err.describe().contains("opaque"), "{}", err.describe());
    }
}
