//! Observers of a run: the terminal view, plain lines, or `--json` lines. Each is handed every
//! event of the run as it happens.

use crate::events::Envelope;

/// Receives run events as they happen.
pub trait Observer: Send + Sync {
    fn on(&self, event: &Envelope);
    /// Called once at the end, so a live view can clear itself.
    fn finish(&self) {}
}

/// An observer that ignores everything.
pub struct Quiet;

impl Observer for Quiet {
    fn on(&self, _event: &Envelope) {}
}
