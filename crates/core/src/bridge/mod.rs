//! Inbound pipeline: frame → decode → durable inbox (dedupe on msgId) → ACK → allow-list / chat command /
//! per-conversation FIFO queue → agent → chunked reply → durable outbox → pacer → webhook or OpenAPI.
//! A crash anywhere resumes from the inbox and the outbox on the next start.

pub mod access;
mod attachments;
mod cards;
pub mod chunking;
pub mod commands;
mod delivery;
mod dispatch;
mod error;
mod intake;
mod language;
mod outbox;
mod pacer;
mod permissions;
mod persist;
mod processor;
mod project_command;
mod queues;
mod replies;
mod waiting;

pub use attachments::Attachments;
pub use cards::{CardReplies, CardSettings};
pub use commands::Commands;
pub use delivery::RouteDelivery;
pub use dispatch::Dispatcher;
pub use error::BridgeError;
pub use intake::Intake;
pub use language::ChatLanguages;
pub use outbox::{
    ConversationOutbox, Deliver, Delivered, DeliveryOutcome, Outbox, OutboxConversation,
    OutboxStatus,
};
pub use pacer::{IDLE_FACTOR, MAX_CONVERSATIONS, Pacer, PacingSettings};
pub use permissions::PermissionBroker;
pub use processor::ReplyProcessor;
pub use queues::{ConversationQueues, ItemProcessor, MAX_PER_CONVERSATION, MAX_WAITING};
pub use replies::{MessageFormat, Replies};
pub use waiting::WaitingTurns;
