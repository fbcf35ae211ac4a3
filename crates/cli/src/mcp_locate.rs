//! How `dingbridge-mcp` finds the running app: the endpoint from `--url` / `DINGBRIDGE_MCP_URL` or the
//! runtime file, the token from `DINGBRIDGE_TOKEN` or the keychain entry the runtime file names. A problem is
//! described in words the user can act on; it is sent to the MCP client as a JSON-RPC error.
//! [`locate`] blocks (keychain): call it from `spawn_blocking`.

use std::path::Path;
use std::time::Duration;

use dingbridge_core::mcp::runtime_file::{self, RuntimeFileError, TokenRef};
use dingbridge_core::secrets::{KeychainSecretStore, SecretStore};
use secrecy::{ExposeSecret, SecretString};

pub const URL_ENV: &str = "DINGBRIDGE_MCP_URL";
pub const TOKEN_ENV: &str = "DINGBRIDGE_TOKEN";

#[derive(Clone, Debug)]
pub struct Target {
    pub url: String,
    pub token: SecretString,
}

/// Why the helper cannot reach the app (stable `reason`s for clients and tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub reason: &'static str,
    pub message: String,
}

impl Problem {
    pub fn not_running(message: impl Into<String>) -> Self {
        Self {
            reason: "app_not_running",
            message: message.into(),
        }
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            reason: "unauthorized",
            message: message.into(),
        }
    }
    pub fn misconfigured(message: impl Into<String>) -> Self {
        Self {
            reason: "misconfigured",
            message: message.into(),
        }
    }
    pub fn connection_lost(message: impl Into<String>) -> Self {
        Self {
            reason: "connection_lost",
            message: message.into(),
        }
    }
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Resolves URL and token without touching the network.
pub fn locate(url_arg: Option<String>, runtime_path: &Path) -> Result<Target, Problem> {
    let env_token = env_nonempty(TOKEN_ENV).map(SecretString::from);
    let explicit_url = url_arg.or_else(|| env_nonempty(URL_ENV));
    if let (Some(url), Some(token)) = (&explicit_url, &env_token) {
        return Ok(Target {
            url: url.clone(),
            token: token.clone(),
        });
    }
    let info = match runtime_file::read(runtime_path) {
        Ok(info) => info,
        Err(RuntimeFileError::Missing(path)) => {
            return Err(match explicit_url {
                Some(_) => Problem::misconfigured(format!(
                    "no MCP token: set {TOKEN_ENV} (DingBridge settings → MCP shows it), or start the \
                     DingBridge app so dingbridge-mcp can read it (no runtime file at {})",
                    path.display()
                )),
                None => Problem::not_running(format!(
                    "DingBridge is not running: start the DingBridge app (or `dingbridged`), then retry \
                     (no runtime file at {})",
                    path.display()
                )),
            });
        }
        Err(err) => return Err(Problem::misconfigured(err.to_string())),
    };
    let token = match env_token {
        Some(token) => token,
        None => read_token(&info.token)?,
    };
    Ok(Target {
        url: explicit_url.unwrap_or(info.url),
        token,
    })
}

fn read_token(reference: &TokenRef) -> Result<SecretString, Problem> {
    match reference {
        TokenRef::Keychain { service, account } => {
            match KeychainSecretStore::platform(service.as_str()).get(account) {
                Ok(Some(token)) if !token.expose_secret().is_empty() => Ok(token),
                Ok(_) => Err(Problem::misconfigured(format!(
                    "the MCP token is missing from the keychain (service \"{service}\", account \"{account}\"); \
                     restart DingBridge to create one"
                ))),
                Err(err) => Err(Problem::misconfigured(format!(
                    "cannot read the MCP token: {err}"
                ))),
            }
        }
        TokenRef::Env { variable } => env_nonempty(variable).map(SecretString::from).ok_or_else(|| {
            Problem::misconfigured(format!(
                "DingBridge was given its MCP token through ${variable}; set the same variable for \
                 dingbridge-mcp (e.g. in OpenCode's `environment`)"
            ))
        }),
    }
}

/// Cheap checks before pumping: is anything listening, and does it accept the token? Two loopback round
/// trips (a few ms) buy precise errors instead of a generic "connection closed" in the client.
pub async fn preflight(target: &Target) -> Result<(), Problem> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(3))
        .build()
        .map_err(|err| Problem::misconfigured(format!("cannot create an HTTP client: {err}")))?;
    let response = client
        .get(&target.url)
        .header("Accept", "text/event-stream")
        .bearer_auth(target.token.expose_secret())
        .send()
        .await
        .map_err(|err| {
            if err.is_connect() || err.is_timeout() {
                Problem::not_running(format!(
                    "DingBridge is not running (nothing answers at {}): start the DingBridge app, then retry",
                    target.url
                ))
            } else {
                Problem::not_running(format!("DingBridge at {} cannot be reached: {err}", target.url))
            }
        })?;
    match response.status().as_u16() {
        401 => Err(Problem::unauthorized(format!(
            "DingBridge refused the MCP token (401 at {}): use the current token from DingBridge settings \
             ({TOKEN_ENV}), or unset {TOKEN_ENV} to use the stored one",
            target.url
        ))),
        403 => Err(Problem::misconfigured(format!(
            "DingBridge refused the request (403 at {}): the URL must use 127.0.0.1 or localhost",
            target.url
        ))),
        404 => Err(Problem::misconfigured(format!(
            "{} is not an MCP endpoint (404): use http://127.0.0.1:<port>/mcp",
            target.url
        ))),
        _ => Ok(()),
    }
}
