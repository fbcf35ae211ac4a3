//! The dashboard's MCP health (`GET /api/health` → `mcp`, Tauri `get_health`): real MCP clients over real
//! HTTP on loopback, read back through the same core function the route and the command call.

mod mcp_common;

use std::time::Duration;

use dingbridge_core::api::health::health;
use mcp_common::{TOKEN, call, error_code, fixture, http_server, ok, wait_for};
use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::json;

#[tokio::test]
async fn health_counts_a_streamable_client_its_calls_and_its_errors_until_it_disconnects() {
    let f = fixture().await;
    let (addr, _stop) = http_server(f.handler.clone()).await;
    let before = health(&f.engine).await.expect("health").mcp;
    assert_eq!(before.clients, 0);
    assert!(before.recent_errors.is_empty());

    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(format!("http://{addr}/mcp"))
            .auth_header(TOKEN),
    );
    let client = ().serve(transport).await.expect("initialise over HTTP");
    ok(&call(&client, "list_conversations", json!({})).await);
    let missing = call(
        &client,
        "get_messages",
        json!({"conversation_id": "cidNope=="}),
    )
    .await;
    assert_eq!(error_code(&missing), "NOT_FOUND");

    let view = health(&f.engine).await.expect("health");
    assert_eq!(view.mcp.clients, 1, "one open session: {:?}", view.mcp);
    assert!(view.mcp.calls_last_minute >= 2, "{:?}", view.mcp);
    let newest = view.mcp.recent_errors.first().expect("the failed call");
    assert_eq!(
        (newest.tool.as_str(), newest.code.as_str()),
        ("get_messages", "NOT_FOUND")
    );
    let this_minute = view.timeline.last().expect("the current minute");
    // The calls may straddle a minute boundary: the last two minutes hold them.
    let recent: u64 = view
        .timeline
        .iter()
        .rev()
        .take(2)
        .map(|p| p.mcp_calls)
        .sum();
    assert!(recent >= 2, "timeline counts the calls: {this_minute:?}");
    let json = serde_json::to_value(&view).expect("serialises");
    assert_eq!(json["mcp"]["recent_errors"][0]["code"], "NOT_FOUND");
    assert!(
        !json.to_string().contains("cidNope"),
        "no arguments in the health view"
    );

    // rmcp's client ends its session with DELETE /mcp.
    client.cancel().await.expect("session closed");
    let dropped = wait_for(Duration::from_secs(20), || async {
        health(&f.engine).await.map(|v| v.mcp.clients).ok() == Some(0)
    })
    .await;
    assert!(dropped, "the closed session no longer counts");
}

#[tokio::test]
async fn a_legacy_sse_stream_counts_as_a_client_while_it_is_open() {
    let f = fixture().await;
    let (addr, _stop) = http_server(f.handler.clone()).await;
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let mut stream = http
        .get(format!("http://{addr}/sse"))
        .bearer_auth(TOKEN)
        .header("Accept", "text/event-stream")
        .send()
        .await
        .expect("GET /sse");
    assert_eq!(stream.status(), 200);
    let first = stream.chunk().await.expect("endpoint event");
    assert!(first.is_some());
    let counted = wait_for(Duration::from_secs(10), || async {
        health(&f.engine).await.map(|v| v.mcp.clients).ok() == Some(1)
    })
    .await;
    assert!(counted, "the open SSE stream counts");
    drop(stream);
    // The server notices the closed stream at its next write (keep-alive every 15 s).
    let dropped = wait_for(Duration::from_secs(40), || async {
        health(&f.engine).await.map(|v| v.mcp.clients).ok() == Some(0)
    })
    .await;
    assert!(dropped, "the closed SSE stream no longer counts");
}
