//! SQL Agent's jobs as msdb holds them ("dbo.sysjobs", "dbo.sysjobsteps", "dbo.sysschedules",
//! "dbo.sysjobschedules", "dbo.sysjobservers" pages of the Transact-SQL reference), and the
//! part of a job two servers are compared on.

use std::collections::BTreeMap;

use crate::msdb::Category;

#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub description: String,
    pub start_step_id: i64,
    pub category_id: i64,
    pub owner_sid: Vec<u8>,
    /// Not 0: the job came from a master server (this server is a target, TSX).
    pub originating_server_id: i64,
    pub notify_level_eventlog: i64,
    pub notify_level_email: i64,
    pub notify_level_netsend: i64,
    pub notify_level_page: i64,
    pub notify_email_operator_id: i64,
    pub delete_level: i64,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub step_id: i64,
    pub name: String,
    pub subsystem: String,
    pub command: String,
    pub database_name: String,
    pub database_user_name: String,
    pub server: String,
    pub on_success_action: i64,
    pub on_success_step_id: i64,
    pub on_fail_action: i64,
    pub on_fail_step_id: i64,
    pub retry_attempts: i64,
    pub retry_interval: i64,
    pub output_file_name: String,
    pub flags: i64,
    pub cmdexec_success_code: i64,
    pub proxy_id: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Schedule {
    pub name: String,
    pub enabled: bool,
    pub freq_type: i64,
    pub freq_interval: i64,
    pub freq_subday_type: i64,
    pub freq_subday_interval: i64,
    pub freq_relative_interval: i64,
    pub freq_recurrence_factor: i64,
    pub active_start_date: i64,
    pub active_end_date: i64,
    pub active_start_time: i64,
    pub active_end_time: i64,
}

impl Schedule {
    /// The fields that say when it fires.
    pub fn timing(&self) -> [i64; 10] {
        [
            self.freq_type,
            self.freq_interval,
            self.freq_subday_type,
            self.freq_subday_interval,
            self.freq_relative_interval,
            self.freq_recurrence_factor,
            self.active_start_date,
            self.active_end_date,
            self.active_start_time,
            self.active_end_time,
        ]
    }
}

/// What one server's msdb says about its jobs.
#[derive(Debug, Default)]
pub struct Agent {
    pub jobs: Vec<Job>,
    /// By job id, in step order.
    pub steps: BTreeMap<String, Vec<Step>>,
    pub schedules: BTreeMap<i64, Schedule>,
    /// (job id, schedule id) from sysjobschedules.
    pub attached: Vec<(String, i64)>,
    /// (job id, server id) from sysjobservers: 0 is the local server.
    pub servers: Vec<(String, i64)>,
    pub operators: BTreeMap<i64, String>,
    pub proxies: BTreeMap<i64, String>,
    pub categories: BTreeMap<i64, Category>,
}

impl Agent {
    pub fn steps_of(&self, job: &Job) -> &[Step] {
        self.steps.get(&job.id).map_or(&[], Vec::as_slice)
    }

    pub fn schedules_of(&self, job: &Job) -> Vec<(i64, &Schedule)> {
        self.attached
            .iter()
            .filter(|(j, _)| j.eq_ignore_ascii_case(&job.id))
            .filter_map(|(_, s)| Some((*s, self.schedules.get(s)?)))
            .collect()
    }

    pub fn servers_of(&self, job: &Job) -> Vec<i64> {
        self.servers
            .iter()
            .filter(|(j, _)| j.eq_ignore_ascii_case(&job.id))
            .map(|(_, s)| *s)
            .collect()
    }
}

/// A job as it is compared: what it runs, when, and whom it mails.
#[derive(Debug, PartialEq, Eq)]
pub struct Shape {
    pub enabled: bool,
    /// (step id, name, subsystem, command, database, on success action and step, on failure
    /// action and step, retry attempts and interval).
    pub steps: Vec<(i64, String, String, String, String, [i64; 6])>,
    /// Each schedule's enabled flag and timing, sorted.
    pub schedules: Vec<(bool, [i64; 10])>,
    /// E-mail notification level and operator (lower-case), or (0, "").
    pub email: (i64, String),
}

impl Shape {
    pub fn new<'a>(
        enabled: bool,
        steps: &[Step],
        schedules: impl Iterator<Item = &'a Schedule>,
        email: (i64, &str),
    ) -> Shape {
        let mut schedules: Vec<_> = schedules.map(|s| (s.enabled, s.timing())).collect();
        schedules.sort();
        Shape {
            enabled,
            steps: steps
                .iter()
                .map(|s| {
                    (
                        s.step_id,
                        s.name.clone(),
                        s.subsystem.to_uppercase(),
                        s.command.clone(),
                        s.database_name.to_lowercase(),
                        [
                            s.on_success_action,
                            s.on_success_step_id,
                            s.on_fail_action,
                            s.on_fail_step_id,
                            s.retry_attempts,
                            s.retry_interval,
                        ],
                    )
                })
                .collect(),
            schedules,
            email: (email.0, email.1.to_lowercase()),
        }
    }

    /// What differs from `other`, in words.
    pub fn differences(&self, other: &Shape) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.enabled != other.enabled {
            out.push("its enabled state differs");
        }
        if self.steps != other.steps {
            out.push("its steps differ");
        }
        if self.schedules != other.schedules {
            out.push("its schedules differ");
        }
        if self.email != other.email {
            out.push("its e-mail notification differs");
        }
        out
    }
}
