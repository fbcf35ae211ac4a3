//! The tray's line about the OpenCode servers DingBridge runs itself (managed mode): each project with its
//! state, e.g. "OpenCode: backend running · docs stopped". No line in external mode or the demo (there is
//! nothing of ours to show), so the menu stays as it was for those users.
//!
//! Invariant: the line stays short enough for a menu entry: at most [`SHOWN`] projects, the rest counted.

use dingbridge_core::agent::opencode::managed::ServerState;

use crate::i18n::Catalog;

/// How many projects the line names before it only counts the others.
const SHOWN: usize = 3;

/// Catalogue keys of the line.
#[cfg(test)]
pub const KEYS: [&str; 8] = [
    "tray.agent_servers",
    "tray.agent_servers_more",
    "tray.agent_server",
    "agent_server.state.stopped",
    "agent_server.state.starting",
    "agent_server.state.running",
    "agent_server.state.restarting",
    "agent_server.state.not_installed",
];

fn state_key(state: ServerState) -> &'static str {
    match state {
        ServerState::Stopped => "agent_server.state.stopped",
        ServerState::Starting => "agent_server.state.starting",
        ServerState::Running => "agent_server.state.running",
        ServerState::Restarting => "agent_server.state.restarting",
        ServerState::NotInstalled => "agent_server.state.not_installed",
    }
}

/// The status line for `servers` (project, state), or `None` when DingBridge runs no OpenCode itself.
pub fn line(catalog: &Catalog, servers: &[(String, ServerState)]) -> Option<String> {
    if servers.is_empty() {
        return None;
    }
    let mut parts: Vec<String> = servers
        .iter()
        .take(SHOWN)
        .map(|(project, state)| {
            catalog.t(
                "tray.agent_server",
                &[
                    ("project", project.clone()),
                    ("state", catalog.t(state_key(*state), &[])),
                ],
            )
        })
        .collect();
    let hidden = servers.len().saturating_sub(SHOWN);
    if hidden > 0 {
        parts.push(catalog.t("tray.agent_servers_more", &[("count", hidden.to_string())]));
    }
    Some(catalog.t("tray.agent_servers", &[("servers", parts.join(" · "))]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Language;

    fn servers(list: &[(&str, ServerState)]) -> Vec<(String, ServerState)> {
        list.iter().map(|(p, s)| ((*p).to_owned(), *s)).collect()
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
}
