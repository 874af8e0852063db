//! Guest definitions: checking a GuestConfigFilePath file before it is used, spotting the guest
//! agent channel, and saving a definition to SyncDir without ever leaving a half-written copy.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::error::{Error, Result};

/// The virtio-serial channel name of the QEMU guest agent.
const GUEST_AGENT_CHANNEL: &str = "org.qemu.guest_agent.0";

/// Does the domain XML give the guest a QEMU guest agent channel?
pub fn has_guest_agent(xml: &str) -> bool {
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => path.push(e.name().as_ref().to_owned()),
            Ok(Event::End(_)) => {
                path.pop();
            }
            Ok(Event::Empty(e)) => {
                let in_channel = path.last().is_some_and(|p| p == "channel");
                if in_channel
                    && e.name().as_ref() == "target"
                    && e.attributes()
                        .flatten()
                        .any(|a| a.key.as_ref() == "name" && a.value == GUEST_AGENT_CHANNEL)
                {
                    return true;
                }
            }
            Ok(Event::Eof) | Err(_) => return false,
            Ok(_) => {}
        }
    }
}

/// Read a GuestConfigFilePath file and make sure it defines exactly the expected guest:
/// well-formed XML whose root is `<domain>` and whose `<name>` is `guest`.
pub fn read_config_file(path: &Path, guest: &str) -> Result<String> {
    let xml = fs::read_to_string(path).map_err(|e| {
        Error::Config(format!(
            "{}: cannot read GuestConfigFilePath: {e}",
            path.display()
        ))
    })?;
    let located = |pos: u64, what: String| {
        let (line, column) = line_column(&xml, pos as usize);
        Error::Config(format!("{}:{line}:{column}: {what}", path.display()))
    };
    let mut reader = Reader::from_str(&xml);
    reader.config_mut().check_end_names = true;
    let mut depth = 0usize;
    let mut root_seen = false;
    let mut in_name = false;
    let mut name: Option<String> = None;
    loop {
        let pos = reader.buffer_position();
        match reader.read_event() {
            Err(e) => {
                return Err(located(
                    reader.error_position(),
                    format!("not well-formed XML: {e}"),
                ));
            }
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) => {
                if depth == 0 {
                    if e.name().as_ref() != "domain" || root_seen {
                        return Err(located(
                            pos,
                            "expected a libvirt <domain> definition as the root element".into(),
                        ));
                    }
                    root_seen = true;
                }
                in_name = depth == 1 && e.name().as_ref() == "name";
                depth += 1;
            }
            Ok(Event::Empty(e)) if depth == 0 => {
                let _ = e;
                return Err(located(
                    pos,
                    "expected a libvirt <domain> definition as the root element".into(),
                ));
            }
            Ok(Event::End(_)) => {
                depth = depth.saturating_sub(1);
                in_name = false;
            }
            Ok(Event::Text(t)) if in_name => {
                name = Some(name.unwrap_or_default() + t.xml10_content().trim());
            }
            Ok(_) => {}
        }
    }
    if !root_seen {
        return Err(located(
            0,
            "expected a libvirt <domain> definition, found no element".into(),
        ));
    }
    match name {
        Some(n) if n == guest => Ok(xml),
        Some(n) => Err(Error::Config(format!(
            "{}: defines guest '{n}', but the resource's GuestName is '{guest}'",
            path.display()
        ))),
        None => Err(Error::Config(format!(
            "{}: the <domain> has no <name>",
            path.display()
        ))),
    }
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

/// Save a definition as `<dir>/<guest>.xml`: written to a temporary file in the same directory,
/// flushed to disk, renamed over the old copy, and the directory flushed, so that a crash or a
/// full disk leaves either the old copy or the new one, never a torn file. SyncDir is not created:
/// a missing SyncDir usually means shared storage that is not mounted.
pub fn save(dir: &Path, guest: &str, xml: &str) -> Result<PathBuf> {
    let target = dir.join(format!("{guest}.xml"));
    let failed = |what: &str, e: std::io::Error| {
        Error::Failed(format!(
            "saving the definition of {guest} to {}: {what}: {e}",
            dir.display()
        ))
    };
    if !dir.is_dir() {
        return Err(Error::Failed(format!(
            "saving the definition of {guest}: SyncDir {} does not exist or is not a directory \
             (is the shared storage mounted?)",
            dir.display()
        )));
    }
    let temporary = dir.join(format!(".{guest}.xml.tmp.{}", std::process::id()));
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)
            .map_err(|e| failed("create", e))?;
        file.write_all(xml.as_bytes())
            .map_err(|e| failed("write", e))?;
        file.sync_all().map_err(|e| failed("flush", e))?;
        fs::rename(&temporary, &target).map_err(|e| failed("rename", e))?;
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| failed("flush directory", e))
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written.map(|()| target)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGENT: &str = "<domain><name>g</name><devices><channel type='unix'>\
        <target type='virtio' name='org.qemu.guest_agent.0'/></channel></devices></domain>";

    #[test]
    fn guest_agent_channel_is_found_only_inside_a_channel() {
        assert!(has_guest_agent(AGENT));
        assert!(!has_guest_agent("<domain><name>g</name></domain>"));
        assert!(!has_guest_agent(
            "<domain><devices><console><target name='org.qemu.guest_agent.0'/></console></devices></domain>"
        ));
        assert!(!has_guest_agent("<domain><unclosed>"));
    }

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.xml");
        fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn a_config_file_must_name_the_guest() {
        let (_d, ok) = file(AGENT);
        assert_eq!(read_config_file(&ok, "g").unwrap(), AGENT);
        let err = read_config_file(&ok, "other").unwrap_err().to_string();
        assert!(
            err.ends_with("defines guest 'g', but the resource's GuestName is 'other'"),
            "{err}"
        );
    }

    #[test]
    fn malformed_config_files_are_located() {
        let (_d, bad) = file("<domain>\n  <name>g</name>\n  <devices>\n</domain>\n");
        let err = read_config_file(&bad, "g").unwrap_err().to_string();
        assert!(err.contains("g.xml:4:"), "{err}");
        assert!(err.contains("not well-formed XML"), "{err}");

        let (_d, wrong_root) = file("<network><name>g</name></network>");
        let err = read_config_file(&wrong_root, "g").unwrap_err().to_string();
        assert!(
            err.contains("g.xml:1:1: expected a libvirt <domain>"),
            "{err}"
        );

        let (_d, nameless) = file("<domain type='kvm'><memory>1</memory></domain>");
        assert!(
            read_config_file(&nameless, "g")
                .unwrap_err()
                .to_string()
                .ends_with("has no <name>")
        );

        let (_d, empty) = file("");
        assert!(
            read_config_file(&empty, "g")
                .unwrap_err()
                .to_string()
                .contains("found no element")
        );
    }

    #[test]
    fn save_replaces_atomically_and_keeps_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let first = save(dir.path(), "g", "<domain>1</domain>").unwrap();
        save(dir.path(), "g", "<domain>2</domain>").unwrap();
        assert_eq!(fs::read_to_string(&first).unwrap(), "<domain>2</domain>");
        assert_eq!(
            fs::metadata(&first).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from("g.xml")],
            "no temporary file left behind"
        );
    }

    #[test]
    fn save_refuses_a_missing_sync_dir() {
        let dir = tempfile::tempdir().unwrap();
        let err = save(&dir.path().join("not-mounted"), "g", "x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("is the shared storage mounted?"), "{err}");
    }
}
