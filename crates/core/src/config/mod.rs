//! Settings: a TOML file in the OS config dir (path overridable with `--config` / `DINGBRIDGE_CONFIG`) plus env
//! overrides. Secrets are never read from or written to this file: they come through `secrets::SecretStore`.

mod atomic;
mod edit;
mod file;
mod paths;

pub use atomic::{create_private_dir, write_atomic};
pub use edit::{SettingsFile, string_array};
pub use file::{
    AccessSettings, AgentSettings, BridgeSettings, Config, ConfigError, DashboardSettings,
    DingTalkSettings, DocsSettings, McpSettings, ProjectSettings, QuotaSettings, StreamSettings,
    UiSettings,
};
pub use paths::{default_config_path, default_data_dir, precreate_private_file};
