//! ovirt-sim: an oVirt Engine REST API v4 simulator for kvmguestctl's tests.
//!
//! Starts an HTTPS server with a throwaway CA, prints one JSON line with its URL, the CA file
//! and the control URL, and serves until SIGTERM/SIGINT or until stdin closes (so a test that
//! dies does not leave it behind). See README.md.

mod api;
mod auth;
mod control;
mod hosts;
mod scenario;
mod search;
mod server;
mod tls;
mod vms;
mod world;
mod xml;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

use crate::scenario::Scenario;
use crate::server::App;
use crate::world::World;

const USAGE: &str = "\
usage: ovirt-sim [--listen ADDR] [--scenario FILE] [--http-listen ADDR|none]
                 [--ca-file PATH] [--ignore-stdin] [--verbose]

  --listen ADDR       HTTPS address (default 127.0.0.1:0, a free port)
  --scenario FILE     scenario to load, JSON or YAML (default: the built-in scenarios/default.yaml)
  --http-listen ADDR  plain HTTP address serving only the CA download (pki-resource), as the
                      engine does (default 127.0.0.1:0; none to disable)
  --ca-file PATH      where to write the CA certificate (default: a fresh temporary directory)
  --ignore-stdin      keep serving when stdin closes (default: stop)
  --verbose           log every API request on stderr

When ready, prints one JSON line on stdout:
  {\"url\": \"https://127.0.0.1:PORT\", \"ca_file\": \"...\", \"control\": \"https://127.0.0.1:PORT/sim\", ...}
";

struct Args {
    listen: String,
    http_listen: Option<String>,
    scenario: Option<PathBuf>,
    ca_file: Option<PathBuf>,
    ignore_stdin: bool,
    verbose: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        listen: "127.0.0.1:0".into(),
        http_listen: Some("127.0.0.1:0".into()),
        scenario: None,
        ca_file: None,
        ignore_stdin: false,
        verbose: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match name.as_str() {
            "--listen" => args.listen = value()?,
            "--http-listen" => {
                let v = value()?;
                args.http_listen = (v != "none").then_some(v);
            }
            "--scenario" => args.scenario = Some(PathBuf::from(value()?)),
            "--ca-file" => args.ca_file = Some(PathBuf::from(value()?)),
            "--ignore-stdin" => args.ignore_stdin = true,
            "--verbose" | "-v" => args.verbose = true,
            "--help" | "-h" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(args)
}

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("ovirt-sim: {message}");
    std::process::exit(2);
}

fn main() {
    let args = parse_args().unwrap_or_else(|e| fail(e));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(format!("cannot start the runtime: {e}")));
    runtime.block_on(run(args));
}

async fn run(args: Args) {
    let scenario = match &args.scenario {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
            Scenario::parse(&text).unwrap_or_else(|e| fail(format!("{}: {e}", path.display())))
        }
        None => Scenario::default_scenario(),
    };
    let world = World::from_scenario(&scenario).unwrap_or_else(|e| fail(format!("scenario: {e}")));
    let pki = tls::generate().unwrap_or_else(|e| fail(e));

    // The CA goes to a fresh private directory unless a path was given; it is removed on exit.
    let (ca_path, temp_dir) = match &args.ca_file {
        Some(p) => (p.clone(), None),
        None => {
            let dir = std::env::temp_dir().join(format!(
                "ovirt-sim.{}.{}",
                std::process::id(),
                world::epoch_ms(std::time::SystemTime::now())
            ));
            std::fs::create_dir_all(&dir)
                .unwrap_or_else(|e| fail(format!("{}: {e}", dir.display())));
            (dir.join("ca.pem"), Some(dir))
        }
    };
    std::fs::write(&ca_path, &pki.ca_pem)
        .unwrap_or_else(|e| fail(format!("{}: {e}", ca_path.display())));

    let listener = TcpListener::bind(&args.listen)
        .await
        .unwrap_or_else(|e| fail(format!("cannot listen on {}: {e}", args.listen)));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| fail(format!("no local address: {e}")));
    let http = match &args.http_listen {
        Some(a) => Some(
            TcpListener::bind(a)
                .await
                .unwrap_or_else(|e| fail(format!("cannot listen on {a}: {e}"))),
        ),
        None => None,
    };

    let app = Arc::new(App::new(world, scenario, pki.ca_pem.clone(), args.verbose));
    let acceptor = tokio_rustls::TlsAcceptor::from(pki.server_config.clone());
    tokio::spawn(server::serve(listener, Some(acceptor), app.clone()));
    let mut ready = serde_json::json!({
        "url": format!("https://{addr}"),
        "api": format!("https://{addr}/ovirt-engine/api"),
        "ca_file": ca_path.display().to_string(),
        "control": format!("https://{addr}/sim"),
    });
    if let Some(http) = http {
        if let Ok(a) = http.local_addr() {
            ready["http_url"] = format!("http://{a}").into();
        }
        tokio::spawn(server::serve(http, None, app.clone()));
    }
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "{ready}");
    let _ = stdout.flush();

    wait_for_stop(args.ignore_stdin).await;
    if let Some(dir) = temp_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    // Open connections are simply dropped with the process.
    std::process::exit(0);
}

async fn wait_for_stop(ignore_stdin: bool) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).unwrap_or_else(|e| fail(e));
    let mut int = signal(SignalKind::interrupt()).unwrap_or_else(|e| fail(e));
    let stdin_closed = async {
        if ignore_stdin {
            std::future::pending::<()>().await;
        }
        let mut stdin = tokio::io::stdin();
        let mut buf = [0u8; 256];
        loop {
            match stdin.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
        _ = stdin_closed => {}
    }
}
