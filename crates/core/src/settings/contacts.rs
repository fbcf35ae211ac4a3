//! People and groups the bridge has seen, for the access allow-list pickers (`known_contacts`).
//! Bounded: the pick lists show the most recently active first, at most [`LIMIT`] of each.

use serde::{Deserialize, Serialize};

use super::error::SettingsError;
use crate::store::Store;

pub const LIMIT: usize = 500;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KnownContacts {
    pub users: Vec<KnownUser>,
    pub groups: Vec<KnownGroup>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KnownUser {
    pub staff_id: String,
    pub name: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KnownGroup {
    pub conversation_id: String,
    pub title: String,
}

pub async fn known_contacts(store: &Store) -> Result<KnownContacts, SettingsError> {
    let internal = |err: crate::store::StoreError| SettingsError::Internal(err.to_string());
    let users = store.directory_users(LIMIT).await.map_err(internal)?;
    let groups = store.directory_groups().await.map_err(internal)?;
    Ok(KnownContacts {
        users: users
            .into_iter()
            .map(|user| KnownUser {
                staff_id: user.user_id,
                name: user.name,
            })
            .collect(),
        groups: groups
            .into_iter()
            .take(LIMIT)
            .map(|group| KnownGroup {
                conversation_id: group.conversation_id,
                title: group.title,
            })
            .collect(),
    })
}
