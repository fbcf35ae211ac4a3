//! Declares the app's commands to Tauri's ACL. With an explicit manifest every command must be granted
//! (`allow-<command>`) by a capability in `capabilities/`; without one any local page could call any command.
//! The mock-runtime tests (`src/tests.rs`) check every command listed here against both windows.

const COMMANDS: &[&str] = &[
    "get_status",
    "get_health",
    "get_settings",
    "save_settings",
    "test_connection",
    "known_contacts",
    "get_opencode_setup",
    "add_to_opencode",
    "reveal_mcp_token",
    "rotate_mcp_token",
    "start_demo",
    "get_autostart",
    "set_autostart",
    "open_settings",
    "list_conversations",
    "get_conversation",
    "retry_send",
    "stop_turn",
    "new_session",
    "agent_server_action",
];

fn main() {
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(error) = tauri_build::try_build(attributes) {
        // Build scripts report by exiting non-zero; the message is what the developer sees.
        eprintln!("tauri-build failed: {error:#}");
        std::process::exit(1);
    }
}
