//! Fuzzing on the stable toolchain. cargo-fuzz needs a nightly compiler, and an AFL harness is a
//! crate of its own that reaches only the public API, while two of the parsers worth fuzzing sit
//! in private modules. So each target is a property checked here, inside the crate, by its own
//! module's tests: replayed on a corpus (`tests/fuzz-corpus/<target>/`, the regressions among
//! them, and the project's real inputs), then on proptest's mutations of that corpus, every input
//! bounded in time by a watchdog.
//!
//! `cargo test` runs a short campaign with a fixed seed. `KVMGUESTCTL_FUZZ_SECONDS=N` (what
//! `scripts/fuzz` sets) makes it N seconds of fresh seeds per target instead; every input that
//! breaks the property is saved, shrunk, into the target's corpus, where it stays as a regression
//! test once fixed.

use std::cell::RefCell;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

/// What to fuzz and what must hold of every input.
pub struct Target {
    /// The corpus directory under `tests/fuzz-corpus/`, and the name in reports.
    pub name: &'static str,
    /// More seeds: every file with this extension under this directory of the crate.
    pub seeds: &'static [(&'static str, &'static str)],
    /// Words that mean something to the parser, for mutations to insert (lists of them: a
    /// target's own, and a shared one such as [`XML`]).
    pub dictionary: &'static [&'static [&'static str]],
    /// Ok, or why the input breaks the property. A panic is caught and counts as a crash.
    pub property: fn(&str) -> Result<(), String>,
}

/// XML's syntax and references, for the targets that read XML.
pub const XML: &[&str] = &[
    "<",
    ">",
    "</",
    "/>",
    "&",
    ";",
    "&amp;",
    "&#0;",
    "&#x110000;",
    "&e;",
    "<![CDATA[",
    "]]>",
    "<!--",
    "-->",
    "<?xml version=\"1.0\"?>",
    "\"",
    "'",
    "=",
    "\n",
    " ",
    "é",
    "\0",
];

/// Mutations stop growing an input here: big inputs are the hostile-input tests' business, and
/// small ones keep the executions many.
const INPUT_LIMIT: usize = 64 * 1024;
/// An input that takes longer is a hang: the watchdog ends the run and says which input.
const TIME_LIMIT: Duration = Duration::from_secs(10);
/// Generated inputs per target in `cargo test`: a few seconds for all targets together.
const SHORT_CASES: u32 = 1000;
/// Generated inputs per seed in a long campaign.
const BATCH: u32 = 2000;
/// A long campaign moves on to the next target after this many crashes: past a few, the same
/// bug is found again and again.
const MAX_CRASHES: usize = 10;

/// The head of a document whose DTD declares a billion laughs (`&lol9;`, 10^9 times "lol") and an
/// external entity (`&xxe;`, /etc/passwd), for tests that such entities are never expanded.
pub fn laughs_and_external(root: &str) -> String {
    let mut dtd = String::from("<!ENTITY lol0 \"lol\">");
    for i in 1..10 {
        let previous = format!("&lol{};", i - 1);
        dtd.push_str(&format!("<!ENTITY lol{i} \"{}\">", previous.repeat(10)));
    }
    dtd.push_str("<!ENTITY xxe SYSTEM \"file:///etc/passwd\">");
    format!("<?xml version=\"1.0\"?>\n<!DOCTYPE {root} [{dtd}]>\n")
}

/// Run a target's campaign: the corpus replay, then generated inputs; panics on any failure.
pub fn campaign(target: &Target) {
    let corpus = corpus(target);
    assert!(!corpus.is_empty(), "{}: no corpus", target.name);
    let watch = Watch::start(target.name);
    let broken: Vec<String> = corpus
        .iter()
        .filter_map(|(path, input)| {
            watch
                .check(target, input)
                .err()
                .map(|why| format!("{}: {why}", path.display()))
        })
        .collect();
    assert!(broken.is_empty(), "{}", broken.join("\n"));
    let seeds: Vec<Vec<u8>> = corpus.into_iter().map(|(_, i)| i.into_bytes()).collect();
    let budget = std::env::var("KVMGUESTCTL_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|&s| s > 0);
    let started = Instant::now();
    let mut crashes = 0;
    let mut runs = 0u64;
    loop {
        let seed = match budget {
            None => hash(target.name),
            Some(_) => hash(&(target.name, started.elapsed().as_nanos(), runs)),
        };
        runs += 1;
        let cases = if budget.is_some() { BATCH } else { SHORT_CASES };
        match generate(target, &seeds, &watch, seed, cases) {
            Ok(()) => {}
            Err((why, input)) if budget.is_some() => {
                crashes += 1;
                let saved = save(target.name, "crash", &input);
                eprintln!("fuzz {}: {why}; saved as {}", target.name, saved.display());
            }
            Err((why, input)) => panic!(
                "{}: {why}\ninput (shrunk): {input:?}\nadd it to tests/fuzz-corpus/{}/",
                target.name, target.name
            ),
        }
        if crashes >= MAX_CRASHES
            || budget.is_none_or(|b| started.elapsed() >= Duration::from_secs(b))
        {
            break;
        }
    }
    println!(
        "fuzz {}: {} executions in {:.1} s, {crashes} crashes, slowest input {} ms",
        target.name,
        watch.executions.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
        watch.slowest.load(Ordering::Relaxed),
    );
    assert_eq!(
        crashes, 0,
        "{}: crashes were saved in the corpus",
        target.name
    );
}

/// One proptest run of `cases` inputs from `seed`; the first failure, shrunk.
fn generate(
    target: &Target,
    corpus: &[Vec<u8>],
    watch: &Watch,
    seed: u64,
    cases: u32,
) -> Result<(), (String, String)> {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &key));
    let words: Vec<&str> = target.dictionary.concat();
    let inputs = (any::<Index>(), prop::collection::vec(mutation(), 0..12))
        .prop_map(move |(start, mutations)| mutated(corpus, start, &mutations, &words));
    runner
        .run(&inputs, |input| {
            watch.check(target, &input).map_err(TestCaseError::fail)
        })
        .map_err(|e| match e {
            TestError::Fail(why, input) => (why.to_string(), input),
            TestError::Abort(why) => (format!("aborted: {why}"), String::new()),
        })
}

/// One change to an input, its positions and lengths scaled to the input when applied.
#[derive(Debug, Clone)]
enum Mutation {
    /// A word of the dictionary, inserted.
    Insert {
        at: Index,
        word: Index,
    },
    /// Up to 64 bytes removed.
    Delete {
        at: Index,
        len: Index,
    },
    /// Up to 256 bytes copied elsewhere.
    Duplicate {
        from: Index,
        len: Index,
        to: Index,
    },
    /// One byte replaced by any byte (invalid UTF-8 reads as U+FFFD).
    Byte {
        at: Index,
        byte: u8,
    },
    /// The tail replaced by the tail of another corpus input.
    Splice {
        at: Index,
        other: Index,
        from: Index,
    },
    Truncate {
        at: Index,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), any::<Index>()).prop_map(|(at, word)| Mutation::Insert { at, word }),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(at, len)| Mutation::Delete { at, len }),
        2 => (any::<Index>(), any::<Index>(), any::<Index>())
            .prop_map(|(from, len, to)| Mutation::Duplicate { from, len, to }),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Byte { at, byte }),
        1 => (any::<Index>(), any::<Index>(), any::<Index>())
            .prop_map(|(at, other, from)| Mutation::Splice { at, other, from }),
        1 => any::<Index>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn mutated(
    corpus: &[Vec<u8>],
    start: Index,
    mutations: &[Mutation],
    dictionary: &[&str],
) -> String {
    let mut bytes = start.get(corpus).clone();
    // A position in the input, the end included.
    let at = |i: &Index, bytes: &Vec<u8>| i.index(bytes.len() + 1);
    for m in mutations {
        match m {
            Mutation::Insert { at: i, word } if !dictionary.is_empty() => {
                let p = at(i, &bytes);
                let word = word.get(dictionary).as_bytes();
                bytes.splice(p..p, word.iter().copied());
            }
            Mutation::Insert { .. } => {}
            Mutation::Delete { at: i, len } => {
                let p = at(i, &bytes);
                let end = (p + len.index(65)).min(bytes.len());
                bytes.drain(p..end);
            }
            Mutation::Duplicate { from, len, to } => {
                let p = at(from, &bytes);
                let end = (p + len.index(257)).min(bytes.len());
                let chunk = bytes[p..end].to_vec();
                let q = at(to, &bytes);
                bytes.splice(q..q, chunk);
            }
            Mutation::Byte { at: i, byte } if !bytes.is_empty() => {
                let p = i.index(bytes.len());
                bytes[p] = *byte;
            }
            Mutation::Byte { .. } => {}
            Mutation::Splice { at: i, other, from } => {
                let p = at(i, &bytes);
                let other = other.get(corpus);
                let q = from.index(other.len() + 1);
                bytes.truncate(p);
                bytes.extend_from_slice(&other[q..]);
            }
            Mutation::Truncate { at: i } => {
                let p = at(i, &bytes);
                bytes.truncate(p);
            }
        }
        bytes.truncate(INPUT_LIMIT);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The target's corpus directory and its seed files, each file read as text.
fn corpus(target: &Target) -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    walk(
        &root.join("tests/fuzz-corpus").join(target.name),
        &mut files,
    );
    for (dir, extension) in target.seeds {
        let mut found = Vec::new();
        walk(&root.join(dir), &mut found);
        found.retain(|f| f.extension().is_some_and(|e| e == *extension));
        files.extend(found);
    }
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            (f, String::from_utf8_lossy(&bytes).into_owned())
        })
        .collect()
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.flatten().map(|e| e.path()) {
        if path.is_dir() {
            walk(&path, files);
        } else {
            files.push(path);
        }
    }
}

fn hash<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// `tests/fuzz-corpus/<target>/<kind>-<hash>`, named after its content so that the same input
/// found twice is saved once.
fn save(target: &str, kind: &str, input: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-corpus")
        .join(target);
    let path = dir.join(format!("{kind}-{:016x}", hash(&input)));
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, input)) {
        eprintln!("fuzz {target}: cannot save {}: {e}", path.display());
    }
    path
}

thread_local! {
    /// Set while a fuzz input runs on this thread: its panics are caught and reported as
    /// crashes, so the panic hook keeps quiet about them (shrinking repeats them many times).
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The input under way on a target's thread, its executions, and the slowest; a watchdog thread
/// ends the test binary when one input runs past [`TIME_LIMIT`].
struct Watch {
    running: Arc<Mutex<Option<(Instant, String)>>>,
    executions: AtomicU64,
    /// Milliseconds.
    slowest: AtomicU64,
}

impl Watch {
    fn start(target: &'static str) -> Watch {
        static HOOK: Once = Once::new();
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                let fuzzing = PANIC.with(|p| {
                    let mut p = p.borrow_mut();
                    let under_way = p.is_some();
                    if under_way {
                        *p = Some(info.to_string());
                    }
                    under_way
                });
                if !fuzzing {
                    previous(info);
                }
            }));
        });
        let running: Arc<Mutex<Option<(Instant, String)>>> = Arc::new(Mutex::new(None));
        let watched = Arc::downgrade(&running);
        std::thread::spawn(move || {
            while let Some(running) = watched.upgrade() {
                let hung = running
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .as_ref()
                    .filter(|(since, _)| since.elapsed() > TIME_LIMIT)
                    .map(|(_, input)| input.clone());
                if let Some(input) = hung {
                    let saved = save(target, "hang", &input);
                    eprintln!(
                        "fuzz {target}: an input ran for more than {} s: saved as {}",
                        TIME_LIMIT.as_secs(),
                        saved.display()
                    );
                    std::process::abort();
                }
                drop(running);
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Watch {
            running,
            executions: AtomicU64::new(0),
            slowest: AtomicU64::new(0),
        }
    }

    /// The property on one input, a panic turned into an error.
    fn check(&self, target: &Target, input: &str) -> Result<(), String> {
        let started = Instant::now();
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) = Some((started, input.to_owned()));
        PANIC.with(|p| *p.borrow_mut() = Some(String::new()));
        let outcome = std::panic::catch_unwind(|| (target.property)(input));
        let panic = PANIC.with(|p| p.borrow_mut().take()).unwrap_or_default();
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.executions.fetch_add(1, Ordering::Relaxed);
        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.slowest.fetch_max(ms, Ordering::Relaxed);
        outcome.unwrap_or_else(|_| Err(format!("panicked: {panic}")))
    }
}
