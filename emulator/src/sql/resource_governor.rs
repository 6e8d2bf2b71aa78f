//! Resource Governor statements read from tokens: CREATE / ALTER / DROP RESOURCE POOL and
//! WORKLOAD GROUP, and ALTER RESOURCE GOVERNOR, as their "(Transact-SQL)" pages give the
//! grammar. Resource Governor is supported on Managed Instance ("T-SQL differences between SQL
//! Server and Azure SQL Managed Instance" does not list it among the differences, and the
//! "CREATE RESOURCE POOL" page applies to Azure SQL Managed Instance); AFFINITY is not read.

use super::audit_target::{number, options};
use super::session::SessionView;
use crate::instance::{GroupOptions, Instance, PoolOptions};
use crate::protocol::tokens::ServerMessage;
use crate::syntax::{Token, near, syntax_error};

#[derive(Debug, Clone, PartialEq)]
pub enum RgDdl {
    CreatePool(String, PoolOptions),
    AlterPool(String, PoolOptions),
    DropPool(String),
    CreateGroup(String, GroupOptions, Option<String>),
    AlterGroup(String, GroupOptions, Option<String>),
    DropGroup(String),
    /// CLASSIFIER_FUNCTION = NULL (None) or a function's name.
    Classifier(Option<String>),
    /// RECONFIGURE (true) / DISABLE (false).
    Enable(bool),
    ResetStatistics,
}

type R<T> = Result<T, ServerMessage>;

/// A pool or group name. DEFAULT is a reserved word: the predefined `default` must be written
/// `[default]` or `"default"` ("ALTER RESOURCE POOL").
fn name_at(st: &[Token], i: usize) -> R<String> {
    match st.get(i) {
        Some(Token::Word(w)) if !w.eq_ignore_ascii_case("DEFAULT") => Ok(w.clone()),
        Some(Token::Quoted(w)) => Ok(w.clone()),
        _ => Err(near(&st[i.min(st.len())..])),
    }
}

fn end(st: &[Token], i: usize) -> R<()> {
    match st.get(i) {
        None => Ok(()),
        Some(t) => Err(syntax_error(&t.display())),
    }
}

/// A statement of this module, or None.
pub fn parse(st: &[Token]) -> Option<R<RgDdl>> {
    let verb = st.first()?;
    if !(verb.is("CREATE") || verb.is("ALTER") || verb.is("DROP")) {
        return None;
    }
    let (a, b) = (st.get(1)?, st.get(2)?);
    let kind = if a.is("RESOURCE") && b.is("POOL") {
        0
    } else if a.is("WORKLOAD") && b.is("GROUP") {
        1
    } else if verb.is("ALTER") && a.is("RESOURCE") && b.is("GOVERNOR") {
        return Some(governor(st));
    } else {
        return None;
    };
    Some(name_at(st, 3).and_then(|name| match (kind, verb) {
        (_, v) if v.is("DROP") => end(st, 4).map(|()| {
            if kind == 0 {
                RgDdl::DropPool(name)
            } else {
                RgDdl::DropGroup(name)
            }
        }),
        (0, v) => pool(st, name, v.is("CREATE")),
        (_, v) => group(st, name, v.is("CREATE")),
    }))
}

fn pool(st: &[Token], name: String, create: bool) -> R<RgDdl> {
    let mut i = 4;
    let with = st.get(i).is_some_and(|t| t.is("WITH"));
    if with {
        i += 1;
    }
    let mut o = PoolOptions::default();
    // "ALTER RESOURCE POOL": WITH is optional before the option list; CREATE needs it.
    if st.get(i).is_some() && (with || !create) {
        let (opts, after) = options(st, i)?;
        for (k, v) in opts {
            let n = Some(number(v)?);
            match k.as_str() {
                "MIN_CPU_PERCENT" => o.min_cpu_percent = n,
                "MAX_CPU_PERCENT" => o.max_cpu_percent = n,
                "CAP_CPU_PERCENT" => o.cap_cpu_percent = n,
                "MIN_MEMORY_PERCENT" => o.min_memory_percent = n,
                "MAX_MEMORY_PERCENT" => o.max_memory_percent = n,
                "MIN_IOPS_PER_VOLUME" => o.min_iops_per_volume = n,
                "MAX_IOPS_PER_VOLUME" => o.max_iops_per_volume = n,
                other => return Err(syntax_error(other)),
            }
        }
        i = after;
    } else if with || !create {
        // ALTER RESOURCE POOL's option list is not optional ("ALTER RESOURCE POOL").
        return Err(near(&st[i.min(st.len())..]));
    }
    end(st, i)?;
    Ok(if create {
        RgDdl::CreatePool(name, o)
    } else {
        RgDdl::AlterPool(name, o)
    })
}

fn group(st: &[Token], name: String, create: bool) -> R<RgDdl> {
    let mut i = 4;
    let mut o = GroupOptions::default();
    let with = st.get(i).is_some_and(|t| t.is("WITH"));
    if with {
        let (opts, after) = options(st, i + 1)?;
        for (k, v) in opts {
            if k == "IMPORTANCE" {
                o.importance = Some(match v {
                    [t] if t.is("LOW") => "Low",
                    [t] if t.is("MEDIUM") => "Medium",
                    [t] if t.is("HIGH") => "High",
                    _ => return Err(near(v)),
                });
                continue;
            }
            let n = Some(number(v)?);
            match k.as_str() {
                "REQUEST_MAX_MEMORY_GRANT_PERCENT" => o.request_max_memory_grant_percent = n,
                "REQUEST_MAX_CPU_TIME_SEC" => o.request_max_cpu_time_sec = n,
                "REQUEST_MEMORY_GRANT_TIMEOUT_SEC" => o.request_memory_grant_timeout_sec = n,
                "MAX_DOP" => o.max_dop = n,
                "GROUP_MAX_REQUESTS" => o.group_max_requests = n,
                other => return Err(syntax_error(other)),
            }
        }
        i = after;
    }
    let mut pool = None;
    if st.get(i).is_some_and(|t| t.is("USING")) {
        pool = Some(name_at(st, i + 1)?);
        i += 2;
    }
    end(st, i)?;
    if create {
        return Ok(RgDdl::CreateGroup(name, o, pool));
    }
    if !with && pool.is_none() {
        return Err(ServerMessage::error(
            10918,
            16,
            "ALTER WORKLOAD GROUP failed. Either a 'WITH' or 'USING' clause must be specified.",
        ));
    }
    Ok(RgDdl::AlterGroup(name, o, pool))
}

/// ALTER RESOURCE GOVERNOR { DISABLE | RECONFIGURE | RESET STATISTICS |
/// WITH ( CLASSIFIER_FUNCTION = { schema.function | NULL } ) }.
fn governor(st: &[Token]) -> R<RgDdl> {
    match &st[3..] {
        [t] if t.is("DISABLE") => Ok(RgDdl::Enable(false)),
        [t] if t.is("RECONFIGURE") => Ok(RgDdl::Enable(true)),
        [t, u] if t.is("RESET") && u.is("STATISTICS") => Ok(RgDdl::ResetStatistics),
        [t, ..] if t.is("WITH") => {
            let (opts, after) = options(st, 4)?;
            end(st, after)?;
            let mut classifier = None;
            for (k, v) in opts {
                if k != "CLASSIFIER_FUNCTION" {
                    // MAX_OUTSTANDING_IO_PER_VOLUME is not modelled.
                    return Err(syntax_error(&k));
                }
                classifier = Some(match v {
                    [t] if t.is("NULL") => None,
                    [s, dot, f] if dot.is_punct(".") => {
                        Some(format!("{}.{}", name_text(s)?, name_text(f)?))
                    }
                    [f] => Some(name_text(f)?),
                    _ => return Err(near(v)),
                });
            }
            classifier
                .map(RgDdl::Classifier)
                .ok_or_else(|| near(&st[after - 1..]))
        }
        rest => Err(near(rest)),
    }
}

fn name_text(t: &Token) -> R<String> {
    match t {
        Token::Word(w) | Token::Quoted(w) => Ok(w.clone()),
        x => Err(syntax_error(&x.display())),
    }
}

/// Managed Instance has no per-volume IOPS limits to give: its storage is managed by the
/// service. The "T-SQL differences" page is silent on these options, so the emulator takes
/// the stricter reading and refuses them with 40517, the Azure SQL engine's refusal of an
/// unsupported option.
fn check_iops_on_mi(o: &PoolOptions, mi: bool) -> R<()> {
    for (set, option) in [
        (o.min_iops_per_volume, "MIN_IOPS_PER_VOLUME"),
        (o.max_iops_per_volume, "MAX_IOPS_PER_VOLUME"),
    ] {
        if mi && set.is_some() {
            return Err(ServerMessage::error(
                40517,
                16,
                format!(
                    "Keyword or statement option '{option}' is not supported in this version of SQL Server."
                ),
            ));
        }
    }
    Ok(())
}

pub fn apply(d: &RgDdl, s: &SessionView<'_>, inst: &mut Instance) -> R<Vec<ServerMessage>> {
    let mi = s.personality.is_managed_instance();
    let governor = matches!(
        d,
        RgDdl::Classifier(_) | RgDdl::Enable(_) | RgDdl::ResetStatistics
    );
    // "ALTER RESOURCE GOVERNOR": it can't be used inside a user transaction (error 574).
    if governor && inst.in_transaction() {
        return Err(ServerMessage::error(
            574,
            16,
            "ALTER RESOURCE GOVERNOR statement cannot be used inside a user transaction.",
        ));
    }
    match d {
        RgDdl::CreatePool(name, o) => {
            check_iops_on_mi(o, mi)?;
            inst.create_resource_pool(name, o)?;
        }
        RgDdl::AlterPool(name, o) => {
            check_iops_on_mi(o, mi)?;
            inst.alter_resource_pool(name, o)?;
        }
        RgDdl::DropPool(name) => inst.drop_resource_pool(name)?,
        RgDdl::CreateGroup(name, o, pool) => {
            inst.create_workload_group(name, o, pool.as_deref())?
        }
        RgDdl::AlterGroup(name, o, pool) => inst.alter_workload_group(name, o, pool.as_deref())?,
        RgDdl::DropGroup(name) => inst.drop_workload_group(name)?,
        RgDdl::Classifier(None) => inst.clear_resource_governor_classifier()?,
        // The emulator has no user-defined functions, so a named classifier never exists in
        // master: SQL Server's error 10903 (severity 16).
        RgDdl::Classifier(Some(f)) => {
            return Err(ServerMessage::error(
                10903,
                16,
                format!(
                    "User-defined function '{f}' does not exist in master database, or the user does not have permission to access it."
                ),
            ));
        }
        RgDdl::Enable(on) => inst.set_resource_governor_enabled(*on)?,
        // The emulator keeps no Resource Governor statistics to reset.
        RgDdl::ResetStatistics => {}
    }
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::tokenize;

    fn p(sql: &str) -> R<RgDdl> {
        parse(&tokenize(sql).unwrap()).unwrap()
    }

    #[test]
    fn reads_the_statements() {
        let RgDdl::CreatePool(name, o) =
            p("CREATE RESOURCE POOL [reports] WITH (MAX_CPU_PERCENT = 40, MIN_MEMORY_PERCENT = 5)")
                .unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (name.as_str(), o.max_cpu_percent, o.min_memory_percent),
            ("reports", Some(40), Some(5))
        );
        assert!(
            matches!(p("ALTER RESOURCE POOL [default] (MAX_CPU_PERCENT = 90)"), Ok(RgDdl::AlterPool(n, _)) if n == "default")
        );
        assert!(p("ALTER RESOURCE POOL default (MAX_CPU_PERCENT = 90)").is_err());
        assert!(p("ALTER RESOURCE POOL p").is_err());
        let RgDdl::CreateGroup(_, o, pool) =
            p("CREATE WORKLOAD GROUP g WITH (IMPORTANCE = HIGH, MAX_DOP = 4) USING reports")
                .unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (o.importance, o.max_dop, pool.as_deref()),
            (Some("High"), Some(4), Some("reports"))
        );
        assert_eq!(p("ALTER WORKLOAD GROUP g").unwrap_err().number, 10918);
        assert_eq!(
            p("ALTER RESOURCE GOVERNOR WITH (CLASSIFIER_FUNCTION = dbo.f)").unwrap(),
            RgDdl::Classifier(Some("dbo.f".into()))
        );
        assert_eq!(
            p("ALTER RESOURCE GOVERNOR WITH (CLASSIFIER_FUNCTION = NULL)").unwrap(),
            RgDdl::Classifier(None)
        );
        assert_eq!(
            p("ALTER RESOURCE GOVERNOR RECONFIGURE").unwrap(),
            RgDdl::Enable(true)
        );
        assert!(p("CREATE RESOURCE POOL p WITH (AFFINITY SCHEDULER = AUTO)").is_err());
    }
}
