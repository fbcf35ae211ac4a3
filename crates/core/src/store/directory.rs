//! The contacts directory learned from inbound messages (groups with their titles and the members seen
//! speaking in them, users with their ids) plus a small key/value table for resolved settings (e.g. the
//! Docs operator's unionId). Writes are rare, so they use a dedicated connection instead of the inbox
//! group-commit writer.

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::{Store, StoreError};

/// One inbound message's worth of directory facts.
#[derive(Clone, Debug)]
pub struct DirectorySighting {
    pub conversation_id: String,
    /// Set for group conversations only (1:1 conversations are not groups to search).
    pub group_title: Option<String>,
    /// The sender's userId (empty for external users).
    pub user_id: Option<String>,
    /// Fallback member key when there is no userId (the encrypted senderId).
    pub sender_key: Option<String>,
    pub nick: String,
    pub at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryMember {
    pub user_id: Option<String>,
    pub nick: String,
    pub last_seen_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryGroup {
    /// The group's conversationId = the `openConversationId` of group sends.
    pub conversation_id: String,
    pub title: String,
    pub last_seen_ms: i64,
    pub members_seen: Vec<DirectoryMember>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryUser {
    pub user_id: String,
    pub name: String,
    pub union_id: Option<String>,
    pub title: Option<String>,
    pub department: Option<String>,
    pub last_seen_ms: i64,
}

impl Store {
    /// Records who spoke where (and the group's current title).
    pub async fn directory_observe(&self, sighting: DirectorySighting) -> Result<(), StoreError> {
        self.misc_write(move |conn| observe(conn, &sighting)).await
    }

    /// Inserts or updates a user; a `None` field keeps what was known.
    pub async fn directory_upsert_user(&self, user: DirectoryUser) -> Result<(), StoreError> {
        self.misc_write(move |conn| {
            conn.execute(
                "INSERT INTO directory_users (user_id, name, union_id, title, department, last_seen_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(user_id) DO UPDATE SET
                   name = excluded.name,
                   union_id = COALESCE(excluded.union_id, union_id),
                   title = COALESCE(excluded.title, title),
                   department = COALESCE(excluded.department, department),
                   last_seen_ms = MAX(last_seen_ms, excluded.last_seen_ms)",
                params![
                    user.user_id,
                    user.name,
                    user.union_id,
                    user.title,
                    user.department,
                    user.last_seen_ms
                ],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn directory_user(&self, user_id: &str) -> Result<Option<DirectoryUser>, StoreError> {
        let user_id = user_id.to_owned();
        self.read(move |conn| user_where(conn, "user_id = ?1", &user_id))
            .await
    }

    pub async fn directory_user_by_union_id(
        &self,
        union_id: &str,
    ) -> Result<Option<DirectoryUser>, StoreError> {
        let union_id = union_id.to_owned();
        self.read(move |conn| user_where(conn, "union_id = ?1", &union_id))
            .await
    }

    /// The users seen, most recently active first, at most `limit` (the settings window's pick list).
    pub async fn directory_users(&self, limit: usize) -> Result<Vec<DirectoryUser>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT user_id, name, union_id, title, department, last_seen_ms FROM directory_users
                 ORDER BY last_seen_ms DESC LIMIT ?1",
            )?;
            let users = stmt
                .query_map(params![limit], |row| {
                    Ok(DirectoryUser {
                        user_id: row.get(0)?,
                        name: row.get(1)?,
                        union_id: row.get(2)?,
                        title: row.get(3)?,
                        department: row.get(4)?,
                        last_seen_ms: row.get(5)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(users)
        })
        .await
    }

    /// Every known group with the members seen in it, most recently active first.
    pub async fn directory_groups(&self) -> Result<Vec<DirectoryGroup>, StoreError> {
        self.read(groups).await
    }

    pub async fn setting_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let key = key.to_owned();
        self.read(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT value FROM settings_kv WHERE key = ?1",
                    params![key],
                    |row| row.get(0),
                )
                .optional()?)
        })
        .await
    }

    pub async fn setting_set(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.misc_write(move |conn| {
            conn.execute(
                "INSERT INTO settings_kv (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(())
        })
        .await
    }

    pub(crate) async fn misc_write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.misc.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().map_err(|_| StoreError::Poisoned)?;
            f(&mut conn)
        })
        .await
        .map_err(|_| StoreError::WriterGone)?
    }
}

impl DirectorySighting {
    /// What one inbound message teaches the directory.
    pub fn from_message(message: &crate::dingtalk::BotMessage) -> Self {
        Self {
            conversation_id: message.conversation_id.clone(),
            group_title: match message.conversation_kind {
                crate::dingtalk::ConversationKind::Group => message.conversation_title.clone(),
                crate::dingtalk::ConversationKind::Single => None,
            },
            user_id: message.sender_staff_id.clone(),
            sender_key: message.sender_id.clone(),
            nick: message.sender_nick.clone(),
            at_ms: if message.create_at_ms > 0 {
                message.create_at_ms
            } else {
                crate::time::now_ms()
            },
        }
    }
}

fn observe(conn: &mut Connection, s: &DirectorySighting) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    record_sighting(&tx, s)?;
    tx.commit()?;
    Ok(())
}

/// Records a sighting inside the caller's transaction (the inbox writer does this in the same commit as the
/// message itself, so learning the directory costs no extra fsync).
pub(super) fn record_sighting(
    tx: &rusqlite::Connection,
    s: &DirectorySighting,
) -> Result<(), StoreError> {
    if let Some(title) = s.group_title.as_deref().filter(|t| !t.is_empty()) {
        tx.prepare_cached(
            "INSERT INTO directory_groups (conversation_id, title, first_seen_ms, last_seen_ms)
             VALUES (?1, ?2, ?3, ?3)
             ON CONFLICT(conversation_id) DO UPDATE SET
               title = excluded.title, last_seen_ms = MAX(last_seen_ms, excluded.last_seen_ms)",
        )?
        .execute(params![s.conversation_id, title, s.at_ms])?;
        let key = s
            .user_id
            .clone()
            .or_else(|| s.sender_key.clone())
            .unwrap_or_else(|| format!("nick:{}", s.nick));
        tx.prepare_cached("INSERT INTO directory_group_members (conversation_id, member_key, user_id, nick, last_seen_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(conversation_id, member_key) DO UPDATE SET
               nick = excluded.nick, last_seen_ms = MAX(last_seen_ms, excluded.last_seen_ms)")?.execute(
            params![s.conversation_id, key, s.user_id, s.nick, s.at_ms],
        )?;
    }
    if let Some(user_id) = s.user_id.as_deref().filter(|u| !u.is_empty()) {
        tx.prepare_cached("INSERT INTO directory_users (user_id, name, last_seen_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT(user_id) DO UPDATE SET last_seen_ms = MAX(last_seen_ms, excluded.last_seen_ms)")?.execute(
            params![user_id, s.nick, s.at_ms],
        )?;
    }
    Ok(())
}

fn user_where(
    conn: &Connection,
    condition: &str,
    value: &str,
) -> Result<Option<DirectoryUser>, StoreError> {
    let sql = format!(
        "SELECT user_id, name, union_id, title, department, last_seen_ms FROM directory_users WHERE {condition}"
    );
    Ok(conn
        .query_row(&sql, params![value], |row| {
            Ok(DirectoryUser {
                user_id: row.get(0)?,
                name: row.get(1)?,
                union_id: row.get(2)?,
                title: row.get(3)?,
                department: row.get(4)?,
                last_seen_ms: row.get(5)?,
            })
        })
        .optional()?)
}

fn groups(conn: &Connection) -> Result<Vec<DirectoryGroup>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT conversation_id, title, last_seen_ms FROM directory_groups ORDER BY last_seen_ms DESC",
    )?;
    let mut out = stmt
        .query_map([], |row| {
            Ok(DirectoryGroup {
                conversation_id: row.get(0)?,
                title: row.get(1)?,
                last_seen_ms: row.get(2)?,
                members_seen: Vec::new(),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut members = conn.prepare(
        "SELECT user_id, nick, last_seen_ms FROM directory_group_members
         WHERE conversation_id = ?1 ORDER BY last_seen_ms DESC",
    )?;
    for group in &mut out {
        group.members_seen = members
            .query_map(params![group.conversation_id], |row| {
                Ok(DirectoryMember {
                    user_id: row.get(0)?,
                    nick: row.get(1)?,
                    last_seen_ms: row.get(2)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
    }
    Ok(out)
}
