//! Hostile values through the binary: names that try to escape or inject, files that block or
//! never end, documents that expand, answers that never end. Each must be refused at once with a
//! located, plain message and its documented exit code, or be harmless; the README ("Hostile
//! input") lists them.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::{Duration, Instant};

mod common;
use common::{fixtures, kvm, run_json};

/// The simulator's throwaway CA and server certificate, for an engine of this test's own.
#[path = "../ovirt-sim/src/tls.rs"]
mod tls;

/// `name` in `dir` with `text`, FIXTURES replaced by the fixtures' directory.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        text.replace("FIXTURES", &fixtures().display().to_string()),
    )
    .unwrap();
    path
}

/// How long a refusal may take: it comes before any wait (a FIFO's writer, a flood's end).
const TEN_SECONDS: Duration = Duration::from_secs(10);

/// `run`'s result, asserting that it came within `limit`.
fn within<T>(limit: Duration, run: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let result = run();
    assert!(
        started.elapsed() < limit,
        "took {:?}, more than {limit:?}",
        started.elapsed()
    );
    result
}

/// The stderr of a command that must be refused at once: exit 2, within [`TEN_SECONDS`].
fn refused(mut command: assert_cmd::Command) -> String {
    let out = within(TEN_SECONDS, || command.output().unwrap());
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    stderr
}

fn mkfifo(path: &Path) {
    let made = Process::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success(), "mkfifo {}", path.display());
}

/// A node file for libvirt's test driver with one running guest named `guest`.
fn node_with_a_running(dir: &Path, guest: &str) -> PathBuf {
    write(
        dir,
        "node.xml",
        &format!(
            "<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\n  \
             <domain type='test'><name>{}</name><memory>131072</memory>\
             <os><type>hvm</type></os><test:runstate>1</test:runstate></domain>\n</node>\n",
            quick_xml::escape::escape(guest)
        ),
    )
}

/// A configuration of one resource `r` on system `a` (the node file `node`) with `attributes`.
fn one_resource(dir: &Path, node: &Path, attributes: &str) -> PathBuf {
    write(
        dir,
        "resources.yaml",
        &format!(
            "systems:\n  a: {{ uri: 'test://{}' }}\nresources:\n  r:\n    type: KVMGuest\n    \
             systems: [a]\n{attributes}",
            node.display()
        ),
    )
}

#[test]
fn names_with_control_characters_or_a_slash_are_refused_where_written_and_shown_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "resources.yaml",
        "systems:\n  a: { uri: 'test:///default' }\nresources:\n  \
         nl: { type: KVMGuest, systems: [a], GuestName: \"web\\n01\" }\n  \
         nul: { type: KVMGuest, systems: [a], GuestName: \"web\\0\" }\n  \
         slash: { type: KVMGuest, systems: [a], GuestName: ../web }\n  \
         \"../../etc/cron.d/x\": { type: KVMGuest, systems: [a], GuestName: g }\n  \
         \"bell\\ax\": { type: KVMGuest, systems: [a], GuestName: g2 }\n",
    );
    let ran = run_json(kvm(&path).arg("validate"));
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    let found: Vec<(u64, u64, &str)> = ran.doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
                d["message"].as_str().unwrap(),
            )
        })
        .collect();
    let refused = "control characters are refused in a domain name (libvirt refuses line breaks)";
    assert_eq!(
        found,
        [
            (
                4,
                50,
                &*format!("GuestName 'web\\n01' contains the control character '\\n': {refused}")
            ),
            (
                5,
                51,
                &*format!("GuestName 'web\\0' contains the control character '\\0': {refused}")
            ),
            (
                6,
                53,
                "GuestName '../web' contains '/', which libvirt forbids"
            ),
            (
                7,
                3,
                "resource name '../../etc/cron.d/x' contains '/', which cannot be in the name of \
                 its state file"
            ),
            (
                8,
                3,
                "resource name 'bell\\u{7}x' contains '\\u{7}', which cannot be in the name of \
                 its state file"
            ),
        ]
    );
    // The table shows the name escaped too: nothing in it reaches the terminal raw.
    let table = kvm(&path).arg("validate").output().unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains(" bell\\u{7}x ") && !table.contains('\u{7}'),
        "{table}"
    );
}

/// A guest name is only ever an argument of libvirt calls and a file name in SyncDir: shell
/// metacharacters are not interpreted, and `..` names `...xml`, inside SyncDir.
#[test]
fn shell_metacharacters_and_dot_dot_in_a_guest_name_stay_plain_names() {
    for guest in ["web;touch pwned$(touch pwned2)`touch pwned3`", ".."] {
        let dir = tempfile::tempdir().unwrap();
        let sync = dir.path().join("sync");
        std::fs::create_dir(&sync).unwrap();
        let node = node_with_a_running(dir.path(), guest);
        let yaml_name = guest.replace('\'', "''");
        let config = one_resource(
            dir.path(),
            &node,
            &format!(
                "    GuestName: '{yaml_name}'\n    SyncDir: {}\n",
                sync.display()
            ),
        );
        let ran = run_json(
            kvm(&config)
                .current_dir(dir.path())
                .args(["--sys", "a", "--yes", "stop", "r"]),
        );
        assert_eq!(ran.code, 0, "{guest}: {}", ran.stderr);
        let saved = sync.join(format!("{guest}.xml"));
        assert_eq!(
            ran.doc["results"][0]["saved_definition"],
            saved.display().to_string()
        );
        assert_eq!(saved.parent(), Some(sync.as_path()), "inside SyncDir");
        let mut in_sync: Vec<String> = std::fs::read_dir(&sync)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        in_sync.sort();
        assert_eq!(in_sync, [format!("{guest}.xml")]);
        let mut beside: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        beside.sort();
        assert_eq!(beside, ["node.xml", "resources.yaml", "sync"], "{guest}");
    }
}

/// GuestConfigFilePath is read only when it is a regular file of at most 10 MiB: a FIFO (whose
/// open would wait for a writer forever), /dev/zero (endless) or a huge file is refused at once.
#[test]
fn a_fifo_dev_zero_or_huge_guest_config_file_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.xml");
    mkfifo(&fifo);
    let huge = dir.path().join("huge.xml");
    // Sparse: the size is what is checked, before a byte is read.
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(10 * 1024 * 1024 + 1)
        .unwrap();
    let link = dir.path().join("link.xml");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    for (file, why) in [
        (&fifo, "not a regular file but a FIFO"),
        (&link, "not a regular file but a character device"),
        (&huge, "larger than the 10 MiB limit"),
    ] {
        let config = write(
            dir.path(),
            "resources.yaml",
            &format!(
                "systems:\n  a: {{ uri: 'test://FIXTURES/node-a.xml' }}\nresources:\n  \
                 fresh: {{ type: KVMGuest, systems: [a], GuestName: fresh01, \
                 GuestConfigFilePath: {} }}\n",
                file.display()
            ),
        );
        let mut start = kvm(&config);
        start.args(["--sys", "a", "start", "fresh"]);
        let stderr = refused(start);
        assert!(
            stderr.contains(&format!(
                "{}: cannot read GuestConfigFilePath: {why}",
                file.display()
            )),
            "{stderr}"
        );
    }
}

/// A symbolic link as SyncDir is followed (shared storage is often mounted elsewhere and linked),
/// a link as the guest's copy in it is not: the copy is never written, nor read, through it.
#[test]
fn a_linked_sync_dir_is_followed_but_a_linked_or_fifo_copy_in_it_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("shared");
    std::fs::create_dir(&real).unwrap();
    let sync = dir.path().join("sync");
    std::os::unix::fs::symlink(&real, &sync).unwrap();
    let config = write(
        dir.path(),
        "resources.yaml",
        &format!(
            "systems:\n  a: {{ uri: 'test://FIXTURES/node-a.xml' }}\nresources:\n  \
             r: {{ type: KVMGuest, systems: [a], GuestName: running01, SyncDir: {} }}\n",
            sync.display()
        ),
    );
    let stop = || {
        within(TEN_SECONDS, || {
            kvm(&config)
                .args(["--sys", "a", "--yes", "stop", "r"])
                .output()
                .unwrap()
        })
    };
    let out = stop();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::read_to_string(real.join("running01.xml"))
            .unwrap()
            .contains("<name>running01</name>")
    );

    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    let copy = real.join("running01.xml");
    std::fs::remove_file(&copy).unwrap();
    std::os::unix::fs::symlink(&victim, &copy).unwrap();
    let out = stop();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("read the previous copy: a symbolic link, which is not followed here"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert!(copy.symlink_metadata().unwrap().is_symlink());
    assert!(!real.join("running01.xml.bak").exists());

    std::fs::remove_file(&copy).unwrap();
    mkfifo(&copy);
    let out = stop();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("read the previous copy: not a regular file but a FIFO"),
        "{stderr}"
    );

    // The check reads it the same way: the FIFO is an unreadable copy, not a wait for ever.
    let out = within(TEN_SECONDS, || {
        kvm(&config)
            .args(["--sys", "a", "vmconfigsync", "--check", "r"])
            .output()
            .unwrap()
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(4),
        "an unreadable copy, as an unreachable one: {stdout}"
    );
    assert!(
        stdout.contains("unreadable") && stdout.contains("not a regular file but a FIFO"),
        "{stdout}"
    );
}

/// A configuration is read only when it is a regular file of at most 16 MiB; a bigger one is
/// refused before any of it is parsed, and a FIFO without a writer does not block.
#[test]
fn a_100_mb_or_fifo_configuration_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.yaml");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
    file.write_all(b"systems:\n  a: { uri: 'test:///default' }\nresources:\n")
        .unwrap();
    let filler = format!("# {}\n", "x".repeat(1021));
    for _ in 0..100 * 1024 {
        file.write_all(filler.as_bytes()).unwrap();
    }
    file.flush().unwrap();
    drop(file);
    let fifo = dir.path().join("fifo.yaml");
    mkfifo(&fifo);
    for (config, why) in [
        (&big, "larger than the 16 MiB limit"),
        (&fifo, "not a regular file but a FIFO"),
    ] {
        let ran = within(Duration::from_secs(5), || {
            run_json(kvm(config).arg("validate"))
        });
        assert_eq!(ran.code, 2, "{}", ran.stderr);
        assert_eq!(
            ran.doc["diagnostics"][0]["message"],
            format!("cannot read the file: {why}")
        );
        assert_eq!(
            ran.doc["diagnostics"][0]["file"],
            config.display().to_string()
        );
    }
}

/// Billion laughs: nested aliases (10^9 "lol"s) are refused by the schema before anything is
/// expanded, and aliases that repeat a large value are stopped by the YAML parser's 64 MiB budget.
#[test]
fn alias_bombs_are_stopped_with_a_located_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut laughs = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (previous, level) in ('a'..='h').zip('b'..='i') {
        let aliases = vec![format!("*{previous}"); 10].join(", ");
        laughs.push_str(&format!("{level}: &{level} [{aliases}]\n"));
    }
    let nested = write(
        dir.path(),
        "nested.yaml",
        &format!(
            "{laughs}systems:\n  a: {{ uri: 'test:///default' }}\nresources:\n  r:\n    \
             type: KVMGuest\n    GuestName: g\n    systems: *i\n"
        ),
    );
    let big = "x".repeat(1024 * 1024);
    let repeats = vec!["*s"; 99].join(", ");
    let repeating = write(
        dir.path(),
        "repeating.yaml",
        &format!(
            "systems:\n  a: {{ uri: 'test:///default' }}\nresources:\n  r:\n    \
             type: KVMGuest\n    GuestName: g\n    systems: [&s {big}, {repeats}]\n"
        ),
    );
    for (config, line, why) in [
        (
            &nested,
            1,
            "unknown key `a`: expected one of systems, resources",
        ),
        (
            &repeating,
            7,
            "the document goes past the YAML parser's limits: more than 64 MiB of text, \
             counting what aliases repeat (an alias bomb? a configuration needs far less)",
        ),
    ] {
        let ran = within(Duration::from_secs(5), || {
            run_json(kvm(config).arg("validate"))
        });
        assert_eq!(ran.code, 2, "{}", ran.stderr);
        let first = &ran.doc["diagnostics"][0];
        assert_eq!(first["line"], line, "{first}");
        assert!(first["message"].as_str().unwrap().contains(why), "{first}");
    }
}

/// A domain definition's DTD is refused (libvirt writes none, and libvirt's parser would read
/// what it declares after our check); entities, never expanded here, are refused by name.
#[test]
fn a_definition_with_a_dtd_or_entities_is_refused_where_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut laughs = String::from("  <!ENTITY lol0 \"lol\">\n");
    for i in 1..10 {
        laughs.push_str(&format!(
            "  <!ENTITY lol{i} \"{}\">\n",
            format!("&lol{};", i - 1).repeat(10)
        ));
    }
    let billion = write(
        dir.path(),
        "billion.xml",
        &format!(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE domain [\n{laughs}]>\n\
             <domain type='test'><name>fresh01</name><description>&lol9;</description></domain>\n"
        ),
    );
    let external = write(
        dir.path(),
        "external.xml",
        "<domain type='test'>\n  <name>fresh01</name>\n  <description>&xxe;</description>\n\
         </domain>\n",
    );
    for (file, at, why) in [
        (
            &billion,
            "2:1",
            "a <!DOCTYPE> declaration is not allowed in a libvirt domain definition",
        ),
        (&external, "3:16", "undefined entity &xxe;"),
    ] {
        let config = write(
            dir.path(),
            "resources.yaml",
            &format!(
                "systems:\n  a: {{ uri: 'test://FIXTURES/node-a.xml' }}\nresources:\n  \
                 fresh: {{ type: KVMGuest, systems: [a], GuestName: fresh01, \
                 GuestConfigFilePath: {} }}\n",
                file.display()
            ),
        );
        let mut start = kvm(&config);
        start.args(["--sys", "a", "start", "fresh"]);
        let stderr = refused(start);
        assert!(
            stderr.contains(&format!("{}:{at}: {why}", file.display())),
            "{stderr}"
        );
    }
}

/// What an engine of this test's own does after its headers (the SSO login is answered as a
/// real engine does; every API request gets the hostile answer).
#[derive(Clone, Copy)]
enum Answer {
    /// A Content-Length of 100 GiB, a few bytes, then nothing.
    HugeLength,
    /// A chunked body that never ends, as fast as it is read.
    Endless,
    /// A chunked body of one byte every 100 ms.
    Trickle,
}

/// An engine on 127.0.0.1 answering with `answer`, for as long as the test runs; its URL and CA.
fn hostile_engine(dir: &Path, answer: Answer) -> (String, PathBuf) {
    let pki = tls::generate().unwrap();
    let ca = write(dir, "ca.pem", &pki.ca_pem);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let config = pki.server_config.clone();
            std::thread::spawn(move || {
                let tls = rustls::ServerConnection::new(config).unwrap();
                let mut stream = rustls::StreamOwned::new(tls, tcp);
                // A dropped connection is the client's choice: the thread ends with it.
                let _ = serve(&mut stream, answer);
            });
        }
    });
    (url, ca)
}

fn serve(stream: &mut (impl Read + Write), answer: Answer) -> std::io::Result<()> {
    // Everything is bounded: the client hangs up long before, but a test that failed must not
    // leave a thread writing forever.
    const LIMIT: Duration = Duration::from_secs(60);
    let started = Instant::now();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    if head.starts_with("POST /ovirt-engine/sso/")
        || head.starts_with("POST /ovirt-engine/services/")
    {
        let body = r#"{"access_token": "t", "exp": "9223372036854775807", "token_type": "bearer"}"#;
        return write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
    }
    match answer {
        Answer::HugeLength => {
            stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\n\
                  Content-Length: 107374182400\r\n\r\n<vms>",
            )?;
            stream.flush()?;
            std::thread::sleep(LIMIT);
        }
        Answer::Endless | Answer::Trickle => {
            stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\n\
                  Transfer-Encoding: chunked\r\n\r\n",
            )?;
            let chunk = match answer {
                Answer::Endless => "<vms>".repeat(13_000),
                _ => " ".to_owned(),
            };
            while started.elapsed() < LIMIT {
                write!(stream, "{:x}\r\n{chunk}\r\n", chunk.len())?;
                stream.flush()?;
                if let Answer::Trickle = answer {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }
    Ok(())
}

/// A resource `app` on system `a1` of the engine at `url`, trusted through `ca`.
fn rhev_resource(dir: &Path, url: &str, ca: &Path) -> PathBuf {
    write(
        dir,
        "resources.yaml",
        &format!(
            "systems:\n  a1: {{ rhev_host: a1 }}\nresources:\n  app:\n    type: KVMGuest\n    \
             systems: [a1]\n    GuestName: app1\n    RHEVMInfo:\n      Enabled: 1\n      \
             URL: {url}\n      User: admin@internal\n      PasswordEnv: HOSTILE_PASSWORD\n      \
             Cluster: site-a\n      CAFile: {}\n",
            ca.display()
        ),
    )
}

/// The CA file is read as GuestConfigFilePath is: a FIFO does not block, and nothing is sent.
#[test]
fn a_fifo_as_the_engines_ca_file_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    mkfifo(&ca);
    // Nothing listens there: the CA is refused before any connection.
    let config = rhev_resource(dir.path(), "https://127.0.0.1:9", &ca);
    let mut start = kvm(&config);
    start
        .env("HOSTILE_PASSWORD", "secret")
        .args(["--sys", "a1", "start", "app"]);
    let stderr = refused(start);
    assert!(
        stderr.contains(&format!(
            "cannot read the CA file {}: not a regular file but a FIFO",
            ca.display()
        )),
        "{stderr}"
    );
}

/// An answer is read up to 64 MiB and within the timeout: an announced or actual flood is cut
/// off with a plain error, and a trickle ends with the timeout.
#[test]
fn an_engine_answering_without_end_is_cut_off() {
    let flood = "answered more than 64 MiB, the most read of an answer: not read further";
    for (answer, timeout, code, why, within) in [
        (Answer::HugeLength, "30", 1, flood, Duration::from_secs(5)),
        (Answer::Endless, "30", 1, flood, Duration::from_secs(30)),
        (
            Answer::Trickle,
            "2",
            4,
            "did not answer within 2 s",
            Duration::from_secs(6),
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (url, ca) = hostile_engine(dir.path(), answer);
        let config = rhev_resource(dir.path(), &url, &ca);
        let started = Instant::now();
        let ran = run_json(kvm(&config).env("HOSTILE_PASSWORD", "secret").args([
            "--sys",
            "a1",
            "--timeout",
            timeout,
            "status",
            "app",
        ]));
        let elapsed = started.elapsed();
        assert_eq!(ran.code, code, "{}\n{}", ran.doc, ran.stderr);
        let error = ran.doc["resources"][0]["systems"][0]["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(error.contains(why), "{error}\n{}", ran.doc);
        assert!(elapsed < within, "{elapsed:?}");
    }
}
