//! The MCP server over real HTTP on loopback: Streamable HTTP with the rmcp client, the legacy HTTP+SSE
//! adapter with a raw client, and the security rules (token, Origin, Host, loopback-only, open /health).

mod mcp_common;

use std::time::Duration;

use mcp_common::{TOKEN, call, error_code, fixture, http_server, ok};
use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn post_mcp(url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = http()
        .post(url)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .body(INIT);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("request sent")
}

#[tokio::test]
async fn the_rmcp_client_lists_and_calls_tools_over_streamable_http() {
    let f = fixture().await;
    let (addr, _stop) = http_server(f.handler.clone()).await;
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(format!("http://{addr}/mcp"))
            .auth_header(TOKEN),
    );
    let client = ().serve(transport).await.expect("initialise over HTTP");
    let tools = client.list_all_tools().await.expect("tools/list");
    assert_eq!(tools.len(), 9);
    let conversations = ok(&call(&client, "list_conversations", json!({})).await);
    assert_eq!(conversations["total"], 2);
    let missing = call(
        &client,
        "get_messages",
        json!({"conversation_id": "cidNope=="}),
    )
    .await;
    assert_eq!(error_code(&missing), "NOT_FOUND");
    let sent = ok(&call(
        &client,
        "send_message",
        json!({"conversation_id": f.lisi_chat, "content": "over http"}),
    )
    .await);
    assert!(
        sent["outbox_ids"]
            .as_array()
            .is_some_and(|ids| !ids.is_empty())
    );
    client.cancel().await.expect("session closed");
}

/// Minimal legacy-SSE client: reads `event:`/`data:` pairs from the GET /sse response.
struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

impl SseReader {
    async fn next_event(&mut self) -> (String, String) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if !data.is_empty() {
                    return (event, data);
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.response.chunk())
                .await
                .expect("SSE data in time")
                .expect("SSE readable")
                .expect("SSE stream open");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

#[tokio::test]
async fn a_legacy_sse_client_initialises_lists_and_calls_tools() {
    let f = fixture().await;
    let (addr, _stop) = http_server(f.handler.clone()).await;
    let base = format!("http://{addr}");
    let response = http()
        .get(format!("{base}/sse"))
        .header("Accept", "text/event-stream")
        .bearer_auth(TOKEN)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut sse = SseReader {
        response,
        buffer: String::new(),
    };
    let (event, endpoint) = sse.next_event().await;
    assert_eq!(event, "endpoint");
    assert!(endpoint.starts_with("/messages?sessionId="));
    let post = |body: String| {
        let url = format!("{base}{endpoint}");
        async move {
            http()
                .post(url)
                .bearer_auth(TOKEN)
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(post(INIT.to_owned()).await, 202);
    let (_, init) = sse.next_event().await;
    let init: Value = serde_json::from_str(&init).unwrap();
    assert_eq!(init["result"]["serverInfo"]["name"], "dingbridge");
    assert_eq!(
        post(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.into()).await,
        202
    );
    assert_eq!(
        post(r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#.into()).await,
        202
    );
    let (_, list) = sse.next_event().await;
    let list: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list["result"]["tools"].as_array().unwrap().len(), 9);
    let call = json!({"jsonrpc":"2.0","id":3,"method":"tools/call",
        "params":{"name":"get_messages","arguments":{"conversation_id":"cidNope=="}}});
    assert_eq!(post(call.to_string()).await, 202);
    let (_, result) = sse.next_event().await;
    let result: Value = serde_json::from_str(&result).unwrap();
    assert_eq!(result["result"]["isError"], true);
    assert_eq!(result["result"]["structuredContent"]["code"], "NOT_FOUND");
    // Posting to a session that does not exist is a 404.
    let unknown = http()
        .post(format!("{base}/messages?sessionId=nope"))
        .bearer_auth(TOKEN)
        .body(INIT)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn requests_without_a_token_or_with_a_wrong_one_get_401_on_every_mcp_route() {
    let f = fixture().await;
    let (addr, _stop) = http_server(f.handler.clone()).await;
    let url = format!("http://{addr}/mcp");
    let missing = post_mcp(&url, &[]).await;
    assert_eq!(missing.status(), 401);
    assert!(missing.headers().get("www-authenticate").is_some());
    let wrong = post_mcp(&url, &[("Authorization", "Bearer dbm_wrong")]).await;
    assert_eq!(wrong.status(), 401);
    let basic = post_mcp(&url, &[("Authorization", &format!("Basic {TOKEN}"))]).await;
    assert_eq!(basic.status(), 401);
    for path in ["/sse", "/messages?sessionId=x"] {
        let status = http()
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .unwrap()
            .status();
        assert!(status == 401 || status == 405, "{path}: {status}");
    }
    let sse = http()
        .get(format!("http://{addr}/sse"))
        .send()
        .await
        .unwrap();
    assert_eq!(sse.status(), 401);
    let right = post_mcp(&url, &[("Authorization", &format!("Bearer {TOKEN}"))]).await;
    assert_eq!(right.status(), 200);
}

#[tokio::test]
async fn browser_origins_are_refused_with_403_even_with_the_token() {
    let f = fixture().await;
    let (addr, _stop) = http_server(f.handler.clone()).await;
    let auth = format!("Bearer {TOKEN}");
    for origin in ["https://evil.example", "http://localhost:3000", "null"] {
        let response = post_mcp(
            &format!("http://{addr}/mcp"),
            &[("Authorization", &auth), ("Origin", origin)],
        )
        .await;
        assert_eq!(response.status(), 403, "{origin}");
    }
    // The server's own origin is what a same-origin request carries (the conformance suite checks it).
    let own = post_mcp(
        &format!("http://{addr}/mcp"),
        &[
            ("Authorization", &auth),
            ("Origin", &format!("http://{addr}")),
        ],
    )
    .await;
    assert_eq!(own.status(), 200);
    let sse = http()
        .get(format!("http://{addr}/sse"))
        .bearer_auth(TOKEN)
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(sse.status(), 403);
}

#[tokio::test]
async fn a_non_loopback_host_header_is_refused() {
    let f = fixture().await;
    let (addr, _stop) = http_server(f.handler.clone()).await;
    let auth = format!("Bearer {TOKEN}");
    for host in ["evil.example", "evil.example:80", "127.0.0.1.nip.io"] {
        let response = post_mcp(
            &format!("http://{addr}/mcp"),
            &[("Authorization", &auth), ("Host", host)],
        )
        .await;
        assert_eq!(response.status(), 403, "{host}");
        let health = http()
            .get(format!("http://{addr}/health"))
            .header("Host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 403, "/health with {host}");
    }
    let localhost = post_mcp(
        &format!("http://{addr}/mcp"),
        &[
            ("Authorization", &auth),
            ("Host", &format!("localhost:{}", addr.port())),
        ],
    )
    .await;
    assert_eq!(localhost.status(), 200);
}

#[tokio::test]
async fn the_listener_is_bound_to_loopback_only() {
    let f = fixture().await;
    let (addr, _stop) = http_server(f.handler.clone()).await;
    assert!(addr.ip().is_loopback());
    // Reaching the same port through a non-loopback address of this machine must fail.
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").and_then(|s| {
        s.connect("192.0.2.1:9")?;
        s.local_addr()
    });
    if let Ok(local) = probe
        && !local.ip().is_loopback()
        && !local.ip().is_unspecified()
    {
        let outside = std::net::SocketAddr::new(local.ip(), addr.port());
        let connected =
            std::net::TcpStream::connect_timeout(&outside, Duration::from_millis(500)).is_ok();
        assert!(!connected, "reachable on {outside}");
    }
}

#[tokio::test]
async fn health_is_open_and_reveals_no_secret() {
    let f = fixture().await;
    let (addr, _stop) = http_server(f.handler.clone()).await;
    let response = http()
        .get(format!("http://{addr}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["status"], "ok");
    assert!(!text.contains(TOKEN));
    assert!(!text.to_lowercase().contains("secret"));
    assert!(!text.contains("mcp-secret"));
}
