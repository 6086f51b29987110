//! The Debian base image: debootstrap a minimal root file system with
//! Python and Flask, stream it through `tar` into the engine's import API.
//!
//! The Debian mirror is the one this machine's apt already uses, read from
//! its sources, so a classroom with a local mirror builds from that mirror.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use bollard::Docker;
use bollard::query_parameters::CreateImageOptions;
use futures::StreamExt;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio_util::io::ReaderStream;

use super::catalog::{BASE_PACKAGES, BASE_SUITE, BASE_VARIANT, LabImage};
use super::{INPUT_HASH_LABEL, ImageProgress, ImageStage};
use crate::error::DockerError;

/// Where apt keeps its sources on Debian.
const APT_SOURCES_LIST: &str = "/etc/apt/sources.list";
const APT_SOURCES_DIR: &str = "/etc/apt/sources.list.d";

/// Builds the base image: debootstrap into a temporary directory under
/// `work_dir`, then import it with the input-hash label.
pub async fn build_base(
    docker: &Docker,
    image: &LabImage,
    work_dir: &Path,
    progress: &(dyn Fn(ImageProgress) + Send + Sync),
) -> Result<(), DockerError> {
    let report = |stage| {
        progress(ImageProgress {
            image: image.reference.clone(),
            stage,
        })
    };
    let mirror = debian_mirror()?;
    report(ImageStage::Started(format!(
        "debootstrap {BASE_SUITE} from {mirror} (about a minute, once)"
    )));
    let dir = tempfile::Builder::new()
        .prefix("lab-base-")
        .tempdir_in(work_dir)
        .map_err(|e| {
            DockerError::io(
                format!("create a build directory in {}", work_dir.display()),
                e,
            )
        })?;
    let root = dir.path().join("root");

    debootstrap(&root, &mirror, &report).await?;

    report(ImageStage::Step(
        "importing the root file system".to_owned(),
    ));
    import_root(docker, image, &root).await?;
    report(ImageStage::Built);
    Ok(())
}

async fn debootstrap(
    root: &Path,
    mirror: &str,
    report: &(dyn Fn(ImageStage) + Send + Sync),
) -> Result<(), DockerError> {
    let mut child = Command::new("debootstrap")
        .arg(format!("--variant={BASE_VARIANT}"))
        .arg(format!("--include={}", BASE_PACKAGES.join(",")))
        .arg(BASE_SUITE)
        .arg(root)
        .arg(mirror)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            DockerError::io(
                "start debootstrap (is the debootstrap package installed?)",
                e,
            )
        })?;
    let stderr = child.stderr.take().map(collect_lines);
    if let Some(stdout) = child.stdout.take() {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            report(ImageStage::Step(line));
        }
    }
    let status = child
        .wait()
        .await
        .map_err(|e| DockerError::io("wait for debootstrap", e))?;
    let errors = match stderr {
        Some(task) => task.await.unwrap_or_default(),
        None => String::new(),
    };
    if status.success() {
        return Ok(());
    }
    Err(DockerError::Debootstrap {
        dir: root.to_path_buf(),
        detail: format!("{status}; {}", last_lines(&errors, 5)),
    })
}

fn collect_lines(stream: tokio::process::ChildStderr) -> tokio::task::JoinHandle<String> {
    tokio::spawn(async move {
        let mut text = String::new();
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            text.push_str(&line);
            text.push('\n');
        }
        text
    })
}

fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join(" | ")
}

/// Streams `tar` of the root file system into `POST /images/create`
/// (what `docker import` does), labelled with the input hash.
async fn import_root(docker: &Docker, image: &LabImage, root: &Path) -> Result<(), DockerError> {
    let mut tar = Command::new("tar")
        .args([
            "--numeric-owner",
            "--one-file-system",
            "--exclude=./dev/*",
            "-C",
        ])
        .arg(root)
        .args(["-cf", "-", "."])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| DockerError::io("start tar for the base image", e))?;
    let stdout = tar.stdout.take().ok_or_else(|| {
        DockerError::io("read tar's output", std::io::Error::other("no stdout pipe"))
    })?;
    let (repo, tag) = image
        .reference
        .rsplit_once(':')
        .unwrap_or((&image.reference, "latest"));
    let options = CreateImageOptions {
        from_src: Some("-".to_owned()),
        repo: Some(repo.to_owned()),
        tag: Some(tag.to_owned()),
        changes: vec![
            format!("LABEL {INPUT_HASH_LABEL}={}", image.input_hash),
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned(),
            "CMD [\"/bin/bash\"]".to_owned(),
        ],
        ..Default::default()
    };
    let body = bollard::body_try_stream(ReaderStream::new(stdout));
    let mut answers = docker.create_image(Some(options), Some(body), None);
    while let Some(answer) = answers.next().await {
        answer.map_err(|e| DockerError::api(format!("import {}", image.reference), e))?;
    }
    let status = tar
        .wait()
        .await
        .map_err(|e| DockerError::io("wait for tar", e))?;
    if !status.success() {
        return Err(DockerError::Build {
            image: image.reference.clone(),
            detail: format!("tar of the root file system failed: {status}"),
        });
    }
    Ok(())
}

/// The Debian mirror apt uses for the base suite: `LAB_DEBIAN_MIRROR` when
/// set, else the first `deb` source of the base suite in apt's sources.
pub fn debian_mirror() -> Result<String, DockerError> {
    if let Ok(mirror) = std::env::var("LAB_DEBIAN_MIRROR")
        && !mirror.is_empty()
    {
        return Ok(mirror);
    }
    for path in apt_source_files() {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let found = if path.extension().is_some_and(|e| e == "sources") {
            mirror_from_deb822(&text, BASE_SUITE)
        } else {
            mirror_from_one_line(&text, BASE_SUITE)
        };
        if let Some(mirror) = found {
            return Ok(mirror);
        }
    }
    Err(DockerError::NoMirror)
}

fn apt_source_files() -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from(APT_SOURCES_LIST)];
    if let Ok(entries) = std::fs::read_dir(APT_SOURCES_DIR) {
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "list" || e == "sources"))
            .collect();
        found.sort();
        files.extend(found);
    }
    files
}

/// `deb [options] URI SUITE COMPONENTS...` lines.
fn mirror_from_one_line(text: &str, suite: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        if words.next() != Some("deb") {
            return None;
        }
        let mut rest: Vec<&str> = words.collect();
        if rest.first().is_some_and(|w| w.starts_with('[')) {
            let end = rest.iter().position(|w| w.ends_with(']'))?;
            rest.drain(..=end);
        }
        (rest.get(1) == Some(&suite)).then(|| rest[0].to_owned())
    })
}

/// deb822 stanzas with `Types:`, `URIs:` and `Suites:` fields.
fn mirror_from_deb822(text: &str, suite: &str) -> Option<String> {
    text.split("\n\n").find_map(|stanza| {
        let field = |name: &str| {
            stanza.lines().find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_owned())
            })
        };
        let enabled = field("Enabled").is_none_or(|v| !v.eq_ignore_ascii_case("no"));
        let is_deb = field("Types")?.split_whitespace().any(|t| t == "deb");
        let has_suite = field("Suites")?.split_whitespace().any(|s| s == suite);
        let uri = field("URIs")?.split_whitespace().next()?.to_owned();
        (enabled && is_deb && has_suite).then_some(uri)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn one_line_sources_skip_other_suites_and_options() {
        let text = "# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian-security bookworm-security main\n\
                    deb [arch=amd64] http://mirror.example/debian bookworm main\n";
        assert_eq!(
            mirror_from_one_line(text, "bookworm").as_deref(),
            Some("http://mirror.example/debian")
        );
    }

    #[test]
    fn deb822_sources_pick_the_stanza_with_the_suite() {
        let text = "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n\
                    Components: main\n\nTypes: deb\nURIs: http://mirror.example/debian-security\n\
                    Suites: bookworm-security\n";
        assert_eq!(
            mirror_from_deb822(text, "bookworm").as_deref(),
            Some("http://mirror.example/debian")
        );
        assert_eq!(mirror_from_deb822(text, "trixie"), None);
    }

    #[test]
    fn disabled_deb822_stanzas_are_ignored() {
        let text = "Enabled: no\nTypes: deb\nURIs: http://off.example/debian\nSuites: bookworm\n";
        assert_eq!(mirror_from_deb822(text, "bookworm"), None);
    }
}
