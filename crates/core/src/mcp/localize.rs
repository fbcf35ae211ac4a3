//! What the MCP server says in `[mcp] language`: tool titles and descriptions, every description in a tool's
//! input schema (parameters, nested types, enum values), resource and prompt descriptions, the server
//! instructions, and the text of tool errors.
//!
//! English is the source: the doc comments and literals in code. `i18n/mcp.zh-CN.json` maps each English text
//! to its Chinese one, so a listing is translated by replacing whole texts, and names, schemas and error codes
//! are never touched. Invariant (tested): every text the server shows has an entry, and no entry is unused, so
//! an edited doc comment fails the test until its translation is updated. Output schemas stay English (they
//! describe results the agent already receives as JSON).

use std::collections::HashMap;
use std::sync::LazyLock;

use rmcp::model::{CallToolResponse, CallToolResult};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ToolCode;
use crate::i18n::Lang;

const ZH_CN: &str = include_str!("../../i18n/mcp.zh-CN.json");

static ZH: LazyLock<HashMap<String, String>> = LazyLock::new(|| {
    serde_json::from_str(ZH_CN).unwrap_or_else(|err| {
        // Unreachable in a tested build (the test parses the file); the server then stays English.
        tracing::error!(error = %err, "mcp.zh-CN.json is not valid JSON");
        HashMap::new()
    })
});

/// `english` in `lang`; English (or an untranslated text) is returned as is.
pub fn text(lang: Lang, english: &str) -> String {
    match lang {
        Lang::En => english.to_owned(),
        Lang::ZhCn => ZH
            .get(english)
            .cloned()
            .unwrap_or_else(|| english.to_owned()),
    }
}

/// The JSON keys whose string values are shown to people (and agents) as prose.
const PROSE_KEYS: [&str; 2] = ["description", "title"];

/// Replaces every `description` / `title` string below `value` that has a translation.
fn translate_tree(lang: Lang, value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                match child {
                    Value::String(prose) if PROSE_KEYS.contains(&key.as_str()) => {
                        *prose = text(lang, prose);
                    }
                    _ => translate_tree(lang, child),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| translate_tree(lang, item)),
        _ => {}
    }
}

/// A listed item (tool, resource, template, prompt) with its prose translated. The output schema of a tool is
/// left as it is (see the module docs).
pub fn listed<T: Serialize + DeserializeOwned + Clone>(lang: Lang, item: T) -> T {
    if lang == Lang::En {
        return item;
    }
    let Ok(mut value) = serde_json::to_value(&item) else {
        return item;
    };
    let output_schema = value
        .as_object_mut()
        .and_then(|map| map.remove("outputSchema"));
    translate_tree(lang, &mut value);
    if let (Some(schema), Some(map)) = (output_schema, value.as_object_mut()) {
        map.insert("outputSchema".into(), schema);
    }
    serde_json::from_value(value).unwrap_or(item)
}

/// What each error code means, in Chinese; put before the tool's own (English) explanation.
fn code_summary(code: ToolCode) -> &'static str {
    match code {
        ToolCode::AuthError => "认证失败或未配置钉钉凭据",
        ToolCode::PermissionDenied => "没有权限",
        ToolCode::InvalidParams => "参数无效",
        ToolCode::NotFound => "未找到",
        ToolCode::ConflictError => "冲突：内容在此期间已被修改",
        ToolCode::RateLimited => "请求过于频繁，已被限流",
        ToolCode::DingtalkError => "钉钉返回错误",
    }
}

/// A tool error whose `error` text is in `lang`. The `code` and `details` are never changed: agents and
/// scripts branch on them.
pub fn failure(lang: Lang, response: CallToolResponse) -> CallToolResponse {
    if lang == Lang::En {
        return response;
    }
    let CallToolResponse::Complete(result) = response else {
        return response;
    };
    if result.is_error != Some(true) {
        return CallToolResponse::Complete(result);
    }
    let Some(Value::Object(mut shape)) = result.structured_content.clone() else {
        return CallToolResponse::Complete(result);
    };
    let code = shape
        .get("code")
        .and_then(Value::as_str)
        .map(ToolCode::parse);
    let original = shape
        .get("error")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let (Some(code), Some(original)) = (code, original) else {
        return CallToolResponse::Complete(result);
    };
    let translated = format!("{}：{}", code_summary(code), text(lang, &original));
    shape.insert("error".into(), Value::String(translated));
    let meta = result.meta.clone();
    CallToolResult::structured_error(Value::Object(shape))
        .with_meta(meta)
        .into()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::mcp::handler::DingBridgeMcp;
    use crate::mcp::{prompts, resources};

    /// Every prose text the server can list, in English.
    fn english_texts() -> BTreeSet<String> {
        fn collect(value: &Value, out: &mut BTreeSet<String>) {
            match value {
                Value::Object(map) => {
                    for (key, child) in map {
                        match child {
                            Value::String(prose) if key == "description" => {
                                out.insert(prose.clone());
                            }
                            _ => collect(child, out),
                        }
                    }
                }
                Value::Array(items) => items.iter().for_each(|item| collect(item, out)),
                _ => {}
            }
        }
        let mut out = BTreeSet::new();
        for tool in DingBridgeMcp::all_tools() {
            out.extend(tool.title.clone());
            out.extend(tool.annotations.as_ref().and_then(|a| a.title.clone()));
            out.extend(tool.description.as_deref().map(str::to_owned));
            collect(&Value::Object((*tool.input_schema).clone()), &mut out);
        }
        for prompt in prompts::list().prompts {
            let value = serde_json::to_value(&prompt).unwrap();
            collect(&value, &mut out);
            out.extend(prompt.title.clone());
        }
        for template in resources::templates().resource_templates {
            let value = serde_json::to_value(&template).unwrap();
            collect(&value, &mut out);
            out.extend(value["title"].as_str().map(str::to_owned));
        }
        out.extend(resources::static_texts().iter().map(|s| (*s).to_owned()));
        out.insert(crate::mcp::handler::INSTRUCTIONS.to_owned());
        out
    }

    #[test]
    fn every_text_the_server_shows_has_a_chinese_entry_and_no_entry_is_unused() {
        let table: HashMap<String, String> = serde_json::from_str(ZH_CN).expect("valid JSON");
        let shown = english_texts();
        let missing: Vec<_> = shown.iter().filter(|t| !table.contains_key(*t)).collect();
        assert!(
            missing.is_empty(),
            "add these to i18n/mcp.zh-CN.json:\n{}",
            serde_json::to_string_pretty(&missing).unwrap()
        );
        let unused: Vec<_> = table.keys().filter(|k| !shown.contains(*k)).collect();
        assert!(unused.is_empty(), "unused entries: {unused:#?}");
        for (english, chinese) in &table {
            assert!(
                !chinese.trim().is_empty() && chinese != english,
                "{english}"
            );
        }
    }

    #[test]
    fn english_listings_are_left_as_written() {
        for tool in DingBridgeMcp::all_tools() {
            assert_eq!(listed(Lang::En, tool.clone()), tool);
        }
    }

    #[test]
    fn a_chinese_listing_changes_prose_but_never_names_or_schema_shapes() {
        for tool in DingBridgeMcp::all_tools() {
            let zh = listed(Lang::ZhCn, tool.clone());
            assert_eq!(zh.name, tool.name);
            assert_ne!(zh.description, tool.description, "{}", tool.name);
            assert_eq!(zh.output_schema, tool.output_schema);
            let names = |t: &rmcp::model::Tool| {
                t.input_schema
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(|p| p.keys().cloned().collect::<Vec<_>>())
            };
            assert_eq!(names(&zh), names(&tool), "{}", tool.name);
        }
    }

    #[test]
    fn a_chinese_error_keeps_its_code_and_details() {
        let failure_result = super::super::error::ToolFailure::invalid("`page` starts at 1")
            .with_details(serde_json::json!({"field": "page"}))
            .into_result();
        let CallToolResponse::Complete(zh) = failure(Lang::ZhCn, failure_result.into()) else {
            panic!("a complete result");
        };
        let shape = zh.structured_content.unwrap();
        assert_eq!(shape["code"], "INVALID_PARAMS");
        assert_eq!(shape["details"], serde_json::json!({"field": "page"}));
        assert!(shape["error"].as_str().unwrap().starts_with("参数无效"));
        assert_eq!(zh.is_error, Some(true));
    }
}
