//! `lab user add|passwd`: accounts in the users file `lab serve` reads.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use lab_ssh::users::{self, DEFAULT_USER};

use super::serve::default_users_file;

#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Add a student account; asks for its password (twice on a terminal,
    /// one line from standard input otherwise).
    #[command(after_long_help = "\
Once the users file exists, only its users can log in: the default
thmuser account is gone. A running `lab serve` reads the file at start.

Examples:
  lab user add alice
  lab user add bob --key ~/.ssh/id_ed25519.pub --no-password
  echo 'S3cret-pass' | lab user add carol")]
    Add(AddArgs),
    /// Set a new password for an existing account.
    #[command(after_long_help = "Example:\n  lab user passwd alice")]
    Passwd(PasswdArgs),
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// Log-in name: lowercase letters, digits, '_' or '-'.
    pub name: String,

    /// A public key file (`*.pub`, OpenSSH notation) whose keys may log in
    /// as this user; repeatable.
    #[arg(long = "key", value_name = "PUBKEY_FILE")]
    pub keys: Vec<PathBuf>,

    /// Key log-in only: ask for no password.
    #[arg(long, requires = "keys")]
    pub no_password: bool,

    /// The users file [default: users.toml in the data directory].
    #[arg(long, value_name = "FILE")]
    pub users: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct PasswdArgs {
    /// The account whose password changes.
    pub name: String,

    /// The users file [default: users.toml in the data directory].
    #[arg(long, value_name = "FILE")]
    pub users: Option<PathBuf>,
}

pub fn execute(command: &UserCommand, data_dir: &Path) -> anyhow::Result<ExitCode> {
    match command {
        UserCommand::Add(args) => add(args, data_dir),
        UserCommand::Passwd(args) => passwd(args, data_dir),
    }
}

fn add(args: &AddArgs, data_dir: &Path) -> anyhow::Result<ExitCode> {
    let path = users_file(args.users.as_deref(), data_dir)?;
    let first = !path.exists();
    let keys = read_keys(&args.keys)?;
    let password = if args.no_password {
        None
    } else {
        Some(users::read_new_password(&format!(
            "Password for {}: ",
            args.name
        ))?)
    };

    users::add_user(&path, &args.name, password.as_deref(), &keys)
        .with_context(|| format!("cannot add {}", args.name))?;
    println!("Added {} to {}.", args.name, path.display());
    if first {
        println!(
            "Only users in this file can log in now; the default {DEFAULT_USER} account is off."
        );
    }
    println!("Restart `lab serve` for the change to take effect.");
    Ok(ExitCode::SUCCESS)
}

fn passwd(args: &PasswdArgs, data_dir: &Path) -> anyhow::Result<ExitCode> {
    let path = users_file(args.users.as_deref(), data_dir)?;
    let password = users::read_new_password(&format!("New password for {}: ", args.name))?;
    users::set_password(&path, &args.name, &password)
        .with_context(|| format!("cannot change the password of {}", args.name))?;
    println!("Password of {} changed in {}.", args.name, path.display());
    println!("Restart `lab serve` for the change to take effect.");
    Ok(ExitCode::SUCCESS)
}

/// The users file to change; its directory is created if needed.
fn users_file(explicit: Option<&Path>, data_dir: &Path) -> anyhow::Result<PathBuf> {
    let path = explicit.map_or_else(|| default_users_file(data_dir), Path::to_path_buf);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    Ok(path)
}

/// Every non-empty, non-comment line of the given public key files.
fn read_keys(files: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    let mut keys = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the public key file {}", file.display()))?;
        keys.extend(
            text.lines()
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.starts_with('#'))
                .map(str::to_owned),
        );
    }
    Ok(keys)
}
