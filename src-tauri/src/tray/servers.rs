//! The tray's entry for the OpenCode servers DingBridge runs itself (managed mode). Its label names each
//! project with its state, e.g. "OpenCode: backend running · docs stopped"; it opens a submenu per project
//! with the server's facts (port, version, uptime, restarts) and Start / Stop / Restart, the same actions
//! as the dashboard's panel. No entry in external mode or the demo (there is nothing of ours to show), so
//! the menu stays as it was for those users.
//!
//! Invariant: the label stays short enough for a menu entry: at most [`SHOWN`] projects, the rest counted.

use dingbridge_core::agent::opencode::managed::{ServerState, ServerStatus};

use crate::i18n::Catalog;

/// How many projects the line names before it only counts the others.
const SHOWN: usize = 3;

/// Prefix of the menu ids of the server actions: `agent-server:<action>:<project>`.
const ACTION_PREFIX: &str = "agent-server:";

/// The actions each project's submenu offers, with their catalogue keys (the dashboard's buttons).
pub const ACTIONS: [(&str, &str); 3] = [
    ("start", "agent_server.action.start"),
    ("stop", "agent_server.action.stop"),
    ("restart", "agent_server.action.restart"),
];

/// Catalogue keys of the entry and its submenus.
#[cfg(test)]
pub const KEYS: [&str; 19] = [
    "tray.agent_servers",
    "tray.agent_servers_more",
    "tray.agent_server",
    "agent_server.state.stopped",
    "agent_server.state.starting",
    "agent_server.state.running",
    "agent_server.state.restarting",
    "agent_server.state.not_installed",
    "agent_server.port",
    "agent_server.version",
    "agent_server.uptime",
    "agent_server.restarts",
    "agent_server.action.start",
    "agent_server.action.stop",
    "agent_server.action.restart",
    "duration.seconds",
    "duration.minutes",
    "duration.hours",
    "duration.days",
];

/// One managed server as the tray shows it (what the status API says, minus what a menu cannot show).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrayServer {
    pub project: String,
    pub state: ServerState,
    /// 0 while it has no port (never started).
    pub port: u16,
    pub version: Option<String>,
    pub uptime_s: Option<u64>,
    pub restarts: u32,
}

impl From<ServerStatus> for TrayServer {
    fn from(status: ServerStatus) -> Self {
        Self {
            project: status.project,
            state: status.state,
            port: status.port,
            version: status.version,
            uptime_s: status.uptime_s,
            restarts: status.restarts,
        }
    }
}

fn state_key(state: ServerState) -> &'static str {
    match state {
        ServerState::Stopped => "agent_server.state.stopped",
        ServerState::Starting => "agent_server.state.starting",
        ServerState::Running => "agent_server.state.running",
        ServerState::Restarting => "agent_server.state.restarting",
        ServerState::NotInstalled => "agent_server.state.not_installed",
    }
}

/// "backend running": a project with its state (the label's parts and each project's submenu title).
pub fn title(catalog: &Catalog, server: &TrayServer) -> String {
    catalog.t(
        "tray.agent_server",
        &[
            ("project", server.project.clone()),
            ("state", catalog.t(state_key(server.state), &[])),
        ],
    )
}

/// The entry's label for `servers`, or `None` when DingBridge runs no OpenCode itself.
pub fn line(catalog: &Catalog, servers: &[TrayServer]) -> Option<String> {
    if servers.is_empty() {
        return None;
    }
    let mut parts: Vec<String> = servers
        .iter()
        .take(SHOWN)
        .map(|server| title(catalog, server))
        .collect();
    let hidden = servers.len().saturating_sub(SHOWN);
    if hidden > 0 {
        parts.push(catalog.t("tray.agent_servers_more", &[("count", hidden.to_string())]));
    }
    Some(catalog.t("tray.agent_servers", &[("servers", parts.join(" · "))]))
}

/// A duration as the dashboard writes it ("12 min 5 s", "3 h 4 min", "2 d 1 h").
pub fn duration(catalog: &Catalog, seconds: u64) -> String {
    let minutes = seconds / 60;
    let hours = minutes / 60;
    if seconds < 60 {
        catalog.t("duration.seconds", &[("s", seconds.to_string())])
    } else if minutes < 60 {
        catalog.t(
            "duration.minutes",
            &[
                ("min", minutes.to_string()),
                ("s", (seconds % 60).to_string()),
            ],
        )
    } else if hours < 48 {
        catalog.t(
            "duration.hours",
            &[
                ("h", hours.to_string()),
                ("min", (minutes % 60).to_string()),
            ],
        )
    } else {
        catalog.t(
            "duration.days",
            &[
                ("d", (hours / 24).to_string()),
                ("h", (hours % 24).to_string()),
            ],
        )
    }
}

/// The server's facts in one line, as the dashboard's panel lists them: port, version, uptime, restarts.
pub fn facts(catalog: &Catalog, server: &TrayServer) -> String {
    let mut facts = Vec::new();
    if server.port > 0 {
        facts.push(catalog.t("agent_server.port", &[("port", server.port.to_string())]));
    }
    if let Some(version) = &server.version {
        facts.push(catalog.t("agent_server.version", &[("version", version.clone())]));
    }
    if let Some(uptime) = server.uptime_s {
        facts.push(catalog.t(
            "agent_server.uptime",
            &[("uptime", duration(catalog, uptime))],
        ));
    }
    facts.push(catalog.t(
        "agent_server.restarts",
        &[("count", server.restarts.to_string())],
    ));
    facts.join(" · ")
}

/// The menu id of `action` on `project`'s server.
pub fn action_id(action: &str, project: &str) -> String {
    format!("{ACTION_PREFIX}{action}:{project}")
}

/// The (action, project) a menu id stands for, if it is a server action (project names may hold ':').
pub fn parse_action_id(id: &str) -> Option<(&str, &str)> {
    let rest = id.strip_prefix(ACTION_PREFIX)?;
    let (action, project) = rest.split_once(':')?;
    ACTIONS
        .iter()
        .any(|(known, _)| *known == action)
        .then_some((action, project))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Language;

    fn server(project: &str, state: ServerState) -> TrayServer {
        TrayServer {
            project: project.to_owned(),
            state,
            port: 0,
            version: None,
            uptime_s: None,
            restarts: 0,
        }
    }

    fn servers(list: &[(&str, ServerState)]) -> Vec<TrayServer> {
        list.iter().map(|(p, s)| server(p, *s)).collect()
    }

    #[test]
    fn no_managed_server_means_no_line() {
        assert_eq!(line(&Catalog::new(Language::En), &[]), None);
    }

    #[test]
    fn each_project_is_named_with_its_state() {
        let line = line(
            &Catalog::new(Language::En),
            &servers(&[
                ("backend", ServerState::Running),
                ("docs", ServerState::NotInstalled),
            ]),
        );
        assert_eq!(
            line.as_deref(),
            Some("OpenCode: backend running · docs not installed")
        );
    }

    #[test]
    fn the_line_is_in_the_ui_language() {
        let line = line(
            &Catalog::new(Language::ZhCn),
            &servers(&[("backend", ServerState::Stopped)]),
        );
        assert_eq!(line.as_deref(), Some("OpenCode：backend 已停止"));
    }

    #[test]
    fn more_than_three_projects_are_counted_not_listed() {
        let line = line(
            &Catalog::new(Language::En),
            &servers(&[
                ("a", ServerState::Running),
                ("b", ServerState::Running),
                ("c", ServerState::Stopped),
                ("d", ServerState::Stopped),
                ("e", ServerState::Starting),
            ]),
        )
        .unwrap_or_default();
        assert_eq!(
            line,
            "OpenCode: a running · b running · c stopped · +2 more"
        );
    }

    #[test]
    fn a_submenu_lists_port_version_uptime_and_restarts_like_the_dashboard() {
        let running = TrayServer {
            port: 41234,
            version: Some("1.18.33".into()),
            uptime_s: Some(725),
            restarts: 2,
            ..server("backend", ServerState::Running)
        };
        assert_eq!(
            facts(&Catalog::new(Language::En), &running),
            "port 41234 · version 1.18.33 · up 12 min 5 s · 2 restarts"
        );
        assert_eq!(
            facts(&Catalog::new(Language::ZhCn), &running),
            "端口 41234 · 版本 1.18.33 · 已运行 12 分 5 秒 · 重启 2 次"
        );
        // Never started: no port, no version, no uptime.
        assert_eq!(
            facts(
                &Catalog::new(Language::En),
                &server("docs", ServerState::NotInstalled)
            ),
            "0 restarts"
        );
    }

    #[test]
    fn uptimes_read_like_the_dashboards() {
        let en = Catalog::new(Language::En);
        assert_eq!(duration(&en, 59), "59 s");
        assert_eq!(duration(&en, 3_600 + 4 * 60 + 9), "1 h 4 min");
        assert_eq!(duration(&en, 49 * 3_600), "2 d 1 h");
    }

    #[test]
    fn an_action_id_names_the_action_and_the_whole_project() {
        let id = action_id("restart", "team:backend");
        assert_eq!(parse_action_id(&id), Some(("restart", "team:backend")));
        assert_eq!(parse_action_id("agent-server:explode:backend"), None);
        assert_eq!(parse_action_id("dashboard"), None);
    }
}
