//! Contacts (protocol doc §5): `POST /v1.0/contact/users/search` (new API) and the old-API user detail,
//! lookup by mobile / unionId and department detail under `/topapi/...?access_token=`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::auth::{check_new_api, check_old_api};
use crate::api_error::{new_api_error, old_api_error};
use crate::ids;
use crate::state::SimState;

/// Old-API "no such user" (D-USERGET error table).
pub const ERR_NO_USER: i64 = 60121;
/// Old-API "no such department".
pub const ERR_NO_DEPT: i64 = 60003;
/// `users/search` page size limit.
const MAX_SEARCH_SIZE: u64 = 100;

/// One member of the simulated org.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SimUser {
    pub user_id: String,
    pub union_id: String,
    pub name: String,
    pub title: String,
    pub dept_id: i64,
    pub mobile: String,
}

impl SimUser {
    /// A user whose unionId is derived from the userId (stable across runs).
    pub fn new(user_id: &str, name: &str, title: &str, dept_id: i64, mobile: &str) -> Self {
        Self {
            user_id: user_id.to_owned(),
            union_id: format!(
                "{}iE",
                &ids::hex(&ids::stable_bytes(&format!("union:{user_id}")))[..22]
            ),
            name: name.to_owned(),
            title: title.to_owned(),
            dept_id,
            mobile: mobile.to_owned(),
        }
    }
}

/// Users (in insertion order, like a directory listing) and departments.
#[derive(Default)]
pub struct Directory {
    users: Vec<SimUser>,
    departments: BTreeMap<i64, String>,
}

impl Directory {
    /// Adds or replaces (by userId) a user.
    pub fn insert(&mut self, user: SimUser) {
        self.users.retain(|u| u.user_id != user.user_id);
        self.users.push(user);
    }

    pub fn add_department(&mut self, id: i64, name: &str) {
        self.departments.insert(id, name.to_owned());
    }

    pub fn by_user_id(&self, user_id: &str) -> Option<&SimUser> {
        self.users.iter().find(|u| u.user_id == user_id)
    }

    pub fn by_union_id(&self, union_id: &str) -> Option<&SimUser> {
        self.users.iter().find(|u| u.union_id == union_id)
    }

    fn search(&self, word: &str, exact: bool) -> Vec<String> {
        let word = word.trim().to_lowercase();
        self.users
            .iter()
            .filter(|u| {
                let name = u.name.to_lowercase();
                if exact {
                    name == word
                } else {
                    name.contains(&word)
                }
            })
            .map(|u| u.user_id.clone())
            .collect()
    }
}

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/v1.0/contact/users/search", post(search_users))
        .route("/topapi/v2/user/get", post(user_get))
        .route("/topapi/v2/user/getbymobile", post(user_by_mobile))
        .route("/topapi/user/getbyunionid", post(user_by_union_id))
        .route("/topapi/v2/department/get", post(department_get))
}

fn bad_param(message: &str) -> Response {
    new_api_error(StatusCode::BAD_REQUEST, "InvalidParameter", message)
}

async fn search_users(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(denied) = check_new_api(&state, &headers) {
        return denied;
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(word) = v
        .get("queryWord")
        .and_then(Value::as_str)
        .filter(|w| !w.trim().is_empty())
    else {
        return bad_param("queryWord is required");
    };
    let offset = v.get("offset").and_then(Value::as_u64).unwrap_or(0);
    let size = v.get("size").and_then(Value::as_u64).unwrap_or(10);
    if size == 0 || size > MAX_SEARCH_SIZE {
        return bad_param("size must be between 1 and 100");
    }
    let exact = v.get("fullMatchField").and_then(Value::as_u64) == Some(1);
    let hits = state.lock().openapi.directory.search(word, exact);
    let total = hits.len() as u64;
    let page: Vec<String> = hits
        .into_iter()
        .skip(offset as usize)
        .take(size as usize)
        .collect();
    let has_more = offset + (page.len() as u64) < total;
    Json(json!({"hasMore": has_more, "totalCount": total, "list": page})).into_response()
}

fn ok_result(result: Value) -> Response {
    Json(json!({"errcode": 0, "errmsg": "ok", "result": result, "request_id": ids::request_id()}))
        .into_response()
}

fn old_api_guard(
    state: &SimState,
    query: &HashMap<String, String>,
    body: &Bytes,
) -> Result<Value, Response> {
    check_old_api(state, query.get("access_token").map(String::as_str))?;
    serde_json::from_slice(body).map_err(|_| old_api_error(StatusCode::OK, 40035, "缺少参数 json"))
}

async fn user_get(
    State(state): State<Arc<SimState>>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let v = match old_api_guard(&state, &query, &body) {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let user_id = v.get("userid").and_then(Value::as_str).unwrap_or_default();
    let inner = state.lock();
    let Some(user) = inner.openapi.directory.by_user_id(user_id) else {
        return old_api_error(StatusCode::OK, ERR_NO_USER, "找不到该用户");
    };
    ok_result(json!({
        "userid": user.user_id,
        "unionid": user.union_id,
        "name": user.name,
        "title": user.title,
        "dept_id_list": [user.dept_id],
        "active": true,
        "avatar": "",
    }))
}

async fn user_by_mobile(
    State(state): State<Arc<SimState>>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let v = match old_api_guard(&state, &query, &body) {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let mobile = v.get("mobile").and_then(Value::as_str).unwrap_or_default();
    let inner = state.lock();
    match inner
        .openapi
        .directory
        .users
        .iter()
        .find(|u| u.mobile == mobile)
    {
        Some(user) => ok_result(json!({"userid": user.user_id})),
        None => old_api_error(StatusCode::OK, ERR_NO_USER, "找不到该用户"),
    }
}

async fn user_by_union_id(
    State(state): State<Arc<SimState>>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let v = match old_api_guard(&state, &query, &body) {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let union_id = v.get("unionid").and_then(Value::as_str).unwrap_or_default();
    let inner = state.lock();
    match inner.openapi.directory.by_union_id(union_id) {
        Some(user) => ok_result(json!({"contact_type": 0, "userid": user.user_id})),
        None => old_api_error(StatusCode::OK, ERR_NO_USER, "找不到该用户"),
    }
}

async fn department_get(
    State(state): State<Arc<SimState>>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let v = match old_api_guard(&state, &query, &body) {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let dept_id = v.get("dept_id").and_then(Value::as_i64).unwrap_or(-1);
    let inner = state.lock();
    match inner.openapi.directory.departments.get(&dept_id) {
        Some(name) => ok_result(json!({"dept_id": dept_id, "name": name, "parent_id": 1})),
        None => old_api_error(StatusCode::OK, ERR_NO_DEPT, "部门不存在"),
    }
}
