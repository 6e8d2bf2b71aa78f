//! Named things compared source against target: missing, extra and changed ones are each a
//! finding, and the ones that match are one passing finding with their count.

use std::collections::BTreeMap;

use crate::report::{Finding, Verdict};

/// Name → what is compared about it (a type, a hash, flags), as text.
pub type Named = BTreeMap<String, String>;

/// A difference Managed Instance makes on purpose, explained: `Some(note)` turns a changed
/// value into [`Verdict::Expected`].
pub type Explain<'a> = &'a dyn Fn(&str, &str, &str) -> Option<String>;

/// Compares `source` with `target`. `kind` is the rows' object type; `plural` names the
/// things in the passing row; `explain` says which changed values Managed Instance makes on
/// purpose.
pub fn named(
    kind: &str,
    plural: &str,
    source: &Named,
    target: &Named,
    explain: Explain<'_>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut same = 0usize;
    for (name, s) in source {
        match target.get(name) {
            None => out.push(Finding::new(
                kind,
                name,
                Verdict::Differs,
                "missing-on-target",
                format!("On the source ({s}) and not on the target."),
            )),
            Some(t) if t == s => same += 1,
            Some(t) => out.push(match explain(name, s, t) {
                Some(note) => Finding::new(
                    kind,
                    name,
                    Verdict::Expected,
                    "expected-difference",
                    format!("Source: {s}; target: {t}. {note}"),
                ),
                None => Finding::new(
                    kind,
                    name,
                    Verdict::Differs,
                    "different",
                    format!("Source: {s}; target: {t}."),
                ),
            }),
        }
    }
    for (name, t) in target {
        if !source.contains_key(name) {
            out.push(Finding::new(
                kind,
                name,
                Verdict::Differs,
                "only-on-target",
                format!("On the target ({t}) and not on the source."),
            ));
        }
    }
    out.insert(
        0,
        Finding::new(
            kind,
            format!("({plural})"),
            Verdict::Same,
            "compared",
            format!(
                "{same} of {} {plural} on the source are the same on the target; {} on the target.",
                source.len(),
                target.len()
            ),
        ),
    );
    out
}

/// No difference is expected.
pub fn strict(_: &str, _: &str, _: &str) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pairs: &[(&str, &str)]) -> Named {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn missing_extra_and_changed_are_each_a_finding() {
        let s = m(&[("a", "1"), ("b", "2"), ("c", "3")]);
        let t = m(&[("a", "1"), ("b", "9"), ("d", "4")]);
        let f = named("object", "objects", &s, &t, &strict);
        assert_eq!(f[0].verdict, Verdict::Same);
        assert!(f[0].notes.starts_with("1 of 3 objects"), "{}", f[0].notes);
        let codes: Vec<(&str, &str)> = f[1..]
            .iter()
            .map(|x| (x.name.as_str(), x.reason_code.as_str()))
            .collect();
        assert_eq!(
            codes,
            [
                ("b", "different"),
                ("c", "missing-on-target"),
                ("d", "only-on-target")
            ]
        );
        let explained = named("property", "properties", &s, &t, &|n, _, _| {
            (n == "b").then(|| "MI does that.".to_owned())
        });
        assert_eq!(explained[1].verdict, Verdict::Expected);
        assert!(explained[1].notes.ends_with("MI does that."));
    }
}
