//! Request checks in front of every MCP route (`/mcp`, `/sse`, `/messages`), in this order:
//! 1. `Host` must name loopback (DNS-rebinding defence) → else 403;
//! 2. an `Origin` header (browsers send one; MCP clients don't) must be allow-listed or the server's own
//!    origin → else 403;
//! 3. `Authorization: Bearer <token>` must match → else 401 with `WWW-Authenticate: Bearer`.
//!
//! rmcp's Streamable HTTP service re-checks Host; Origin is decided here alone (rmcp's list cannot name the
//! server's own origin before the port is bound).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::mcp::token::McpToken;

pub struct GuardState {
    pub token: Arc<McpToken>,
    /// Exact origins (`scheme://host[:port]`) allowed to call; empty = refuse every request carrying Origin.
    pub allowed_origins: Vec<String>,
}

/// JSON-RPC-shaped error body (id-less), as the spec suggests for transport-level refusals.
fn refuse(status: StatusCode, message: &str) -> Response {
    let body = json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": { "code": -32600, "message": message },
    });
    (status, axum::Json(body)).into_response()
}

pub async fn mcp_guard(
    State(state): State<Arc<GuardState>>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    if !host_is_loopback(headers) {
        return refuse(
            StatusCode::FORBIDDEN,
            "Forbidden: Host must name 127.0.0.1 or localhost",
        );
    }
    if let Some(origin) = headers.get(header::ORIGIN)
        && !origin_allowed(origin, &state.allowed_origins, headers)
    {
        return refuse(
            StatusCode::FORBIDDEN,
            "Forbidden: browser origins may not call DingBridge's MCP server",
        );
    }
    if !bearer_matches(headers, &state.token) {
        let mut response = refuse(
            StatusCode::UNAUTHORIZED,
            "Unauthorized: send `Authorization: Bearer <DingBridge MCP token>` (see DingBridge settings)",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"dingbridge\""),
        );
        return response;
    }
    next.run(request).await
}

/// Host check only (for `/health`, which is open but must not be readable through DNS rebinding).
pub async fn host_guard(request: Request, next: Next) -> Response {
    if host_is_loopback(request.headers()) {
        next.run(request).await
    } else {
        refuse(
            StatusCode::FORBIDDEN,
            "Forbidden: Host must name 127.0.0.1 or localhost",
        )
    }
}

fn bearer_matches(headers: &HeaderMap, token: &McpToken) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, presented)) = value.trim().split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer") && token.verify(presented.trim())
}

fn host_is_loopback(headers: &HeaderMap) -> bool {
    headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .is_some_and(is_loopback_host)
}

/// `127.0.0.1[:port]`, `localhost[:port]`, `[::1][:port]`.
pub fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((inner, tail)) if tail.is_empty() || is_port_suffix(tail) => {
                return inner == "::1";
            }
            _ => return false,
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if is_port_suffix(&format!(":{port}")) => name,
            Some(_) => return false,
            None => host,
        }
    };
    name == "127.0.0.1" || name.eq_ignore_ascii_case("localhost")
}

fn is_port_suffix(tail: &str) -> bool {
    tail.strip_prefix(':')
        .is_some_and(|port| !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()))
}

/// Allow-listed origins, plus the server's own origin (`http://<Host>`, Host already known to be loopback):
/// that is what a same-origin request would carry, and DingBridge serves no pages there.
fn origin_allowed(origin: &HeaderValue, allowed: &[String], headers: &HeaderMap) -> bool {
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let own = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .is_some_and(|host| origin.eq_ignore_ascii_case(&format!("http://{host}")));
    own || allowed
        .iter()
        .any(|entry| entry.eq_ignore_ascii_case(origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_with_or_without_ports_are_accepted() {
        for host in [
            "127.0.0.1",
            "127.0.0.1:8766",
            "localhost",
            "LOCALHOST:1",
            "[::1]",
            "[::1]:8766",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn other_hosts_and_lookalikes_are_refused() {
        for host in [
            "evil.example",
            "evil.example:8766",
            "127.0.0.1.evil.example",
            "localhost.evil:80",
            "0.0.0.0:8766",
            "192.168.1.2:8766",
            "[::2]:1",
            "127.0.0.1:",
            "127.0.0.1:x",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn origins_must_be_listed_exactly_or_be_the_servers_own() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8766"));
        let allowed = vec!["http://localhost:5173".to_owned()];
        let check = |origin: &'static str, allowed: &[String]| {
            origin_allowed(&HeaderValue::from_static(origin), allowed, &headers)
        };
        assert!(check("http://localhost:5173", &allowed));
        assert!(!check("http://localhost:5174", &allowed));
        assert!(!check("https://evil.example", &[]));
        assert!(check("http://127.0.0.1:8766", &[]));
        assert!(!check("http://127.0.0.1:3000", &[]));
        assert!(!check("https://127.0.0.1:8766", &[]));
    }
}
