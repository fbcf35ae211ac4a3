//! The dashboard login of `dingbridged` (settings-api.md, "HTTP login").
//!
//! Invariants:
//! - Every route but `/login` needs the session cookie: `/api/*` answers 401 JSON `UNAUTHORIZED`, other
//!   paths a short page saying to open the login URL. Any local process can reach a loopback port, so
//!   without this anyone on the machine could read message previews and change settings.
//! - The cookie value is derived from a per-install secret kept in the secret store (account
//!   `dashboard-secret`), so a login survives daemon restarts; it is `HttpOnly; SameSite=Strict` and is
//!   compared in constant time.
//! - A login code works once: redeeming it clears it.
//! - State-changing methods also need `X-DingBridge-Request: 1`, which a cross-site form cannot send
//!   (CSRF); without it they answer 403 `FORBIDDEN`.

use std::sync::{Arc, Mutex};

use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::errors::error_response;
use crate::secrets::{DASHBOARD_SECRET, SecretStore};
use crate::settings::SettingsError;

/// The CSRF header every state-changing call carries.
pub const CSRF_HEADER: &str = "x-dingbridge-request";
const COOKIE_PREFIX: &str = "dingbridge_session_";

pub struct DashboardAuth {
    /// Cookie name: per install, so two installs on one machine (cookies ignore ports) do not log each
    /// other out.
    cookie_name: String,
    cookie_value: SecretString,
    login_code: Mutex<Option<SecretString>>,
}

impl DashboardAuth {
    /// Over the stored per-install secret, created on first use. When the store cannot keep one (no keychain,
    /// env-only store) a per-process secret is used: logins then last until the daemon stops.
    pub fn from_store(store: &dyn SecretStore) -> Self {
        let stored = match store.get(DASHBOARD_SECRET) {
            Ok(Some(secret)) if !secret.expose_secret().is_empty() => Some(secret),
            Ok(_) => {
                let secret = random_hex();
                match store.set(DASHBOARD_SECRET, secret.clone()) {
                    Ok(()) => Some(secret),
                    Err(err) => {
                        tracing::warn!(
                            code = err.code(),
                            "the dashboard secret cannot be stored; logins last until dingbridged stops"
                        );
                        None
                    }
                }
            }
            Err(err) => {
                tracing::warn!(
                    code = err.code(),
                    "the dashboard secret cannot be read; logins last until dingbridged stops"
                );
                None
            }
        };
        Self::with_secret(&stored.unwrap_or_else(random_hex))
    }

    pub fn with_secret(secret: &SecretString) -> Self {
        let derive = |purpose: &str| {
            let mut hash = Sha256::new();
            hash.update(purpose.as_bytes());
            hash.update([0u8]);
            hash.update(secret.expose_secret().as_bytes());
            hex(&hash.finalize())
        };
        let name_suffix = derive("dingbridge-dashboard-cookie-name-v1");
        Self {
            cookie_name: format!("{COOKIE_PREFIX}{}", &name_suffix[..12]),
            cookie_value: SecretString::from(derive("dingbridge-dashboard-session-v1")),
            login_code: Mutex::new(None),
        }
    }

    /// A fresh one-time login code (the previous one stops working).
    pub fn issue_login_code(&self) -> SecretString {
        let code = random_hex();
        *self.login_code.lock().unwrap_or_else(|e| e.into_inner()) = Some(code.clone());
        code
    }

    /// `http://<addr>/login?code=<one-time code>`.
    pub fn login_url(&self, addr: std::net::SocketAddr) -> String {
        format!(
            "http://{addr}/login?code={}",
            self.issue_login_code().expose_secret()
        )
    }

    fn redeem(&self, presented: &str) -> bool {
        let mut code = self.login_code.lock().unwrap_or_else(|e| e.into_inner());
        let valid = code.as_ref().is_some_and(|code| {
            constant_time_eq(presented.as_bytes(), code.expose_secret().as_bytes())
        });
        if valid {
            *code = None;
        }
        valid
    }

    fn has_session(&self, headers: &HeaderMap) -> bool {
        let expected = self.cookie_value.expose_secret().as_bytes();
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .any(|(name, value)| {
                name == self.cookie_name && constant_time_eq(value.as_bytes(), expected)
            })
    }

    fn set_cookie(&self) -> Option<HeaderValue> {
        HeaderValue::from_str(&format!(
            "{}={}; HttpOnly; SameSite=Strict; Path=/",
            self.cookie_name,
            self.cookie_value.expose_secret()
        ))
        .ok()
    }
}

#[derive(Deserialize)]
pub struct LoginQuery {
    code: Option<String>,
}

/// `GET /login?code=...`: sets the session cookie and redirects to the dashboard.
pub async fn login(
    State(auth): State<Arc<DashboardAuth>>,
    Query(query): Query<LoginQuery>,
) -> Response {
    let valid = query.code.as_deref().is_some_and(|code| auth.redeem(code));
    match (valid, auth.set_cookie()) {
        (true, Some(cookie)) => {
            let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        _ => (
            StatusCode::UNAUTHORIZED,
            Html(page(
                "This login link is not valid (a link works once). Restart dingbridged and open the \
                 DINGBRIDGE_DASHBOARD_URL it prints.",
            )),
        )
            .into_response(),
    }
}

/// Session cookie on everything but `/login`; the CSRF header on state-changing calls.
pub async fn require_login(
    State(auth): State<Arc<DashboardAuth>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if path == "/login" {
        return next.run(request).await;
    }
    if !auth.has_session(request.headers()) {
        return if path.starts_with("/api/") {
            error_response(&SettingsError::Unauthorized)
        } else {
            (
                StatusCode::UNAUTHORIZED,
                Html(page(
                    "Open the login URL printed by dingbridged (the DINGBRIDGE_DASHBOARD_URL=... line).",
                )),
            )
                .into_response()
        };
    }
    let changes_state = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let marked = request
        .headers()
        .get(CSRF_HEADER)
        .is_some_and(|value| value.as_bytes() == b"1");
    if changes_state && !marked {
        return error_response(&SettingsError::Forbidden(format!(
            "state-changing calls need the header {CSRF_HEADER}: 1"
        )));
    }
    next.run(request).await
}

fn page(message: &str) -> String {
    format!("<!doctype html><meta charset=\"utf-8\"><title>DingBridge</title><p>{message}</p>")
}

fn random_hex() -> SecretString {
    let bytes: [u8; 32] = rand::random();
    SecretString::from(hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares without an early exit, so the time taken does not reveal how much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, byte) in a.iter().enumerate() {
        diff |= usize::from(byte ^ b.get(i).copied().unwrap_or(0));
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_code_works_once() {
        let auth = DashboardAuth::with_secret(&SecretString::from("s"));
        let code = auth.issue_login_code();
        assert!(!auth.redeem("wrong"));
        assert!(auth.redeem(code.expose_secret()));
        assert!(!auth.redeem(code.expose_secret()));
    }

    #[test]
    fn the_cookie_is_derived_from_the_install_secret_not_equal_to_it() {
        let a = DashboardAuth::with_secret(&SecretString::from("install-secret"));
        let b = DashboardAuth::with_secret(&SecretString::from("install-secret"));
        assert_eq!(
            a.cookie_value.expose_secret(),
            b.cookie_value.expose_secret()
        );
        assert_ne!(a.cookie_value.expose_secret(), "install-secret");
        let cookie = a.set_cookie().unwrap();
        let cookie = cookie.to_str().unwrap();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let auth = DashboardAuth::with_secret(&SecretString::from("s"));
        let mut headers = HeaderMap::new();
        let value = format!(
            "theme=dark; {}={}",
            auth.cookie_name,
            auth.cookie_value.expose_secret()
        );
        headers.insert(header::COOKIE, HeaderValue::from_str(&value).unwrap());
        assert!(auth.has_session(&headers));
        headers.insert(header::COOKIE, HeaderValue::from_static("theme=dark"));
        assert!(!auth.has_session(&headers));
    }
}
