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

    /// The fault at login instead: `pattern` is matched against the login name.
    pub fn at_login(self) -> FaultRule {
        FaultRule::from(self).at_login()
    }

    /// The first `n` matching requests pass untouched; the fault applies from the next one
    /// (a chaos harness walks a fault through every step of a run this way).
    pub fn after(self, n: u32) -> FaultRule {
        FaultRule::from(self).after(n)
    }
}

/// Where in a connection's life a fault is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    /// Each request after login: a batch's text, an sp_executesql statement, or a procedure
    /// name.
    Statement,
    /// Each login, after its LOGIN7 arrived and before it is answered; the pattern is matched
    /// against the login name. An error refuses the login with that number; a disconnect
    /// closes the connection with no answer.
    Login,
}

/// A fault with where it applies and how many matches it lets through first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    pub fault: Fault,
    pub at: FaultPoint,
    pub skip: u32,
}

impl From<Fault> for FaultRule {
    fn from(fault: Fault) -> FaultRule {
        FaultRule {
            fault,
            at: FaultPoint::Statement,
            skip: 0,
        }
    }
}

impl FaultRule {
    pub fn at_login(mut self) -> FaultRule {
        self.at = FaultPoint::Login;
        self
    }

    pub fn after(mut self, n: u32) -> FaultRule {
        self.skip = n;
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
        // Transient errors Azure SQL gives while a database or instance moves or restarts
        // ("Transient fault error codes" in the Azure SQL connectivity troubleshooting page).
        40613 => (
            17,
            "Database is not currently available. Please retry the connection later.",
        ),
        40501 => (
            20,
            "The service is currently busy. Retry the request after 10 seconds.",
        ),
        40197 => (
            20,
            "The service has encountered an error processing your request. Please try again.",
        ),
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

/// The faults in force, consulted before every statement and every login.
#[derive(Debug, Default)]
pub struct Faults {
    list: Mutex<Vec<FaultRule>>,
}

impl Faults {
    pub fn add(&self, f: impl Into<FaultRule>) {
        self.list.lock().push(f.into());
    }

    pub fn clear(&self) {
        self.list.lock().clear();
    }

    /// The action for a statement, using up one of the fault's times.
    pub fn take(&self, statement: &str) -> Option<FaultAction> {
        self.take_at(FaultPoint::Statement, statement)
    }

    /// The action for a login by `user`, using up one of the fault's times.
    pub fn take_login(&self, user: &str) -> Option<FaultAction> {
        self.take_at(FaultPoint::Login, user)
    }

    fn take_at(&self, at: FaultPoint, text: &str) -> Option<FaultAction> {
        let text = text.to_ascii_lowercase();
        let mut list = self.list.lock();
        let i = list
            .iter()
            .position(|r| r.at == at && text.contains(&r.fault.pattern.to_ascii_lowercase()))?;
        let rule = &mut list[i];
        if rule.skip > 0 {
            rule.skip -= 1;
            return None;
        }
        let action = rule.fault.action.clone();
        if let Some(n) = rule.fault.times.as_mut() {
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
    fn a_fault_can_wait_its_turn_and_apply_at_login() {
        let f = Faults::default();
        f.add(Fault::disconnect("").times(1).after(2));
        f.add(Fault::error("app", 18456).at_login());
        assert_eq!(f.take("SELECT 1"), None);
        assert_eq!(f.take("SELECT 2"), None);
        assert_eq!(f.take("SELECT 3"), Some(FaultAction::Disconnect));
        assert_eq!(f.take("SELECT 4"), None);
        assert_eq!(
            f.take("app"),
            None,
            "a login fault is not a statement fault"
        );
        assert_eq!(f.take_login("sa"), None);
        assert_eq!(f.take_login("APP"), Some(FaultAction::Error(18456)));
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
