//! Background operations (an MI's RESTORE … FROM URL) driven over virtual time, and picked up
//! again where they were when the server starts after a stop.

use std::time::Duration;

use super::shared::Shared;
use crate::instance::{OperationProgress, OperationStart};

/// Real time between progress updates of a running operation.
const TICK: Duration = Duration::from_millis(50);

/// How long a restore of `size` bytes takes in virtual time: 10 seconds plus one per 100 MiB
/// (a guess at a small MI's pace), unless the control API set a duration.
fn duration(s: &Shared, size: u64) -> Duration {
    let guess =
        Duration::from_secs(10) + Duration::from_secs_f64(size as f64 / (100.0 * 1_048_576.0));
    s.restore_time.lock().unwrap_or(guess)
}

/// Drives `op` to completion, writing its progress every tick. `resumed` is where an
/// operation found in the catalog at start stood when its server stopped: it goes on from
/// there, and the time the server was down does not count (a stopped server does no work; the
/// documents say only that MI retries a restore in the background, methods.md §4.4).
pub(super) async fn run_operation(
    s: &Shared,
    op: OperationStart,
    resumed: Option<OperationProgress>,
) {
    let before = match resumed {
        Some(p) => p,
        None => {
            let p = OperationProgress {
                total: duration(s, op.size),
                elapsed: Duration::ZERO,
            };
            if s.with_instance(|i| i.operation_begin(&op, &p)).is_err() {
                return;
            }
            p
        }
    };
    let start = s.clock.now();
    loop {
        let elapsed = before.elapsed + s.clock.now().duration_since(start).unwrap_or_default();
        let total = before.total;
        let fraction = (elapsed.as_secs_f64() / total.as_secs_f64().max(0.001)).min(1.0);
        let now = crate::protocol::types::now_text();
        let finished = s.with_instance(|inst| {
            if fraction >= 1.0 {
                inst.operation_done(&op, &now);
                return true;
            }
            let progress = OperationProgress { total, elapsed };
            inst.operation_progress(&op, fraction, &progress, &now);
            false
        });
        if finished != Ok(false) {
            return;
        }
        tokio::time::sleep(TICK).await;
    }
}
