//! The server's ed25519 host key: created on first start, reused after.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use russh::keys::ssh_key::LineEnding;
use russh::keys::{Algorithm, HashAlg, PrivateKey};

#[derive(Debug, thiserror::Error)]
pub enum HostKeyError {
    #[error("failed to read host key {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("host key {path} is not an OpenSSH private key")]
    Parse {
        path: PathBuf,
        #[source]
        source: russh::keys::ssh_key::Error,
    },
    #[error("failed to generate a host key")]
    Generate(#[source] russh::keys::ssh_key::Error),
    #[error("failed to write host key {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Loads the key at `path`, or creates one there (mode 0600, parent
/// directories as needed) when the file does not exist.
pub fn load_or_create(path: &Path) -> Result<PrivateKey, HostKeyError> {
    match fs::read_to_string(path) {
        Ok(text) => PrivateKey::from_openssh(text).map_err(|source| HostKeyError::Parse {
            path: path.into(),
            source,
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => create(path),
        Err(source) => Err(HostKeyError::Read {
            path: path.into(),
            source,
        }),
    }
}

/// The SHA256 fingerprint in OpenSSH's notation (`SHA256:...`).
pub fn fingerprint(key: &PrivateKey) -> String {
    key.public_key().fingerprint(HashAlg::Sha256).to_string()
}

fn create(path: &Path) -> Result<PrivateKey, HostKeyError> {
    let key =
        PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519).map_err(HostKeyError::Generate)?;
    let text = key
        .to_openssh(LineEnding::LF)
        .map_err(HostKeyError::Generate)?;
    write_private(path, text.as_bytes()).map_err(|source| HostKeyError::Write {
        path: path.into(),
        source,
    })?;
    tracing::info!(path = %path.display(), "created a new SSH host key");
    Ok(key)
}

/// Writes a file only its owner can read, via a temporary name so a crash
/// never leaves half a key behind.
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let temporary = path.with_extension("tmp");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)?;
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    file.write_all(contents)?;
    file.sync_all()?;
    fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_reused_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/ssh_host_ed25519_key");

        let first = load_or_create(&path).unwrap();
        let second = load_or_create(&path).unwrap();

        assert_eq!(fingerprint(&first), fingerprint(&second));
        assert!(fingerprint(&first).starts_with("SHA256:"));
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn garbage_key_file_is_a_parse_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        fs::write(&path, "not a key").unwrap();
        assert!(matches!(
            load_or_create(&path),
            Err(HostKeyError::Parse { .. })
        ));
    }
}
