//! Who may log in: the users file, password hashes and authorized keys.
//!
//! The users file is TOML, one table per user:
//!
//! ```toml
//! [users.alice]
//! password = "$argon2id$v=19$m=19456,t=2,p=1$..."   # optional
//! authorized_keys = ["ssh-ed25519 AAAAC3Nza... alice@laptop"]  # optional
//! ```
//!
//! Without a users file the lab has one user, [`DEFAULT_USER`], whose
//! password is [`DEFAULT_PASSWORD`]. [`add_user`] and [`set_password`] back
//! the `lab user add` and `lab user passwd` commands; they rewrite the file
//! (comments are not kept) with mode 0600.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};

use argon2::password_hash::PasswordHasher;
use argon2::password_hash::phc::{Output, PasswordHash};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use russh::keys::PublicKey;
use serde::{Deserialize, Serialize};

pub const DEFAULT_USER: &str = "thmuser";
pub const DEFAULT_PASSWORD: &str = "TryHackMe!";

#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("failed to read users file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("users file {path} is not valid")]
    Parse {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("users file {path}: user {user}: authorized key {index} is not an OpenSSH public key")]
    BadKey {
        path: PathBuf,
        user: String,
        index: usize,
        #[source]
        source: russh::keys::ssh_key::Error,
    },
    #[error("users file {path}: user {user}: password is not an argon2 PHC hash")]
    BadHash { path: PathBuf, user: String },
    #[error("failed to write users file {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to encode users file")]
    Encode(#[source] toml::ser::Error),
    #[error("failed to hash password")]
    Hash(#[source] argon2::password_hash::Error),
    #[error(
        "invalid user name {0:?}: use 1 to 32 lowercase letters, digits, '_' or '-', \
         starting with a letter or '_'"
    )]
    BadName(String),
    #[error("user {0} already exists")]
    Exists(String),
    #[error("no user {0} in the users file")]
    NoSuchUser(String),
    #[error("failed to read the password")]
    ReadPassword(#[source] std::io::Error),
    #[error("the two passwords do not match")]
    Mismatch,
    #[error("the password is empty")]
    EmptyPassword,
}

/// One user as stored in the file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRecord {
    /// Argon2 hash in PHC notation; `None` allows public-key log-in only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Public keys in `authorized_keys` notation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorized_keys: Vec<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersDocument {
    #[serde(default)]
    users: BTreeMap<String, UserRecord>,
}

struct LoadedUser {
    password: Option<String>,
    keys: Vec<PublicKey>,
}

/// Users the server accepts, checked and ready for authentication.
pub struct UserDirectory {
    users: BTreeMap<String, LoadedUser>,
    is_builtin_default: bool,
    /// Checked against for unknown users, so they cost the same time.
    decoy: PasswordHash,
}

impl UserDirectory {
    /// Reads `path`; with no path, or a path that does not exist, the
    /// directory holds only the default user.
    pub fn load(path: Option<&Path>) -> Result<UserDirectory, UsersError> {
        let document = match path {
            Some(path) => read_document(path)?,
            None => None,
        };
        match (document, path) {
            (Some(document), Some(path)) => Self::from_document(document, path),
            _ => Self::builtin_default(),
        }
    }

    /// True when the lab runs with the well-known default password.
    pub fn uses_default_password(&self) -> bool {
        self.is_builtin_default
    }

    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// Checks a password; costs one argon2 hash (tens of milliseconds), so
    /// call it off the async runtime. Unknown users cost the same time.
    pub fn verify_password(&self, user: &str, password: &str) -> bool {
        self.verify_password_in(user, password, &mut Vec::new())
    }

    /// [`verify_password`](Self::verify_password) with caller-owned argon2
    /// working memory (19 MiB with default parameters), so a thread that
    /// checks many passwords allocates it once.
    pub fn verify_password_in(&self, user: &str, password: &str, memory: &mut Vec<Block>) -> bool {
        let stored = self.users.get(user).and_then(|u| u.password.as_deref());
        let Some(hash) = stored.and_then(|h| PasswordHash::new(h).ok()) else {
            // Spend the same time as a real check, then refuse.
            let _ = verify_with_memory(&self.decoy, password.as_bytes(), memory);
            return false;
        };
        verify_with_memory(&hash, password.as_bytes(), memory)
    }
    /// True when `key` is one of the user's authorized keys (comments and
    /// options ignored).
    pub fn is_authorized_key(&self, user: &str, key: &PublicKey) -> bool {
        self.users
            .get(user)
            .is_some_and(|u| u.keys.iter().any(|k| k.key_data() == key.key_data()))
    }

    fn builtin_default() -> Result<UserDirectory, UsersError> {
        let password = Some(hash_password(DEFAULT_PASSWORD)?);
        let user = LoadedUser {
            password,
            keys: Vec::new(),
        };
        Ok(UserDirectory {
            users: BTreeMap::from([(DEFAULT_USER.to_owned(), user)]),
            is_builtin_default: true,
            decoy: decoy_hash()?,
        })
    }

    fn from_document(document: UsersDocument, path: &Path) -> Result<UserDirectory, UsersError> {
        let mut users = BTreeMap::new();
        for (name, record) in document.users {
            let loaded = load_user(path, &name, record)?;
            users.insert(name, loaded);
        }
        Ok(UserDirectory {
            users,
            is_builtin_default: false,
            decoy: decoy_hash()?,
        })
    }
}

fn decoy_hash() -> Result<PasswordHash, UsersError> {
    Argon2::default()
        .hash_password(b"decoy")
        .map_err(UsersError::Hash)
}

/// Recomputes `hash` for `password` in `memory` and compares in constant
/// time. Any malformed part of the hash counts as a mismatch.
fn verify_with_memory(hash: &PasswordHash, password: &[u8], memory: &mut Vec<Block>) -> bool {
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm.as_str()) else {
        return false;
    };
    let Ok(version) = hash
        .version
        .map_or(Ok(Version::default()), Version::try_from)
    else {
        return false;
    };
    let Ok(params) = Params::try_from(hash) else {
        return false;
    };
    memory.resize(params.block_count(), Block::new());
    let mut computed = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params);
    if argon2
        .hash_password_into_with_memory(password, salt, &mut computed, &mut memory[..])
        .is_err()
    {
        return false;
    }
    Output::new(&computed).is_ok_and(|computed| &computed == expected)
}

fn load_user(path: &Path, name: &str, record: UserRecord) -> Result<LoadedUser, UsersError> {
    validate_name(name)?;
    if let Some(hash) = &record.password {
        PasswordHash::new(hash).map_err(|_| UsersError::BadHash {
            path: path.into(),
            user: name.into(),
        })?;
    }
    let mut keys = Vec::new();
    for (index, line) in record.authorized_keys.iter().enumerate() {
        let key = PublicKey::from_openssh(line).map_err(|source| UsersError::BadKey {
            path: path.into(),
            user: name.into(),
            index,
            source,
        })?;
        keys.push(key);
    }
    Ok(LoadedUser {
        password: record.password,
        keys,
    })
}

fn read_document(path: &Path) -> Result<Option<UsersDocument>, UsersError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(UsersError::Read {
                path: path.into(),
                source,
            });
        }
    };
    let document = toml::from_str(&text).map_err(|source| UsersError::Parse {
        path: path.into(),
        source,
    })?;
    Ok(Some(document))
}

fn write_document(path: &Path, document: &UsersDocument) -> Result<(), UsersError> {
    let text = toml::to_string(document).map_err(UsersError::Encode)?;
    crate::host_key::write_private(path, text.as_bytes()).map_err(|source| UsersError::Write {
        path: path.into(),
        source,
    })
}

/// Hashes a password with argon2id and a random salt, in PHC notation.
pub fn hash_password(password: &str) -> Result<String, UsersError> {
    let hash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(UsersError::Hash)?;
    Ok(hash.to_string())
}

/// Adds a user to the users file, creating the file if needed. `password`
/// may be `None` for a user who logs in with keys only; each key must be in
/// `authorized_keys` notation.
pub fn add_user(
    path: &Path,
    name: &str,
    password: Option<&str>,
    authorized_keys: &[String],
) -> Result<(), UsersError> {
    validate_name(name)?;
    let mut document = read_document(path)?.unwrap_or_default();
    if document.users.contains_key(name) {
        return Err(UsersError::Exists(name.into()));
    }
    let record = UserRecord {
        password: password.map(hash_password).transpose()?,
        authorized_keys: authorized_keys.to_vec(),
    };
    load_user(path, name, record.clone())?;

    document.users.insert(name.into(), record);
    write_document(path, &document)
}

/// Replaces an existing user's password.
pub fn set_password(path: &Path, name: &str, password: &str) -> Result<(), UsersError> {
    let mut document = read_document(path)?.unwrap_or_default();
    let record = document
        .users
        .get_mut(name)
        .ok_or_else(|| UsersError::NoSuchUser(name.into()))?;
    record.password = Some(hash_password(password)?);
    write_document(path, &document)
}

/// Reads a new password: from the terminal without echo (asked twice) when
/// stdin is a terminal, otherwise as one line from stdin (for scripts).
pub fn read_new_password(prompt: &str) -> Result<String, UsersError> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(prompt).map_err(UsersError::ReadPassword)?;
        let second =
            rpassword::prompt_password("Repeat password: ").map_err(UsersError::ReadPassword)?;
        if first != second {
            return Err(UsersError::Mismatch);
        }
        first
    } else {
        read_password_line(&mut std::io::stdin().lock())?
    };
    if password.is_empty() {
        return Err(UsersError::EmptyPassword);
    }
    Ok(password)
}

/// One line without its line ending.
fn read_password_line(reader: &mut impl BufRead) -> Result<String, UsersError> {
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .map_err(UsersError::ReadPassword)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn validate_name(name: &str) -> Result<(), UsersError> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if first_ok && rest_ok && name.len() <= 32 {
        Ok(())
    } else {
        Err(UsersError::BadName(name.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_public_key() -> String {
        let key =
            russh::keys::PrivateKey::random(&mut rand::rng(), russh::keys::Algorithm::Ed25519);
        key.unwrap().public_key().to_openssh().unwrap()
    }

    #[test]
    fn missing_file_means_default_user() {
        let dir = tempfile::tempdir().unwrap();
        let users = UserDirectory::load(Some(&dir.path().join("users.toml"))).unwrap();
        assert!(users.uses_default_password());
        assert!(users.verify_password(DEFAULT_USER, DEFAULT_PASSWORD));
        assert!(!users.verify_password(DEFAULT_USER, "wrong"));
        assert!(!users.verify_password("root", DEFAULT_PASSWORD));
    }

    #[test]
    fn add_then_passwd_then_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.toml");

        let key_line = new_public_key();
        add_user(
            &path,
            "alice",
            Some("first"),
            std::slice::from_ref(&key_line),
        )
        .unwrap();
        set_password(&path, "alice", "second").unwrap();
        let users = UserDirectory::load(Some(&path)).unwrap();

        assert!(!users.uses_default_password());
        assert!(users.verify_password("alice", "second"));
        assert!(!users.verify_password("alice", "first"));
        assert!(!users.verify_password(DEFAULT_USER, DEFAULT_PASSWORD));
        let key = PublicKey::from_openssh(&key_line).unwrap();
        assert!(users.is_authorized_key("alice", &key));
        assert!(!users.is_authorized_key("bob", &key));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("$argon2id$") && !text.contains("second"));
    }

    #[test]
    fn duplicate_user_bad_name_and_unknown_user_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.toml");
        add_user(&path, "alice", Some("pw"), &[]).unwrap();

        assert!(matches!(
            add_user(&path, "alice", Some("x"), &[]),
            Err(UsersError::Exists(_))
        ));
        assert!(matches!(
            add_user(&path, "Al ice", None, &[]),
            Err(UsersError::BadName(_))
        ));
        assert!(matches!(
            set_password(&path, "bob", "x"),
            Err(UsersError::NoSuchUser(_))
        ));
    }

    #[test]
    fn bad_key_in_file_names_user_and_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.toml");
        std::fs::write(
            &path,
            "[users.bob]\nauthorized_keys = [\"ssh-ed25519 nope\"]\n",
        )
        .unwrap();
        let error = UserDirectory::load(Some(&path)).err().unwrap();
        assert!(
            error.to_string().contains("user bob: authorized key 0"),
            "{error}"
        );
    }

    #[test]
    fn unknown_field_is_a_parse_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.toml");
        std::fs::write(&path, "[users.bob]\npasword = \"x\"\n").unwrap();
        assert!(matches!(
            UserDirectory::load(Some(&path)),
            Err(UsersError::Parse { .. })
        ));
    }

    #[test]
    fn reused_memory_gives_the_same_answers() {
        let users = UserDirectory::load(None).unwrap();
        let mut memory = Vec::new();
        for _ in 0..2 {
            assert!(users.verify_password_in(DEFAULT_USER, DEFAULT_PASSWORD, &mut memory));
            assert!(!users.verify_password_in(DEFAULT_USER, "TryHackMe", &mut memory));
            assert!(!users.verify_password_in("nobody", DEFAULT_PASSWORD, &mut memory));
        }
        assert_eq!(memory.len(), 19 * 1024);
    }

    #[test]
    fn password_line_strips_line_ending() {
        let mut input = std::io::Cursor::new(b"s3cret\r\nnext\n".to_vec());
        assert_eq!(read_password_line(&mut input).unwrap(), "s3cret");
    }
}
