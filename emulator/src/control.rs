//! Control of a running emulator, for tests and rehearsals: faults injected by statement,
//! dropped connections, delays, and a virtual clock that makes long operations short.

use parking_lot::Mutex;
use std::time::{Duration, Instant, SystemTime};

use crate::protocol::tokens::ServerMessage;

/// What a fault does to a matching statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// Fail the statement with this SQL Server error number (and its documented text when the
    /// emulator knows it).
    Error(i32),
    /// Close the client's connection without a reply, as a network failure would.
    Disconnect,
    /// Run the statement, then close the connection before its reply — a network failure in
    /// the middle of a long RESTORE. Work the statement started in the background (an MI
    /// restore) carries on, as on MI.
    DisconnectDuring,
    /// Hold the reply for this long (real time) before running the statement.
    Delay(Duration),
    /// Run the statement (and any restore it starts, to its end), then hold its reply this
    /// long (real time): the change is made while the client still waits, as when a client
    /// dies between a server's commit and the reply reaching it.
    DelayAfter(Duration),
}

/// A fault: statements whose text contains `pattern` (case-insensitive) get `action`, at most
/// `times` times (None: every time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub pattern: String,
    pub action: FaultAction,
    pub times: Option<u32>,
}

impl Fault {
    pub fn error(pattern: &str, number: i32) -> Fault {
        Fault {
            pattern: pattern.to_owned(),
            action: FaultAction::Error(number),
            times: None,
        }
    }

    pub fn disconnect(pattern: &str) -> Fault {
        Fault {
            pattern: pattern.to_owned(),
            action: FaultAction::Disconnect,
            times: None,
        }
    }

    /// Only the first `n` matching statements.
    pub fn disconnect_during(pattern: &str) -> Fault {
        Fault {
            pattern: pattern.to_owned(),
            action: FaultAction::DisconnectDuring,
            times: None,
        }
    }

    /// Runs matching statements, then holds each reply for `hold`.
    pub fn delay_after(pattern: &str, hold: Duration) -> Fault {
        Fault {
            pattern: pattern.to_owned(),
            action: FaultAction::DelayAfter(hold),
            times: None,
        }
    }

    pub fn times(mut self, n: u32) -> Fault {
        self.times = Some(n);
        self
    }
}

/// The text SQL Server gives for error numbers tests inject most (reference/methods.md §4).
pub fn error_message(number: i32) -> ServerMessage {
    let (class, text) = match number {
        3201 => (
            16,
            "Cannot open backup device. Operating system error 5(Access is denied.).",
        ),
        3013 => (16, "BACKUP DATABASE is terminating abnormally."),
        3101 => (
            16,
            "Exclusive access could not be obtained because the database is in use.",
        ),
        41901 => (
            16,
            "One or more of the options are not supported for this statement in SQL Managed Instance. Review the documentation for supported options.",
        ),
        1801 => (
            16,
            "Database already exists. Choose a different database name.",
        ),
        4305 => (
            16,
            "The log in this backup set begins at an LSN which is too recent to apply to the database.",
        ),
        18456 => (14, "Login failed for user."),
        1205 => (
            13,
            "Transaction was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction.",
        ),
        _ => (16, "Injected by ferry-emulator's control API."),
    };
    ServerMessage::error(number, class, text)
}

/// A clock that can run faster than real time: operations measure their progress in virtual
/// time, so a 40-minute restore can finish in seconds.
#[derive(Debug)]
pub struct VirtualClock {
    inner: Mutex<(Instant, SystemTime, f64)>,
}

impl Default for VirtualClock {
    fn default() -> Self {
        VirtualClock {
            inner: Mutex::new((Instant::now(), SystemTime::now(), 1.0)),
        }
    }
}

impl VirtualClock {
    /// Virtual now.
    pub fn now(&self) -> SystemTime {
        let (real0, virt0, speed) = *self.inner.lock();
        virt0 + real0.elapsed().mul_f64(speed)
    }

    /// Runs virtual time `speed` times faster than real time from now on.
    pub fn set_speed(&self, speed: f64) {
        let now = self.now();
        *self.inner.lock() = (Instant::now(), now, speed.clamp(0.001, 1_000_000.0));
    }

    pub fn speed(&self) -> f64 {
        self.inner.lock().2
    }

    /// Real time that `virtual_duration` takes at the current speed.
    pub fn real(&self, virtual_duration: Duration) -> Duration {
        virtual_duration.div_f64(self.speed())
    }
}

/// The faults in force, consulted before every statement.
#[derive(Debug, Default)]
pub struct Faults {
    list: Mutex<Vec<Fault>>,
}

impl Faults {
    pub fn add(&self, f: Fault) {
        self.list.lock().push(f);
    }

    pub fn clear(&self) {
        self.list.lock().clear();
    }

    /// The action for a statement, using up one of the fault's times.
    pub fn take(&self, statement: &str) -> Option<FaultAction> {
        let text = statement.to_ascii_lowercase();
        let mut list = self.list.lock();
        let i = list
            .iter()
            .position(|f| text.contains(&f.pattern.to_ascii_lowercase()))?;
        let action = list[i].action.clone();
        if let Some(n) = list[i].times.as_mut() {
            *n -= 1;
            if *n == 0 {
                list.remove(i);
            }
        }
        Some(action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_match_and_run_out() {
        let f = Faults::default();
        f.add(Fault::error("backup database", 3201).times(1));
        assert_eq!(f.take("SELECT 1"), None);
        assert_eq!(
            f.take("BACKUP DATABASE [x] TO URL = 'u'"),
            Some(FaultAction::Error(3201))
        );
        assert_eq!(f.take("BACKUP DATABASE [x] TO URL = 'u'"), None);
    }

    #[test]
    fn the_clock_runs_at_its_speed() {
        let c = VirtualClock::default();
        c.set_speed(1000.0);
        let t0 = c.now();
        std::thread::sleep(Duration::from_millis(20));
        let elapsed = c.now().duration_since(t0).unwrap();
        assert!(elapsed >= Duration::from_secs(15), "{elapsed:?}");
        assert_eq!(c.real(Duration::from_secs(60)), Duration::from_millis(60));
    }
}
