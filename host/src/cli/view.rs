//! How a run looks while it happens: a live view on a terminal (one line per database in
//! flight), plain lines when output is piped, or JSON lines with `--json`.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::escape::terminal;
use crate::events::{Envelope, PluginEvent, Progress, RunEvent};
use crate::pipeline::Observer;

/// The observer for this output: JSON lines, a live terminal view, or plain lines.
///
/// The live view only where indicatif would draw (stderr a terminal, `TERM` not `dumb`): it
/// hides itself anywhere else, log lines included, and its bars and colour codes (console
/// styles them for stderr only when stderr takes colour) never reach a file or a pipe.
pub fn for_output(json: bool) -> Arc<dyn Observer> {
    if json {
        Arc::new(JsonLines)
    } else if !ProgressDrawTarget::stderr().is_hidden() {
        Arc::new(Live::new())
    } else {
        Arc::new(Plain::default())
    }
}

/// A command's closing `--json` line (where the report went, the run's summary, …) on stdout.
pub fn print_json(event: &RunEvent) {
    match crate::events::json_line(event) {
        Ok(line) => outln!("{line}"),
        Err(e) => errln!("warning: cannot write an event as JSON: {e}"),
    }
}

/// Every event as one JSON object per line on stdout.
struct JsonLines;

impl Observer for JsonLines {
    fn on(&self, event: &Envelope) {
        if let Ok(line) = serde_json::to_string(event) {
            outln!("{line}");
        }
    }
}

/// "database · step", each shown as [`terminal`] text.
fn who(e: &Envelope) -> String {
    match (&e.item, &e.step) {
        (Some(i), Some(s)) => format!("{} · {}", terminal(i), terminal(s)),
        (Some(i), None) => terminal(i).into_owned(),
        _ => String::new(),
    }
}

/// One line for an event worth a line, or none. Everything a plugin, a server or the input
/// files said is shown as [`terminal`] text, so each event stays one line.
fn line_for(e: &Envelope) -> Option<String> {
    Some(match &e.event {
        RunEvent::RunStarted {
            migration,
            resumed,
            items,
            done,
        } => format!(
            "{} run {} of `{migration}`: {items} work items ({done} already done)",
            if *resumed { "resuming" } else { "starting" },
            e.run,
            migration = terminal(migration),
        ),
        RunEvent::PluginRebuilt { plugin, items } => format!(
            "plugin `{}` was rebuilt (dev): {items} unfinished work item(s) of its steps start again",
            terminal(plugin)
        ),
        RunEvent::ItemDone { .. } => format!("done     {}", who(e)),
        RunEvent::ItemFailed { error } => format!("FAILED   {}: {}", who(e), terminal(error)),
        RunEvent::ItemSkipped { reason } => {
            format!("skipped  {}: {}", who(e), terminal(reason))
        }
        RunEvent::ItemRetry { error, .. } => format!("retry    {}: {}", who(e), terminal(error)),
        RunEvent::ItemWaiting(wait) => {
            format!("waiting  {}: {}", who(e), terminal(&wait.reason))
        }
        RunEvent::ItemDeferred { attempt, error } => format!(
            "DEFERRED {} after attempt {attempt}: {}; run `ferry apply` again to retry it",
            who(e),
            terminal(error)
        ),
        RunEvent::Plugin(PluginEvent::Log { level, message }) => {
            format!("{:<8} {}: {}", level.as_str(), who(e), terminal(message))
        }
        RunEvent::Plugin(PluginEvent::SecretRevealed { label }) => {
            format!("audit    {}: revealed secret `{}`", who(e), terminal(label))
        }
        RunEvent::RunFinished {
            done,
            failed,
            skipped,
            deferred,
        } => {
            let deferred = if *deferred > 0 {
                format!(", {deferred} deferred (run `ferry apply` again to retry them)")
            } else {
                String::new()
            };
            format!(
                "finished run {}: {done} done, {failed} failed, {skipped} skipped{deferred}",
                e.run
            )
        }
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
    fn on(&self, event: &Envelope) {
        let key = (
            event.step.clone().unwrap_or_default(),
            event.item.clone().unwrap_or_default(),
        );
        let mut seen = self.seen.lock();
        let item = seen.entry(key).or_default();
        match &event.event {
            RunEvent::ItemWaiting(wait) => {
                if item.waiting.as_ref() == Some(&wait.reason) {
                    return;
                }
                item.waiting = Some(wait.reason.clone());
            }
            RunEvent::Plugin(PluginEvent::Progress(progress)) => {
                let line = progress.line();
                let due = match &item.progress {
                    Some((last, at)) => *last != line && at.elapsed() >= PLAIN_PROGRESS_EVERY,
                    None => !line.is_empty(),
                };
                if due {
                    errln!("progress {}: {}", who(event), terminal(&line));
                    item.progress = Some((line, std::time::Instant::now()));
                }
                return;
            }
            RunEvent::ItemDone { .. }
            | RunEvent::ItemFailed { .. }
            | RunEvent::ItemSkipped { .. }
            | RunEvent::ItemDeferred { .. }
            | RunEvent::ItemRetry { .. } => item.waiting = None,
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
    fn eta(&self, e: &Envelope, phase: &str, fraction: Option<f64>) -> Option<Duration> {
        let key = (e.item.clone()?, e.step.clone()?);
        let mut phases = self.phases.lock();
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

    fn bar(&self, e: &Envelope) -> Option<ProgressBar> {
        let key = (e.item.clone()?, e.step.clone()?);
        let mut bars = self.bars.lock();
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

    /// "upload  42% 1.2 GiB / 2.9 GiB [Sales_1.bak] — 2 of 5 files (ETA 3 minutes)"
    fn progress_message(&self, e: &Envelope, p: &Progress) -> String {
        let mut msg = p.phase.clone();
        let fraction = p.fraction.map(f64::from);
        if let Some(f) = fraction {
            msg.push_str(&format!(" {:>3.0}%", f * 100.0));
        }
        match (p.bytes_done, p.bytes_total) {
            (Some(done), Some(total)) => msg.push_str(&format!(
                " {} / {}",
                indicatif::HumanBytes(done),
                indicatif::HumanBytes(total)
            )),
            // A host operation knows what it moved, not always the total.
            (Some(done), None) => msg.push_str(&format!(" {}", indicatif::HumanBytes(done))),
            _ => {}
        }
        if let Some(c) = &p.current {
            msg.push_str(&format!(" [{c}]"));
        }
        if let Some(m) = &p.message {
            msg.push_str(&format!(" — {m}"));
        }
        if let Some(left) = self.eta(e, &p.phase, fraction) {
            msg.push_str(&format!(" (ETA {})", indicatif::HumanDuration(left)));
        }
        msg
    }

    fn remove(&self, e: &Envelope) {
        if let (Some(i), Some(s)) = (&e.item, &e.step) {
            let mut bars = self.bars.lock();
            if let Some(bar) = bars.remove(&(i.clone(), s.clone())) {
                bar.finish_and_clear();
                self.multi.remove(&bar);
            }
        }
    }
}

impl Observer for Live {
    fn on(&self, e: &Envelope) {
        match &e.event {
            RunEvent::ItemStarted { attempt, .. } => {
                if let Some(bar) = self.bar(e) {
                    bar.set_message(format!("calling (attempt {attempt})"));
                }
            }
            RunEvent::Plugin(PluginEvent::Progress(progress)) => {
                if let Some(bar) = self.bar(e) {
                    let message = self.progress_message(e, progress);
                    bar.set_message(terminal(&message).into_owned());
                }
            }
            RunEvent::ItemWaiting(wait) => {
                if let Some(bar) = self.bar(e) {
                    bar.set_message(format!("waiting: {}", terminal(&wait.reason)));
                }
            }
            RunEvent::ItemDone { .. }
            | RunEvent::ItemFailed { .. }
            | RunEvent::ItemSkipped { .. }
            | RunEvent::ItemDeferred { .. } => {
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
        let mut bars = self.bars.lock();
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
