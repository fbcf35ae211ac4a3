//! Every MCP tool, resource and prompt through an rmcp client (in-process) against a real engine and the
//! DingTalk simulator: results, documented error codes, list changes and progress.

mod mcp_common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dingbridge_core::mcp::ToolAvailability;
use mcp_common::{GROUP_ID, GROUP_TITLE, call, error_code, fixture, in_process, ok, wait_for};
use rmcp::model::{
    CallToolRequestParams, GetPromptRequestParams, NumberOrString, ProgressNotificationParam,
    ProgressToken, ReadResourceRequestParams, RequestMetaObject,
};
use rmcp::service::NotificationContext;
use rmcp::{ClientHandler, RoleClient};
use serde_json::json;

const ALL_TOOLS: [&str; 9] = [
    "find_group",
    "find_user",
    "get_messages",
    "get_performance",
    "get_stats",
    "list_conversations",
    "send_message",
    "send_to_group",
    "send_to_user",
];

#[tokio::test]
async fn every_tool_is_listed_with_input_and_object_output_schemas_and_all_four_annotations() {
    let f = fixture().await;
    let client = in_process(f.handler.clone(), ()).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, ALL_TOOLS);
    for tool in &tools {
        assert!(
            format!("dingtalk_{}", tool.name).len() <= 64,
            "OpenCode name too long: {}",
            tool.name
        );
        assert!(tool.description.as_deref().is_some_and(|d| d.len() > 20));
        assert_eq!(tool.input_schema.get("type"), Some(&json!("object")));
        let output = tool.output_schema.as_ref().expect("output schema");
        assert_eq!(output.get("type"), Some(&json!("object")), "{}", tool.name);
        let a = tool.annotations.as_ref().expect("annotations");
        assert!(a.read_only_hint.is_some() && a.destructive_hint.is_some());
        assert!(a.idempotent_hint.is_some() && a.open_world_hint.is_some());
    }
    let send = tools.iter().find(|t| t.name == "send_message").unwrap();
    assert_eq!(
        send.annotations.as_ref().unwrap().read_only_hint,
        Some(false)
    );
    let stats = tools.iter().find(|t| t.name == "get_stats").unwrap();
    assert_eq!(
        stats.annotations.as_ref().unwrap().read_only_hint,
        Some(true)
    );
}

#[tokio::test]
async fn list_conversations_is_newest_first_paged_and_filtered_by_keyword() {
    let f = fixture().await;
    let client = in_process(f.handler.clone(), ()).await;
    let all = ok(&call(&client, "list_conversations", json!({})).await);
    let items = all["items"].as_array().unwrap();
    assert_eq!(all["total"], 2);
    let times: Vec<i64> = items
        .iter()
        .map(|i| i["last_message_at_ms"].as_i64().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );

    let page = ok(&call(
        &client,
        "list_conversations",
        json!({"page": 1, "page_size": 1}),
    )
    .await);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["has_more"], true);

    let filtered = ok(&call(&client, "list_conversations", json!({"keyword": "项目A"})).await);
    assert_eq!(filtered["total"], 1);
    assert_eq!(filtered["items"][0]["conversation_id"], GROUP_ID);
}

#[tokio::test]
async fn get_messages_returns_history_in_and_out_newest_first() {
    let f = fixture().await;
    let client = in_process(f.handler.clone(), ()).await;
    let history = ok(&call(
        &client,
        "get_messages",
        json!({"conversation_id": f.lisi_chat, "limit": 10}),
    )
    .await);
    let items = history["items"].as_array().unwrap();
    let directions: Vec<&str> = items
        .iter()
        .map(|i| i["direction"].as_str().unwrap())
        .collect();
    assert!(
        directions.contains(&"in") && directions.contains(&"out"),
        "{directions:?}"
    );
    assert!(
        items
            .iter()
            .any(|i| i["content"].as_str().unwrap().contains("hello from lisi"))
    );
    let times: Vec<i64> = items.iter().map(|i| i["at_ms"].as_i64().unwrap()).collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
}

#[tokio::test]
async fn send_message_goes_through_the_outbox_to_dingtalk() {
    let f = fixture().await;
    let client = in_process(f.handler.clone(), ()).await;
    let sent = ok(&call(
        &client,
        "send_message",
        json!({"conversation_id": f.lisi_chat, "content": "build is **green**", "format": "markdown"}),
    )
    .await);
    assert!(
        sent["status"] == "sent" || sent["status"] == "queued",
        "{sent}"
    );
    assert!(
        sent["outbox_ids"]
            .as_array()
            .is_some_and(|ids| !ids.is_empty())
    );
    let delivered = wait_for(Duration::from_secs(10), || async {
        f.sim
            .received(&f.lisi_chat)
            .iter()
            .any(|m| m.text.contains("build is **green**"))
    })
    .await;
    assert!(delivered, "the simulator received the message");
}

#[tokio::test]
async fn sends_to_unknown_conversations_and_bad_arguments_fail_with_documented_codes() {
    let f = fixture().await;
    let client = in_process(f.handler.clone(), ()).await;
    let unknown = call(
        &client,
        "send_message",
        json!({"conversation_id": "cidNope==", "content": "x"}),
    )
    .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");
    let empty = call(
        &client,
        "send_message",
        json!({"conversation_id": f.lisi_chat, "content": "   "}),
    )
    .await;
    assert_eq!(error_code(&empty), "INVALID_PARAMS");
    let page = call(&client, "list_conversations", json!({"page_size": 0})).await;
    assert_eq!(error_code(&page), "INVALID_PARAMS");
    let history = call(
        &client,
        "get_messages",
        json!({"conversation_id": "cidNope=="}),
    )
    .await;
    assert_eq!(error_code(&history), "NOT_FOUND");
}

#[tokio::test]
async fn missing_mistyped_and_unknown_arguments_are_invalid_params_naming_the_field() {
    let f = fixture().await;
    let client = in_process(f.handler.clone(), ()).await;
    let cases = [
        ("send_message", json!({"content": "x"}), "conversation_id"),
        (
            "get_messages",
            json!({"conversation_id": 5}),
            "conversation_id",
        ),
        (
            "get_messages",
            json!({"conversation_id": "c", "limit": "ten"}),
            "limit",
        ),
        ("list_conversations", json!({"page": -1}), "page"),
        ("find_user", json!({"name": "李四", "fuzzy": true}), "fuzzy"),
    ];
    for (tool, args, field) in cases {
        let result = call(&client, tool, args.clone()).await;
        assert_eq!(error_code(&result), "INVALID_PARAMS", "{tool} {args}");
        let body = result.structured_content.unwrap_or_default();
        assert_eq!(body["details"]["field"], field, "{tool} {args}: {body}");
    }
}

#[tokio::test]
async fn a_wrong_message_format_is_invalid_params_with_the_allowed_values() {
    let f = fixture().await;
    let client = in_process(f.handler.clone(), ()).await;
    let result = call(
        &client,
        "send_message",
        json!({"conversation_id": f.lisi_chat, "content": "x", "format": "html"}),
    )
    .await;
    assert_eq!(error_code(&result), "INVALID_PARAMS");
    let body = result.structured_content.unwrap_or_default();
    assert_eq!(body["details"]["field"], "format");
    assert_eq!(body["details"]["allowed"], json!(["text", "markdown"]));
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("text, markdown"),
        "{body}"
    );
}

#[tokio::test]
async fn get_stats_and_get_performance_report_the_running_engine() {
    let f = fixture().await;
    let client = in_process(f.handler.clone(), ()).await;
    let stats = ok(&call(&client, "get_stats", json!({})).await);
    assert_eq!(stats["mode"], "test");
    assert_eq!(stats["connection"]["state"], "connected");
    assert!(stats["counts"]["received"].as_u64().unwrap() >= 2);
    assert!(stats["quota"]["stream_budget"].as_u64().is_some());
    assert!(stats["queues"].is_object() && stats["rate_limits"].is_object());
    let perf = ok(&call(&client, "get_performance", json!({})).await);
    assert!(perf["frame_to_ack"]["count"].as_u64().unwrap() >= 2);
    assert!(perf["throughput"]["received_total"].as_u64().unwrap() >= 2);
    assert!(perf["memory"]["rss_bytes"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn find_user_returns_one_match_or_candidates_never_a_guess() {
    let f = fixture().await;
    let client = in_process(f.handler.clone(), ()).await;
    let unique = ok(&call(&client, "find_user", json!({"name": "李四"})).await);
    assert_eq!(unique["status"], "unique");
    assert_eq!(unique["user"]["user_id"], "lisi");
    let ambiguous = ok(&call(&client, "find_user", json!({"name": "张伟"})).await);
    assert_eq!(ambiguous["status"], "ambiguous");
    assert!(ambiguous["user"].is_null());
    assert!(ambiguous["candidates"].as_array().unwrap().len() >= 2);
    let nobody = ok(&call(&client, "find_user", json!({"name": "Nobody Atall"})).await);
    assert_eq!(nobody["status"], "not_found");
}

#[tokio::test]
async fn find_group_matches_titles_of_groups_the_bot_has_seen() {
    let f = fixture().await;
    let client = in_process(f.handler.clone(), ()).await;
    let found = ok(&call(&client, "find_group", json!({"name": "项目A"})).await);
    assert_eq!(found["status"], "unique");
    assert_eq!(found["group"]["conversation_id"], GROUP_ID);
    assert_eq!(found["group"]["title"], GROUP_TITLE);
}

#[tokio::test]
async fn send_to_user_resolves_a_unique_name_and_refuses_an_ambiguous_one() {
    let f = fixture().await;
    let client = in_process(f.handler.clone(), ()).await;
    let sent = ok(&call(
        &client,
        "send_to_user",
        json!({"user": "李四", "content": "hi lisi"}),
    )
    .await);
    assert_eq!(sent["recipient"]["kind"], "user");
    assert_eq!(sent["recipient"]["id"], "lisi");
    let ambiguous = call(
        &client,
        "send_to_user",
        json!({"user": "张伟", "content": "hi"}),
    )
    .await;
    assert_eq!(error_code(&ambiguous), "INVALID_PARAMS");
    let body = ambiguous.structured_content.unwrap();
    assert!(body["details"]["candidates"].as_array().unwrap().len() >= 2);
    let nobody = call(
        &client,
        "send_to_user",
        json!({"user": "Nobody Atall", "content": "hi"}),
    )
    .await;
    assert_eq!(error_code(&nobody), "NOT_FOUND");
}

#[tokio::test]
async fn send_to_group_resolves_the_title_and_delivers() {
    let f = fixture().await;
    let client = in_process(f.handler.clone(), ()).await;
    let sent = ok(&call(
        &client,
        "send_to_group",
        json!({"group": GROUP_TITLE, "content": "deploy done"}),
    )
    .await);
    assert_eq!(sent["recipient"]["id"], GROUP_ID);
    let delivered = wait_for(Duration::from_secs(10), || async {
        f.sim
            .received(GROUP_ID)
            .iter()
            .any(|m| m.text.contains("deploy done"))
    })
    .await;
    assert!(delivered);
    let unknown = call(
        &client,
        "send_to_group",
        json!({"group": "No Such Group", "content": "x"}),
    )
    .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");
}

#[tokio::test]
async fn resources_expose_the_conversation_list_and_each_conversations_messages() {
    let f = fixture().await;
    let client = in_process(f.handler.clone(), ()).await;
    let resources = client.list_all_resources().await.expect("resources/list");
    assert!(
        resources
            .iter()
            .any(|r| r.uri == "dingtalk://conversations")
    );
    let templates = client
        .list_all_resource_templates()
        .await
        .expect("templates");
    assert_eq!(
        templates[0].uri_template,
        "dingtalk://conversations/{conversation_id}/messages"
    );
    let list = client
        .read_resource(ReadResourceRequestParams::new("dingtalk://conversations"))
        .await
        .expect("read list");
    let text = serde_json::to_string(&list.contents).unwrap();
    assert!(text.contains(GROUP_ID));
    let uri = format!("dingtalk://conversations/{}/messages", f.lisi_chat);
    let messages = client
        .read_resource(ReadResourceRequestParams::new(uri))
        .await
        .expect("read messages");
    assert!(
        serde_json::to_string(&messages.contents)
            .unwrap()
            .contains("hello from lisi")
    );
    let missing = client
        .read_resource(ReadResourceRequestParams::new(
            "dingtalk://conversations/nope/messages",
        ))
        .await;
    assert!(
        missing.is_err(),
        "unknown conversation is resource-not-found"
    );
}

#[tokio::test]
async fn prompts_embed_the_conversation_history() {
    let f = fixture().await;
    let client = in_process(f.handler.clone(), ()).await;
    let prompts = client.list_all_prompts().await.expect("prompts/list");
    let names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["reply_to_conversation", "summarize_conversation"]);
    let mut args = serde_json::Map::new();
    args.insert("conversation_id".into(), json!(f.lisi_chat));
    let prompt = client
        .get_prompt(GetPromptRequestParams::new("reply_to_conversation").with_arguments(args))
        .await
        .expect("prompts/get");
    let text = serde_json::to_string(&prompt.messages).unwrap();
    assert!(text.contains("hello from lisi") && text.contains("send_message"));
}

#[derive(Clone, Default)]
struct Recorder {
    list_changed: Arc<Mutex<u32>>,
    progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
}

impl ClientHandler for Recorder {
    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        if let Ok(mut n) = self.list_changed.lock() {
            *n += 1;
        }
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        if let Ok(mut p) = self.progress.lock() {
            p.push(params);
        }
    }
}

#[tokio::test]
async fn losing_credentials_hides_the_dingtalk_tools_and_notifies_list_changed() {
    let f = fixture().await;
    let recorder = Recorder::default();
    let client = in_process(f.handler.clone(), recorder.clone()).await;
    assert_eq!(
        client.list_all_tools().await.unwrap().len(),
        ALL_TOOLS.len()
    );
    f.backend.set_availability(ToolAvailability {
        messaging: false,
        contacts: false,
        docs: false,
    });
    let notified = wait_for(Duration::from_secs(5), || async {
        *recorder.list_changed.lock().unwrap() >= 1
    })
    .await;
    assert!(notified, "tools/list_changed received");
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert!(!names.contains(&"send_message") && !names.contains(&"find_user"));
    assert!(names.contains(&"list_conversations"));
    // A client with a stale list gets a clear AUTH_ERROR.
    let stale = call(
        &client,
        "send_message",
        json!({"conversation_id": f.lisi_chat, "content": "x"}),
    )
    .await;
    assert_eq!(error_code(&stale), "AUTH_ERROR");
    f.backend.set_availability(ToolAvailability::ALL);
    assert!(
        wait_for(Duration::from_secs(5), || async {
            *recorder.list_changed.lock().unwrap() >= 2
        })
        .await
    );
}

#[tokio::test]
async fn slow_name_lookups_report_progress_when_asked() {
    let f = fixture().await;
    let recorder = Recorder::default();
    let client = in_process(f.handler.clone(), recorder.clone()).await;
    let mut params = CallToolRequestParams::new("find_user").with_arguments(
        json!({"name": "李四"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    );
    params.meta = Some(RequestMetaObject::with_progress_token(ProgressToken(
        NumberOrString::Number(77),
    )));
    let result = client.call_tool(params).await.expect("call");
    assert_ne!(result.is_error, Some(true));
    let got = wait_for(Duration::from_secs(3), || async {
        recorder.progress.lock().unwrap().len() >= 2
    })
    .await;
    assert!(got, "progress notifications arrived");
}
