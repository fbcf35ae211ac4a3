//! Contacts over the OpenAPI: `POST /v1.0/contact/users/search` for candidates, then the old-API user
//! detail (`/topapi/v2/user/get`) for name/title/unionId and `/topapi/v2/department/get` for the department
//! name. Contacts APIs are exempt from the monthly quota (§5), so detail lookups are affordable; results are
//! still cached (users in the store, departments in memory).

use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::directory::Directory;
use super::error::ContactsError;
use super::matching::{MatchKind, match_by_name};
use super::types::{GroupInfo, Lookup, LookupStatus, UserInfo};
use crate::dingtalk::openapi::{ApiRequest, OpenApiClient, OpenApiError};
use crate::store::DirectoryUser;
use crate::time::now_ms;

/// Search hits whose details are fetched (more than this is too vague a name anyway).
const MAX_CANDIDATES: u64 = 20;

#[derive(Deserialize)]
struct SearchAnswer {
    #[serde(default)]
    list: Vec<Value>,
}

#[derive(Deserialize)]
struct OldAnswer<T> {
    result: T,
}

#[derive(Deserialize)]
struct UserDetail {
    userid: String,
    #[serde(default)]
    unionid: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    dept_id_list: Vec<i64>,
}

#[derive(Deserialize)]
struct UserIdOnly {
    userid: String,
}

#[derive(Deserialize)]
struct Department {
    #[serde(default)]
    name: String,
}

#[derive(Clone)]
pub struct ContactsService {
    api: OpenApiClient,
    directory: Directory,
    departments: moka::future::Cache<i64, String>,
}

impl ContactsService {
    pub fn new(api: OpenApiClient, directory: Directory) -> Self {
        Self {
            api,
            directory,
            departments: moka::future::Cache::builder()
                .max_capacity(1_000)
                .time_to_live(Duration::from_secs(3600))
                .build(),
        }
    }

    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// Org members called `name`: unique, ambiguous (candidates, never a guess) or not found.
    pub async fn find_user(&self, name: &str) -> Result<Lookup<UserInfo>, ContactsError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(ContactsError::InvalidParams(
                "name must not be empty".into(),
            ));
        }
        let answer: SearchAnswer = self
            .api
            .call(
                ApiRequest::new_api(Method::POST, "/v1.0/contact/users/search").json(json!({
                    "queryWord": name,
                    "offset": 0,
                    "size": MAX_CANDIDATES,
                })),
            )
            .await?;
        let mut users = Vec::new();
        for id in answer.list {
            // userIds are strings, but tolerate numbers.
            let id = match id {
                Value::String(s) => s,
                other => other.to_string(),
            };
            match self.user_detail(&id).await {
                Ok(user) => users.push(user),
                // Left the org between search and detail: skip it.
                Err(ContactsError::Api(OpenApiError::NotFound(_))) => {}
                Err(err) => return Err(err),
            }
        }
        let lookup = match_by_name(name, &users, |u| u.name.as_str());
        Ok(match (lookup.status, users.len()) {
            // DingTalk also matches pinyin and English names we cannot see: its hits are fuzzy matches.
            (LookupStatus::NotFound, 1) => match users.pop() {
                Some(user) => Lookup::unique(name, MatchKind::Fuzzy, user),
                None => Lookup::not_found(name),
            },
            (LookupStatus::NotFound, 2..) => Lookup::ambiguous(name, MatchKind::Fuzzy, users),
            _ => lookup,
        })
    }

    /// The userId a send to `name` needs; ambiguity and absence are errors carrying the candidates.
    pub async fn resolve_user_id(&self, name: &str) -> Result<String, ContactsError> {
        let lookup = self.find_user(name).await?;
        unique_or_error(lookup, |u| {
            json!({"name": u.name, "user_id": u.user_id, "title": u.title, "department": u.department})
        })
        .map(|u| u.user_id)
    }

    /// Groups the robot has seen, matched by title.
    pub async fn find_group(&self, name: &str) -> Result<Lookup<GroupInfo>, ContactsError> {
        if name.trim().is_empty() {
            return Err(ContactsError::InvalidParams(
                "name must not be empty".into(),
            ));
        }
        Ok(self.directory.find_group(name.trim()).await?)
    }

    /// The openConversationId a group send to `name` needs.
    pub async fn resolve_open_conversation_id(&self, name: &str) -> Result<String, ContactsError> {
        let lookup = self.find_group(name).await?;
        unique_or_error(
            lookup,
            |g| json!({"title": g.title, "open_conversation_id": g.open_conversation_id}),
        )
        .map(|g| g.open_conversation_id)
    }

    /// User detail by userId (also remembered in the directory with its unionId).
    pub async fn user_detail(&self, user_id: &str) -> Result<UserInfo, ContactsError> {
        let answer: OldAnswer<UserDetail> = self
            .api
            .call(ApiRequest::old_api(
                "/topapi/v2/user/get",
                json!({"userid": user_id, "language": "zh_CN"}),
            ))
            .await?;
        let detail = answer.result;
        let department = match detail.dept_id_list.first() {
            Some(id) => self.department_name(*id).await,
            None => None,
        };
        let user = UserInfo {
            name: detail.name,
            user_id: detail.userid,
            union_id: detail.unionid,
            title: detail.title.filter(|t| !t.is_empty()),
            department,
            department_ids: detail.dept_id_list,
        };
        self.directory
            .store()
            .directory_upsert_user(DirectoryUser {
                user_id: user.user_id.clone(),
                name: user.name.clone(),
                union_id: Some(user.union_id.clone()).filter(|u| !u.is_empty()),
                title: user.title.clone(),
                department: user.department.clone(),
                last_seen_ms: now_ms(),
            })
            .await?;
        Ok(user)
    }

    /// A department's name; `None` when it cannot be read (missing permission is not worth failing for).
    async fn department_name(&self, id: i64) -> Option<String> {
        if let Some(name) = self.departments.get(&id).await {
            return Some(name);
        }
        let answer: Result<OldAnswer<Department>, _> = self
            .api
            .call(ApiRequest::old_api(
                "/topapi/v2/department/get",
                json!({"dept_id": id, "language": "zh_CN"}),
            ))
            .await;
        match answer {
            Ok(answer) => {
                self.departments
                    .insert(id, answer.result.name.clone())
                    .await;
                Some(answer.result.name)
            }
            Err(err) => {
                tracing::debug!(
                    dept_id = id,
                    code = err.code(),
                    "department name unavailable"
                );
                None
            }
        }
    }

    /// userId of the member with this mobile number.
    pub async fn user_id_by_mobile(&self, mobile: &str) -> Result<String, ContactsError> {
        let answer: OldAnswer<UserIdOnly> = self
            .api
            .call(ApiRequest::old_api(
                "/topapi/v2/user/getbymobile",
                json!({"mobile": mobile}),
            ))
            .await?;
        Ok(answer.result.userid)
    }

    /// unionId of a userId: from the directory when known, else from the user detail.
    pub async fn union_id_of(&self, user_id: &str) -> Result<String, ContactsError> {
        if let Some(user) = self.directory.store().directory_user(user_id).await?
            && let Some(union_id) = user.union_id.filter(|u| !u.is_empty())
        {
            return Ok(union_id);
        }
        let user = self.user_detail(user_id).await?;
        if user.union_id.is_empty() {
            return Err(ContactsError::NotFound {
                query: user_id.to_owned(),
            });
        }
        Ok(user.union_id)
    }

    /// Display name of a unionId (directory first, then `getbyunionid` + detail).
    pub async fn name_of_union_id(&self, union_id: &str) -> Result<String, ContactsError> {
        if let Some(user) = self
            .directory
            .store()
            .directory_user_by_union_id(union_id)
            .await?
        {
            return Ok(user.name);
        }
        let answer: OldAnswer<UserIdOnly> = self
            .api
            .call(ApiRequest::old_api(
                "/topapi/user/getbyunionid",
                json!({"unionid": union_id}),
            ))
            .await?;
        Ok(self.user_detail(&answer.result.userid).await?.name)
    }
}

fn unique_or_error<T>(
    lookup: Lookup<T>,
    summary: impl Fn(&T) -> Value,
) -> Result<T, ContactsError> {
    match lookup.status {
        LookupStatus::Unique => lookup.found.ok_or(ContactsError::NotFound {
            query: lookup.query,
        }),
        LookupStatus::Ambiguous => Err(ContactsError::Ambiguous {
            count: lookup.candidates.len(),
            candidates: Value::Array(lookup.candidates.iter().map(summary).collect()),
            query: lookup.query,
        }),
        LookupStatus::NotFound => Err(ContactsError::NotFound {
            query: lookup.query,
        }),
    }
}
