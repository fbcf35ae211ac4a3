//! DingBridge engine: DingTalk Stream client, durable inbound pipeline, agent bridge and dashboard API.
//! No Tauri dependency: the desktop shell and the headless daemon are thin layers over [`Engine`].

pub mod agent;
pub mod api;
pub mod bridge;
pub mod config;
pub mod dingtalk;
pub mod engine;
pub mod events;
pub mod i18n;
pub mod instance_lock;
pub mod loopback;
pub mod mcp;
pub mod metrics;
pub mod quota;
pub mod secrets;
pub mod settings;
pub mod store;
pub mod time;
pub mod timeline;
pub mod top;

pub use engine::{
    AgentSpec, Credentials, Engine, EngineError, EngineOptions, SendReport, WeakEngine,
};
pub use events::{ConnectionState, Event, EventBus};
