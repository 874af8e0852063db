//! HTTP plumbing: the shared state, one task per TLS connection (hyper HTTP/1.1 with
//! keep-alive, as pycurl and reqwest use it), fault injection before routing, and the request
//! log. The state sits behind one mutex that is never held across an `await`.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::auth::Tokens;
use crate::control::{Faults, RequestLog};
use crate::scenario::Scenario;
use crate::world::World;

/// Request bodies larger than this are refused (413); payloads are small files.
const MAX_BODY: usize = 32 * 1024 * 1024;

/// Everything the simulated engine knows.
pub struct Sim {
    pub world: World,
    /// The scenario loaded last (returned by `GET /sim/scenario`).
    pub scenario: Scenario,
    /// The scenario given at start, restored by `POST /sim/reset`.
    pub initial: Scenario,
    pub tokens: Tokens,
    pub faults: Faults,
    pub log: RequestLog,
}

pub struct App {
    sim: Mutex<Sim>,
    pub ca_pem: String,
    pub verbose: bool,
}

impl App {
    pub fn new(world: World, scenario: Scenario, ca_pem: String, verbose: bool) -> App {
        App {
            sim: Mutex::new(Sim {
                world,
                initial: scenario.clone(),
                scenario,
                tokens: Tokens::default(),
                faults: Faults::default(),
                log: RequestLog::default(),
            }),
            ca_pem,
            verbose,
        }
    }

    /// Locks the state and brings it up to date. A handler that panicked must not take the
    /// whole simulator down, so a poisoned lock is simply taken over.
    pub fn lock(&self) -> MutexGuard<'_, Sim> {
        let mut guard = self.sim.lock().unwrap_or_else(|e| e.into_inner());
        guard.world.advance(Instant::now());
        guard
    }
}

/// A response before it becomes a hyper response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<&'static str>,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn xml(status: u16, body: String) -> Reply {
        Reply {
            status,
            content_type: Some("application/xml"),
            headers: Vec::new(),
            body: body.into_bytes(),
        }
    }

    pub fn json(status: u16, value: &serde_json::Value) -> Reply {
        Reply {
            status,
            content_type: Some("application/json"),
            headers: Vec::new(),
            body: value.to_string().into_bytes(),
        }
    }

    /// No body at all: the engine's 404 for a missing entity.
    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            content_type: None,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A servlet container error page (`sendError`), as the engine sends for 401 and for
    /// requests its filters reject.
    pub fn html_error(status: u16, text: &str) -> Reply {
        Reply {
            status,
            content_type: Some("text/html;charset=UTF-8"),
            headers: Vec::new(),
            body: format!("<html><head><title>Error</title></head><body>{text}</body></html>")
                .into_bytes(),
        }
    }

    pub fn text(status: u16, content_type: &'static str, body: String) -> Reply {
        Reply {
            status,
            content_type: Some(content_type),
            headers: Vec::new(),
            body: body.into_bytes(),
        }
    }

    fn into_response(self) -> Response<Full<Bytes>> {
        let mut builder = Response::builder().status(self.status);
        if let Some(ct) = self.content_type {
            builder = builder.header("content-type", ct);
        }
        for (k, v) in self.headers {
            builder = builder.header(k, v);
        }
        builder
            .body(Full::new(Bytes::from(self.body)))
            .unwrap_or_else(|_| {
                let mut r = Response::new(Full::new(Bytes::new()));
                *r.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
                r
            })
    }
}

/// Returned by the service to make hyper close the connection without answering: the
/// "dropped connection" fault (the client sees an empty reply).
#[derive(Debug)]
pub struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

/// Decodes `a=1&b=x+y%3D` the way servlets and the SDK's `urlencode` agree on.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let (hi, lo) = (bytes[i + 1], bytes[i + 2]);
                if hi.is_ascii_hexdigit() && lo.is_ascii_hexdigit() {
                    let hex = [hi, lo];
                    let hex = std::str::from_utf8(&hex).unwrap_or("0");
                    out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn read_body(body: Incoming) -> Result<Bytes, u16> {
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(413),
        Err(_) => Err(400),
    }
}

/// One request, from any connection.
async fn handle(
    app: Arc<App>,
    plain: bool,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, DropConnection> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let query = parse_query(&raw_query);
    let method = parts.method.clone();

    // Plain HTTP serves only the CA download, like the engine's pki-resource servlet.
    if plain && path != "/ovirt-engine/services/pki-resource" {
        return Ok(Reply::html_error(404, "Not Found").into_response());
    }

    // The control interface: no auth, not counted, never faulted.
    if path == "/sim" || path.starts_with("/sim/") {
        let body = match read_body(body).await {
            Ok(b) => b,
            Err(code) => return Ok(Reply::empty(code).into_response()),
        };
        let reply = crate::control::handle(&app, &method, &path, &query, &body);
        return Ok(reply.into_response());
    }

    let started = Instant::now();
    let (seq, fault) = {
        let mut sim = app.lock();
        let seq = sim.log.record(method.as_str(), &path, &raw_query);
        let fault = sim.faults.take_match(method.as_str(), &path);
        if let Some(f) = &fault {
            sim.log.set_fault(seq, f.id);
            if f.expire_tokens {
                sim.tokens.expire_all();
            }
        }
        (seq, fault)
    };
    if app.verbose {
        eprintln!("ovirt-sim: {method} {path}?{raw_query}");
    }

    if let Some(f) = &fault {
        if let Some(ms) = f.delay_ms {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if f.drop {
            app.lock().log.finish(seq, 0, started);
            return Err(DropConnection);
        }
    }

    let reply = match fault.as_ref().and_then(|f| f.reply()) {
        Some(reply) => reply,
        None => match read_body(body).await {
            Ok(body) => crate::api::route(&app, &method, &path, &query, &parts.headers, &body),
            Err(code) => Reply::empty(code),
        },
    };
    app.lock().log.finish(seq, reply.status, started);
    Ok(reply.into_response())
}

/// Serves HTTPS (or plain HTTP when `acceptor` is `None`) until the process exits.
pub async fn serve(listener: TcpListener, acceptor: Option<TlsAcceptor>, app: Arc<App>) {
    loop {
        let (tcp, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                // Out of file descriptors and the like: wait a little instead of spinning.
                eprintln!("ovirt-sim: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let app = app.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let plain = acceptor.is_none();
            let service = service_fn(move |req| handle(app.clone(), plain, req));
            let builder = hyper::server::conn::http1::Builder::new();
            match acceptor {
                Some(acceptor) => {
                    // A client that never finishes the handshake must not hold a task forever.
                    let tls =
                        match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp))
                            .await
                        {
                            Ok(Ok(tls)) => tls,
                            _ => return,
                        };
                    let _ = builder.serve_connection(TokioIo::new(tls), service).await;
                }
                None => {
                    let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        let q = parse_query("case_sensitive=false&max=5&search=name%3Dfoo+and+cluster%3DDefault&x");
        assert_eq!(
            q[2],
            ("search".into(), "name=foo and cluster=Default".into())
        );
        assert_eq!(q[3], ("x".into(), "".into()));
        assert_eq!(percent_decode("a%"), "a%");
        assert_eq!(percent_decode("a%4"), "a%4");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%40"), "@");
        assert_eq!(percent_decode("%+5"), "% 5");
    }
}
