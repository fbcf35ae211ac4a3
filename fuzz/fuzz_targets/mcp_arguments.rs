//! MCP tool arguments: for every tool's input type, any JSON arguments are either accepted by the schema
//! check (`mcp::arguments::check`, driven by the schema `tools/list` shows) or refused with INVALID_PARAMS
//! naming the field; never a panic. The check never refuses arguments the tool itself would accept: if the
//! schema check refuses, deserializing into the tool's parameter type fails too.
#![no_main]

use dingbridge_core::mcp::arguments::check;
use dingbridge_core::mcp::types::{
    CreateDocInput, FindByNameParams, GetDocInput, GetMessagesParams, ListConversationsParams,
    ListDocsInput, SendMessageParams, SendToGroupParams, SendToUserParams, UpdateDocInput,
};
use libfuzzer_sys::fuzz_target;
use rmcp::handler::server::common::schema_for_type;
use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

fn run<T: JsonSchema + DeserializeOwned + 'static>(arguments: Option<&JsonObject>) {
    let schema = schema_for_type::<T>();
    let value = serde_json::Value::Object(arguments.cloned().unwrap_or_default());
    let accepted = serde_json::from_value::<T>(value).is_ok();
    match check(&schema, arguments) {
        Ok(()) => {}
        Err(failure) => {
            let json = failure.to_json();
            assert_eq!(json["code"], "INVALID_PARAMS", "{json}");
            assert!(
                !accepted,
                "the schema check refused arguments the tool accepts: {json} for {arguments:?}"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [tool, rest @ ..] = data else {
        return;
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(rest) else {
        return;
    };
    let arguments = match &value {
        serde_json::Value::Object(map) => Some(map),
        serde_json::Value::Null => None,
        _ => return,
    };
    match tool % 10 {
        0 => run::<SendMessageParams>(arguments),
        1 => run::<ListConversationsParams>(arguments),
        2 => run::<GetMessagesParams>(arguments),
        3 => run::<FindByNameParams>(arguments),
        4 => run::<SendToUserParams>(arguments),
        5 => run::<SendToGroupParams>(arguments),
        6 => run::<CreateDocInput>(arguments),
        7 => run::<GetDocInput>(arguments),
        8 => run::<UpdateDocInput>(arguments),
        _ => run::<ListDocsInput>(arguments),
    }
});
