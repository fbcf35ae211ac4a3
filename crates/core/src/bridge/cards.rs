//! Streams agent answers into a DingTalk AI card when a card template is configured. Past the card's safe
//! size the card shows the beginning and the rest continues as markdown chunks; any card failure degrades
//! the bridge to plain markdown for a cool-down (cards fail a lot on weak networks and missing permissions,
//! and a half-working card is worse than a plain message).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::dingtalk::ConversationKind;
use crate::dingtalk::cards::{CardClient, CardError, CardStreamer, CardTarget, StreamerConfig};
use crate::i18n::{ChatKey, ChatText, Lang};
use crate::store::Route;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CardSettings {
    /// AI card template id from the card builder (`<id>.schema`); empty = markdown replies only.
    pub template_id: String,
    /// The template's streaming markdown variable.
    pub streaming_key: String,
    /// Steady spacing of streaming updates (latest text wins; the first ones go sooner).
    pub min_interval_ms: u64,
    /// Content above this many bytes is not put in the card (DingTalk advises ≤ 3 KB).
    pub safe_bytes: usize,
    /// After a card failure, plain markdown is used for this long.
    pub cooldown_secs: u64,
}

impl Default for CardSettings {
    fn default() -> Self {
        Self {
            template_id: String::new(),
            streaming_key: "content".into(),
            min_interval_ms: 1_500,
            safe_bytes: 3_000,
            cooldown_secs: 30 * 60,
        }
    }
}

pub struct CardReplies {
    client: Option<CardClient>,
    settings: CardSettings,
    degraded_until: Mutex<Option<Instant>>,
}

/// How a finished answer is split between the card and markdown.
pub struct CardFinish {
    /// Markdown still to send after the card (empty when the card holds everything).
    pub remainder: String,
}

impl CardReplies {
    pub fn new(client: Option<CardClient>, settings: CardSettings) -> Self {
        Self {
            client: client.filter(|_| !settings.template_id.is_empty()),
            settings,
            degraded_until: Mutex::new(None),
        }
    }

    fn in_cooldown(&self) -> bool {
        self.degraded_until
            .lock()
            .map(|until| until.is_some_and(|t| Instant::now() < t))
            .unwrap_or(false)
    }

    /// Card failures switch to markdown for the cool-down.
    pub fn degrade(&self, err: &CardError) {
        tracing::warn!(code = err.code(), error = %err, cooldown_s = self.settings.cooldown_secs, "card failed; using markdown for a while");
        if let Ok(mut until) = self.degraded_until.lock() {
            // A configured cool-down too large for the clock means "for as long as this process runs".
            *until = Instant::now().checked_add(Duration::from_secs(self.settings.cooldown_secs));
            if until.is_none() {
                *until = Instant::now().checked_add(Duration::from_secs(86_400 * 365));
            }
        }
    }

    /// Creates and delivers a card for this turn, or `None` (no template, cooling down, no target, failure).
    pub async fn start(&self, route: &Route, msg_id: &str) -> Option<CardStreamer> {
        let client = self.client.clone()?;
        if self.in_cooldown() {
            return None;
        }
        let target = match (route.kind, &route.staff_id) {
            (ConversationKind::Group, _) => CardTarget::Group(route.conversation_id.clone()),
            (ConversationKind::Single, Some(staff)) => CardTarget::User(staff.clone()),
            (ConversationKind::Single, None) => return None,
        };
        let out_track_id = format!("dingbridge-{}", uuid::Uuid::new_v4());
        let mut params = BTreeMap::new();
        params.insert(self.settings.streaming_key.clone(), String::new());
        let config = StreamerConfig {
            key: self.settings.streaming_key.clone(),
            min_interval: Duration::from_millis(self.settings.min_interval_ms.max(50)),
            safe_bytes: self.settings.safe_bytes,
            ..StreamerConfig::default()
        };
        match CardStreamer::create(
            client,
            &target,
            &self.settings.template_id,
            &out_track_id,
            &params,
            config,
        )
        .await
        {
            Ok(streamer) => {
                tracing::debug!(msg_id, out_track_id, "AI card delivered");
                Some(streamer)
            }
            Err(err) => {
                self.degrade(&err);
                None
            }
        }
    }

    /// Finalizes the card with the answer (or its beginning, when too large); `Err` means the card failed
    /// and the whole answer must go as markdown.
    pub async fn finish(
        &self,
        streamer: CardStreamer,
        text: &str,
        lang: Lang,
    ) -> Result<CardFinish, CardError> {
        if streamer.fits(text) {
            return match streamer.finish(text).await {
                Ok(_) => Ok(CardFinish {
                    remainder: String::new(),
                }),
                Err(err) => {
                    self.degrade(&err);
                    Err(err)
                }
            };
        }
        // Too large: the card keeps a readable beginning (cut at a line end), markdown carries the rest.
        let continued = format!("\n\n{}", ChatText::get(lang, ChatKey::CardContinued));
        let budget = self.settings.safe_bytes.saturating_sub(continued.len());
        let head = &text[..card_cut(text, budget)];
        let card_text = format!("{head}{continued}");
        match streamer.finish(&card_text).await {
            Ok(_) => Ok(CardFinish {
                remainder: text[head.len()..].trim_start_matches('\n').to_owned(),
            }),
            Err(err) => {
                self.degrade(&err);
                Err(err)
            }
        }
    }

    /// Marks the card failed with a note; the caller sends nothing else on success.
    pub async fn fail(&self, streamer: CardStreamer, note: &str) -> bool {
        match streamer.fail(note).await {
            Ok(_) => true,
            Err(err) => {
                self.degrade(&err);
                false
            }
        }
    }
}

/// The longest beginning of `text` within `budget` bytes that ends at a line end outside any code fence, so
/// the card renders and the markdown remainder starts clean.
fn card_cut(text: &str, budget: usize) -> usize {
    let mut in_fence = false;
    let mut best = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        offset += line.len();
        if offset > budget {
            break;
        }
        if !in_fence {
            best = offset;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::card_cut;

    #[test]
    fn the_card_part_never_ends_inside_a_code_fence() {
        let text = "intro\n```rust\nlet a = 1;\nlet b = 2;\n```\nafter\n";
        assert_eq!(&text[..card_cut(text, 20)], "intro\n");
        assert_eq!(&text[..card_cut(text, text.len())], text);
    }

    #[test]
    fn multibyte_text_is_cut_at_a_line_end() {
        let text = "第一行\n第二行\n";
        assert_eq!(&text[..card_cut(text, 12)], "第一行\n");
    }
}
