//! Writing a resolved change into the settings file.
//!
//! Invariant: only the keys the change names are touched (with the resolved, normalised value), so a save
//! from the settings window never rewrites settings the user did not edit, and never a secret: secrets are
//! [`super::types::SecretAction`]s and go to the secret store, not through here.

use super::types::SettingsChange;
use crate::config::{Config, ConfigError, SettingsFile, string_array};

pub fn write_change(
    change: &SettingsChange,
    resolved: &Config,
    file: &mut SettingsFile,
) -> Result<(), ConfigError> {
    if let Some(dingtalk) = &change.dingtalk {
        if dingtalk.client_id.is_some() {
            file.set_or_remove("dingtalk.client_id", resolved.dingtalk.client_id.as_deref())?;
        }
        if dingtalk.robot_code.is_some() {
            file.set_or_remove(
                "dingtalk.robot_code",
                resolved.dingtalk.robot_code.as_deref(),
            )?;
        }
        if dingtalk.card_template_id.is_some() {
            file.set("cards.template_id", resolved.cards.template_id.as_str())?;
        }
        if dingtalk.api_base.is_some() {
            file.set("dingtalk.api_base", resolved.dingtalk.api_base.as_str())?;
        }
        if dingtalk.oapi_base.is_some() {
            file.set("dingtalk.oapi_base", resolved.dingtalk.oapi_base.as_str())?;
        }
    }
    if let Some(access) = &change.access {
        if access.allowed_staff_ids.is_some() {
            file.set(
                "access.allowed_staff_ids",
                string_array(resolved.access.allowed_staff_ids.iter().cloned()),
            )?;
        }
        if access.allowed_groups.is_some() {
            file.set(
                "access.allowed_groups",
                string_array(resolved.access.allowed_groups.iter().cloned()),
            )?;
        }
    }
    if let Some(agent) = &change.agent {
        if agent.opencode_url.is_some() {
            file.set("agent.opencode_url", resolved.agent.opencode_url.as_str())?;
        }
        if agent.opencode_directory.is_some() {
            file.set_or_remove(
                "agent.opencode_directory",
                resolved.agent.opencode_directory.as_deref(),
            )?;
        }
        if agent.opencode_bin.is_some() {
            file.set_or_remove("agent.opencode_bin", resolved.agent.opencode_bin.as_deref())?;
        }
        if agent.idle_stop_minutes.is_some() {
            let minutes = i64::try_from(resolved.agent.idle_stop_minutes).unwrap_or(i64::MAX);
            file.set("agent.idle_stop_minutes", minutes)?;
        }
        if agent.projects.is_some() {
            // An inline array of inline tables: the same `[[agent.projects]]` data in one line.
            let mut list = toml_edit::Array::new();
            for project in &resolved.agent.projects {
                let mut table = toml_edit::InlineTable::new();
                table.insert("name", project.name.as_str().into());
                table.insert("path", project.path.as_str().into());
                list.push(toml_edit::Value::InlineTable(table));
            }
            file.set("agent.projects", toml_edit::Value::Array(list))?;
        }
    }
    if let Some(bridge) = &change.bridge {
        if bridge.language.is_some() {
            file.set("bridge.language", resolved.bridge.language.tag())?;
        }
        if bridge.attachment_max_mb.is_some() {
            file.set(
                "bridge.attachment_max_mb",
                to_toml_int(resolved.bridge.attachment_max_mb),
            )?;
        }
        if bridge.attachment_retention_hours.is_some() {
            file.set(
                "bridge.attachment_retention_hours",
                to_toml_int(resolved.bridge.attachment_retention_hours),
            )?;
        }
    }
    if change.mcp.as_ref().is_some_and(|m| m.language.is_some()) {
        file.set("mcp.language", resolved.mcp.language.tag())?;
    }
    if let Some(mcp) = &change.mcp {
        if mcp.enabled.is_some() {
            file.set("mcp.enabled", resolved.mcp.enabled)?;
        }
        if mcp.port.is_some() {
            file.set("mcp.port", i64::from(resolved.mcp.port))?;
        }
    }
    if let Some(docs) = &change.docs {
        if docs.operator_user_id.is_some() {
            file.set_or_remove(
                "docs.operator_user_id",
                resolved.docs.operator_user_id.as_deref(),
            )?;
        }
        if docs.operator_mobile.is_some() {
            file.set_or_remove(
                "docs.operator_mobile",
                resolved.docs.operator_mobile.as_deref(),
            )?;
        }
    }
    if let Some(pacing) = &change.pacing {
        if pacing.per_conversation.is_some() {
            file.set(
                "pacing.per_conversation",
                i64::from(resolved.pacing.per_conversation),
            )?;
        }
        if pacing.app_per_second.is_some() {
            file.set(
                "pacing.app_per_second",
                i64::from(resolved.pacing.app_per_second),
            )?;
        }
    }
    if let Some(quota) = &change.quota {
        if quota.stream_budget.is_some() {
            file.set(
                "quota.stream_budget",
                to_toml_int(resolved.quota.stream_budget),
            )?;
        }
        if quota.api_budget.is_some() {
            file.set("quota.api_budget", to_toml_int(resolved.quota.api_budget))?;
        }
    }
    if change.ui.as_ref().is_some_and(|ui| ui.language.is_some()) {
        file.set_or_remove("ui.language", resolved.ui.language.as_deref())?;
    }
    Ok(())
}

/// TOML integers are i64; budgets and bridge limits came in as positive i64, so this never saturates in practice.
fn to_toml_int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_projects_and_managed_settings_read_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().display().to_string();
        let change: SettingsChange = serde_json::from_value(serde_json::json!({"agent": {
            "opencode_url": "",
            "opencode_bin": "/opt/opencode/bin/opencode",
            "idle_stop_minutes": 5,
            "projects": [{"name": "a", "path": path}, {"name": "b", "path": path}],
        }}))
        .unwrap();
        let resolved = super::super::resolve::resolve(&change, &Config::default()).unwrap();
        let mut file = SettingsFile::parse("# mine\n", &dir.path().join("settings.toml")).unwrap();
        write_change(&change, &resolved, &mut file).unwrap();
        let saved = file.to_config().unwrap();
        assert!(saved.agent.is_managed());
        assert_eq!(
            saved.agent.opencode_bin.as_deref(),
            Some("/opt/opencode/bin/opencode")
        );
        assert_eq!(saved.agent.idle_stop_minutes, 5);
        let names: Vec<&str> = saved
            .agent
            .projects
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert!(file.text().contains("# mine"), "{}", file.text());
    }
}
