//! Command-line parsing in kubectl's manner: flags may come anywhere, as
//! `--flag=value`, `--flag value`, `-n value` or `-nvalue`; everything else
//! is positional.

use std::collections::BTreeMap;

/// Flags that take a value, with their one-letter forms.
const VALUE_FLAGS: &[(&str, Option<char>)] = &[
    ("namespace", Some('n')),
    ("output", Some('o')),
    ("selector", Some('l')),
    ("filename", Some('f')),
    ("container", Some('c')),
    ("replicas", None),
    ("image", None),
    ("port", None),
    ("target-port", None),
    ("type", None),
    ("name", None),
    ("protocol", None),
    ("tail", None),
    ("to-revision", None),
    ("revision", None),
    ("timeout", None),
    ("field-selector", None),
    ("kubeconfig", None),
    ("context", None),
    ("dry-run", None),
    ("since", None),
];

/// Flags that stand alone, with their one-letter forms.
const BOOL_FLAGS: &[(&str, Option<char>)] = &[
    ("all-namespaces", Some('A')),
    ("help", Some('h')),
    ("watch", Some('w')),
    ("previous", Some('p')),
    ("show-labels", None),
    ("all", None),
    ("follow", None),
    ("no-headers", None),
    ("timestamps", None),
    ("ignore-not-found", None),
    ("now", None),
    ("force", None),
    ("client", None),
    ("short", None),
    ("minify", None),
    ("raw", None),
    ("recursive", None),
];

/// A parsed command line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Args {
    pub positional: Vec<String>,
    values: BTreeMap<String, String>,
    switches: Vec<String>,
}

impl Args {
    /// Parses `words`. In `logs`, `-f` means `--follow` as in kubectl.
    pub fn parse(words: &[String]) -> Result<Args, String> {
        let logs = words
            .iter()
            .find(|w| !w.starts_with('-'))
            .is_some_and(|w| w == "logs");
        let mut args = Args::default();
        let mut rest = words.iter();
        while let Some(word) = rest.next() {
            if word == "--" {
                args.positional.extend(rest.by_ref().cloned());
                break;
            }
            if let Some(long) = word.strip_prefix("--") {
                args.long_flag(long, &mut rest)?;
            } else if word.len() > 1 && word.starts_with('-') {
                args.short_flag(&word[1..], logs, &mut rest)?;
            } else {
                args.positional.push(word.clone());
            }
        }
        Ok(args)
    }

    fn long_flag<'a>(
        &mut self,
        flag: &str,
        rest: &mut impl Iterator<Item = &'a String>,
    ) -> Result<(), String> {
        let (name, inline) = match flag.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (flag, None),
        };
        if VALUE_FLAGS.iter().any(|(long, _)| *long == name) {
            let value = match inline {
                Some(value) => value,
                None => rest
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("flag needs an argument: --{name}"))?,
            };
            self.values.insert(name.to_string(), value);
            return Ok(());
        }
        if BOOL_FLAGS.iter().any(|(long, _)| *long == name) {
            if inline.as_deref() != Some("false") {
                self.switches.push(name.to_string());
            }
            return Ok(());
        }
        Err(format!("unknown flag: --{name}"))
    }

    fn short_flag<'a>(
        &mut self,
        flag: &str,
        logs: bool,
        rest: &mut impl Iterator<Item = &'a String>,
    ) -> Result<(), String> {
        for (at, letter) in flag.char_indices() {
            if logs && letter == 'f' {
                self.switches.push("follow".to_string());
                continue;
            }
            if let Some((long, _)) = BOOL_FLAGS.iter().find(|(_, s)| *s == Some(letter)) {
                self.switches.push(long.to_string());
                continue;
            }
            let Some((long, _)) = VALUE_FLAGS.iter().find(|(_, s)| *s == Some(letter)) else {
                return Err(format!("unknown shorthand flag: '{letter}' in -{flag}"));
            };
            let attached = &flag[at + letter.len_utf8()..];
            let value = match attached.strip_prefix('=').unwrap_or(attached) {
                "" => rest
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("flag needs an argument: '{letter}' in -{flag}"))?,
                value => value.to_string(),
            };
            self.values.insert(long.to_string(), value);
            break;
        }
        Ok(())
    }

    /// The value of a flag that takes one.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Whether a standalone flag was given.
    pub fn switch(&self, name: &str) -> bool {
        self.switches.iter().any(|s| s == name)
    }

    /// A flag's value as a number, with kubectl's complaint when it is not.
    pub fn number(&self, name: &str) -> Result<Option<i64>, String> {
        self.value(name)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    format!("invalid argument \"{v}\" for \"--{name}\" flag: parse error")
                })
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Args {
        let words: Vec<String> = line.split_whitespace().map(String::from).collect();
        Args::parse(&words).unwrap()
    }

    #[test]
    fn flags_in_every_spelling() {
        let args = parse("get pods -n kube-system -owide --selector=app=web -A");
        assert_eq!(args.positional, ["get", "pods"]);
        assert_eq!(args.value("namespace"), Some("kube-system"));
        assert_eq!(args.value("output"), Some("wide"));
        assert_eq!(args.value("selector"), Some("app=web"));
        assert!(args.switch("all-namespaces"));
    }

    #[test]
    fn dash_f_follows_in_logs_and_names_a_file_elsewhere() {
        assert!(parse("logs web -f --tail=3").switch("follow"));
        assert_eq!(
            parse("apply -f app.yaml").value("filename"),
            Some("app.yaml")
        );
    }

    #[test]
    fn unknown_and_incomplete_flags_are_errors() {
        let words = |l: &str| l.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert!(Args::parse(&words("get pods --bogus")).is_err());
        assert!(Args::parse(&words("get pods -n")).is_err());
        assert!(Args::parse(&words("get pods -Z")).is_err());
    }
}
