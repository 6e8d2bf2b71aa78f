//! A scripted SQL Server for FakeHost tests: plain data (`Source`, `Db`) that a query handler
//! answers the plugin's catalog and DMV queries from, by the view each query reads; and the
//! target Managed Instance (`Target`) the `target` label reaches. The clock (`ms_ticks`), IO
//! and log counters advance on every read of the clock, so a sampled window has rates.

// Each test file uses a part of the harness.
#![allow(dead_code, unused_imports)]

mod answers;
pub mod migration_file;
mod source;
mod target;

pub use source::{Db, Source};
pub use target::Target;

use std::cell::RefCell;
use std::rc::Rc;

use assess::Assess;
use ferry_sdk::fake::FakeHost;
use ferry_sdk::{Error, ObjectRow, SqlValue};
use serde_json::{Value, json};

pub fn t(s: &str) -> SqlValue {
    SqlValue::Text(s.into())
}
pub fn i(n: i64) -> SqlValue {
    SqlValue::Int(n)
}

pub use ferry_sdk::fake::result_set as set;

/// A FakeHost whose every query goes to `source` (shared, so a test can change it between
/// calls); the statements it was sent are kept in `seen`.
pub fn host(source: Rc<RefCell<Source>>, seen: Rc<RefCell<Vec<String>>>) -> FakeHost {
    FakeHost::new().on_query(move |label, sql, params| {
        seen.borrow_mut().push(sql.to_owned());
        match (label, &source.borrow().target) {
            ("target", Some(target)) => return target.answer(sql),
            ("target", None) => return Err(Error::failed("no target in this test")),
            _ => {}
        }
        source.borrow_mut().answer(sql, params)
    })
}

/// A config with one sample (no waits) and the given extras.
pub fn config(extra: Value) -> Value {
    let mut c = json!({"source": "source", "samples": 1, "sample_seconds": 30});
    if let (Some(c), Some(e)) = (c.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            c.insert(k.clone(), v.clone());
        }
    }
    c
}

/// Runs the step for `item` (a database, or `(instance)`) to its end on `source`.
pub fn run(source: Source, item: &str, extra: Value) -> (Result<Value, Error>, FakeHost) {
    let src = Rc::new(RefCell::new(source));
    let mut h = host(src, Rc::new(RefCell::new(Vec::new())));
    let out = h.run_item::<Assess>(config(extra), item);
    (out, h)
}

/// The row named `name` that found something, if any (a `passed` row of a rule that found
/// nothing says "none found").
pub fn row<'a>(rows: &'a [ObjectRow], name: &str) -> Option<&'a ObjectRow> {
    rows.iter().find(|r| {
        r.name == name
            && !r
                .notes
                .as_deref()
                .unwrap_or_default()
                .contains(": none found.")
    })
}

/// The `passed` row of a rule that found nothing, if any.
pub fn none_found<'a>(rows: &'a [ObjectRow], name: &str) -> Option<&'a ObjectRow> {
    rows.iter().find(|r| {
        r.name == name
            && r.notes
                .as_deref()
                .unwrap_or_default()
                .contains(": none found.")
    })
}
