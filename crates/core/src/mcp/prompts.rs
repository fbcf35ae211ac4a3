//! Prompts (OpenCode shows them as slash commands): reply to a conversation, summarise a conversation.
//! Both embed the conversation's recent history so the model starts with context.

use rmcp::ErrorData;
use rmcp::model::{
    GetPromptRequestParams, GetPromptResult, ListPromptsResult, Prompt, PromptArgument,
    PromptMessage, Role,
};
use serde_json::json;

use super::backend::{HistoryQuery, McpBackend};
use super::types::ConversationPromptArgs;

pub const REPLY: &str = "reply_to_conversation";
pub const SUMMARIZE: &str = "summarize_conversation";
const HISTORY: usize = 30;

fn arguments() -> Vec<PromptArgument> {
    vec![
        PromptArgument::new("conversation_id")
            .with_description("The conversation (from list_conversations)")
            .with_required(true),
        PromptArgument::new("instructions")
            .with_description("Optional guidance: tone, focus, length")
            .with_required(false),
    ]
}

pub fn list() -> ListPromptsResult {
    ListPromptsResult::with_all_items(vec![
        Prompt::new(
            REPLY,
            Some("Draft and send a reply to a DingTalk conversation"),
            Some(arguments()),
        )
        .with_title("Reply to a DingTalk conversation"),
        Prompt::new(
            SUMMARIZE,
            Some("Summarise a DingTalk conversation's recent messages"),
            Some(arguments()),
        )
        .with_title("Summarise a DingTalk conversation"),
    ])
}

pub async fn get(
    backend: &dyn McpBackend,
    request: GetPromptRequestParams,
) -> Result<GetPromptResult, ErrorData> {
    if request.name != REPLY && request.name != SUMMARIZE {
        return Err(ErrorData::invalid_params(
            format!("unknown prompt `{}`", request.name),
            Some(json!({"prompts": [REPLY, SUMMARIZE]})),
        ));
    }
    let args: ConversationPromptArgs = serde_json::from_value(serde_json::Value::Object(
        request.arguments.unwrap_or_default(),
    ))
    .map_err(|err| ErrorData::invalid_params(format!("invalid prompt arguments: {err}"), None))?;
    let query = HistoryQuery {
        limit: HISTORY,
        before_ms: None,
    };
    let history = backend
        .get_messages(&args.conversation_id, query)
        .await
        .map_err(|failure| {
            ErrorData::invalid_params(failure.message.clone(), Some(failure.to_json()))
        })?;
    // Oldest first reads naturally in a prompt.
    let transcript = history
        .items
        .iter()
        .rev()
        .map(|m| format!("[{}] {}: {}", m.direction, m.sender, m.content))
        .collect::<Vec<_>>()
        .join("\n");
    let guidance = args
        .instructions
        .map(|text| format!("\n\nAdditional instructions: {text}"))
        .unwrap_or_default();
    let (description, task) = if request.name == REPLY {
        (
            "Reply to a DingTalk conversation",
            format!(
                "Here are the recent messages of DingTalk conversation `{id}` (oldest first):\n\n{transcript}\n\n\
                 Write a helpful reply to the latest message and send it with the `send_message` tool \
                 (conversation_id `{id}`, format `markdown` if it helps).{guidance}",
                id = args.conversation_id
            ),
        )
    } else {
        (
            "Summarise a DingTalk conversation",
            format!(
                "Here are the recent messages of DingTalk conversation `{id}` (oldest first):\n\n{transcript}\n\n\
                 Summarise the discussion: decisions, open questions and action items with owners.{guidance}",
                id = args.conversation_id
            ),
        )
    };
    Ok(
        GetPromptResult::new(vec![PromptMessage::new_text(Role::User, task)])
            .with_description(description),
    )
}
