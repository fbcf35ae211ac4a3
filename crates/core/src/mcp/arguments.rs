//! Tool arguments checked against the tool's own `inputSchema` before rmcp deserializes them, so every bad
//! parameter of every tool gets the tools' documented error (`{"error", "code": "INVALID_PARAMS",
//! "details"}`) naming the field and what it accepts, instead of rmcp's "failed to deserialize parameters"
//! text. Called once, from `DingBridgeMcp::call_tool`, for every tool.
//!
//! Invariant: the check is driven by the schema the client was shown (`tools/list`), so what it refuses is
//! exactly what the schema forbids: unknown fields (`additionalProperties: false`), missing required
//! fields, values of the wrong JSON type, numbers outside `minimum`/`maximum` or the integer format, and
//! enum values outside the allowed list (`enum`, or `oneOf`/`anyOf` of `const`s). Anything it does not
//! understand it lets through to deserialization, whose failures are mapped to the same shape.

use rmcp::model::JsonObject;
use serde_json::{Value, json};

use super::error::ToolFailure;

/// Checks `arguments` (absent = `{}`) against a tool's input schema.
pub fn check(schema: &JsonObject, arguments: Option<&JsonObject>) -> Result<(), ToolFailure> {
    let empty = JsonObject::new();
    let arguments = arguments.unwrap_or(&empty);
    let properties = schema.get("properties").and_then(Value::as_object);
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for field in required.iter().filter_map(Value::as_str) {
            if !arguments.contains_key(field) {
                return Err(ToolFailure::invalid(format!("`{field}` is required"))
                    .with_details(json!({"field": field, "reason": "required"})));
            }
        }
    }
    for (field, value) in arguments {
        match properties.and_then(|p| p.get(field)) {
            Some(property) => check_value(schema, field, property, value)?,
            None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                let allowed: Vec<&String> =
                    properties.map(|p| p.keys().collect()).unwrap_or_default();
                return Err(ToolFailure::invalid(format!(
                    "unknown parameter `{field}`; this tool takes: {}",
                    list(allowed.iter().map(|s| s.as_str()))
                ))
                .with_details(
                    json!({"field": field, "reason": "unknown", "allowed_fields": allowed}),
                ));
            }
            None => {}
        }
    }
    Ok(())
}

/// The failure for arguments the schema check let through but deserialization refused.
pub fn deserialize_failure(message: &str) -> ToolFailure {
    let reason = message
        .strip_prefix("failed to deserialize parameters:")
        .unwrap_or(message)
        .trim();
    ToolFailure::invalid(format!("invalid parameters: {reason}"))
        .with_details(json!({"reason": reason}))
}

/// Follows a local `$ref` (`#/$defs/Name`) and single-element `allOf` wrappers.
fn resolve<'a>(root: &'a JsonObject, mut schema: &'a Value) -> &'a Value {
    for _ in 0..8 {
        if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
            let found = target
                .strip_prefix("#/$defs/")
                .and_then(|name| root.get("$defs")?.get(name))
                .or_else(|| {
                    target
                        .strip_prefix("#/definitions/")
                        .and_then(|name| root.get("definitions")?.get(name))
                });
            match found {
                Some(next) => schema = next,
                None => return schema,
            }
        } else if let Some([only]) = schema
            .get("allOf")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            schema = only;
        } else {
            return schema;
        }
    }
    schema
}

fn check_value(
    root: &JsonObject,
    field: &str,
    property: &Value,
    value: &Value,
) -> Result<(), ToolFailure> {
    let property = resolve(root, property);
    if let Some(allowed) = allowed_values(root, property) {
        if value.is_null() && allows_null(root, property) {
            return Ok(());
        }
        if !allowed.contains(value) {
            return Err(ToolFailure::invalid(format!(
                "`{field}` must be one of: {} (got {value})",
                list(
                    allowed
                        .iter()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                )
            ))
            .with_details(json!({"field": field, "allowed": allowed, "actual": value})));
        }
        return Ok(());
    }
    if let Some(types) = type_names(property)
        && !types.iter().any(|t| has_type(value, t))
    {
        return Err(ToolFailure::invalid(format!(
            "`{field}` must be {} (got {value})",
            list(types.iter().map(|t| article(t)))
        ))
        .with_details(json!({"field": field, "expected": types, "actual": value})));
    }
    if let Some(n) = value.as_f64() {
        let (min, max) = bounds(property);
        if min.is_some_and(|min| n < min) || max.is_some_and(|max| n > max) {
            return Err(
                ToolFailure::invalid(format!("`{field}` is out of range (got {value})"))
                    .with_details(json!({"field": field, "min": min, "max": max, "actual": value})),
            );
        }
    }
    Ok(())
}

/// The allowed values of an enum-like schema: `enum`, or `oneOf`/`anyOf` whose branches are all `const` /
/// `enum` (schemars writes documented unit variants that way), ignoring a `null` branch.
fn allowed_values(root: &JsonObject, schema: &Value) -> Option<Vec<Value>> {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return Some(values.iter().filter(|v| !v.is_null()).cloned().collect());
    }
    let branches = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))
        .and_then(Value::as_array)?;
    let mut out = Vec::new();
    for branch in branches {
        let branch = resolve(root, branch);
        if branch.get("type") == Some(&json!("null")) {
            continue;
        }
        if let Some(constant) = branch.get("const") {
            out.push(constant.clone());
        } else if let Some(nested) = allowed_values(root, branch) {
            out.extend(nested);
        } else {
            return None;
        }
    }
    (!out.is_empty()).then_some(out)
}

fn allows_null(root: &JsonObject, schema: &Value) -> bool {
    type_names(schema).is_some_and(|t| t.iter().any(|t| t == "null"))
        || schema
            .get("enum")
            .and_then(Value::as_array)
            .is_some_and(|e| e.contains(&Value::Null))
        || schema
            .get("oneOf")
            .or_else(|| schema.get("anyOf"))
            .and_then(Value::as_array)
            .is_some_and(|b| {
                b.iter()
                    .any(|b| resolve(root, b).get("type") == Some(&json!("null")))
            })
}

fn type_names(schema: &Value) -> Option<Vec<String>> {
    match schema.get("type")? {
        Value::String(t) => Some(vec![t.clone()]),
        Value::Array(ts) => Some(
            ts.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        _ => None,
    }
}

fn has_type(value: &Value, name: &str) -> bool {
    match name {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        _ => true,
    }
}

/// `minimum`/`maximum`, narrowed by the integer `format` schemars writes (`uint32`, `int64`, …).
fn bounds(schema: &Value) -> (Option<f64>, Option<f64>) {
    let format = match schema.get("format").and_then(Value::as_str) {
        Some("uint8") => (Some(0.0), Some(f64::from(u8::MAX))),
        Some("uint16") => (Some(0.0), Some(f64::from(u16::MAX))),
        Some("uint32") => (Some(0.0), Some(f64::from(u32::MAX))),
        Some("int32") => (Some(f64::from(i32::MIN)), Some(f64::from(i32::MAX))),
        _ => (None, None),
    };
    let min = schema.get("minimum").and_then(Value::as_f64).or(format.0);
    let max = schema.get("maximum").and_then(Value::as_f64).or(format.1);
    (min, max)
}

fn article(type_name: &str) -> String {
    match type_name {
        "integer" => "an integer".into(),
        "array" => "an array".into(),
        "object" => "an object".into(),
        "null" => "null".into(),
        other => format!("a {other}"),
    }
}

fn list(items: impl Iterator<Item = impl Into<String>>) -> String {
    items.map(Into::into).collect::<Vec<String>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> JsonObject {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["document_id"],
            "properties": {
                "document_id": {"type": "string"},
                "mode": {"$ref": "#/$defs/Mode", "default": "overwrite"},
                "page": {"type": ["integer", "null"], "format": "uint32", "minimum": 0},
            },
            "$defs": {"Mode": {"oneOf": [
                {"type": "string", "const": "overwrite", "description": "Replace."},
                {"type": "string", "const": "append", "description": "Add."},
            ]}},
        })
        .as_object()
        .cloned()
        .unwrap_or_default()
    }

    fn args(value: Value) -> JsonObject {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_wrong_enum_value_names_the_allowed_values() {
        let err = check(
            &schema(),
            Some(&args(json!({"document_id": "d", "mode": "sideways"}))),
        )
        .unwrap_err();
        assert_eq!(err.code.as_str(), "INVALID_PARAMS");
        assert_eq!(err.details["field"], "mode");
        assert_eq!(err.details["allowed"], json!(["overwrite", "append"]));
        assert!(err.message.contains("overwrite, append"), "{}", err.message);
    }

    #[test]
    fn unknown_missing_mistyped_and_out_of_range_fields_are_invalid_params() {
        let cases = [
            json!({"document_id": "d", "nope": 1}),
            json!({}),
            json!({"document_id": 5}),
            json!({"document_id": "d", "page": -1}),
            json!({"document_id": "d", "page": 5_000_000_000_u64}),
        ];
        for case in cases {
            let err = check(&schema(), Some(&args(case.clone()))).unwrap_err();
            assert_eq!(err.code.as_str(), "INVALID_PARAMS", "{case}");
        }
    }

    #[test]
    fn valid_arguments_and_nulls_for_optional_fields_pass() {
        let ok = args(json!({"document_id": "d", "mode": "append", "page": null}));
        assert!(check(&schema(), Some(&ok)).is_ok());
    }
}
