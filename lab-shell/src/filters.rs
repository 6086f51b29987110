//! The text filters a pipeline can end in: `grep`, `wc`, `head`, `tail`,
//! `sort`, `uniq`, `cut` and `awk`.
//!
//! Each filter is a pure function from its arguments and input bytes to
//! output bytes, an error text and an exit status, so the shell can run it
//! anywhere in a pipeline and tests need nothing around it. Only the
//! options a lesson uses are there; any other option is refused by name.

use regex::{Regex, RegexBuilder};

/// What a filter produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FilterOutput {
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub status: i32,
}

impl FilterOutput {
    fn ok(stdout: Vec<u8>) -> Self {
        FilterOutput {
            stdout,
            stderr: String::new(),
            status: 0,
        }
    }

    fn error(name: &str, message: impl std::fmt::Display) -> Self {
        FilterOutput {
            stdout: Vec::new(),
            stderr: format!("{name}: {message}\n"),
            status: 2,
        }
    }
}

/// The filters' names with their one-line summaries, for `help`.
pub const FILTERS: &[(&str, &str)] = &[
    (
        "awk",
        "print fields of each line: awk [-F SEP] '{print $1, $3}'",
    ),
    ("cut", "cut fields out of each line: cut -d SEP -f LIST"),
    (
        "grep",
        "print lines matching a pattern (-i, -v, -c, -E, -F, -n)",
    ),
    ("head", "print the first lines: head [-n N]"),
    ("sort", "sort lines (-r reverse, -n numeric, -u unique)"),
    ("tail", "print the last lines: tail [-n N]"),
    ("uniq", "drop repeated adjacent lines (-c counts them)"),
    ("wc", "count lines, words and bytes (-l, -w, -c)"),
];

/// Whether `name` is one of the filters.
pub fn is_filter(name: &str) -> bool {
    FILTERS.iter().any(|(n, _)| *n == name)
}

/// Runs a filter over its input (piped input, or the contents of the
/// files it was given, read by the caller into `input`).
pub fn run_filter(name: &str, args: &[String], input: &[u8]) -> FilterOutput {
    let text = String::from_utf8_lossy(input);
    let lines = split_lines(&text);
    let result = match name {
        "grep" => grep(args, &lines),
        "wc" => wc(args, &text, &lines),
        "head" => head_tail(args, &lines, true),
        "tail" => head_tail(args, &lines, false),
        "sort" => sort(args, lines),
        "uniq" => uniq(args, &lines),
        "cut" => cut(args, &lines),
        "awk" => awk(args, &lines),
        _ => Err(format!("{name}: not a filter")),
    };
    match result {
        Ok(output) => output,
        Err(message) => FilterOutput::error(name, message),
    }
}

/// The file operands a filter reads when nothing is piped into it; the
/// pattern or program of `grep`/`awk` and option values are skipped.
pub fn file_operands(name: &str, args: &[String]) -> Vec<String> {
    let mut operands = Vec::new();
    let mut skip_next = false;
    let mut program_seen = !matches!(name, "grep" | "awk");
    for arg in args {
        if skip_next {
            skip_next = false;
        } else if arg.starts_with('-') && arg.len() > 1 {
            skip_next = takes_value(name, arg);
        } else if !program_seen {
            program_seen = true;
        } else {
            operands.push(arg.clone());
        }
    }
    operands
}

fn takes_value(name: &str, flag: &str) -> bool {
    matches!(
        (name, flag),
        ("head" | "tail", "-n") | ("cut", "-d" | "-f") | ("awk", "-F")
    )
}

fn split_lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.split('\n').collect();
    if lines.last() == Some(&"") {
        lines.pop();
    }
    lines
}

fn join_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out
}

#[derive(Default)]
struct GrepOptions {
    ignore_case: bool,
    invert: bool,
    count: bool,
    extended: bool,
    fixed: bool,
    line_numbers: bool,
}

fn grep(args: &[String], lines: &[&str]) -> Result<FilterOutput, String> {
    let mut options = GrepOptions::default();
    let mut pattern = None;
    let mut options_end = false;
    for arg in args {
        match arg.strip_prefix('-') {
            Some("-") if !options_end => options_end = true,
            Some(flags) if !options_end && !flags.is_empty() => grep_flags(flags, &mut options)?,
            _ if pattern.is_none() => pattern = Some(arg.as_str()),
            _ => {}
        }
    }
    let pattern = pattern.ok_or("usage: grep [-icvEFn] PATTERN [FILE]")?;
    let regex = grep_regex(pattern, &options)?;
    let matching = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| regex.is_match(l) != options.invert);
    let (count, out) = grep_output(matching, &options);
    let status = if count > 0 { 0 } else { 1 };
    Ok(FilterOutput {
        stdout: out,
        stderr: String::new(),
        status,
    })
}

fn grep_flags(flags: &str, options: &mut GrepOptions) -> Result<(), String> {
    for flag in flags.chars() {
        match flag {
            'i' => options.ignore_case = true,
            'v' => options.invert = true,
            'c' => options.count = true,
            'E' => options.extended = true,
            'F' => options.fixed = true,
            'n' => options.line_numbers = true,
            other => return Err(format!("invalid option -- '{other}'")),
        }
    }
    Ok(())
}

fn grep_regex(pattern: &str, options: &GrepOptions) -> Result<Regex, String> {
    let source = if options.fixed {
        regex::escape(pattern)
    } else if options.extended {
        pattern.to_owned()
    } else {
        basic_to_extended(pattern)
    };
    RegexBuilder::new(&source)
        .case_insensitive(options.ignore_case)
        .size_limit(1 << 20)
        .build()
        .map_err(|_| format!("invalid regular expression: {pattern}"))
}

/// Rewrites a POSIX basic regular expression for the `regex` crate: in a
/// basic expression `+ ? | ( ) { }` are literal unless escaped.
fn basic_to_extended(pattern: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(m @ ('+' | '?' | '|' | '(' | ')' | '{' | '}')) => out.push(m),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push_str("\\\\"),
            },
            '+' | '?' | '|' | '(' | ')' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

fn grep_output<'a>(
    matching: impl Iterator<Item = (usize, &'a &'a str)>,
    options: &GrepOptions,
) -> (usize, Vec<u8>) {
    let mut count = 0;
    let mut out = Vec::new();
    for (index, line) in matching {
        count += 1;
        if options.count {
            continue;
        }
        if options.line_numbers {
            out.extend_from_slice(format!("{}:", index + 1).as_bytes());
        }
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    if options.count {
        out = format!("{count}\n").into_bytes();
    }
    (count, out)
}

fn wc(args: &[String], text: &str, lines: &[&str]) -> Result<FilterOutput, String> {
    let (mut want_lines, mut want_words, mut want_bytes) = (false, false, false);
    for arg in args.iter().filter(|a| a.starts_with('-') && a.len() > 1) {
        for flag in arg.chars().skip(1) {
            match flag {
                'l' => want_lines = true,
                'w' => want_words = true,
                'c' => want_bytes = true,
                other => return Err(format!("invalid option -- '{other}'")),
            }
        }
    }
    if !(want_lines || want_words || want_bytes) {
        (want_lines, want_words, want_bytes) = (true, true, true);
    }
    let newlines = text.matches('\n').count();
    let words: usize = lines.iter().map(|l| l.split_whitespace().count()).sum();
    let counts: Vec<usize> = [
        (want_lines, newlines),
        (want_words, words),
        (want_bytes, text.len()),
    ]
    .into_iter()
    .filter_map(|(wanted, n)| wanted.then_some(n))
    .collect();
    let row = if let [single] = counts[..] {
        single.to_string()
    } else {
        counts
            .iter()
            .map(|n| format!("{n:>7}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    Ok(FilterOutput::ok(format!("{row}\n").into_bytes()))
}

fn head_tail(args: &[String], lines: &[&str], head: bool) -> Result<FilterOutput, String> {
    let count = line_count(args)?;
    let chosen = if head {
        &lines[..count.min(lines.len())]
    } else {
        &lines[lines.len().saturating_sub(count)..]
    };
    Ok(FilterOutput::ok(join_lines(chosen.iter().copied())))
}

fn line_count(args: &[String]) -> Result<usize, String> {
    let mut count = 10;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let value = if arg == "-n" {
            iter.next()
                .ok_or("option requires an argument -- 'n'")?
                .as_str()
        } else if let Some(rest) = arg.strip_prefix("-n") {
            rest
        } else if let Some(rest) = arg.strip_prefix('-') {
            rest
        } else {
            continue;
        };
        count = value
            .parse()
            .map_err(|_| format!("invalid number of lines: '{value}'"))?;
    }
    Ok(count)
}

fn sort(args: &[String], mut lines: Vec<&str>) -> Result<FilterOutput, String> {
    let (mut reverse, mut numeric, mut unique) = (false, false, false);
    for arg in args.iter().filter(|a| a.starts_with('-') && a.len() > 1) {
        for flag in arg.chars().skip(1) {
            match flag {
                'r' => reverse = true,
                'n' => numeric = true,
                'u' => unique = true,
                other => return Err(format!("invalid option -- '{other}'")),
            }
        }
    }
    if numeric {
        lines.sort_by(|a, b| {
            leading_number(a)
                .total_cmp(&leading_number(b))
                .then(a.cmp(b))
        });
    } else {
        lines.sort();
    }
    if reverse {
        lines.reverse();
    }
    if unique {
        lines.dedup();
    }
    Ok(FilterOutput::ok(join_lines(lines)))
}

fn leading_number(line: &str) -> f64 {
    let trimmed = line.trim_start();
    let end = trimmed
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || (i == 0 && c == '-')))
        .map_or(trimmed.len(), |(i, _)| i);
    trimmed[..end].parse().unwrap_or(0.0)
}

fn uniq(args: &[String], lines: &[&str]) -> Result<FilterOutput, String> {
    let mut counted = false;
    for arg in args.iter().filter(|a| a.starts_with('-') && a.len() > 1) {
        match arg.as_str() {
            "-c" => counted = true,
            other => return Err(format!("invalid option -- '{}'", &other[1..])),
        }
    }
    let mut runs: Vec<(usize, &str)> = Vec::new();
    for line in lines {
        match runs.last_mut() {
            Some((n, last)) if last == line => *n += 1,
            _ => runs.push((1, line)),
        }
    }
    let mut out = String::new();
    for (n, line) in runs {
        if counted {
            out.push_str(&format!("{n:>7} "));
        }
        out.push_str(line);
        out.push('\n');
    }
    Ok(FilterOutput::ok(out.into_bytes()))
}

fn cut(args: &[String], lines: &[&str]) -> Result<FilterOutput, String> {
    let (delimiter, fields) = cut_options(args)?;
    let ranges = parse_field_list(&fields.ok_or("you must specify a list of fields (-f)")?)?;
    let mut out = String::new();
    for line in lines {
        if !line.contains(delimiter) {
            out.push_str(line);
        } else {
            let parts: Vec<&str> = line.split(delimiter).collect();
            let chosen: Vec<&str> = (1..=parts.len())
                .filter(|i| ranges.iter().any(|(lo, hi)| lo <= i && i <= hi))
                .map(|i| parts[i - 1])
                .collect();
            out.push_str(&chosen.join(&delimiter.to_string()));
        }
        out.push('\n');
    }
    Ok(FilterOutput::ok(out.into_bytes()))
}

fn cut_options(args: &[String]) -> Result<(char, Option<String>), String> {
    let mut delimiter = '\t';
    let mut fields = None;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let (flag, inline) = match arg.get(..2) {
            Some(flag @ ("-d" | "-f")) => (flag, &arg[2..]),
            _ if arg.starts_with('-') => return Err(format!("invalid option '{arg}'")),
            _ => continue,
        };
        let value = if inline.is_empty() {
            iter.next()
                .ok_or(format!("option requires an argument -- '{}'", &flag[1..]))?
                .clone()
        } else {
            inline.to_owned()
        };
        if flag == "-d" {
            let mut chars = value.chars();
            delimiter = match (chars.next(), chars.next()) {
                (Some(c), None) => c,
                _ => return Err("the delimiter must be a single character".to_owned()),
            };
        } else {
            fields = Some(value);
        }
    }
    Ok((delimiter, fields))
}

/// Parses `1,3`, `2-4`, `-2` and `3-` into inclusive ranges.
fn parse_field_list(list: &str) -> Result<Vec<(usize, usize)>, String> {
    let invalid = || format!("invalid field list '{list}'");
    let number = |s: &str| s.parse::<usize>().ok().filter(|n| *n > 0);
    list.split(',')
        .map(|item| match item.split_once('-') {
            None => number(item).map(|n| (n, n)),
            Some(("", hi)) => number(hi).map(|hi| (1, hi)),
            Some((lo, "")) => number(lo).map(|lo| (lo, usize::MAX)),
            Some((lo, hi)) => number(lo).zip(number(hi)),
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(invalid)
}

/// One piece of an awk `print` list.
#[derive(Debug, PartialEq)]
enum PrintItem {
    Field(usize),
    LastField,
    Text(String),
    /// A comma: awk puts its output separator (a space) there.
    Separator,
}

fn awk(args: &[String], lines: &[&str]) -> Result<FilterOutput, String> {
    let mut separator = None;
    let mut program = None;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "-F" {
            separator = Some(iter.next().ok_or("option -F needs a value")?.clone());
        } else if let Some(value) = arg.strip_prefix("-F") {
            separator = Some(value.to_owned());
        } else if program.is_none() {
            program = Some(arg.clone());
        }
    }
    let program = program.ok_or("usage: awk [-F SEP] '{print $N}'")?;
    let (filter, items) = parse_awk_program(&program)?;
    let mut out = String::new();
    for line in lines
        .iter()
        .filter(|l| filter.as_ref().is_none_or(|re| re.is_match(l)))
    {
        let fields = split_fields(line, separator.as_deref());
        out.push_str(&print_items(&items, line, &fields));
        out.push('\n');
    }
    Ok(FilterOutput::ok(out.into_bytes()))
}

fn split_fields<'a>(line: &'a str, separator: Option<&str>) -> Vec<&'a str> {
    match separator {
        None | Some(" ") => line.split_whitespace().collect(),
        Some(sep) => line.split(sep).collect(),
    }
}

fn print_items(items: &[PrintItem], line: &str, fields: &[&str]) -> String {
    let mut out = String::new();
    for item in items {
        match item {
            PrintItem::Field(0) => out.push_str(line),
            PrintItem::Field(n) => out.push_str(fields.get(n - 1).copied().unwrap_or("")),
            PrintItem::LastField => out.push_str(fields.last().copied().unwrap_or("")),
            PrintItem::Text(text) => out.push_str(text),
            PrintItem::Separator => out.push(' '),
        }
    }
    out
}

const AWK_UNSUPPORTED: &str = "only programs of the form '[/regex/] {print $1, $3}' are supported";

/// Parses `[/regex/] {print ITEMS}`.
fn parse_awk_program(program: &str) -> Result<(Option<Regex>, Vec<PrintItem>), String> {
    let program = program.trim();
    let (filter, action) = match program.strip_prefix('/') {
        Some(rest) => {
            let (pattern, action) = rest.split_once('/').ok_or(AWK_UNSUPPORTED)?;
            let regex = Regex::new(pattern).map_err(|_| format!("bad regex /{pattern}/"))?;
            (Some(regex), action.trim())
        }
        None => (None, program),
    };
    if filter.is_some() && action.is_empty() {
        return Ok((filter, vec![PrintItem::Field(0)]));
    }
    let body = action
        .strip_prefix('{')
        .and_then(|a| a.strip_suffix('}'))
        .map(|b| b.trim().trim_end_matches(';').trim())
        .ok_or(AWK_UNSUPPORTED)?;
    let list = body.strip_prefix("print").ok_or(AWK_UNSUPPORTED)?;
    let items = parse_print_list(list)?;
    Ok((
        filter,
        if items.is_empty() {
            vec![PrintItem::Field(0)]
        } else {
            items
        },
    ))
}

fn parse_print_list(list: &str) -> Result<Vec<PrintItem>, String> {
    let mut items = Vec::new();
    let mut chars = list.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {}
            ',' => items.push(PrintItem::Separator),
            '$' => items.push(parse_field_ref(&mut chars)?),
            '"' => {
                let text: String = chars.by_ref().take_while(|&c| c != '"').collect();
                items.push(PrintItem::Text(text));
            }
            _ => return Err(AWK_UNSUPPORTED.to_owned()),
        }
    }
    Ok(items)
}

fn parse_field_ref(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
) -> Result<PrintItem, String> {
    let mut name = String::new();
    while let Some(&c) = chars.peek() {
        if !c.is_ascii_alphanumeric() {
            break;
        }
        name.push(c);
        chars.next();
    }
    if name == "NF" {
        return Ok(PrintItem::LastField);
    }
    name.parse()
        .map(PrintItem::Field)
        .map_err(|_| AWK_UNSUPPORTED.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, args: &[&str], input: &str) -> (String, i32) {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let out = run_filter(name, &args, input.as_bytes());
        let text = String::from_utf8(out.stdout).unwrap() + &out.stderr;
        (text, out.status)
    }

    const PODS: &str =
        "NAME READY STATUS\nweb-1 1/1 Running\nweb-2 0/1 Pending\ndb-1 1/1 Running\n";

    #[test]
    fn grep_options() {
        assert_eq!(
            run("grep", &["Running"], PODS),
            ("web-1 1/1 Running\ndb-1 1/1 Running\n".into(), 0)
        );
        assert_eq!(run("grep", &["-c", "running"], PODS).0, "0\n");
        assert_eq!(run("grep", &["-ic", "running"], PODS).0, "2\n");
        assert_eq!(
            run("grep", &["-v", "1/1"], PODS).0,
            "NAME READY STATUS\nweb-2 0/1 Pending\n"
        );
        assert_eq!(run("grep", &["-E", "web-(1|2)", "-c"], PODS).0, "2\n");
        assert_eq!(
            run("grep", &["web-(1|2)"], PODS).1,
            1,
            "basic regex parentheses are literal"
        );
        assert_eq!(run("grep", &["-n", "db"], PODS).0, "4:db-1 1/1 Running\n");
        assert_eq!(run("grep", &["-q", "x"], PODS).1, 2);
        assert_eq!(run("grep", &["-E", "("], PODS).1, 2);
    }

    #[test]
    fn wc_counts() {
        assert_eq!(run("wc", &["-l"], PODS).0, "4\n");
        assert_eq!(run("wc", &[], "a b\nc\n").0, "      2       3       6\n");
        assert_eq!(run("wc", &["-l"], "no newline").0, "0\n");
    }

    #[test]
    fn head_and_tail() {
        assert_eq!(run("head", &["-n", "1"], PODS).0, "NAME READY STATUS\n");
        assert_eq!(
            run("tail", &["-2"], PODS).0,
            "web-2 0/1 Pending\ndb-1 1/1 Running\n"
        );
        assert_eq!(run("head", &["-n", "x"], PODS).1, 2);
    }

    #[test]
    fn sort_and_uniq() {
        assert_eq!(run("sort", &[], "b\na\nb\n").0, "a\nb\nb\n");
        assert_eq!(run("sort", &["-rn"], "2\n10\n1\n").0, "10\n2\n1\n");
        assert_eq!(
            run("uniq", &["-c"], "a\na\nb\n").0,
            "      2 a\n      1 b\n"
        );
    }

    #[test]
    fn cut_fields() {
        assert_eq!(
            run("cut", &["-d", " ", "-f", "1,3"], "a b c\nx\n").0,
            "a c\nx\n"
        );
        assert_eq!(run("cut", &["-d:", "-f2-"], "a:b:c\n").0, "b:c\n");
        assert_eq!(run("cut", &["-f", "0"], "a\n").1, 2);
    }

    #[test]
    fn awk_print() {
        assert_eq!(
            run("awk", &["{print $1}"], PODS).0,
            "NAME\nweb-1\nweb-2\ndb-1\n"
        );
        assert_eq!(run("awk", &["{print $1, $NF}"], "a b c\n").0, "a c\n");
        assert_eq!(run("awk", &["-F:", "{print $2 \"!\"}"], "a:b\n").0, "b!\n");
        assert_eq!(run("awk", &["/Pending/ {print $1}"], PODS).0, "web-2\n");
        assert_eq!(run("awk", &["{x = 1}"], PODS).1, 2);
    }

    #[test]
    fn file_operands_skip_patterns_and_values() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(file_operands("grep", &args(&["-i", "x", "f"])), ["f"]);
        assert_eq!(file_operands("head", &args(&["-n", "3", "f"])), ["f"]);
        assert!(file_operands("awk", &args(&["{print $1}"])).is_empty());
    }
}
