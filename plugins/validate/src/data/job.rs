//! A table's comparison as the state journals it, and what one step call may spend on it.

use serde::{Deserialize, Serialize};

use super::bisect::{Bisection, Cost};
use super::encode::Column;
use super::statements::TableRef;

/// What the comparison of a table's contents needs, read once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub key: Vec<String>,
    /// The index the key comes from.
    pub key_index: String,
    pub columns: Vec<Column>,
    pub source_rows: u64,
    pub ranges: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "at", rename_all = "kebab-case")]
pub enum Stage {
    #[default]
    Pending,
    Bisecting {
        plan: Plan,
        bisection: Bisection,
    },
    Done,
}

/// A table and where its comparison is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableJob {
    pub table: TableRef,
    pub stage: Stage,
    /// Round trips and rows read so far, the bisection's included once it ends.
    pub cost: Cost,
    /// Wall time spent on the table in step calls, in milliseconds (waits between calls not
    /// counted): the benchmark's time.
    #[serde(default)]
    pub elapsed_ms: u64,
}

/// The step's databases and limits, for one call.
pub struct Scope<'a> {
    pub db: &'a str,
    pub target_db: &'a str,
}

pub fn one(cost: &mut Cost, budget: &mut u64, rows: usize) {
    cost.round_trips += 1;
    cost.rows_read += rows as u64;
    *budget = budget.saturating_sub(1);
}
