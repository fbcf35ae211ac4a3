use serde::{Deserialize, Serialize};

use super::matching::MatchKind;

/// An org member as the tools show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub name: String,
    /// What send APIs (`userIds`) take.
    pub user_id: String,
    /// What Docs APIs take as `operatorId`.
    pub union_id: String,
    pub title: Option<String>,
    /// Name of the first department, when it could be read.
    pub department: Option<String>,
    pub department_ids: Vec<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberSeen {
    pub user_id: Option<String>,
    pub nick: String,
}

/// A group the robot has seen messages from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupInfo {
    /// The group's conversationId, which group sends take as `openConversationId`.
    pub open_conversation_id: String,
    pub title: String,
    pub members_seen: Vec<MemberSeen>,
    pub last_seen_ms: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LookupStatus {
    Unique,
    Ambiguous,
    NotFound,
}

/// Result of a name lookup: one match, several candidates (never a guess among them), or none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lookup<T> {
    pub status: LookupStatus,
    pub query: String,
    /// How the name matched (exact, prefix, fuzzy); absent when nothing matched.
    pub matched_by: Option<MatchKind>,
    /// Set when `status` is `unique`.
    pub found: Option<T>,
    /// Set when `status` is `ambiguous`.
    pub candidates: Vec<T>,
}

impl<T> Lookup<T> {
    pub fn unique(query: &str, matched_by: MatchKind, item: T) -> Self {
        Self {
            status: LookupStatus::Unique,
            query: query.to_owned(),
            matched_by: Some(matched_by),
            found: Some(item),
            candidates: Vec::new(),
        }
    }

    pub fn ambiguous(query: &str, matched_by: MatchKind, candidates: Vec<T>) -> Self {
        Self {
            status: LookupStatus::Ambiguous,
            query: query.to_owned(),
            matched_by: Some(matched_by),
            found: None,
            candidates,
        }
    }

    pub fn not_found(query: &str) -> Self {
        Self {
            status: LookupStatus::NotFound,
            query: query.to_owned(),
            matched_by: None,
            found: None,
            candidates: Vec::new(),
        }
    }

    pub fn map<U>(self, f: impl Fn(T) -> U) -> Lookup<U> {
        Lookup {
            status: self.status,
            query: self.query,
            matched_by: self.matched_by,
            found: self.found.map(&f),
            candidates: self.candidates.into_iter().map(f).collect(),
        }
    }
}
