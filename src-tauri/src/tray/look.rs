//! What the tray shows, as a pure function of the engine's mode and events: one of six looks (icon and
//! status line). Kept apart from the Tauri calls so every transition is unit-tested.
//!
//! Invariant: "degraded" (auth or quota) outranks the connection state until the event that ends it
//! (auth recovered; a new engine); paused and unconfigured engines look "stopped"; the demo always
//! looks "demo" so it is never mistaken for a real bridge.

use crate::engine::{ConnectionState, Event, Mode};
use crate::supervisor::EngineState;
use crate::tray::servers::TrayServer;

/// The six tray looks, each with its own icon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Look {
    Connected,
    Connecting,
    Reconnecting,
    Degraded,
    Stopped,
    Demo,
}

impl Look {
    #[cfg(test)]
    pub const ALL: [Look; 6] = [
        Look::Connected,
        Look::Connecting,
        Look::Reconnecting,
        Look::Degraded,
        Look::Stopped,
        Look::Demo,
    ];
}

/// Catalogue keys of the status line (the first, disabled menu entry and the tooltip).
#[cfg(test)]
pub const STATUS_KEYS: [&str; 10] = [
    "tray.status.connected",
    "tray.status.connecting",
    "tray.status.reconnecting",
    "tray.status.degraded_auth",
    "tray.status.degraded_quota",
    "tray.status.stopped",
    "tray.status.paused",
    "tray.status.demo",
    "tray.status.unconfigured",
    "tray.tooltip",
];

/// Folds engine events and mode changes into the current look.
#[derive(Debug)]
pub struct TrayModel {
    engine: EngineState,
    connection: ConnectionState,
    auth_degraded: bool,
    quota_exhausted: bool,
    /// Managed mode: each project's OpenCode server as the tray shows it (empty otherwise).
    agent_servers: Vec<TrayServer>,
}

impl TrayModel {
    pub fn new(engine: EngineState, connection: ConnectionState) -> Self {
        Self {
            engine,
            connection,
            auth_degraded: false,
            quota_exhausted: false,
            agent_servers: Vec::new(),
        }
    }

    /// The managed servers as the engine reports them now; true when that changes what the tray shows.
    pub fn on_agent_servers(&mut self, servers: Vec<TrayServer>) -> bool {
        if servers == self.agent_servers {
            return false;
        }
        self.agent_servers = servers;
        true
    }

    pub fn agent_servers(&self) -> &[TrayServer] {
        &self.agent_servers
    }

    /// A new engine (or a swap in progress): its conditions start clean.
    pub fn on_engine(&mut self, engine: EngineState) {
        if engine != self.engine {
            self.auth_degraded = false;
            self.quota_exhausted = false;
        }
        self.engine = engine;
    }

    pub fn on_event(&mut self, event: &Event) {
        match event {
            Event::ConnectionChanged { state, .. } => self.connection = *state,
            Event::AuthDegraded { .. } | Event::CredentialsRejected { .. } => {
                self.auth_degraded = true
            }
            Event::AuthRecovered => self.auth_degraded = false,
            Event::QuotaWarning { percent, .. } if *percent >= 100 => self.quota_exhausted = true,
            Event::QuotaExhausted { .. } | Event::ApiQuotaExhausted { .. } => {
                self.quota_exhausted = true
            }
            _ => {}
        }
    }

    pub fn engine(&self) -> EngineState {
        self.engine
    }

    /// The status line: the look, said more precisely (which degradation, paused or not set up).
    pub fn status_key(&self) -> &'static str {
        match self.look() {
            Look::Demo => "tray.status.demo",
            Look::Stopped if self.engine.mode == Mode::Unconfigured => "tray.status.unconfigured",
            Look::Stopped if self.engine.paused => "tray.status.paused",
            Look::Stopped => "tray.status.stopped",
            Look::Degraded if self.auth_degraded => "tray.status.degraded_auth",
            Look::Degraded => "tray.status.degraded_quota",
            Look::Connected => "tray.status.connected",
            Look::Connecting => "tray.status.connecting",
            Look::Reconnecting => "tray.status.reconnecting",
        }
    }

    pub fn look(&self) -> Look {
        if self.engine.mode == Mode::Demo {
            return Look::Demo;
        }
        if self.engine.mode == Mode::Unconfigured || self.engine.paused {
            return Look::Stopped;
        }
        if !self.engine.running {
            return Look::Connecting;
        }
        if self.auth_degraded || self.quota_exhausted {
            return Look::Degraded;
        }
        match self.connection {
            ConnectionState::Connected => Look::Connected,
            ConnectionState::Connecting => Look::Connecting,
            ConnectionState::Backoff => Look::Reconnecting,
            ConnectionState::Stopped => Look::Stopped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dingbridge_core::agent::opencode::managed::ServerState;

    fn real() -> EngineState {
        EngineState {
            mode: Mode::Real,
            paused: false,
            running: true,
        }
    }

    fn connection(state: ConnectionState) -> Event {
        Event::ConnectionChanged {
            state,
            reconnects: 0,
            reason: String::new(),
        }
    }

    #[test]
    fn the_look_follows_the_connection() {
        let mut model = TrayModel::new(real(), ConnectionState::Connecting);
        assert_eq!(model.look(), Look::Connecting);
        model.on_event(&connection(ConnectionState::Connected));
        assert_eq!(model.look(), Look::Connected);
        model.on_event(&connection(ConnectionState::Backoff));
        assert_eq!(model.look(), Look::Reconnecting);
        model.on_event(&connection(ConnectionState::Stopped));
        assert_eq!(model.look(), Look::Stopped);
    }

    #[test]
    fn auth_degraded_outranks_connected_until_recovered() {
        let mut model = TrayModel::new(real(), ConnectionState::Connected);
        model.on_event(&Event::AuthDegraded {
            reason: "timeout".into(),
            failures: 5,
        });
        assert_eq!(model.look(), Look::Degraded);
        assert_eq!(model.status_key(), "tray.status.degraded_auth");
        model.on_event(&Event::AuthRecovered);
        assert_eq!(model.look(), Look::Connected);
    }

    #[test]
    fn an_exhausted_quota_looks_degraded_until_the_engine_changes() {
        let mut model = TrayModel::new(real(), ConnectionState::Connected);
        model.on_event(&Event::QuotaExhausted {
            conversation_id: "cid".into(),
            message: "quota".into(),
        });
        assert_eq!(model.look(), Look::Degraded);
        model.on_engine(EngineState {
            running: false,
            ..real()
        });
        model.on_engine(real());
        assert_eq!(model.look(), Look::Connected);
    }

    #[test]
    fn only_a_change_of_what_the_tray_shows_of_a_managed_server_redraws() {
        let mut model = TrayModel::new(real(), ConnectionState::Connected);
        let server = |state, uptime_s| TrayServer {
            project: "backend".to_owned(),
            state,
            port: 41234,
            version: Some("1.18.33".to_owned()),
            uptime_s,
            restarts: 0,
        };
        assert!(model.on_agent_servers(vec![server(ServerState::Running, Some(5))]));
        assert!(!model.on_agent_servers(vec![server(ServerState::Running, Some(5))]));
        // The uptime is in the submenu: it counts as a change.
        assert!(model.on_agent_servers(vec![server(ServerState::Running, Some(8))]));
        assert!(model.on_agent_servers(vec![server(ServerState::Restarting, None)]));
        assert_eq!(
            model.agent_servers(),
            [server(ServerState::Restarting, None)]
        );
    }

    #[test]
    fn demo_paused_and_unconfigured_have_their_own_looks() {
        let mut model = TrayModel::new(real(), ConnectionState::Connected);
        model.on_engine(EngineState {
            mode: Mode::Demo,
            ..real()
        });
        assert_eq!(model.look(), Look::Demo);
        model.on_engine(EngineState {
            paused: true,
            ..real()
        });
        assert_eq!(model.look(), Look::Stopped);
        assert_eq!(model.status_key(), "tray.status.paused");
        model.on_engine(EngineState {
            mode: Mode::Unconfigured,
            ..real()
        });
        assert_eq!(model.look(), Look::Stopped);
        assert_eq!(model.status_key(), "tray.status.unconfigured");
    }
}
