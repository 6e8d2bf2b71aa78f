//! A steady write workload on a server, for rehearsing a link under load: committed inserts
//! into one table through the server's own SQL path (so they land in the change log and the
//! link ships them), paced on the server's virtual clock. It stops on the first error (a
//! database that became a link's read-only secondary answers 3906) and reports how many rows
//! it committed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use crate::server::Server;

/// What a workload did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WorkloadReport {
    pub database: String,
    pub table: String,
    pub rows_committed: u64,
    /// The error that stopped it, as "Msg N: text".
    pub error: Option<String>,
}

struct Running {
    stop: Arc<AtomicBool>,
    committed: Arc<AtomicU64>,
    error: Arc<Mutex<Option<String>>>,
    database: String,
    table: String,
    task: tokio::task::JoinHandle<()>,
}

/// At most one workload per server.
#[derive(Default)]
pub struct Workload {
    running: Mutex<Option<Running>>,
}

fn bracket(name: &str) -> String {
    format!("[{}]", name.replace(']', "]]"))
}

impl Workload {
    /// Starts inserting `rows_per_second` rows (virtual time) into `database`.dbo.`table`,
    /// creating the table `(id INT NOT NULL, note NVARCHAR(100))` if it does not exist; an
    /// existing table must have those two columns. Replaces a workload already running.
    pub fn start(
        &self,
        server: Arc<Server>,
        database: &str,
        table: &str,
        rows_per_second: f64,
    ) -> Result<(), String> {
        if !(rows_per_second > 0.0 && rows_per_second.is_finite()) {
            return Err(format!(
                "rows_per_second must be a positive number, not {rows_per_second}"
            ));
        }
        if database.trim().is_empty() || table.trim().is_empty() {
            return Err("database and table must be named".into());
        }
        let target = format!("{}.dbo.{}", bracket(database), bracket(table));
        let create = format!(
            "IF OBJECT_ID(N'{db}.dbo.{t}') IS NULL CREATE TABLE {target} (id INT NOT NULL, note NVARCHAR(100))",
            db = database.replace('\'', "''"),
            t = table.replace('\'', "''"),
        );
        if let Err(e) = server.run_sql(&create) {
            // The IF may not be understood everywhere; a table already there is fine.
            if e.number != 2714 && !server_has_table(&server, &target) {
                return Err(format!(
                    "cannot create {target}: Msg {}: {}",
                    e.number, e.text
                ));
            }
        }
        if let Some(old) = self.running.lock().take() {
            old.stop.store(true, Ordering::SeqCst);
            old.task.abort();
        }
        let stop = Arc::new(AtomicBool::new(false));
        let committed = Arc::new(AtomicU64::new(0));
        let error = Arc::new(Mutex::new(None));
        let task = tokio::spawn(run(
            server,
            target,
            rows_per_second,
            stop.clone(),
            committed.clone(),
            error.clone(),
        ));
        *self.running.lock() = Some(Running {
            stop,
            committed,
            error,
            database: database.to_owned(),
            table: table.to_owned(),
            task,
        });
        Ok(())
    }

    /// Stops the workload once its insert in flight has committed; what it did, or None when
    /// none ran.
    pub async fn stop(&self) -> Option<WorkloadReport> {
        let r = self.running.lock().take()?;
        r.stop.store(true, Ordering::SeqCst);
        // The task checks the flag between inserts: waiting for it makes the count final.
        let _ = r.task.await;
        Some(WorkloadReport {
            database: r.database,
            table: r.table,
            rows_committed: r.committed.load(Ordering::SeqCst),
            error: r.error.lock().clone(),
        })
    }

    /// What the running workload did so far.
    pub fn report(&self) -> Option<WorkloadReport> {
        let g = self.running.lock();
        let r = g.as_ref()?;
        Some(WorkloadReport {
            database: r.database.clone(),
            table: r.table.clone(),
            rows_committed: r.committed.load(Ordering::SeqCst),
            error: r.error.lock().clone(),
        })
    }
}

fn server_has_table(server: &Server, target: &str) -> bool {
    server
        .run_sql(&format!("SELECT COUNT(*) FROM {target}"))
        .is_ok()
}

async fn run(
    server: Arc<Server>,
    target: String,
    rate: f64,
    stop: Arc<AtomicBool>,
    committed: Arc<AtomicU64>,
    error: Arc<Mutex<Option<String>>>,
) {
    let started = server.clock().now();
    while !stop.load(Ordering::SeqCst) {
        let elapsed = server
            .clock()
            .now()
            .duration_since(started)
            .unwrap_or_default();
        let due = (elapsed.as_secs_f64() * rate) as u64;
        while committed.load(Ordering::SeqCst) < due && !stop.load(Ordering::SeqCst) {
            let n = committed.load(Ordering::SeqCst) + 1;
            let sql = format!("INSERT INTO {target} (id, note) VALUES ({n}, N'workload row {n}')");
            match server.run_sql(&sql) {
                Ok(_) => {
                    committed.store(n, Ordering::SeqCst);
                }
                Err(e) => {
                    *error.lock() = Some(format!("Msg {}: {}", e.number, e.text));
                    return;
                }
            }
        }
        let pause = server
            .clock()
            .real(Duration::from_secs_f64(1.0 / rate))
            .clamp(Duration::from_millis(5), Duration::from_millis(100));
        tokio::time::sleep(pause).await;
    }
}
