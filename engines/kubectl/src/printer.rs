//! Output in kubectl's formats: aligned tables (as Go's tabwriter lays them
//! out for kubectl), ages, JSON with four-space indents, YAML.

use serde::Serialize;
use serde_json::Value;

/// kubectl's tabwriter: a column is at least 6 wide, and 3 spaces follow
/// its longest cell. The last column is not padded.
const MIN_WIDTH: usize = 6;
const PADDING: usize = 3;

/// Lays out rows of cells as kubectl does.
pub fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            let longest = rows
                .iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0);
            (longest + PADDING).max(MIN_WIDTH)
        })
        .collect();
    let mut text = String::new();
    for row in rows {
        for (index, cell) in row.iter().enumerate() {
            text.push_str(cell);
            if index + 1 < row.len() {
                let pad = widths[index].saturating_sub(cell.chars().count());
                text.extend(std::iter::repeat_n(' ', pad));
            }
        }
        text.push('\n');
    }
    text
}

/// An age the way kubectl prints it: `45s`, `2m3s`, `45m`, `3h`, `5h10m`,
/// `2d`, `3d4h`, `400d`, `2y30d`.
pub fn human_age(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    let seconds = seconds.max(0);
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return with_rest(minutes, "m", seconds % 60, "s");
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        return with_rest(hours, "h", minutes % 60, "m");
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        return with_rest(hours / 24, "d", hours % 24, "h");
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        return with_rest(hours / 24 / 365, "y", (hours / 24) % 365, "d");
    }
    format!("{}y", hours / 24 / 365)
}

fn with_rest(whole: i64, unit: &str, rest: i64, rest_unit: &str) -> String {
    match rest {
        0 => format!("{whole}{unit}"),
        rest => format!("{whole}{unit}{rest}{rest_unit}"),
    }
}

/// Seconds since an RFC 3339 timestamp; `None` when it does not parse.
pub fn seconds_since(timestamp: &str) -> Option<i64> {
    let then: jiff::Timestamp = timestamp.parse().ok()?;
    Some(jiff::Timestamp::now().as_second() - then.as_second())
}

/// The age of an object from its `creationTimestamp`.
pub fn object_age(object: &Value) -> String {
    object
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .and_then(seconds_since)
        .map_or_else(|| "<unknown>".to_string(), human_age)
}

/// JSON as `kubectl -o json` prints it: four-space indents, a final newline.
pub fn json(value: &Value) -> String {
    let mut bytes = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, formatter);
    // Serialising a `Value` into memory cannot fail.
    let _ = value.serialize(&mut serializer);
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    text.push('\n');
    text
}

/// YAML as `kubectl -o yaml` prints it.
pub fn yaml(value: &Value) -> String {
    serde_yaml_ng::to_string(value).unwrap_or_default()
}

/// Labels as `--show-labels` prints them: `a=b,c=d`, or `<none>`.
pub fn labels(object: &Value) -> String {
    let Some(labels) = object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
    else {
        return "<none>".to_string();
    };
    if labels.is_empty() {
        return "<none>".to_string();
    }
    labels
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        let cases = [
            (5, "5s"),
            (119, "119s"),
            (123, "2m3s"),
            (180, "3m"),
            (45 * 60, "45m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 600, "3h10m"),
            (20 * 3600, "20h"),
            (2 * 86400, "2d"),
            (3 * 86400 + 4 * 3600, "3d4h"),
            (400 * 86400, "400d"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(human_age(seconds), expected, "{seconds}s");
        }
    }

    #[test]
    fn columns_pad_to_three_spaces_and_six_wide() {
        let rows = vec![
            vec!["NAME".into(), "IP".into(), "AGE".into()],
            vec!["web-1".into(), "10.0.0.1".into(), "5s".into()],
        ];
        assert_eq!(
            table(&rows),
            "NAME    IP         AGE\nweb-1   10.0.0.1   5s\n"
        );
        let narrow = vec![vec!["A".into(), "B".into()], vec!["1".into(), "2".into()]];
        assert_eq!(table(&narrow), "A     B\n1     2\n");
    }

    #[test]
    fn json_uses_four_spaces() {
        assert_eq!(json(&serde_json::json!({"a": 1})), "{\n    \"a\": 1\n}\n");
    }
}
