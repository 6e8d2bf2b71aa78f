use ferry_sdk::fake::{FakeHost, result_set};
use ferry_sdk::{Error, ObjectStatus, SqlValue};
use serde_json::json;
use ticket_gate::TicketGate;

fn ticket(status: &str) -> ferry_sdk::QueryResult {
    result_set(
        &["status", "ticket_id"],
        vec![vec![
            SqlValue::Text(status.into()),
            SqlValue::Text("CHG-42".into()),
        ]],
    )
}

#[test]
fn waits_until_the_ticket_is_approved() {
    let mut looks = 0;
    let mut host = FakeHost::new().on_query(move |label, sql, params| {
        assert_eq!(label, "change-db");
        assert!(sql.contains("change_tickets"));
        assert_eq!(params[0].name, "db");
        looks += 1;
        Ok(ticket(if looks < 3 { "pending" } else { "approved" }))
    });
    let out = host
        .run_item::<TicketGate>(
            json!({"tickets": "change-db", "poll_seconds": 30}),
            "SalesDb",
        )
        .unwrap();
    assert_eq!(out["ticket"], "CHG-42");
    assert_eq!(out["looks"], 3);
    assert_eq!(host.waits.len(), 2);
    assert_eq!(host.waits[0].1, "30000 ms");
    assert_eq!(host.rows.len(), 1);
    assert_eq!(host.rows[0].status, ObjectStatus::Passed);
    assert!(host.executed.is_empty(), "the gate only reads");
}

#[test]
fn a_rejected_ticket_stops_the_database() {
    let mut host = FakeHost::new().on_query(|_, _, _| Ok(ticket("rejected")));
    let err = host
        .run_item::<TicketGate>(json!({}), "SalesDb")
        .unwrap_err();
    assert!(matches!(err, Error::Failed(_)), "{err:?}");
    assert_eq!(host.rows[0].status, ObjectStatus::Blocked);
    assert_eq!(host.rows[0].reason_code.as_deref(), Some("ticket-rejected"));
}

#[test]
fn a_plan_reports_without_waiting() {
    let mut host = FakeHost::new().on_query(|_, _, _| Ok(ticket("pending")));
    host.planning = true;
    let out = host.run_item::<TicketGate>(json!({}), "SalesDb").unwrap();
    assert_eq!(out["planned"], true);
    assert!(host.waits.is_empty());
    assert_eq!(host.rows[0].status, ObjectStatus::Blocked);
}

#[test]
fn unknown_config_keys_are_refused() {
    let mut host = FakeHost::new().on_query(|_, _, _| Ok(ticket("approved")));
    let err = host
        .run_item::<TicketGate>(json!({"ticket": "x"}), "SalesDb")
        .unwrap_err();
    assert!(matches!(err, Error::InvalidConfig(_)), "{err:?}");
}

#[test]
fn a_ticket_nobody_approves_fails_when_the_gate_gives_up() {
    // A fake clock: each wait moves it on, so three hours pass in no time.
    let mut host = FakeHost::new()
        .clock(1_700_000_000_000)
        .on_query(|_, _, _| Ok(ticket("pending")));
    let config = json!({"poll_seconds": 3600, "give_up_hours": 2});
    let err = host.run_item::<TicketGate>(config, "SalesDb").unwrap_err();
    assert!(matches!(err, Error::Failed(_)), "{err:?}");
    // Looks at 0, 1 and 2 hours wait; the look at 3 hours is past the limit.
    assert_eq!(host.waits.len(), 3);
    assert_eq!(host.rows[0].reason_code.as_deref(), Some("ticket-timeout"));
}
