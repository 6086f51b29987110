//! The Linux guest's initramfs: a cpio archive in the "newc" format the
//! kernel unpacks into its first root file system, written here byte by
//! byte (no `cpio` program), plus a reader used to check what was written.
//!
//! The archive holds a static busybox, the directories and device nodes
//! the kernel needs before `/init` runs, and `/init` itself: a shell script
//! that mounts `/proc`, `/sys` and `/dev`, prints a banner and starts an
//! interactive shell on the serial console.

use std::fmt;

/// The prompt of the guest's shell; its first appearance on the console
/// marks the end of the boot.
pub const SHELL_PROMPT: &str = "lab-linux# ";

/// The first line `/init` prints.
pub const INIT_BANNER: &str = "lab Linux guest: busybox shell on ttyS0";

/// The `/init` script. It runs as PID 1 from the busybox shell; it never
/// returns, because PID 1 exiting panics the kernel.
pub fn init_script() -> String {
    format!(
        "#!/bin/busybox sh\n\
         # PID 1 of the lab's Linux guest.\n\
         /bin/busybox mkdir -p /proc /sys /dev /tmp /root\n\
         /bin/busybox --install -s\n\
         mount -t proc proc /proc\n\
         mount -t sysfs sysfs /sys\n\
         mount -t devtmpfs devtmpfs /dev 2>/dev/null\n\
         hostname lab-linux\n\
         echo\n\
         echo '{INIT_BANNER}'\n\
         echo \"kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPU(s), \
         $(grep MemTotal /proc/meminfo | tr -s ' ' | cut -d' ' -f2) KiB of memory\"\n\
         echo 'Try: uname -a, cat /proc/cpuinfo, dmesg | head, ls /sys/devices'\n\
         export HOME=/root PS1='{SHELL_PROMPT}' PATH=/bin:/sbin:/usr/bin:/usr/sbin\n\
         cd /root\n\
         # A new session whose controlling terminal is the serial port, so\n\
         # that Ctrl-C reaches the shell's foreground job.\n\
         exec setsid sh -c 'exec sh -i </dev/ttyS0 >/dev/ttyS0 2>&1'\n"
    )
}

/// File type bits of a cpio mode.
const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;
const S_IFLNK: u32 = 0o120_000;
const S_IFCHR: u32 = 0o020_000;

const NEWC_MAGIC: &[u8; 6] = b"070701";
const HEADER_LEN: usize = 110;
const TRAILER: &str = "TRAILER!!!";

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    Directory,
    File(Vec<u8>),
    Symlink(String),
    /// A character device with its major and minor numbers.
    CharDevice {
        major: u32,
        minor: u32,
    },
}

/// One file, directory, link or device node in the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpioEntry {
    /// Path inside the archive, without a leading `/`.
    pub path: String,
    /// Permission bits (the file type comes from `kind`).
    pub permissions: u32,
    pub kind: EntryKind,
}

impl CpioEntry {
    pub fn directory(path: &str) -> Self {
        CpioEntry::new(path, 0o755, EntryKind::Directory)
    }

    pub fn file(path: &str, permissions: u32, contents: Vec<u8>) -> Self {
        CpioEntry::new(path, permissions, EntryKind::File(contents))
    }

    pub fn symlink(path: &str, target: &str) -> Self {
        CpioEntry::new(path, 0o777, EntryKind::Symlink(target.to_owned()))
    }

    pub fn char_device(path: &str, permissions: u32, major: u32, minor: u32) -> Self {
        CpioEntry::new(path, permissions, EntryKind::CharDevice { major, minor })
    }

    fn new(path: &str, permissions: u32, kind: EntryKind) -> Self {
        CpioEntry {
            path: path.trim_start_matches('/').to_owned(),
            permissions: permissions & 0o7777,
            kind,
        }
    }

    /// The full cpio mode: file type and permissions.
    pub fn mode(&self) -> u32 {
        let file_type = match self.kind {
            EntryKind::Directory => S_IFDIR,
            EntryKind::File(_) => S_IFREG,
            EntryKind::Symlink(_) => S_IFLNK,
            EntryKind::CharDevice { .. } => S_IFCHR,
        };
        file_type | self.permissions
    }

    fn data(&self) -> &[u8] {
        match &self.kind {
            EntryKind::File(contents) => contents,
            EntryKind::Symlink(target) => target.as_bytes(),
            EntryKind::Directory | EntryKind::CharDevice { .. } => &[],
        }
    }
}

/// Why an archive could not be written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpioError {
    /// A field does not fit the format's eight hex digits.
    #[error("cpio entry `{path}`: {field} {value} does not fit in 32 bits")]
    FieldTooLarge {
        path: String,
        field: &'static str,
        value: usize,
    },
    /// The archive ends inside an entry.
    #[error("cpio archive is truncated at byte {offset}")]
    Truncated { offset: usize },
    #[error("cpio header at byte {offset} is not a newc header")]
    BadHeader { offset: usize },
    #[error("cpio archive has no trailer")]
    NoTrailer,
}

/// Writes `entries` as a newc archive, ending with the trailer. Inode
/// numbers count from 1; times, owners and checksums are zero, so the same
/// entries always give the same bytes.
pub fn write_newc(entries: &[CpioEntry]) -> Result<Vec<u8>, CpioError> {
    let mut archive = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let inode = index.saturating_add(1);
        append_entry(&mut archive, entry, inode)?;
    }
    let trailer = CpioEntry::new(TRAILER, 0, EntryKind::File(Vec::new()));
    append_raw(&mut archive, &trailer, 0, 0, 1)?;
    Ok(archive)
}

fn append_entry(archive: &mut Vec<u8>, entry: &CpioEntry, inode: usize) -> Result<(), CpioError> {
    let mode = entry.mode();
    let nlink = if matches!(entry.kind, EntryKind::Directory) {
        2
    } else {
        1
    };
    append_raw(archive, entry, inode, mode, nlink)
}

fn append_raw(
    archive: &mut Vec<u8>,
    entry: &CpioEntry,
    inode: usize,
    mode: u32,
    nlink: u32,
) -> Result<(), CpioError> {
    let field = |name: &'static str, value: usize| {
        u32::try_from(value).map_err(|_| CpioError::FieldTooLarge {
            path: entry.path.clone(),
            field: name,
            value,
        })
    };
    let data = entry.data();
    let (rdev_major, rdev_minor) = match entry.kind {
        EntryKind::CharDevice { major, minor } => (major, minor),
        _ => (0, 0),
    };
    let fields = [
        field("inode", inode)?,
        mode,
        0, // uid
        0, // gid
        nlink,
        0, // mtime
        field("file size", data.len())?,
        0, // dev major
        0, // dev minor
        rdev_major,
        rdev_minor,
        field("name size", entry.path.len().saturating_add(1))?,
        0, // check
    ];
    archive.extend_from_slice(NEWC_MAGIC);
    for value in fields {
        archive.extend_from_slice(format!("{value:08x}").as_bytes());
    }
    archive.extend_from_slice(entry.path.as_bytes());
    archive.push(0);
    pad_to_four(archive);
    archive.extend_from_slice(data);
    pad_to_four(archive);
    Ok(())
}

fn pad_to_four(archive: &mut Vec<u8>) {
    while !archive.len().is_multiple_of(4) {
        archive.push(0);
    }
}

/// Reads a newc archive back into entries (without the trailer). Only the
/// kinds [`write_newc`] writes are recognised; anything else reads as a
/// file with its data.
pub fn read_newc(archive: &[u8]) -> Result<Vec<CpioEntry>, CpioError> {
    let mut entries = Vec::new();
    let mut offset = 0;
    loop {
        let (entry, next) = read_entry(archive, offset)?;
        if entry.path == TRAILER {
            return Ok(entries);
        }
        entries.push(entry);
        offset = next;
    }
}

fn read_entry(archive: &[u8], offset: usize) -> Result<(CpioEntry, usize), CpioError> {
    let truncated = CpioError::Truncated { offset };
    let header = archive
        .get(offset..offset.saturating_add(HEADER_LEN))
        .ok_or(if offset >= archive.len() {
            CpioError::NoTrailer
        } else {
            truncated.clone()
        })?;
    if &header[..6] != NEWC_MAGIC {
        return Err(CpioError::BadHeader { offset });
    }
    let field = |index: usize| -> Result<u32, CpioError> {
        let start = 6 + index * 8;
        std::str::from_utf8(&header[start..start + 8])
            .ok()
            .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            .ok_or(CpioError::BadHeader { offset })
    };
    let mode = field(1)?;
    let size = usize::try_from(field(6)?).map_err(|_| truncated.clone())?;
    let name_size = usize::try_from(field(11)?).map_err(|_| truncated.clone())?;
    let (rdev_major, rdev_minor) = (field(9)?, field(10)?);

    let name_start = offset + HEADER_LEN;
    let name = archive
        .get(name_start..name_start.saturating_add(name_size))
        .ok_or(truncated.clone())?;
    let path = String::from_utf8_lossy(name.strip_suffix(&[0]).unwrap_or(name)).into_owned();
    let data_start = round_up_four(name_start + name_size);
    let data = archive
        .get(data_start..data_start.saturating_add(size))
        .ok_or(truncated)?;
    let kind = match mode & 0o170_000 {
        S_IFDIR => EntryKind::Directory,
        S_IFLNK => EntryKind::Symlink(String::from_utf8_lossy(data).into_owned()),
        S_IFCHR => EntryKind::CharDevice {
            major: rdev_major,
            minor: rdev_minor,
        },
        _ => EntryKind::File(data.to_vec()),
    };
    let entry = CpioEntry {
        path,
        permissions: mode & 0o7777,
        kind,
    };
    Ok((entry, round_up_four(data_start + size)))
}

fn round_up_four(value: usize) -> usize {
    value.div_ceil(4).saturating_mul(4)
}

/// The entries of the guest's initramfs around a static busybox binary.
pub fn guest_entries(busybox: Vec<u8>) -> Vec<CpioEntry> {
    let mut entries: Vec<CpioEntry> = ["bin", "dev", "etc", "proc", "root", "sbin", "sys", "tmp"]
        .into_iter()
        .chain(["usr", "usr/bin", "usr/sbin"])
        .map(CpioEntry::directory)
        .collect();
    // The kernel opens /dev/console for PID 1 before /init can mount
    // devtmpfs, so the node must be in the archive.
    entries.push(CpioEntry::char_device("dev/console", 0o600, 5, 1));
    entries.push(CpioEntry::char_device("dev/ttyS0", 0o660, 4, 64));
    entries.push(CpioEntry::file("bin/busybox", 0o755, busybox));
    entries.push(CpioEntry::symlink("bin/sh", "busybox"));
    entries.push(CpioEntry::file("init", 0o755, init_script().into_bytes()));
    entries
}

/// Builds the guest's initramfs around a static busybox binary.
pub fn build_guest_initramfs(busybox: Vec<u8>) -> Result<Vec<u8>, CpioError> {
    write_newc(&guest_entries(busybox))
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryKind::Directory => f.write_str("directory"),
            EntryKind::File(contents) => write!(f, "file of {} bytes", contents.len()),
            EntryKind::Symlink(target) => write!(f, "link to {target}"),
            EntryKind::CharDevice { major, minor } => write!(f, "char device {major}:{minor}"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_archive_is_just_the_trailer() {
        let archive = write_newc(&[]).unwrap();
        assert!(archive.starts_with(b"070701"));
        assert_eq!(archive.len() % 4, 0);
        assert_eq!(read_newc(&archive).unwrap(), Vec::new());
        let text = String::from_utf8_lossy(&archive);
        assert!(text.contains("TRAILER!!!"), "{text}");
    }

    #[test]
    fn header_fields_are_eight_hex_digits_in_newc_order() {
        let archive = write_newc(&[CpioEntry::file("init", 0o755, b"abc".to_vec())]).unwrap();
        let header = std::str::from_utf8(&archive[..HEADER_LEN]).unwrap();
        assert_eq!(&header[6..14], "00000001", "inode");
        assert_eq!(&header[14..22], "000081ed", "mode: regular file 0755");
        assert_eq!(&header[54..62], "00000003", "file size");
        assert_eq!(&header[94..102], "00000005", "name size with NUL");
        // Name at 110, padded to 116; data at 116.
        assert_eq!(&archive[110..115], b"init\0");
        assert_eq!(&archive[116..119], b"abc");
    }

    #[test]
    fn every_kind_round_trips_with_its_mode() {
        let entries = vec![
            CpioEntry::directory("/bin"),
            CpioEntry::file("bin/tool", 0o4755, vec![1, 2, 3, 4, 5]),
            CpioEntry::symlink("bin/sh", "tool"),
            CpioEntry::char_device("dev/console", 0o600, 5, 1),
            CpioEntry::file("empty", 0o644, Vec::new()),
        ];
        let archive = write_newc(&entries).unwrap();
        let read = read_newc(&archive).unwrap();
        assert_eq!(read, entries);
        assert_eq!(read[0].path, "bin", "leading slash dropped");
        assert_eq!(read[0].mode(), 0o040_755);
        assert_eq!(read[2].mode(), 0o120_777);
        assert_eq!(read[3].mode(), 0o020_600);
    }

    #[test]
    fn writing_is_deterministic() {
        let entries = guest_entries(b"busybox".to_vec());
        assert_eq!(write_newc(&entries), write_newc(&entries));
    }

    #[test]
    fn guest_initramfs_has_busybox_console_and_an_executable_init() {
        let archive = build_guest_initramfs(b"\x7fELF busybox".to_vec()).unwrap();
        let entries = read_newc(&archive).unwrap();
        let find = |path: &str| {
            entries
                .iter()
                .find(|entry| entry.path == path)
                .unwrap_or_else(|| panic!("{path} is in the archive"))
        };
        assert_eq!(
            find("dev/console").kind,
            EntryKind::CharDevice { major: 5, minor: 1 }
        );
        assert_eq!(find("bin/busybox").mode(), 0o100_755);
        assert_eq!(find("bin/sh").kind, EntryKind::Symlink("busybox".into()));
        let init = find("init");
        assert_eq!(init.mode(), 0o100_755);
        let EntryKind::File(script) = &init.kind else {
            panic!("init is a file")
        };
        let script = String::from_utf8(script.clone()).unwrap();
        assert!(script.starts_with("#!/bin/busybox sh\n"), "{script}");
        for needed in [
            "mount -t proc proc /proc",
            "mount -t sysfs sysfs /sys",
            "mount -t devtmpfs devtmpfs /dev",
            INIT_BANNER,
            SHELL_PROMPT,
            "/dev/ttyS0",
            "exec setsid",
        ] {
            assert!(script.contains(needed), "/init lacks {needed:?}:\n{script}");
        }
    }

    #[test]
    fn damaged_archives_are_errors_not_panics() {
        let archive = write_newc(&[CpioEntry::file("a", 0o644, vec![9; 10])]).unwrap();
        for cut in 0..archive.len() {
            assert!(read_newc(&archive[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = archive.clone();
        bad[0] = b'x';
        assert_eq!(read_newc(&bad), Err(CpioError::BadHeader { offset: 0 }));
    }
}
