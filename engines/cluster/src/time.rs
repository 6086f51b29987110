//! Timestamps in the API's format and ages as `kubectl get` prints them.

use jiff::Timestamp;

/// Now, as an RFC 3339 timestamp with second precision (`2024-05-01T10:00:00Z`).
pub fn now_rfc3339() -> String {
    format_rfc3339(Timestamp::now())
}

pub fn format_rfc3339(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Seconds elapsed since an RFC 3339 timestamp; `None` when it does not parse.
pub fn seconds_since(timestamp: &str) -> Option<i64> {
    let then: Timestamp = timestamp.parse().ok()?;
    Some(Timestamp::now().as_second() - then.as_second())
}

/// The age of an object as the API server's table printer words it: `<unknown>`
/// when the timestamp is missing or malformed.
pub fn age(timestamp: Option<&str>) -> String {
    match timestamp.and_then(seconds_since) {
        Some(seconds) => human_duration(seconds),
        None => "<unknown>".to_string(),
    }
}

/// A duration in the short human form used by every `kubectl get` column
/// (`45s`, `5m3s`, `3h10m`, `4d2h`): coarse units once the figure is large.
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    if seconds < 0 {
        return "0s".to_string();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return with_remainder(minutes, "m", seconds % 60, "s");
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        return with_remainder(hours, "h", minutes % 60, "m");
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        return with_remainder(hours / 24, "d", hours % 24, "h");
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        return with_remainder(hours / 24 / 365, "y", (hours / 24) % 365, "d");
    }
    format!("{}y", hours / 24 / 365)
}

fn with_remainder(major: i64, major_unit: &str, minor: i64, minor_unit: &str) -> String {
    if minor == 0 {
        format!("{major}{major_unit}")
    } else {
        format!("{major}{major_unit}{minor}{minor_unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_match_kubectl_wording() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(119), "119s");
        assert_eq!(human_duration(303), "5m3s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3 * 3600 + 600), "3h10m");
        assert_eq!(human_duration(20 * 3600), "20h");
        assert_eq!(human_duration(98 * 3600), "4d2h");
        assert_eq!(human_duration(-5), "<invalid>");
    }

    #[test]
    fn malformed_timestamp_has_unknown_age() {
        assert_eq!(age(Some("yesterday")), "<unknown>");
        assert_eq!(age(None), "<unknown>");
    }
}
