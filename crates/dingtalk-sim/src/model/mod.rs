//! A fake OpenAI-compatible model on its own loopback listener, for driving the *real* `opencode serve`
//! offline (OpenCode's `@ai-sdk/openai-compatible` provider pointed at `base_url()`). It serves
//! `GET /v1/models` and `POST /v1/chat/completions` (streamed as SSE `chat.completion.chunk`s ending in
//! `data: [DONE]`, or one JSON `chat.completion` when `stream` is false), never calls tools, and answers
//! deterministically: `echo: <last line of the last user message>`.
//!
//! What it keeps for tests, per prompt (the full text of the request's last user message):
//! - `calls`: requests that reached the model with that prompt (passed the hold gate; a request whose client
//!   went away while held is dropped unseen, as a real provider never sees a request it did not get);
//! - `answers`: answers streamed to the end (`[DONE]` handed to the connection). A request whose client
//!   went away (OpenCode was killed) before the end is not counted here.
//!
//! Knobs: a delay per streamed chunk (globally, or for prompts containing a marker) so a test can kill
//! OpenCode mid-answer, and a hold gate: while held, new requests wait before anything is counted or
//! answered, so a test can stop OpenCode at a moment when no answer is streaming.

mod opencode;
mod routes;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::debug;

pub use opencode::{OPENCODE_BIN_ENV, RealOpenCode, RealOpenCodeError, opencode_binary};

use crate::SimError;

/// What the fake model saw for one prompt.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PromptStats {
    /// Requests that reached the model (after the hold gate).
    pub calls: usize,
    /// Answers streamed to the end.
    pub answers: usize,
    /// Requests whose last user message carried an image part.
    pub with_image: usize,
}

#[derive(Default)]
pub(crate) struct Inner {
    stats: Mutex<HashMap<String, PromptStats>>,
    /// (marker, delay per chunk): prompts containing the marker stream slowly.
    slow: Mutex<Vec<(String, Duration)>>,
    default_delay: Mutex<Duration>,
    streaming: AtomicUsize,
    held: AtomicUsize,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not poison the fake for the rest of the test.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Inner {
    fn delay_for(&self, prompt: &str) -> Duration {
        lock(&self.slow)
            .iter()
            .find(|(marker, _)| prompt.contains(marker.as_str()))
            .map(|(_, delay)| *delay)
            .unwrap_or_else(|| *lock(&self.default_delay))
    }

    fn record(&self, prompt: &str, update: impl FnOnce(&mut PromptStats)) {
        update(lock(&self.stats).entry(prompt.to_owned()).or_default());
    }
}

/// Handle on a running fake model; clones share it. The listener stops when the last clone is dropped.
#[derive(Clone)]
pub struct FakeModel {
    inner: Arc<Inner>,
    hold: Arc<watch::Sender<bool>>,
    port: u16,
    _stop: Arc<tokio_util::sync::DropGuard>,
}

impl std::fmt::Debug for FakeModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeModel")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl FakeModel {
    /// Starts on an ephemeral loopback port.
    pub async fn start() -> Result<FakeModel, SimError> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| SimError::Bind { port: 0, source })?;
        let port = listener.local_addr().map_err(SimError::LocalAddr)?.port();
        let inner = Arc::new(Inner::default());
        let (hold, _) = watch::channel(false);
        let hold = Arc::new(hold);
        let stop = CancellationToken::new();
        let app = routes::router(routes::AppState {
            inner: inner.clone(),
            hold: hold.clone(),
        });
        let cancelled = stop.clone();
        tokio::spawn(async move {
            let serve =
                axum::serve(listener, app).with_graceful_shutdown(cancelled.cancelled_owned());
            if let Err(error) = serve.await {
                debug!(target: "dingtalk_sim::model", %error, "fake model server stopped");
            }
        });
        Ok(FakeModel {
            inner,
            hold,
            port,
            _stop: Arc::new(stop.drop_guard()),
        })
    }

    /// The OpenAI-compatible base URL, `http://127.0.0.1:<port>/v1`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// The model id it reports (any id is answered the same way).
    pub fn model_id(&self) -> &'static str {
        routes::MODEL_ID
    }

    /// Delay before each streamed chunk of every answer (default none).
    pub fn set_chunk_delay(&self, delay: Duration) {
        *lock(&self.inner.default_delay) = delay;
    }

    /// Answers to prompts containing `marker` stream with `delay` before each chunk.
    pub fn slow_for(&self, marker: &str, delay: Duration) {
        let mut slow = lock(&self.inner.slow);
        slow.retain(|(m, _)| m != marker);
        slow.push((marker.to_owned(), delay));
    }

    /// While held, new requests wait (uncounted, unanswered) until [`FakeModel::release`].
    pub fn hold(&self) {
        self.hold.send_replace(true);
    }

    pub fn release(&self) {
        self.hold.send_replace(false);
    }

    /// Answers being streamed right now.
    pub fn streaming(&self) -> usize {
        self.inner.streaming.load(Ordering::SeqCst)
    }

    /// Requests waiting at the hold gate right now.
    pub fn held(&self) -> usize {
        self.inner.held.load(Ordering::SeqCst)
    }

    /// Every prompt seen so far with its counts.
    pub fn stats(&self) -> HashMap<String, PromptStats> {
        lock(&self.inner.stats).clone()
    }

    /// The summed counts of the prompts containing `needle` (e.g. a DingTalk msgId or message text).
    pub fn stats_for(&self, needle: &str) -> PromptStats {
        lock(&self.inner.stats)
            .iter()
            .filter(|(prompt, _)| prompt.contains(needle))
            .fold(PromptStats::default(), |mut sum, (_, s)| {
                sum.calls += s.calls;
                sum.answers += s.answers;
                sum.with_image += s.with_image;
                sum
            })
    }

    /// The answer it gives to a prompt: `echo: ` + the prompt's last non-empty line.
    pub fn answer_to(prompt: &str) -> String {
        routes::answer_to(prompt)
    }
}
