//! Where lesson Markdown and cluster manifests are read from: a `content/`
//! directory on disk, or the copy embedded in the binary.

use std::path::{Component, Path, PathBuf};

use crate::embedded;

/// Largest content file read, in bytes.
pub const MAX_CONTENT_BYTES: u64 = 1024 * 1024;

/// Why a content file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    #[error("content path `{path}` must be relative to content/ and stay inside it")]
    OutsideContent { path: String },
    #[error("content file `{path}` does not exist in {root}")]
    NotFound { path: String, root: String },
    #[error("content file `{path}` is not UTF-8 text")]
    NotText { path: String },
    #[error("content file `{path}` is larger than {MAX_CONTENT_BYTES} bytes")]
    TooLarge { path: String },
    #[error("failed to read content file `{path}`: {reason}")]
    Read { path: String, reason: String },
}

/// Reads files named relative to `content/`.
pub trait ContentSource {
    /// The text of `relative` (for example `lessons/intro.md`).
    fn read(&self, relative: &str) -> Result<String, ContentError>;
}

/// A `content/` directory on disk.
#[derive(Debug, Clone)]
pub struct DiskContent {
    pub root: PathBuf,
}

impl ContentSource for DiskContent {
    fn read(&self, relative: &str) -> Result<String, ContentError> {
        let path = checked_relative(relative)?;
        let full = self.root.join(path);
        let not_found = || ContentError::NotFound {
            path: relative.to_owned(),
            root: self.root.display().to_string(),
        };
        let metadata = std::fs::metadata(&full).map_err(|_| not_found())?;
        if !metadata.is_file() {
            return Err(not_found());
        }
        if metadata.len() > MAX_CONTENT_BYTES {
            return Err(ContentError::TooLarge {
                path: relative.to_owned(),
            });
        }
        let bytes = std::fs::read(&full).map_err(|error| ContentError::Read {
            path: relative.to_owned(),
            reason: error.to_string(),
        })?;
        String::from_utf8(bytes).map_err(|_| ContentError::NotText {
            path: relative.to_owned(),
        })
    }
}

/// The `content/` files compiled into the binary.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmbeddedContent;

impl ContentSource for EmbeddedContent {
    fn read(&self, relative: &str) -> Result<String, ContentError> {
        let path = checked_relative(relative)?;
        let key = format!("content/{}", path.to_string_lossy());
        embedded::file(&key)
            .map(str::to_owned)
            .ok_or_else(|| ContentError::NotFound {
                path: relative.to_owned(),
                root: "the built-in content".to_owned(),
            })
    }
}

/// Accepts only plain relative paths: no root, no `..`, no drive prefix.
fn checked_relative(relative: &str) -> Result<&Path, ContentError> {
    let path = Path::new(relative);
    let plain = !relative.is_empty()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if plain {
        Ok(path)
    } else {
        Err(ContentError::OutsideContent {
            path: relative.to_owned(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_leave_content_are_refused() {
        let content = DiskContent {
            root: PathBuf::from("/nonexistent"),
        };
        for path in ["../etc/passwd", "/etc/passwd", "lessons/../../x", ""] {
            assert!(
                matches!(content.read(path), Err(ContentError::OutsideContent { .. })),
                "{path}"
            );
        }
    }

    #[test]
    fn missing_files_are_not_found() {
        let content = DiskContent {
            root: std::env::temp_dir(),
        };
        assert!(matches!(
            content.read("no-such-lesson-file.md"),
            Err(ContentError::NotFound { .. })
        ));
    }
}
