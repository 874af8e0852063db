//! Reading a file that someone else may have put in place: a configuration, a GuestConfigFilePath,
//! a copy in SyncDir. Only a regular file is read, and at most a limit: a FIFO would block the
//! command forever (a cluster agent's monitor included), and `/dev/zero` or a runaway file would
//! fill memory.

use std::fs::OpenOptions;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// A mebibyte, for limits and for saying them.
pub const MIB: u64 = 1024 * 1024;

/// Whether a symbolic link as the file itself is followed (the directories on the way always are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    Follow,
    Refuse,
}

/// The whole content of the regular file `path`, when it has at most `limit` bytes. The errors
/// read after "cannot read FILE: ".
pub fn read(path: &Path, limit: u64, links: Links) -> io::Result<Vec<u8>> {
    let mut flags = libc::O_NONBLOCK;
    if links == Links::Refuse {
        flags |= libc::O_NOFOLLOW;
    }
    // Opening a FIFO blocks until a writer comes, unless non-blocking; on a regular file the
    // flag changes nothing.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) if links == Links::Refuse => {
                io::Error::other("a symbolic link, which is not followed here")
            }
            _ => e,
        })?;
    let meta = file.metadata()?;
    let kind = meta.file_type();
    let other = match () {
        _ if kind.is_file() => None,
        _ if kind.is_dir() => Some("a directory"),
        _ if kind.is_fifo() => Some("a FIFO"),
        _ if kind.is_char_device() => Some("a character device"),
        _ if kind.is_block_device() => Some("a block device"),
        _ if kind.is_socket() => Some("a socket"),
        _ => Some("of an unknown type"),
    };
    if let Some(other) = other {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file but {other}"),
        ));
    }
    let too_big = || {
        let limit = match limit {
            l if l >= MIB => format!("{} MiB", l / MIB),
            l => format!("{l} bytes"),
        };
        io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("larger than the {limit} limit"),
        )
    };
    if meta.len() > limit {
        return Err(too_big());
    }
    // The size said can be wrong (a file still growing, /proc): the read is bounded too.
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_big());
    }
    Ok(bytes)
}

/// [`read`] for text.
pub fn read_text(path: &Path, limit: u64, links: Links) -> io::Result<String> {
    String::from_utf8(read(path, limit, links)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(path: &Path, limit: u64, links: Links) -> String {
        crate::error::io(&read(path, limit, links).unwrap_err())
    }

    #[test]
    fn only_regular_files_within_the_limit_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "0123456789").unwrap();
        assert_eq!(read(&file, 10, Links::Refuse).unwrap(), b"0123456789");
        assert_eq!(
            error(&file, 9, Links::Follow),
            "larger than the 9 bytes limit"
        );
        assert_eq!(
            error(Path::new("/dev/zero"), MIB, Links::Follow),
            "not a regular file but a character device"
        );
        assert_eq!(
            error(dir.path(), MIB, Links::Follow),
            "not a regular file but a directory"
        );
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(read_text(&link, MIB, Links::Follow).unwrap(), "0123456789");
        assert_eq!(
            error(&link, MIB, Links::Refuse),
            "a symbolic link, which is not followed here"
        );
        std::fs::write(&file, [0xff, 0xfe]).unwrap();
        assert_eq!(
            crate::error::io(&read_text(&file, MIB, Links::Follow).unwrap_err()),
            "not UTF-8 text"
        );
    }

    #[test]
    fn a_fifo_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        // Without a writer, a blocking open would never return.
        assert_eq!(
            error(&fifo, MIB, Links::Follow),
            "not a regular file but a FIFO"
        );
    }
}
