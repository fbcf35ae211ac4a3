//! Which project a conversation works in. The binding lives in SQLite (`settings_kv`, key
//! `conversation_project:<id>`) so it survives restarts; a binding to a project that was removed from the
//! settings falls back to the default project (the first one) instead of failing the chat.

use std::path::PathBuf;

use serde::Serialize;

use crate::store::{Store, StoreError};

/// One `[[agent.projects]]` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Project {
    pub name: String,
    pub path: PathBuf,
}

/// A project as `/project` lists it for one conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectChoice {
    pub project: Project,
    pub current: bool,
}

const KEY_PREFIX: &str = "conversation_project:";

fn key(conversation_id: &str) -> String {
    format!("{KEY_PREFIX}{conversation_id}")
}

/// The conversation's project: its stored binding if that project still exists, else the first.
pub async fn bound<'a>(
    store: &Store,
    projects: &'a [Project],
    conversation_id: &str,
) -> Result<Option<&'a Project>, StoreError> {
    let stored = store.setting_get(&key(conversation_id)).await?;
    let found = stored.and_then(|name| projects.iter().find(|p| p.name == name));
    Ok(found.or_else(|| projects.first()))
}

pub async fn bind(store: &Store, conversation_id: &str, project: &str) -> Result<(), StoreError> {
    store.setting_set(&key(conversation_id), project).await
}

/// The configured projects; none configured: `opencode_directory` (else the working directory) as the
/// one project, named after its folder.
pub fn from_settings(settings: &crate::config::AgentSettings) -> Vec<Project> {
    if !settings.projects.is_empty() {
        return settings
            .projects
            .iter()
            .map(|p| Project {
                name: p.name.trim().to_owned(),
                path: PathBuf::from(p.path.trim()),
            })
            .collect();
    }
    let path = settings
        .opencode_directory
        .as_deref()
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok());
    path.map(|path| Project {
        name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".to_owned()),
        path,
    })
    .into_iter()
    .collect()
}
