//! Merging a [`SettingsChange`] over the saved [`Config`], checking every field the settings window edits.
//!
//! Invariant: `resolve` either returns a configuration in which every edited field is valid, or *all* the
//! field errors at once (a form shows them together). Text is normalised on the way (trimmed; an empty
//! optional field means "not set"), so what is validated is exactly what is saved.

use std::path::Path;

use reqwest::Url;

use super::types::{FieldError, SecretAction, SettingsChange};
use crate::config::Config;
use crate::i18n::Lang;

/// DingTalk allows 20 messages per minute in one conversation (protocol notes, rate limits).
pub const MAX_PER_CONVERSATION: i64 = 20;
/// 20 QPS per app and API on standard orgs, 60 with the add-on (protocol notes, D-THROTTLE).
pub const MAX_APP_PER_SECOND: i64 = 60;
/// Ports below this need privileges; 0 means "any free port".
const FIRST_USER_PORT: i64 = 1024;

pub const LANGUAGES: [&str; 2] = ["en", "zh-CN"];
/// The largest file the bridge downloads for the agent, in MiB: a bound on disk use per message.
pub const MAX_ATTACHMENT_MB: i64 = 1024;

/// The merged configuration, or every field error.
pub fn resolve(change: &SettingsChange, base: &Config) -> Result<Config, Vec<FieldError>> {
    let mut config = base.clone();
    let mut errors = Errors::default();

    let dingtalk = change.dingtalk.as_ref();
    if let Some(id) = dingtalk.and_then(|d| d.client_id.as_ref()) {
        config.dingtalk.client_id = optional_text(id.as_deref());
    }
    if let Some(code) = dingtalk.and_then(|d| d.robot_code.as_ref()) {
        config.dingtalk.robot_code = optional_text(code.as_deref());
    }
    if let Some(template) = dingtalk.and_then(|d| d.card_template_id.as_ref()) {
        config.cards.template_id = template.trim().to_string();
    }
    if let Some(base) = dingtalk.and_then(|d| d.api_base.as_ref()) {
        config.dingtalk.api_base = base.trim().to_string();
    }
    if let Some(base) = dingtalk.and_then(|d| d.oapi_base.as_ref()) {
        config.dingtalk.oapi_base = base.trim().to_string();
    }
    errors.app_key("dingtalk.client_id", config.dingtalk.client_id.as_deref());
    errors.app_key("dingtalk.robot_code", config.dingtalk.robot_code.as_deref());
    errors.url("dingtalk.api_base", &config.dingtalk.api_base);
    errors.url("dingtalk.oapi_base", &config.dingtalk.oapi_base);
    errors.secret(
        "dingtalk.client_secret",
        dingtalk.and_then(|d| d.client_secret.as_ref()),
    );

    if let Some(access) = &change.access {
        if let Some(ids) = &access.allowed_staff_ids {
            config.access.allowed_staff_ids = trimmed_list(ids);
        }
        if let Some(groups) = &access.allowed_groups {
            config.access.allowed_groups = trimmed_list(groups);
        }
    }
    errors.list("access.allowed_staff_ids", &config.access.allowed_staff_ids);
    errors.list("access.allowed_groups", &config.access.allowed_groups);

    let agent = change.agent.as_ref();
    if let Some(url) = agent.and_then(|a| a.opencode_url.as_ref()) {
        config.agent.opencode_url = url.trim().to_string();
    }
    if let Some(dir) = agent.and_then(|a| a.opencode_directory.as_ref()) {
        config.agent.opencode_directory = optional_text(dir.as_deref());
    }
    if let Some(bin) = agent.and_then(|a| a.opencode_bin.as_ref()) {
        config.agent.opencode_bin = optional_text(bin.as_deref());
    }
    if let Some(minutes) = agent.and_then(|a| a.idle_stop_minutes) {
        config.agent.idle_stop_minutes = minutes;
    }
    if let Some(projects) = agent.and_then(|a| a.projects.as_ref()) {
        config.agent.projects = projects
            .iter()
            .map(|p| crate::config::ProjectSettings {
                name: p.name.trim().to_owned(),
                path: p.path.trim().to_owned(),
            })
            .collect();
    }
    // Empty: managed mode (DingBridge runs OpenCode itself); otherwise the address of your own server.
    if !config.agent.opencode_url.is_empty() {
        errors.url("agent.opencode_url", &config.agent.opencode_url);
    }
    errors.projects(&config.agent.projects);
    if config.agent.idle_stop_minutes > 10_080 {
        errors.push(
            "agent.idle_stop_minutes",
            "OUT_OF_RANGE",
            "0 (never) to 10080 (one week)",
        );
    }
    errors.directory(
        "agent.opencode_directory",
        config.agent.opencode_directory.as_deref(),
    );
    errors.secret(
        "agent.opencode_password",
        agent.and_then(|a| a.opencode_password.as_ref()),
    );

    if let Some(mcp) = &change.mcp {
        if let Some(enabled) = mcp.enabled {
            config.mcp.enabled = enabled;
        }
        if let Some(port) = mcp.port {
            match u16::try_from(port) {
                Ok(port) if port == 0 || i64::from(port) >= FIRST_USER_PORT => config.mcp.port = port,
                _ => errors.push(
                    "mcp.port",
                    "OUT_OF_RANGE",
                    format!("{port} is not a usable port: use {FIRST_USER_PORT}–65535, or 0 for any free port"),
                ),
            }
        }
    }
    if config.mcp.port != 0 && config.mcp.port == config.dashboard.port {
        errors.push(
            "mcp.port",
            "PORT_CONFLICT",
            format!("port {} is already the dashboard's port", config.mcp.port),
        );
    }

    if let Some(docs) = &change.docs {
        if let Some(user) = &docs.operator_user_id {
            config.docs.operator_user_id = optional_text(user.as_deref());
        }
        if let Some(mobile) = &docs.operator_mobile {
            config.docs.operator_mobile = optional_text(mobile.as_deref());
        }
    }
    errors.mobile(
        "docs.operator_mobile",
        config.docs.operator_mobile.as_deref(),
    );

    if let Some(pacing) = &change.pacing {
        if let Some(n) = pacing.per_conversation
            && let Some(n) = errors.range("pacing.per_conversation", n, 1, MAX_PER_CONVERSATION)
        {
            config.pacing.per_conversation = n;
        }
        if let Some(n) = pacing.app_per_second
            && let Some(n) = errors.range("pacing.app_per_second", n, 1, MAX_APP_PER_SECOND)
        {
            config.pacing.app_per_second = n;
        }
    }

    if let Some(quota) = &change.quota {
        if let Some(n) = quota.stream_budget
            && let Some(n) = errors.range("quota.stream_budget", n, 1, i64::MAX)
        {
            config.quota.stream_budget = n;
        }
        if let Some(n) = quota.api_budget
            && let Some(n) = errors.range("quota.api_budget", n, 1, i64::MAX)
        {
            config.quota.api_budget = n;
        }
    }

    if let Some(tag) = change.bridge.as_ref().and_then(|b| b.language.as_deref())
        && let Some(lang) = errors.language("bridge.language", tag)
    {
        config.bridge.language = lang;
    }
    if let Some(bridge) = &change.bridge {
        if let Some(n) = bridge.attachment_max_mb
            && let Some(n) = errors.range("bridge.attachment_max_mb", n, 1, MAX_ATTACHMENT_MB)
        {
            config.bridge.attachment_max_mb = n;
        }
        if let Some(n) = bridge.attachment_retention_hours
            && let Some(n) = errors.range("bridge.attachment_retention_hours", n, 1, 87_600)
        {
            config.bridge.attachment_retention_hours = n;
        }
    }
    if let Some(tag) = change.mcp.as_ref().and_then(|m| m.language.as_deref())
        && let Some(lang) = errors.language("mcp.language", tag)
    {
        config.mcp.language = lang;
    }

    if let Some(language) = change.ui.as_ref().and_then(|ui| ui.language.as_ref()) {
        config.ui.language = optional_text(language.as_deref());
    }
    if let Some(language) = config.ui.language.as_deref()
        && !LANGUAGES.contains(&language)
    {
        errors.push(
            "ui.language",
            "UNSUPPORTED",
            format!("\"{language}\" is not available: choose en or zh-CN, or follow the system"),
        );
    }

    if errors.0.is_empty() {
        Ok(config)
    } else {
        Err(errors.0)
    }
}

fn optional_text(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

fn trimmed_list(items: &[String]) -> Vec<String> {
    items.iter().map(|item| item.trim().to_string()).collect()
}

#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn push(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, code, message));
    }

    /// A language the bridge has a catalogue for, or `UNSUPPORTED` naming the choices.
    fn language(&mut self, field: &str, tag: &str) -> Option<Lang> {
        let lang = Lang::parse(tag);
        if lang.is_none() {
            self.push(
                field,
                "UNSUPPORTED",
                format!(
                    "\"{}\" is not available: choose {}",
                    tag.trim(),
                    Lang::choices()
                ),
            );
        }
        lang
    }

    /// AppKeys and robot codes are short ASCII tokens (`dingxxxxxxxxxxxxxxxx`); anything else is a paste error.
    fn app_key(&mut self, field: &str, value: Option<&str>) {
        let Some(value) = value else { return };
        let shaped = value.len() <= 64
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !shaped {
            self.push(
                field,
                "INVALID_FORMAT",
                "letters, digits, '-' and '_' only (copy it from the DingTalk developer console)",
            );
        }
    }

    fn url(&mut self, field: &str, value: &str) {
        match Url::parse(value) {
            Ok(url) if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() => {
                self.push(field, "INVALID_URL", "an http:// or https:// address is needed")
            }
            // A password in a URL would put a secret into the settings file.
            Ok(url) if !url.username().is_empty() || url.password().is_some() => self.push(
                field,
                "CREDENTIALS_IN_URL",
                "remove the user name and password from the address; passwords are stored separately",
            ),
            Ok(_) => {}
            Err(err) => self.push(field, "INVALID_URL", format!("not a valid address: {err}")),
        }
    }

    fn secret(&mut self, field: &str, action: Option<&SecretAction>) {
        if let Some(SecretAction::Set(value)) = action
            && secrecy::ExposeSecret::expose_secret(value)
                .trim()
                .is_empty()
        {
            self.push(field, "REQUIRED", "enter a value, or remove the stored one");
        }
    }

    fn list(&mut self, field: &str, items: &[String]) {
        if let Some(position) = items.iter().position(|item| item.is_empty()) {
            self.push(
                field,
                "EMPTY_ENTRY",
                format!("entry {} is empty", position.saturating_add(1)),
            );
        }
    }

    /// Names present and unique (chats switch by name); paths absolute existing directories.
    fn projects(&mut self, projects: &[crate::config::ProjectSettings]) {
        let mut seen = std::collections::HashSet::new();
        for (i, project) in projects.iter().enumerate() {
            let field = format!("agent.projects[{i}]");
            if project.name.is_empty() || project.name.split_whitespace().count() != 1 {
                self.push(
                    &field,
                    "INVALID_NAME",
                    "a project name is one word, e.g. backend",
                );
            } else if !seen.insert(project.name.as_str()) {
                self.push(&field, "DUPLICATE_NAME", "two projects have this name");
            }
            self.directory(&field, Some(project.path.as_str()));
        }
    }

    fn directory(&mut self, field: &str, value: Option<&str>) {
        let Some(value) = value else { return };
        let path = Path::new(value);
        if !path.is_absolute() {
            self.push(
                field,
                "NOT_ABSOLUTE",
                "use the full path of the project directory",
            );
        } else if !path.is_dir() {
            self.push(field, "NOT_FOUND", "this directory does not exist");
        }
    }

    fn mobile(&mut self, field: &str, value: Option<&str>) {
        let Some(value) = value else { return };
        let shaped = value
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' '))
            && value.chars().any(|c| c.is_ascii_digit());
        if !shaped {
            self.push(
                field,
                "INVALID_FORMAT",
                "a mobile number has digits only (and an optional +)",
            );
        }
    }

    /// `Some(n)` when `min <= n <= max` and `n` fits the target type.
    fn range<T: TryFrom<i64>>(&mut self, field: &str, n: i64, min: i64, max: i64) -> Option<T> {
        if (min..=max).contains(&n)
            && let Ok(value) = T::try_from(n)
        {
            return Some(value);
        }
        let message = if max == i64::MAX {
            format!("must be at least {min}")
        } else {
            format!("must be between {min} and {max}")
        };
        self.push(field, "OUT_OF_RANGE", message);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(json: &str) -> SettingsChange {
        serde_json::from_str(json).unwrap()
    }

    fn fields(result: Result<Config, Vec<FieldError>>) -> Vec<String> {
        result.unwrap_err().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn an_empty_change_keeps_the_saved_settings() {
        let config = resolve(&change("{}"), &Config::default()).unwrap();
        assert_eq!(config.mcp.port, 8766);
    }

    #[test]
    fn every_invalid_field_is_reported_at_once() {
        let result = resolve(
            &change(
                r#"{"dingtalk":{"client_id":"has space","api_base":"ftp://x"},
                    "mcp":{"port":70000},"pacing":{"per_conversation":21},
                    "quota":{"api_budget":0},"ui":{"language":"fr"},
                    "access":{"allowed_groups":["cid1"," "]}}"#,
            ),
            &Config::default(),
        );
        assert_eq!(
            fields(result),
            [
                "dingtalk.client_id",
                "dingtalk.api_base",
                "access.allowed_groups",
                "mcp.port",
                "pacing.per_conversation",
                "quota.api_budget",
                "ui.language"
            ]
        );
    }

    #[test]
    fn a_password_inside_a_url_is_refused() {
        let result = resolve(
            &change(r#"{"agent":{"opencode_url":"http://opencode:pw@127.0.0.1:4096"}}"#),
            &Config::default(),
        );
        assert_eq!(result.unwrap_err()[0].code, "CREDENTIALS_IN_URL");
    }

    #[test]
    fn an_empty_opencode_url_selects_managed_mode() {
        let config = resolve(
            &change(r#"{"agent":{"opencode_url":"  "}}"#),
            &Config::default(),
        )
        .unwrap();
        assert!(config.agent.is_managed());
    }

    #[test]
    fn projects_need_unique_one_word_names_and_existing_directories() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().display().to_string();
        let json = serde_json::json!({"agent": {"projects": [
            {"name": "a", "path": path},
            {"name": "a", "path": path},
            {"name": "two words", "path": path},
            {"name": "c", "path": dir.path().join("missing").display().to_string()},
        ]}})
        .to_string();
        let errors = resolve(&change(&json), &Config::default()).unwrap_err();
        let codes: Vec<(String, String)> = errors.into_iter().map(|e| (e.field, e.code)).collect();
        assert_eq!(
            codes,
            [
                ("agent.projects[1]".to_owned(), "DUPLICATE_NAME".to_owned()),
                ("agent.projects[2]".to_owned(), "INVALID_NAME".to_owned()),
                ("agent.projects[3]".to_owned(), "NOT_FOUND".to_owned()),
            ]
        );
    }

    #[test]
    fn the_project_directory_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let ok = format!(
            r#"{{"agent":{{"opencode_directory":"{}"}}}}"#,
            dir.path().display()
        );
        assert!(resolve(&change(&ok), &Config::default()).is_ok());
        let missing = format!(
            r#"{{"agent":{{"opencode_directory":"{}"}}}}"#,
            dir.path().join("gone").display()
        );
        assert_eq!(
            fields(resolve(&change(&missing), &Config::default())),
            ["agent.opencode_directory"]
        );
    }

    #[test]
    fn blank_optional_text_means_not_set() {
        let config = resolve(
            &change(r#"{"dingtalk":{"client_id":"  dingabc  ","robot_code":""}}"#),
            &Config::default(),
        )
        .unwrap();
        assert_eq!(config.dingtalk.client_id.as_deref(), Some("dingabc"));
        assert_eq!(config.dingtalk.robot_code, None);
    }

    #[test]
    fn an_empty_new_secret_is_a_field_error() {
        let result = resolve(
            &change(r#"{"dingtalk":{"client_secret":{"set":"  "}}}"#),
            &Config::default(),
        );
        assert_eq!(fields(result), ["dingtalk.client_secret"]);
    }

    #[test]
    fn the_bridge_and_mcp_languages_are_set_or_refused_with_the_choices() {
        let config = resolve(
            &change(r#"{"bridge":{"language":"en"},"mcp":{"language":"zh-CN"}}"#),
            &Config::default(),
        )
        .unwrap();
        assert_eq!(config.bridge.language, Lang::En);
        assert_eq!(config.mcp.language, Lang::ZhCn);
        let errors = resolve(
            &change(r#"{"bridge":{"language":"fr"},"mcp":{"language":""}}"#),
            &Config::default(),
        )
        .unwrap_err();
        let got: Vec<_> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("bridge.language", "UNSUPPORTED"),
                ("mcp.language", "UNSUPPORTED")
            ]
        );
        assert!(
            errors[0].message.contains("zh-CN, en"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn the_mcp_port_cannot_be_the_dashboard_port() {
        let result = resolve(&change(r#"{"mcp":{"port":8765}}"#), &Config::default());
        assert_eq!(result.unwrap_err()[0].code, "PORT_CONFLICT");
    }
}
