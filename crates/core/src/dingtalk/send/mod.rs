//! Sending into DingTalk conversations: the sessionWebhook of an inbound message (protocol notes §3.1) and
//! the robot's proactive OpenAPI sends to a user or a group (§3.2).

mod error;
mod openapi;
mod webhook;
mod webhook_answer;

pub use error::{SEND_TOO_FAST_RETRY_AFTER, SendError};
pub use openapi::{
    GROUP_MSG_PARAM_MAX_BYTES, MessageBody, OTO_MSG_PARAM_MAX_BYTES, OpenApiSender, SendReceipt,
};
pub use webhook::{WEBHOOK_MAX_BODY_BYTES, WebhookRetry, WebhookSender, markdown_body_len};
pub use webhook_answer::WEBHOOK_THROTTLED_RETRY_AFTER;
