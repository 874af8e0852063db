//! XML in and out.
//!
//! Out: a small writer that escapes text and indents like the engine's JAXB output. Only `id`,
//! `href` and `rel` are ever written as attributes, everything else is a child element (the rule
//! of the real API).
//!
//! In: request bodies (`<action>`, `<vm>`) are parsed into a plain element tree. The engine is
//! tolerant of element order, so lookups are by name.

use quick_xml::events::Event;

/// Builds an XML document with 4-space indentation and the engine's XML declaration.
pub struct XmlOut {
    buf: String,
    depth: usize,
}

impl XmlOut {
    pub fn new() -> Self {
        XmlOut {
            buf: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"),
            depth: 0,
        }
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.buf.push_str("    ");
        }
    }

    fn start_tag(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.indent();
        self.buf.push('<');
        self.buf.push_str(name);
        for (key, value) in attrs {
            self.buf.push(' ');
            self.buf.push_str(key);
            self.buf.push_str("=\"");
            escape_into(&mut self.buf, value);
            self.buf.push('"');
        }
    }

    /// `<name attrs...>` and one level deeper.
    pub fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start_tag(name, attrs);
        self.buf.push_str(">\n");
        self.depth += 1;
    }

    pub fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push_str(">\n");
    }

    /// `<name attrs.../>`
    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start_tag(name, attrs);
        self.buf.push_str("/>\n");
    }

    /// `<name>text</name>`
    pub fn leaf(&mut self, name: &str, text: &str) {
        self.start_tag(name, &[]);
        self.buf.push('>');
        escape_into(&mut self.buf, text);
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push_str(">\n");
    }

    /// `<name>text</name>` only when there is a value.
    pub fn opt_leaf(&mut self, name: &str, text: Option<&str>) {
        if let Some(text) = text {
            self.leaf(name, text);
        }
    }

    /// A reference to another object: `<host href=".../hosts/ID" id="ID"/>`.
    pub fn reference(&mut self, name: &str, href: &str, id: &str) {
        self.empty(name, &[("href", href), ("id", id)]);
    }

    /// `<link href=... rel=.../>`
    pub fn link(&mut self, href: &str, rel: &str) {
        self.empty("link", &[("href", href), ("rel", rel)]);
    }

    pub fn finish(self) -> String {
        self.buf
    }
}

impl Default for XmlOut {
    fn default() -> Self {
        Self::new()
    }
}

fn escape_into(buf: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => buf.push_str("&lt;"),
            '>' => buf.push_str("&gt;"),
            '&' => buf.push_str("&amp;"),
            '"' => buf.push_str("&quot;"),
            '\'' => buf.push_str("&apos;"),
            _ => buf.push(c),
        }
    }
}

/// One element of a parsed request body.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Element {
    pub name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attrs: Vec<(String, String)>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub text: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Element>,
}

impl Element {
    pub fn new(name: &str) -> Self {
        Element {
            name: name.to_string(),
            ..Default::default()
        }
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Text of a child element, trimmed.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }

    /// A boolean child the way the engine reads it: `true`/`false`/`1`/`0`.
    pub fn bool_of(&self, name: &str) -> Result<Option<bool>, String> {
        match self.text_of(name) {
            None => Ok(None),
            Some(t) => match t.to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                _ => Err(format!(
                    "Value \"{t}\" of element \"{name}\" is not a boolean"
                )),
            },
        }
    }

    /// Writes this element (and its subtree) back out, e.g. to echo an `<action>`.
    pub fn write(&self, out: &mut XmlOut) {
        let attrs: Vec<(&str, &str)> = self
            .attrs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if self.children.is_empty() {
            if self.text.is_empty() {
                out.empty(&self.name, &attrs);
            } else {
                out.start_tag(&self.name, &attrs);
                out.buf.push('>');
                escape_into(&mut out.buf, &self.text);
                out.buf.push_str("</");
                out.buf.push_str(&self.name);
                out.buf.push_str(">\n");
            }
        } else {
            out.open(&self.name, &attrs);
            for child in &self.children {
                child.write(out);
            }
            out.close(&self.name);
        }
    }
}

/// Parses a request body into its root element. Errors are plain text for a 400 fault.
pub fn parse(body: &[u8]) -> Result<Element, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_string())?;
    let mut reader = quick_xml::Reader::from_str(text);
    let config = reader.config_mut();
    config.trim_text(false);
    config.check_end_names = true;

    // The stack of open elements; the root ends up in `root`.
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("malformed XML at byte {}: {e}", reader.error_position()))?;
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err("more than one root element".into());
                }
                stack.push(element_from(&start)?);
            }
            Event::Empty(start) => {
                if root.is_some() {
                    return Err("more than one root element".into());
                }
                let element = element_from(&start)?;
                attach(&mut stack, &mut root, element);
            }
            Event::End(_) => {
                let element = stack.pop().ok_or("unexpected end tag")?;
                attach(&mut stack, &mut root, element);
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                } else if !t.as_ref().trim().is_empty() {
                    return Err("text outside the root element".into());
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(t.as_ref());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => match r.as_ref() {
                        "amp" => "&".into(),
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        other => return Err(format!("unknown entity &{other};")),
                    },
                    Err(e) => return Err(format!("bad character reference: {e}")),
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err("unexpected end of document".into());
    }
    let mut root = root.ok_or("the body has no root element")?;
    trim_structural_text(&mut root);
    Ok(root)
}

fn element_from(start: &quick_xml::events::BytesStart<'_>) -> Result<Element, String> {
    let mut element = Element::new(start.name().as_ref());
    for attr in start.attributes() {
        let attr = attr.map_err(|e| format!("malformed attribute: {e}"))?;
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| format!("malformed attribute value: {e}"))?;
        element
            .attrs
            .push((attr.key.as_ref().to_string(), value.into_owned()));
    }
    Ok(element)
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

/// Indentation between child elements is not content: drop whitespace-only text of elements
/// that have children.
fn trim_structural_text(element: &mut Element) {
    if !element.children.is_empty() && element.text.trim().is_empty() {
        element.text.clear();
    }
    for child in &mut element.children {
        trim_structural_text(child);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sdk_action() {
        let body = b"<action>\n  <async>true</async>\n  <force>true</force>\n  <host id=\"h2\"/>\n</action>";
        let root = parse(body).unwrap();
        assert_eq!(root.name, "action");
        assert_eq!(root.bool_of("force").unwrap(), Some(true));
        assert_eq!(root.child("host").unwrap().attr("id"), Some("h2"));
        assert!(root.text.is_empty());
    }

    #[test]
    fn parses_payload_with_entities() {
        let body = b"<vm><payloads><payload><files><file><content>a &amp; b&#10;c</content><name>a.txt</name></file></files><type>cdrom</type></payload></payloads></vm>";
        let root = parse(body).unwrap();
        let file = root
            .child("payloads")
            .and_then(|p| p.child("payload"))
            .and_then(|p| p.child("files"))
            .and_then(|f| f.child("file"))
            .unwrap();
        assert_eq!(file.text_of("content"), Some("a & b\nc"));
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse(b"<action><force>true</action>").is_err());
        assert!(parse(b"not xml").is_err());
        assert!(parse(b"").is_err());
        assert!(parse(b"<a/><b/>").is_err());
        assert!(parse(&[0xff, 0xfe]).is_err());
    }

    #[test]
    fn writer_escapes() {
        let mut out = XmlOut::new();
        out.open("fault", &[]);
        out.leaf("detail", "[a < b & \"c\"]");
        out.close("fault");
        let s = out.finish();
        assert!(s.contains("<detail>[a &lt; b &amp; &quot;c&quot;]</detail>"));
    }
}
