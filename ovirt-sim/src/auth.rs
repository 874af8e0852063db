//! SSO: `POST /ovirt-engine/sso/oauth/token` (password grant), the SDK's
//! `POST /ovirt-engine/services/sso-logout`, and checking `Authorization` on API requests.
//!
//! Shapes and messages follow the engine's `OAuthTokenServlet`, `SsoService` and
//! `SsoLogoutServlet`: success JSON has `access_token`, `scope`, `exp` (a string of epoch
//! milliseconds) and `token_type`; errors are HTTP 400 with `{"error", "error_description"}`.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime};

use base64::Engine;
use hyper::HeaderMap;
use serde::Serialize;

use crate::server::Reply;
use crate::world::{World, epoch_ms};

/// What the engine answers as `exp` for a session without expiry (Long.MAX_VALUE).
const NO_EXPIRY: &str = "9223372036854775807";

#[derive(Clone, Debug, Serialize)]
pub struct Token {
    pub user: String,
    /// `None`: never expires.
    #[serde(skip)]
    pub expires_at: Option<SystemTime>,
    pub issued_ms: u64,
}

impl Token {
    pub fn valid_at(&self, now: SystemTime) -> bool {
        self.expires_at.is_none_or(|t| now < t)
    }
}

#[derive(Default)]
pub struct Tokens {
    pub map: HashMap<String, Token>,
    counter: u64,
}

impl Tokens {
    /// A fresh random token; the std hasher is randomly seeded per process, which is plenty
    /// for a test engine.
    fn new_token(&mut self) -> String {
        let mut out = String::new();
        for _ in 0..4 {
            self.counter += 1;
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(self.counter);
            h.write_u128(epoch_ms(SystemTime::now()).into());
            out.push_str(&format!("{:016x}", h.finish()));
        }
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out.as_bytes())
    }

    /// Expires every token now ("expire all tokens" fault); later requests with them get 401.
    pub fn expire_all(&mut self) -> usize {
        let now = SystemTime::now();
        for t in self.map.values_mut() {
            t.expires_at = Some(now);
        }
        self.map.len()
    }
}

fn sso_error(code: &str, message: &str) -> Reply {
    Reply::json(
        400,
        &serde_json::json!({ "error": code, "error_description": message }),
    )
}

/// Form parameters from the query string and an `application/x-www-form-urlencoded` body,
/// as a servlet's `getParameter` sees them.
fn params(query: &[(String, String)], body: &[u8]) -> HashMap<String, String> {
    let mut map = HashMap::new();
    let body = String::from_utf8_lossy(body);
    for (k, v) in query
        .iter()
        .cloned()
        .chain(crate::server::parse_query(&body))
    {
        map.entry(k).or_insert(v);
    }
    map
}

/// `POST /ovirt-engine/sso/oauth/token`
pub fn token(
    world: &World,
    tokens: &mut Tokens,
    headers: &HeaderMap,
    query: &[(String, String)],
    body: &[u8],
) -> Reply {
    let p = params(query, body);
    match p.get("grant_type").map(String::as_str) {
        Some("password") => {}
        _ => {
            return sso_error(
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            );
        }
    }
    let Some(username) = p.get("username") else {
        return sso_error("invalid_request", "Missing parameter: 'username'");
    };
    let Some(password) = p.get("password") else {
        return sso_error("invalid_request", "Missing parameter: 'password'");
    };
    if !world
        .users
        .iter()
        .any(|u| &u.name == username && &u.password == password)
    {
        // AuthenticationException -> access_denied with CANNOT_AUTHENTICATE_USER_IN_DOMAIN;
        // the engine's format ends in the message's own period plus one more.
        return sso_error(
            "access_denied",
            &format!(
                "Cannot authenticate user '{username}': The username or password is incorrect.."
            ),
        );
    }
    // The engine checks Accept after authenticating, and wants it exactly.
    let accept = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept != "application/json" {
        return sso_error("invalid_request", "Missing parameter: 'Accept Header'");
    }
    let scope = p.get("scope").cloned().unwrap_or_default();
    if !scope.split_whitespace().any(|s| s == "ovirt-app-api") {
        return sso_error(
            "invalid_scope",
            &format!(
                "The requested scope '{scope}' is invalid, unknown, malformed, or exceeds the scope granted by the resource owner."
            ),
        );
    }
    let now = SystemTime::now();
    // An absurd ttl that overflows the clock means no expiry.
    let expires_at = world.token_ttl.and_then(|ttl| now.checked_add(ttl));
    let access_token = tokens.new_token();
    tokens.map.insert(
        access_token.clone(),
        Token {
            user: username.clone(),
            expires_at,
            issued_ms: epoch_ms(now),
        },
    );
    let exp = match expires_at {
        Some(t) => epoch_ms(t).to_string(),
        None => NO_EXPIRY.to_string(),
    };
    Reply::json(
        200,
        &serde_json::json!({
            "access_token": access_token,
            "scope": scope,
            "exp": exp,
            "token_type": "bearer",
        }),
    )
}

/// `POST /ovirt-engine/services/sso-logout`: revokes the token. The engine answers `{}` also
/// for an unknown token (OAuthRevokeServlet).
pub fn logout(tokens: &mut Tokens, query: &[(String, String)], body: &[u8]) -> Reply {
    let p = params(query, body);
    match p.get("token") {
        Some(t) if !t.is_empty() => {
            tokens.map.remove(t);
            Reply::json(200, &serde_json::json!({}))
        }
        _ => Reply::json(
            200,
            &serde_json::json!({
                "error": "invalid_request",
                "error_description": "Missing parameter: 'token'",
            }),
        ),
    }
}

/// The outcome of checking `Authorization` on an API request.
pub enum Auth {
    Ok(String),
    Denied,
}

/// Bearer tokens from SSO, or (deprecated but supported) Basic `user@domain:password`.
pub fn check(world: &World, tokens: &Tokens, headers: &HeaderMap) -> Auth {
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Auth::Denied;
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        match tokens.map.get(rest) {
            Some(t) if t.valid_at(SystemTime::now()) => Auth::Ok(t.user.clone()),
            _ => Auth::Denied,
        }
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        match decoded.as_deref().and_then(|d| d.split_once(':')) {
            Some((user, password))
                if world
                    .users
                    .iter()
                    .any(|u| u.name == user && u.password == password) =>
            {
                Auth::Ok(user.to_string())
            }
            _ => Auth::Denied,
        }
    } else {
        Auth::Denied
    }
}

/// The engine's 401: `EnforceAuthFilter` sets the scheme header and calls the servlet
/// container's `sendError`, so the body is an HTML error page, not XML.
pub fn unauthorized() -> Reply {
    let mut r = Reply::html_error(401, "Unauthorized");
    r.headers
        .push(("www-authenticate", "Basic realm=\"RESTAPI\"".to_string()));
    r
}

/// Seconds until a token expires, for the control interface.
pub fn remaining(t: &Token) -> Option<Duration> {
    t.expires_at
        .map(|e| e.duration_since(SystemTime::now()).unwrap_or_default())
}
