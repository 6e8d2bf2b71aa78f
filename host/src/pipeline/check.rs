//! `ferry check`: everything that can be known before a run. Each plugin's needs are granted,
//! each granted label exists, secret references resolve, and each step's config passes the
//! plugin's schema and its own `validate`.

use crate::bindings::describe_plugin_error;
use crate::capability::{Kind, grant_check};
use crate::config::InputError;
use crate::pipeline::{Loaded, need_labels};
use crate::runtime::StepFailure;

/// Problems (the run would fail) and warnings (worth a look).
#[derive(Debug, Default)]
pub struct CheckReport {
    pub problems: Vec<InputError>,
    pub warnings: Vec<InputError>,
}

/// Every string at the top level of a step's config: the labels it may name.
fn config_labels(config: &serde_json::Value) -> Vec<String> {
    // Nested tables count too: a map of objects to secret labels (`[steps.config.secrets]`).
    match config {
        serde_json::Value::Object(m) => m
            .values()
            .flat_map(|v| match v {
                serde_json::Value::String(s) => vec![s.clone()],
                serde_json::Value::Object(_) => config_labels(v),
                _ => Vec::new(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Checks a loaded migration without running anything.
pub async fn check(l: &Loaded) -> CheckReport {
    let mut report = CheckReport::default();
    let mfile = &l.migration.path;
    let efile = &l.env.path;
    for step in &l.migration.steps {
        let Some(plugin) = l.plugins.get(&step.plugin) else {
            continue;
        };
        let at = |msg: String| {
            InputError::new(
                mfile,
                Some(step.line),
                format!("step `{}`: {msg}", step.name),
            )
        };

        // A plugin declares its needs under default label names; the step's config may point
        // a need elsewhere (`source = "sql01"`), through the key its schema declares for the
        // need (need_labels). This check is ahead-of-time help only: every host call is still
        // checked against the grants by the label it names.
        let configured = config_labels(&step.config);
        let schema: Result<serde_json::Value, _> = serde_json::from_str(&plugin.info.config_schema);
        let resolved = need_labels::resolve(
            &plugin.info.needs,
            schema.as_ref().unwrap_or(&serde_json::Value::Null),
            &step.config,
        );
        for (need, r) in plugin.info.needs.iter().zip(&resolved) {
            let (kind, access, label) = (r.kind, r.access, r.label.as_str());
            let granted =
                |label: &str| grant_check(&step.grants, &step.name, kind, label, access).is_ok();
            // Without a declared key, a config key that is not the need's name (`azure =
            // "mi-prod"` for the need `mi`) is matched by a configured label granted for the
            // same kind and access.
            let remapped = !r.declared
                && r.key.is_none()
                && !granted(label)
                && configured.iter().any(|c| granted(c));
            if !granted(label) && !remapped {
                let fix = if kind == Kind::Scratch {
                    "set `scratch = true` under [steps.grants]".to_owned()
                } else {
                    let suffix = match access {
                        crate::capability::Access::Read if kind != Kind::Secret => ":read",
                        crate::capability::Access::Reveal => ":reveal",
                        _ => "",
                    };
                    format!(
                        "add \"{label}{suffix}\" to `{} = [...]` under [steps.grants]",
                        kind.grant_key()
                    )
                };
                let configured_as = match &r.key {
                    Some(key) => format!(" (its `{key}` in the step's config)"),
                    None => String::new(),
                };
                report.problems.push(at(format!(
                    "plugin `{}` needs {} `{label}`{configured_as} with {} access ({}); {fix}",
                    plugin.info.name,
                    kind.grant_key(),
                    access,
                    need.why
                )));
            }
        }
        wider_than_needed(&mut report, l, step, &plugin.info.name, &resolved);

        for kind in [Kind::Sql, Kind::Storage, Kind::Azure, Kind::Secret] {
            let labels = l.env.labels(kind);
            for g in step.grants.of(kind) {
                if !labels.contains(&g.label) {
                    let where_ = if l.env_found {
                        format!("{} has no", efile.display())
                    } else {
                        format!("there is no {} to define", efile.display())
                    };
                    let section = if kind == Kind::Secret {
                        format!("[secrets] entry `{}`", g.label)
                    } else {
                        format!("[{}.{}]", kind.grant_key(), g.label)
                    };
                    let defined = if labels.is_empty() {
                        "none".to_owned()
                    } else {
                        labels.join(", ")
                    };
                    report.problems.push(InputError::new(mfile, Some(g.line), format!(
                        "step `{}` grants {} label `{}`, but {where_} {section} (defined: {defined})",
                        step.name, kind.grant_key(), g.label
                    )));
                }
                let declared = plugin
                    .info
                    .needs
                    .iter()
                    .any(|n| Kind::from(n.kind) == kind && n.label == g.label)
                    || resolved
                        .iter()
                        .any(|r| r.kind == kind && r.label == g.label);
                if !declared && !configured.contains(&g.label) {
                    report.warnings.push(InputError::new(mfile, Some(g.line), format!(
                        "step `{}` grants {} label `{}`, which plugin `{}` does not declare it needs",
                        step.name, kind.grant_key(), g.label, plugin.info.name
                    )));
                }
            }
        }

        for (what, r) in l.env.secret_refs_for(&step.grants) {
            if let Err(e) = r.resolve() {
                report
                    .problems
                    .push(InputError::new(efile, None, format!("{what}: {e}")));
            }
        }

        // A config the schema refuses is not handed to the plugin's `validate`: its serde
        // would refuse the same key again, and each mistake is reported once.
        if !check_schema(&mut report, l, step, plugin, schema.as_ref()) {
            continue;
        }
        match l
            .runtime
            .validate(plugin, &step.name, &step.config.to_string())
            .await
        {
            Ok(warnings) => {
                for w in warnings {
                    let key = w.key.map(|k| format!(" `{k}`")).unwrap_or_default();
                    report
                        .warnings
                        .push(at(format!("config{key}: {}", w.message)));
                }
            }
            Err(StepFailure::Plugin(e)) => report.problems.push(at(describe_plugin_error(&e))),
            Err(e) => report.problems.push(at(format!(
                "plugin `{}` failed to validate the config: {}",
                plugin.info.name,
                e.message()
            ))),
        }
    }
    report
        .problems
        .dedup_by(|a, b| a.to_string() == b.to_string());
    report
}

/// A warning for each grant that allows more than the plugin asks for on its label: a plugin
/// that needs only to read `tickets` should be granted `tickets:read`, so that it cannot
/// change anything there whatever it does (the grant, not the plugin's word, is what holds).
fn wider_than_needed(
    report: &mut CheckReport,
    l: &Loaded,
    step: &crate::config::Step,
    plugin: &str,
    resolved: &[need_labels::ResolvedNeed],
) {
    for kind in [Kind::Sql, Kind::Storage, Kind::Azure, Kind::Secret] {
        for g in step.grants.of(kind) {
            let needed = resolved
                .iter()
                .filter(|r| r.kind == kind && r.label == g.label)
                .map(|r| r.access)
                .max();
            let Some(needed) = needed else { continue };
            if g.access > needed {
                let narrower = match (kind, needed) {
                    (Kind::Secret, _) => format!("\"{}\"", g.label),
                    (_, crate::capability::Access::Read) => format!("\"{}:read\"", g.label),
                    _ => continue,
                };
                report.warnings.push(InputError::new(
                    &l.migration.path,
                    Some(g.line),
                    format!(
                        "step `{}` grants {} `{}` with {} access, but plugin `{plugin}` needs only \
                         {needed} access there; grant {narrower} so it cannot do more",
                        step.name,
                        kind.grant_key(),
                        g.label,
                        g.access
                    ),
                ));
            }
        }
    }
}

/// Checks a step's config against its plugin's schema; false when the schema refuses it (a
/// schema that cannot be used is reported, and leaves the config to the plugin's `validate`).
fn check_schema(
    report: &mut CheckReport,
    l: &Loaded,
    step: &crate::config::Step,
    plugin: &crate::runtime::plugin::LoadedPlugin,
    schema: Result<&serde_json::Value, &serde_json::Error>,
) -> bool {
    let at = |msg: String| {
        InputError::new(
            &l.migration.path,
            Some(step.line),
            format!("step `{}`: {msg}", step.name),
        )
    };
    let schema = match schema {
        Ok(s) => s,
        Err(e) => {
            report.problems.push(at(format!("plugin `{}` publishes a config schema that is not JSON ({e}); report this to its author", plugin.info.name)));
            return true;
        }
    };
    let validator = match jsonschema::validator_for(schema) {
        Ok(v) => v,
        Err(e) => {
            report.problems.push(at(format!(
                "plugin `{}` publishes an invalid config schema ({e}); report this to its author",
                plugin.info.name
            )));
            return true;
        }
    };
    let before = report.problems.len();
    for err in validator.iter_errors(&step.config) {
        let path = err.instance_path().to_string();
        let key = path.trim_start_matches('/').replace('/', ".");
        let key = if key.is_empty() {
            "config".to_owned()
        } else {
            format!("config.{key}")
        };
        report.problems.push(at(format!("`{key}`: {err}")));
    }
    report.problems.len() == before
}
