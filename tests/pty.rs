//! The binary in a real terminal, as a person at a shell meets it: the confirmation prompt (a
//! whole line, y/yes/n/no, Ctrl-C), the progress bar, a table fitted to a 60-column terminal and
//! its colours. A tmux server of the test's own (its own socket) holds the terminal; the test
//! types into it and reads its screen. tmux is installed by scripts/setup.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::fixtures;

/// A shell in a terminal `width` columns wide, in a tmux server that only this test uses.
struct Term {
    dir: tempfile::TempDir,
}

impl Term {
    fn new(width: u16) -> Term {
        let term = Term {
            dir: tempfile::tempdir().unwrap(),
        };
        let width = width.to_string();
        term.tmux(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            &width,
            "-y",
            "40",
            "-s",
            "t",
            "sh",
        ]);
        term.wait_prompt();
        term
    }

    /// Wait until the shell shows its prompt (`#` as root, `$` otherwise) as the last line.
    fn wait_prompt(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen(false);
            if screen.trim_end().ends_with(['#', '$']) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "waited 30 s for the shell's prompt; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("tmux.sock")
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(self.socket())
            .args(args)
            .env_remove("TMUX")
            .env_remove("NO_COLOR")
            .output()
            .expect("tmux (installed by scripts/setup)");
        assert!(out.status.success(), "tmux {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Type `line` and Enter.
    fn line(&self, line: &str) {
        self.tmux(&["send-keys", "-t", "t", "-l", line]);
        self.tmux(&["send-keys", "-t", "t", "Enter"]);
    }

    /// Run the binary with `args` (words a shell reads as they are), then say its exit code.
    fn kvm(&self, config: &Path, args: &str) {
        let [(_, locks), (_, state)] = common::own_dirs();
        self.line(&format!(
            "{} --config {} --lock-dir {} --state-dir {} {args}; echo exit=$?",
            env!("CARGO_BIN_EXE_kvmguestctl"),
            config.display(),
            locks.display(),
            state.display()
        ));
    }

    /// The screen, wrapped lines joined (`-J`): a line the terminal had to wrap is longer than
    /// the terminal here. With `escapes`, colours and attributes as escape sequences.
    fn screen(&self, escapes: bool) -> String {
        let mut args = vec!["capture-pane", "-p", "-J", "-t", "t"];
        if escapes {
            args.push("-e");
        }
        self.tmux(&args)
    }

    /// Wait until the screen shows `text`; the screen then.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen(false);
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waited 30 s for {text:?}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait for the `exit=N` line of the last command; the screen then.
    fn wait_exit(&self, code: i32) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen(false);
            let said = screen
                .lines()
                .find_map(|l| l.trim_start_matches(['#', '$', ' ']).strip_prefix("exit="));
            if let Some(said) = said {
                assert_eq!(said.trim(), code.to_string(), "{screen}");
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waited 30 s for the command to end; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn cursor_visible(&self) -> bool {
        self.tmux(&["display-message", "-p", "-t", "t", "#{cursor_flag}"])
            .trim()
            == "1"
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(self.socket())
            .arg("kill-server")
            .output();
    }
}

fn every_state() -> PathBuf {
    fixtures().join("every-state.yaml")
}

/// The seconds of the TIME column of the one result row that begins with `resource`.
fn time_of(screen: &str, resource: &str) -> f64 {
    let row = screen
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{resource} ")))
        .unwrap_or_else(|| panic!("no row for {resource}:\n{screen}"));
    row.split_whitespace()
        .find_map(|w| w.strip_suffix('s').and_then(|n| n.parse().ok()))
        .unwrap_or_else(|| panic!("no TIME in {row}"))
}

#[test]
fn yes_typed_in_full_confirms_once_and_the_prompt_time_is_not_the_operations() {
    let term = Term::new(120);
    term.kvm(&every_state(), "--sys a stop running");
    let screen = term.wait_for("[y/n]");
    assert!(
        screen.contains(
            "Shut down running01 on a? If it is still running after DelayAfterGuestOffline (30s), \
             it is destroyed. [y/n]"
        ),
        "{screen}"
    );
    // A person takes their time; the TIME column must not count it.
    std::thread::sleep(Duration::from_secs(2));
    term.line("maybe");
    term.wait_for("Please answer yes or no.");
    term.line("yes");
    let screen = term.wait_exit(0);
    assert!(screen.contains("stopped"), "{screen}");
    assert!(time_of(&screen, "running") < 1.5, "{screen}");
    // Nothing of the answer was left for the shell to run as a command.
    assert!(!screen.contains("not found"), "{screen}");
}

#[test]
fn no_is_a_refusal_and_the_no_kill_prompt_says_the_guest_is_left_running() {
    let term = Term::new(160);
    term.kvm(&every_state(), "--sys a stop --no-kill running");
    let screen = term.wait_for("[y/n]");
    assert!(
        screen.contains("(30s), it is left running (--no-kill). [y/n]"),
        "{screen}"
    );
    term.line("No");
    let screen = term.wait_exit(5);
    assert!(
        screen.contains(
            "kvmguestctl: refused: Shut down running01 on a: not done, the answer was no"
        ),
        "{screen}"
    );
    assert!(!screen.contains("error"), "{screen}");
}

#[test]
fn ctrl_c_at_the_prompt_leaves_the_terminal_as_it_was() {
    let term = Term::new(120);
    term.kvm(&every_state(), "--sys a clean running");
    term.wait_for("Destroy running01 on a at once, without a shutdown? [y/n]");
    term.tmux(&["send-keys", "-t", "t", "C-c"]);
    // The shell drops the rest of an interrupted line, and the terminal what was typed ahead:
    // ask for the code at the next prompt.
    term.wait_prompt();
    term.line("echo exit=$?");
    term.wait_exit(130);
    assert!(term.cursor_visible(), "the cursor is shown");
    // The line discipline still echoes and reads lines.
    term.line("stty -a | tr ' ' '\\n' | grep -x -e echo -e icanon | tr '\\n' ' '; echo");
    term.wait_for("\nicanon echo ");
}

#[test]
fn the_progress_bar_leaves_no_frame_behind() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("resources.yaml");
    std::fs::write(
        &config,
        format!(
            "systems:\n  a: {{ uri: 'test://{}/node-a.xml' }}\nresources:\n  \
             r: {{ type: KVMGuest, systems: [a], GuestName: shutoff01, DelayAfterGuestOnline: 2 }}\n",
            fixtures().display()
        ),
    )
    .unwrap();
    let term = Term::new(120);
    term.kvm(&config, "--sys a start r");
    // The bar is drawn while the guest settles...
    term.wait_for("shutoff01: DelayAfterGuestOnline 2s [");
    let screen = term.wait_exit(0);
    assert!(screen.contains("started"), "{screen}");
    // ... and gone once anything else is printed.
    assert!(!screen.contains("DelayAfterGuestOnline 2s"), "{screen}");
}

#[test]
fn at_60_columns_the_table_fits_without_breaking_words_and_states_are_coloured() {
    let term = Term::new(60);
    term.kvm(&every_state(), "status crashed undefined elsewhere twice");
    let screen = term.wait_exit(6);
    // The table's lines; the command line typed and the warning are the terminal's to wrap.
    let table = screen
        .lines()
        .filter(|l| !l.starts_with(['#', '$']) && !l.starts_with("kvmguestctl: "));
    for line in table {
        assert!(
            line.chars().count() <= 60,
            "wrapped by the terminal: {line:?}\n{screen}"
        );
    }
    let words: Vec<&str> = screen.split_whitespace().collect();
    for word in [
        "nowhere01",
        "INTENTIONAL",
        "OFFLINE",
        "FAULTED",
        "CONFIDENCE",
    ] {
        assert!(words.contains(&word), "{word} broken:\n{screen}");
    }
    let coloured = term.screen(true);
    // As tmux redraws them: red is colour 9, bold is 1.
    assert!(coloured.contains("\x1b[38;5;9mFAULTED"), "{coloured:?}");
    assert!(
        coloured.contains("\x1b[1m\x1b[38;5;9mONLINE"),
        "a concurrency violation: {coloured:?}"
    );
    assert!(!coloured.contains("9mOFFLINE"), "{coloured:?}");

    let plain = Term::new(60);
    plain.line(&format!(
        "NO_COLOR=1 {} --config {} status crashed; echo exit=$?",
        env!("CARGO_BIN_EXE_kvmguestctl"),
        every_state().display()
    ));
    plain.wait_exit(0);
    let screen = plain.screen(true);
    let row = screen.lines().find(|l| l.contains("FAULTED")).unwrap();
    assert!(!row.contains('\x1b'), "NO_COLOR: {row:?}");
}

#[test]
fn an_evacuation_asks_once_listing_each_guests_fate() {
    let term = Term::new(200);
    term.kvm(&every_state(), "--sys a evacuate --stop-unmovable");
    let screen = term.wait_for("[y/n]");
    for line in [
        "Evacuate a?",
        "  running01 (running) migrates live to b",
        "  blocked01 (blocked) is shut down, destroyed if still running after \
         DelayAfterGuestOffline (30s): no other system: blocked may run only on a",
    ] {
        assert!(screen.contains(line), "{line}:\n{screen}");
    }
    assert_eq!(screen.matches("[y/n]").count(), 1, "{screen}");
    term.line("no");
    let screen = term.wait_exit(5);
    assert!(
        screen.contains("kvmguestctl: refused: Evacuate a: not done, the answer was no"),
        "{screen}"
    );
}

/// A bulk stop asks once, listing each guest it would interrupt and what follows; one yes stops
/// them all; a no to a bulk clean refuses each of its guests. A guest with nothing to stop is
/// not in the question, and is still done.
#[test]
fn a_bulk_stop_or_clean_asks_once_for_the_whole_batch() {
    let term = Term::new(120);
    term.kvm(&every_state(), "--sys a stop running shutoff paused");
    let screen = term.wait_for("Go ahead? [y/n]");
    assert!(
        screen.contains(
            "Shut down 2 guests:\n  \
             running01 on a (running; destroyed if it is still running after 30s)\n  \
             paused01 on a (paused; destroyed if it is still running after 30s)\n\
             Go ahead? [y/n]"
        ),
        "{screen}"
    );
    assert!(!screen.contains("shutoff01"), "{screen}");
    term.line("yes");
    let screen = term.wait_exit(0);
    assert_eq!(screen.matches("[y/n]").count(), 1, "asked once: {screen}");
    for (resource, action) in [
        ("running", "stopped"),
        ("shutoff", "already-offline"),
        ("paused", "stopped"),
    ] {
        let row = screen
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{resource} ")))
            .unwrap_or_else(|| panic!("no row for {resource}:\n{screen}"));
        assert!(row.contains(action), "{row}");
    }

    // No refuses each guest of the question, by name; the rest is still done.
    let term = Term::new(120);
    term.kvm(&every_state(), "--sys a clean running shutoff paused");
    let screen = term.wait_for("Go ahead? [y/n]");
    assert!(
        screen.contains("Destroy 2 guests at once, without a shutdown:"),
        "{screen}"
    );
    term.line("n");
    let screen = term.wait_exit(5);
    for guest in ["running01", "paused01"] {
        assert!(
            screen.contains(&format!(
                "kvmguestctl: refused: Destroy {guest} on a at once, without a shutdown: not \
                 done, the answer was no"
            )),
            "{screen}"
        );
    }
    assert!(screen.contains("already-offline"), "{screen}");
}

/// On a terminal a batch draws one line per resource, all at once while their waits overlap,
/// and takes them off the screen before the table is printed.
#[test]
fn a_bulk_start_draws_one_progress_line_per_resource() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("resources.yaml");
    std::fs::write(
        &config,
        format!(
            "systems:\n  a: {{ uri: 'test://{}/node-a.xml' }}\nresources:\n  \
             one: {{ type: KVMGuest, systems: [a], GuestName: shutoff01, DelayAfterGuestOnline: 3 }}\n  \
             two: {{ type: KVMGuest, systems: [a], GuestName: limbo01, DelayAfterGuestOnline: 3 }}\n  \
             three: {{ type: KVMGuest, systems: [a], GuestName: elsewhere01, DelayAfterGuestOnline: 1 }}\n",
            fixtures().display()
        ),
    )
    .unwrap();
    let term = Term::new(120);
    term.kvm(&config, "--sys a start one two three --parallel 2");
    let screen = term.wait_for("two    starting limbo01 on a: waiting");
    assert!(
        screen.contains("one    starting shutoff01 on a: waiting"),
        "both lines at once: {screen}"
    );
    assert!(
        screen.contains("three  queued"),
        "its turn comes third: {screen}"
    );
    let screen = term.wait_exit(0);
    assert!(!screen.contains(": waiting"), "{screen}");
    assert!(!screen.contains("queued"), "{screen}");
    assert_eq!(screen.matches("started").count(), 3, "{screen}");
}
