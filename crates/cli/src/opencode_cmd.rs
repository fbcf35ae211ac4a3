//! `dingbridged opencode add|status`: the "Add to OpenCode" button for terminals and scripts.
//!
//! `add` merges `mcp.dingtalk` (the stdio helper `dingbridge-mcp` beside this binary, else on PATH) into
//! OpenCode's global config, keeping its comments and other keys and writing a backup first; `status` says
//! whether the entry is missing, current or stale. Output: one `key: value` line each, for people and
//! scripts alike.

use clap::Subcommand;
use dingbridge_core::settings::{EntryState, OpenCodeIntegration, OpenCodeSetup};

#[derive(Subcommand, Clone, Copy, PartialEq, Eq)]
pub enum OpenCodeAction {
    /// Add (or repair) the `dingtalk` MCP server in OpenCode's global config; a backup is written first.
    Add,
    /// Show the `dingtalk` entry's state in OpenCode's global config and the config to use.
    Status,
}

pub fn run(action: OpenCodeAction) -> anyhow::Result<()> {
    let opencode = OpenCodeIntegration::detect();
    let setup = match action {
        OpenCodeAction::Add => opencode.add(None)?,
        OpenCodeAction::Status => opencode.state(None)?,
    };
    print(&setup);
    if action == OpenCodeAction::Status && setup.entry != EntryState::Current {
        println!("hint: run `dingbridged opencode add` to add DingBridge to OpenCode");
    }
    Ok(())
}

fn print(setup: &OpenCodeSetup) {
    let entry = match setup.entry {
        EntryState::Missing => "missing",
        EntryState::Current => "current",
        EntryState::Stale => "stale",
    };
    println!("config: {}", setup.global_config_path);
    println!("entry: {entry}");
    println!(
        "helper: {}",
        setup
            .helper_path
            .as_deref()
            .unwrap_or("(dingbridge-mcp not found)")
    );
    if let Some(backup) = &setup.backup_path {
        println!("backup: {backup}");
    }
    println!("local: {}", setup.local);
}
