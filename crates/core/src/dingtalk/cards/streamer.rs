//! Streams a growing answer into an AI card without hammering DingTalk. Invariants: at most one PUT in
//! flight; PUT starts are spaced adaptively — the first text goes at once and the spacing doubles from
//! `first_interval` up to the steady `min_interval` (about 1–2 s), so the user sees the answer start quickly
//! while a long answer costs one call per interval, not one per token; only the newest text is sent next
//! (every PUT carries the full text, `isFull` being required for markdown, so skipping intermediate texts
//! loses nothing); the final PUT (`isFinalize` or `isError`) is always sent. Every PUT is an OpenAPI call
//! counted against the monthly quota (D-BILL) — the reason for the spacing.
//!
//! Cards go blank above ~3,000 bytes (Docs `api-streamingupdate`: "内容 size 单次不要超过 1 K，总大小建议不要
//! 超过 3 K"), so `update` refuses content over the safe size and the caller switches to markdown chunks.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::client::{CardClient, CardTarget, StreamUpdate};
use super::error::CardError;

/// Spacing after the first PUT; it doubles after every PUT up to `min_interval`.
pub const DEFAULT_FIRST_INTERVAL: Duration = Duration::from_millis(250);
/// The steady spacing of PUT starts once the answer is flowing.
pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_millis(1_500);
/// DingTalk advises ≤3 KB of card content; longer answers were seen to render as a blank card.
pub const DEFAULT_SAFE_BYTES: usize = 3_000;

#[derive(Clone, Debug)]
pub struct StreamerConfig {
    /// The template's streaming variable.
    pub key: String,
    /// Spacing after the first PUT (the ramp's start); never more than `min_interval`.
    pub first_interval: Duration,
    /// The steady spacing of PUT starts.
    pub min_interval: Duration,
    /// Content above this many bytes is not sent to the card.
    pub safe_bytes: usize,
}

impl Default for StreamerConfig {
    fn default() -> Self {
        Self {
            key: "content".to_owned(),
            first_interval: DEFAULT_FIRST_INTERVAL,
            min_interval: DEFAULT_MIN_INTERVAL,
            safe_bytes: DEFAULT_SAFE_BYTES,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum End {
    Finalize(String),
    Error(String),
}

/// The newest wish of the caller; the task only ever looks at the latest one (latest-wins).
#[derive(Clone, Debug, Default)]
struct Wanted {
    text: String,
    end: Option<End>,
}

/// Drives one card. Dropping it without `finish`/`fail` stops streaming and leaves the card as it is.
pub struct CardStreamer {
    wanted: watch::Sender<Wanted>,
    failure: Arc<Mutex<Option<CardError>>>,
    task: JoinHandle<Result<u32, CardError>>,
    safe_bytes: usize,
}

impl CardStreamer {
    /// Creates and delivers the card (`params` = its initial cardParamMap), then starts streaming.
    pub async fn create(
        client: CardClient,
        target: &CardTarget,
        template_id: &str,
        out_track_id: &str,
        params: &BTreeMap<String, String>,
        config: StreamerConfig,
    ) -> Result<Self, CardError> {
        client
            .create_and_deliver(target, template_id, out_track_id, params)
            .await?;
        Ok(Self::attach(client, out_track_id, config))
    }

    /// Streams into an already delivered card. Must be called inside a Tokio runtime.
    pub fn attach(client: CardClient, out_track_id: &str, config: StreamerConfig) -> Self {
        let (wanted, rx) = watch::channel(Wanted::default());
        let failure = Arc::new(Mutex::new(None));
        let safe_bytes = config.safe_bytes;
        let task = tokio::spawn(run(
            client,
            out_track_id.to_owned(),
            config,
            rx,
            failure.clone(),
        ));
        Self {
            wanted,
            failure,
            task,
            safe_bytes,
        }
    }

    /// Whether `text` may be shown in the card.
    pub fn fits(&self, text: &str) -> bool {
        text.len() <= self.safe_bytes
    }

    /// The whole answer so far. Never blocks: the text is sent when the previous PUT is done and the
    /// interval has passed, unless a newer text replaces it first. `TooLarge` = stop streaming and send
    /// the answer as markdown; any other error = the card failed (it was marked failed), degrade.
    pub fn update(&self, full_text: &str) -> Result<(), CardError> {
        self.check_failure()?;
        if !self.fits(full_text) {
            return Err(CardError::TooLarge {
                bytes: full_text.len(),
                limit: Some(self.safe_bytes),
            });
        }
        let mut sent = false;
        self.wanted.send_if_modified(|w| {
            sent = w.end.is_none();
            if sent && w.text != full_text {
                w.text = full_text.to_owned();
                return true;
            }
            false
        });
        if sent { Ok(()) } else { Err(CardError::Closed) }
    }

    /// Final PUT with `isFinalize` and the full text; returns the number of PUTs made. Over the safe size,
    /// the card is finalized with the last text it showed and `TooLarge` is returned: send the full text
    /// as markdown.
    pub async fn finish(self, full_text: &str) -> Result<u32, CardError> {
        let too_large = (!self.fits(full_text)).then_some(CardError::TooLarge {
            bytes: full_text.len(),
            limit: Some(self.safe_bytes),
        });
        let end = |w: &mut Wanted| {
            let text = if too_large.is_some() {
                w.text.clone()
            } else {
                full_text.to_owned()
            };
            w.end = Some(End::Finalize(text));
        };
        let updates = self.end_with(end).await?;
        match too_large {
            Some(err) => Err(err),
            None => Ok(updates),
        }
    }

    /// Marks the card failed, showing the text so far plus `note` (cut to the safe size).
    pub async fn fail(self, note: &str) -> Result<u32, CardError> {
        let safe = self.safe_bytes;
        self.end_with(|w| {
            let mut text = w.text.clone();
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(note);
            w.end = Some(End::Error(cut(&text, safe).to_owned()));
        })
        .await
    }

    async fn end_with(self, end: impl FnOnce(&mut Wanted)) -> Result<u32, CardError> {
        self.check_failure()?;
        self.wanted.send_modify(end);
        match self.task.await {
            Ok(result) => result,
            Err(_) => Err(CardError::Closed),
        }
    }

    fn check_failure(&self) -> Result<(), CardError> {
        let failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        match failure.as_ref() {
            Some(err) => Err(err.clone()),
            None => Ok(()),
        }
    }
}

/// The longest prefix of `text` of at most `max_bytes` bytes that ends on a char boundary.
pub fn safe_prefix(text: &str, max_bytes: usize) -> &str {
    cut(text, max_bytes)
}

fn cut(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The pause after PUT number `sent` (1 = the first): `first_interval` doubled per PUT, capped at
/// `min_interval`.
pub fn spacing_after(config: &StreamerConfig, sent: u32) -> Duration {
    let first = config.first_interval.min(config.min_interval);
    let doublings = sent.saturating_sub(1).min(16);
    first
        .saturating_mul(1u32 << doublings)
        .min(config.min_interval)
}

/// The single-flight loop: one PUT at a time, spaced by `spacing_after`, always with the newest text.
async fn run(
    client: CardClient,
    out_track_id: String,
    config: StreamerConfig,
    mut rx: watch::Receiver<Wanted>,
    failure: Arc<Mutex<Option<CardError>>>,
) -> Result<u32, CardError> {
    let mut updates = 0u32;
    let mut last_sent = String::new();
    let mut next_allowed = Instant::now();
    loop {
        if rx.changed().await.is_err() {
            // The streamer was dropped without finish/fail: stop quietly.
            return Ok(updates);
        }
        // Wait out the spacing, unless the end arrives: the final text goes at once.
        while rx.borrow().end.is_none() {
            tokio::select! {
                _ = tokio::time::sleep_until(next_allowed) => break,
                changed = rx.changed() => if changed.is_err() {
                    return Ok(updates);
                },
            }
        }
        // Read after the pause so texts that arrived meanwhile collapse into one PUT.
        let wanted = rx.borrow_and_update().clone();
        let (content, is_finalize, is_error) = match &wanted.end {
            Some(End::Finalize(text)) => (text.as_str(), true, false),
            Some(End::Error(text)) => (text.as_str(), false, true),
            None if wanted.text == last_sent => continue,
            None => (wanted.text.as_str(), false, false),
        };
        let started = Instant::now();
        let update = StreamUpdate {
            out_track_id: &out_track_id,
            key: &config.key,
            full_content: content,
            is_finalize,
            is_error,
        };
        match client.stream(&update).await {
            Ok(()) => {
                updates = updates.saturating_add(1);
                next_allowed = started + spacing_after(&config, updates);
                last_sent = content.to_owned();
                if wanted.end.is_some() {
                    return Ok(updates);
                }
            }
            Err(err) => {
                tracing::warn!(code = err.code(), error = %err, out_track_id, "card streaming failed; degrading");
                *failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(err.clone());
                if !is_error {
                    // Best effort: show the user the card failed instead of leaving it "typing".
                    let mark = StreamUpdate {
                        is_finalize: false,
                        is_error: true,
                        full_content: &last_sent,
                        ..update
                    };
                    let _ = client.stream(&mark).await;
                }
                return Err(err);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacing_starts_short_and_settles_at_the_steady_interval() {
        let config = StreamerConfig::default();
        let spacings: Vec<u128> = (1..=6)
            .map(|n| spacing_after(&config, n).as_millis())
            .collect();
        assert_eq!(spacings, [250, 500, 1_000, 1_500, 1_500, 1_500]);
    }

    #[test]
    fn a_first_interval_above_the_steady_one_is_capped() {
        let config = StreamerConfig {
            first_interval: Duration::from_secs(5),
            min_interval: Duration::from_millis(100),
            ..StreamerConfig::default()
        };
        assert_eq!(spacing_after(&config, 1), Duration::from_millis(100));
        assert_eq!(spacing_after(&config, u32::MAX), Duration::from_millis(100));
    }
}
