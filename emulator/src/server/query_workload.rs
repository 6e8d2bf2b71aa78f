//! The workload generator called directly, for tests in Rust that hold the [`Server`] (the
//! control API's `POST /query-workload` does the same over HTTP).

use super::Server;
use crate::instance::{QueryWorkload, WorkloadReport};

impl Server {
    /// Records `w` as run over its last `interval_minutes` (see `POST /query-workload`); an
    /// error says what is wrong with the workload, or that the server is stopped.
    pub fn run_query_workload(&self, w: &QueryWorkload) -> Result<Vec<WorkloadReport>, String> {
        let p = self.personality().clone();
        self.with_running_instance(|inst| inst.run_query_workload(w, &p))
            .map_err(|e| e.text)?
    }
}
