//! DingTalk's two error shapes (protocol doc §4.3): the new API
//! (`api.dingtalk.com`) answers non-2xx with `{code, message, requestid}`;
//! the old API family (`oapi`, incl. sessionWebhook) uses `{errcode, errmsg}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::ids;

/// New-API error answer.
pub fn new_api_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "code": code, "message": message, "requestid": ids::request_id() })),
    )
        .into_response()
}

/// Old-API error answer (`errcode` 0 means success, so never pass 0 here).
pub fn old_api_error(status: StatusCode, errcode: i64, errmsg: &str) -> Response {
    (
        status,
        Json(json!({ "errcode": errcode, "errmsg": errmsg })),
    )
        .into_response()
}

/// A realistic new-API `code`/`message` for an HTTP status, used by injected
/// failures. Codes follow D-ERR / Alibaba gateway naming.
pub fn code_for_status(status: u16) -> (&'static str, &'static str) {
    match status {
        400 => ("InvalidParameter", "The request parameter is invalid."),
        401 => ("Unauthorized", "Authentication failed."),
        403 => (
            "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
            "The API call frequency exceeds the limit for this appkey.",
        ),
        404 => ("InvalidAction.NotFound", "Specified api is not found."),
        429 => ("Throttling", "Request was denied due to flow control."),
        500 => (
            "InternalError",
            "The request processing has failed due to some unknown error.",
        ),
        502 => ("BadGateway", "The upstream service answered with an error."),
        503 => (
            "ServiceUnavailable",
            "The request has failed due to a temporary failure of the server.",
        ),
        504 => ("GatewayTimeout", "The upstream service timed out."),
        _ => ("UnknownError", "The request processing has failed."),
    }
}
