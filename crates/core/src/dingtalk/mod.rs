//! Everything that speaks DingTalk's wire protocols: the Stream gateway client, bot message decoding and
//! (later) the OpenAPI token manager, sends, contacts, docs and cards.

mod bot_message;
pub mod send;
pub mod stream;

pub use bot_message::{
    BotMessage, ConversationKind, DecodeError, MessageContent, QuotedMessage, RichSegment,
};
pub mod auth;
pub mod cards;
pub mod contacts;
pub mod docs;
pub mod message_files;
pub mod openapi;
