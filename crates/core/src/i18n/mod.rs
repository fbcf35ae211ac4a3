//! The languages DingBridge speaks, and the one catalogue of everything the bridge itself writes into a chat.
//!
//! Invariant: a chat text is never assembled from English fragments in code. Every sentence is one catalogue
//! entry per language with named `{placeholders}`, so each language keeps its own word order; the catalogue
//! test keeps both languages at exactly the same keys and placeholders.

mod chat;
mod keys;
mod lang;

pub use chat::ChatText;
pub use keys::ChatKey;
pub use lang::Lang;
