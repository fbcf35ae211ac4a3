//! The DingTalk Docs tools (`create_doc`, `get_doc`, `update_doc`, `list_docs`) through an rmcp client
//! (in-process) against a real engine whose Docs operator comes from `[docs]`, and the DingTalk simulator.

mod mcp_common;

use std::time::Duration;

use dingbridge_core::dingtalk::docs::OperatorRef;
use mcp_common::{Fixture, call, error_code, fixture, fixture_with, in_process, ok, wait_for};
use serde_json::json;

const DOCS_TOOLS: [&str; 4] = ["create_doc", "get_doc", "list_docs", "update_doc"];

/// A fixture whose engine resolves `[docs] operator_user_id = user_id` at start.
async fn docs_fixture(user_id: &str) -> Fixture {
    let user_id = user_id.to_owned();
    let f = fixture_with(move |config| config.docs.operator_user_id = Some(user_id)).await;
    let resolved = wait_for(Duration::from_secs(10), || async {
        f.engine.docs().operator_union_id().is_some()
    })
    .await;
    assert!(
        resolved,
        "the configured Docs operator is resolved at start"
    );
    f
}

#[tokio::test]
async fn docs_tools_are_listed_with_annotations() {
    let f = docs_fixture("zhangwei01").await;
    let client = in_process(f.handler.clone(), ()).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    for name in DOCS_TOOLS {
        let tool = tools
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{name} listed"));
        assert!(tool.description.as_deref().is_some_and(|d| d.len() > 20));
        assert_eq!(tool.input_schema.get("type"), Some(&json!("object")));
        let output = tool.output_schema.as_ref().expect("output schema");
        assert_eq!(output.get("type"), Some(&json!("object")), "{name}");
        let a = tool.annotations.as_ref().expect("annotations");
        let expected = match name {
            "get_doc" | "list_docs" => (true, false, true),
            "create_doc" => (false, false, false),
            _ => (false, true, false),
        };
        assert_eq!(
            (
                a.read_only_hint,
                a.destructive_hint,
                a.idempotent_hint,
                a.open_world_hint
            ),
            (
                Some(expected.0),
                Some(expected.1),
                Some(expected.2),
                Some(true)
            ),
            "{name}"
        );
    }
    let get = tools.iter().find(|t| t.name == "get_doc").unwrap();
    let props = get.input_schema["properties"].as_object().unwrap();
    assert!(props["document_id"]["description"].is_string());
    assert!(props.contains_key("format"));
    let required = get.input_schema["required"].as_array().unwrap();
    assert_eq!(required, &vec![json!("document_id")]);
    let list = tools.iter().find(|t| t.name == "list_docs").unwrap();
    let props = list.input_schema["properties"].as_object().unwrap();
    for field in [
        "space_id",
        "folder_id",
        "keyword",
        "page",
        "page_size",
        "sort_by",
        "sort_order",
    ] {
        assert!(props.contains_key(field), "list_docs.{field}");
    }
}

#[tokio::test]
async fn create_get_append_overwrite_and_list_round_trip_through_mcp() {
    let f = docs_fixture("zhangwei01").await;
    let client = in_process(f.handler.clone(), ()).await;
    let md = "# 周报\n\n本周完成：\n\n1. 登录\n2. 支付\n\n- 风险：无\n\n> 备注";
    let created = ok(&call(
        &client,
        "create_doc",
        json!({"title": "MCP周报 W47", "content": md}),
    )
    .await);
    assert_eq!(created["title"], "MCP周报 W47");
    let id = created["document_id"].as_str().unwrap().to_owned();
    assert!(created["url"].as_str().unwrap().ends_with(&id));

    let markdown = ok(&call(
        &client,
        "get_doc",
        json!({"document_id": id, "format": "markdown"}),
    )
    .await);
    assert_eq!(markdown["content"], md);
    assert_eq!(markdown["format"], "markdown");
    assert_eq!(markdown["author"], "张伟");
    let text = ok(&call(&client, "get_doc", json!({"document_id": id})).await);
    assert_eq!(text["format"], "text");
    assert_eq!(
        text["content"],
        "周报\n本周完成：\n1. 登录\n2. 支付\n- 风险：无\n备注"
    );
    let html = ok(&call(
        &client,
        "get_doc",
        json!({"document_id": id, "format": "html"}),
    )
    .await);
    assert!(html["content"].as_str().unwrap().contains("<h1>周报</h1>"));

    let appended = ok(&call(
        &client,
        "update_doc",
        json!({"document_id": id, "content": "## 下周\n\n上线", "mode": "append", "comment": "next week"}),
    )
    .await);
    assert_eq!(appended["mode"], "append");
    let after = ok(&call(
        &client,
        "get_doc",
        json!({"document_id": id, "format": "markdown"}),
    )
    .await);
    assert_eq!(after["content"], format!("{md}\n\n## 下周\n\n上线"));

    let overwritten = ok(&call(
        &client,
        "update_doc",
        json!({"document_id": id, "content": "只剩这一段", "base_version": after["version"]}),
    )
    .await);
    assert_eq!(overwritten["mode"], "overwrite");
    let text = ok(&call(&client, "get_doc", json!({"document_id": id})).await);
    assert_eq!(text["content"], "只剩这一段");

    let found = ok(&call(&client, "list_docs", json!({"keyword": "MCP周报"})).await);
    assert_eq!(found["pagination"]["total"], 1);
    assert_eq!(found["items"][0]["document_id"], id.as_str());

    // Paging and sorting.
    for n in [3, 1, 2] {
        ok(&call(&client, "create_doc", json!({"title": format!("MCPR {n}")})).await);
    }
    let page = |page: u32, order: &str| json!({"keyword": "MCPR", "page": page, "page_size": 2, "sort_by": "name", "sort_order": order});
    let first = ok(&call(&client, "list_docs", page(1, "asc")).await);
    assert_eq!(first["pagination"]["total"], 3);
    assert_eq!(first["pagination"]["total_pages"], 2);
    let titles: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["MCPR 1", "MCPR 2"]);
    let second = ok(&call(&client, "list_docs", page(2, "asc")).await);
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["items"][0]["title"], "MCPR 3");
    let desc = ok(&call(&client, "list_docs", page(1, "desc")).await);
    assert_eq!(desc["items"][0]["title"], "MCPR 3");

    // The folder listing ("my documents") holds everything created here.
    let mine = ok(&call(&client, "list_docs", json!({"page_size": 100})).await);
    let ids: Vec<&str> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["document_id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&id.as_str()));

    let too_big = call(&client, "list_docs", json!({"page_size": 101})).await;
    assert_eq!(error_code(&too_big), "INVALID_PARAMS");
}

#[tokio::test]
async fn a_missing_document_is_not_found() {
    let f = docs_fixture("zhangwei01").await;
    let client = in_process(f.handler.clone(), ()).await;
    let missing = call(
        &client,
        "get_doc",
        json!({"document_id": "doesNotExist0000"}),
    )
    .await;
    assert_eq!(error_code(&missing), "NOT_FOUND");
    let update = call(
        &client,
        "update_doc",
        json!({"document_id": "doesNotExist0000", "content": "x", "mode": "append"}),
    )
    .await;
    assert_eq!(error_code(&update), "NOT_FOUND");
}

#[tokio::test]
async fn an_oversized_overwrite_is_invalid_params() {
    let f = docs_fixture("zhangwei01").await;
    let client = in_process(f.handler.clone(), ()).await;
    let created = ok(&call(&client, "create_doc", json!({"title": "big"})).await);
    let id = created["document_id"].as_str().unwrap().to_owned();
    let result = call(
        &client,
        "update_doc",
        json!({"document_id": id, "content": "字".repeat(50_001), "mode": "overwrite"}),
    )
    .await;
    assert_eq!(error_code(&result), "INVALID_PARAMS");
    let body = result.structured_content.unwrap();
    assert_eq!(body["details"]["max_chars"], 50_000);
    let unchanged = ok(&call(&client, "get_doc", json!({"document_id": id})).await);
    assert_eq!(unchanged["content"], "");
}

#[tokio::test]
async fn without_an_operator_docs_tools_fail_with_auth_error_or_are_hidden() {
    let f = fixture().await;
    let client = in_process(f.handler.clone(), ()).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for name in DOCS_TOOLS {
        assert!(!names.contains(&name), "{name} hidden without an operator");
    }
    // A client with a stale list gets a clear AUTH_ERROR.
    let stale = call(&client, "list_docs", json!({})).await;
    assert_eq!(error_code(&stale), "AUTH_ERROR");
    let stale = call(&client, "create_doc", json!({"title": "x"})).await;
    assert_eq!(error_code(&stale), "AUTH_ERROR");

    // Configuring an operator later makes them appear.
    f.engine
        .docs()
        .configure_operator(OperatorRef::UserId("zhangwei01".into()))
        .await
        .expect("operator resolves");
    let listed = wait_for(Duration::from_secs(5), || async {
        let tools = client.list_all_tools().await.unwrap_or_default();
        DOCS_TOOLS
            .iter()
            .all(|name| tools.iter().any(|t| t.name == *name))
    })
    .await;
    assert!(listed, "docs tools listed once an operator is configured");
}

#[tokio::test]
async fn a_team_document_without_permission_is_permission_denied() {
    // 李四 is a member of the team space holding the onboarding document; 王芳 is not.
    let f = docs_fixture("lisi").await;
    let client = in_process(f.handler.clone(), ()).await;
    let team = ok(&call(&client, "list_docs", json!({"keyword": "入职"})).await);
    let id = team["items"][0]["document_id"]
        .as_str()
        .expect("the member finds the team document")
        .to_owned();
    ok(&call(&client, "get_doc", json!({"document_id": id})).await);

    f.engine
        .docs()
        .configure_operator(OperatorRef::UserId("wangfang".into()))
        .await
        .expect("operator resolves");
    let denied = call(&client, "get_doc", json!({"document_id": id})).await;
    assert_eq!(error_code(&denied), "PERMISSION_DENIED");
    let body = denied.structured_content.unwrap();
    assert_eq!(body["details"]["dingtalk_code"], "forbidden.accessDenied");
}

#[tokio::test]
async fn each_bad_docs_enum_is_invalid_params_naming_the_allowed_values() {
    let f = docs_fixture("zhangwei01").await;
    let client = in_process(f.handler.clone(), ()).await;
    let cases = [
        (
            "update_doc",
            json!({"document_id": "d", "content": "x", "mode": "sideways"}),
            "mode",
            json!(["overwrite", "append"]),
        ),
        (
            "get_doc",
            json!({"document_id": "d", "format": "pdf"}),
            "format",
            json!(["text", "markdown", "html"]),
        ),
        (
            "list_docs",
            json!({"sort_by": "size"}),
            "sort_by",
            json!(["name", "create_time", "update_time"]),
        ),
        (
            "list_docs",
            json!({"sort_order": "up"}),
            "sort_order",
            json!(["asc", "desc"]),
        ),
    ];
    for (tool, args, field, allowed) in cases {
        let result = call(&client, tool, args.clone()).await;
        assert_eq!(error_code(&result), "INVALID_PARAMS", "{tool} {args}");
        let body = result.structured_content.unwrap_or_default();
        assert_eq!(body["details"]["field"], field, "{body}");
        assert_eq!(body["details"]["allowed"], allowed, "{body}");
        assert!(
            !body["error"]
                .as_str()
                .unwrap_or_default()
                .contains("deserialize"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn an_update_with_a_table_and_a_code_block_succeeds_through_mcp() {
    let f = docs_fixture("zhangwei01").await;
    let client = in_process(f.handler.clone(), ()).await;
    let created = ok(&call(&client, "create_doc", json!({"title": "表格"})).await);
    let id = created["document_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let md = "| a | b |\n|---|---|\n| 1 | 2 |\n\n```sh\nls\n```";
    ok(&call(
        &client,
        "update_doc",
        json!({"document_id": id, "content": md}),
    )
    .await);
    let read = ok(&call(&client, "get_doc", json!({"document_id": id})).await);
    assert_eq!(
        read["content"],
        "[table, 2 × 2: not readable through the API]\n\
         [code block or image: not readable through the API]"
    );
}
