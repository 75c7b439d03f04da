//! Opening files that must be regular files without ever blocking, and reading them with
//! a cap: every procfs/sysfs read and the token file go through [`open_regular`], so a
//! FIFO or a device planted where a regular file belongs is an error naming the path, not
//! a hang; every capped read goes through [`read_capped`].

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags};

/// Opens `path` read-only and non-blocking and refuses anything but a regular file.
///
/// `O_NONBLOCK` makes opening a FIFO return at once (a blocking open waits for a writer
/// forever); `fstat` on the open descriptor then rejects it, so nothing ever reads from a
/// pipe or a device. The kernel's procfs and sysfs files, and Docker secrets, are regular
/// files. The error message names the path.
pub(crate) fn open_regular(path: &Path) -> io::Result<File> {
    open_regular_with(path, OFlags::empty())
}

/// [`open_regular`] that also refuses a symbolic link at `path` itself (`O_NOFOLLOW`):
/// for files in a directory others may write to, such as the state directory.
pub(crate) fn open_regular_nofollow(path: &Path) -> io::Result<File> {
    open_regular_with(path, OFlags::NOFOLLOW).map_err(|e| {
        if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: is a symbolic link (not followed)", path.display()),
            )
        } else {
            e
        }
    })
}

fn open_regular_with(path: &Path, extra: OFlags) -> io::Result<File> {
    let named = |kind: io::ErrorKind, why: &dyn std::fmt::Display| {
        io::Error::new(kind, format!("{}: {why}", path.display()))
    };
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY | extra,
        Mode::empty(),
    )
    .map_err(|e| named(io::Error::from(e).kind(), &io::Error::from(e)))?;
    let st = rustix::fs::fstat(&fd).map_err(|e| named(io::Error::from(e).kind(), &e))?;
    let kind = FileType::from_raw_mode(st.st_mode);
    if kind != FileType::RegularFile {
        return Err(named(
            io::ErrorKind::InvalidInput,
            &format!("not a regular file ({})", describe(kind)),
        ));
    }
    Ok(File::from(fd))
}

/// Writes `bytes` to `path` atomically and without following links: whatever sits at
/// the temporary name `tmp` (a stale file, a FIFO, a symbolic link) is removed, never
/// opened; the temporary file is created afresh (`O_CREAT | O_EXCL | O_NOFOLLOW`),
/// written, fsynced and renamed over `path` (a link at `path` is replaced, not followed),
/// then the directory is fsynced. A crash leaves the old file or the new one; a failure
/// (disk full, read-only) removes the temporary file and leaves the old one intact.
pub(crate) fn write_atomic(path: &Path, tmp: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match rustix::fs::unlink(tmp) {
        Ok(()) | Err(rustix::io::Errno::NOENT) => {}
        Err(e) => return Err(e.into()),
    }
    let fd = rustix::fs::open(
        tmp,
        OFlags::WRONLY
            | OFlags::CREATE
            | OFlags::EXCL
            | OFlags::NOFOLLOW
            | OFlags::CLOEXEC
            | OFlags::NONBLOCK,
        Mode::from_raw_mode(0o600),
    )?;
    let result = (|| {
        let mut f = File::from(fd);
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        rustix::fs::rename(tmp, path)?;
        let d = rustix::fs::open(
            dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        rustix::fs::fsync(&d)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = rustix::fs::unlink(tmp);
    }
    result
}

/// Reads all of `r` into `buf` (cleared first) unless it holds more than `max` bytes:
/// `Ok(false)` then. At most `max + 1` bytes are ever read, so a bad or hostile file
/// cannot grow the buffer without bound. Every capped read of the crate goes through
/// here; callers word the refusal for their reader.
pub(crate) fn read_capped(r: impl Read, max: u64, buf: &mut Vec<u8>) -> io::Result<bool> {
    buf.clear();
    r.take(max.saturating_add(1)).read_to_end(buf)?;
    Ok(buf.len() as u64 <= max)
}

/// [`read_capped`] for UTF-8 text, reusing `buf`'s allocation: `Ok(false)` (and `buf`
/// empty) past `max`, an `InvalidData` error for bytes that are not UTF-8.
pub(crate) fn read_capped_text(r: impl Read, max: u64, buf: &mut String) -> io::Result<bool> {
    let mut bytes = std::mem::take(buf).into_bytes();
    if !read_capped(r, max, &mut bytes)? {
        return Ok(false);
    }
    *buf = String::from_utf8(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })?;
    Ok(true)
}

fn describe(kind: FileType) -> &'static str {
    match kind {
        FileType::Fifo => "a FIFO",
        FileType::Socket => "a socket",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        FileType::Directory => "a directory",
        _ => "not a plain file",
    }
}

/// Makes a FIFO at `path` (tests plant them where regular files belong).
#[cfg(test)]
pub(crate) fn mkfifo(path: &Path) {
    let made = rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        FileType::Fifo,
        Mode::from_raw_mode(0o600),
        0,
    );
    assert!(made.is_ok(), "mkfifo {}: {made:?}", path.display());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn regular_files_open_and_fifos_are_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        std::fs::write(&plain, "ok").unwrap();
        let mut s = String::new();
        open_regular(&plain)
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "ok");

        let fifo = dir.path().join("fifo");
        mkfifo(&fifo);
        let t = std::time::Instant::now();
        let err = open_regular(&fifo).unwrap_err().to_string();
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
        assert!(err.contains("not a regular file"), "{err}");
        assert!(err.contains(&fifo.display().to_string()), "{err}");

        let err = open_regular(dir.path()).unwrap_err().to_string();
        assert!(err.contains("not a regular file (a directory)"), "{err}");
        let err = open_regular(&dir.path().join("missing")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn capped_text_reads_up_to_the_cap_and_refuses_past_it_or_bad_utf8() {
        let mut text = String::from("old contents");
        assert!(read_capped_text(&b"12345"[..], 5, &mut text).unwrap());
        assert_eq!(text, "12345");
        assert!(!read_capped_text(&b"123456"[..], 5, &mut text).unwrap());
        assert_eq!(text, "");
        // Past the cap is "too long" even when the cut falls inside a character.
        assert!(!read_capped_text("aaaaé".as_bytes(), 5, &mut text).unwrap());
        let err = read_capped_text(&b"ok\xff"[..], 5, &mut text).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
