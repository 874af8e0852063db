//! Reading resource definitions from YAML: one file or a directory of `*.yaml` files, parsed into
//! the `raw` types, merged, checked by `validate`, then resolved.

use std::path::{Path, PathBuf};

use serde_saphyr::Spanned;

use super::raw::{Count, Flag, RawFile, RawResource, origin, set};
use super::{
    CeInfo, Config, DEFAULT_DEGRADE_AFTER, DEFAULT_DELAY_AFTER_GUEST_OFFLINE,
    DEFAULT_DELAY_AFTER_GUEST_ONLINE, DEFAULT_FAULT_AFTER, DEFAULT_MIGRATE_TIMEOUT,
    DEFAULT_MIGRATE_WAIT_LIMIT, DEFAULT_PING_TIMEOUT, Diagnostic, DrOpts, Engine, Environment,
    GuestHealth, Origin, PasswordSource, Resource, RhevmInfo, Severity, System, resolve,
};
use super::{suggest, validate};

/// Where the configuration comes from.
#[derive(Debug, Clone)]
pub enum ConfigSource {
    /// `--config PATH` or `KVMGUESTCTL_CONFIG`: a file, or a directory of `*.yaml` files.
    Path(PathBuf),
    /// `/etc/kvmguestctl/resources.yaml` plus `/etc/kvmguestctl/resources.d/*.yaml`.
    Default,
}

pub const DEFAULT_FILE: &str = "/etc/kvmguestctl/resources.yaml";
pub const DEFAULT_DIR: &str = "/etc/kvmguestctl/resources.d";

impl ConfigSource {
    /// Whether there is anything to read at all: a node without a configuration cannot have
    /// started any guest through it (what a cluster agent's stop and probe rely on).
    pub fn exists(&self) -> bool {
        match self {
            ConfigSource::Path(path) => path.exists(),
            ConfigSource::Default => {
                Path::new(DEFAULT_FILE).exists() || Path::new(DEFAULT_DIR).is_dir()
            }
        }
    }

    /// The path an administrator should look at.
    pub fn describe(&self) -> String {
        match self {
            ConfigSource::Path(path) => path.display().to_string(),
            ConfigSource::Default => format!("{DEFAULT_FILE} or {DEFAULT_DIR}/"),
        }
    }
}

/// Load and validate the configuration. On failure, every error found is returned, located.
pub fn load(source: &ConfigSource) -> Result<Config, Vec<Diagnostic>> {
    let files = files(source).map_err(|d| vec![d])?;
    let mut parsed = Vec::new();
    let mut diagnostics = Vec::new();
    for file in files {
        match parse_file(&file) {
            Ok(raw) => parsed.push((file, raw)),
            Err(found) => diagnostics.extend(found),
        }
    }
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    checked(parsed)
}

/// Load and validate one configuration document given as text rather than read from a file (a
/// cluster engine's front end builds it from the engine's parameters): the same rules as files,
/// its diagnostics located in `name`.
pub fn load_text(text: &str, name: &Path) -> Result<Config, Vec<Diagnostic>> {
    let raw = parse_text(text, name)?;
    checked(vec![(name.to_owned(), raw)])
}

/// Parsed files merged, validated and resolved.
fn checked(parsed: Vec<(PathBuf, RawFile)>) -> Result<Config, Vec<Diagnostic>> {
    let loaded: Vec<PathBuf> = parsed.iter().map(|(file, _)| file.clone()).collect();
    let (config, mut diagnostics) = merge(parsed);
    // In the order of the files, as a compiler lists them: rules are checked in their own order.
    diagnostics.sort_by(|a, b| {
        let at = |d: &Diagnostic| (d.origin.file.clone(), d.origin.line, d.origin.column);
        at(a).cmp(&at(b))
    });
    if config.resources.is_empty() && diagnostics.is_empty() {
        let names: Vec<String> = loaded.iter().map(|f| f.display().to_string()).collect();
        let first = loaded.first().cloned().unwrap_or_default();
        let message = match names.len() {
            1 => "no resources are defined".to_owned(),
            _ => format!("no resources are defined in any of {}", names.join(", ")),
        };
        diagnostics.push(whole_file(&first, message));
    }
    if diagnostics.iter().any(|d| d.severity == Severity::Error) {
        return Err(diagnostics);
    }
    Ok(Config {
        warnings: diagnostics,
        ..config
    })
}

fn whole_file(file: &Path, message: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        origin: Origin {
            file: file.to_owned(),
            line: 0,
            column: 0,
        },
        resource: None,
        message,
    }
}

fn files(source: &ConfigSource) -> Result<Vec<PathBuf>, Diagnostic> {
    match source {
        ConfigSource::Path(path) => {
            let meta = std::fs::metadata(path).map_err(|e| {
                whole_file(
                    path,
                    format!("cannot read the configuration: {}", crate::error::io(&e)),
                )
            })?;
            if meta.is_dir() {
                let found = yaml_files(path)?;
                if found.is_empty() {
                    return Err(whole_file(
                        path,
                        "the directory holds no *.yaml file".into(),
                    ));
                }
                Ok(found)
            } else {
                Ok(vec![path.clone()])
            }
        }
        ConfigSource::Default => {
            let mut found = Vec::new();
            if Path::new(DEFAULT_FILE).exists() {
                found.push(PathBuf::from(DEFAULT_FILE));
            }
            if Path::new(DEFAULT_DIR).is_dir() {
                found.extend(yaml_files(Path::new(DEFAULT_DIR))?);
            }
            if found.is_empty() {
                return Err(whole_file(
                    Path::new(DEFAULT_FILE),
                    format!(
                        "no configuration: neither this file nor {DEFAULT_DIR}/*.yaml exists \
                         (name one with --config or KVMGUESTCTL_CONFIG)"
                    ),
                ));
            }
            Ok(found)
        }
    }
}

fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let read = std::fs::read_dir(dir).map_err(|e| {
        whole_file(
            dir,
            format!("cannot read the directory: {}", crate::error::io(&e)),
        )
    })?;
    let mut found: Vec<PathBuf> = read
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    Ok(found)
}

/// A configuration file larger than this is refused before it is parsed: a thousand resources
/// take well under 1 MiB, and the parser's time and memory grow with the text.
pub const MAX_CONFIG_FILE: u64 = 16 * crate::bounded::MIB;

fn parse_file(file: &Path) -> Result<RawFile, Vec<Diagnostic>> {
    let text = crate::bounded::read_text(file, MAX_CONFIG_FILE, crate::bounded::Links::Follow)
        .map_err(|e| {
            vec![whole_file(
                file,
                format!("cannot read the file: {}", crate::error::io(&e)),
            )]
        })?;
    parse_text(&text, file)
}

/// At most this many errors are reported of one file: beyond that, the first ones are what to fix.
const MAX_ERRORS: usize = 20;

/// Parse one document. The YAML library stops at its first error; so that one run reports every
/// wrong key and value of a file, the lines of each error found are blanked (a key with its
/// nested lines) and the text parsed again, until it parses or the next error is a syntax error
/// (after which nothing can be trusted). Blanking keeps every line and byte where it was, so each
/// error is located in the file as written.
fn parse_text(text: &str, file: &Path) -> Result<RawFile, Vec<Diagnostic>> {
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(RawFile::default());
    }
    let mut attempt = text.to_owned();
    let mut found: Vec<Diagnostic> = Vec::new();
    let mut blanked = Vec::new();
    // Each round blanks one more line: the number of lines bounds the rounds.
    while found.len() < MAX_ERRORS {
        let e = match deserialize(&attempt) {
            Ok(raw) if found.is_empty() => return Ok(raw),
            Ok(_) => break,
            Err(e) => e,
        };
        let e = e.without_snippet();
        let line = e.location().map_or(0, |l| l.line());
        let retry = !found.is_empty();
        // After a blanking, a syntax error may be of our own making: stop there.
        if (retry && !is_data_error(e)) || blanked.contains(&line) {
            break;
        }
        // So may a missing key (its line was blanked): not said, and its whole mapping is
        // blanked (the library locates it at the mapping's first key).
        let missing = matches!(e, serde_saphyr::Error::SerdeMissingField { .. });
        let line = if retry && missing {
            let column = e.location().map_or(0, |l| l.column());
            parent(&attempt, line, column)
        } else {
            found.push(located(text, file, e));
            line
        };
        if !is_data_error(e) || line == 0 || blanked.contains(&line) {
            break;
        }
        blanked.push(line);
        attempt = blank(&attempt, line);
    }
    if found.len() >= MAX_ERRORS {
        found.push(whole_file(
            file,
            format!("stopped after {MAX_ERRORS} errors: fix these, then validate again"),
        ));
    }
    Err(found)
}

fn deserialize(text: &str) -> Result<RawFile, serde_saphyr::Error> {
    // Strict booleans: YAML 1.1's yes/no/on/off are not VCS's 0/1, and a typo must not flip a flag.
    // No application tags: they mean nothing here, and a tagged key (`!x resources`) escaped the
    // library's duplicate-key check to meet serde's, which cannot say where.
    let options = serde_saphyr::options! {
        strict_booleans: true,
        reject_unsupported_tags: true,
    };
    serde_saphyr::from_str_with_options::<Option<RawFile>>(text, options)
        .map(Option::unwrap_or_default)
}

/// Errors in what the YAML says (a key, a type, a value), as opposed to how it is written: after
/// one of these the rest of the document is still read as the author meant it.
fn is_data_error(e: &serde_saphyr::Error) -> bool {
    use serde_saphyr::Error as E;
    matches!(
        e,
        E::SerdeInvalidType { .. }
            | E::SerdeInvalidValue { .. }
            | E::SerdeInvalidLength { .. }
            | E::SerdeUnknownVariant { .. }
            | E::SerdeUnknownField { .. }
            | E::SerdeMissingField { .. }
            | E::DuplicateMappingKey { .. }
    )
}

/// `text` with line `line` (1-based) blanked, and the lines nested under it: those after it that
/// are indented deeper, or empty. Every byte but line ends becomes a space, so that offsets,
/// lines and columns stay those of the file.
fn blank(text: &str, line: u64) -> String {
    let indent = |l: &str| l.len() - l.trim_start_matches(' ').len();
    let mut out = String::with_capacity(text.len());
    let mut nested_deeper_than: Option<usize> = None;
    for (number, l) in (1u64..).zip(text.split_inclusive('\n')) {
        let content = l.trim_end_matches(['\n', '\r']);
        let blanked = match nested_deeper_than {
            _ if number == line => {
                nested_deeper_than = Some(indent(content));
                true
            }
            Some(depth) if content.trim().is_empty() || indent(content) > depth => true,
            _ => {
                nested_deeper_than = None;
                false
            }
        };
        if blanked {
            out.extend(std::iter::repeat_n(' ', content.len()));
            out.push_str(&l[content.len()..]);
        } else {
            out.push_str(l);
        }
    }
    out
}

/// The line of the key whose mapping begins at `line`, `column`: the line before it indented
/// less, or `line` itself when the mapping is written on it after its key (`{ ... }`).
fn parent(text: &str, line: u64, column: u64) -> u64 {
    let lines: Vec<&str> = text.lines().collect();
    let Some(here) = usize::try_from(line)
        .ok()
        .and_then(|l| lines.get(l.checked_sub(1)?))
    else {
        return 0;
    };
    let indent = |l: &str| l.len() - l.trim_start_matches(' ').len();
    let depth = indent(here);
    if column > depth as u64 + 1 {
        return line;
    }
    (1u64..)
        .zip(&lines)
        .take(usize::try_from(line).unwrap_or(0).saturating_sub(1))
        .filter(|(_, l)| {
            !l.trim().is_empty() && !l.trim_start().starts_with('#') && indent(l) < depth
        })
        .map(|(n, _)| n)
        .last()
        .unwrap_or(0)
}

/// One error of the YAML library as a diagnostic: in an administrator's words, and located where
/// the fault is (a wrong value at the value, not at its key).
fn located(text: &str, file: &Path, e: &serde_saphyr::Error) -> Diagnostic {
    use serde_saphyr::Error as E;
    let location = e.location();
    let (mut line, mut column) = location.map_or((0, 0), |l| (l.line(), l.column()));
    let message = match e {
        E::SerdeUnknownField {
            field, expected, ..
        } => unknown("key", field, expected),
        E::SerdeUnknownVariant {
            variant, expected, ..
        } => unknown("value", variant, expected),
        E::SerdeMissingField { field, .. } => format!("the key `{field}` is missing"),
        E::DuplicateMappingKey { key: Some(key), .. } => {
            format!("`{key}` is given twice in the same mapping: keep one")
        }
        E::UnsupportedTag { tag, .. } => {
            format!("the tag `{tag}` means nothing in a configuration: remove it")
        }
        E::MultipleDocuments { .. } => "a second YAML document (after a `---` line) begins \
            here: a configuration file holds one (remove the `---` and what follows, or make it \
            a file of its own)"
            .to_owned(),
        _ if let Some(limit) = beyond_limits(e) => limit,
        _ => {
            let message = e.to_string();
            // The library appends its own "at line L, column C": the location is in our prefix.
            let suffix = format!(" at line {line}, column {column}");
            plain(message.strip_suffix(&suffix).unwrap_or(&message))
        }
    };
    if matches!(
        e,
        E::SerdeInvalidType { .. } | E::SerdeInvalidValue { .. } | E::SerdeInvalidLength { .. }
    ) && let Some((l, c)) = location.and_then(|l| value_of_key(text, l.span()))
    {
        (line, column) = (l, c);
    }
    Diagnostic {
        severity: Severity::Error,
        origin: Origin {
            file: file.to_owned(),
            line,
            column,
        },
        resource: None,
        // The library's messages and ours quote keys and values, which may span lines.
        message: crate::error::one_line(&message),
    }
}

/// A document past the YAML library's limits (its defaults, far beyond a configuration written
/// by hand): which one, in words rather than the library's debug output.
fn beyond_limits(e: &serde_saphyr::Error) -> Option<String> {
    use serde_saphyr::Error as E;
    use serde_saphyr::budget::BudgetBreach as B;
    const BOMB: &str = "an alias bomb? a configuration needs far less";
    const ALIASES: (&str, &str) = ("too many aliases for its anchors", BOMB);
    let (what, hint) = match e {
        // Met while replaying an alias: wrapped with both places.
        E::AliasError { error, .. } => return beyond_limits(error),
        E::Budget { breach, .. } => match breach {
            B::ScalarBytes { .. } | B::RecordedAnchorBytes { .. } => (
                "more than 64 MiB of text, counting what aliases repeat",
                BOMB,
            ),
            B::Nodes { .. } | B::Events { .. } => (
                "more than 250,000 values",
                "about 19,000 resources: split them into files of a directory",
            ),
            // The schema refuses a structure deeper or larger than it needs before its size
            // counts: what is left is repetition.
            _ => ALIASES,
        },
        E::AliasReplayLimitExceeded { .. }
        | E::AliasExpansionLimitExceeded { .. }
        | E::AliasReplayCounterOverflow { .. }
        | E::AliasReplayStackDepthExceeded { .. } => ALIASES,
        _ => return None,
    };
    Some(format!(
        "the document goes past the YAML parser's limits: {what} ({hint})"
    ))
}

/// An unknown key or value: the closest valid ones, else all of them (a handful).
fn unknown(what: &str, given: &str, expected: &[&str]) -> String {
    let close = suggest::closest(given, expected.iter().copied());
    let quoted =
        |names: &[&str]| -> Vec<String> { names.iter().map(|n| format!("`{n}`")).collect() };
    if close.is_empty() {
        format!(
            "unknown {what} `{given}`: expected one of {}",
            expected.join(", ")
        )
    } else {
        let close = quoted(&close);
        let close: Vec<&str> = close.iter().map(String::as_str).collect();
        format!(
            "unknown {what} `{given}`: did you mean {}?",
            suggest::either(&close)
        )
    }
}

/// Where the value of a key starts, when `span` is a key followed by `:` (the library locates a
/// wrong scalar at its key): line and column (1-based, in characters).
fn value_of_key(text: &str, span: serde_saphyr::Span) -> Option<(u64, u64)> {
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let end = start.checked_add(usize::try_from(span.byte_len()?).ok()?)?;
    // A key is written on one line; a span over several is a whole node, not a key.
    if text.get(start..end)?.contains('\n') {
        return None;
    }
    let rest = text.get(end..)?;
    let rest = rest.strip_prefix(['"', '\'']).unwrap_or(rest);
    let rest = rest.trim_start_matches([' ', '\t']).strip_prefix(':')?;
    let value = rest.trim_start_matches([' ', '\t']);
    // Suffixes of `text` all along, so that the value's offset is what they leave out.
    let value = if value.starts_with(['\n', '\r', '#']) {
        // A value on the lines below its key: the first that is not blank or a comment.
        let mut below = value;
        loop {
            below = &below[below.find('\n')? + 1..];
            let content = below.trim_start_matches([' ', '\t']);
            if !content.starts_with(['\n', '\r', '#']) && !content.is_empty() {
                break content;
            }
        }
    } else {
        value
    };
    let offset = text.len() - value.len();
    let before = &text[..offset];
    let line = before.matches('\n').count() as u64 + 1;
    let line_start = before.rfind('\n').map_or(0, |nl| nl + 1);
    let column = before[line_start..].chars().count() as u64 + 1;
    Some((line, column))
}

/// The YAML library's messages, in an administrator's words where its own are parser jargon or
/// advice meant for programmers: what is wrong, and how to fix it.
fn plain(message: &str) -> String {
    const PHRASES: &[(&str, &str)] = &[
        (
            "while parsing a block mapping, did not find expected key",
            "this line is not indented like the keys around it: indent it exactly as far as the \
             other keys of its mapping (with spaces)",
        ),
        (
            "invalid indentation",
            "this line is not indented like the keys around it: indent it exactly as far as the \
             other keys of its mapping (with spaces)",
        ),
        (
            "while parsing a block collection, did not find expected '-' indicator",
            "this line is not indented like the list around it: indent every '- item' of a list \
             equally",
        ),
        (
            "illegal placement of ':' indicator",
            "unexpected ':': a '[' or '{' opened on an earlier line is probably not closed (add \
             the missing ']' or '}'), or a value holding ':' needs quotes",
        ),
        (
            "mapping values are not allowed in this context",
            "unexpected ':': quote the value if the ':' belongs to it, or put the key on a line \
             of its own",
        ),
        (
            "while parsing a flow mapping, did not find expected ',' or '}'",
            "expected ',' or '}' here: a mapping opened with '{' is not closed (add the missing \
             '}'), two of its entries lack the ',' between them, or a value holding ': ' needs \
             quotes",
        ),
        (
            "unexpected EOF while parsing a flow mapping",
            "the file ends inside a mapping opened with '{': add the missing '}'",
        ),
        (
            "while parsing a flow sequence, expected ',' or ']'",
            "expected ',' or ']' here: a list opened with '[' is not closed (add the missing \
             ']'), or two of its items lack the ',' between them",
        ),
        (
            "unexpected EOF while parsing a flow sequence",
            "the file ends inside a list opened with '[': add the missing ']'",
        ),
        (
            "unclosed bracket '['",
            "a list opened with '[' is not closed: add the missing ']'",
        ),
        (
            "unclosed bracket '{'",
            "a mapping opened with '{' is not closed: add the missing '}'",
        ),
        (
            "tabs disallowed within this context (block indentation)",
            "a tab in the indentation: YAML indents with spaces only (replace the tab with spaces)",
        ),
        (
            "tabs disallowed in this context",
            "a tab where YAML allows none: use spaces",
        ),
        (
            "while scanning a plain scalar, found a tab",
            "a tab inside a value: use spaces, or quote the value",
        ),
        (
            "invalid indentation in multiline quoted scalar",
            "a quoted string is not closed: add its closing quote (without it, the string runs on \
             into the lines below)",
        ),
        (
            "unclosed quote",
            "a quoted string is not closed: add its closing quote",
        ),
        (
            "while parsing a node, did not find expected node content",
            "a value is missing here, or it starts with a character that needs quotes ('@', '`', \
             '%')",
        ),
        (
            "block sequence entries are not allowed in this context",
            "unexpected '- item': a list under a key goes on the lines below 'key:', indented, or \
             as [a, b] after it",
        ),
        ("simple key expected ':'", "a key must be followed by ':'"),
        (
            "while parsing node, found unknown anchor",
            "an alias (*name) refers to no anchor (&name) defined before it",
        ),
    ];
    const WORDS: &[(&str, &str)] = &[
        (", set DuplicateKeyPolicy in Options if acceptable", ""),
        ("expected string scalar", "expected a string"),
        (
            "expected sequence start",
            "expected a list ([a, b] or one '- item' per line)",
        ),
        ("unknown variant", "unknown value"),
    ];
    if let Some((_, words)) = PHRASES.iter().find(|(jargon, _)| *jargon == message) {
        return (*words).to_owned();
    }
    WORDS.iter().fold(message.to_owned(), |m, (jargon, words)| {
        m.replace(jargon, words)
    })
}

fn merge(parsed: Vec<(PathBuf, RawFile)>) -> (Config, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let mut systems = std::collections::BTreeMap::<String, (System, Origin)>::new();
    let mut raw_resources: Vec<(PathBuf, Spanned<String>, RawResource)> = Vec::new();
    let mut seen_resources = std::collections::BTreeMap::<String, Origin>::new();

    for (file, raw) in parsed {
        for (name, system) in raw.systems {
            let here = origin(&file, &name);
            if let Some((_, first)) = systems.get(&name.value) {
                diagnostics.push(validate::error(
                    here,
                    None,
                    format!("system '{}' is already defined at {first}", name.value),
                ));
                continue;
            }
            diagnostics.extend(validate::system(&file, &name, &system));
            let base = base_dir(&file);
            systems.insert(
                name.value.clone(),
                (
                    System {
                        name: name.value.clone(),
                        uri_origin: system.uri.as_ref().map(|u| origin(&file, u)),
                        uri: system.uri.map(|u| resolve_test_uri(&base, &u.value)),
                        site: system.site.map(|s| s.value),
                        migration_uri: system.migration_uri.map(|s| s.value),
                        rhev_host: system.rhev_host.map(|s| s.value),
                    },
                    here,
                ),
            );
        }
        for (name, resource) in raw.resources {
            let here = origin(&file, &name);
            if let Some(first) = seen_resources.get(&name.value) {
                diagnostics.push(validate::error(
                    here,
                    Some(&name.value),
                    format!("resource '{}' is already defined at {first}", name.value),
                ));
                continue;
            }
            seen_resources.insert(name.value.clone(), here);
            raw_resources.push((file.clone(), name, resource));
        }
    }

    let systems: std::collections::BTreeMap<String, System> =
        systems.into_iter().map(|(k, (s, _))| (k, s)).collect();
    let mut resources = std::collections::BTreeMap::new();
    let located: Vec<_> = raw_resources
        .iter()
        .map(|(file, name, raw)| (file.as_path(), name, raw))
        .collect();
    diagnostics.extend(validate::shared_guests(&located));
    // One absolute base per file, not per resource: making a path absolute asks the kernel.
    let mut bases = std::collections::HashMap::new();
    for (file, name, raw) in raw_resources {
        diagnostics.extend(validate::resource(&file, &name, &raw, &systems));
        let base = bases.entry(file.clone()).or_insert_with(|| base_dir(&file));
        let resolved = resolve_resource(&file, base, &name, raw);
        resources.insert(name.value.clone(), resolved);
    }
    (
        Config {
            systems,
            resources,
            warnings: Vec::new(),
        },
        diagnostics,
    )
}

/// libvirt's test driver wants an absolute path (`test:///abs/node.xml`); the configuration may
/// write `test:node.xml` (no slashes) to mean a file beside the YAML file.
fn resolve_test_uri(base: &Path, uri: &str) -> String {
    match uri.strip_prefix("test:") {
        Some(rest) if !rest.starts_with('/') && !rest.is_empty() => {
            format!("test://{}", resolve(base, rest).display())
        }
        _ => uri.to_owned(),
    }
}

/// The environment of a validated resource (validation has made sure RHEV has what it needs).
fn environment(info: &RhevmInfo) -> Environment {
    if !info.enabled {
        return Environment::Libvirt;
    }
    let password = match (&info.password, &info.password_file, &info.password_env) {
        (Some(encrypted), _, _) => PasswordSource::Encrypted(encrypted.clone()),
        (None, Some(file), _) => PasswordSource::File(file.clone()),
        (None, None, variable) => PasswordSource::Env(variable.clone().unwrap_or_default()),
    };
    Environment::Rhev(Engine {
        url: info
            .url
            .as_deref()
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_owned(),
        user: info.user.clone().unwrap_or_default(),
        password,
        ca_file: info.ca_file.clone(),
    })
}

/// The directory that relative paths in `file` are resolved against, made absolute.
fn base_dir(file: &Path) -> PathBuf {
    let file = std::path::absolute(file).unwrap_or_else(|_| file.to_owned());
    file.parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_owned)
}

fn resolve_resource(
    file: &Path,
    base: &Path,
    name: &Spanned<String>,
    raw: RawResource,
) -> Resource {
    let count = |v: Option<Spanned<Count>>, default: u32| v.map_or(default, |c| c.value.0);
    let flag = |v: Option<Flag>, default: bool| v.map_or(default, |f| f.0);
    let path = |v: Option<Spanned<String>>| set(v).map(|p| resolve(base, &p));
    let rhevm_info = RhevmInfo {
        enabled: flag(raw.RHEVMInfo.Enabled.map(|s| s.value), false),
        url: set(raw.RHEVMInfo.URL),
        user: set(raw.RHEVMInfo.User),
        password: set(raw.RHEVMInfo.Password),
        cluster: set(raw.RHEVMInfo.Cluster),
        use_manual_rhevm_fencing: flag(raw.RHEVMInfo.UseManualRHEVMFencing, false),
        password_file: path(raw.RHEVMInfo.PasswordFile),
        password_env: set(raw.RHEVMInfo.PasswordEnv),
        ca_file: path(raw.RHEVMInfo.CAFile),
    };
    Resource {
        name: name.value.clone(),
        origin: origin(file, name),
        systems: raw.systems.value.into_iter().map(|s| s.value).collect(),
        guest_name: set(raw.GuestName).unwrap_or_default(),
        delay_after_guest_online: count(
            raw.DelayAfterGuestOnline,
            DEFAULT_DELAY_AFTER_GUEST_ONLINE,
        ),
        delay_after_guest_offline: count(
            raw.DelayAfterGuestOffline,
            DEFAULT_DELAY_AFTER_GUEST_OFFLINE,
        ),
        sync_dir: path(raw.SyncDir),
        guest_config_file_path: path(raw.GuestConfigFilePath),
        resync_vm_cfg: flag(raw.ResyncVMCfg.map(|s| s.value), false),
        ce_info: CeInfo {
            enabled: flag(raw.CEInfo.Enabled, false),
            ce_system: set(raw.CEInfo.CESystem),
            fault_on_hb_loss: flag(raw.CEInfo.FaultOnHBLoss, true),
        },
        environment: environment(&rhevm_info),
        rhevm_info,
        dr_opts: DrOpts {
            configure_network: flag(raw.DROpts.ConfigureNetwork.map(|s| s.value), false),
            ip_address: set(raw.DROpts.IPAddress),
            netmask: set(raw.DROpts.Netmask),
            gateway: set(raw.DROpts.Gateway),
            dns_servers: set(raw.DROpts.DNSServers),
            dns_search_path: set(raw.DROpts.DNSSearchPath),
            device: set(raw.DROpts.Device),
        },
        intentional_offline: flag(raw.IntentionalOffline, true),
        migrate_timeout: count(raw.MigrateTimeout, DEFAULT_MIGRATE_TIMEOUT),
        migrate_wait_limit: count(raw.MigrateWaitLimit, DEFAULT_MIGRATE_WAIT_LIMIT),
        transient: flag(raw.Transient.map(|s| s.value), false),
        guest_health: GuestHealth {
            enabled: flag(raw.GuestHealth.Enabled.map(|s| s.value), false),
            ping_timeout: count(raw.GuestHealth.PingTimeout, DEFAULT_PING_TIMEOUT),
            degrade_after: count(raw.GuestHealth.DegradeAfter, DEFAULT_DEGRADE_AFTER),
            fault_after: count(raw.GuestHealth.FaultAfter, DEFAULT_FAULT_AFTER),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz::{Target, campaign};

    /// YAML's syntax, and the keys and values of the schema.
    const WORDS: &[&str] = &[
        ":",
        ": ",
        "- ",
        "? ",
        ",",
        "{",
        "}",
        "[",
        "]",
        "#",
        "|",
        ">-",
        "'",
        "\"",
        "\\",
        "\t",
        "\n",
        "\r\n",
        "  ",
        "&a ",
        "*a",
        "<<: *a",
        "!!str ",
        "!!binary ",
        "!x ",
        "---\n",
        "...\n",
        "%YAML 1.2\n",
        "~",
        "null",
        "-1",
        "4294967296",
        "0x1F",
        ".inf",
        "1e9",
        "\0",
        "\u{85}",
        "\u{2028}",
        "\u{FEFF}",
        "é",
        "\\x00",
        "systems:\n",
        "resources:\n",
        "type: KVMGuest",
        "GuestName: ",
        "uri: ",
        "SyncDir: ",
        "GuestConfigFilePath: ",
        "RHEVMInfo:\n",
        "DROpts:\n",
        "Enabled: 1",
        "MigrateTimeout: ",
        "systems: [a, b]",
    ];

    #[test]
    fn the_parsers_limits_a_tag_and_a_second_document_are_said_in_words() {
        let said = |text: &str| {
            let found = load_text(text, Path::new("f.yaml")).unwrap_err();
            (found[0].origin.line, found[0].message.clone())
        };
        let many = format!(
            "resources:\n  r:\n    systems: [{}]\n",
            vec!["a"; 250_001].join(", ")
        );
        assert_eq!(
            said(&many),
            (
                3,
                "the document goes past the YAML parser's limits: more than 250,000 values \
                 (about 19,000 resources: split them into files of a directory)"
                    .to_owned()
            )
        );
        assert_eq!(
            said("!x resources: {}\nresources: {}\n"),
            (
                1,
                "the tag `!x` means nothing in a configuration: remove it".to_owned()
            )
        );
        assert_eq!(
            said("systems: {}\n---\nresources: {}\n"),
            (
                3,
                "a second YAML document (after a `---` line) begins here: a configuration file \
                 holds one (remove the `---` and what follows, or make it a file of its own)"
                    .to_owned()
            )
        );
    }

    #[test]
    fn fuzz() {
        campaign(&Target {
            name: "yaml",
            seeds: &[
                ("tests/bad-config", "yaml"),
                ("tests/fixtures", "yaml"),
                ("examples", "yaml"),
            ],
            dictionary: &[WORDS],
            property: every_error_is_located,
        });
    }

    /// Loaded, or refused with errors of one line each, in the file at a line and column of it;
    /// only what concerns the file as a whole is unlocated.
    fn every_error_is_located(text: &str) -> std::result::Result<(), String> {
        let file = Path::new("fuzz.yaml");
        let Err(diagnostics) = load_text(text, file) else {
            return Ok(());
        };
        if !diagnostics.iter().any(|d| d.severity == Severity::Error) {
            return Err("refused without an error".into());
        }
        // YAML's line breaks: CR LF, LF, and CR alone.
        let breaks = text.replace("\r\n", "\n").matches(['\n', '\r']).count();
        let lines = breaks as u64 + 1;
        for d in &diagnostics {
            let whole_file =
                d.message == "no resources are defined" || d.message.starts_with("stopped after ");
            let located = if whole_file {
                d.origin.line == 0
            } else {
                (1..=lines).contains(&d.origin.line) && d.origin.column >= 1
            };
            let clear = !d.message.trim().is_empty() && !d.message.contains('\n');
            if d.origin.file != file || !clear || !located {
                return Err(format!("not a clear, located diagnostic: {d:?}"));
            }
        }
        Ok(())
    }
}
