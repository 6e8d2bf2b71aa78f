//! Fuzz target for what the server reads before login: random bytes and lying length fields
//! (packet headers, LOGIN7's Length, its offsets and lengths, PRELOGIN's option table) never
//! panic, and never make the parsers allocate more than the documented caps. The heap is
//! measured by a counting global allocator, so this file holds one test: nothing else
//! allocates while a case runs.

use peak_alloc::PeakAlloc;
use proptest::prelude::*;

use ferry_emulator::protocol::login_phase::{LoginBudget, PRELOGIN_MAX, read_login_message};
use ferry_emulator::protocol::login7::{self, MAX_LEN as LOGIN7_MAX};
use ferry_emulator::protocol::packet::PacketType;
use ferry_emulator::protocol::prelogin;

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

/// Bytes the heap grew by at its peak while `f` ran.
fn peak_growth<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = HEAP.current_usage();
    HEAP.reset_peak_usage();
    let out = f();
    (out, HEAP.peak_usage().saturating_sub(base))
}

/// A well-formed LOGIN7 of `fields` strings, to be lied about.
fn login7(fields: &[String; 3]) -> Vec<u8> {
    let mut fixed = vec![0u8; 94];
    fixed[4..8].copy_from_slice(&0x7400_0004u32.to_le_bytes());
    fixed[8..12].copy_from_slice(&4096u32.to_le_bytes());
    let mut data = Vec::new();
    for (at, s) in [40usize, 44, 68].iter().zip(fields) {
        let bytes: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let off = (94 + data.len()) as u16;
        fixed[*at..at + 2].copy_from_slice(&off.to_le_bytes());
        fixed[at + 2..at + 4].copy_from_slice(&(s.encode_utf16().count() as u16).to_le_bytes());
        data.extend_from_slice(&bytes);
    }
    fixed.extend_from_slice(&data);
    let len = fixed.len() as u32;
    fixed[..4].copy_from_slice(&len.to_le_bytes());
    fixed
}

/// Packets carrying `payload`, with each header's type, status and length possibly lying.
fn packets(payload: &[u8], kind: u8, lies: &[(u8, u8, u16)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, chunk) in payload.chunks(4088).enumerate() {
        let last = (i + 1) * 4088 >= payload.len();
        let (mut k, mut status, mut len) = (kind, u8::from(last), (chunk.len() + 8) as u16);
        if let Some((lk, ls, ll)) = lies.get(i) {
            if lk % 3 == 0 {
                k = *lk;
            }
            if ls % 3 == 0 {
                status = *ls;
            }
            if ll % 3 == 0 {
                len = *ll;
            }
        }
        out.extend_from_slice(&[k, status]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&[0, 0, 1, 0]);
        out.extend_from_slice(chunk);
    }
    out
}

fn edits() -> impl Strategy<Value = Vec<(usize, u32)>> {
    proptest::collection::vec((0usize..200, any::<u32>()), 0..6)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn login_parsing_is_bounded(
        random in proptest::collection::vec(any::<u8>(), 0..4096),
        fields in [".{0,40}", ".{0,40}", ".{0,40}"],
        edits in edits(),
        lies in proptest::collection::vec((any::<u8>(), any::<u8>(), any::<u16>()), 0..4),
        extra in proptest::collection::vec(any::<u8>(), 0..9000),
    ) {
        // LOGIN7: a real one with fields overwritten (lengths, offsets, the Length itself),
        // and plain random bytes.
        let mut lying = login7(&fields);
        for (at, value) in &edits {
            if *at + 4 <= lying.len() {
                lying[*at..*at + 4].copy_from_slice(&value.to_le_bytes());
            }
        }
        // Each parser gets what the reader can deliver (at most its cap); what it allocates,
        // the strings it decodes, stays within LOGIN7's documented 128K-1 (PRELOGIN's own cap
        // is the emulator's choice, a few KiB).
        for input in [&lying, &random] {
            let (_, grew) = peak_growth(|| login7::parse(input));
            prop_assert!(grew <= LOGIN7_MAX, "LOGIN7 parse of {} bytes grew the heap by {grew}", input.len());
            let input = &input[..input.len().min(PRELOGIN_MAX)];
            let (_, grew) = peak_growth(|| prelogin::parse(input));
            prop_assert!(grew <= LOGIN7_MAX, "PRELOGIN parse of {} bytes grew the heap by {grew}", input.len());
        }

        // The reader: lying packet headers around a lying LOGIN7 (and whatever follows it).
        let mut stream_payload = lying.clone();
        stream_payload.extend_from_slice(&extra);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        for (kind, expected) in [(0x10u8, PacketType::Login7), (0x12, PacketType::PreLogin)] {
            let wire = packets(&stream_payload, kind, &lies);
            let budget = LoginBudget::default();
            let (read, grew) = peak_growth(|| {
                rt.block_on(async {
                    let mut held = budget.hold();
                    read_login_message(&mut &wire[..], expected, &mut held)
                        .await
                        .map(|m| m.payload.len())
                })
            });
            let cap = if expected == PacketType::Login7 { LOGIN7_MAX } else { PRELOGIN_MAX };
            if let Ok(len) = read {
                prop_assert!(len <= cap);
            }
            // The message buffer never exceeds the cap; while it grows by a packet, the old
            // buffer and the new one are both allocated for a moment.
            prop_assert!(grew <= 2 * cap + 8192, "reading {expected:?} grew the heap by {grew}");
            prop_assert_eq!(budget.used(), 0, "every byte is returned");
            prop_assert!(budget.peak() <= cap);
        }
    }
}
