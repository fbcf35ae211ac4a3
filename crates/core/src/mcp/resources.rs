//! Resources: the conversation list (`dingtalk://conversations`) and each conversation's recent messages
//! (`dingtalk://conversations/{conversation_id}/messages`), both as JSON text.

use rmcp::ErrorData;
use rmcp::model::{
    ListResourceTemplatesResult, ListResourcesResult, ReadResourceResult, Resource,
    ResourceContents, ResourceTemplate,
};
use serde_json::json;

use super::backend::{HistoryQuery, McpBackend};
use super::error::ToolFailure;
use super::localize;
use crate::i18n::Lang;

pub const CONVERSATIONS_URI: &str = "dingtalk://conversations";
pub const MESSAGES_TEMPLATE: &str = "dingtalk://conversations/{conversation_id}/messages";
const MESSAGES_PREFIX: &str = "dingtalk://conversations/";
const MESSAGES_SUFFIX: &str = "/messages";
/// How many conversations get their own listed messages resource (the template covers the rest).
const LISTED_CONVERSATIONS: u32 = 20;
const RECENT_MESSAGES: usize = 50;

pub fn messages_uri(conversation_id: &str) -> String {
    format!("{MESSAGES_PREFIX}{conversation_id}{MESSAGES_SUFFIX}")
}

fn internal(failure: ToolFailure) -> ErrorData {
    ErrorData::internal_error(
        failure.message,
        Some(json!({"code": failure.code.as_str()})),
    )
}

const CONVERSATIONS_TITLE: &str = "DingTalk conversations";
const CONVERSATIONS_DESCRIPTION: &str = "Conversations DingBridge knows, newest first (JSON)";
const MESSAGES_TITLE: &str = "Recent messages: {title}";

/// The fixed texts of the resource list, for the translation test.
#[cfg(test)]
pub(crate) fn static_texts() -> [&'static str; 3] {
    [
        CONVERSATIONS_TITLE,
        CONVERSATIONS_DESCRIPTION,
        MESSAGES_TITLE,
    ]
}

pub async fn list(backend: &dyn McpBackend, lang: Lang) -> Result<ListResourcesResult, ErrorData> {
    let mut resources = vec![
        Resource::new(CONVERSATIONS_URI, "conversations")
            .with_title(localize::text(lang, CONVERSATIONS_TITLE))
            .with_description(localize::text(lang, CONVERSATIONS_DESCRIPTION))
            .with_mime_type("application/json"),
    ];
    let messages_title = localize::text(lang, MESSAGES_TITLE);
    let page = backend
        .list_conversations(None, 1, LISTED_CONVERSATIONS)
        .await
        .map_err(internal)?;
    for item in page.items {
        resources.push(
            Resource::new(
                messages_uri(&item.conversation_id),
                format!("messages-{}", item.conversation_id),
            )
            .with_title(messages_title.replace("{title}", &item.title))
            .with_mime_type("application/json"),
        );
    }
    Ok(ListResourcesResult::with_all_items(resources))
}

pub fn templates() -> ListResourceTemplatesResult {
    ListResourceTemplatesResult::with_all_items(vec![
        ResourceTemplate::new(MESSAGES_TEMPLATE, "conversation-messages")
            .with_title("Recent messages of a conversation")
            .with_description("The 50 most recent messages (in and out), newest first (JSON)")
            .with_mime_type("application/json"),
    ])
}

pub async fn read(backend: &dyn McpBackend, uri: &str) -> Result<ReadResourceResult, ErrorData> {
    let value = if uri == CONVERSATIONS_URI {
        serde_json::to_value(
            backend
                .list_conversations(None, 1, 100)
                .await
                .map_err(internal)?,
        )
    } else if let Some(id) = uri
        .strip_prefix(MESSAGES_PREFIX)
        .and_then(|rest| rest.strip_suffix(MESSAGES_SUFFIX))
        .filter(|id| !id.is_empty() && !id.contains('/'))
    {
        let query = HistoryQuery {
            limit: RECENT_MESSAGES,
            before_ms: None,
        };
        match backend.get_messages(id, query).await {
            Ok(messages) => serde_json::to_value(messages),
            Err(failure) if failure.code == super::error::ToolCode::NotFound => {
                return Err(ErrorData::resource_not_found(
                    format!("no conversation `{id}`"),
                    Some(json!({ "uri": uri })),
                ));
            }
            Err(failure) => return Err(internal(failure)),
        }
    } else {
        return Err(ErrorData::resource_not_found(
            format!("unknown resource `{uri}`"),
            Some(json!({ "uri": uri })),
        ));
    };
    let text = value
        .map_err(|err| ErrorData::internal_error(err.to_string(), None))?
        .to_string();
    Ok(ReadResourceResult::new(vec![
        ResourceContents::text(text, uri).with_mime_type("application/json"),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_uris_follow_the_template() {
        assert_eq!(
            messages_uri("cid42=="),
            "dingtalk://conversations/cid42==/messages"
        );
    }
}
