//! Which language the bridge writes in for a conversation: the conversation's `/lang` choice (in the store),
//! else the `[bridge] language` setting. A store that cannot be read falls back to the setting: a reply in
//! the default language beats no reply.

use crate::i18n::Lang;
use crate::store::{Store, StoreError};

#[derive(Clone)]
pub struct ChatLanguages {
    default: Lang,
    store: Store,
}

impl ChatLanguages {
    pub fn new(default: Lang, store: Store) -> Self {
        Self { default, store }
    }

    /// The `[bridge] language` setting.
    pub fn default_language(&self) -> Lang {
        self.default
    }

    /// The language to write in for this conversation.
    pub async fn of(&self, conversation_id: &str) -> Lang {
        match self.store.conversation_language(conversation_id).await {
            Ok(chosen) => chosen.unwrap_or(self.default),
            Err(err) => {
                tracing::warn!(code = err.code(), error = %err, conversation = conversation_id, "cannot read the conversation's language; using the default");
                self.default
            }
        }
    }

    /// Remembers the conversation's choice (`/lang`).
    pub async fn set(&self, conversation_id: &str, language: Lang) -> Result<(), StoreError> {
        self.store
            .set_conversation_language(conversation_id, language)
            .await
    }
}
