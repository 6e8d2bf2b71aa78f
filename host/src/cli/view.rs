//! How a run looks while it happens: a live view on a terminal (one line per database in
//! flight), plain lines when output is piped, or JSON lines with `--json`.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;

use crate::pipeline::{Observer, RunEvent};

/// The observer for this output: JSON lines, a live terminal view, or plain lines.
pub fn for_output(json: bool) -> Arc<dyn Observer> {
    if json {
        Arc::new(JsonLines)
    } else if std::io::stderr().is_terminal() {
        Arc::new(Live::new())
    } else {
        Arc::new(Plain::default())
    }
}

/// Every event as one JSON object per line on stdout.
struct JsonLines;

impl Observer for JsonLines {
    fn on(&self, event: &RunEvent) {
        if let Ok(line) = serde_json::to_string(event) {
            outln!("{line}");
        }
    }
}

fn who(e: &RunEvent) -> String {
    match (&e.item, &e.step) {
        (Some(i), Some(s)) => format!("{i} · {s}"),
        (Some(i), None) => i.clone(),
        _ => String::new(),
    }
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// One line for an event worth a line, or none.
fn line_for(e: &RunEvent) -> Option<String> {
    let d = &e.data;
    Some(match e.event.as_str() {
        "run-started" => format!(
            "{} run {} of `{}`: {} work items ({} already done)",
            if d.get("resumed") == Some(&Value::Bool(true)) {
                "resuming"
            } else {
                "starting"
            },
            e.run,
            text(d.get("migration")),
            text(d.get("items")),
            text(d.get("done"))
        ),
        "item-done" => format!("done     {}", who(e)),
        "item-failed" => format!("FAILED   {}: {}", who(e), text(d.get("error"))),
        "item-skipped" => format!("skipped  {}: {}", who(e), text(d.get("reason"))),
        "item-retry" => format!("retry    {}: {}", who(e), text(d.get("error"))),
        "item-waiting" => format!("waiting  {}: {}", who(e), text(d.get("reason"))),
        "log" => {
            let level = text(d.get("level"));
            format!("{:<8} {}: {}", level, who(e), text(d.get("message")))
        }
        "secret-revealed" => format!(
            "audit    {}: revealed secret `{}`",
            who(e),
            text(d.get("label"))
        ),
        "run-finished" => format!(
            "finished run {}: {} done, {} failed, {} skipped",
            e.run,
            text(d.get("done")),
            text(d.get("failed")),
            text(d.get("skipped"))
        ),
        _ => return None,
    })
}

/// Plain lines on stderr, for logs and CI. A migration that waits for days (LRS in
/// continuous mode looks every few seconds) must not print the same "waiting" line each time:
/// a wait is printed when its reason changes, and progress at most once a minute per item,
/// when it changed.
#[derive(Default)]
struct Plain {
    seen: Mutex<HashMap<(String, String), PlainSeen>>,
}

#[derive(Default)]
struct PlainSeen {
    waiting: Option<String>,
    progress: Option<(String, std::time::Instant)>,
}

/// How often a plain line repeats an item's changing progress.
const PLAIN_PROGRESS_EVERY: Duration = Duration::from_secs(60);

impl Observer for Plain {
    fn on(&self, event: &RunEvent) {
        let key = (
            event.step.clone().unwrap_or_default(),
            event.item.clone().unwrap_or_default(),
        );
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let item = seen.entry(key).or_default();
        match event.event.as_str() {
            "item-waiting" => {
                let reason = text(event.data.get("reason"));
                if item.waiting.as_deref() == Some(reason.as_str()) {
                    return;
                }
                item.waiting = Some(reason);
            }
            "progress" => {
                let line = crate::pipeline::progress_line(&event.data);
                let due = match &item.progress {
                    Some((last, at)) => *last != line && at.elapsed() >= PLAIN_PROGRESS_EVERY,
                    None => !line.is_empty(),
                };
                if due {
                    errln!("progress {}: {line}", who(event));
                    item.progress = Some((line, std::time::Instant::now()));
                }
                return;
            }
            "item-done" | "item-failed" | "item-skipped" | "item-retry" => item.waiting = None,
            _ => {}
        }
        drop(seen);
        if let Some(line) = line_for(event) {
            errln!("{line}");
        }
    }
}

/// A live view: one spinner line per work item in flight, with phase, percent and message;
/// finished items and log lines scroll above it.
struct Live {
    multi: MultiProgress,
    bars: Mutex<HashMap<(String, String), ProgressBar>>,
    /// Each line's current phase and when it began, for the ETA.
    phases: Mutex<HashMap<(String, String), (String, std::time::Instant)>>,
}

impl Live {
    fn new() -> Self {
        Live {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::default(),
            phases: Mutex::default(),
        }
    }

    /// Time left in the item's current phase, from how fast its fraction has risen so far;
    /// none until there is enough to go on (a few percent, over a second).
    fn eta(&self, e: &RunEvent, phase: &str, fraction: Option<f64>) -> Option<Duration> {
        let key = (e.item.clone()?, e.step.clone()?);
        let mut phases = self.phases.lock().unwrap_or_else(|p| p.into_inner());
        let entry = phases
            .entry(key)
            .or_insert_with(|| (phase.to_owned(), std::time::Instant::now()));
        if entry.0 != phase {
            *entry = (phase.to_owned(), std::time::Instant::now());
        }
        let f = fraction?;
        let elapsed = entry.1.elapsed();
        if !(0.02..1.0).contains(&f) || elapsed < Duration::from_secs(1) {
            return None;
        }
        Some(elapsed.mul_f64((1.0 - f) / f))
    }

    fn bar(&self, e: &RunEvent) -> Option<ProgressBar> {
        let key = (e.item.clone()?, e.step.clone()?);
        let mut bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        Some(
            bars.entry(key)
                .or_insert_with(|| {
                    let style = ProgressStyle::with_template(
                        "{spinner} {prefix:.bold} {wide_msg} {elapsed}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_spinner());
                    let bar = self.multi.add(
                        ProgressBar::new_spinner()
                            .with_style(style)
                            .with_prefix(who(e)),
                    );
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                })
                .clone(),
        )
    }

    fn remove(&self, e: &RunEvent) {
        if let (Some(i), Some(s)) = (&e.item, &e.step) {
            let mut bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(bar) = bars.remove(&(i.clone(), s.clone())) {
                bar.finish_and_clear();
                self.multi.remove(&bar);
            }
        }
    }
}

impl Observer for Live {
    fn on(&self, e: &RunEvent) {
        match e.event.as_str() {
            "item-started" => {
                if let Some(bar) = self.bar(e) {
                    bar.set_message(format!("calling (attempt {})", text(e.data.get("attempt"))));
                }
            }
            "progress" => {
                if let Some(bar) = self.bar(e) {
                    let d = &e.data;
                    let mut msg = text(d.get("phase"));
                    if let Some(f) = d.get("fraction").and_then(Value::as_f64) {
                        msg.push_str(&format!(" {:>3.0}%", f * 100.0));
                    }
                    match (
                        d.get("bytes_done").and_then(Value::as_u64),
                        d.get("bytes_total").and_then(Value::as_u64),
                    ) {
                        (Some(done), Some(total)) => msg.push_str(&format!(
                            " {} / {}",
                            indicatif::HumanBytes(done),
                            indicatif::HumanBytes(total)
                        )),
                        // A host operation knows what it moved, not always the total.
                        (Some(done), None) => {
                            msg.push_str(&format!(" {}", indicatif::HumanBytes(done)))
                        }
                        _ => {}
                    }
                    if let Some(c) = d.get("current").and_then(Value::as_str) {
                        msg.push_str(&format!(" [{c}]"));
                    }
                    if let Some(m) = d.get("message").and_then(Value::as_str) {
                        msg.push_str(&format!(" — {m}"));
                    }
                    let fraction = d.get("fraction").and_then(Value::as_f64);
                    if let Some(left) = self.eta(e, &text(d.get("phase")), fraction) {
                        msg.push_str(&format!(" (ETA {})", indicatif::HumanDuration(left)));
                    }
                    bar.set_message(msg);
                }
            }
            "item-waiting" => {
                if let Some(bar) = self.bar(e) {
                    bar.set_message(format!("waiting: {}", text(e.data.get("reason"))));
                }
            }
            "item-done" | "item-failed" | "item-skipped" => {
                self.remove(e);
                if let Some(line) = line_for(e) {
                    let _ = self.multi.println(line);
                }
            }
            _ => {
                if let Some(line) = line_for(e) {
                    let _ = self.multi.println(line);
                }
            }
        }
    }

    fn finish(&self) {
        let mut bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        for (_, bar) in bars.drain() {
            bar.finish_and_clear();
        }
        let _ = self.multi.clear();
    }
}

/// A Unix time in milliseconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn when(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = ferry_sas::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_dates() {
        assert_eq!(super::when(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::when(1_795_000_000_000), "2026-11-18 11:06:40 UTC");
        assert_eq!(super::when(951_782_400_000), "2000-02-29 00:00:00 UTC");
    }
}
