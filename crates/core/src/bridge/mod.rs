//! Inbound pipeline: frame → decode → durable inbox (dedupe on msgId) → ACK → per-conversation FIFO queue
//! → agent → reply → mark done. A crash anywhere resumes from the inbox on the next start.

mod intake;
mod processor;
mod queues;

pub use intake::Intake;
pub use processor::ReplyProcessor;
pub use queues::{ConversationQueues, ItemProcessor};
