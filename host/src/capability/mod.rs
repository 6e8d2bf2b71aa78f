//! Capability kinds, access levels and the one grant check every host call goes through.
//! The allow/deny table at the bottom is the specification.

mod kind;

pub use kind::{Access, Kind};

use crate::bindings::ferry::plugin::types as wit;
use crate::config::{Grant, Grants};

/// Checks one use of a capability against a step's grants. On refusal, the error names the
/// label, the step, and the grant that would allow it.
pub fn grant_check(
    grants: &Grants,
    step: &str,
    kind: Kind,
    label: &str,
    needed: Access,
) -> Result<(), wit::PluginError> {
    let deny = |reason: String| {
        Err(wit::PluginError::Denied(wit::Denial {
            kind: kind.into(),
            label: label.to_owned(),
            reason,
        }))
    };
    if kind == Kind::Scratch {
        return if grants.scratch {
            Ok(())
        } else {
            deny(format!(
                "step `{step}` has no scratch directory; set `scratch = true` in its grants"
            ))
        };
    }
    match grants.of(kind).iter().find(|g: &&Grant| g.label == label) {
        Some(g) if g.access.covers(needed) => Ok(()),
        Some(g) => deny(format!(
            "step `{step}` was granted {} label `{label}` with {} access, but this needs {needed}; grant `\"{label}:{needed}\"` if that is intended",
            kind.grant_key(),
            g.access
        )),
        None => deny(format!(
            "step `{step}` was not granted {} label `{label}`; add it to `{} = [...]` under the step's [steps.grants] if the plugin should have it",
            kind.grant_key(),
            kind.grant_key()
        )),
    }
}

/// What a `query` does, as the read-only classifier reads its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryUse {
    /// Only reads: a read grant covers it.
    Reads,
    /// May change the server: it needed, and has, a write grant.
    Changes,
}

/// The grant check for a `query` through SQL label `label`. A read grant covers only text that
/// reads ([`ferry_tsql::read_only`], the same classifier in `ferry plan` and `ferry apply`);
/// anything else needs a write grant, and the refusal names the statement kind. The SQL login's
/// own permissions stay the real boundary: this is the second fence.
pub fn query_check(
    grants: &Grants,
    step: &str,
    label: &str,
    statement: &str,
) -> Result<QueryUse, wit::PluginError> {
    grant_check(grants, step, Kind::Sql, label, Access::Read)?;
    let Err(refusal) = ferry_tsql::read_only::check(statement) else {
        return Ok(QueryUse::Reads);
    };
    match grant_check(grants, step, Kind::Sql, label, Access::Write) {
        Ok(()) => Ok(QueryUse::Changes),
        Err(_) => Err(wit::PluginError::Denied(wit::Denial {
            kind: Kind::Sql.into(),
            label: label.to_owned(),
            reason: format!(
                "step `{step}` may only read through sql label `{label}`, and this query is \
                 {refusal}, which can change the server; nothing was sent. A read is SELECT \
                 (without INTO), WITH … SELECT, DECLARE, SET of a variable or a session option, \
                 PRINT, control of flow, RESTORE HEADERONLY/FILELISTONLY/LABELONLY/VERIFYONLY and \
                 system procedures that report (sp_help…, sp_who, xp_msver). Grant \
                 `\"{label}:write\"` only if the step should change that server"
            ),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Access::*;
    use Kind::*;

    fn grants() -> Grants {
        let g = |label: &str, access| Grant {
            label: label.into(),
            access,
            line: 1,
        };
        Grants {
            sql: vec![g("source", Read), g("target", Write)],
            storage: vec![g("backups", Read)],
            azure: vec![g("mi", Write)],
            secrets: vec![g("token", Read), g("sas", Reveal)],
            scratch: false,
            scripts: false,
        }
    }

    /// (kind, label, needed access, allowed?)
    const TABLE: &[(Kind, &str, Access, bool)] = &[
        (Sql, "source", Read, true),
        (Sql, "source", Write, false),
        (Sql, "target", Read, true),
        (Sql, "target", Write, true),
        (Sql, "elsewhere", Read, false),
        (Sql, "backups", Read, false), // a storage label is not a SQL label
        (Storage, "backups", Read, true),
        (Storage, "backups", Write, false),
        (Azure, "mi", Write, true),
        (Azure, "other-mi", Read, false),
        (Secret, "token", Read, true),
        (Secret, "token", Reveal, false),
        (Secret, "sas", Reveal, true),
        (Secret, "sas", Read, true),
        (Secret, "missing", Read, false),
        (Scratch, "scratch", Write, false),
    ];

    #[test]
    fn grant_table() {
        let g = grants();
        for &(kind, label, access, allowed) in TABLE {
            let got = grant_check(&g, "copy", kind, label, access);
            assert_eq!(got.is_ok(), allowed, "{kind:?} {label} {access:?}: {got:?}");
            if let Err(wit::PluginError::Denied(d)) = got {
                assert_eq!(d.label, label);
                assert!(
                    d.reason.contains(label) && d.reason.contains("copy"),
                    "{}",
                    d.reason
                );
            }
        }
    }

    #[test]
    fn scratch_needs_its_grant() {
        let mut g = grants();
        assert!(grant_check(&g, "s", Scratch, "scratch", Write).is_err());
        g.scratch = true;
        assert!(grant_check(&g, "s", Scratch, "scratch", Write).is_ok());
    }

    /// (label, statement, outcome): what a `query` may do under each grant. `source` is granted
    /// `read`, `target` `write`.
    const QUERY_TABLE: &[(&str, &str, Option<QueryUse>)] = &[
        (
            "source",
            "SELECT name FROM sys.databases",
            Some(QueryUse::Reads),
        ),
        (
            "source",
            "EXEC sp_helpsrvrolemember 'sysadmin'",
            Some(QueryUse::Reads),
        ),
        ("source", "DROP DATABASE Sales", None),
        ("source", "sp_addsrvrolemember 'evil', 'sysadmin'", None),
        ("source", "SELECT 1 AS [a]]b]; DROP TABLE t", None),
        ("source", "SELECT 'x' /* ' */; CHECKPOINT", None),
        ("elsewhere", "SELECT 1", None),
        ("target", "SELECT 1", Some(QueryUse::Reads)),
        ("target", "DROP DATABASE Sales", Some(QueryUse::Changes)),
    ];

    #[test]
    fn query_table() {
        let g = grants();
        for &(label, sql, expected) in QUERY_TABLE {
            let got = query_check(&g, "copy", label, sql);
            assert_eq!(
                got.as_ref().ok().copied(),
                expected,
                "{label} {sql}: {got:?}"
            );
            if let Err(wit::PluginError::Denied(d)) = got {
                assert_eq!(d.label, label);
                assert!(d.reason.contains(label), "{}", d.reason);
            }
        }
        let Err(wit::PluginError::Denied(d)) = query_check(&g, "copy", "source", "DROP DATABASE x")
        else {
            panic!("a read grant must refuse DROP DATABASE")
        };
        assert!(d.reason.contains("DROP DATABASE"), "{}", d.reason);
        assert!(d.reason.contains("nothing was sent"), "{}", d.reason);
    }
}
