//! The session's scratch files: an in-memory file tree with size caps.
//!
//! `>` and `>>` write here, `cat`, `ls` and engine commands
//! (`kubectl apply -f FILE`) read from here. Nothing touches the host's
//! file system. The tree starts with `/`, `/home`, `/tmp` and the
//! student's home directory.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use lab_engine_api::ScratchFiles;

/// Caps that keep one session's scratch area small.
#[derive(Debug, Clone, Copy)]
pub struct ScratchLimits {
    pub max_file_bytes: usize,
    pub max_total_bytes: usize,
    pub max_entries: usize,
}

impl Default for ScratchLimits {
    fn default() -> Self {
        ScratchLimits {
            max_file_bytes: 1 << 20,
            max_total_bytes: 8 << 20,
            max_entries: 512,
        }
    }
}

/// Why a scratch operation failed; the text follows coreutils' wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScratchError {
    #[error("No such file or directory")]
    NotFound,
    #[error("Is a directory")]
    IsADirectory,
    #[error("Not a directory")]
    NotADirectory,
    #[error("File exists")]
    Exists,
    #[error("Directory not empty")]
    NotEmpty,
    /// A file would outgrow the per-file cap.
    #[error("File too large (scratch files are limited to {limit} bytes)")]
    FileTooLarge { limit: usize },
    /// The session's scratch area is full.
    #[error("No space left on device (the scratch area holds {limit} bytes)")]
    Full { limit: usize },
    #[error("Too many files in the scratch area (limit {limit})")]
    TooManyEntries { limit: usize },
}

/// What a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Directory,
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub kind: EntryKind,
    pub size: usize,
}

#[derive(Debug, Default)]
struct Tree {
    files: BTreeMap<String, Vec<u8>>,
    dirs: BTreeSet<String>,
    total_bytes: usize,
}

/// A session's scratch file tree, cheap to clone (clones share the tree).
/// Paths given to its methods are absolute and already normalised with
/// [`resolve_path`].
#[derive(Debug, Clone)]
pub struct ScratchFs {
    tree: Arc<Mutex<Tree>>,
    limits: ScratchLimits,
}

impl ScratchFs {
    /// A tree holding `/`, `/home`, `/tmp` and `home`.
    pub fn new(home: &str, limits: ScratchLimits) -> Self {
        let mut tree = Tree::default();
        for dir in ["/", "/home", "/tmp"] {
            tree.dirs.insert(dir.to_owned());
        }
        let mut path = String::new();
        for part in home.split('/').filter(|p| !p.is_empty()) {
            path.push('/');
            path.push_str(part);
            tree.dirs.insert(path.clone());
        }
        ScratchFs {
            tree: Arc::new(Mutex::new(tree)),
            limits,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Tree> {
        // A panic while holding the lock cannot leave the maps half-edited
        // in a way that matters more than losing the session's notes.
        self.tree
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn kind(&self, path: &str) -> Option<EntryKind> {
        let tree = self.lock();
        if tree.dirs.contains(path) {
            Some(EntryKind::Directory)
        } else if tree.files.contains_key(path) {
            Some(EntryKind::File)
        } else {
            None
        }
    }

    pub fn read_file(&self, path: &str) -> Result<Vec<u8>, ScratchError> {
        let tree = self.lock();
        match tree.files.get(path) {
            Some(bytes) => Ok(bytes.clone()),
            None if tree.dirs.contains(path) => Err(ScratchError::IsADirectory),
            None => Err(ScratchError::NotFound),
        }
    }

    /// Writes (or appends to) a file, creating it in an existing directory.
    pub fn write_file(&self, path: &str, bytes: &[u8], append: bool) -> Result<(), ScratchError> {
        let mut tree = self.lock();
        self.check_writable(&tree, path)?;
        let old_len = tree.files.get(path).map_or(0, Vec::len);
        let new_len = if append {
            old_len + bytes.len()
        } else {
            bytes.len()
        };
        if new_len > self.limits.max_file_bytes {
            return Err(ScratchError::FileTooLarge {
                limit: self.limits.max_file_bytes,
            });
        }
        let total = tree.total_bytes - old_len + new_len;
        if total > self.limits.max_total_bytes {
            return Err(ScratchError::Full {
                limit: self.limits.max_total_bytes,
            });
        }
        tree.total_bytes = total;
        let file = tree.files.entry(path.to_owned()).or_default();
        if !append {
            file.clear();
        }
        file.extend_from_slice(bytes);
        Ok(())
    }

    fn check_writable(&self, tree: &Tree, path: &str) -> Result<(), ScratchError> {
        if tree.dirs.contains(path) {
            return Err(ScratchError::IsADirectory);
        }
        self.check_parent(tree, path)?;
        let is_new = !tree.files.contains_key(path);
        if is_new && tree.files.len() + tree.dirs.len() >= self.limits.max_entries {
            return Err(ScratchError::TooManyEntries {
                limit: self.limits.max_entries,
            });
        }
        Ok(())
    }

    fn check_parent(&self, tree: &Tree, path: &str) -> Result<(), ScratchError> {
        let parent = parent_of(path);
        if tree.dirs.contains(parent) {
            Ok(())
        } else if tree.files.contains_key(parent) {
            Err(ScratchError::NotADirectory)
        } else {
            Err(ScratchError::NotFound)
        }
    }

    pub fn create_dir(&self, path: &str) -> Result<(), ScratchError> {
        let mut tree = self.lock();
        if tree.dirs.contains(path) || tree.files.contains_key(path) {
            return Err(ScratchError::Exists);
        }
        self.check_parent(&tree, path)?;
        if tree.files.len() + tree.dirs.len() >= self.limits.max_entries {
            return Err(ScratchError::TooManyEntries {
                limit: self.limits.max_entries,
            });
        }
        tree.dirs.insert(path.to_owned());
        Ok(())
    }

    /// Removes a file, or an empty directory.
    pub fn remove(&self, path: &str) -> Result<(), ScratchError> {
        let mut tree = self.lock();
        if let Some(bytes) = tree.files.remove(path) {
            tree.total_bytes -= bytes.len();
            return Ok(());
        }
        if !tree.dirs.contains(path) {
            return Err(ScratchError::NotFound);
        }
        if children(&tree, path).next().is_some() {
            return Err(ScratchError::NotEmpty);
        }
        tree.dirs.remove(path);
        Ok(())
    }

    /// The entries of a directory, sorted by name.
    pub fn list_dir(&self, path: &str) -> Result<Vec<DirEntry>, ScratchError> {
        let tree = self.lock();
        if tree.files.contains_key(path) {
            return Err(ScratchError::NotADirectory);
        }
        if !tree.dirs.contains(path) {
            return Err(ScratchError::NotFound);
        }
        let mut entries: Vec<DirEntry> = children(&tree, path).collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }
}

/// The direct children of a directory.
fn children<'t>(tree: &'t Tree, dir: &'t str) -> impl Iterator<Item = DirEntry> + 't {
    let files = tree
        .files
        .iter()
        .filter(move |(p, _)| is_child(dir, p))
        .map(|(p, bytes)| DirEntry {
            name: base_name(p).to_owned(),
            kind: EntryKind::File,
            size: bytes.len(),
        });
    let dirs = tree
        .dirs
        .iter()
        .filter(move |p| is_child(dir, p))
        .map(|p| DirEntry {
            name: base_name(p).to_owned(),
            kind: EntryKind::Directory,
            size: 0,
        });
    files.chain(dirs)
}

fn is_child(dir: &str, path: &str) -> bool {
    path != "/" && parent_of(path) == dir
}

fn parent_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Turns a path the student typed into an absolute, normalised path
/// (`.` and `..` folded away) relative to `cwd`.
pub fn resolve_path(cwd: &str, path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let joined = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{cwd}/{path}")
    };
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The view of the scratch files that engine commands get, reading
/// relative paths from the shell's working directory at the time of the
/// command.
pub struct ScratchView {
    pub fs: ScratchFs,
    pub cwd: String,
}

impl ScratchFiles for ScratchView {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        self.fs.read_file(&resolve_path(&self.cwd, path)).ok()
    }

    fn write(&self, path: &str, bytes: &[u8]) -> Result<(), String> {
        self.fs
            .write_file(&resolve_path(&self.cwd, path), bytes, false)
            .map_err(|error| error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fs() -> ScratchFs {
        ScratchFs::new("/home/thmuser", ScratchLimits::default())
    }

    #[test]
    fn commands_write_through_the_view_relative_to_the_working_directory() {
        let view = ScratchView {
            fs: fs(),
            cwd: "/home/thmuser".to_owned(),
        };
        view.write("page.html", b"<h1>hi</h1>").unwrap();
        assert_eq!(
            view.fs.read_file("/home/thmuser/page.html").unwrap(),
            b"<h1>hi</h1>"
        );
        assert_eq!(view.read("page.html").unwrap(), b"<h1>hi</h1>");
        assert!(view.write("no/such/dir/page.html", b"x").is_err());
    }

    #[test]
    fn resolves_relative_and_dotted_paths() {
        assert_eq!(
            resolve_path("/home/thmuser", "a/./b/../c"),
            "/home/thmuser/a/c"
        );
        assert_eq!(resolve_path("/home", "/../../tmp"), "/tmp");
        assert_eq!(resolve_path("/", ".."), "/");
    }

    #[test]
    fn write_append_read_and_list() {
        let fs = fs();
        fs.write_file("/home/thmuser/a.txt", b"one\n", false)
            .unwrap();
        fs.write_file("/home/thmuser/a.txt", b"two\n", true)
            .unwrap();
        assert_eq!(fs.read_file("/home/thmuser/a.txt").unwrap(), b"one\ntwo\n");
        fs.create_dir("/home/thmuser/dir").unwrap();
        let names: Vec<_> = fs
            .list_dir("/home/thmuser")
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["a.txt", "dir"]);
    }

    #[test]
    fn missing_parents_and_directories_are_errors() {
        let fs = fs();
        assert_eq!(
            fs.write_file("/nope/a", b"x", false),
            Err(ScratchError::NotFound)
        );
        assert_eq!(
            fs.write_file("/tmp", b"x", false),
            Err(ScratchError::IsADirectory)
        );
        assert_eq!(fs.read_file("/tmp"), Err(ScratchError::IsADirectory));
        assert_eq!(fs.remove("/home"), Err(ScratchError::NotEmpty));
    }

    #[test]
    fn size_caps_hold() {
        let limits = ScratchLimits {
            max_file_bytes: 10,
            max_total_bytes: 15,
            max_entries: 6,
        };
        let fs = ScratchFs::new("/home/u", limits);
        fs.write_file("/tmp/a", &[0; 10], false).unwrap();
        assert!(matches!(
            fs.write_file("/tmp/a", b"x", true),
            Err(ScratchError::FileTooLarge { .. })
        ));
        assert!(matches!(
            fs.write_file("/tmp/b", &[0; 6], false),
            Err(ScratchError::Full { .. })
        ));
        fs.write_file("/tmp/a", b"", false).unwrap();
        fs.write_file("/tmp/b", &[0; 6], false).unwrap();
        assert!(matches!(
            fs.write_file("/tmp/c", b"", false),
            Err(ScratchError::TooManyEntries { .. })
        ));
    }
}
