//! Chooses the channel for each outbound message: the conversation's sessionWebhook while it is valid (no
//! token, no API quota), otherwise — or when the webhook fails for good — the robot's OpenAPI sends
//! (`oToMessages/batchSend` with the partner's staffId for 1:1, `groupMessages/send` for groups).

use async_trait::async_trait;

use super::outbox::{Deliver, Delivered};
use crate::dingtalk::ConversationKind;
use crate::dingtalk::send::{OpenApiSender, SendError, WebhookSender};
use crate::store::{MessageBody, OutboundMessage};
use crate::time::now_ms;

pub struct RouteDelivery {
    pub webhook: WebhookSender,
    /// `None` when no OpenAPI client is configured (then only webhooks work).
    pub openapi: Option<OpenApiSender>,
}

fn title_and_text(body: &MessageBody) -> (String, &str) {
    match body {
        MessageBody::Markdown { title, text } => (title.clone(), text),
        MessageBody::Text { content } => (content.chars().take(40).collect(), content),
    }
}

impl RouteDelivery {
    async fn via_openapi(
        &self,
        message: &OutboundMessage,
        after: Option<SendError>,
    ) -> Result<Delivered, SendError> {
        let Some(openapi) = &self.openapi else {
            return Err(after.unwrap_or(SendError::WebhookExpired));
        };
        let route = &message.route;
        let body = &message.body;
        let (receipt, channel) = match (route.kind, route.staff_id.as_deref()) {
            (ConversationKind::Group, _) => (
                openapi.send_to_group(&route.conversation_id, body).await?,
                "group",
            ),
            (ConversationKind::Single, Some(staff_id)) => {
                (openapi.send_to_user(staff_id, body).await?, "oto")
            }
            // An external user has no staffId: only the webhook can reach them.
            (ConversationKind::Single, None) => return Err(after.unwrap_or(SendError::NoWebhook)),
        };
        Ok(Delivered {
            channel,
            bytes: receipt.msg_param_bytes,
        })
    }
}

#[async_trait]
impl Deliver for RouteDelivery {
    async fn deliver(&self, message: &OutboundMessage) -> Result<Delivered, SendError> {
        let route = &message.route;
        let webhook_valid = route.session_webhook.is_some()
            && route
                .webhook_expires_ms
                .is_none_or(|expiry| expiry > now_ms() + 5_000);
        if !webhook_valid {
            return self.via_openapi(message, None).await;
        }
        let (title, text) = title_and_text(&message.body);
        match self
            .webhook
            .send_markdown(
                route.session_webhook.as_deref(),
                route.webhook_expires_ms,
                &title,
                text,
            )
            .await
        {
            Ok(bytes) => Ok(Delivered {
                channel: "webhook",
                bytes,
            }),
            // Throttling and network trouble: retry later; dissolved group, refused content: fail.
            Err(err) if !err.falls_back_to_openapi() => Err(err),
            // Expired, unknown, refused or failing webhook: the OpenAPI path may still work.
            Err(err) => {
                tracing::info!(
                    code = err.code(),
                    conversation = route.conversation_id,
                    "webhook failed; using OpenAPI send"
                );
                self.via_openapi(message, Some(err)).await
            }
        }
    }
}
