//! Output schemas that also admit the tool-error body. Clients built on the TypeScript SDK (the MCP
//! Inspector, OpenCode) validate `structuredContent` against `outputSchema` even when `isError` is true,
//! so each schema becomes `{"type":"object","anyOf":[<result>, <error>]}` (the root stays an object, as
//! those clients require, and `$defs` stay at the root so existing `#/$defs/…` references still resolve).

use std::sync::Arc;

use rmcp::model::{JsonObject, Tool};
use serde_json::{Value, json};

fn error_schema() -> Value {
    json!({
        "type": "object",
        "description": "A tool error (isError: true)",
        "properties": {
            "error": {"type": "string"},
            "code": {"type": "string", "enum": [
                "AUTH_ERROR", "PERMISSION_DENIED", "INVALID_PARAMS", "NOT_FOUND",
                "CONFLICT_ERROR", "RATE_LIMITED", "DINGTALK_ERROR"
            ]},
            "details": {}
        },
        "required": ["error", "code"]
    })
}

pub fn with_error_branch(schema: &JsonObject) -> JsonObject {
    let mut result = schema.clone();
    let mut root = JsonObject::new();
    for key in ["$schema", "$defs", "definitions", "title"] {
        if let Some(value) = result.remove(key) {
            root.insert(key.to_owned(), value);
        }
    }
    root.insert("type".into(), json!("object"));
    root.insert(
        "anyOf".into(),
        json!([Value::Object(result), error_schema()]),
    );
    root
}

pub fn tool_with_error_branch(mut tool: Tool) -> Tool {
    if let Some(schema) = &tool.output_schema {
        tool.output_schema = Some(Arc::new(with_error_branch(schema)));
    }
    tool
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_stays_an_object_and_keeps_its_defs() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {"items": {"type": "array", "items": {"$ref": "#/$defs/Item"}}},
            "required": ["items"],
            "$defs": {"Item": {"type": "object"}}
        });
        let Value::Object(schema) = schema else {
            unreachable!()
        };
        let wrapped = with_error_branch(&schema);
        assert_eq!(wrapped["type"], "object");
        assert!(wrapped.contains_key("$defs"));
        assert_eq!(wrapped["anyOf"][0]["required"][0], "items");
        assert_eq!(wrapped["anyOf"][1]["required"][1], "code");
    }
}
