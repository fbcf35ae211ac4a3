//! The OS keychain store against a real Secret Service (CI: gnome-keyring unlocked inside
//! `dbus-run-session`, see `scripts/with-keychain`). Each test uses its own service name, so tests never
//! see each other's entries. Without a reachable keychain these tests skip, unless
//! `DINGBRIDGE_KEYCHAIN_TESTS=1` (set by `scripts/test`) makes that a failure.

use std::process::Command;

use dingbridge_core::secrets::{
    self, CLIENT_SECRET, KeychainSecretStore, LEGACY_FILE_NAME, MCP_TOKEN, OPENCODE_PASSWORD,
    SecretStore,
};
use secrecy::{ExposeSecret, SecretString};

/// A keychain store under a service name of its own, or `None` (skip) when no keychain is reachable and
/// the run does not require one.
fn keychain(test: &str) -> Option<KeychainSecretStore> {
    let service = format!("dingbridge-test-{}-{test}", std::process::id());
    let store = KeychainSecretStore::platform(service);
    match store.check() {
        Ok(()) => Some(store),
        Err(err) if std::env::var("DINGBRIDGE_KEYCHAIN_TESTS").as_deref() == Ok("1") => {
            panic!("DINGBRIDGE_KEYCHAIN_TESTS=1 but the keychain is not reachable: {err}")
        }
        Err(err) => {
            eprintln!(
                "skipping {test}: no reachable keychain ({err}); run it through scripts/with-keychain"
            );
            None
        }
    }
}

fn value(store: &dyn SecretStore, account: &str) -> Option<String> {
    store
        .get(account)
        .unwrap()
        .map(|v| v.expose_secret().to_owned())
}

#[test]
fn a_secret_set_in_the_keychain_reads_back_from_a_new_connection() {
    let Some(store) = keychain("set-read") else {
        return;
    };
    store
        .set(CLIENT_SECRET, SecretString::from("first-value"))
        .unwrap();
    let again = KeychainSecretStore::platform(store.service());
    assert_eq!(value(&again, CLIENT_SECRET).as_deref(), Some("first-value"));
    store.delete(CLIENT_SECRET).unwrap();
}

#[test]
fn setting_a_secret_again_replaces_it() {
    let Some(store) = keychain("replace") else {
        return;
    };
    store.set(MCP_TOKEN, SecretString::from("old")).unwrap();
    store.set(MCP_TOKEN, SecretString::from("new")).unwrap();
    assert_eq!(value(&store, MCP_TOKEN).as_deref(), Some("new"));
    store.delete(MCP_TOKEN).unwrap();
}

#[test]
fn a_deleted_secret_is_gone_and_deleting_it_again_is_fine() {
    let Some(store) = keychain("delete") else {
        return;
    };
    store
        .set(OPENCODE_PASSWORD, SecretString::from("pw"))
        .unwrap();
    store.delete(OPENCODE_PASSWORD).unwrap();
    assert_eq!(value(&store, OPENCODE_PASSWORD), None);
    store.delete(OPENCODE_PASSWORD).unwrap();
}

#[test]
fn services_do_not_see_each_others_entries() {
    let (Some(one), Some(two)) = (keychain("isolation-a"), keychain("isolation-b")) else {
        return;
    };
    one.set(CLIENT_SECRET, SecretString::from("only-in-a"))
        .unwrap();
    assert_eq!(value(&two, CLIENT_SECRET), None);
    one.delete(CLIENT_SECRET).unwrap();
}

#[test]
fn an_old_secrets_json_moves_into_the_keychain_and_the_file_is_removed() {
    let Some(keychain) = keychain("migration") else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join(LEGACY_FILE_NAME);
    std::fs::write(
        &file,
        r#"{"mcp-token": "dbm_migrated", "opencode-password": "pw-migrated"}"#,
    )
    .unwrap();
    // The store the binaries use (env over keychain) over this test's service.
    let store = secrets::open_with_service(keychain.service());
    let moved = secrets::migrate_legacy_file(data.path(), store.as_ref()).unwrap();
    assert_eq!(moved, ["mcp-token", "opencode-password"]);
    assert!(!file.exists(), "secrets.json is still there");
    assert_eq!(value(&keychain, MCP_TOKEN).as_deref(), Some("dbm_migrated"));
    assert_eq!(
        value(&keychain, OPENCODE_PASSWORD).as_deref(),
        Some("pw-migrated")
    );
    keychain.delete(MCP_TOKEN).unwrap();
    keychain.delete(OPENCODE_PASSWORD).unwrap();
}

#[cfg(target_os = "linux")]
/// Runs [`unreachable_keychain_child`] in a child process whose session bus address leads nowhere (a
/// process-wide setting, so not something to change inside this multi-threaded test binary).
#[test]
fn an_unreachable_secret_service_is_keychain_unavailable_with_advice() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "unreachable_keychain_child",
            "--ignored",
            "--nocapture",
        ])
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/dingbridge-test-bus",
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("1 passed"), "{stdout}");
}

#[cfg(target_os = "linux")]
#[test]
#[ignore = "run by an_unreachable_secret_service_is_keychain_unavailable_with_advice without a session bus"]
fn unreachable_keychain_child() {
    let store = KeychainSecretStore::platform("dingbridge-test-unreachable");
    for result in [
        store.check(),
        store.get(CLIENT_SECRET).map(|_| ()),
        store.set(CLIENT_SECRET, SecretString::from("never-written")),
    ] {
        let err = result.unwrap_err();
        assert_eq!(err.code(), "KEYCHAIN_UNAVAILABLE");
        let text = err.to_string();
        assert!(
            text.contains("Secret Service") && text.contains("DINGTALK_CLIENT_SECRET"),
            "no advice in: {text}"
        );
        assert!(!text.contains("never-written"));
    }
}
