//! A small flag parser with the docker CLI's conventions: `-d`, `-p 80:80`,
//! `-p=80:80`, `--name x`, `--name=x`, bundled short flags (`-dq`), and
//! (for `run` and `exec`) flags only before the first positional argument.

/// One flag a subcommand accepts.
#[derive(Debug, Clone, Copy)]
pub struct FlagSpec {
    pub short: Option<char>,
    pub long: &'static str,
    pub takes_value: bool,
}

/// A flag as found on the command line, by its long name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub long: &'static str,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub flags: Vec<Flag>,
    pub positionals: Vec<String>,
}

impl Parsed {
    pub fn has(&self, long: &str) -> bool {
        self.flags.iter().any(|f| f.long == long)
    }

    /// The last value given for a flag.
    pub fn value(&self, long: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|f| f.long == long)
            .and_then(|f| f.value.as_deref())
    }

    /// Every value given for a repeatable flag, in order.
    pub fn values(&self, long: &str) -> Vec<&str> {
        self.flags
            .iter()
            .filter(|f| f.long == long)
            .filter_map(|f| f.value.as_deref())
            .collect()
    }
}

/// Parses `args`; with `stop_at_positional`, everything from the first
/// positional argument on is positional (the image's command line).
pub fn parse(
    args: &[String],
    specs: &[FlagSpec],
    stop_at_positional: bool,
) -> Result<Parsed, String> {
    let mut parsed = Parsed::default();
    let mut index = 0;
    while index < args.len() {
        let arg = &args[index];
        index += 1;
        if arg == "--" {
            parsed.positionals.extend(args[index..].iter().cloned());
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            index = parse_long(long, args, index, specs, &mut parsed)?;
        } else if arg.len() > 1 && arg.starts_with('-') {
            index = parse_short(&arg[1..], args, index, specs, &mut parsed)?;
        } else {
            parsed.positionals.push(arg.clone());
            if stop_at_positional {
                parsed.positionals.extend(args[index..].iter().cloned());
                break;
            }
        }
    }
    Ok(parsed)
}

fn parse_long(
    text: &str,
    args: &[String],
    mut index: usize,
    specs: &[FlagSpec],
    parsed: &mut Parsed,
) -> Result<usize, String> {
    let (name, inline) = match text.split_once('=') {
        Some((name, value)) => (name, Some(value.to_owned())),
        None => (text, None),
    };
    let spec = specs
        .iter()
        .find(|s| s.long == name)
        .ok_or(format!("unknown flag: --{name}"))?;
    let value = if spec.takes_value {
        match inline {
            Some(value) => Some(value),
            None => {
                let value = args
                    .get(index)
                    .cloned()
                    .ok_or(format!("flag needs an argument: --{name}"))?;
                index += 1;
                Some(value)
            }
        }
    } else {
        None
    };
    parsed.flags.push(Flag {
        long: spec.long,
        value,
    });
    Ok(index)
}

fn parse_short(
    text: &str,
    args: &[String],
    mut index: usize,
    specs: &[FlagSpec],
    parsed: &mut Parsed,
) -> Result<usize, String> {
    for (offset, c) in text.char_indices() {
        let spec = specs
            .iter()
            .find(|s| s.short == Some(c))
            .ok_or(format!("unknown shorthand flag: '{c}' in -{text}"))?;
        if !spec.takes_value {
            parsed.flags.push(Flag {
                long: spec.long,
                value: None,
            });
            continue;
        }
        let rest = &text[offset + c.len_utf8()..];
        let value = if !rest.is_empty() {
            rest.strip_prefix('=').unwrap_or(rest).to_owned()
        } else {
            let value = args
                .get(index)
                .cloned()
                .ok_or(format!("flag needs an argument: '{c}' in -{c}"))?;
            index += 1;
            value
        };
        parsed.flags.push(Flag {
            long: spec.long,
            value: Some(value),
        });
        return Ok(index);
    }
    Ok(index)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const SPECS: &[FlagSpec] = &[
        FlagSpec {
            short: Some('d'),
            long: "detach",
            takes_value: false,
        },
        FlagSpec {
            short: Some('p'),
            long: "publish",
            takes_value: true,
        },
        FlagSpec {
            short: None,
            long: "name",
            takes_value: true,
        },
    ];

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn flags_stop_at_the_image_for_run() {
        let parsed = parse(
            &strings(&["-dp", "5000:5000", "--name=web", "img", "-d", "x"]),
            SPECS,
            true,
        )
        .unwrap();
        assert!(parsed.has("detach"));
        assert_eq!(parsed.value("publish"), Some("5000:5000"));
        assert_eq!(parsed.value("name"), Some("web"));
        assert_eq!(parsed.positionals, strings(&["img", "-d", "x"]));
    }

    #[test]
    fn unknown_flags_are_reported_like_docker() {
        assert_eq!(
            parse(&strings(&["--foo"]), SPECS, true).unwrap_err(),
            "unknown flag: --foo"
        );
        assert_eq!(
            parse(&strings(&["-x"]), SPECS, true).unwrap_err(),
            "unknown shorthand flag: 'x' in -x"
        );
        assert_eq!(
            parse(&strings(&["--name"]), SPECS, true).unwrap_err(),
            "flag needs an argument: --name"
        );
    }
}
