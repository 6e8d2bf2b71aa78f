//! Sizing: vCores and storage per tier from what the source used over a sampled window, with
//! the reasoning as text. The samples come from `sample` (DMVs read between waits); the
//! arithmetic here is pure. The tiers' figures are the SDK's (`mi_limits::Tier::limits`,
//! "Resource limits for Azure SQL Managed Instance").

pub mod sample;

use ferry_sdk::mi_limits::{MEMORY_GB_PER_VCORE, STORAGE_STEP_GB, VCORE_CHOICES};
use serde::{Deserialize, Serialize};

use crate::config::TargetTier;
pub use sample::Sample;

/// What the window measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    pub cpu_count: Option<u64>,
    /// The highest and the mean CPU use of SQL Server over the samples, percent of the machine.
    pub cpu_peak_percent: Option<f64>,
    pub cpu_mean_percent: Option<f64>,
    /// SQL Server's memory at its highest (`Total Server Memory (KB)`), GB.
    pub memory_gb: Option<f64>,
    /// Reads and writes per second, data and log, over the window.
    pub iops: Option<f64>,
    /// Bytes read and written per second, MB/s.
    pub throughput_mbps: Option<f64>,
    /// Log bytes written per second, MB/s.
    pub log_mbps: Option<f64>,
    /// The user databases' files, GB.
    pub size_gb: f64,
    /// The window's length, seconds (0 with one sample).
    pub window_seconds: f64,
    pub samples: usize,
}

const MB: f64 = 1_000_000.0;

/// Reads `samples` (in order) into rates. IO rates need two samples; a counter that went
/// backwards (a restart between samples) leaves its rate unknown.
pub fn measure(samples: &[Sample], cpu_count: Option<u64>, size_bytes: u64) -> Measured {
    let cpu: Vec<f64> = samples.iter().filter_map(|s| s.cpu_percent).collect();
    let mut m = Measured {
        cpu_count,
        cpu_peak_percent: cpu.iter().copied().reduce(f64::max),
        cpu_mean_percent: (!cpu.is_empty()).then(|| cpu.iter().sum::<f64>() / cpu.len() as f64),
        memory_gb: samples
            .iter()
            .filter_map(|s| s.memory_kb)
            .max()
            .map(|kb| kb as f64 / (1024.0 * 1024.0)),
        size_gb: size_bytes as f64 / (1u64 << 30) as f64,
        samples: samples.len(),
        ..Measured::default()
    };
    if let (Some(first), Some(last)) = (samples.first(), samples.last())
        && last.at_ms > first.at_ms
    {
        let secs = (last.at_ms - first.at_ms) as f64 / 1000.0;
        m.window_seconds = secs;
        let rate = |a: u64, b: u64| b.checked_sub(a).map(|d| d as f64 / secs);
        m.iops = rate(first.reads + first.writes, last.reads + last.writes);
        m.throughput_mbps = rate(
            first.bytes_read + first.bytes_written,
            last.bytes_read + last.bytes_written,
        )
        .map(|b| b / MB);
        m.log_mbps = rate(first.log_bytes_written, last.log_bytes_written).map(|b| b / MB);
    }
    m
}

/// A suggested size on one tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    pub tier: TargetTier,
    /// None when no size of the tier takes the workload.
    pub vcores: Option<u32>,
    pub storage_gb: u64,
    pub reasoning: Vec<String>,
}

/// The smallest size of `tier` that takes what `m` measured, with why.
pub fn suggest(
    m: &Measured,
    tier: TargetTier,
    target_cpu_percent: u32,
    growth_percent: u32,
) -> Suggestion {
    let mut why = Vec::new();
    let target = f64::from(target_cpu_percent.max(1)) / 100.0;
    let cpu_need = match (m.cpu_count, m.cpu_peak_percent) {
        (Some(n), Some(peak)) => {
            let need = (n as f64 * peak / 100.0 / target).ceil() as u32;
            why.push(format!(
                "CPU: SQL Server used at most {peak:.1}% of {n} logical CPUs over {} samples \
                 ({:.0} s): {:.2} CPUs busy, kept at {target_cpu_percent}% of the vCores → {need} vCores",
                m.samples,
                m.window_seconds,
                n as f64 * peak / 100.0
            ));
            need
        }
        (Some(n), None) => {
            why.push(format!(
                "CPU: no CPU use was read; as many vCores as the source's {n} logical CPUs"
            ));
            n as u32
        }
        _ => {
            why.push("CPU: neither CPU count nor use was read; no CPU need counted".into());
            0
        }
    };
    let mem_need = m.memory_gb.map_or(0, |gb| {
        let need = (gb / MEMORY_GB_PER_VCORE).ceil() as u32;
        why.push(format!(
            "memory: SQL Server held {gb:.1} GB at most; {MEMORY_GB_PER_VCORE} GB per vCore → {need} vCores"
        ));
        need
    });
    let t = tier.tier();
    let per_vcore_log = t.limits(1).log_rate_mbps;
    let log_need = m.log_mbps.map_or(0, |mbps| {
        let need = (mbps / per_vcore_log).ceil() as u32;
        why.push(format!(
            "log: {mbps:.2} MB/s written; {} gives {per_vcore_log} MB/s per vCore → {need} vCores",
            t.describe()
        ));
        need
    });
    let iops_need = match (m.iops, t.limits(1).iops) {
        (Some(iops), Some(per)) => {
            let need = (iops / per as f64).ceil() as u32;
            why.push(format!(
                "IO: {iops:.0} IOPS; {per} IOPS per vCore → {need} vCores"
            ));
            need
        }
        (Some(iops), None) => {
            why.push(format!(
                "IO: {iops:.0} IOPS; {} gives IOPS per file by its size (500 up to 128 GiB): \
                 grow small files if they need more",
                t.describe()
            ));
            0
        }
        _ => 0,
    };
    let grown = m.size_gb * (1.0 + f64::from(growth_percent) / 100.0);
    let storage_gb = ((grown / STORAGE_STEP_GB as f64).ceil() as u64).max(1) * STORAGE_STEP_GB;
    why.push(format!(
        "storage: {:.1} GB of files + {growth_percent}% growth, in steps of {STORAGE_STEP_GB} GB → {storage_gb} GB",
        m.size_gb
    ));
    let need = cpu_need.max(mem_need).max(log_need).max(iops_need);
    let fits = |v: u32| {
        let l = t.limits(v);
        v >= need
            && l.max_storage_gb >= storage_gb
            && m.log_mbps.is_none_or(|mbps| l.log_rate_mbps >= mbps)
    };
    let vcores = VCORE_CHOICES.into_iter().find(|&v| fits(v));
    match vcores {
        Some(v) => why.push(format!(
            "→ {v} vCores: the smallest size of {} with at least {need} vCores and room for {storage_gb} GB \
             (it stores up to {} GB)",
            t.describe(),
            t.limits(v).max_storage_gb
        )),
        None => why.push(format!(
            "→ no size of {} takes it (needs {need} vCores, {storage_gb} GB, the largest is {} vCores \
             with {} GB): split the databases over instances",
            t.describe(),
            VCORE_CHOICES[VCORE_CHOICES.len() - 1],
            t.max_storage_gb()
        )),
    }
    Suggestion {
        tier,
        vcores,
        storage_gb,
        reasoning: why,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(at_ms: u64, cpu: f64, mem_gb: u64, io: u64, log_mb: u64) -> Sample {
        Sample {
            at_ms,
            cpu_percent: Some(cpu),
            memory_kb: Some(mem_gb << 20),
            reads: io,
            writes: io,
            bytes_read: io * 8192,
            bytes_written: io * 8192,
            log_bytes_written: log_mb * 1_000_000,
        }
    }

    #[test]
    fn rates_come_from_the_window_and_peaks_from_every_sample() {
        let m = measure(
            &[
                s(0, 20.0, 30, 0, 0),
                s(10_000, 60.0, 40, 5000, 100),
                s(20_000, 40.0, 35, 10_000, 200),
            ],
            Some(16),
            500 << 30,
        );
        assert_eq!(m.cpu_peak_percent, Some(60.0));
        assert_eq!(m.cpu_mean_percent, Some(40.0));
        assert_eq!(m.memory_gb, Some(40.0));
        assert_eq!(m.window_seconds, 20.0);
        assert_eq!(m.iops, Some(1000.0));
        assert_eq!(m.log_mbps, Some(10.0));
        assert_eq!(m.size_gb, 500.0);
        // One sample: no rates.
        let one = measure(&[s(0, 10.0, 1, 0, 0)], Some(4), 0);
        assert_eq!((one.iops, one.log_mbps), (None, None));
        // A counter that went back (a restart) leaves the rate unknown.
        let back = measure(&[s(0, 1.0, 1, 100, 5), s(1000, 1.0, 1, 10, 1)], None, 0);
        assert_eq!(back.iops, None);
    }

    #[test]
    fn vcores_follow_the_largest_need_and_storage_the_tier() {
        let m = Measured {
            cpu_count: Some(16),
            cpu_peak_percent: Some(60.0),
            memory_gb: Some(40.0),
            iops: Some(50_000.0),
            log_mbps: Some(10.0),
            size_gb: 500.0,
            samples: 3,
            window_seconds: 20.0,
            ..Measured::default()
        };
        // CPU: 16 × 0.6 / 0.7 = 13.7 → 14; memory 40 / 5.1 → 8; log 10 / 3 → 4 (GP).
        let gp = suggest(&m, TargetTier::GeneralPurpose, 70, 20);
        assert_eq!(gp.vcores, Some(16));
        assert_eq!(gp.storage_gb, 608); // 600 GB → 19 × 32
        assert!(
            gp.reasoning.iter().any(|r| r.contains("→ 14 vCores")),
            "{:?}",
            gp.reasoning
        );
        // Business Critical: IOPS 50,000 / 4,000 → 13; still 16.
        let bc = suggest(&m, TargetTier::BusinessCritical, 70, 20);
        assert_eq!(bc.vcores, Some(16));
        // 3 TB needs 32 vCores on Business Critical (4 TB from 32), 16 on General Purpose.
        let big = Measured {
            size_gb: 3000.0,
            ..m.clone()
        };
        assert_eq!(
            suggest(&big, TargetTier::BusinessCritical, 70, 0).vcores,
            Some(32)
        );
        assert_eq!(
            suggest(&big, TargetTier::GeneralPurpose, 70, 0).vcores,
            Some(16)
        );
        // Too much log for General Purpose's 120 MB/s.
        let hot = Measured {
            log_mbps: Some(200.0),
            ..m
        };
        let none = suggest(&hot, TargetTier::GeneralPurpose, 70, 0);
        assert_eq!(none.vcores, None);
        assert!(none.reasoning.last().unwrap().contains("no size"));
    }
}
