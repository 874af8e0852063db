//! Encrypted passwords in the configuration.
//!
//! The oVirt/RHEV engine password (`RHEVMInfo.Password`) has to be in the YAML, and the YAML gets
//! copied into backups, diffs, tickets and support bundles. As with VCS's `vcsencrypt -agent`,
//! the YAML therefore holds only a value encrypted with a key that stays on the machine, in a file
//! that only its owner can read. This protects the copies, not the machine: whoever can read the
//! key can decrypt the password.

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{Ordering, compiler_fence};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use crate::error::{Error, Result};

/// Where the key lives unless told otherwise (like VCS's vcsencrypt -agent key).
pub const DEFAULT_KEY_FILE: &str = "/etc/kvmguestctl/secret.key";
/// The prefix of an encrypted password as written in the YAML.
pub const PREFIX: &str = "enc:v1:";

/// Binds every value to its field and format version, so that a value encrypted for something
/// else (or by a later format) with the same key is refused instead of accepted.
const AAD: &[u8] = b"kvmguestctl RHEVMInfo.Password v1";
/// CHACHA20_POLY1305 takes a 256-bit key.
const KEY_LEN: usize = 32;
/// A key file is one line of base64 (45 bytes); anything much longer is not ours, and the limit
/// keeps a wrong `--key-file` from being read whole.
const MAX_KEY_FILE_LEN: u64 = 1024;
/// Only the first line of a password file counts; the limit keeps a wrong `--password-file`
/// (a log, an image) from being read whole into memory.
const MAX_PASSWORD_FILE_LEN: u64 = 64 * 1024;

/// A password in memory. Debug and Display print "********" so that logging a configuration or
/// an error never reveals it; the memory is zeroed on drop so it does not linger in freed heap.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Secret {
        Secret(s)
    }

    /// Append one line read from `input` (a password typed into a pipe).
    pub fn read_line_from(&mut self, input: &mut impl std::io::BufRead) -> std::io::Result<usize> {
        input.read_line(&mut self.0)
    }

    /// Only the first line, without its line ending; cut in place, so the rest is wiped with it.
    pub fn first_line(mut self) -> Secret {
        if let Some(end) = self.0.find('\n') {
            self.0.truncate(end);
        }
        if self.0.ends_with('\r') {
            self.0.pop();
        }
        self
    }

    /// The one way to the value: every use of the password is then visible in the code.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("********")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("********")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        wipe(std::mem::take(&mut self.0).into_bytes());
    }
}

/// Zeroes a buffer that held a password or key material, including its spare capacity (a
/// truncated line, an authentication tag), before it goes back to the allocator.
fn wipe(mut bytes: Vec<u8>) {
    // Within capacity: no reallocation, so no copy is left behind.
    bytes.resize(bytes.capacity(), 0);
    for byte in bytes.iter_mut() {
        // SAFETY: `byte` is a valid, aligned and exclusive reference. Volatile so that the
        // compiler cannot drop writes to memory that is about to be freed.
        unsafe { std::ptr::write_volatile(byte, 0) };
    }
    compiler_fence(Ordering::SeqCst);
}

/// True when `value` is an encrypted password (starts with PREFIX).
pub fn is_encrypted(value: &str) -> bool {
    value.starts_with(PREFIX)
}

/// Encrypt `plain` with the key in `key_file`, creating the key (32 random bytes from
/// ring::rand::SystemRandom, written base64 on one line) when `create_key` and the file does not exist.
/// Creation: parent directory created with mode 0700 if missing; the file created with create_new and
/// mode 0600 (std::os::unix::fs::OpenOptionsExt), fsync'd. Returns "enc:v1:" + base64(nonce || ciphertext_and_tag).
pub fn encrypt(key_file: &Path, plain: &str, create_key: bool) -> Result<String> {
    if plain.is_empty() {
        return Err(Error::Usage(
            "the password is empty: there is nothing to encrypt; give the engine's password".into(),
        ));
    }
    let rng = SystemRandom::new();
    let key = match fs::metadata(key_file) {
        Err(e) if e.kind() == ErrorKind::NotFound && create_key => create_key_file(key_file, &rng)?,
        _ => load_key(key_file)?,
    };
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill(&mut nonce).map_err(|_| random_failed())?;
    // Sized up front: the buffer holds the plain text until it is sealed, and growing it would
    // leave a copy in freed memory.
    let mut sealed = Vec::with_capacity(NONCE_LEN + plain.len() + CHACHA20_POLY1305.tag_len());
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(plain.as_bytes());
    let tag = match key.seal_in_place_separate_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(AAD),
        &mut sealed[NONCE_LEN..],
    ) {
        Ok(tag) => tag,
        Err(_) => {
            wipe(sealed);
            return Err(Error::Failed(
                "the password cannot be encrypted: it is too long".into(),
            ));
        }
    };
    sealed.extend_from_slice(tag.as_ref());
    Ok(format!("{PREFIX}{}", STANDARD.encode(&sealed)))
}

/// Decrypt a value written by `encrypt`.
pub fn decrypt(key_file: &Path, value: &str) -> Result<Secret> {
    let Some(encoded) = value.strip_prefix(PREFIX) else {
        return Err(Error::Config(format!(
            "RHEVMInfo.Password is not an encrypted value (it does not start with \"{PREFIX}\"); \
             encrypt the password with `kvmguestctl encrypt` and put its output there"
        )));
    };
    // The value is checked before the key is read: a mangled value is the likelier mistake.
    let mut data = STANDARD
        .decode(encoded)
        .map_err(|_| malformed_value("it is not valid base64"))?;
    let nonce = match data.split_first_chunk::<NONCE_LEN>() {
        Some((nonce, rest)) if rest.len() >= CHACHA20_POLY1305.tag_len() => {
            Nonce::assume_unique_for_key(*nonce)
        }
        _ => return Err(malformed_value("it is too short")),
    };
    let key = load_key(key_file)?;
    let plain_len = match key.open_within(nonce, Aad::from(AAD), &mut data, NONCE_LEN..) {
        Ok(plain) => plain.len(),
        Err(_) => {
            wipe(data);
            return Err(Error::Config(format!(
                "RHEVMInfo.Password cannot be decrypted with {}: it was encrypted with another key \
                 or altered; encrypt it again with `kvmguestctl encrypt`",
                key_file.display()
            )));
        }
    };
    data.truncate(plain_len);
    match String::from_utf8(data) {
        Ok(plain) => Ok(Secret(plain)),
        Err(e) => {
            wipe(e.into_bytes());
            Err(Error::Config(
                "RHEVMInfo.Password decrypts to bytes that are not UTF-8 text; \
                 encrypt it again with `kvmguestctl encrypt`"
                    .into(),
            ))
        }
    }
}

/// Read a password from a file (first line, trailing "\n" or "\r\n" removed; an empty password is an error).
pub fn read_password_file(path: &Path) -> Result<Secret> {
    let meta = fs::metadata(path).map_err(|e| {
        Error::Config(format!(
            "cannot read password file {}: {}",
            path.display(),
            crate::error::io(&e)
        ))
    })?;
    check_private(path, &meta, "password")?;
    if meta.len() > MAX_PASSWORD_FILE_LEN {
        return Err(Error::Config(format!(
            "{}: {} bytes is too large for a password file; put only the password in it, \
             on the first line",
            path.display(),
            meta.len()
        )));
    }
    let password = read_to_secret(path, meta.len())
        .map_err(|e| {
            if e.kind() == ErrorKind::InvalidData {
                Error::Config(format!(
                    "{}: not UTF-8 text; put the password on the first line as UTF-8 text",
                    path.display()
                ))
            } else {
                Error::Config(format!(
                    "cannot read password file {}: {}",
                    path.display(),
                    crate::error::io(&e)
                ))
            }
        })?
        .first_line();
    if password.0.is_empty() {
        return Err(Error::Config(format!(
            "{}: the first line is empty; put the password on the first line",
            path.display()
        )));
    }
    Ok(password)
}

/// A readable key file, with the checks that make it trustworthy.
fn load_key(path: &Path) -> Result<LessSafeKey> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(Error::Config(format!(
                "key file {} does not exist; run `kvmguestctl encrypt` (which creates it) or \
                 pass --key-file with the key that encrypted the password",
                path.display()
            )));
        }
        Err(e) => {
            return Err(Error::Config(format!(
                "cannot read key file {}: {}",
                path.display(),
                crate::error::io(&e)
            )));
        }
    };
    check_private(path, &meta, "key")?;
    // Someone else's key could be replaced by its owner, who would then learn the passwords
    // encrypted from now on.
    let euid = effective_uid(path)?;
    if meta.uid() != euid {
        return Err(Error::Config(format!(
            "{}: owned by uid {}, not by uid {euid} that runs kvmguestctl; chown {euid} {} \
             (or pass --key-file with a key of your own)",
            path.display(),
            meta.uid(),
            path.display()
        )));
    }
    if meta.len() > MAX_KEY_FILE_LEN {
        return Err(not_a_key(path));
    }
    let text = read_to_secret(path, meta.len()).map_err(|e| {
        if e.kind() == ErrorKind::InvalidData {
            not_a_key(path)
        } else {
            Error::Config(format!(
                "cannot read key file {}: {}",
                path.display(),
                crate::error::io(&e)
            ))
        }
    })?;
    let line = text.expose().strip_suffix('\n').unwrap_or(text.expose());
    let line = line.strip_suffix('\r').unwrap_or(line);
    let raw = STANDARD.decode(line).map_err(|_| not_a_key(path))?;
    aead_key(raw).ok_or_else(|| not_a_key(path))
}

/// Makes the key on first use, so that `kvmguestctl encrypt` needs no separate setup step.
fn create_key_file(path: &Path, rng: &SystemRandom) -> Result<LessSafeKey> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = parent {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| {
                Error::Failed(format!(
                    "cannot create directory {} for the key: {e}; create it (mode 700) or pass \
                     --key-file",
                    dir.display()
                ))
            })?;
    }
    let mut raw = vec![0u8; KEY_LEN];
    if rng.fill(&mut raw).is_err() {
        wipe(raw);
        return Err(random_failed());
    }
    let mut file = match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(file) => file,
        // Another kvmguestctl created it meanwhile: use that key, or both would be lost.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            wipe(raw);
            return load_key(path);
        }
        Err(e) => {
            wipe(raw);
            return Err(Error::Failed(format!(
                "cannot create key file {}: {e}; check the directory or pass --key-file",
                path.display()
            )));
        }
    };
    let line = Secret(format!("{}\n", STANDARD.encode(&raw)));
    let written = file
        .write_all(line.expose().as_bytes())
        .and_then(|()| file.sync_all());
    drop(line);
    if let Err(e) = written {
        wipe(raw);
        // A partial key would be refused as garbage on the next run; better no key at all.
        let _ = fs::remove_file(path);
        return Err(Error::Failed(format!(
            "cannot write key file {}: {e}; it was removed, free space or pass --key-file",
            path.display()
        )));
    }
    // The key is useless if its directory entry is lost in a crash: every password encrypted
    // with it would then be undecryptable.
    if let Some(dir) = parent {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| {
                Error::Failed(format!(
                    "cannot flush directory {} after creating the key: {e}",
                    dir.display()
                ))
            })?;
    }
    aead_key(raw).ok_or_else(|| {
        Error::Failed(format!(
            "the key just written to {} was refused by the cipher; remove it and run again",
            path.display()
        ))
    })
}

/// The cipher key, or None when `raw` is not 256 bits. Wipes `raw` either way.
fn aead_key(raw: Vec<u8>) -> Option<LessSafeKey> {
    let key = if raw.len() == KEY_LEN {
        UnboundKey::new(&CHACHA20_POLY1305, &raw).ok()
    } else {
        None
    };
    wipe(raw);
    key.map(LessSafeKey::new)
}

/// A secret in a file that others can read or replace is no secret: refuse rather than use it.
fn check_private(path: &Path, meta: &fs::Metadata, what: &str) -> Result<()> {
    if !meta.is_file() {
        return Err(Error::Config(format!(
            "{}: not a regular file; the {what} must be in a regular file",
            path.display()
        )));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(Error::Config(format!(
            "{}: mode {mode:04o} lets group or others read or write the {what}; chmod 600 {}",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

/// Reads a whole file straight into a Secret, into a buffer sized from `len` so that it is not
/// reallocated (which would leave copies in freed memory).
fn read_to_secret(path: &Path, len: u64) -> std::io::Result<Secret> {
    let capacity = usize::try_from(len).unwrap_or(0).saturating_add(1);
    let mut text = Secret(String::with_capacity(capacity));
    fs::File::open(path)?.read_to_string(&mut text.0)?;
    Ok(text)
}

/// The effective uid, read from /proc because the crate does not link libc directly.
fn effective_uid(key_file: &Path) -> Result<u32> {
    const STATUS: &str = "/proc/self/status";
    let status = fs::read_to_string(STATUS).map_err(|e| {
        Error::Failed(format!(
            "cannot read {STATUS}: {e}; it tells who runs kvmguestctl, which must own {} \
             (is /proc mounted?)",
            key_file.display()
        ))
    })?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|uids| uids.split_whitespace().nth(1))
        .and_then(|euid| euid.parse().ok())
        .ok_or_else(|| {
            Error::Failed(format!(
                "{STATUS} has no \"Uid:\" line with an effective uid; cannot check who owns {}",
                key_file.display()
            ))
        })
}

fn malformed_value(why: &str) -> Error {
    Error::Config(format!(
        "RHEVMInfo.Password is not a valid encrypted value ({why}); \
         encrypt the password again with `kvmguestctl encrypt`"
    ))
}

fn not_a_key(path: &Path) -> Error {
    Error::Config(format!(
        "{}: not a kvmguestctl key (expected 32 bytes in base64 on one line)",
        path.display()
    ))
}

fn random_failed() -> Error {
    Error::Failed("the system's random number generator failed; try again".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn set_mode(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    /// A key file created by `encrypt` in a fresh directory.
    fn new_key(dir: &tempfile::TempDir, name: &str) -> PathBuf {
        let key = dir.path().join(name).join("secret.key");
        encrypt(&key, "seed", true).unwrap();
        key
    }

    fn write_private(path: &Path, content: &[u8]) {
        fs::write(path, content).unwrap();
        set_mode(path, 0o600);
    }

    fn config_message(result: Result<impl std::fmt::Debug>) -> String {
        match result {
            Err(Error::Config(message)) => message,
            other => panic!("expected Error::Config, got {other:?}"),
        }
    }

    #[test]
    fn round_trip_keeps_the_password_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("secret.key");
        for plain in [
            "hunter2",
            "with spaces & amp + plus",
            "pässwörd ключ 密码 🔑",
            " x ",
        ] {
            let value = encrypt(&key, plain, true).unwrap();
            assert!(is_encrypted(&value), "{value}");
            assert!(!value.contains(plain));
            assert_eq!(decrypt(&key, &value).unwrap().expose(), plain);
        }
        assert!(!is_encrypted("hunter2"));
    }

    #[test]
    fn same_password_encrypts_differently_each_time() {
        let dir = tempfile::tempdir().unwrap();
        let key = new_key(&dir, "k");
        let first = encrypt(&key, "same", false).unwrap();
        let second = encrypt(&key, "same", false).unwrap();
        assert_ne!(first, second);
        assert_eq!(decrypt(&key, &first).unwrap().expose(), "same");
        assert_eq!(decrypt(&key, &second).unwrap().expose(), "same");
    }

    #[test]
    fn created_key_is_0600_in_a_0700_directory() {
        let dir = tempfile::tempdir().unwrap();
        let key = new_key(&dir, "etc");
        assert_eq!(mode_of(&key), 0o600);
        assert_eq!(mode_of(key.parent().unwrap()), 0o700);
        let text = fs::read_to_string(&key).unwrap();
        assert_eq!(text.lines().count(), 1);
        assert_eq!(STANDARD.decode(text.trim_end()).unwrap().len(), KEY_LEN);
    }

    #[test]
    fn existing_key_is_kept_when_create_key_is_asked() {
        let dir = tempfile::tempdir().unwrap();
        let key = new_key(&dir, "k");
        let before = fs::read(&key).unwrap();
        let value = encrypt(&key, "pw", true).unwrap();
        assert_eq!(fs::read(&key).unwrap(), before);
        assert_eq!(decrypt(&key, &value).unwrap().expose(), "pw");
    }

    #[test]
    fn missing_key_without_create_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("none.key");
        let message = config_message(encrypt(&key, "pw", false));
        assert!(message.contains("kvmguestctl encrypt"), "{message}");
        assert!(message.contains("--key-file"), "{message}");
        assert!(!key.exists());
    }

    #[test]
    fn empty_password_is_not_encrypted() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("secret.key");
        assert!(matches!(encrypt(&key, "", true), Err(Error::Usage(_))));
    }

    #[test]
    fn wrong_key_is_refused_with_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        let right = new_key(&dir, "right");
        let wrong = new_key(&dir, "wrong");
        let value = encrypt(&right, "s3cret-pw", false).unwrap();
        let message = config_message(decrypt(&wrong, &value));
        assert!(message.contains(&wrong.display().to_string()), "{message}");
        assert!(message.contains("another key or altered"), "{message}");
        assert!(message.contains("kvmguestctl encrypt"), "{message}");
        assert!(!message.contains("s3cret-pw"), "{message}");
    }

    #[test]
    fn tampered_value_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = new_key(&dir, "k");
        let value = encrypt(&key, "password", false).unwrap();
        for at in [PREFIX.len() + 3, PREFIX.len() + 20] {
            let mut chars: Vec<char> = value.chars().collect();
            chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
            let tampered: String = chars.into_iter().collect();
            let message = config_message(decrypt(&key, &tampered));
            assert!(message.contains("altered"), "{message}");
        }
    }

    #[test]
    fn value_without_prefix_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = new_key(&dir, "k");
        let value = encrypt(&key, "password", false).unwrap();
        let bare = value.strip_prefix(PREFIX).unwrap();
        for bad in [bare, "password", ""] {
            let message = config_message(decrypt(&key, bad));
            assert!(message.contains(PREFIX), "{message}");
            assert!(message.contains("kvmguestctl encrypt"), "{message}");
        }
    }

    #[test]
    fn malformed_values_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = new_key(&dir, "k");
        let short = format!("{PREFIX}{}", STANDARD.encode([0u8; 27]));
        for bad in [format!("{PREFIX}!!not base64!!"), short, PREFIX.to_string()] {
            let message = config_message(decrypt(&key, &bad));
            assert!(message.contains("not a valid encrypted value"), "{message}");
        }
    }

    #[test]
    fn key_file_readable_by_others_is_refused_with_chmod_hint() {
        let dir = tempfile::tempdir().unwrap();
        let key = new_key(&dir, "k");
        let value = encrypt(&key, "pw", false).unwrap();
        set_mode(&key, 0o644);
        let message = config_message(decrypt(&key, &value));
        assert!(message.contains("0644"), "{message}");
        assert!(
            message.contains(&format!("chmod 600 {}", key.display())),
            "{message}"
        );
        let message = config_message(encrypt(&key, "pw", true));
        assert!(message.contains("chmod 600"), "{message}");
    }

    #[test]
    fn key_file_with_garbage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("secret.key");
        let short = STANDARD.encode([1u8; 31]);
        let two_lines = format!(
            "{}\n{}\n",
            STANDARD.encode([1u8; 32]),
            STANDARD.encode([1u8; 32])
        );
        let garbage: [&[u8]; 6] = [
            b"not a key\n",
            b"",
            short.as_bytes(),
            two_lines.as_bytes(),
            b"\xff\xfe\n",
            &[b'A'; 2000],
        ];
        for content in garbage {
            write_private(&key, content);
            let message = config_message(encrypt(&key, "pw", true));
            assert!(
                message.contains("not a kvmguestctl key (expected 32 bytes in base64 on one line)"),
                "{message}"
            );
            assert!(message.contains(&key.display().to_string()), "{message}");
        }
    }

    #[test]
    fn key_file_that_is_a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let message = config_message(encrypt(dir.path(), "pw", true));
        assert!(message.contains("not a regular file"), "{message}");
    }

    #[test]
    fn password_file_newline_is_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        for (content, expected) in [
            ("pa ss\n", "pa ss"),
            ("pa ss\r\n", "pa ss"),
            ("pa ss", "pa ss"),
            ("first\nsecond\n", "first"),
        ] {
            write_private(&path, content.as_bytes());
            assert_eq!(read_password_file(&path).unwrap().expose(), expected);
        }
    }

    #[test]
    fn password_file_readable_by_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        write_private(&path, b"secret\n");
        set_mode(&path, 0o644);
        let message = config_message(read_password_file(&path));
        assert!(message.contains("0644"), "{message}");
        assert!(
            message.contains(&format!("chmod 600 {}", path.display())),
            "{message}"
        );
        assert!(!message.contains("secret\n"), "{message}");
    }

    #[test]
    fn empty_password_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        for content in ["", "\n", "\r\n", "\nsecond line\n"] {
            write_private(&path, content.as_bytes());
            let message = config_message(read_password_file(&path));
            assert!(message.contains("first line is empty"), "{message}");
        }
    }

    #[test]
    fn missing_password_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none");
        let message = config_message(read_password_file(&path));
        assert!(message.contains(&path.display().to_string()), "{message}");
    }

    #[test]
    fn secret_debug_and_display_hide_the_value() {
        let secret = Secret::new("hunter2".to_string());
        assert_eq!(format!("{secret:?}"), "********");
        assert_eq!(format!("{secret}"), "********");
        assert_eq!(format!("{:?}", Some(secret.clone())), "Some(********)");
        assert_eq!(secret.expose(), "hunter2");
    }
}
