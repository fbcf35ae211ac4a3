//! `dingbridged credentials set | status | clear` and `dingbridged mcp-token`: the same secret store as the
//! engine (env over the OS keychain).
//!
//! Invariants: a secret enters only through stdin or a hidden prompt (never argv), goes only to the
//! keychain, and is never printed back (status says "set" and where from). When the keychain cannot be
//! reached these commands fail with its error, which says what to do. Every keychain call here is blocking,
//! so these commands run before (and without) the async runtime.

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use dingbridge_core::config::{Config, SettingsFile};
use dingbridge_core::mcp::McpToken;
use dingbridge_core::secrets::{
    self, CLIENT_SECRET, DASHBOARD_SECRET, MCP_TOKEN, OPENCODE_PASSWORD, SecretSource, SecretStore,
};
use secrecy::{ExposeSecret, SecretString};

/// Longest secret accepted on stdin (DingTalk secrets are 64 characters; this only bounds a mistake such
/// as piping a file in).
const MAX_SECRET_BYTES: u64 = 4096;

/// Reads one secret: a hidden prompt on a terminal, else all of stdin (one trailing newline dropped).
pub fn read_secret(prompt: &str) -> anyhow::Result<SecretString> {
    let text = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt).context("cannot read the secret from the terminal")?
    } else {
        let mut text = String::new();
        std::io::stdin()
            .take(MAX_SECRET_BYTES + 1)
            .read_to_string(&mut text)
            .context("cannot read the secret from stdin")?;
        anyhow::ensure!(
            text.len() as u64 <= MAX_SECRET_BYTES,
            "the secret on stdin is longer than {MAX_SECRET_BYTES} bytes"
        );
        text
    };
    let secret = text.trim_end_matches(['\r', '\n']);
    anyhow::ensure!(
        !secret.trim().is_empty(),
        "no secret given (pipe it on stdin or type it at the prompt)"
    );
    Ok(SecretString::from(secret.to_owned()))
}

/// Stores `secret` under `account` and reads it back, so "saved" means the keychain really holds it.
pub fn store_secret(
    store: &dyn SecretStore,
    account: &str,
    secret: SecretString,
) -> anyhow::Result<()> {
    store.set(account, secret.clone())?;
    let back = store.get_stored(account)?;
    anyhow::ensure!(
        back.as_ref().map(|v| v.expose_secret()) == Some(secret.expose_secret()),
        "the keychain did not return the value just saved for {account}"
    );
    if let Some(variable) = store.env_variable(account) {
        eprintln!("note: {variable} is set in this environment and wins over the keychain");
    }
    Ok(())
}

/// `credentials status`: one line per item, never a value. Fails (non-zero exit) when the keychain cannot
/// be reached, after listing what the environment provides.
pub fn status(store: &dyn SecretStore, config: &Config, config_path: &Path) -> anyhow::Result<()> {
    let keychain = store.check();
    match &keychain {
        Ok(()) => println!(
            "keychain: {} (service \"{}\"): available",
            store.backend(),
            secrets::service_name()
        ),
        Err(_) => println!(
            "keychain: {} (service \"{}\"): NOT available",
            store.backend(),
            secrets::service_name()
        ),
    }
    let client_id = match (&config.dingtalk.client_id, env_set("DINGTALK_CLIENT_ID")) {
        (Some(id), true) => format!("{id} (env DINGTALK_CLIENT_ID)"),
        (Some(id), false) => format!("{id} (settings file {})", config_path.display()),
        (None, _) => "not set".to_owned(),
    };
    println!("client id: {client_id}");
    for account in [
        CLIENT_SECRET,
        OPENCODE_PASSWORD,
        MCP_TOKEN,
        DASHBOARD_SECRET,
    ] {
        let line = match store.source(account) {
            Ok(SecretSource::Env(variable)) => format!("set (env {variable})"),
            Ok(SecretSource::Store) => "set (keychain)".to_owned(),
            Ok(SecretSource::Missing) => "not set".to_owned(),
            Err(err) if err.code() == "KEYCHAIN_UNAVAILABLE" => {
                "unknown (keychain not available)".into()
            }
            Err(err) => format!("unknown ({})", err.code()),
        };
        println!("{account}: {line}");
    }
    keychain.map_err(anyhow::Error::from)
}

/// `credentials clear`: removes the DingTalk client secret and the OpenCode password from the keychain;
/// with `all`, also the MCP token and the dashboard secret (new ones are created on the next start).
pub fn clear(store: &dyn SecretStore, all: bool) -> anyhow::Result<()> {
    let mut accounts = vec![CLIENT_SECRET, OPENCODE_PASSWORD];
    if all {
        accounts.extend([MCP_TOKEN, DASHBOARD_SECRET]);
    }
    for account in accounts {
        store.delete(account)?;
        println!("{account}: removed from the keychain");
        if let Some(variable) = store.env_variable(account) {
            eprintln!(
                "note: {variable} is still set in this environment and still supplies {account}"
            );
        }
    }
    Ok(())
}

/// `mcp-token [--rotate]`: prints the token in effect (creating it on first use). Rotation is refused when
/// the token comes from `DINGBRIDGE_TOKEN`: a new keychain token would not be the one servers accept.
pub fn mcp_token(store: Arc<dyn SecretStore>, rotate: bool) -> anyhow::Result<()> {
    let token = McpToken::load_or_create(store)?;
    let value = if rotate {
        token.rotate()?
    } else {
        token.current()
    };
    println!("{}", value.expose_secret());
    Ok(())
}

fn env_set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|value| !value.trim().is_empty())
}

/// Writes `[dingtalk] client_id` into the settings file, keeping the user's comments and other keys.
pub fn save_client_id(config_path: &Path, client_id: &str) -> anyhow::Result<()> {
    let mut file = SettingsFile::open(config_path)?;
    file.set("dingtalk.client_id", client_id)?;
    // Same checks as loading, so a file we cannot start from is never written.
    file.to_config()?;
    file.save()?;
    Ok(())
}
