//! Declares the app's commands to Tauri's ACL. With an explicit manifest every command must be granted
//! (`allow-<command>`) by a capability in `capabilities/`; without one any local page could call any command.

fn main() {
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(&["get_status"]));
    if let Err(error) = tauri_build::try_build(attributes) {
        // Build scripts report by exiting non-zero; the message is what the developer sees.
        eprintln!("tauri-build failed: {error:#}");
        std::process::exit(1);
    }
}
