//! "Add to OpenCode": the `mcp.dingtalk` entry in OpenCode's global config, its state, and the merge.
//!
//! Invariants: the user's file is edited through a concrete syntax tree (`jsonc-parser`'s CST), never
//! re-serialised, so comments, trailing commas, key order and every other key survive; a byte-for-byte
//! backup is written before the file is replaced, and the replacement is atomic. The remote form only
//! ever references the token as `{env:DINGBRIDGE_TOKEN}`, never its value.
//!
//! Location (mcp-notes §3.1): OpenCode reads its global config from `$XDG_CONFIG_HOME/opencode/` (default
//! `~/.config/opencode/`, on every platform); of `opencode.jsonc`, `opencode.json` and `config.json` the
//! first that exists is the one edited, and a new file is `opencode.json`.

use std::path::{Path, PathBuf};

use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstInputValue, CstRootNode};
use serde_json::{Value, json};

use super::error::SettingsError;
use super::types::{EntryState, OpenCodeSetup};

/// Our server's name in OpenCode (tools appear as `dingtalk_<tool>`).
pub const SERVER_NAME: &str = "dingtalk";
const CONFIG_NAMES: [&str; 3] = ["opencode.jsonc", "opencode.json", "config.json"];
const NEW_CONFIG_NAME: &str = "opencode.json";
#[cfg(windows)]
const HELPER_NAME: &str = "dingbridge-mcp.exe";
#[cfg(not(windows))]
const HELPER_NAME: &str = "dingbridge-mcp";

/// Where OpenCode's global config lives and where our stdio helper is installed.
#[derive(Clone, Debug)]
pub struct OpenCodeIntegration {
    config_dir: PathBuf,
    helper_path: Option<PathBuf>,
}

impl OpenCodeIntegration {
    /// From the environment: `$XDG_CONFIG_HOME` (or `~/.config`), and the `dingbridge-mcp` beside the
    /// current executable, else the first on `PATH`.
    pub fn detect() -> Self {
        Self::new(default_config_dir(), locate_helper())
    }

    pub fn new(config_dir: PathBuf, helper_path: Option<PathBuf>) -> Self {
        Self {
            config_dir,
            helper_path,
        }
    }

    /// The file that is (or would be) edited.
    pub fn config_path(&self) -> PathBuf {
        CONFIG_NAMES
            .iter()
            .map(|name| self.config_dir.join(name))
            .find(|path| path.is_file())
            .unwrap_or_else(|| self.config_dir.join(NEW_CONFIG_NAME))
    }

    /// The configs to show, and the state of `mcp.dingtalk` in the global config.
    pub fn state(&self, mcp_url: Option<&str>) -> Result<OpenCodeSetup, SettingsError> {
        let path = self.config_path();
        let entry = match read_optional(&path)? {
            None => EntryState::Missing,
            Some(text) => {
                let root = parse(&text, &path)?;
                let existing = root
                    .object_value()
                    .and_then(|obj| obj.object_value("mcp"))
                    .and_then(|mcp| mcp.get(SERVER_NAME))
                    .and_then(|prop| prop.value())
                    .and_then(|value| value.to_serde_value());
                match existing {
                    None => EntryState::Missing,
                    Some(value) => self.classify(&value, mcp_url),
                }
            }
        };
        Ok(OpenCodeSetup {
            local: local_entry(self.helper_path.as_deref()),
            remote: mcp_url.map(remote_entry),
            helper_path: self.helper_path.as_ref().map(|p| p.display().to_string()),
            global_config_path: path.display().to_string(),
            entry,
            backup_path: None,
        })
    }

    /// Merges the local entry into the global config (backup first, atomic write) and returns the new state.
    pub fn add(&self, mcp_url: Option<&str>) -> Result<OpenCodeSetup, SettingsError> {
        let Some(helper) = &self.helper_path else {
            return Err(SettingsError::OpenCodeConfig(format!(
                "{HELPER_NAME} was not found next to DingBridge or on PATH; install DingBridge completely \
                 (it ships {HELPER_NAME}) and try again"
            )));
        };
        let path = self.config_path();
        let original = read_optional(&path)?;
        let text = original.clone().unwrap_or_else(|| "{}\n".into());
        let root = parse(&text, &path)?;
        let object = root
            .object_value_or_create()
            .ok_or_else(|| opencode_error(&path, "the top level is not a JSON object"))?;
        if object.get("$schema").is_none() && original.is_none() {
            object.append("$schema", "https://opencode.ai/config.json".into());
        }
        let mcp = object
            .object_value_or_create("mcp")
            .ok_or_else(|| opencode_error(&path, "\"mcp\" is not an object"))?;
        let entry = to_input(&local_entry(Some(helper)));
        match mcp.get(SERVER_NAME) {
            Some(prop) => prop.set_value(entry),
            None => {
                mcp.append(SERVER_NAME, entry);
            }
        }
        let merged = root.to_string();
        // What we write must still be a config OpenCode can read.
        parse(&merged, &path)?;

        let backup_path = match &original {
            Some(bytes) => Some(write_backup(&path, bytes)?),
            None => None,
        };
        crate::config::write_atomic(&path, merged.as_bytes())
            .map_err(|err| opencode_error(&path, &format!("cannot write it: {err}")))?;
        tracing::info!(path = %path.display(), "added the dingtalk MCP server to OpenCode's config");
        let mut setup = self.state(mcp_url)?;
        setup.backup_path = backup_path.map(|p| p.display().to_string());
        Ok(setup)
    }

    fn classify(&self, value: &Value, mcp_url: Option<&str>) -> EntryState {
        match value.get("type").and_then(Value::as_str) {
            Some("local") => {
                let command: Vec<&str> = value
                    .get("command")
                    .and_then(Value::as_array)
                    .map(|items| items.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let current = match (&self.helper_path, command.as_slice()) {
                    (Some(helper), [only]) => Path::new(only) == helper,
                    // Without a helper to compare with, an existing dingbridge-mcp is as good as ours.
                    (None, [only]) => {
                        Path::new(only).is_file()
                            && Path::new(only)
                                .file_name()
                                .is_some_and(|n| n == HELPER_NAME)
                    }
                    _ => false,
                };
                if current {
                    EntryState::Current
                } else {
                    EntryState::Stale
                }
            }
            Some("remote") => {
                let url = value.get("url").and_then(Value::as_str);
                let token_by_env = value
                    .pointer("/headers/Authorization")
                    .and_then(Value::as_str)
                    .is_some_and(|h| h.contains("{env:"));
                if url.is_some() && url == mcp_url && token_by_env {
                    EntryState::Current
                } else {
                    EntryState::Stale
                }
            }
            _ => EntryState::Stale,
        }
    }
}

/// `{"type":"local","command":["<absolute path of dingbridge-mcp>"]}` (the bare name when not installed).
pub fn local_entry(helper: Option<&Path>) -> Value {
    let command = helper
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| HELPER_NAME.to_string());
    json!({"type": "local", "command": [command]})
}

/// The remote form: the token is referenced through OpenCode's env substitution, never written.
pub fn remote_entry(url: &str) -> Value {
    json!({
        "type": "remote",
        "url": url,
        "oauth": false,
        "headers": {"Authorization": "Bearer {env:DINGBRIDGE_TOKEN}"},
    })
}

fn default_config_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| directories::BaseDirs::new().map(|dirs| dirs.home_dir().join(".config")))
        .unwrap_or_else(|| PathBuf::from(".config"));
    base.join("opencode")
}

fn locate_helper() -> Option<PathBuf> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(HELPER_NAME)))
        .filter(|path| path.is_file());
    beside.or_else(|| {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|dir| dir.join(HELPER_NAME))
            .find(|candidate| candidate.is_file() && candidate.is_absolute())
    })
}

fn read_optional(path: &Path) -> Result<Option<String>, SettingsError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(opencode_error(path, &format!("cannot read it: {err}"))),
    }
}

fn parse(text: &str, path: &Path) -> Result<CstRootNode, SettingsError> {
    CstRootNode::parse(text, &ParseOptions::default())
        .map_err(|err| opencode_error(path, &format!("it is not valid JSONC: {err}")))
}

fn write_backup(path: &Path, original: &str) -> Result<PathBuf, SettingsError> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(
        ".bak-{}",
        crate::time::utc_stamp(crate::time::now_ms())
    ));
    let backup = path.with_file_name(name);
    crate::config::write_atomic(&backup, original.as_bytes())
        .map_err(|err| opencode_error(path, &format!("cannot write the backup: {err}")))?;
    Ok(backup)
}

fn opencode_error(path: &Path, what: &str) -> SettingsError {
    SettingsError::OpenCodeConfig(format!("OpenCode's config {}: {what}", path.display()))
}

fn to_input(value: &Value) -> CstInputValue {
    match value {
        Value::Null => CstInputValue::Null,
        Value::Bool(b) => CstInputValue::Bool(*b),
        Value::Number(n) => CstInputValue::Number(n.to_string()),
        Value::String(s) => CstInputValue::String(s.clone()),
        Value::Array(items) => CstInputValue::Array(items.iter().map(to_input).collect()),
        Value::Object(map) => {
            CstInputValue::Object(map.iter().map(|(k, v)| (k.clone(), to_input(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER_CONFIG: &str = r#"{
  // my models
  "$schema": "https://opencode.ai/config.json",
  "model": "anthropic/claude",
  "mcp": {
    /* the other server */
    "other": {"type": "local", "command": ["other-mcp"],},
  },
}
"#;

    fn setup(text: Option<&str>) -> (tempfile::TempDir, OpenCodeIntegration, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let config_dir = dir.path().join("opencode");
        std::fs::create_dir_all(&config_dir).unwrap();
        let helper = dir.path().join(HELPER_NAME);
        std::fs::write(&helper, "").unwrap();
        if let Some(text) = text {
            std::fs::write(config_dir.join("opencode.jsonc"), text).unwrap();
        }
        (
            dir,
            OpenCodeIntegration::new(config_dir, Some(helper.clone())),
            helper,
        )
    }

    #[test]
    fn add_keeps_comments_the_other_server_and_trailing_commas() {
        let (_dir, opencode, helper) = setup(Some(USER_CONFIG));
        assert_eq!(opencode.state(None).unwrap().entry, EntryState::Missing);
        let setup = opencode.add(None).unwrap();
        assert_eq!(setup.entry, EntryState::Current);
        let text = std::fs::read_to_string(opencode.config_path()).unwrap();
        assert!(text.contains("// my models"));
        assert!(text.contains("/* the other server */"));
        assert!(text.contains(r#""other": {"type": "local", "command": ["other-mcp"],},"#));
        assert!(text.contains(&helper.display().to_string()));
        let backup = setup.backup_path.unwrap();
        assert_eq!(std::fs::read_to_string(backup).unwrap(), USER_CONFIG);
    }

    #[test]
    fn an_entry_with_another_command_is_stale_and_add_replaces_it() {
        let (_dir, opencode, _helper) = setup(Some(
            r#"{"mcp": {"dingtalk": {"type": "local", "command": ["/gone/dingbridge-mcp"]}}}"#,
        ));
        assert_eq!(opencode.state(None).unwrap().entry, EntryState::Stale);
        assert_eq!(opencode.add(None).unwrap().entry, EntryState::Current);
        let text = std::fs::read_to_string(opencode.config_path()).unwrap();
        assert!(!text.contains("/gone/"));
    }

    #[test]
    fn without_a_config_file_add_creates_opencode_json_without_a_backup() {
        let (_dir, opencode, _helper) = setup(None);
        let setup = opencode.add(None).unwrap();
        assert!(setup.global_config_path.ends_with("opencode.json"));
        assert_eq!(setup.backup_path, None);
        assert_eq!(setup.entry, EntryState::Current);
    }

    #[test]
    fn the_remote_form_references_the_token_by_env() {
        let (_dir, opencode, _helper) = setup(None);
        let setup = opencode.state(Some("http://127.0.0.1:8766/mcp")).unwrap();
        let remote = setup.remote.unwrap();
        assert_eq!(
            remote["headers"]["Authorization"],
            "Bearer {env:DINGBRIDGE_TOKEN}"
        );
        assert_eq!(remote["oauth"], false);
    }

    #[test]
    fn a_file_that_is_not_jsonc_is_an_opencode_config_error_and_is_left_alone() {
        let (_dir, opencode, _helper) = setup(Some("{ not json"));
        let err = opencode.add(None).unwrap_err();
        assert_eq!(err.code(), "OPENCODE_CONFIG");
        assert_eq!(
            std::fs::read_to_string(opencode.config_path()).unwrap(),
            "{ not json"
        );
    }

    #[test]
    fn backup_names_carry_a_utc_timestamp() {
        assert_eq!(crate::time::utc_stamp(0), "19700101T000000Z");
        assert_eq!(
            crate::time::utc_stamp(1_796_170_500_000),
            "20261202T001500Z"
        );
    }
}
