//! Output formats of the docker CLI: its tables (Go's tabwriter with a
//! minimum cell width of 10 and three spaces of padding), its human
//! durations ("About a minute") and sizes ("271MB").

/// Lays out rows like the docker CLI: every column but the last is padded
/// to the widest cell plus three spaces, and at least ten columns.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let columns = header.len();
    let mut widths = vec![0usize; columns];
    let all = std::iter::once(header.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>())
        .chain(rows.iter().cloned())
        .collect::<Vec<_>>();
    for row in &all {
        for (index, cell) in row.iter().enumerate().take(columns) {
            widths[index] = widths[index].max((cell.chars().count() + 3).max(10));
        }
    }
    let mut text = String::new();
    for row in &all {
        let mut line = String::new();
        for (index, cell) in row.iter().enumerate().take(columns) {
            line.push_str(cell);
            if index + 1 < columns {
                let pad = widths[index].saturating_sub(cell.chars().count());
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        text.push_str(line.trim_end_matches(' '));
        text.push('\n');
    }
    text
}

/// Go-units' `HumanDuration`, as in "Created 5 minutes ago".
pub fn human_duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    if seconds < 1 {
        return "Less than a second".to_owned();
    }
    if seconds == 1 {
        return "1 second".to_owned();
    }
    if seconds < 60 {
        return format!("{seconds} seconds");
    }
    let minutes = seconds / 60;
    if minutes == 1 {
        return "About a minute".to_owned();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    let hours = (seconds + 1800) / 3600;
    match hours {
        1 => "About an hour".to_owned(),
        h if h < 48 => format!("{h} hours"),
        h if h < 24 * 7 * 2 => format!("{} days", h / 24),
        h if h < 24 * 30 * 2 => format!("{} weeks", h / 24 / 7),
        h if h < 24 * 365 * 2 => format!("{} months", h / 24 / 30),
        _ => format!("{} years", seconds / 3600 / 24 / 365),
    }
}

/// Go-units' `HumanSizeWithPrecision(size, 3)`: decimal units, three
/// significant digits, no trailing zeros ("271MB", "1.23GB", "12.3kB").
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    // Sizes are only displayed; f64 keeps three significant digits of any i64.
    #[allow(clippy::cast_precision_loss)]
    let mut value = bytes.max(0) as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{}{}", three_significant(value), UNITS[unit])
}

fn three_significant(value: f64) -> String {
    let decimals = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// Shortens text to `width` characters with a trailing "…", as docker does
/// for the COMMAND column.
pub fn ellipsis(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(width.saturating_sub(1)).collect();
    short.push('…');
    short
}

/// Go's `strconv.Quote` for the printable text docker shows.
pub fn go_quote(text: &str) -> String {
    let mut quoted = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            c if c.is_control() => quoted.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn empty_tables_match_the_docker_headers() {
        let ps = [
            "CONTAINER ID",
            "IMAGE",
            "COMMAND",
            "CREATED",
            "STATUS",
            "PORTS",
            "NAMES",
        ];
        assert_eq!(
            render(&ps, &[]),
            "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n"
        );
        let images = ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"];
        assert_eq!(
            render(&images, &[]),
            "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n"
        );
    }

    #[test]
    fn durations_read_like_docker() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(5), "5 seconds");
        assert_eq!(human_duration(61), "About a minute");
        assert_eq!(human_duration(600), "10 minutes");
        assert_eq!(human_duration(3600), "About an hour");
        assert_eq!(human_duration(3 * 86400), "3 days");
    }

    #[test]
    fn sizes_read_like_docker() {
        assert_eq!(human_size(271_234_567), "271MB");
        assert_eq!(human_size(1_234_567_890), "1.23GB");
        assert_eq!(human_size(12_345), "12.3kB");
        assert_eq!(human_size(999), "999B");
    }

    #[test]
    fn long_commands_are_cut_with_an_ellipsis() {
        assert_eq!(
            go_quote(&ellipsis("python3 view.py", 20)),
            "\"python3 view.py\""
        );
        assert_eq!(
            ellipsis("python3 -m http.server 8080", 20),
            "python3 -m http.ser…"
        );
    }
}
