//! Test data at the sizes the host's limits are judged by: the largest figures and texts a
//! comparison can hold.

use crate::compare::{Comparison, QueryComparison, Ratios, Side, TEXT_SHOWN, Verdict};

/// One side with every figure at its widest.
pub fn widest_side() -> Side {
    Side {
        executions: u64::MAX,
        avg_cpu_us: 1.234_567_890_123e15,
        avg_duration_us: 1.234_567_890_123e15,
        avg_logical_reads: 1.234_567_890_123e15,
        plan_hash: "0x0123456789ABCDEF".into(),
        plans: 10,
    }
}

/// `n` queries compared on both sides, each text of three-byte characters at the longest
/// kept; every `regressed_every`-th regressed, the others unchanged.
pub fn widest_comparison(n: usize, regressed_every: usize) -> Comparison {
    Comparison {
        before_level: 130,
        after_level: 130,
        queries: (0..n)
            .map(|i| QueryComparison {
                query_hash: format!("0x{i:016X}"),
                text: "語".repeat(TEXT_SHOWN) + "…",
                verdict: if i % regressed_every == 0 {
                    Verdict::Regressed
                } else {
                    Verdict::Unchanged
                },
                before: Some(widest_side()),
                after: Some(widest_side()),
                cpu_ratio: Some(1.234_567_890_123),
                duration_ratio: Some(1.234_567_890_123),
                logical_reads_ratio: Some(1.234_567_890_123),
                plan_changed: Some(true),
            })
            .collect(),
        ratios: Ratios::default(),
        waits_source: Some("query_store".into()),
        waits: vec![],
    }
}
