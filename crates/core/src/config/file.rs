//! The settings file schema. Every field has a default so an empty (or missing) file is a valid configuration.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("[CONFIG_IO] cannot read settings file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("[CONFIG_PARSE] settings file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error(
        "[CONFIG_SECRET] settings file {path} contains `{key}`: secrets belong in the keychain or env, not the file"
    )]
    SecretInFile { path: PathBuf, key: String },
    #[error("[CONFIG_RANGE] settings file {path}: `{key}` = {value} is out of range; use {range}")]
    OutOfRange {
        path: PathBuf,
        key: &'static str,
        value: String,
        range: &'static str,
    },
}

impl ConfigError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "CONFIG_IO",
            Self::Parse { .. } => "CONFIG_PARSE",
            Self::SecretInFile { .. } => "CONFIG_SECRET",
            Self::OutOfRange { .. } => "CONFIG_RANGE",
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub dingtalk: DingTalkSettings,
    pub stream: StreamSettings,
    pub bridge: BridgeSettings,
    pub dashboard: DashboardSettings,
    pub quota: QuotaSettings,
    pub access: AccessSettings,
    pub pacing: crate::bridge::PacingSettings,
    pub agent: AgentSettings,
    pub mcp: McpSettings,
    pub cards: crate::bridge::CardSettings,
    pub docs: DocsSettings,
    pub ui: UiSettings,
}

/// How the desktop app, the dashboard, the tray and notifications speak to the user.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UiSettings {
    /// `"en"` or `"zh-CN"`; `None` follows the OS (or browser) locale.
    pub language: Option<String>,
}

/// Who may talk to the agent. Empty lists refuse everyone (and say how to configure them).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccessSettings {
    /// DingTalk userIds (staffIds) allowed to reach the agent; `"*"` allows everyone in the organisation.
    pub allowed_staff_ids: Vec<String>,
    /// Group conversationIds where the bot answers (allowed senders only); `"*"` opts every group in.
    pub allowed_groups: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentSettings {
    /// "opencode" (the developer's OpenCode server) or "echo" (answers with the message itself; demo/tests).
    pub backend: String,
    /// `opencode serve` address of a server you run yourself ("external" mode). Its password, if any, comes
    /// from the keychain or `OPENCODE_SERVER_PASSWORD`. Empty (the default): "managed" mode, DingBridge
    /// starts and supervises OpenCode itself, one server per project.
    pub opencode_url: String,
    /// Managed mode: the `opencode` binary; unset searches PATH and the usual install places.
    pub opencode_bin: Option<String>,
    /// Managed mode: the projects chats can work in (`/project <name>`); the first is the default. None
    /// configured: `opencode_directory` (or DingBridge's working directory) is the one project.
    pub projects: Vec<ProjectSettings>,
    /// Managed mode: a project's server with no turn for this long is stopped (0 = never).
    pub idle_stop_minutes: u64,
    /// HTTP Basic user of the OpenCode server (default "opencode", or `OPENCODE_SERVER_USERNAME`).
    pub opencode_username: Option<String>,
    /// Project directory OpenCode works in (`?directory=`); default: the server's own.
    pub opencode_directory: Option<String>,
    /// How long a relayed permission ask waits for `/allow` or `/deny` before it is denied.
    pub permission_timeout_secs: u64,
    /// Readable size of one markdown message; longer answers are split into numbered parts.
    pub chunk_chars: usize,
}

impl Default for AgentSettings {
    fn default() -> Self {
        Self {
            backend: "opencode".into(),
            opencode_url: String::new(),
            opencode_bin: None,
            projects: Vec::new(),
            idle_stop_minutes: 30,
            opencode_username: None,
            opencode_directory: None,
            permission_timeout_secs: 300,
            chunk_chars: 3_800,
        }
    }
}

/// One `[[agent.projects]]` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSettings {
    pub name: String,
    pub path: String,
}

impl AgentSettings {
    /// Managed mode: no external OpenCode URL is configured.
    pub fn is_managed(&self) -> bool {
        self.backend == "opencode" && self.opencode_url.trim().is_empty()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DingTalkSettings {
    /// New OpenAPI base (gateway, tokens, robot sends). Point it at `dingtalk-sim` or a proxy.
    pub api_base: String,
    /// Old OpenAPI base (`oapi`).
    pub oapi_base: String,
    /// AppKey. Not secret, but may also come from `DINGTALK_CLIENT_ID`.
    pub client_id: Option<String>,
    /// The robot's code for OpenAPI robot sends and cards; `None` uses the AppKey (true for an app's own robot).
    pub robot_code: Option<String>,
}

impl DingTalkSettings {
    /// The robot code to send with: the configured one, else the AppKey.
    pub fn robot_code_or<'a>(&'a self, client_id: &'a str) -> &'a str {
        self.robot_code
            .as_deref()
            .filter(|code| !code.trim().is_empty())
            .unwrap_or(client_id)
    }
}

impl Default for DingTalkSettings {
    fn default() -> Self {
        Self {
            api_base: "https://api.dingtalk.com".into(),
            oapi_base: "https://oapi.dingtalk.com".into(),
            client_id: None,
            robot_code: None,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StreamSettings {
    /// First reconnect delay; doubles per failed attempt (with jitter) up to `backoff_max_ms`.
    pub backoff_initial_ms: u64,
    pub backoff_max_ms: u64,
    /// A socket that delivered no frame and no pong for this long is considered dead and replaced.
    pub watchdog_idle_ms: u64,
    /// HTTP timeout of the `connections/open` call (the Go SDK uses 5 s, Python 10 s).
    pub open_timeout_ms: u64,
}

impl Default for StreamSettings {
    fn default() -> Self {
        Self {
            backoff_initial_ms: 1_000,
            backoff_max_ms: 60_000,
            // The server pings about every 30 s; two missed pings means the socket is a zombie.
            watchdog_idle_ms: 90_000,
            open_timeout_ms: 10_000,
        }
    }
}

impl StreamSettings {
    pub fn backoff_initial(&self) -> Duration {
        Duration::from_millis(self.backoff_initial_ms.max(1))
    }
    pub fn backoff_max(&self) -> Duration {
        Duration::from_millis(self.backoff_max_ms.max(self.backoff_initial_ms))
    }
    pub fn watchdog_idle(&self) -> Duration {
        Duration::from_millis(self.watchdog_idle_ms.max(100))
    }
    pub fn open_timeout(&self) -> Duration {
        Duration::from_millis(self.open_timeout_ms.max(100))
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BridgeSettings {
    /// How many agent turns may run at once across all conversations (one per conversation at most).
    pub max_concurrent_turns: usize,
    /// Delay before retrying an item whose agent turn or reply failed.
    pub retry_delay_ms: u64,
    /// Finished inbox rows are kept this long for dedupe and history, then purged.
    pub inbox_retention_hours: u64,
    /// Files users send (pictures, files, voice, video) larger than this many MiB are not downloaded; the
    /// chat is told.
    pub attachment_max_mb: u64,
    /// Downloaded files under `<data>/attachments` are deleted after this many hours.
    pub attachment_retention_hours: u64,
    /// Language of the replies the bridge writes itself (commands, refusals, notes): `"zh-CN"` or `"en"`.
    /// A conversation's `/lang` choice overrides it. An unknown value is refused when the file is loaded.
    pub language: crate::i18n::Lang,
}

impl Default for BridgeSettings {
    fn default() -> Self {
        Self {
            max_concurrent_turns: 4,
            retry_delay_ms: 2_000,
            inbox_retention_hours: 24 * 7,
            attachment_max_mb: crate::dingtalk::message_files::DEFAULT_MAX_MB,
            attachment_retention_hours: 24 * 7,
            language: crate::i18n::Lang::ZhCn,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DashboardSettings {
    /// Loopback port of the headless dashboard (0 = pick a free one).
    pub port: u16,
}

impl Default for DashboardSettings {
    fn default() -> Self {
        Self { port: 8765 }
    }
}

/// DingTalk Docs: the operator every Docs call runs as (a userId or a mobile, resolved once to a unionId).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DocsSettings {
    /// DingTalk userId (staffId) of the Docs operator; wins over `operator_mobile`.
    pub operator_user_id: Option<String>,
    /// Mobile number of the Docs operator, used when no `operator_user_id` is set.
    pub operator_mobile: Option<String>,
}

/// The local MCP server (`http://127.0.0.1:<port>/mcp`). Its bearer token lives in the secret store.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct McpSettings {
    pub enabled: bool,
    /// Loopback port (default 8766; 0 = pick a free one, announced in the runtime file).
    pub port: u16,
    /// Browser origins allowed to call the MCP server (none by default: MCP clients send no `Origin`).
    pub allowed_origins: Vec<String>,
    /// Language of tool, parameter, resource and prompt descriptions and of error texts: `"en"` (default;
    /// agents read it best) or `"zh-CN"`. Error codes never change with it.
    pub language: crate::i18n::Lang,
}

impl Default for McpSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            port: 8766,
            allowed_origins: Vec::new(),
            language: crate::i18n::Lang::En,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuotaSettings {
    /// Webhook & Stream messages per calendar month (standard org: 3,000).
    pub stream_budget: u64,
    /// OpenAPI calls per calendar month (standard org: 5,000).
    pub api_budget: u64,
}

impl Default for QuotaSettings {
    fn default() -> Self {
        Self {
            stream_budget: 3_000,
            api_budget: 5_000,
        }
    }
}

/// Keys that must never appear in the settings file.
const SECRET_KEYS: [&str; 4] = ["client_secret", "clientSecret", "app_secret", "token"];

impl Config {
    /// Reads the file if it exists (a missing file is the all-defaults configuration).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => {
                return Err(ConfigError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        if let Ok(value) = text.parse::<toml::Table>()
            && let Some(key) = find_secret_key(&value)
        {
            return Err(ConfigError::SecretInFile {
                path: path.to_path_buf(),
                key,
            });
        }
        let config: Self = toml::from_str(text).map_err(|err| ConfigError::Parse {
            path: path.to_path_buf(),
            message: err.message().to_string(),
        })?;
        config.validate(path)?;
        Ok(config)
    }

    /// Every number the engine multiplies, adds to a clock or sizes a buffer with is checked here, at load,
    /// so a typo gets a clear error naming the key instead of an overflow (or a silent clamp) much later.
    pub fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        fn check<T: PartialOrd + std::fmt::Display + Copy>(
            path: &Path,
            key: &'static str,
            value: T,
            min: T,
            max: T,
            range: &'static str,
        ) -> Result<(), ConfigError> {
            if value < min || value > max {
                return Err(ConfigError::OutOfRange {
                    path: path.to_path_buf(),
                    key,
                    value: value.to_string(),
                    range,
                });
            }
            Ok(())
        }
        const HOUR_MS: u64 = 3_600_000;
        let s = &self.stream;
        check(
            path,
            "stream.backoff_initial_ms",
            s.backoff_initial_ms,
            1,
            600_000,
            "1 ..= 600000 (10 min)",
        )?;
        check(
            path,
            "stream.backoff_max_ms",
            s.backoff_max_ms,
            s.backoff_initial_ms,
            HOUR_MS,
            "backoff_initial_ms ..= 3600000 (1 h)",
        )?;
        check(
            path,
            "stream.watchdog_idle_ms",
            s.watchdog_idle_ms,
            100,
            HOUR_MS,
            "100 ..= 3600000 (1 h)",
        )?;
        check(
            path,
            "stream.open_timeout_ms",
            s.open_timeout_ms,
            100,
            600_000,
            "100 ..= 600000 (10 min)",
        )?;
        let b = &self.bridge;
        check(
            path,
            "bridge.max_concurrent_turns",
            b.max_concurrent_turns,
            1,
            1_024,
            "1 ..= 1024",
        )?;
        check(
            path,
            "bridge.retry_delay_ms",
            b.retry_delay_ms,
            1,
            HOUR_MS,
            "1 ..= 3600000 (1 h)",
        )?;
        check(
            path,
            "bridge.inbox_retention_hours",
            b.inbox_retention_hours,
            1,
            87_600,
            "1 ..= 87600 (10 years)",
        )?;
        check(
            path,
            "bridge.attachment_max_mb",
            b.attachment_max_mb,
            1,
            1_024,
            "1 ..= 1024",
        )?;
        check(
            path,
            "bridge.attachment_retention_hours",
            b.attachment_retention_hours,
            1,
            87_600,
            "1 ..= 87600 (10 years)",
        )?;
        let a = &self.agent;
        check(
            path,
            "agent.permission_timeout_secs",
            a.permission_timeout_secs,
            1,
            86_400,
            "1 ..= 86400 (1 day)",
        )?;
        check(
            path,
            "agent.chunk_chars",
            a.chunk_chars,
            100,
            15_000,
            "100 ..= 15000",
        )?;
        check(
            path,
            "agent.idle_stop_minutes",
            a.idle_stop_minutes,
            0,
            10_080,
            "0 (never) ..= 10080 (1 week)",
        )?;
        let p = &self.pacing;
        check(
            path,
            "pacing.app_per_second",
            p.app_per_second,
            1,
            100_000,
            "1 ..= 100000",
        )?;
        check(
            path,
            "pacing.per_conversation",
            p.per_conversation,
            1,
            100_000,
            "1 ..= 100000",
        )?;
        check(
            path,
            "pacing.conversation_window_ms",
            p.conversation_window_ms,
            1,
            HOUR_MS,
            "1 ..= 3600000 (1 h)",
        )?;
        check(
            path,
            "pacing.safety_margin_percent",
            p.safety_margin_percent,
            0,
            100,
            "0 ..= 100",
        )?;
        let c = &self.cards;
        check(
            path,
            "cards.min_interval_ms",
            c.min_interval_ms,
            0,
            60_000,
            "0 ..= 60000 (1 min)",
        )?;
        check(
            path,
            "cards.cooldown_secs",
            c.cooldown_secs,
            0,
            86_400,
            "0 ..= 86400 (1 day)",
        )?;
        Ok(())
    }

    /// Applies `DINGTALK_CLIENT_ID`, `DINGBRIDGE_API_BASE`, `DINGBRIDGE_OAPI_BASE` from the environment.
    pub fn with_env_overrides(mut self) -> Self {
        if let Ok(id) = std::env::var("DINGTALK_CLIENT_ID")
            && !id.is_empty()
        {
            self.dingtalk.client_id = Some(id);
        }
        if let Ok(base) = std::env::var("DINGBRIDGE_API_BASE")
            && !base.is_empty()
        {
            self.dingtalk.api_base = base;
        }
        if let Ok(base) = std::env::var("DINGBRIDGE_OAPI_BASE")
            && !base.is_empty()
        {
            self.dingtalk.oapi_base = base;
        }
        self
    }
}

/// Whether a key name is one that must never be written to the settings file.
pub(crate) fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS.contains(&key)
}

fn find_secret_key(table: &toml::Table) -> Option<String> {
    for (key, value) in table {
        if is_secret_key(key) {
            return Some(key.clone());
        }
        if let toml::Value::Table(inner) = value
            && let Some(found) = find_secret_key(inner)
        {
            return Some(found);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_is_the_default_configuration() {
        let config = Config::parse("", Path::new("x.toml")).unwrap();
        assert_eq!(config.dingtalk.api_base, "https://api.dingtalk.com");
        assert_eq!(config.quota.stream_budget, 3_000);
    }

    #[test]
    fn bridge_replies_default_to_chinese_and_mcp_descriptions_to_english() {
        let config = Config::parse("", Path::new("x.toml")).unwrap();
        assert_eq!(config.bridge.language, crate::i18n::Lang::ZhCn);
        assert_eq!(config.mcp.language, crate::i18n::Lang::En);
        let config = Config::parse(
            "[bridge]\nlanguage = \"en\"\n[mcp]\nlanguage = \"zh-CN\"\n",
            Path::new("x.toml"),
        )
        .unwrap();
        assert_eq!(config.bridge.language, crate::i18n::Lang::En);
        assert_eq!(config.mcp.language, crate::i18n::Lang::ZhCn);
    }

    #[test]
    fn an_unknown_bridge_language_is_refused_at_load_with_the_choices() {
        let err = Config::parse("[bridge]\nlanguage = \"fr\"\n", Path::new("x.toml")).unwrap_err();
        assert_eq!(err.code(), "CONFIG_PARSE");
        assert!(err.to_string().contains("zh-CN, en"), "{err}");
    }

    #[test]
    fn a_secret_in_the_file_is_refused_without_echoing_it() {
        let err = Config::parse(
            "[dingtalk]\nclient_secret = \"hunter2\"\n",
            Path::new("x.toml"),
        )
        .unwrap_err();
        assert_eq!(err.code(), "CONFIG_SECRET");
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn the_settings_example_in_the_readme_is_valid() {
        let readme = include_str!("../../../../README.md");
        let start = readme
            .find("```toml\n[dingtalk]")
            .expect("README has the settings example");
        let body = &readme[start + "```toml\n".len()..];
        let example = &body[..body.find("```").expect("closed block")];
        let config = Config::parse(example, Path::new("README.md")).unwrap();
        assert_eq!(config.mcp.port, 8766);
        assert_eq!(config.agent.backend, "opencode");
        assert_eq!(config.pacing.per_conversation, 20);
    }

    #[test]
    fn out_of_range_numbers_are_refused_at_load_naming_the_key() {
        for (text, key) in [
            (
                "[bridge]\ninbox_retention_hours = 18446744073709551615\n",
                "bridge.inbox_retention_hours",
            ),
            (
                "[cards]\ncooldown_secs = 18446744073709551615\n",
                "cards.cooldown_secs",
            ),
            (
                "[bridge]\nattachment_max_mb = 0\n",
                "bridge.attachment_max_mb",
            ),
            (
                "[bridge]\nattachment_retention_hours = 0\n",
                "bridge.attachment_retention_hours",
            ),
            (
                "[stream]\nbackoff_initial_ms = 0\n",
                "stream.backoff_initial_ms",
            ),
            (
                "[agent]\npermission_timeout_secs = 0\n",
                "agent.permission_timeout_secs",
            ),
        ] {
            let err = Config::parse(text, Path::new("x.toml")).unwrap_err();
            assert_eq!(err.code(), "CONFIG_RANGE", "{text}");
            assert!(err.to_string().contains(key), "{err}");
        }
    }

    #[test]
    fn unknown_keys_are_reported() {
        let err = Config::parse("[stream]\nwatchdog = 3\n", Path::new("x.toml")).unwrap_err();
        assert_eq!(err.code(), "CONFIG_PARSE");
    }
}
