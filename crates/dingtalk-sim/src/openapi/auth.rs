//! Access-token checks for the OpenAPI endpoints (protocol doc §4.1–§4.3) and the OpenAPI fault switches:
//! token-endpoint outages, throttling (403 `QpsLimit*` / errcode 90018), monthly quota
//! (`ApiCountLimitForOrg` / 90020) and the anti-DDoS IP ban (`{"status":1111,...}`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::api_error::{new_api_error, old_api_error};
use crate::state::SimState;

pub const TOKEN_PATH: &str = "/v1.0/oauth2/accessToken";
pub const TOKEN_HEADER: &str = "x-acs-dingtalk-access-token";

/// Armed OpenAPI faults and a few wire counters.
#[derive(Default)]
pub struct ApiFaults {
    /// The next N token requests answer 503.
    pub(crate) token_failures: u32,
    /// (path prefix, remaining): matching calls answer the QPS-limit error.
    pub(crate) throttles: Vec<(String, u32)>,
    /// The next N quota-counted calls (Docs; token and contacts are exempt, §4.4) answer quota exhausted.
    pub(crate) quota_exhausted: u32,
    /// The next N calls of any OpenAPI path answer the IP-ban body.
    pub(crate) ip_bans: u32,
    /// Every request that reached the token endpoint (including failed ones).
    pub(crate) token_requests: u64,
    /// Requests per path (query excluded), for tests asserting "no hammering".
    pub(crate) calls: HashMap<String, u64>,
}

/// Old API = `oapi` paths (`/topapi/...`, `/gettoken`, ...); new API = `/v1.0/`, `/v2.0/`.
pub fn is_new_api(path: &str) -> bool {
    path.starts_with("/v1.0/") || path.starts_with("/v2.0/")
}

fn quota_counted(path: &str) -> bool {
    // Token, SSO and contacts APIs are exempt from the monthly quota (§4.4, §5).
    is_new_api(path) && path != TOKEN_PATH && !path.starts_with("/v1.0/contact/")
}

/// Fault middleware over the OpenAPI routes (the stream gateway and sessionWebhook are not touched).
pub async fn middleware(State(state): State<Arc<SimState>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if !(is_new_api(&path) || path.starts_with("/topapi/")) || path.starts_with("/v1.0/gateway/") {
        return next.run(req).await;
    }
    if let Some(answer) = injected(&state, &path) {
        return answer;
    }
    next.run(req).await
}

fn injected(state: &SimState, path: &str) -> Option<Response> {
    let mut inner = state.lock();
    let faults = &mut inner.openapi.faults;
    *faults.calls.entry(path.to_owned()).or_default() += 1;
    if path == TOKEN_PATH {
        faults.token_requests += 1;
    }
    if faults.ip_bans > 0 {
        faults.ip_bans -= 1;
        // D-FREQ/D-THROTTLE give only the body; the status is not documented. 403 keeps a naive client from
        // mistaking it for success; clients must recognise it by `status: 1111`, not by the HTTP status.
        let body = json!({"status": 1111, "wait": 5, "source": "x5", "punish": "deny",
                          "uuid": uuid::Uuid::new_v4().to_string()});
        return Some((StatusCode::FORBIDDEN, Json(body)).into_response());
    }
    if path == TOKEN_PATH {
        if faults.token_failures > 0 {
            faults.token_failures -= 1;
            return Some(new_api_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "The request has failed due to a temporary failure of the server.",
            ));
        }
        return None;
    }
    if let Some(slot) = faults
        .throttles
        .iter_mut()
        .find(|(prefix, left)| *left > 0 && path.starts_with(prefix.as_str()))
    {
        slot.1 -= 1;
        return Some(if is_new_api(path) {
            new_api_error(
                StatusCode::FORBIDDEN,
                "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
                "The API call frequency exceeds the limit for this appkey.",
            )
        } else {
            old_api_error(
                StatusCode::OK,
                90018,
                "禁止调用，当前应用调用该接口的频率已超过限制",
            )
        });
    }
    if faults.quota_exhausted > 0 && quota_counted(path) {
        faults.quota_exhausted -= 1;
        return Some(new_api_error(
            StatusCode::FORBIDDEN,
            "Forbidden.AccessDenied.ApiCountLimitForOrg",
            "The API call count of this organization exceeds the monthly limit.",
        ));
    }
    None
}

/// New-API token check: the token must come in the header (§4.1: query/Bearer are rejected).
pub fn check_new_api(state: &SimState, headers: &HeaderMap) -> Result<(), Response> {
    let token = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok());
    match token {
        None | Some("") => Err(new_api_error(
            StatusCode::BAD_REQUEST,
            "AuthenticationFailed.MissingParameter",
            "缺少参数 x-acs-dingtalk-access-token",
        )),
        Some(token) if state.validate_token(token) => Ok(()),
        Some(_) => Err(new_api_error(
            StatusCode::BAD_REQUEST,
            "InvalidAuthentication",
            "不合法的access_token",
        )),
    }
}

/// Old-API token check: `?access_token=`; failures are HTTP 200 + errcode 40014 (§4.3).
pub fn check_old_api(state: &SimState, token: Option<&str>) -> Result<(), Response> {
    match token {
        Some(token) if state.validate_token(token) => Ok(()),
        _ => Err(old_api_error(StatusCode::OK, 40014, "不合法的access_token")),
    }
}
