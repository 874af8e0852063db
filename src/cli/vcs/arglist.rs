//! ArgListValues in VCS's V50 format (`NAME COUNT VALUE...` per attribute of the ArgList), turned
//! into the resource document the YAML loader accepts, so that a resource VCS describes meets
//! exactly the rules a YAML one does.

use std::path::Path;

use crate::resource::{self, Config, Severity};

/// What an attribute holds, as the type definition declares it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    Text,
    /// A string that names a file or directory: absolute, since nothing anchors a relative one.
    Path,
    /// A VCS `int` that may not be negative (seconds, cycles).
    Count,
    /// A VCS `boolean`: 0 or 1.
    Flag,
    /// A VCS association (`str X{}`): COUNT is twice the number of keys.
    Association,
}

/// The KVMGuest ArgList in its order, then the type's static attributes whose values the core
/// uses, for an ArgList that adds them (VCS passes any attribute its ArgList names).
const ATTRIBUTES: &[(&str, Shape)] = &[
    ("GuestName", Shape::Text),
    ("DelayAfterGuestOnline", Shape::Count),
    ("DelayAfterGuestOffline", Shape::Count),
    ("SyncDir", Shape::Path),
    ("GuestConfigFilePath", Shape::Path),
    ("CEInfo", Shape::Association),
    ("RHEVMInfo", Shape::Association),
    ("ResyncVMCfg", Shape::Flag),
    ("DROpts", Shape::Association),
    ("IntentionalOffline", Shape::Flag),
    ("MigrateTimeout", Shape::Count),
    ("MigrateWaitLimit", Shape::Count),
    ("GuestHealth", Shape::Association),
];

/// How many of [`ATTRIBUTES`] are the type's ArgList proper (the rest are optional additions).
const ARGLIST_LEN: usize = 9;

/// Association keys that are not plain strings.
const KEYS: &[(&str, &str, Shape)] = &[
    ("CEInfo", "Enabled", Shape::Flag),
    ("CEInfo", "FaultOnHBLoss", Shape::Flag),
    ("RHEVMInfo", "Enabled", Shape::Flag),
    ("RHEVMInfo", "UseManualRHEVMFencing", Shape::Flag),
    ("RHEVMInfo", "PasswordFile", Shape::Path),
    ("RHEVMInfo", "CAFile", Shape::Path),
    ("DROpts", "ConfigureNetwork", Shape::Flag),
    ("GuestHealth", "Enabled", Shape::Flag),
    ("GuestHealth", "PingTimeout", Shape::Count),
    ("GuestHealth", "DegradeAfter", Shape::Count),
    ("GuestHealth", "FaultAfter", Shape::Count),
];

fn shape_of(name: &str) -> Option<(&'static str, Shape)> {
    ATTRIBUTES.iter().copied().find(|(n, _)| *n == name)
}

/// One finding about the ArgListValues: the attribute (or setting) it concerns and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// `GuestName`, `RHEVMInfo.URL`, `KVMGUESTCTL_VCS_URI`, ...; empty for the resource as a whole.
    pub attribute: String,
    pub message: String,
}

impl Problem {
    pub fn new(attribute: &str, message: impl Into<String>) -> Problem {
        Problem {
            attribute: attribute.to_owned(),
            message: message.into(),
        }
    }

    /// An attribute the ArgList does not have.
    pub fn unknown(name: &str) -> Problem {
        let names: Vec<&str> = ATTRIBUTES[..ARGLIST_LEN].iter().map(|(n, _)| *n).collect();
        Problem::new(
            name,
            format!(
                "not a KVMGuest attribute (the ArgList is {})",
                names.join(", ")
            ),
        )
    }
}

/// `ATTRIBUTE: message`, or the message alone when it already begins with the attribute's name.
impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.attribute.is_empty() || self.message.starts_with(&self.attribute) {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.attribute, self.message)
        }
    }
}

/// An attribute's value as VCS gave it.
#[derive(Debug, Clone)]
enum Given {
    Scalar(String),
    Association(Vec<(String, String)>),
}

/// The attributes given, in the order given.
#[derive(Debug, Default)]
pub struct ArgList {
    given: Vec<(&'static str, Shape, Given)>,
}

/// Read `NAME COUNT VALUE...` tuples from the start of `tokens` for as long as NAME is a KVMGuest
/// attribute; the tokens after them are the caller's (an action's arguments, migrate's VCSInfo,
/// or an attribute the ArgList does not have). A wrong COUNT stops the reading: every tuple after
/// it would be read out of step.
pub fn parse(tokens: &[String]) -> Result<(ArgList, &[String]), Problem> {
    let mut arglist = ArgList::default();
    let mut at = 0;
    while let Some((name, shape)) = tokens.get(at).and_then(|t| shape_of(t)) {
        if arglist.given.iter().any(|(n, _, _)| *n == name) {
            return Err(Problem::new(name, "given twice"));
        }
        let count = tokens
            .get(at + 1)
            .ok_or_else(|| Problem::new(name, "no COUNT after the name"))?;
        let count: usize = count
            .parse()
            .map_err(|_| Problem::new(name, format!("COUNT '{count}' is not a number")))?;
        let values = tokens
            .get(at + 2..at + 2 + count)
            .ok_or_else(|| {
                Problem::new(
                    name,
                    format!(
                        "COUNT {count} announces {count} value(s), but only {} follow",
                        tokens.len() - at - 2
                    ),
                )
            })?
            .to_vec();
        let given = match shape {
            Shape::Association if count % 2 == 1 => {
                return Err(Problem::new(
                    name,
                    format!("an association's COUNT is twice its number of keys: {count} is odd"),
                ));
            }
            Shape::Association => {
                let mut pairs: Vec<(String, String)> = Vec::new();
                for pair in values.chunks(2) {
                    let (key, value) = (&pair[0], &pair[1]);
                    if pairs.iter().any(|(k, _)| k == key) {
                        return Err(Problem::new(&format!("{name}.{key}"), "key given twice"));
                    }
                    pairs.push((key.clone(), value.clone()));
                }
                Given::Association(pairs)
            }
            _ if count != 1 => {
                return Err(Problem::new(
                    name,
                    format!("a scalar's COUNT is 1, not {count}"),
                ));
            }
            _ => Given::Scalar(values[0].clone()),
        };
        arglist.given.push((name, shape, given));
        at += 2 + count;
    }
    Ok((arglist, &tokens[at..]))
}

/// Where the ArgListValues begin among `tokens`, when other words come first (attr_changed's
/// caller puts the changed attribute and its value there, which may look like a tuple): the first
/// place from which everything reads as ArgListValues, else the first attribute name followed by
/// a COUNT (for its problem to be reported), else `tokens.len()`.
pub fn start(tokens: &[String]) -> usize {
    let candidates: Vec<usize> = (0..tokens.len())
        .filter(|&i| {
            shape_of(&tokens[i]).is_some()
                && tokens
                    .get(i + 1)
                    .is_some_and(|c| c.parse::<usize>().is_ok())
        })
        .collect();
    candidates
        .iter()
        .copied()
        .find(|&i| parse(&tokens[i..]).is_ok_and(|(_, rest)| rest.is_empty()))
        .or(candidates.first().copied())
        .unwrap_or(tokens.len())
}

/// A system of the resource and how its hypervisor is reached, with the setting each value came
/// from (for the diagnostics).
pub struct SystemSpec {
    pub name: String,
    pub uri: (String, &'static str),
    pub migration_uri: Option<(String, &'static str)>,
}

/// A resource built from ArgListValues: the configuration holding it and its systems, and the
/// loader's warnings about it.
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<Problem>,
}

impl Loaded {
    /// The one resource the configuration holds.
    pub fn resource(&self) -> Option<&resource::Resource> {
        self.config.resources.values().next()
    }
}

/// The resource `name` from its ArgListValues, on `systems` (the first is this node), loaded by the
/// YAML loader; every error found, or the resource with its warnings.
pub fn load(name: &str, arglist: &ArgList, systems: &[SystemSpec]) -> Result<Loaded, Vec<Problem>> {
    let document = document(name, arglist, systems)?;
    // A name for the document in the loader's diagnostics; their locations are turned back into
    // attribute names, so it never shows.
    let origin = Path::new("ArgListValues");
    match resource::load_text(&document.text, origin) {
        Ok(config) => {
            let warnings = config
                .warnings
                .iter()
                .map(|d| document.problem(d.origin.line, &d.message))
                .collect();
            Ok(Loaded { config, warnings })
        }
        Err(diagnostics) => Err(diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| document.problem(d.origin.line, &d.message))
            .collect()),
    }
}

/// The resource document, one value per line, and for each line the attribute it holds.
struct Document {
    text: String,
    labels: Vec<String>,
}

impl Document {
    fn line(&mut self, indent: usize, text: &str, label: &str) {
        self.text.push_str(&"  ".repeat(indent));
        self.text.push_str(text);
        self.text.push('\n');
        self.labels.push(label.to_owned());
    }

    /// A loader diagnostic said of the attribute on its line (line 0: the whole document).
    fn problem(&self, line: u64, message: &str) -> Problem {
        let label = usize::try_from(line)
            .ok()
            .and_then(|l| l.checked_sub(1))
            .and_then(|l| self.labels.get(l))
            .map_or("", String::as_str);
        Problem::new(label, message)
    }
}

/// A string as a YAML double-quoted scalar that means exactly that string. What YAML does not
/// take as it is inside quotes is escaped: control characters (DEL too), YAML 1.1's line breaks,
/// the byte order mark and the non-characters U+FFFE and U+FFFF (JSON's quoting, valid YAML
/// otherwise, leaves these raw).
fn quoted(s: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~'
            | '\u{a0}'..='\u{2027}'
            | '\u{202a}'..='\u{d7ff}'
            | '\u{e000}'..='\u{fefe}'
            | '\u{ff00}'..='\u{fffd}'
            | '\u{10000}'.. => out.push(c),
            _ => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
        }
    }
    out.push('"');
    out
}

/// VCS writes NONE (or nothing) for an unset value.
fn unset(value: &str) -> bool {
    value.is_empty() || value == "NONE"
}

/// A value of `shape` as a YAML scalar; numbers and flags are checked here, where the message can
/// say what VCS passed.
fn scalar(shape: Shape, value: &str) -> Result<String, String> {
    match shape {
        Shape::Count => value
            .parse::<u32>()
            .map(|n| n.to_string())
            .map_err(|_| format!("'{value}' is not a whole number from 0 to 4294967295")),
        Shape::Flag => match value {
            "0" | "1" => Ok(value.to_owned()),
            _ => Err(format!("'{value}' is not a boolean (0 or 1)")),
        },
        Shape::Path if !unset(value) && !Path::new(value).is_absolute() => {
            Err(format!("'{value}' is not an absolute path"))
        }
        _ => Ok(quoted(value)),
    }
}

fn document(
    name: &str,
    arglist: &ArgList,
    systems: &[SystemSpec],
) -> Result<Document, Vec<Problem>> {
    let mut doc = Document {
        text: String::new(),
        labels: Vec::new(),
    };
    let mut problems = Vec::new();
    doc.line(0, "systems:", "");
    for system in systems {
        doc.line(1, &format!("{}:", quoted(&system.name)), "");
        let (uri, from) = &system.uri;
        doc.line(2, &format!("uri: {}", quoted(uri)), from);
        if let Some((uri, from)) = &system.migration_uri {
            doc.line(2, &format!("migration_uri: {}", quoted(uri)), from);
        }
    }
    doc.line(0, "resources:", "");
    doc.line(1, &format!("{}:", quoted(name)), "");
    doc.line(2, "type: KVMGuest", "");
    let names: Vec<String> = systems.iter().map(|s| quoted(&s.name)).collect();
    doc.line(2, &format!("systems: [{}]", names.join(", ")), "");
    for (attribute, shape, given) in &arglist.given {
        match given {
            // An unset string is left out, so that the loader's rules see it unset.
            Given::Scalar(value) if *shape == Shape::Path && unset(value) => {}
            Given::Scalar(value) => match scalar(*shape, value) {
                Ok(v) => doc.line(2, &format!("{attribute}: {v}"), attribute),
                Err(why) => problems.push(Problem::new(attribute, why)),
            },
            Given::Association(pairs) => {
                let set: Vec<&(String, String)> = pairs.iter().filter(|(_, v)| !unset(v)).collect();
                if set.is_empty() {
                    continue;
                }
                doc.line(2, &format!("{attribute}:"), attribute);
                for (key, value) in set {
                    let label = format!("{attribute}.{key}");
                    let shape = KEYS
                        .iter()
                        .find(|(a, k, _)| a == attribute && k == key)
                        .map_or(Shape::Text, |(_, _, s)| *s);
                    match scalar(shape, value) {
                        Ok(v) => doc.line(3, &format!("{}: {v}", quoted(key)), &label),
                        Err(why) => problems.push(Problem::new(&label, why)),
                    }
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(doc)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz::{Target, campaign};

    /// Attribute names, counts, association keys, and what YAML or quoting could trip on; one
    /// token a line.
    const WORDS: &[&str] = &[
        "GuestName\n",
        "SyncDir\n",
        "GuestConfigFilePath\n",
        "DelayAfterGuestOnline\n",
        "CEInfo\n",
        "RHEVMInfo\n",
        "DROpts\n",
        "GuestHealth\n",
        "ResyncVMCfg\n",
        "MigrateTimeout\n",
        "1\n",
        "2\n",
        "4\n",
        "0\n",
        "-1\n",
        "NONE\n",
        "\n",
        "Enabled\n",
        "URL\n",
        "User\n",
        "Cluster\n",
        "PasswordFile\n",
        "/x\n",
        "https://e.example\n",
        "\"",
        "\\",
        "'",
        ": ",
        "#",
        "- ",
        "&a",
        "*a",
        "{",
        "[",
        "\t",
        "\r",
        "\u{1}",
        "\u{85}",
        "\u{2028}",
        "\u{FEFF}",
        "\u{FFFF}",
        "é",
    ];

    #[test]
    fn fuzz() {
        campaign(&Target {
            name: "arglist",
            seeds: &[],
            dictionary: &[WORDS],
            property: built_documents_are_yaml,
        });
    }

    /// Tokens (a line each, as VCS passes each value in an argument of its own, which cannot
    /// hold a NUL) are read or refused with a reason; the document built from them is YAML that
    /// holds them as given; the loader takes it or refuses it with reasons of one line each.
    fn built_documents_are_yaml(input: &str) -> Result<(), String> {
        let tokens: Vec<String> = input.split('\n').map(|t| t.replace('\0', "")).collect();
        start(&tokens);
        let clear = |problems: &[Problem]| match problems {
            [] => Err("refused without a reason".to_owned()),
            _ => match problems
                .iter()
                .find(|p| p.message.trim().is_empty() || p.message.contains('\n'))
            {
                Some(p) => Err(format!("a problem without a message: {p:?}")),
                None => Ok(()),
            },
        };
        let arglist = match parse(&tokens) {
            Ok((arglist, _)) => arglist,
            Err(problem) => return clear(&[problem]),
        };
        let systems = [SystemSpec {
            name: "node1".into(),
            uri: ("test:///default".into(), "KVMGUESTCTL_VCS_URI"),
            migration_uri: None,
        }];
        match document("vm", &arglist, &systems) {
            Ok(doc) => {
                serde_saphyr::from_str::<serde_json::Value>(&doc.text)
                    .map_err(|e| format!("the document built is not YAML: {e}\n{}", doc.text))?;
            }
            Err(problems) => return clear(&problems),
        }
        let loaded = match load("vm", &arglist, &systems) {
            Ok(loaded) => loaded,
            Err(problems) => return clear(&problems),
        };
        let given = arglist
            .given
            .iter()
            .find_map(|(name, _, given)| match given {
                Given::Scalar(value) if *name == "GuestName" => Some(value),
                _ => None,
            });
        let read = loaded.resource().map(|r| &r.guest_name);
        if given.is_some() && given != read {
            return Err(format!("GuestName {given:?} read as {read:?}"));
        }
        Ok(())
    }

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn tuples_are_read_until_a_word_that_is_no_attribute() {
        let tokens = words("GuestName 1 web01 RHEVMInfo 4 Enabled 0 URL NONE 2 a b");
        let (arglist, rest) = parse(&tokens).unwrap();
        assert_eq!(arglist.given.len(), 2);
        assert_eq!(rest, &words("2 a b")[..]);
    }

    #[test]
    fn counts_are_checked() {
        let problem = |s: &str| parse(&words(s)).unwrap_err().to_string();
        assert_eq!(
            problem("GuestName 2 a b"),
            "GuestName: a scalar's COUNT is 1, not 2"
        );
        assert_eq!(
            problem("DROpts 3 a b c"),
            "DROpts: an association's COUNT is twice its number of keys: 3 is odd"
        );
        assert_eq!(
            problem("GuestName 1 a SyncDir 3 /x"),
            "SyncDir: COUNT 3 announces 3 value(s), but only 1 follow"
        );
        assert_eq!(
            problem("GuestName x"),
            "GuestName: COUNT 'x' is not a number"
        );
        assert_eq!(problem("GuestName"), "GuestName: no COUNT after the name");
        assert_eq!(
            problem("GuestName 1 a GuestName 1 b"),
            "GuestName: given twice"
        );
        assert_eq!(
            problem("CEInfo 4 Enabled 0 Enabled 1"),
            "CEInfo.Enabled: key given twice"
        );
    }

    #[test]
    fn the_start_skips_what_precedes_the_values() {
        let tokens = words("res DelayAfterGuestOnline 3 GuestName 1 g DelayAfterGuestOnline 1 3");
        assert_eq!(start(&tokens), 3);
        let tokens = words("res DelayAfterGuestOnline 1 3 GuestName 1 g DelayAfterGuestOnline 1 3");
        assert_eq!(start(&tokens), 4);
        assert_eq!(
            start(&words("GuestName 2 g")),
            0,
            "a problem is still found"
        );
        assert_eq!(start(&words("a b")), 2);
    }

    #[test]
    fn a_message_that_names_its_attribute_is_not_prefixed_again() {
        let p = Problem::new(
            "RHEVMInfo.Enabled",
            "RHEVMInfo.Enabled = 1 needs RHEVMInfo.URL",
        );
        assert_eq!(p.to_string(), "RHEVMInfo.Enabled = 1 needs RHEVMInfo.URL");
        assert_eq!(Problem::new("", "whole").to_string(), "whole");
    }
}
