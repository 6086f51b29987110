//! Prepares the Linux guest's kernel and initramfs ahead of time, from
//! Debian packages fetched with `apt-get download`, and caches them with
//! the hash of their inputs so that a second run costs two `apt-cache`
//! look-ups and no download.
//!
//! Cache layout (under the directory the caller gives):
//! `linux-guest/vmlinuz`, `linux-guest/initramfs.cpio`,
//! `linux-guest/inputs` (the input hash and the kernel package), and,
//! while a build runs, `linux-guest/packages/` (the downloaded `.deb`
//! files, removed once the artifacts are written).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::process::Command;

use super::deb::{self, DebError};
use super::initramfs::{self, CpioError};

/// Debian's package that always depends on the current kernel.
const KERNEL_META_PACKAGE: &str = "linux-image-amd64";
/// Debian's statically linked busybox.
const BUSYBOX_PACKAGE: &str = "busybox-static";
/// Bumped whenever the way artifacts are built changes.
const BUILD_FORMAT: &str = "lab linux guest, format 1";

const GUEST_DIR: &str = "linux-guest";
const KERNEL_FILE: &str = "vmlinuz";
const INITRAMFS_FILE: &str = "initramfs.cpio";
const INPUTS_FILE: &str = "inputs";
const PACKAGES_DIR: &str = "packages";

/// The prepared guest, ready for `vm start linux`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinuxGuestArtifacts {
    /// The kernel (a bzImage).
    pub kernel: PathBuf,
    /// The uncompressed newc initramfs.
    pub initramfs: PathBuf,
    /// The package the kernel came from, with its version.
    pub kernel_package: String,
    /// Hex SHA-256 of everything the artifacts were built from.
    pub input_hash: String,
}

/// A step of [`prepare_linux_guest`], for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestPrepProgress {
    /// Asking apt which packages and versions to use.
    Resolving,
    /// apt had no package lists; running `apt-get update`.
    UpdatingPackageLists,
    /// The cache already holds artifacts built from these inputs.
    UpToDate {
        kernel_package: String,
    },
    /// apt could not be asked; the cached artifacts are used as they are.
    UsingCachedOffline {
        reason: String,
    },
    Downloading {
        packages: Vec<String>,
    },
    Extracting {
        file: String,
    },
    BuildingInitramfs,
    Done {
        kernel_bytes: u64,
        initramfs_bytes: u64,
    },
}

impl std::fmt::Display for GuestPrepProgress {
    /// One line for a progress display.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GuestPrepProgress::Resolving => f.write_str("asking apt for the kernel and busybox"),
            GuestPrepProgress::UpdatingPackageLists => f.write_str("updating apt's package lists"),
            GuestPrepProgress::UpToDate { kernel_package } => {
                write!(f, "Linux guest up to date ({kernel_package})")
            }
            GuestPrepProgress::UsingCachedOffline { reason } => {
                write!(
                    f,
                    "using the cached Linux guest; apt is unavailable: {reason}"
                )
            }
            GuestPrepProgress::Downloading { packages } => {
                write!(f, "downloading {}", packages.join(", "))
            }
            GuestPrepProgress::Extracting { file } => write!(f, "extracting {file}"),
            GuestPrepProgress::BuildingInitramfs => f.write_str("building the initramfs"),
            GuestPrepProgress::Done {
                kernel_bytes,
                initramfs_bytes,
            } => write!(
                f,
                "Linux guest ready: kernel {} KiB, initramfs {} KiB",
                kernel_bytes / 1024,
                initramfs_bytes / 1024
            ),
        }
    }
}

/// Why the guest could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum GuestPrepError {
    #[error("failed to run `{command}`")]
    RunApt {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed: {stderr}")]
    AptFailed { command: String, stderr: String },
    #[error("apt does not know the package `{package}` (is this Debian on amd64?)")]
    UnknownPackage { package: String },
    #[error("failed to read or write {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`apt-get download` left no {package} package in {dir}")]
    DownloadMissing { package: String, dir: PathBuf },
    #[error("failed to take {file} out of {package}")]
    Extract {
        file: String,
        package: String,
        #[source]
        source: DebError,
    },
    #[error("failed to build the initramfs")]
    Initramfs(#[source] CpioError),
    #[error("the preparation task failed")]
    Task(#[source] tokio::task::JoinError),
}

/// One package as apt's lists describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PackageVersion {
    name: String,
    version: String,
    sha256: String,
}

/// Prepares (or finds in `cache_dir`) the Linux guest: the kernel from
/// Debian's `linux-image-amd64` and an initramfs with `busybox-static`.
/// Runs `apt-get update` only when apt has no lists. When apt cannot be
/// asked at all but a previous build is cached, that build is returned.
pub async fn prepare_linux_guest(
    cache_dir: &Path,
    progress: impl Fn(GuestPrepProgress),
) -> Result<LinuxGuestArtifacts, GuestPrepError> {
    let guest_dir = cache_dir.join(GUEST_DIR);
    progress(GuestPrepProgress::Resolving);
    let packages = match resolve_packages(&progress).await {
        Ok(packages) => packages,
        Err(error) => {
            return match cached_linux_guest(cache_dir) {
                Some(cached) => {
                    let reason = error_chain(&error);
                    tracing::warn!(%reason, "apt unavailable; using the cached Linux guest");
                    progress(GuestPrepProgress::UsingCachedOffline { reason });
                    Ok(cached)
                }
                None => Err(error),
            };
        }
    };
    let input_hash = input_hash_of(&packages);

    if let Some(cached) = cached_linux_guest(cache_dir)
        && cached.input_hash == input_hash
    {
        progress(GuestPrepProgress::UpToDate {
            kernel_package: cached.kernel_package.clone(),
        });
        return Ok(cached);
    }

    let (packages, input_hash, debs) = match download(&guest_dir, &packages, &progress).await {
        Ok(debs) => (packages, input_hash, debs),
        Err(error) => {
            // Stale lists name versions the archive no longer has.
            tracing::info!(error = %error_chain(&error), "download failed; updating lists");
            update_package_lists(&progress).await?;
            let packages = resolve_once().await?;
            let input_hash = input_hash_of(&packages);
            let debs = download(&guest_dir, &packages, &progress).await?;
            (packages, input_hash, debs)
        }
    };
    let artifacts = build(&guest_dir, debs, &packages, input_hash, &progress).await?;
    // The packages (70 MB, mostly kernel modules) are not needed again.
    let downloads = guest_dir.join(PACKAGES_DIR);
    if let Err(error) = tokio::fs::remove_dir_all(&downloads).await {
        tracing::debug!(%error, "removing the downloaded packages");
    }
    Ok(artifacts)
}

/// The artifacts a previous [`prepare_linux_guest`] left in `cache_dir`,
/// if both files and the record of their inputs are there. Touches no
/// network.
pub fn cached_linux_guest(cache_dir: &Path) -> Option<LinuxGuestArtifacts> {
    let guest_dir = cache_dir.join(GUEST_DIR);
    let inputs = std::fs::read_to_string(guest_dir.join(INPUTS_FILE)).ok()?;
    let mut lines = inputs.lines();
    let input_hash = lines.next()?.trim().to_owned();
    let kernel_package = lines.next()?.trim().to_owned();
    let artifacts = LinuxGuestArtifacts {
        kernel: guest_dir.join(KERNEL_FILE),
        initramfs: guest_dir.join(INITRAMFS_FILE),
        kernel_package,
        input_hash,
    };
    (artifacts.kernel.is_file() && artifacts.initramfs.is_file()).then_some(artifacts)
}

async fn resolve_packages(
    progress: &impl Fn(GuestPrepProgress),
) -> Result<[PackageVersion; 2], GuestPrepError> {
    match resolve_once().await {
        Ok(packages) => Ok(packages),
        // apt itself is missing: no update can help.
        Err(error @ GuestPrepError::RunApt { .. }) => Err(error),
        Err(error) => {
            // On a fresh machine apt has no lists and knows no package.
            tracing::info!(error = %error_chain(&error), "updating apt's package lists");
            update_package_lists(progress).await?;
            resolve_once().await
        }
    }
}

async fn update_package_lists(progress: &impl Fn(GuestPrepProgress)) -> Result<(), GuestPrepError> {
    progress(GuestPrepProgress::UpdatingPackageLists);
    run_apt("apt-get", &["update", "-qq"], None).await.map(drop)
}

async fn resolve_once() -> Result<[PackageVersion; 2], GuestPrepError> {
    let depends = run_apt("apt-cache", &["depends", KERNEL_META_PACKAGE], None).await?;
    let kernel_name = versioned_kernel_package(&depends).ok_or(GuestPrepError::UnknownPackage {
        package: KERNEL_META_PACKAGE.to_owned(),
    })?;
    let kernel = describe(&kernel_name).await?;
    let busybox = describe(BUSYBOX_PACKAGE).await?;
    Ok([kernel, busybox])
}

/// The versioned kernel package in `apt-cache depends linux-image-amd64`.
fn versioned_kernel_package(depends: &str) -> Option<String> {
    depends
        .lines()
        .filter_map(|line| line.trim().strip_prefix("Depends:"))
        .map(str::trim)
        .find(|name| name.starts_with("linux-image-") && name.ends_with("-amd64"))
        .map(str::to_owned)
}

async fn describe(package: &str) -> Result<PackageVersion, GuestPrepError> {
    let unknown = || GuestPrepError::UnknownPackage {
        package: package.to_owned(),
    };
    let show = run_apt("apt-cache", &["show", "--no-all-versions", package], None)
        .await
        .map_err(|_| unknown())?;
    parse_package_record(package, &show).ok_or_else(unknown)
}

/// The version and checksum of `package` in an `apt-cache show` record.
fn parse_package_record(package: &str, record: &str) -> Option<PackageVersion> {
    let field = |name: &str| {
        record
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .map(|value| value.trim().to_owned())
    };
    Some(PackageVersion {
        name: package.to_owned(),
        version: field("Version")?,
        sha256: field("SHA256")?,
    })
}

/// Hex SHA-256 over the build format, both packages and `/init`.
fn input_hash_of(packages: &[PackageVersion]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(BUILD_FORMAT);
    for package in packages {
        for part in [&package.name, &package.version, &package.sha256] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
    }
    hasher.update(initramfs::init_script());
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Downloads both packages into a fresh `packages/` directory; returns
/// their paths, kernel first.
async fn download(
    guest_dir: &Path,
    packages: &[PackageVersion; 2],
    progress: &impl Fn(GuestPrepProgress),
) -> Result<[PathBuf; 2], GuestPrepError> {
    let dir = guest_dir.join(PACKAGES_DIR);
    if dir.exists() {
        tokio::fs::remove_dir_all(&dir).await.map_err(io_at(&dir))?;
    }
    tokio::fs::create_dir_all(&dir).await.map_err(io_at(&dir))?;
    let names: Vec<String> = packages.iter().map(|p| p.name.clone()).collect();
    progress(GuestPrepProgress::Downloading {
        packages: names.clone(),
    });
    // As root, apt would otherwise try (and warn about) a sandbox user
    // that cannot write here.
    let mut args = vec!["-q", "-o", "APT::Sandbox::User=root", "download"];
    args.extend(names.iter().map(String::as_str));
    run_apt("apt-get", &args, Some(&dir)).await?;
    Ok([
        find_deb(&dir, &packages[0].name).await?,
        find_deb(&dir, &packages[1].name).await?,
    ])
}

async fn find_deb(dir: &Path, package: &str) -> Result<PathBuf, GuestPrepError> {
    let prefix = format!("{package}_");
    let mut entries = tokio::fs::read_dir(dir).await.map_err(io_at(dir))?;
    while let Some(entry) = entries.next_entry().await.map_err(io_at(dir))? {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(".deb") {
            return Ok(entry.path());
        }
    }
    Err(GuestPrepError::DownloadMissing {
        package: package.to_owned(),
        dir: dir.to_owned(),
    })
}

/// Extracts the kernel and busybox, builds the initramfs and records the
/// inputs, each file written beside its final name and then renamed.
async fn build(
    guest_dir: &Path,
    debs: [PathBuf; 2],
    packages: &[PackageVersion; 2],
    input_hash: String,
    progress: &impl Fn(GuestPrepProgress),
) -> Result<LinuxGuestArtifacts, GuestPrepError> {
    let [kernel_deb, busybox_deb] = debs;
    progress(GuestPrepProgress::Extracting {
        file: "boot/vmlinuz-*".to_owned(),
    });
    let kernel = extract(kernel_deb, &packages[0].name, "boot/vmlinuz-*", |path| {
        path.starts_with("boot/vmlinuz-")
    })
    .await?;
    progress(GuestPrepProgress::Extracting {
        file: "bin/busybox".to_owned(),
    });
    let busybox = extract(busybox_deb, &packages[1].name, "bin/busybox", |path| {
        path == "bin/busybox"
    })
    .await?;

    progress(GuestPrepProgress::BuildingInitramfs);
    let initramfs = initramfs::build_guest_initramfs(busybox).map_err(GuestPrepError::Initramfs)?;

    let kernel_package = format!("{} {}", packages[0].name, packages[0].version);
    let artifacts = LinuxGuestArtifacts {
        kernel: guest_dir.join(KERNEL_FILE),
        initramfs: guest_dir.join(INITRAMFS_FILE),
        kernel_package,
        input_hash,
    };
    write_atomically(&artifacts.kernel, &kernel).await?;
    write_atomically(&artifacts.initramfs, &initramfs).await?;
    let inputs = format!("{}\n{}\n", artifacts.input_hash, artifacts.kernel_package);
    write_atomically(&guest_dir.join(INPUTS_FILE), inputs.as_bytes()).await?;
    progress(GuestPrepProgress::Done {
        kernel_bytes: u64::try_from(kernel.len()).unwrap_or(u64::MAX),
        initramfs_bytes: u64::try_from(initramfs.len()).unwrap_or(u64::MAX),
    });
    Ok(artifacts)
}

async fn extract(
    deb_path: PathBuf,
    package: &str,
    file: &str,
    wanted: fn(&str) -> bool,
) -> Result<Vec<u8>, GuestPrepError> {
    let bytes = tokio::fs::read(&deb_path).await.map_err(io_at(&deb_path))?;
    let description = file.to_owned();
    let extracted =
        tokio::task::spawn_blocking(move || deb::extract_file(&bytes, &wanted, &description))
            .await
            .map_err(GuestPrepError::Task)?;
    extracted
        .map(|(_, contents)| contents)
        .map_err(|source| GuestPrepError::Extract {
            file: file.to_owned(),
            package: package.to_owned(),
            source,
        })
}

async fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), GuestPrepError> {
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(io_at(parent))?;
    }
    let partial = path.with_extension("partial");
    tokio::fs::write(&partial, contents)
        .await
        .map_err(io_at(&partial))?;
    tokio::fs::rename(&partial, path).await.map_err(io_at(path))
}

/// Runs an apt program with fixed arguments; returns its stdout.
async fn run_apt(
    program: &str,
    args: &[&str],
    dir: Option<&Path>,
) -> Result<String, GuestPrepError> {
    let command_line = format!("{program} {}", args.join(" "));
    let mut command = Command::new(program);
    command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let output = command
        .output()
        .await
        .map_err(|source| GuestPrepError::RunApt {
            command: command_line.clone(),
            source,
        })?;
    if !output.status.success() {
        return Err(GuestPrepError::AptFailed {
            command: command_line,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> GuestPrepError + '_ {
    move |source| GuestPrepError::Io {
        path: path.to_owned(),
        source,
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_versioned_kernel_is_read_from_apt_cache_depends() {
        let depends = "linux-image-amd64\n  Depends: linux-image-6.1.0-57-amd64\n";
        assert_eq!(
            versioned_kernel_package(depends).as_deref(),
            Some("linux-image-6.1.0-57-amd64")
        );
        assert_eq!(versioned_kernel_package("linux-image-amd64\n"), None);
    }

    #[test]
    fn package_records_give_version_and_checksum() {
        let record = "Package: busybox-static\nVersion: 1:1.35.0-4\nSHA256: abc123\n\
                      Description: static busybox\n";
        let parsed = parse_package_record("busybox-static", record).unwrap();
        assert_eq!(parsed.version, "1:1.35.0-4");
        assert_eq!(parsed.sha256, "abc123");
        assert_eq!(parse_package_record("x", "Package: x\n"), None);
    }

    #[test]
    fn the_input_hash_changes_with_any_package() {
        let package = |sha: &str| PackageVersion {
            name: "p".into(),
            version: "1".into(),
            sha256: sha.into(),
        };
        let first = input_hash_of(&[package("a")]);
        assert_eq!(first.len(), 64);
        assert_eq!(first, input_hash_of(&[package("a")]));
        assert_ne!(first, input_hash_of(&[package("b")]));
    }

    #[test]
    fn a_cache_without_the_inputs_record_is_not_used() {
        let dir = std::env::temp_dir().join(format!("lab-kvm-cache-test-{}", std::process::id()));
        let guest = dir.join(GUEST_DIR);
        std::fs::create_dir_all(&guest).unwrap();
        std::fs::write(guest.join(KERNEL_FILE), b"k").unwrap();
        std::fs::write(guest.join(INITRAMFS_FILE), b"i").unwrap();
        assert_eq!(cached_linux_guest(&dir), None);
        std::fs::write(guest.join(INPUTS_FILE), "hash\nlinux-image-x 1\n").unwrap();
        let cached = cached_linux_guest(&dir).unwrap();
        assert_eq!(cached.input_hash, "hash");
        assert_eq!(cached.kernel_package, "linux-image-x 1");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
