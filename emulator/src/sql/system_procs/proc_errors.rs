//! The errors msdb's procedures raise, with SQL Server's numbers, severities and texts
//! ("Database engine events and errors 14000 to 14999", "… 41400 to 49999").

use crate::protocol::tokens::ServerMessage;

fn e(number: i32, text: String) -> ServerMessage {
    ServerMessage::error(number, 16, text)
}

/// 14234: The specified '%s' is invalid (valid values are returned by %s).
pub fn invalid_see(param: &str, proc_name: &str) -> ServerMessage {
    e(
        14234,
        format!("The specified '{param}' is invalid (valid values are returned by {proc_name})."),
    )
}

/// 14235: The specified '%s' is invalid (valid values are greater than 0 but excluding %ld).
pub fn invalid_step_ref(param: &str, step: i64) -> ServerMessage {
    e(
        14235,
        format!(
            "The specified '{param}' is invalid (valid values are greater than 0 but excluding {step})."
        ),
    )
}

/// 14261: The specified %s ('%s') already exists.
pub fn exists(param: &str, value: &str) -> ServerMessage {
    e(
        14261,
        format!("The specified {param} ('{value}') already exists."),
    )
}

/// 14262: The specified %s ('%s') does not exist.
pub fn missing(param: &str, value: &str) -> ServerMessage {
    e(
        14262,
        format!("The specified {param} ('{value}') does not exist."),
    )
}

/// 14266: The specified '%s' is invalid (valid values are: %s).
pub fn invalid(param: &str, valid: &str) -> ServerMessage {
    e(
        14266,
        format!("The specified '{param}' is invalid (valid values are: {valid})."),
    )
}

/// 14200: The specified '%s' is invalid.
pub fn invalid_plain(param: &str) -> ServerMessage {
    e(14200, format!("The specified '{param}' is invalid."))
}

/// 14278: The schedule for this job is invalid (reason: %s).
pub fn bad_schedule(reason: &str) -> ServerMessage {
    e(
        14278,
        format!("The schedule for this job is invalid (reason: {reason})."),
    )
}

/// 14294 / 14373 / 14524: supply one identifier or the other.
pub fn supply_either(number: i32, a: &str, b: &str, what: &str) -> ServerMessage {
    let text = match number {
        14294 => format!("Supply either {a} or {b} to identify the job."),
        14373 => format!("Supply either {a} or {b} to identify the schedule."),
        _ => format!("Supply either {a} or {b}.{what}"),
    };
    e(number, text)
}

/// 41914: SQL Server Agent feature %ls is not supported in SQL Database Managed Instance.
pub fn mi_agent_feature(feature: &str) -> ServerMessage {
    e(
        41914,
        format!(
            "SQL Server Agent feature {feature} is not supported in SQL Database Managed Instance. Review the documentation for supported options."
        ),
    )
}

/// 41905: Stored procedure %ls is not supported in SQL Database Managed Instance.
pub fn mi_procedure(name: &str) -> ServerMessage {
    e(
        41905,
        format!("Stored procedure {name} is not supported in SQL Database Managed Instance."),
    )
}

/// 41978: The parameters (%ls) are not supported for this stored procedure in SQL Database
/// Managed Instance.
pub fn mi_parameters(names: &str) -> ServerMessage {
    e(
        41978,
        format!(
            "The parameters ({names}) are not supported for this stored procedure in SQL Database Managed Instance. Review the documentation for supported parameters."
        ),
    )
}
