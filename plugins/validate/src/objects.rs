//! The object inventory, source against target (methods.md §6): user objects by name and their
//! counts by type (`sys.objects`, `is_ms_shipped = 0`), module text hashes
//! (`HASHBYTES('SHA2_256', definition)` from `sys.sql_modules`), indexes (`sys.indexes`),
//! constraints with `is_not_trusted`/`is_disabled` (`sys.foreign_keys`,
//! `sys.check_constraints`) and triggers (`sys.triggers`). Column names as the catalog views'
//! pages on learn.microsoft.com give them.

use std::collections::BTreeMap;

use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::quote_name;

use crate::compare::{Named, named, strict};
use crate::config::Config;
use crate::report::{Finding, Tally, emit_all};
use crate::sql::{CATALOG, Rows, Server, read};

fn objects_sql(d: &str) -> String {
    format!(
        "SELECT s.name AS schema_name, o.name AS object_name, o.type_desc \
         FROM {d}.sys.objects AS o JOIN {d}.sys.schemas AS s ON s.schema_id = o.schema_id \
         WHERE o.is_ms_shipped = 0"
    )
}

fn modules_sql(d: &str) -> String {
    format!(
        "SELECT s.name AS schema_name, o.name AS object_name, \
         HASHBYTES('SHA2_256', m.definition) AS definition_hash \
         FROM {d}.sys.sql_modules AS m JOIN {d}.sys.objects AS o ON o.object_id = m.object_id \
         JOIN {d}.sys.schemas AS s ON s.schema_id = o.schema_id WHERE o.is_ms_shipped = 0"
    )
}

fn indexes_sql(d: &str) -> String {
    format!(
        "SELECT s.name AS schema_name, o.name AS table_name, i.name AS index_name, i.type_desc, \
         i.is_unique, i.is_primary_key, i.is_disabled, i.has_filter \
         FROM {d}.sys.indexes AS i JOIN {d}.sys.objects AS o ON o.object_id = i.object_id \
         JOIN {d}.sys.schemas AS s ON s.schema_id = o.schema_id \
         WHERE o.is_ms_shipped = 0 AND i.index_id > 0"
    )
}

/// Foreign keys and check constraints alike: both views have these columns.
fn constraints_sql(d: &str, view: &str) -> String {
    format!(
        "SELECT s.name AS schema_name, o.name AS table_name, c.name AS constraint_name, \
         c.type_desc, c.is_disabled, c.is_not_trusted \
         FROM {d}.sys.{view} AS c JOIN {d}.sys.objects AS o ON o.object_id = c.parent_object_id \
         JOIN {d}.sys.schemas AS s ON s.schema_id = o.schema_id WHERE c.is_ms_shipped = 0"
    )
}

fn triggers_sql(d: &str) -> String {
    format!(
        "SELECT s.name AS schema_name, o.name AS table_name, tr.name AS trigger_name, \
         tr.is_disabled FROM {d}.sys.triggers AS tr \
         JOIN {d}.sys.objects AS o ON o.object_id = tr.parent_id \
         JOIN {d}.sys.schemas AS s ON s.schema_id = o.schema_id \
         WHERE tr.parent_class = 1 AND tr.is_ms_shipped = 0"
    )
}

fn on(flag: bool, yes: &str, no: &str) -> String {
    if flag { yes } else { no }.to_owned()
}

/// The catalog of one side, as maps for [`named`].
#[derive(Default)]
struct Inventory {
    objects: Named,
    counts: Named,
    modules: Named,
    indexes: Named,
    constraints: Named,
    triggers: Named,
    /// Constraint name → (schema, table), for the fix statement.
    constraint_tables: BTreeMap<String, (String, String)>,
}

fn read_side(cx: &mut Context<'_, Config>, server: Server, db: &str) -> Result<Inventory> {
    let d = quote_name(db);
    let mut inv = Inventory::default();
    let q = |cx: &mut Context<'_, Config>, what: &str, sql: String| -> Result<Rows> {
        read(cx, server, what, &sql, &[], CATALOG)
    };
    let objects = q(cx, "sys.objects", objects_sql(&d))?;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for r in objects.iter() {
        let name = format!("{}.{}", r.text("schema_name"), r.text("object_name"));
        *counts.entry(r.text("type_desc")).or_default() += 1;
        inv.objects.insert(name, r.text("type_desc"));
    }
    inv.counts = counts
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();
    for r in q(cx, "sys.sql_modules", modules_sql(&d))?.iter() {
        let hash = if r.is_null("definition_hash") {
            "no readable definition (WITH ENCRYPTION)".to_owned()
        } else {
            format!("SHA2_256 0x{}", r.text("definition_hash"))
        };
        inv.modules.insert(
            format!("{}.{}", r.text("schema_name"), r.text("object_name")),
            hash,
        );
    }
    for r in q(cx, "sys.indexes", indexes_sql(&d))?.iter() {
        let v = format!(
            "{}{}{}{}{}",
            r.text("type_desc"),
            on(r.flag("is_primary_key"), ", primary key", ""),
            on(r.flag("is_unique"), ", unique", ""),
            on(r.flag("has_filter"), ", filtered", ""),
            on(r.flag("is_disabled"), ", disabled", ""),
        );
        inv.indexes.insert(
            format!(
                "{}.{}.{}",
                r.text("schema_name"),
                r.text("table_name"),
                r.text("index_name")
            ),
            v,
        );
    }
    for view in ["foreign_keys", "check_constraints"] {
        for r in q(cx, &format!("sys.{view}"), constraints_sql(&d, view))?.iter() {
            let (schema, table) = (r.text("schema_name"), r.text("table_name"));
            let name = format!("{schema}.{table}.{}", r.text("constraint_name"));
            let v = format!(
                "{}, {}, {}",
                r.text("type_desc"),
                on(r.flag("is_not_trusted"), "not trusted", "trusted"),
                on(r.flag("is_disabled"), "disabled", "enabled"),
            );
            inv.constraints.insert(name.clone(), v);
            inv.constraint_tables.insert(name, (schema, table));
        }
    }
    for r in q(cx, "sys.triggers", triggers_sql(&d))?.iter() {
        inv.triggers.insert(
            format!(
                "{}.{}.{}",
                r.text("schema_name"),
                r.text("table_name"),
                r.text("trigger_name")
            ),
            on(r.flag("is_disabled"), "disabled", "enabled"),
        );
    }
    Ok(inv)
}

/// A constraint trusted (or enabled) on the source and not on the target: the statement that
/// checks the existing rows and makes it trusted and enabled again ("ALTER TABLE
/// (Transact-SQL)": WITH CHECK CHECK CONSTRAINT).
fn constraint_fix(f: &mut Finding, src: &Inventory, tgt: &Inventory) {
    let (Some(s), Some(t)) = (src.constraints.get(&f.name), tgt.constraints.get(&f.name)) else {
        return;
    };
    let lost_trust = s.contains(", trusted") && t.contains("not trusted");
    let disabled = s.ends_with("enabled") && t.ends_with("disabled");
    if !(lost_trust || disabled) {
        return;
    }
    let Some((schema, table)) = tgt.constraint_tables.get(&f.name) else {
        return;
    };
    let constraint = f.name.rsplit('.').next().unwrap_or_default();
    f.reason_code = if lost_trust {
        "constraint-not-trusted"
    } else {
        "constraint-disabled"
    }
    .into();
    f.notes = format!(
        "{} The optimizer ignores an untrusted constraint and a disabled one checks nothing. \
         Fix: ALTER TABLE {}.{} WITH CHECK CHECK CONSTRAINT {};",
        f.notes,
        quote_name(schema),
        quote_name(table),
        quote_name(constraint)
    );
}

pub fn run(cx: &mut Context<'_, Config>, tally: &mut Tally) -> Result<()> {
    let db = cx.item().to_owned();
    let target_db = cx.config().target_db(&db);
    let src = read_side(cx, Server::Source, &db)?;
    let tgt = read_side(cx, Server::Target, &target_db)?;
    let mut found = Vec::new();
    found.extend(named(
        "object-count",
        "object types",
        &src.counts,
        &tgt.counts,
        &strict,
    ));
    found.extend(named(
        "object",
        "objects",
        &src.objects,
        &tgt.objects,
        &strict,
    ));
    found.extend(named(
        "module",
        "module definitions",
        &src.modules,
        &tgt.modules,
        &strict,
    ));
    found.extend(named(
        "index",
        "indexes",
        &src.indexes,
        &tgt.indexes,
        &strict,
    ));
    let mut constraints = named(
        "constraint",
        "constraints",
        &src.constraints,
        &tgt.constraints,
        &strict,
    );
    for f in constraints
        .iter_mut()
        .filter(|f| f.reason_code == "different")
    {
        constraint_fix(f, &src, &tgt);
    }
    found.extend(constraints);
    found.extend(named(
        "trigger",
        "triggers",
        &src.triggers,
        &tgt.triggers,
        &strict,
    ));
    emit_all(cx, tally, found);
    Ok(())
}
