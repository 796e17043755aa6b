//! Hybrid logical clock, as gurt's `src/gurt/hlc.c` (daos-stack/daos v2.8.0): 1/16 ns ticks
//! since 2021-01-01 UTC with the low 18 bits used as a logical counter. Snapshot epochs and
//! container metadata times are HLC values.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// HLC ticks per nanosecond.
const HLC_NSEC: u64 = 16;
/// 2021-01-01 00:00:00 UTC in Unix seconds.
const HLC_START_SEC: u64 = 1_609_459_200;
/// The 18 logical bits.
const HLC_MASK: u64 = 0x3FFFF;
const NSEC_PER_SEC: u64 = 1_000_000_000;

static LAST: AtomicU64 = AtomicU64::new(0);

fn physical_now() -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let since_start = now
        .as_nanos()
        .saturating_sub(u128::from(HLC_START_SEC) * u128::from(NSEC_PER_SEC));
    let ticks = (since_start as u64).wrapping_mul(HLC_NSEC);
    ticks & !HLC_MASK
}

/// `d_hlc_get`: a timestamp greater than every one this process returned before.
pub fn now() -> u64 {
    let pt = physical_now();
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = if (last & !HLC_MASK) < pt {
            pt
        } else {
            last + 1
        };
        match LAST.compare_exchange_weak(last, next, Ordering::AcqRel, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

/// `d_hlc2unixnsec`.
pub fn to_unix_nanos(hlc: u64) -> u64 {
    hlc / HLC_NSEC + HLC_START_SEC * NSEC_PER_SEC
}

/// `d_unixnsec2hlc`: 0 when the time cannot be represented.
pub fn from_unix_nanos(unix_nanos: u64) -> u64 {
    let start = HLC_START_SEC * NSEC_PER_SEC;
    if unix_nanos < start || unix_nanos - start > u64::MAX / HLC_NSEC {
        return 0;
    }
    (unix_nanos - start) * HLC_NSEC
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_and_close_to_wall_clock() {
        let a = now();
        let b = now();
        assert!(b > a);
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        let diff = wall.abs_diff(to_unix_nanos(b));
        assert!(diff < 1_000_000_000, "hlc is {diff} ns off the wall clock");
        assert_eq!(from_unix_nanos(to_unix_nanos(a & !HLC_MASK)), a & !HLC_MASK);
        assert_eq!(from_unix_nanos(5), 0);
    }
}
