//! The fake OpenCode's `crash()` behaves like `kill -9` of `opencode serve` followed by a restart on the same
//! data: what was stored stays, and nothing of the dead process runs on. In particular a restarted OpenCode
//! reports no session busy (its session status is kept in memory only); a session left "busy" by a dead turn
//! would make a client wait for events that never come.

use std::time::Duration;

use dingtalk_sim::{FakeOpenCode, FakeOpenCodeConfig, Script};
use serde_json::{Value, json};

async fn post(url: String, body: Value) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
}

async fn eventually(mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tokio::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    check()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_a_crash_with_prompts_queued_on_a_session_no_session_is_busy() {
    let opencode = FakeOpenCode::start(FakeOpenCodeConfig::default())
        .await
        .unwrap();
    opencode.script_for(
        "slowly",
        Script::slow("one two three four five six", Duration::from_millis(100)),
    );
    let base = opencode.base_url();
    let session: Value = reqwest::Client::new()
        .post(format!("{base}/session"))
        .json(&json!({ "title": "crash" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = session["id"].as_str().unwrap().to_owned();
    // One turn runs; the others wait for the session (OpenCode runs one prompt at a time per session).
    for n in 0..8 {
        let body = json!({ "parts": [{ "type": "text", "text": format!("answer slowly {n}") }] });
        let status = post(format!("{base}/session/{id}/prompt_async"), body).await;
        assert_eq!(status, reqwest::StatusCode::NO_CONTENT);
    }
    assert!(eventually(|| !opencode.busy_sessions().is_empty()).await);
    tokio::time::sleep(Duration::from_millis(150)).await;

    opencode.crash().await.unwrap();
    opencode.set_down(false).await.unwrap();
    // Long enough for every killed turn (and its queued successors) to have been dropped.
    tokio::time::sleep(Duration::from_millis(500)).await;

    assert_eq!(opencode.busy_sessions(), Vec::<String>::new());
    let status: Value = reqwest::get(format!("{base}/session/status"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status, json!({}), "GET /session/status after the restart");
    let history: Vec<Value> = reqwest::get(format!("{base}/session/{id}/message"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let users = history
        .iter()
        .filter(|m| m["info"]["role"] == "user")
        .count();
    assert_eq!(
        users, 1,
        "only the running turn's prompt was stored: {history:#?}"
    );
    let unfinished = history
        .iter()
        .filter(|m| m["info"]["role"] == "assistant")
        .all(|m| m["info"]["time"]["completed"].is_null());
    assert!(
        unfinished,
        "the cut-off answer stays unfinished: {history:#?}"
    );
}
