//! Built-in commands: the ones that read or change the shell itself
//! (`cd`, `export`, `history`, `exit`) and the small file and text tools
//! that work on the scratch files (`ls`, `cat`, `echo`).

use std::time::Duration;

use crate::filters;
use crate::parse::is_valid_var_name;
use crate::scratch::{EntryKind, resolve_path};
use crate::shell::{Shell, StageIo};

/// The longest `sleep` accepted, so a typo cannot park a session for days.
const MAX_SLEEP: Duration = Duration::from_secs(3600);

/// A built-in command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    Cat,
    Cd,
    Clear,
    Echo,
    Env,
    Exit,
    Export,
    False,
    Help,
    History,
    Hostname,
    Ls,
    Man,
    Mkdir,
    Pwd,
    Rm,
    Sleep,
    Touch,
    True,
    Unset,
    Whoami,
}

impl Builtin {
    pub const ALL: [Builtin; 21] = [
        Builtin::Cat,
        Builtin::Cd,
        Builtin::Clear,
        Builtin::Echo,
        Builtin::Env,
        Builtin::Exit,
        Builtin::Export,
        Builtin::False,
        Builtin::Help,
        Builtin::History,
        Builtin::Hostname,
        Builtin::Ls,
        Builtin::Man,
        Builtin::Mkdir,
        Builtin::Pwd,
        Builtin::Rm,
        Builtin::Sleep,
        Builtin::Touch,
        Builtin::True,
        Builtin::Unset,
        Builtin::Whoami,
    ];

    pub fn from_name(name: &str) -> Option<Builtin> {
        Builtin::ALL.into_iter().find(|b| b.name() == name)
    }

    pub fn name(self) -> &'static str {
        self.describe().0
    }

    pub fn summary(self) -> &'static str {
        self.describe().1
    }

    /// The usage line shown by `--help` and `man`.
    pub fn usage(self) -> &'static str {
        self.describe().2
    }

    fn describe(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Builtin::Cat => ("cat", "print scratch files", "cat [FILE]..."),
            Builtin::Cd => ("cd", "change the working directory", "cd [DIR]"),
            Builtin::Clear => ("clear", "clear the terminal", "clear"),
            Builtin::Echo => ("echo", "print its arguments", "echo [-n] [-e] [WORD]..."),
            Builtin::Env => ("env", "list exported variables", "env"),
            Builtin::Exit => ("exit", "leave the terminal pane", "exit [STATUS]"),
            Builtin::Export => (
                "export",
                "export variables to commands",
                "export [NAME[=VALUE]]...",
            ),
            Builtin::False => ("false", "do nothing, unsuccessfully", "false"),
            Builtin::Help => ("help", "list the commands of the lab shell", "help"),
            Builtin::History => ("history", "list the lines you ran", "history [-c] [N]"),
            Builtin::Hostname => ("hostname", "print the lab's host name", "hostname"),
            Builtin::Ls => ("ls", "list scratch files", "ls [-l] [-a] [PATH]..."),
            Builtin::Man => ("man", "show the manual of a command", "man COMMAND"),
            Builtin::Mkdir => ("mkdir", "make scratch directories", "mkdir DIR..."),
            Builtin::Pwd => ("pwd", "print the working directory", "pwd"),
            Builtin::Rm => ("rm", "remove scratch files", "rm [-r] PATH..."),
            Builtin::Sleep => ("sleep", "wait a number of seconds", "sleep SECONDS"),
            Builtin::Touch => ("touch", "create empty scratch files", "touch FILE..."),
            Builtin::True => ("true", "do nothing, successfully", "true"),
            Builtin::Unset => ("unset", "remove variables", "unset NAME..."),
            Builtin::Whoami => ("whoami", "print your user name", "whoami"),
        }
    }
}

/// Writes text to a stage output; a closed reader (the pane went away or
/// `head` stopped reading) is not an error for a built-in.
async fn out(target: &lab_engine_api::CommandOutput, text: impl Into<Vec<u8>>) {
    let _ = target.write(text).await;
}

impl Shell {
    pub(crate) async fn run_builtin(
        &mut self,
        builtin: Builtin,
        args: &[String],
        io: StageIo,
    ) -> i32 {
        if args.first().is_some_and(|a| a == "--help") {
            out(
                &io.stdout,
                format!("usage: {}\n{}.\n", builtin.usage(), builtin.summary()),
            )
            .await;
            return 0;
        }
        match builtin {
            Builtin::Cat => self.cat(args, &io).await,
            Builtin::Cd => self.cd(args, &io).await,
            Builtin::Clear => {
                out(&io.stdout, "\x1b[H\x1b[2J\x1b[3J").await;
                0
            }
            Builtin::Echo => echo(args, &io).await,
            Builtin::Env => self.print_env(&io).await,
            Builtin::Exit => self.exit(args, &io).await,
            Builtin::Export => self.export(args, &io).await,
            Builtin::False => 1,
            Builtin::True => 0,
            Builtin::Help => self.help(&io).await,
            Builtin::History => self.print_history(args, &io).await,
            Builtin::Hostname => self.print_line(&self.hostname, &io).await,
            Builtin::Whoami => self.print_line(&self.user, &io).await,
            Builtin::Pwd => self.print_line(&self.cwd, &io).await,
            Builtin::Ls => self.ls(args, &io).await,
            Builtin::Man => self.man(args, &io).await,
            Builtin::Mkdir => {
                self.each_path("mkdir", args, &io, |fs, p| fs.create_dir(p))
                    .await
            }
            Builtin::Rm => self.each_path("rm", args, &io, |fs, p| fs.remove(p)).await,
            Builtin::Touch => {
                self.each_path("touch", args, &io, |fs, p| fs.write_file(p, b"", true))
                    .await
            }
            Builtin::Sleep => sleep(args, &io).await,
            Builtin::Unset => self.unset(args),
        }
    }

    async fn print_line(&self, text: &str, io: &StageIo) -> i32 {
        out(&io.stdout, format!("{text}\n")).await;
        0
    }

    async fn cat(&self, args: &[String], io: &StageIo) -> i32 {
        let files: Vec<&String> = args.iter().filter(|a| a.as_str() != "-").collect();
        if files.is_empty() {
            return match &io.stdin {
                Some(bytes) => {
                    out(&io.stdout, bytes.clone()).await;
                    0
                }
                None => {
                    out(
                        &io.stderr,
                        "cat: reading from the keyboard is not supported; name a file\n",
                    )
                    .await;
                    1
                }
            };
        }
        let mut status = 0;
        for file in files {
            match self.fs.read_file(&resolve_path(&self.cwd, file)) {
                Ok(bytes) => out(&io.stdout, bytes).await,
                Err(error) => {
                    out(&io.stderr, format!("cat: {file}: {error}\n")).await;
                    status = 1;
                }
            }
        }
        status
    }

    async fn cd(&mut self, args: &[String], io: &StageIo) -> i32 {
        let target = match args {
            [] => self.home.clone(),
            [dir] if dir == "-" => self
                .vars
                .get("OLDPWD")
                .cloned()
                .unwrap_or_else(|| self.cwd.clone()),
            [dir] => dir.clone(),
            _ => {
                out(&io.stderr, "lab: cd: too many arguments\n").await;
                return 1;
            }
        };
        let absolute = resolve_path(&self.cwd, &target);
        match self.fs.kind(&absolute) {
            Some(EntryKind::Directory) => {
                let old = std::mem::replace(&mut self.cwd, absolute.clone());
                self.set_var("OLDPWD", old, true);
                self.set_var("PWD", absolute, true);
                0
            }
            Some(EntryKind::File) => {
                out(&io.stderr, format!("lab: cd: {target}: Not a directory\n")).await;
                1
            }
            None => {
                out(
                    &io.stderr,
                    format!("lab: cd: {target}: No such file or directory\n"),
                )
                .await;
                1
            }
        }
    }

    async fn print_env(&self, io: &StageIo) -> i32 {
        let text: String = self
            .env()
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect();
        out(&io.stdout, text).await;
        0
    }

    async fn exit(&mut self, args: &[String], io: &StageIo) -> i32 {
        let status = match args.first() {
            None => self.last_status(),
            Some(text) => match text.parse::<i32>() {
                Ok(n) => n & 0xff,
                Err(_) => {
                    out(
                        &io.stderr,
                        format!("lab: exit: {text}: numeric argument required\n"),
                    )
                    .await;
                    2
                }
            },
        };
        self.exit_requested = Some(status);
        status
    }

    async fn export(&mut self, args: &[String], io: &StageIo) -> i32 {
        if args.is_empty() {
            let listing: String = self
                .env()
                .iter()
                .map(|(k, v)| format!("declare -x {k}=\"{v}\"\n"))
                .collect();
            out(&io.stdout, listing).await;
            return 0;
        }
        let mut status = 0;
        for arg in args {
            let (name, value) = match arg.split_once('=') {
                Some((name, value)) => (name, Some(value.to_owned())),
                None => (arg.as_str(), None),
            };
            if !is_valid_var_name(name) || name.starts_with(|c: char| c.is_ascii_digit()) {
                out(
                    &io.stderr,
                    format!("lab: export: `{arg}': not a valid identifier\n"),
                )
                .await;
                status = 1;
                continue;
            }
            let value = value
                .or_else(|| self.vars.get(name).cloned())
                .unwrap_or_default();
            self.set_var(name, value, true);
        }
        status
    }

    fn unset(&mut self, args: &[String]) -> i32 {
        for name in args {
            self.vars.remove(name);
            self.exported.remove(name);
        }
        0
    }

    async fn help(&self, io: &StageIo) -> i32 {
        let mut text =
            String::from("Lab shell commands (COMMAND --help or man COMMAND for more):\n\n");
        let mut rows: Vec<(String, String)> = Builtin::ALL
            .iter()
            .map(|b| (b.name().to_owned(), b.summary().to_owned()))
            .collect();
        rows.extend(
            filters::FILTERS
                .iter()
                .map(|(n, s)| ((*n).to_owned(), (*s).to_owned())),
        );
        rows.extend(
            self.registry
                .iter()
                .map(|c| (c.name().to_owned(), c.summary().to_owned())),
        );
        rows.sort();
        for (name, summary) in rows {
            text.push_str(&format!("  {name:<10} {summary}\n"));
        }
        text.push_str("\nPipes (|), ;, &&, ||, > and >> into scratch files, $VAR and quotes work as in bash.\n");
        out(&io.stdout, text).await;
        0
    }

    async fn print_history(&mut self, args: &[String], io: &StageIo) -> i32 {
        if args.first().is_some_and(|a| a == "-c") {
            self.history.clear();
            return 0;
        }
        let limit = args
            .first()
            .and_then(|a| a.parse::<usize>().ok())
            .unwrap_or(usize::MAX);
        let skip = self.history.len().saturating_sub(limit);
        let text: String = self
            .history
            .numbered()
            .skip(skip)
            .map(|(n, line)| format!("{n:>5}  {line}\n"))
            .collect();
        out(&io.stdout, text).await;
        0
    }

    async fn man(&self, args: &[String], io: &StageIo) -> i32 {
        let Some(name) = args.first() else {
            out(
                &io.stderr,
                "What manual page do you want?\nFor example, try 'man man'.\n",
            )
            .await;
            return 1;
        };
        match self.manual(name, &args[1..]) {
            Some(text) => {
                out(&io.stdout, text).await;
                0
            }
            None => {
                out(&io.stderr, format!("No manual entry for {name}\n")).await;
                16
            }
        }
    }

    /// The manual text of any command the shell knows.
    pub fn manual(&self, name: &str, topic: &[String]) -> Option<String> {
        if let Some(builtin) = Builtin::from_name(name) {
            return Some(format!(
                "{name} - {}\n\nusage: {}\n",
                builtin.summary(),
                builtin.usage()
            ));
        }
        if let Some((_, summary)) = filters::FILTERS.iter().find(|(n, _)| *n == name) {
            return Some(format!("{name} - {summary}\n"));
        }
        self.registry.get(name).map(|command| command.help(topic))
    }

    async fn ls(&self, args: &[String], io: &StageIo) -> i32 {
        let long = args.iter().any(|a| a.starts_with('-') && a.contains('l'));
        let paths: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
        let targets: Vec<String> = if paths.is_empty() {
            vec![".".to_owned()]
        } else {
            paths.into_iter().cloned().collect()
        };
        let mut status = 0;
        for (index, path) in targets.iter().enumerate() {
            if targets.len() > 1 {
                let gap = if index > 0 { "\n" } else { "" };
                out(&io.stdout, format!("{gap}{path}:\n")).await;
            }
            if let Err(message) = self.ls_one(path, long, io).await {
                out(&io.stderr, message).await;
                status = 2;
            }
        }
        status
    }

    async fn ls_one(&self, path: &str, long: bool, io: &StageIo) -> Result<(), String> {
        let absolute = resolve_path(&self.cwd, path);
        let entries = match self.fs.kind(&absolute) {
            Some(EntryKind::File) => {
                let size = self.fs.read_file(&absolute).map(|b| b.len()).unwrap_or(0);
                vec![crate::scratch::DirEntry {
                    name: path.to_owned(),
                    kind: EntryKind::File,
                    size,
                }]
            }
            _ => self
                .fs
                .list_dir(&absolute)
                .map_err(|e| format!("ls: cannot access '{path}': {e}\n"))?,
        };
        let text = if long {
            entries
                .iter()
                .map(|e| format_long(e, &self.user, io.to_terminal))
                .collect()
        } else if io.to_terminal {
            let names: Vec<String> = entries.iter().map(|e| colour_name(e, true)).collect();
            if names.is_empty() {
                String::new()
            } else {
                format!("{}\n", names.join("  "))
            }
        } else {
            entries.iter().map(|e| format!("{}\n", e.name)).collect()
        };
        out(&io.stdout, text).await;
        Ok(())
    }

    async fn each_path(
        &self,
        name: &str,
        args: &[String],
        io: &StageIo,
        action: impl Fn(&crate::scratch::ScratchFs, &str) -> Result<(), crate::scratch::ScratchError>,
    ) -> i32 {
        let paths: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
        if paths.is_empty() {
            out(&io.stderr, format!("{name}: missing operand\n")).await;
            return 1;
        }
        let mut status = 0;
        for path in paths {
            if let Err(error) = action(&self.fs, &resolve_path(&self.cwd, path)) {
                out(&io.stderr, format!("{name}: {path}: {error}\n")).await;
                status = 1;
            }
        }
        status
    }
}

fn format_long(entry: &crate::scratch::DirEntry, user: &str, colour: bool) -> String {
    let (mode, links) = match entry.kind {
        EntryKind::Directory => ("drwxr-xr-x", 2),
        EntryKind::File => ("-rw-r--r--", 1),
    };
    let name = colour_name(entry, colour);
    format!("{mode} {links} {user} {user} {:>8} {name}\n", entry.size)
}

/// Directories in bold blue, as `ls --color=auto` shows them.
fn colour_name(entry: &crate::scratch::DirEntry, colour: bool) -> String {
    if colour && entry.kind == EntryKind::Directory {
        format!("\x1b[1;34m{}\x1b[0m", entry.name)
    } else {
        entry.name.clone()
    }
}

async fn echo(args: &[String], io: &StageIo) -> i32 {
    let mut newline = true;
    let mut escapes = false;
    let mut words = args;
    while let Some((flag, rest)) = words.split_first() {
        match flag.as_str() {
            "-n" => newline = false,
            "-e" => escapes = true,
            "-ne" | "-en" => (newline, escapes) = (false, true),
            _ => break,
        }
        words = rest;
    }
    let mut text = words.join(" ");
    if escapes {
        text = interpret_escapes(&text);
    }
    if newline {
        text.push('\n');
    }
    out(&io.stdout, text).await;
    0
}

fn interpret_escapes(text: &str) -> String {
    let mut result = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            result.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => result.push('\n'),
            Some('t') => result.push('\t'),
            Some('e') => result.push('\x1b'),
            Some('\\') => result.push('\\'),
            Some(other) => {
                result.push('\\');
                result.push(other);
            }
            None => result.push('\\'),
        }
    }
    result
}

async fn sleep(args: &[String], io: &StageIo) -> i32 {
    let Some(text) = args.first() else {
        out(&io.stderr, "sleep: missing operand\n").await;
        return 1;
    };
    let seconds = text.strip_suffix('s').unwrap_or(text).parse::<f64>();
    let duration = match seconds {
        Ok(s) if s.is_finite() && s >= 0.0 => Duration::from_secs_f64(s).min(MAX_SLEEP),
        _ => {
            out(
                &io.stderr,
                format!("sleep: invalid time interval '{text}'\n"),
            )
            .await;
            return 1;
        }
    };
    tokio::select! {
        () = tokio::time::sleep(duration) => 0,
        () = io.cancel.cancelled() => crate::shell::INTERRUPTED_STATUS,
    }
}
