//! Issue 13 acceptance (MCP in the user's language) through an rmcp client against a real engine and the
//! simulator: English by default, Chinese descriptions with `[mcp] language = "zh-CN"`, and the same names and
//! error codes in both.

mod mcp_common;

use dingbridge_core::i18n::Lang;
use mcp_common::{call, error_code, fixture, in_process};
use rmcp::model::Tool;
use serde_json::{Value, json};

fn has_chinese(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

fn parameter_names(tool: &Tool) -> Vec<String> {
    tool.input_schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn tool_and_parameter_descriptions_are_english_by_default_and_chinese_when_set() {
    let f = fixture().await;
    let english = in_process(f.handler.clone(), ()).await;
    let chinese = in_process(f.handler.clone().with_language(Lang::ZhCn), ()).await;
    let en_tools = english.list_all_tools().await.expect("tools/list");
    let zh_tools = chinese.list_all_tools().await.expect("tools/list");

    let names = |tools: &[Tool]| tools.iter().map(|t| t.name.to_string()).collect::<Vec<_>>();
    assert_eq!(
        names(&en_tools),
        names(&zh_tools),
        "tool names never change"
    );
    for (en, zh) in en_tools.iter().zip(&zh_tools) {
        let en_text = en.description.as_deref().unwrap_or_default();
        let zh_text = zh.description.as_deref().unwrap_or_default();
        assert!(!has_chinese(en_text), "{}: {en_text}", en.name);
        assert!(has_chinese(zh_text), "{}: {zh_text}", zh.name);
        assert_eq!(parameter_names(en), parameter_names(zh), "{}", en.name);
        for (name, schema) in zh.input_schema["properties"]
            .as_object()
            .into_iter()
            .flatten()
        {
            let text = schema["description"].as_str().unwrap_or_default();
            assert!(has_chinese(text), "{}.{name}: {text}", zh.name);
        }
    }
}

#[tokio::test]
async fn prompts_resources_and_instructions_follow_the_mcp_language() {
    let f = fixture().await;
    let chinese = in_process(f.handler.clone().with_language(Lang::ZhCn), ()).await;
    let prompts = chinese.list_all_prompts().await.expect("prompts/list");
    assert!(!prompts.is_empty());
    for prompt in &prompts {
        assert!(
            has_chinese(prompt.description.as_deref().unwrap_or_default()),
            "{}",
            prompt.name
        );
        for argument in prompt.arguments.iter().flatten() {
            assert!(
                has_chinese(argument.description.as_deref().unwrap_or_default()),
                "{}",
                argument.name
            );
        }
    }
    let resources = chinese.list_all_resources().await.expect("resources/list");
    let conversations = resources
        .iter()
        .find(|r| r.uri == "dingtalk://conversations")
        .expect("conversations resource");
    assert!(has_chinese(
        conversations.description.as_deref().unwrap_or_default()
    ));
    let templates = chinese
        .list_all_resource_templates()
        .await
        .expect("templates");
    assert!(
        templates
            .iter()
            .all(|t| has_chinese(t.description.as_deref().unwrap_or_default()))
    );
    let instructions = chinese
        .peer_info()
        .and_then(|info| info.instructions.clone())
        .unwrap_or_default();
    assert!(
        instructions.contains("list_conversations") && instructions.starts_with("DingBridge 把"),
        "{instructions}"
    );
}

#[tokio::test]
async fn an_error_keeps_its_code_and_details_and_only_its_text_changes_language() {
    let f = fixture().await;
    let english = in_process(f.handler.clone(), ()).await;
    let chinese = in_process(f.handler.clone().with_language(Lang::ZhCn), ()).await;
    let bad = json!({"page": 0});
    let en = call(&english, "list_conversations", bad.clone()).await;
    let zh = call(&chinese, "list_conversations", bad).await;
    assert_eq!(error_code(&en), "INVALID_PARAMS");
    assert_eq!(error_code(&zh), "INVALID_PARAMS");
    let (en, zh) = (
        en.structured_content.unwrap(),
        zh.structured_content.unwrap(),
    );
    assert_eq!(en["details"], zh["details"]);
    let en_text = en["error"].as_str().unwrap();
    let zh_text = zh["error"].as_str().unwrap();
    assert!(!has_chinese(en_text), "{en_text}");
    assert!(zh_text.starts_with("参数无效"), "{zh_text}");
}
