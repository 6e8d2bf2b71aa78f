//! SQL Agent operators (methods.md §5.4) and the operator categories they are filed under.
//! Managed Instance notifies by e-mail only ("SQL Agent job limitations in SQL Managed
//! Instance": pager and net send are not supported), so an operator keeps its name, its state
//! and its e-mail address; pager and net send addresses are dropped with a note.

use std::collections::BTreeMap;

use ferry_sdk::SqlConnection;
use ferry_sdk::prelude::*;

use crate::config::Config;
use crate::decision::{Decision, Statement, Verdict};
use crate::msdb::{self, Arg, Category, exec, is_builtin_category, text};
use crate::servers::Servers;
use crate::table::Table;

/// One row of `msdb.dbo.sysoperators`.
#[derive(Debug, Clone)]
pub struct Operator {
    pub id: i64,
    pub name: String,
    pub enabled: bool,
    pub email: String,
    pub pager: String,
    /// Days the pager is on duty (a bit per day); dropped with the pager.
    pub pager_days: i64,
    pub netsend: String,
    pub category_id: i64,
}

/// The operators of a server ("dbo.sysoperators (Transact-SQL)").
pub fn read(cx: &mut Context<'_, Config>, conn: SqlConnection) -> Result<Vec<Operator>> {
    let t = Table::read(
        cx,
        conn,
        "msdb.dbo.sysoperators",
        "SELECT id, name, enabled, email_address, pager_address, pager_days, netsend_address, \
         category_id FROM msdb.dbo.sysoperators",
        &[],
    )?;
    Ok(t.rows()
        .map(|r| Operator {
            id: r.int("id"),
            name: r.text("name"),
            enabled: r.flag("enabled"),
            email: r.text("email_address"),
            pager: r.text("pager_address"),
            pager_days: r.int("pager_days"),
            netsend: r.text("netsend_address"),
            category_id: r.int("category_id"),
        })
        .collect())
}

/// `sp_add_category`'s `@class` for a `category_class`.
fn class_name(class: i64) -> &'static str {
    match class {
        1 => "JOB",
        2 => "ALERT",
        _ => "OPERATOR",
    }
}

/// A decision per user-defined category of `class` the source has: made when the target
/// lacks it. Multi-server job categories are refused (Managed Instance has no MSX/TSX).
pub fn category_decisions(
    src: &BTreeMap<i64, Category>,
    dst: &BTreeMap<i64, Category>,
    class: i64,
) -> Vec<Decision> {
    let mut out = Vec::new();
    for (id, c) in src.iter().filter(|(_, c)| c.class == class) {
        if is_builtin_category(*id, c) {
            continue;
        }
        let verdict = if c.kind == 2 {
            Verdict::Refused {
                code: "multi-server",
                why: "a multi-server (MSX) category: Managed Instance has no multi-server \
                      administration"
                    .into(),
            }
        } else if dst
            .values()
            .any(|t| t.class == class && t.name.eq_ignore_ascii_case(&c.name))
        {
            Verdict::Unchanged
        } else {
            let kind = if class == 1 { "LOCAL" } else { "NONE" };
            Verdict::Create(vec![Statement::new(exec(
                "sp_add_category",
                &[
                    ("class", text(class_name(class))),
                    ("type", text(kind)),
                    ("name", text(&c.name)),
                ],
            ))])
        };
        out.push(Decision::new("agent-category", &c.name, verdict));
    }
    out
}

/// The category name to pass, when it is not the default one.
fn category_arg(cats: &BTreeMap<i64, Category>, id: i64) -> Option<String> {
    cats.get(&id)
        .filter(|c| !is_builtin_category(id, c))
        .map(|c| c.name.clone())
}

fn args(o: &Operator, category: Option<&str>) -> Vec<(&'static str, Arg)> {
    let mut a = vec![
        ("name", text(&o.name)),
        ("enabled", Arg::Int(i64::from(o.enabled))),
    ];
    if !o.email.is_empty() {
        a.push(("email_address", text(&o.email)));
    }
    if let Some(c) = category {
        a.push(("category_name", text(c)));
    }
    a
}

pub fn decide(cx: &mut Context<'_, Config>, s: Servers) -> Result<Vec<Decision>> {
    let cfg = cx.config().clone();
    let patterns = cfg.agent_operators.patterns();
    let src = read(cx, s.source)?;
    let dst = read(cx, s.target)?;
    let src_cats = msdb::categories(cx, s.source)?;
    let dst_cats = msdb::categories(cx, s.target)?;
    let mut out = category_decisions(&src_cats, &dst_cats, 3);
    for o in src.iter().filter(|o| patterns.admits(&o.name)) {
        let mut notes = Vec::new();
        if !o.pager.is_empty() {
            notes.push(format!(
                "pager `{}` dropped: Managed Instance notifies operators by e-mail only.",
                o.pager
            ));
        }
        if !o.netsend.is_empty() {
            notes.push(format!(
                "net send `{}` dropped: Managed Instance notifies operators by e-mail only.",
                o.netsend
            ));
        }
        if o.email.is_empty() {
            notes.push(
                "it has no e-mail address, so on the MI nothing can notify it: add one with \
                 msdb.dbo.sp_update_operator @email_address."
                    .into(),
            );
        }
        let category = category_arg(&src_cats, o.category_id);
        let verdict = match dst.iter().find(|t| t.name.eq_ignore_ascii_case(&o.name)) {
            None => Verdict::Create(vec![Statement::new(exec(
                "sp_add_operator",
                &args(o, category.as_deref()),
            ))]),
            Some(t) => {
                let mut what = Vec::new();
                if t.enabled != o.enabled {
                    what.push(format!(
                        "it is {} there",
                        if t.enabled { "enabled" } else { "disabled" }
                    ));
                }
                if !t.email.eq_ignore_ascii_case(&o.email) {
                    what.push(format!("its e-mail address there is `{}`", t.email));
                }
                let t_cat = category_arg(&dst_cats, t.category_id);
                if t_cat.as_deref().map(str::to_lowercase)
                    != category.as_deref().map(str::to_lowercase)
                {
                    what.push(format!(
                        "its category there is `{}`",
                        t_cat.as_deref().unwrap_or("[Uncategorized]")
                    ));
                }
                if what.is_empty() {
                    Verdict::Unchanged
                } else {
                    let mut a = args(o, Some(category.as_deref().unwrap_or("[Uncategorized]")));
                    if o.email.is_empty() {
                        a.push(("email_address", text("")));
                    }
                    Verdict::Conflict {
                        differs: what.join("; "),
                        replace: vec![Statement::new(exec("sp_update_operator", &a))],
                    }
                }
            }
        };
        let mut d = Decision::new("agent-operator", &o.name, verdict);
        d.notes = notes;
        out.push(d);
    }
    Ok(out)
}
