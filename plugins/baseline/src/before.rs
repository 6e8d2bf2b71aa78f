//! `before`: the baseline on the source, kept in `baseline_from` for the `after` step.

use std::collections::BTreeSet;

use ferry_sdk::prelude::*;

use crate::capture::{self, Window};
use crate::config::Config;
use crate::report;
use crate::store;

pub fn captured(cx: &mut Context<'_, Config>, w: Window) -> Result<Outcome<crate::State>> {
    let item = cx.item().to_owned();
    cx.phase("capture", Some(0.9), Some("reading the window's figures"));
    let cap = capture::finish(cx, w, &BTreeSet::new())?;
    let kept = store::save(cx, &item, &cap)?;
    report::baseline_row(cx, &item, &cap, &kept);
    cx.phase("done", Some(1.0), Some("baseline captured"));
    Ok(Outcome::Done(crate::output::before(&item, &kept, &cap)))
}
