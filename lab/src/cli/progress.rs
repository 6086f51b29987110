//! `lab progress`: learners' progress as a table, JSON or CSV.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::store::ProgressStore;
use crate::store::report::{ProgressRow, ReportFilter};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Json,
    Csv,
}

#[derive(Debug, Clone, clap::Args)]
#[command(
    after_long_help = "Examples:\n  lab progress\n  lab progress --user ada --format json\n  \
                             lab progress --scenario virtualization-and-containers --format csv"
)]
pub struct ProgressArgs {
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Only this learner.
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Only this scenario id.
    #[arg(long, value_name = "ID")]
    pub scenario: Option<String>,
}

pub fn execute(args: &ProgressArgs, data_dir: &Path) -> anyhow::Result<ExitCode> {
    let store = ProgressStore::open_in(data_dir)
        .with_context(|| format!("cannot open the progress store in {}", data_dir.display()))?;
    let filter = ReportFilter {
        user: args.user.clone(),
        scenario: args.scenario.clone(),
    };
    let rows = store.report(&filter)?;
    print!("{}", format_rows(&rows, args.format)?);
    Ok(ExitCode::SUCCESS)
}

pub fn format_rows(rows: &[ProgressRow], format: Format) -> anyhow::Result<String> {
    Ok(match format {
        Format::Table => table(rows),
        Format::Json => serde_json::to_string_pretty(rows)? + "\n",
        Format::Csv => csv(rows),
    })
}

const HEADERS: [&str; 10] = [
    "user",
    "scenario",
    "points",
    "questions_answered",
    "attempts",
    "wrong_attempts",
    "tasks_done",
    "hints_revealed",
    "commands_run",
    "last_activity_ms",
];

fn cells(row: &ProgressRow) -> [String; 10] {
    [
        row.user.clone(),
        row.scenario.clone(),
        row.points.to_string(),
        row.questions_answered.to_string(),
        row.attempts.to_string(),
        row.wrong_attempts.to_string(),
        row.tasks_done.to_string(),
        row.hints_revealed.to_string(),
        row.commands_run.to_string(),
        row.last_activity_ms.to_string(),
    ]
}

fn table(rows: &[ProgressRow]) -> String {
    if rows.is_empty() {
        return "no progress recorded yet\n".to_owned();
    }
    let mut headers = HEADERS.map(str::to_owned);
    headers[9] = "last_activity_utc".to_owned();
    let readable = |row: &ProgressRow| {
        let mut cells = cells(row);
        cells[9] = utc_minute(row.last_activity_ms);
        cells
    };
    let all: Vec<[String; 10]> = std::iter::once(headers)
        .chain(rows.iter().map(readable))
        .collect();
    let widths: Vec<usize> = (0..HEADERS.len())
        .map(|c| all.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &all {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn csv(rows: &[ProgressRow]) -> String {
    let mut out = HEADERS.join(",") + "\n";
    for row in rows {
        let line: Vec<String> = cells(row).iter().map(|cell| csv_field(cell)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

/// `YYYY-MM-DD HH:MM` in UTC for milliseconds since the Unix epoch
/// (days to a civil date after Howard Hinnant's `civil_from_days`).
fn utc_minute(ms: i64) -> String {
    let minutes = ms.div_euclid(60_000);
    let (days, minute_of_day) = (minutes.div_euclid(1440), minutes.rem_euclid(1440));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (hour, minute) = (minute_of_day / 60, minute_of_day % 60);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}")
}

/// Quotes a field when it holds a comma, quote or line break (RFC 4180).
fn csv_field(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(user: &str) -> ProgressRow {
        ProgressRow {
            user: user.into(),
            scenario: "s".into(),
            points: 3,
            questions_answered: 2,
            attempts: 4,
            wrong_attempts: 2,
            tasks_done: 1,
            hints_revealed: 0,
            commands_run: 5,
            last_activity_ms: 7,
        }
    }

    #[test]
    fn times_print_as_utc_dates() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00");
        assert_eq!(utc_minute(951_782_400_000), "2000-02-29 00:00");
        assert_eq!(utc_minute(1_796_304_806_663), "2026-12-03 13:33");
    }

    #[test]
    fn csv_quotes_awkward_names() {
        let text = format_rows(&[row("o'neil, \"jr\"")], Format::Csv).unwrap();
        assert_eq!(
            text.lines().nth(1).unwrap(),
            "\"o'neil, \"\"jr\"\"\",s,3,2,4,2,1,0,5,7"
        );
    }

    #[test]
    fn table_aligns_columns_and_json_round_trips() {
        let text = format_rows(&[row("ada"), row("bob")], Format::Table).unwrap();
        assert!(text.starts_with("user  scenario  points"));
        let json: serde_json::Value =
            serde_json::from_str(&format_rows(&[row("ada")], Format::Json).unwrap()).unwrap();
        assert_eq!(json[0]["points"], 3);
    }
}
