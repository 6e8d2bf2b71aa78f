//! msdb's sp_verify_schedule: the freq_* values of a schedule checked, defaulted and the
//! unused ones zeroed, with its errors and reasons (14266, 14278 with 14572 … 14577, 14287,
//! 14288, 14295) and the Managed Instance's refusal of CPU-idle schedules (41914).

use super::context::Ctx;
use super::proc_errors::{bad_schedule, invalid, mi_agent_feature};
use crate::protocol::tokens::ServerMessage;

pub(super) const FREQ: &[&str] = &[
    "enabled",
    "freq_type",
    "freq_interval",
    "freq_subday_type",
    "freq_subday_interval",
    "freq_relative_interval",
    "freq_recurrence_factor",
    "active_start_date",
    "active_end_date",
    "active_start_time",
    "active_end_time",
];

/// A schedule's values after sp_verify_schedule (defaults filled, unused ones zeroed), in
/// FREQ's order. `base` holds the values of the schedule being updated (sp_update_schedule
/// keeps what the call does not pass); a new schedule takes sp_add_schedule's defaults.
pub(super) fn verify(
    c: &Ctx<'_, '_>,
    default_freq_type: i64,
    base: Option<[i64; 11]>,
) -> Result<[i64; 11], ServerMessage> {
    let today = {
        let t = crate::protocol::types::now_text();
        t[..10].replace('-', "").parse().unwrap_or(20260101)
    };
    let d = base.unwrap_or([
        1,
        default_freq_type,
        0,
        0,
        0,
        0,
        0,
        today,
        99991231,
        0,
        235959,
    ]);
    let g = |i: usize| -> Result<i64, ServerMessage> { c.p.int_or(FREQ[i], d[i]) };
    let freq_type = g(1)?;
    if c.mi() && freq_type == 0x80 {
        // msdb on MI (sp_add_schedule, sp_update_schedule, sp_verify_schedule): "start when
        // the CPU is idle" is refused ("Job schedule trigger based on an idle CPU is not
        // supported").
        return Err(mi_agent_feature("Schedule job ONIDLE"));
    }
    let enabled = g(0)?;
    let mut interval = g(2)?;
    let mut subday_type = g(3)?;
    let mut subday_interval = g(4)?;
    let mut relative = g(5)?;
    let mut recurrence = g(6)?;
    // 0 means "the default" for the dates and the end time (sp_verify_schedule).
    let nonzero = |i: usize, dflt: i64| -> Result<i64, ServerMessage> {
        Ok(c.p
            .int(FREQ[i])?
            .filter(|v| *v != 0)
            .unwrap_or(if c.p.int(FREQ[i])?.is_some() {
                dflt
            } else {
                d[i]
            }))
    };
    let start_date = nonzero(7, today)?;
    let end_date = nonzero(8, 99991231)?;
    let start_time = g(9)?;
    let end_time = nonzero(10, 235959)?;
    if enabled != 0 && enabled != 1 {
        return Err(invalid("@enabled", "0, 1"));
    }
    if freq_type == 0x2 {
        return Err(ServerMessage::error(
            14295,
            16,
            "Frequency Type 0x2 (OnDemand) is no longer supported.",
        ));
    }
    if ![0x1, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80].contains(&freq_type) {
        return Err(invalid("@freq_type", "1, 4, 8, 16, 32, 64, 128"));
    }
    if subday_type != 0 && ![1, 2, 4, 8].contains(&subday_type) {
        return Err(invalid("@freq_subday_type", "0x1, 0x2, 0x4, 0x8"));
    }
    for (d, name) in [
        (end_date, "@active_end_date"),
        (start_date, "@active_start_date"),
    ] {
        if !(19900101..=99991231).contains(&d) || !valid_date(d) {
            return Err(invalid(name, "19900101..99991231"));
        }
    }
    if end_date < start_date {
        return Err(ServerMessage::error(
            14288,
            16,
            "@active_end_date cannot be before @active_start_date.",
        ));
    }
    for (t, name) in [
        (end_time, "@active_end_time"),
        (start_time, "@active_start_time"),
    ] {
        if !(0..=235959).contains(&t) {
            return Err(invalid(name, "000000..235959"));
        }
        for (part, v, max) in [
            ("hour", t / 10000, 23),
            ("minute", t / 100 % 100, 59),
            ("second", t % 100, 59),
        ] {
            if v > max {
                return Err(ServerMessage::error(
                    14287,
                    16,
                    format!("The '{name}' supplied has an invalid {part}."),
                ));
            }
        }
    }
    if start_time == end_time && [2, 4, 8].contains(&subday_type) {
        return Err(invalid(
            "@active_end_time",
            "before or after @active_start_time",
        ));
    }
    if [0x1, 0x40, 0x80].contains(&freq_type) {
        (interval, subday_type, subday_interval, relative, recurrence) = (0, 0, 0, 0, 0);
    } else {
        if subday_type == 0 {
            subday_type = 1;
        }
        if (subday_type != 1 && subday_interval < 1) || (subday_type == 2 && subday_interval < 10) {
            return Err(bad_schedule(
                "The specified '@freq_subday_interval' is invalid.",
            ));
        }
        match freq_type {
            0x4 => {
                recurrence = 0;
                if interval < 1 {
                    return Err(bad_schedule(
                        "@freq_interval must be at least 1 for a daily job.",
                    ));
                }
            }
            0x8 if !(1..=127).contains(&interval) => {
                return Err(bad_schedule(
                    "@freq_interval must be a valid day of the week bitmask [Sunday = 1 .. Saturday = 64] for a weekly job.",
                ));
            }
            0x10 if !(1..=31).contains(&interval) => {
                return Err(bad_schedule(
                    "@freq_interval must be between 1 and 31 for a monthly job.",
                ));
            }
            0x20 if ![1, 2, 4, 8, 16].contains(&relative) => {
                return Err(bad_schedule(
                    "@freq_relative_interval must be one of 1st (0x1), 2nd (0x2), 3rd [0x4], 4th (0x8) or Last (0x10).",
                ));
            }
            0x20 if !(1..=10).contains(&interval) => {
                return Err(bad_schedule(
                    "@freq_interval must be between 1 and 10 (1 = Sunday .. 7 = Saturday, 8 = Day, 9 = Weekday, 10 = Weekend-day) for a monthly-relative job.",
                ));
            }
            _ => {}
        }
        if [0x8, 0x10, 0x20].contains(&freq_type) && recurrence < 1 {
            return Err(bad_schedule("@freq_recurrence_factor must be at least 1."));
        }
    }
    Ok([
        enabled,
        freq_type,
        interval,
        subday_type,
        subday_interval,
        relative,
        recurrence,
        start_date,
        end_date,
        start_time,
        end_time,
    ])
}

pub(super) fn valid_date(d: i64) -> bool {
    let (y, m, day) = (d / 10000, d / 100 % 100, d % 100);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}
