//! Failure throttling per user (NIST SP 800-63B §5.2.2): counted across flows and
//! challenges, reset only by a success. From the 5th consecutive failure each attempt
//! waits 30 s, doubling, capped at 15 minutes; at 100 MFA is blocked until an admin reset.

use chrono::{DateTime, Duration, Utc};

/// Consecutive failures after which attempts must wait.
pub const DELAY_FROM: u32 = 5;
/// The first wait.
pub const FIRST_DELAY_SECONDS: i64 = 30;
/// The longest wait.
pub const MAX_DELAY_SECONDS: i64 = 15 * 60;
/// Consecutive failures after which only an admin reset helps.
pub const BLOCK_AT: u32 = 100;

/// Whether a user may try a code now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Go ahead.
    Open,
    /// Wait this many seconds (answered 423 `factor_locked` with `retry_after`).
    Wait(i64),
    /// Blocked until an admin reset.
    Blocked,
}

/// The wait owed after `failures` consecutive failures: none below [`DELAY_FROM`], then
/// 30 s doubling per further failure, capped at 15 minutes.
pub fn delay_after(failures: u32) -> Duration {
    if failures < DELAY_FROM {
        return Duration::zero();
    }
    let doublings = (failures - DELAY_FROM).min(16);
    Duration::seconds((FIRST_DELAY_SECONDS << doublings).min(MAX_DELAY_SECONDS))
}

/// Whether an attempt at `now` is allowed, given the consecutive failures so far and the
/// time of the last one.
pub fn gate(failures: u32, last_failure: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Gate {
    if failures >= BLOCK_AT {
        return Gate::Blocked;
    }
    let Some(last) = last_failure else {
        return Gate::Open;
    };
    let free_at = last + delay_after(failures);
    if now >= free_at {
        Gate::Open
    } else {
        // Round up: a client told "0" would come back too early.
        let millis = (free_at - now).num_milliseconds();
        Gate::Wait((millis + 999) / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_start_at_the_fifth_failure_double_and_cap() {
        let secs = |n| delay_after(n).num_seconds();
        assert_eq!((secs(0), secs(4)), (0, 0));
        assert_eq!(
            (secs(5), secs(6), secs(7), secs(8), secs(9)),
            (30, 60, 120, 240, 480)
        );
        assert_eq!((secs(10), secs(11), secs(99)), (900, 900, 900));
    }

    #[test]
    fn the_gate_opens_when_the_wait_is_over_and_blocks_at_100() {
        let t0 = DateTime::parse_from_rfc3339("2026-12-04T12:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(gate(0, None, t0), Gate::Open);
        assert_eq!(gate(4, Some(t0), t0), Gate::Open);
        assert_eq!(gate(5, Some(t0), t0), Gate::Wait(30));
        assert_eq!(
            gate(5, Some(t0), t0 + Duration::milliseconds(29_001)),
            Gate::Wait(1)
        );
        assert_eq!(gate(5, Some(t0), t0 + Duration::seconds(30)), Gate::Open);
        assert_eq!(
            gate(6, Some(t0), t0 + Duration::seconds(30)),
            Gate::Wait(30)
        );
        assert_eq!(gate(99, Some(t0), t0 + Duration::seconds(900)), Gate::Open);
        assert_eq!(gate(100, Some(t0), t0 + Duration::days(365)), Gate::Blocked);
    }
}
