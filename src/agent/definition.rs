//! Checking a GuestConfigFilePath file before it is used: well-formed XML that defines exactly
//! the resource's guest, every fault located by line and column.

use std::path::Path;

use quick_xml::Reader;
use quick_xml::events::Event;

use super::domain_xml::reference;
use crate::bounded;
use crate::error::{Error, Result, one_line};

/// The largest domain definition read from a file: virsh's own limit for the file given to
/// `virsh define` (`VSH_MAX_XML_FILE`, 10 MiB).
pub const MAX_DEFINITION: u64 = 10 * bounded::MIB;

/// Read a GuestConfigFilePath file and make sure it defines exactly the expected guest:
/// well-formed XML whose root is `<domain>` and whose `<name>` is `guest`.
pub fn read_config_file(path: &Path, guest: &str) -> Result<String> {
    let xml = bounded::read_text(path, MAX_DEFINITION, bounded::Links::Follow).map_err(|e| {
        Error::Config(format!(
            "{}: cannot read GuestConfigFilePath: {}",
            path.display(),
            crate::error::io(&e)
        ))
    })?;
    check(&xml, path, guest)?;
    Ok(xml)
}

/// [`read_config_file`]'s checks of the text read from `path`.
pub(super) fn check(xml: &str, path: &Path, guest: &str) -> Result<()> {
    // quick-xml skips a byte order mark and counts its positions from after it.
    let xml = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    let located = |pos: u64, what: String| {
        let (line, column) = line_column(xml, pos as usize);
        Error::Config(format!("{}:{line}:{column}: {what}", path.display()))
    };
    let mut reader = Reader::from_str(xml);
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
                    format!("not well-formed XML: {}", one_line(&e.to_string())),
                ));
            }
            Ok(Event::Eof) => break,
            // libvirt writes none, and what one declares (entities, external ones too) would be
            // read by libvirt's parser after this check.
            Ok(Event::DocType(_)) => {
                return Err(located(
                    pos,
                    "a <!DOCTYPE> declaration is not allowed in a libvirt domain definition".into(),
                ));
            }
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
            Ok(Event::Empty(_)) if depth == 0 => {
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
                name = Some(name.unwrap_or_default() + &t.xml10_content());
            }
            Ok(Event::CData(t)) if in_name => {
                name = Some(name.unwrap_or_default() + &t.xml10_content());
            }
            Ok(Event::GeneralRef(r)) if in_name => {
                let text = reference(&r).map_err(|why| located(pos, why))?;
                name = Some(name.unwrap_or_default() + &text);
            }
            Ok(Event::GeneralRef(r)) => {
                reference(&r).map_err(|why| located(pos, why))?;
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
    match name.as_deref().map(str::trim) {
        Some(n) if n == guest => Ok(()),
        Some(n) => Err(Error::Config(format!(
            "{}: defines guest '{}', but the resource's GuestName is '{guest}'",
            path.display(),
            one_line(n)
        ))),
        None => Err(Error::Config(format!(
            "{}: the <domain> has no <name>",
            path.display()
        ))),
    }
}

/// Line and column (1-based, in characters) of a byte offset, taken back to the character it
/// falls in.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let end = (0..=offset.min(text.len()))
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |nl| nl + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    const AGENT: &str = "<domain><name>g</name><devices><channel type='unix'>\
        <target type='virtio' name='org.qemu.guest_agent.0'/></channel></devices></domain>";

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.xml");
        std::fs::write(&path, text).unwrap();
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
    fn faults_are_located_in_characters_after_a_byte_order_mark() {
        let text = "<domain>\n  <name>é</name>\n  <devices>\n</domain>\n";
        let (_d, plain) = file(text);
        let (_d, marked) = file(&format!("\u{feff}{text}"));
        let at = |path: &Path| {
            let err = read_config_file(path, "é").unwrap_err().to_string();
            err[path.display().to_string().len()..].to_owned()
        };
        assert!(at(&plain).starts_with(":4:"), "{}", at(&plain));
        assert_eq!(at(&marked), at(&plain));
        let (_d, wrong) = file("\u{feff}<domain><name>é</name><x></y></domain>");
        let err = read_config_file(&wrong, "é").unwrap_err().to_string();
        assert!(err.contains("g.xml:1:26: not well-formed XML"), "{err}");
    }

    #[test]
    fn a_guest_name_with_a_reference_is_read_whole() {
        let (_d, path) = file("<domain><name>web&amp;db</name></domain>");
        assert!(read_config_file(&path, "web&db").is_ok());
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
}
