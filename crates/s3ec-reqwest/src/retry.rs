//! Retry policy: which failures are transient, and how long to wait.

use std::time::Duration;

use rand::Rng;
use s3ec_client::transport::ErrorKind;

/// How the transport retries transient failures: throttling and server
/// errors (HTTP 429, 500, 502, 503, 504, S3's `SlowDown` and similar
/// codes), and connections that fail, break or time out.
///
/// Attempt `n` (from 0) waits a random time between half and all of
/// `min(max_delay, base_delay * 2^n)` before the next one ("equal
/// jitter").
///
/// ```
/// use std::time::Duration;
/// use s3ec_reqwest::RetryConfig;
///
/// let retry = RetryConfig {
///     max_retries: 5,
///     base_delay: Duration::from_millis(50),
///     max_delay: Duration::from_secs(2),
/// };
/// assert_eq!(RetryConfig::default().max_retries, 3);
/// assert_eq!(RetryConfig::none().max_retries, 0);
/// # let _ = retry;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// Retries after the first attempt (0: no retries). Default 3.
    pub max_retries: u32,
    /// The delay before the first retry (before jitter). Default 100 ms.
    pub base_delay: Duration,
    /// The longest delay between two attempts. Default 5 s.
    pub max_delay: Duration,
}

impl Default for RetryConfig {
    fn default() -> RetryConfig {
        RetryConfig {
            max_retries: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryConfig {
    /// No retries at all.
    pub fn none() -> RetryConfig {
        RetryConfig {
            max_retries: 0,
            ..RetryConfig::default()
        }
    }

    /// The wait after failed attempt `attempt` (from 0).
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let cap = self
            .base_delay
            .checked_mul(1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX))
            .unwrap_or(self.max_delay)
            .min(self.max_delay);
        let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        let half = nanos / 2;
        Duration::from_nanos(rand::thread_rng().gen_range(half..=nanos))
    }
}

/// S3 / AWS error codes that mean "slow down".
const THROTTLING_CODES: &[&str] = &[
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "RequestThrottled",
    "LimitExceededException",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// S3 / AWS error codes for transient server-side trouble.
const TRANSIENT_CODES: &[&str] = &[
    "InternalError",
    "ServiceUnavailable",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// Classify an error response: its kind, and whether to retry it.
pub(crate) fn classify_status(status: u16, code: Option<&str>) -> (ErrorKind, bool) {
    if let Some(c) = code {
        if THROTTLING_CODES.contains(&c) {
            return (ErrorKind::Unavailable, true);
        }
        if c == "RequestTimeout" || c == "RequestTimeoutException" {
            return (ErrorKind::Connection, true);
        }
        if TRANSIENT_CODES.contains(&c) {
            return (ErrorKind::Unavailable, true);
        }
    }
    match status {
        404 => (ErrorKind::NotFound, false),
        412 => (ErrorKind::PreconditionFailed, false),
        416 => (ErrorKind::InvalidRange, false),
        401 | 403 => (ErrorKind::AccessDenied, false),
        429 | 500 | 502 | 503 | 504 => (ErrorKind::Unavailable, true),
        s if s >= 500 => (ErrorKind::Unavailable, false),
        _ => (ErrorKind::Other, false),
    }
}

/// Whether an S3 error code says the session credentials expired.
pub(crate) fn is_expired_token(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("ExpiredToken" | "TokenRefreshRequired" | "ExpiredTokenException")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays() {
        let r = RetryConfig {
            max_retries: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        for _ in 0..50 {
            let d0 = r.delay(0);
            assert!(d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100));
            let d2 = r.delay(2);
            assert!(d2 >= Duration::from_millis(200) && d2 <= Duration::from_millis(400));
            let d9 = r.delay(9);
            assert!(d9 >= Duration::from_millis(500) && d9 <= Duration::from_millis(1000));
            assert!(r.delay(u32::MAX) <= Duration::from_millis(1000));
        }
        let z = RetryConfig {
            base_delay: Duration::ZERO,
            ..r
        };
        assert_eq!(z.delay(3), Duration::ZERO);
        let huge = RetryConfig {
            base_delay: Duration::from_secs(u64::MAX / 2),
            max_delay: Duration::from_secs(u64::MAX),
            ..r
        };
        assert!(huge.delay(40) > Duration::ZERO);
    }

    #[test]
    fn classification() {
        assert_eq!(
            classify_status(503, Some("SlowDown")),
            (ErrorKind::Unavailable, true)
        );
        assert_eq!(
            classify_status(400, Some("Throttling")),
            (ErrorKind::Unavailable, true)
        );
        assert_eq!(
            classify_status(400, Some("RequestTimeout")),
            (ErrorKind::Connection, true)
        );
        assert_eq!(
            classify_status(200, Some("InternalError")),
            (ErrorKind::Unavailable, true)
        );
        assert_eq!(classify_status(500, None), (ErrorKind::Unavailable, true));
        assert_eq!(classify_status(501, None), (ErrorKind::Unavailable, false));
        assert_eq!(classify_status(429, None), (ErrorKind::Unavailable, true));
        assert_eq!(
            classify_status(404, Some("NoSuchKey")),
            (ErrorKind::NotFound, false)
        );
        assert_eq!(
            classify_status(412, None),
            (ErrorKind::PreconditionFailed, false)
        );
        assert_eq!(classify_status(416, None), (ErrorKind::InvalidRange, false));
        assert_eq!(classify_status(403, None), (ErrorKind::AccessDenied, false));
        assert_eq!(
            classify_status(400, Some("InvalidArgument")),
            (ErrorKind::Other, false)
        );
        assert!(is_expired_token(Some("ExpiredToken")));
        assert!(!is_expired_token(Some("AccessDenied")));
    }
}
