//! Background operations (an MI's RESTORE … FROM URL) driven over virtual time, and picked up
//! again where they were when the server starts after a stop.
//!
//! A restore reads its blobs as it goes: each tick it reads the share of every stripe its
//! progress has reached, through the credential that covers the blob as it is then (methods.md
//! §4.4: the SAS is read for the whole restore), appending what it read to a staging file. A
//! read that fails ends the restore as MI ends it: FAILED in `sys.dm_operation_status`, and
//! 3201 then 3013 for a client still waiting.

use std::time::Duration;

use super::shared::Shared;
use crate::blob;
use crate::instance::{OperationProgress, OperationStart};
use crate::protocol::tokens::ServerMessage;

/// Real time between progress updates of a running operation.
const TICK: Duration = Duration::from_millis(50);

/// How long a restore of `size` bytes takes in virtual time: 10 seconds plus one per 100 MiB
/// (a guess at a small MI's pace), unless the control API set a duration.
fn duration(s: &Shared, size: u64) -> Duration {
    let guess =
        Duration::from_secs(10) + Duration::from_secs_f64(size as f64 / (100.0 * 1_048_576.0));
    s.restore_time.lock().unwrap_or(guess)
}

/// What a restore's end reports: its messages, or its errors; None when the server stopped
/// first. A stopped server answers nothing: its clients see their connections drop, as with a
/// SQL Server that goes down or an MI that fails over, and the restore carries on when the
/// server starts again.
pub(super) type OperationResult = Option<Result<Vec<ServerMessage>, Vec<ServerMessage>>>;

/// Reads what is due of every stripe: up to `fraction` of each blob.
async fn read_due(s: &Shared, op: &OperationStart, fraction: f64) -> Result<(), ServerMessage> {
    for (n, (url, size)) in op.devices.iter().enumerate() {
        let due = ((*size as f64) * fraction).ceil().min(*size as f64) as u64;
        let Ok((path, access)) = s.with_instance(|i| (i.staging_path(op, n), i.url_access(url)))
        else {
            return Ok(());
        };
        let have = std::fs::metadata(&path).map_or(0, |m| m.len());
        if due <= have {
            continue;
        }
        let (loc, sas) = access?;
        let bytes = blob::read_range(&loc, &sas, have..due)
            .await
            .map_err(|e| crate::instance::blob_error(url, e))?;
        use std::io::Write as _;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(&bytes))
            .map_err(|e| crate::instance::os_error(&path.display().to_string(), &e))?;
    }
    Ok(())
}

/// Drives `op` to completion, writing its progress every tick, and reports how it ended.
/// `resumed` is where an operation found in the catalog at start stood when its server
/// stopped: it goes on from there, and the time the server was down does not count (a
/// stopped server does no work; the documents say only that MI retries a restore in the
/// background, methods.md §4.4).
pub(super) async fn run_operation(
    s: &Shared,
    op: OperationStart,
    resumed: Option<OperationProgress>,
) -> OperationResult {
    let before = match resumed {
        Some(p) => p,
        None => {
            let p = OperationProgress {
                total: duration(s, op.size),
                elapsed: Duration::ZERO,
            };
            if s.with_instance(|i| i.operation_begin(&op, &p)).is_err() {
                return None;
            }
            p
        }
    };
    let user = "sa";
    let start = s.clock.now();
    loop {
        let elapsed = before.elapsed + s.clock.now().duration_since(start).unwrap_or_default();
        let total = before.total;
        let fraction = (elapsed.as_secs_f64() / total.as_secs_f64().max(0.001)).min(1.0);
        let now = crate::protocol::types::now_text();
        if let Err(e) = read_due(s, &op, fraction).await {
            let errors = vec![
                e,
                ServerMessage::error(3013, 16, "RESTORE DATABASE is terminating abnormally."),
            ];
            let _ = s.with_instance(|i| i.end_mi_restore(&op, errors.first(), &now));
            return Some(Err(errors));
        }
        let finished = s.with_instance(|inst| {
            if fraction >= 1.0 {
                return Some(inst.finish_mi_restore(&op, user, &now));
            }
            let progress = OperationProgress { total, elapsed };
            inst.operation_progress(&op, fraction, &progress, &now);
            None
        });
        match finished {
            Ok(Some(result)) => return Some(result),
            Ok(None) => {}
            Err(_) => return None,
        }
        tokio::time::sleep(TICK).await;
    }
}
