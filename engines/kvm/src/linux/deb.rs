//! Reads one file out of a Debian package without `dpkg`: a `.deb` is an
//! `ar` archive whose `data.tar.xz` member holds the installed files.
//!
//! The tar stream is decompressed on a helper thread and read as it
//! arrives, so finding `boot/vmlinuz-*` near the start of a 70 MB kernel
//! package does not decompress the hundreds of megabytes of modules after
//! it.

use std::io::{self, BufReader, Read, Write};
use std::thread;

/// Why a file could not be taken out of a package.
#[derive(Debug, thiserror::Error)]
pub enum DebError {
    #[error("not a Debian package: the `ar` signature is missing")]
    NotAnArchive,
    #[error("the package's `ar` member header at byte {offset} is damaged")]
    BadMember { offset: usize },
    #[error("the package has no data.tar.xz member")]
    NoDataMember,
    #[error("failed to read the package's data.tar.xz")]
    ReadData(#[source] io::Error),
    #[error("failed to start the decompression thread")]
    SpawnThread(#[source] io::Error),
    #[error("the package has no file matching `{wanted}`")]
    FileNotFound { wanted: String },
}

const AR_MAGIC: &[u8] = b"!<arch>\n";
const AR_HEADER_LEN: usize = 60;

/// The members of an `ar` archive: (name, contents).
pub fn ar_members(archive: &[u8]) -> Result<Vec<(String, &[u8])>, DebError> {
    let body = archive
        .strip_prefix(AR_MAGIC)
        .ok_or(DebError::NotAnArchive)?;
    let mut members = Vec::new();
    let mut offset = AR_MAGIC.len();
    let mut rest = body;
    while !rest.is_empty() {
        let bad = DebError::BadMember { offset };
        let header = rest.get(..AR_HEADER_LEN).ok_or(bad)?;
        let name = String::from_utf8_lossy(&header[..16])
            .trim_end()
            .trim_end_matches('/')
            .to_owned();
        let size: usize = std::str::from_utf8(&header[48..58])
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .ok_or(DebError::BadMember { offset })?;
        let contents = rest
            .get(AR_HEADER_LEN..AR_HEADER_LEN.saturating_add(size))
            .ok_or(DebError::BadMember { offset })?;
        members.push((name, contents));
        // Members start on even offsets.
        let advance = AR_HEADER_LEN + size + size % 2;
        rest = rest.get(advance..).unwrap_or_default();
        offset = offset.saturating_add(advance);
    }
    Ok(members)
}

/// The first regular file in the package's data whose path (without a
/// leading `./`) satisfies `wanted`; returns its path and contents.
pub fn extract_file(
    package: &[u8],
    wanted: &dyn Fn(&str) -> bool,
    description: &str,
) -> Result<(String, Vec<u8>), DebError> {
    let members = ar_members(package)?;
    let data = members
        .into_iter()
        .find(|(name, _)| name == "data.tar.xz")
        .map(|(_, contents)| contents.to_vec())
        .ok_or(DebError::NoDataMember)?;

    let (reader, mut writer) = io::pipe().map_err(DebError::SpawnThread)?;
    let decompressor = thread::Builder::new()
        .name("deb-unxz".to_owned())
        .spawn(move || {
            let mut input = BufReader::new(data.as_slice());
            // A write error means the reader found its file and hung up.
            let _ = lzma_rs::xz_decompress(&mut input, &mut writer);
            let _ = writer.flush();
        })
        .map_err(DebError::SpawnThread)?;

    let found = find_in_tar(reader, wanted);
    // Dropping the reader (inside find_in_tar) ends the decompressor.
    if decompressor.join().is_err() {
        tracing::warn!("the decompression thread panicked");
    }
    found?.ok_or_else(|| DebError::FileNotFound {
        wanted: description.to_owned(),
    })
}

fn find_in_tar(
    reader: impl Read,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<Option<(String, Vec<u8>)>, DebError> {
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries().map_err(DebError::ReadData)? {
        let mut entry = entry.map_err(DebError::ReadData)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().map_err(DebError::ReadData)?;
        let path = path.to_string_lossy();
        let path = path.trim_start_matches("./").to_owned();
        if wanted(&path) {
            let mut contents = Vec::new();
            entry
                .read_to_end(&mut contents)
                .map_err(DebError::ReadData)?;
            return Ok(Some((path, contents)));
        }
    }
    Ok(None)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn ar(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut archive = AR_MAGIC.to_vec();
        for (name, contents) in members {
            let header = format!(
                "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
                name,
                0,
                0,
                0,
                "100644",
                contents.len()
            );
            archive.extend_from_slice(header.as_bytes());
            archive.extend_from_slice(contents);
            if contents.len() % 2 == 1 {
                archive.push(b'\n');
            }
        }
        archive
    }

    fn tar_xz(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, contents) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(contents.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, path, *contents).unwrap();
        }
        let tar = builder.into_inner().unwrap();
        let mut compressed = Vec::new();
        lzma_rs::xz_compress(&mut tar.as_slice(), &mut compressed).unwrap();
        compressed
    }

    #[test]
    fn members_are_listed_with_odd_sizes_padded() {
        let archive = ar(&[("debian-binary", b"2.0\n"), ("odd", b"abc"), ("last", b"z")]);
        let members = ar_members(&archive).unwrap();
        let names: Vec<&str> = members.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["debian-binary", "odd", "last"]);
        assert_eq!(members[1].1, b"abc");
        assert_eq!(members[2].1, b"z");
    }

    #[test]
    fn finds_a_file_in_data_tar_xz() {
        let data = tar_xz(&[
            ("./boot/config-1", b"config"),
            ("./boot/vmlinuz-1", b"kernel bytes"),
            ("./lib/modules/x.ko", b"module"),
        ]);
        let package = ar(&[("debian-binary", b"2.0\n"), ("data.tar.xz", &data)]);
        let (path, contents) = extract_file(
            &package,
            &|path| path.starts_with("boot/vmlinuz-"),
            "boot/vmlinuz-*",
        )
        .unwrap();
        assert_eq!(path, "boot/vmlinuz-1");
        assert_eq!(contents, b"kernel bytes");
        let missing = extract_file(&package, &|path| path == "bin/busybox", "bin/busybox");
        assert!(matches!(missing, Err(DebError::FileNotFound { .. })));
    }

    #[test]
    fn damaged_packages_are_errors() {
        assert!(matches!(ar_members(b"hello"), Err(DebError::NotAnArchive)));
        let mut archive = ar(&[("data.tar.xz", b"0123456789")]);
        archive.truncate(archive.len() - 4);
        assert!(matches!(
            ar_members(&archive),
            Err(DebError::BadMember { .. })
        ));
        let no_data = ar(&[("debian-binary", b"2.0\n")]);
        assert!(matches!(
            extract_file(&no_data, &|_| true, "x"),
            Err(DebError::NoDataMember)
        ));
    }
}
