//! The language each conversation chose with `/lang` (`conversation_languages`, migration 5). Kept in SQLite so
//! the choice survives restarts; written once per `/lang`, so it uses the low-rate `misc` connection.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};
use crate::i18n::Lang;

impl Store {
    /// The conversation's own language, if it chose one. A tag this build does not know (written by a newer
    /// version) counts as no choice.
    pub async fn conversation_language(
        &self,
        conversation_id: &str,
    ) -> Result<Option<Lang>, StoreError> {
        let conversation_id = conversation_id.to_owned();
        let tag = self
            .misc_call(move |conn| {
                Ok(conn
                    .query_row(
                        "SELECT language FROM conversation_languages WHERE conversation_id = ?1",
                        params![conversation_id],
                        |row| row.get::<_, String>(0),
                    )
                    .optional()?)
            })
            .await?;
        Ok(tag.as_deref().and_then(Lang::parse))
    }

    /// Records (or replaces) the conversation's language.
    pub async fn set_conversation_language(
        &self,
        conversation_id: &str,
        language: Lang,
    ) -> Result<(), StoreError> {
        let conversation_id = conversation_id.to_owned();
        let now = crate::time::now_ms();
        self.misc_call(move |conn| {
            conn.execute(
                "INSERT INTO conversation_languages (conversation_id, language, updated_at_ms)
                 VALUES (?1, ?2, ?3)
                 ON CONFLICT(conversation_id) DO UPDATE SET
                   language = excluded.language,
                   updated_at_ms = excluded.updated_at_ms",
                params![conversation_id, language.tag(), now],
            )?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_conversation_language_survives_reopening_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.conversation_language("cid1").await.unwrap(), None);
        store
            .set_conversation_language("cid1", Lang::En)
            .await
            .unwrap();
        store.close().await.unwrap();
        drop(store);

        let reopened = Store::open(dir.path()).unwrap();
        assert_eq!(
            reopened.conversation_language("cid1").await.unwrap(),
            Some(Lang::En)
        );
        assert_eq!(reopened.conversation_language("cid2").await.unwrap(), None);
    }
}
