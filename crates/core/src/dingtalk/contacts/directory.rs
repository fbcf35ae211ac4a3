//! The directory learned from inbound bot messages: group conversations with their titles and the members
//! seen speaking, users with their userIds. Persisted in the store so it survives restarts.

use crate::dingtalk::BotMessage;
use crate::store::{DirectoryGroup, DirectorySighting, Store, StoreError};

use super::matching::match_by_name;
use super::types::{GroupInfo, Lookup, MemberSeen};

#[derive(Clone)]
pub struct Directory {
    store: Store,
}

impl Directory {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Learns from one inbound message (call for every accepted message).
    pub async fn observe(&self, message: &BotMessage) -> Result<(), StoreError> {
        self.store
            .directory_observe(DirectorySighting::from_message(message))
            .await
    }

    pub async fn groups(&self) -> Result<Vec<GroupInfo>, StoreError> {
        Ok(self
            .store
            .directory_groups()
            .await?
            .into_iter()
            .map(group_info)
            .collect())
    }

    pub async fn find_group(&self, name: &str) -> Result<Lookup<GroupInfo>, StoreError> {
        let groups = self.groups().await?;
        Ok(match_by_name(name, &groups, |g| g.title.as_str()))
    }
}

fn group_info(group: DirectoryGroup) -> GroupInfo {
    GroupInfo {
        open_conversation_id: group.conversation_id,
        title: group.title,
        last_seen_ms: group.last_seen_ms,
        members_seen: group
            .members_seen
            .into_iter()
            .map(|m| MemberSeen {
                user_id: m.user_id,
                nick: m.nick,
            })
            .collect(),
    }
}
