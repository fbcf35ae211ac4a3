//! Settings: a TOML file in the OS config dir (path overridable with `--config` / `DINGBRIDGE_CONFIG`) plus env
//! overrides. Secrets are never read from or written to this file: they come through `secrets::SecretStore`.

mod file;
mod paths;

pub use file::{
    AccessSettings, AgentSettings, BridgeSettings, Config, ConfigError, DashboardSettings,
    DingTalkSettings, McpSettings, QuotaSettings, StreamSettings,
};
pub use paths::{default_config_path, default_data_dir};
