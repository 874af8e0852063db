//! Reading and comparing libvirt domain definitions: the `<uuid>`, and a canonical form under
//! which copies that mean the same XML compare equal.

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::error::{Error, Result, one_line};

/// The `<uuid>` of a domain definition, if it has one.
pub fn uuid(xml: &str) -> Option<String> {
    let mut reader = Reader::from_str(xml);
    let mut depth = 0usize;
    let mut in_uuid = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                in_uuid = depth == 1 && e.name().as_ref() == "uuid";
                depth += 1;
            }
            Ok(Event::End(_)) => {
                depth = depth.saturating_sub(1);
                in_uuid = false;
            }
            Ok(Event::Text(t)) if in_uuid => return Some(t.xml10_content().trim().to_owned()),
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// A definition to redefine an existing guest with: libvirt refuses a second guest of the same
/// name, so a file without `<uuid>` gets the existing guest's (right after `<name>`).
pub fn keeping_uuid(xml: &str, existing: &str) -> String {
    if uuid(xml).is_some() {
        return xml.to_owned();
    }
    match xml.find("</name>") {
        Some(at) => {
            let end = at + "</name>".len();
            format!("{}<uuid>{existing}</uuid>{}", &xml[..end], &xml[end..])
        }
        None => xml.to_owned(),
    }
}

/// What a reference stands for: a character reference, or one of XML's five predefined entities.
/// Any other entity needs a DTD, which a libvirt definition never has.
pub(super) fn reference(r: &quick_xml::events::BytesRef) -> std::result::Result<String, String> {
    match r.resolve_char_ref() {
        Ok(Some(c)) => Ok(c.to_string()),
        Ok(None) => quick_xml::escape::resolve_predefined_entity(r.as_ref())
            .map(str::to_owned)
            .ok_or_else(|| one_line(&format!("undefined entity &{};", r.as_ref()))),
        Err(e) => Err(one_line(&format!(
            "bad character reference &{};: {e}",
            r.as_ref()
        ))),
    }
}

/// A definition in canonical form for comparing: one element per line, attributes sorted, text
/// trimmed, comments and whitespace dropped. Two definitions that mean the same XML compare equal
/// whatever their attribute order or indentation.
pub fn canonical(xml: &str) -> Result<String> {
    struct Element {
        open: String,
        text: String,
        children: Vec<String>,
    }
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut out: Vec<String> = Vec::new();
    let open = |e: &quick_xml::events::BytesStart| {
        let mut attributes: Vec<String> = e
            .attributes()
            .flatten()
            .map(|a| {
                let value = a
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .map_or_else(|_| a.value.to_string(), |v| v.into_owned());
                format!(" {}=\"{}\"", a.key.as_ref(), value)
            })
            .collect();
        attributes.sort();
        format!("{}{}", e.name().as_ref(), attributes.concat())
    };
    let render = |el: Element, depth: usize| -> Vec<String> {
        let pad = "  ".repeat(depth);
        let name = el.open.split(' ').next().unwrap_or_default().to_owned();
        let el = Element {
            text: el.text.trim().to_owned(),
            ..el
        };
        match (el.text.is_empty(), el.children.is_empty()) {
            (true, true) => vec![format!("{pad}<{}/>", el.open)],
            (false, true) => vec![format!("{pad}<{}>{}</{name}>", el.open, el.text)],
            _ => {
                let mut lines = vec![format!("{pad}<{}>", el.open)];
                if !el.text.is_empty() {
                    lines.push(format!("{pad}  {}", el.text));
                }
                lines.extend(el.children);
                lines.push(format!("{pad}</{name}>"));
                lines
            }
        }
    };
    loop {
        match reader.read_event() {
            Err(e) => {
                return Err(Error::Failed(format!(
                    "not well-formed XML: {}",
                    one_line(&e.to_string())
                )));
            }
            Ok(Event::Eof) if stack.is_empty() => break,
            Ok(Event::Eof) => {
                return Err(Error::Failed(
                    "not well-formed XML: an element is never closed".into(),
                ));
            }
            Ok(Event::Start(e)) => stack.push(Element {
                open: open(&e),
                text: String::new(),
                children: Vec::new(),
            }),
            Ok(Event::Empty(e)) => {
                let el = Element {
                    open: open(&e),
                    text: String::new(),
                    children: Vec::new(),
                };
                let lines = render(el, stack.len());
                match stack.last_mut() {
                    Some(parent) => parent.children.extend(lines),
                    None => out.extend(lines),
                }
            }
            Ok(Event::Text(t)) => {
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&t.xml10_content());
                }
            }
            Ok(Event::CData(t)) => {
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&t.xml10_content());
                }
            }
            Ok(Event::GeneralRef(r)) => {
                let text = reference(&r)
                    .map_err(|why| Error::Failed(format!("not well-formed XML: {why}")))?;
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&text);
                }
            }
            Ok(Event::End(_)) => {
                let Some(el) = stack.pop() else { continue };
                let lines = render(el, stack.len());
                match stack.last_mut() {
                    Some(parent) => parent.children.extend(lines),
                    None => out.extend(lines),
                }
            }
            Ok(_) => {}
        }
    }
    Ok(out.join("\n") + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz::{Target, campaign};

    /// The references and elements these functions look for, besides XML's syntax.
    const WORDS: &[&str] = &[
        "&lt;",
        "&#x10FFFF;",
        "<!DOCTYPE domain [<!ENTITY e \"x\">]>",
        "<?pi x?>",
        "<uuid>",
        "</uuid>",
        "<name>",
        "</name>",
        "<domain>",
        "</domain>",
        " a='1'",
        " a=\"",
        " xmlns:q=\"u\"",
        "\t",
        "\u{FEFF}",
    ];

    #[test]
    fn fuzz() {
        campaign(&Target {
            name: "domain-xml",
            seeds: &[("tests/fixtures", "xml"), ("examples", "xml")],
            dictionary: &[crate::fuzz::XML, WORDS],
            property: read_or_refused_in_one_line,
        });
    }

    /// The uuid is found or not, a missing one is added after `<name>`, the canonical form is
    /// made or refused as not well-formed, and the text is taken as a GuestConfigFilePath file or
    /// refused, each refusal in one line (naming the file for the latter).
    fn read_or_refused_in_one_line(xml: &str) -> std::result::Result<(), String> {
        const EXISTING: &str = "00000000-0000-0000-0000-000000000000";
        let kept = keeping_uuid(xml, EXISTING);
        if uuid(xml).is_none() && xml.contains("</name>") && !kept.contains(EXISTING) {
            return Err(format!("no uuid kept: {kept}"));
        }
        if let Err(e) = canonical(xml) {
            let message = e.to_string();
            let why = message
                .strip_prefix("not well-formed XML: ")
                .unwrap_or_default();
            if why.trim().is_empty() || message.contains('\n') {
                return Err(format!("not a clear refusal: {message:?}"));
            }
        }
        let file = std::path::Path::new("fuzz.xml");
        if let Err(e) = super::super::definition::check(xml, file, "web01") {
            let message = e.to_string();
            if !message.starts_with("fuzz.xml:") || message.contains('\n') {
                return Err(format!("not a clear refusal: {message:?}"));
            }
        }
        Ok(())
    }

    #[test]
    fn canonical_form_ignores_attribute_order_whitespace_and_comments() {
        let a = "<domain type='kvm' id='1'><name>g</name>\n  <!-- note --><devices><disk a='1' b='2'/></devices></domain>";
        let b = "<domain id=\"1\" type=\"kvm\">\n<name> g </name><devices>\n<disk b='2' a='1'></disk>\n</devices>\n</domain>";
        assert_eq!(canonical(a).unwrap(), canonical(b).unwrap());
        assert_eq!(
            canonical(a).unwrap(),
            "<domain id=\"1\" type=\"kvm\">\n  <name>g</name>\n  <devices>\n    <disk a=\"1\" b=\"2\"/>\n  </devices>\n</domain>\n"
        );
        assert_ne!(
            canonical(a).unwrap(),
            canonical(&a.replace("b='2'", "b='3'")).unwrap()
        );
        assert!(canonical("<domain><name>").is_err());
        // References count as what they stand for.
        let amp = "<domain><description>rack 4 &amp; 5</description><x v='a&amp;b'/></domain>";
        let lt = "<domain><description>rack 4 &lt; 5</description><x v='a&amp;b'/></domain>";
        let numeric =
            "<domain><description>rack 4 &#38; 5</description><x v=\"a&#38;b\"/></domain>";
        assert_ne!(canonical(amp).unwrap(), canonical(lt).unwrap());
        assert_eq!(canonical(amp).unwrap(), canonical(numeric).unwrap());
        assert!(
            canonical("<domain>&nbsp;</domain>")
                .unwrap_err()
                .to_string()
                .contains("undefined entity &nbsp;")
        );
    }

    #[test]
    fn entities_are_never_expanded() {
        let head = crate::fuzz::laughs_and_external("domain");
        for (entity, body) in [
            ("lol9", "<name>&lol9;</name>"),
            ("xxe", "<name>&xxe;</name>"),
        ] {
            let xml = format!("{head}<domain>{body}</domain>");
            assert_eq!(
                canonical(&xml).unwrap_err().to_string(),
                format!("not well-formed XML: undefined entity &{entity};")
            );
            assert_eq!(uuid(&xml), None);
        }
    }

    #[test]
    fn a_redefinition_keeps_the_existing_uuid_unless_the_file_has_one() {
        let file = "<domain>\n  <name>g</name>\n  <memory>1</memory>\n</domain>";
        assert_eq!(uuid(file), None);
        let kept = keeping_uuid(file, "1234");
        assert_eq!(
            kept,
            "<domain>\n  <name>g</name><uuid>1234</uuid>\n  <memory>1</memory>\n</domain>"
        );
        assert_eq!(uuid(&kept).as_deref(), Some("1234"));
        assert_eq!(keeping_uuid(&kept, "5678"), kept, "a file's own uuid wins");
        assert_eq!(
            uuid("<domain><devices><uuid>x</uuid></devices></domain>"),
            None,
            "only the domain's own"
        );
    }
}
