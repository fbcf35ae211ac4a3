//! Sending into DingTalk conversations: the sessionWebhook of an inbound message (protocol notes §3.1).

mod webhook;

pub use webhook::{SendError, WebhookSender};
