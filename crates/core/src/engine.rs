//! The engine: one handle owning the store, the Stream client, the pipeline and the event bus. The desktop
//! shell, the headless daemon and tests all drive DingBridge through it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tokio::sync::{Mutex, broadcast};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::agent::AgentBackend;
use crate::api::status::{QuotaStatus, StatusSnapshot};
use crate::bridge::{ConversationQueues, Intake, ReplyProcessor};
use crate::config::Config;
use crate::dingtalk::send::WebhookSender;
use crate::dingtalk::stream::{StreamClient, StreamClientConfig};
use crate::events::{Event, EventBus};
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};
use crate::time::{month_of, now_ms};

/// How long shutdown waits for running agent turns before leaving them to the next start's replay.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: SecretString,
}

pub struct EngineOptions {
    /// "demo", "serve" or "app": shown in the dashboard.
    pub mode: String,
    pub config: Config,
    pub data_dir: PathBuf,
    /// Without credentials the engine runs (dashboard, replay) but does not connect to DingTalk.
    pub credentials: Option<Credentials>,
    pub agent: Arc<dyn AgentBackend>,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("[ENGINE_HTTP] cannot build the HTTP client: {0}")]
    Http(String),
}

impl EngineError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Store(err) => err.code(),
            Self::Http(_) => "ENGINE_HTTP",
        }
    }
}

struct Inner {
    mode: String,
    config: Config,
    started_at_ms: i64,
    store: Store,
    metrics: Arc<Metrics>,
    events: EventBus,
    queues: ConversationQueues,
    stream_cancel: CancellationToken,
    queue_cancel: CancellationToken,
    turn_abort: CancellationToken,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// Cheap-to-clone handle.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl Engine {
    pub async fn start(options: EngineOptions) -> Result<Self, EngineError> {
        let EngineOptions {
            mode,
            config,
            data_dir,
            credentials,
            agent,
        } = options;
        let store = Store::open(&data_dir)?;
        let metrics = Arc::new(Metrics::default());
        let events = EventBus::default();
        metrics.load_conversations(store.conversations(200).await?);
        let month = month_of(now_ms());
        let used = store.counter(&month, "stream_messages").await?;
        metrics.set_stream_usage(month, used);

        let http = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(90))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|err| EngineError::Http(err.to_string()))?;
        let queue_cancel = CancellationToken::new();
        let stream_cancel = CancellationToken::new();
        let turn_abort = CancellationToken::new();
        let processor = Arc::new(ReplyProcessor {
            agent,
            sender: WebhookSender::new(http.clone()),
            store: store.clone(),
            metrics: metrics.clone(),
            events: events.clone(),
            retry_delay: Duration::from_millis(config.bridge.retry_delay_ms.max(10)),
        });
        let queues = ConversationQueues::new(
            config.bridge.max_concurrent_turns,
            processor,
            events.clone(),
            queue_cancel.clone(),
            turn_abort.clone(),
        );
        let intake = Intake::start(
            store.clone(),
            queues.clone(),
            metrics.clone(),
            events.clone(),
        );

        // Replay what a previous run persisted (and ACKed) but did not finish, in arrival order.
        let unfinished = store.unfinished().await?;
        if !unfinished.is_empty() {
            tracing::info!(count = unfinished.len(), "replaying unfinished inbox items");
        }
        for item in unfinished {
            intake.remember(&item.message.msg_id);
            queues.enqueue(item);
        }

        let mut tasks = Vec::new();
        if let Some(credentials) = credentials {
            let client = StreamClient::new(
                StreamClientConfig {
                    api_base: config.dingtalk.api_base.clone(),
                    client_id: credentials.client_id,
                    client_secret: credentials.client_secret,
                    settings: config.stream.clone(),
                },
                http,
                intake,
                metrics.clone(),
                events.clone(),
            );
            let cancel = stream_cancel.clone();
            tasks.push(tokio::spawn(client.run(cancel)));
        } else {
            tracing::warn!("no DingTalk credentials configured: not connecting to DingTalk");
        }
        tasks.push(tokio::spawn(purge_finished(
            store.clone(),
            Duration::from_secs(config.bridge.inbox_retention_hours.max(1) * 3600),
            queue_cancel.clone(),
        )));

        Ok(Self {
            inner: Arc::new(Inner {
                mode,
                config,
                started_at_ms: now_ms(),
                store,
                metrics,
                events,
                queues,
                stream_cancel,
                queue_cancel,
                turn_abort,
                tasks: Mutex::new(tasks),
            }),
        })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.events.subscribe()
    }

    pub fn events(&self) -> &EventBus {
        &self.inner.events
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub fn queues(&self) -> &ConversationQueues {
        &self.inner.queues
    }

    pub fn status(&self) -> StatusSnapshot {
        let inner = &self.inner;
        let (month, stream_used) = inner.metrics.stream_usage();
        StatusSnapshot {
            mode: inner.mode.clone(),
            version: env!("CARGO_PKG_VERSION").into(),
            started_at_ms: inner.started_at_ms,
            connection: inner.metrics.connection(),
            counters: inner.metrics.counters(),
            queues: inner.queues.status(),
            conversations: inner.metrics.conversations(),
            ack_latency: inner.metrics.ack_latency(),
            quota: QuotaStatus {
                month,
                stream_used,
                stream_budget: inner.config.quota.stream_budget,
                exhausted: inner.metrics.quota_exhausted()
                    || stream_used >= inner.config.quota.stream_budget,
            },
        }
    }

    /// Graceful stop: close the DingTalk socket (no new frames), let running agent turns finish (bounded,
    /// then aborted and left for replay),
    /// leave queued items in the inbox for the next start, flush and close the store.
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        inner.stream_cancel.cancel();
        inner.queue_cancel.cancel();
        // Frames that arrived just before the socket closed are persisted by now or will be redelivered.
        if tokio::time::timeout(DRAIN_TIMEOUT, inner.queues.wait_no_turn_running())
            .await
            .is_err()
        {
            tracing::warn!(
                "agent turns still running at shutdown; they will be replayed on next start"
            );
            inner.turn_abort.cancel();
            let _ = tokio::time::timeout(
                Duration::from_secs(2),
                inner.queues.wait_no_turn_running(),
            )
            .await;
        }
        let tasks = std::mem::take(&mut *inner.tasks.lock().await);
        for task in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        if let Err(err) = inner.store.close().await {
            tracing::warn!(code = err.code(), error = %err, "store close");
        }
    }
}

async fn purge_finished(store: Store, retention: Duration, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {
                let before = now_ms() - retention.as_millis() as i64;
                match store.purge_finished_before(before).await {
                    Ok(0) => {}
                    Ok(count) => tracing::info!(count, "purged finished inbox rows"),
                    Err(err) => tracing::warn!(code = err.code(), error = %err, "inbox purge failed"),
                }
            }
        }
    }
}
