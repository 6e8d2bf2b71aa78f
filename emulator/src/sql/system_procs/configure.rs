//! `sp_configure` and `RECONFIGURE` ("sp_configure (Transact-SQL)", "RECONFIGURE
//! (Transact-SQL)", "Server configuration options"): sp_configure lists or sets a value
//! (`sys.configurations.value`); RECONFIGURE installs the dynamic ones (`value_in_use`); the
//! others take effect when the server starts again. Advanced options are visible only with
//! `show advanced options` at 1; otherwise they are reported as not existing (15123).

use super::context::{Ctx, Def};
use crate::instance::Instance;
use crate::protocol::tokens::{Column, ServerMessage};
use crate::protocol::types::{SqlType, Value, int, text};
use crate::sql::outcome::Outcome;

pub(super) const ENTRIES: &[Def] =
    &[("sp_configure", &["configname", "configvalue"], sp_configure)];

/// The options sp_configure can see now: every basic one, and the advanced ones when
/// `show advanced options` is in use.
/// (name, minimum, maximum, config_value, run_value).
type Option5 = (String, i64, i64, i64, i64);

fn visible(inst: &mut Instance) -> Result<Vec<Option5>, ServerMessage> {
    let (_, rows) = inst.query(
        r#"SELECT name, CAST(minimum AS int), CAST(maximum AS int), CAST(value AS int), CAST(value_in_use AS int)
           FROM main."sys.configurations"
           WHERE is_advanced = 0 OR (SELECT CAST(value_in_use AS int) FROM main."sys.configurations" WHERE name = 'show advanced options') = 1
           ORDER BY name COLLATE NOCASE"#,
        &[],
    )?;
    Ok(rows
        .into_iter()
        .map(|r| (text(&r[0]), int(&r[1]), int(&r[2]), int(&r[3]), int(&r[4])))
        .collect())
}

fn columns() -> Vec<Column> {
    [
        ("name", SqlType::NVarChar(Some(35))),
        ("minimum", SqlType::Int),
        ("maximum", SqlType::Int),
        ("config_value", SqlType::Int),
        ("run_value", SqlType::Int),
    ]
    .iter()
    .map(|(n, t)| Column::new(n, *t))
    .collect()
}

fn row(o: &Option5) -> Vec<Value> {
    vec![
        Value::Text(o.0.clone()),
        Value::Int(o.1),
        Value::Int(o.2),
        Value::Int(o.3),
        Value::Int(o.4),
    ]
}

fn sp_configure(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let options = visible(c.inst)?;
    let Some(wanted) = c.p.raw_text("configname").map(|n| n.trim().to_owned()) else {
        return Ok(vec![Outcome::Rows {
            columns: columns(),
            rows: options.iter().map(row).collect(),
        }]);
    };
    // sp_configure matches a part of a name, unless the name is given whole.
    let lower = wanted.to_ascii_lowercase();
    let exact: Vec<_> = options
        .iter()
        .filter(|o| o.0.eq_ignore_ascii_case(&wanted))
        .collect();
    let partial: Vec<_> = options
        .iter()
        .filter(|o| o.0.to_ascii_lowercase().contains(&lower))
        .collect();
    let found = match (exact.as_slice(), partial.as_slice()) {
        ([one], _) | ([], [one]) => (*one).clone(),
        ([], []) => {
            return Err(ServerMessage::error(
                15123,
                16,
                format!(
                    "The configuration option '{wanted}' does not exist, or it may be an advanced option."
                ),
            ));
        }
        _ => {
            return Err(ServerMessage::error(
                15124,
                16,
                format!("The configuration option '{wanted}' is not unique."),
            ));
        }
    };
    let Some(value) = c.p.int("configvalue")? else {
        return Ok(vec![Outcome::Rows {
            columns: columns(),
            rows: vec![row(&found)],
        }]);
    };
    if value < found.1 || value > found.2 {
        return Err(ServerMessage::error(
            15129,
            16,
            format!(
                "'{value}' is not a valid value for configuration option '{}'.",
                found.0
            ),
        ));
    }
    c.write(
        "main",
        "sys.configurations",
        r#"UPDATE main."sys.configurations" SET value = ?2 WHERE name = ?1"#,
        &[Value::Text(found.0.clone()), Value::Int(value)],
    )?;
    Ok(vec![Outcome::Info(ServerMessage::info(
        15457,
        format!(
            "Configuration option '{}' changed from {} to {value}. Run the RECONFIGURE statement to install.",
            found.0, found.3
        ),
    ))])
}

/// RECONFIGURE [WITH OVERRIDE]: the dynamic options' values come into use. SQL Server refuses
/// `allow updates` = 1 (5808, even with OVERRIDE), and a recovery interval above 60 minutes
/// without OVERRIDE (5807). Not inside a user transaction (574).
pub(crate) fn reconfigure(
    inst: &mut Instance,
    spid: u16,
    with_override: bool,
) -> Result<(), ServerMessage> {
    if inst.transaction_count(spid) > 0 {
        return Err(ServerMessage::error(
            574,
            16,
            "CONFIG statement cannot be used inside a user transaction.",
        ));
    }
    let value = |inst: &mut Instance, name: &str| -> Result<i64, ServerMessage> {
        let (_, rows) = inst.query(
            r#"SELECT CAST(value AS int) FROM main."sys.configurations" WHERE name = ?1"#,
            &[Value::Text(name.to_owned())],
        )?;
        Ok(rows.first().map_or(0, |r| int(&r[0])))
    };
    if value(inst, "allow updates")? == 1 {
        return Err(ServerMessage::error(
            5808,
            16,
            "Ad hoc update to system catalogs is not supported.",
        ));
    }
    if !with_override && value(inst, "recovery interval (min)")? > 60 {
        return Err(ServerMessage::error(
            5807,
            16,
            "Recovery intervals above 60 minutes not recommended. Use the RECONFIGURE WITH OVERRIDE statement to force this configuration.",
        ));
    }
    inst.before_write("main", "sys.configurations")?;
    inst.execute(
        r#"UPDATE main."sys.configurations" SET value_in_use = value WHERE is_dynamic = 1"#,
        &[],
    )?;
    Ok(())
}
