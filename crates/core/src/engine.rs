//! The engine: one handle owning the store, the Stream client, the pipeline, the outbox, the OpenAPI
//! services and the event bus. The desktop shell, the headless daemon, the MCP server and tests all drive
//! DingBridge through it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use serde::Serialize;
use tokio::sync::{Mutex, broadcast};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::agent::opencode::managed::{ManagedBackend, ManagedOptions};
use crate::agent::{AgentBackend, OpenCodeBackend, OpenCodeSettings};
use crate::api::status::{
    MemoryUsage, PerformanceSnapshot, QueueStatus, QuotaStatus, StatusSnapshot,
};
use crate::bridge::{
    Attachments, BridgeError, CardReplies, ChatLanguages, Commands, ConversationQueues, Dispatcher,
    Intake, MessageFormat, Outbox, Pacer, PermissionBroker, Replies, ReplyProcessor, RouteDelivery,
};
use crate::config::Config;
use crate::dingtalk::ConversationKind;
use crate::dingtalk::auth::{RefreshPolicy, TokenManager};
use crate::dingtalk::cards::CardClient;
use crate::dingtalk::contacts::{ContactsService, Directory};
use crate::dingtalk::docs::DocsService;
use crate::dingtalk::message_files::MessageFiles;
use crate::dingtalk::openapi::OpenApiClient;
use crate::dingtalk::send::{OpenApiSender, WebhookSender};
use crate::dingtalk::stream::{StreamClient, StreamClientConfig};
use crate::events::{Event, EventBus};
use crate::metrics::Metrics;
use crate::quota::QuotaMeter;
use crate::store::{HistoryEntry, Route, Store, StoreError};
use crate::time::now_ms;

/// How long shutdown waits for running agent turns before leaving them to the next start's replay.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `send_message` waits for DingTalk to accept the message before answering "queued".
const SEND_WAIT: Duration = Duration::from_secs(20);
/// How long a managed OpenCode may take to start (the first start installs its plugins).
const MANAGED_START_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Clone)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: SecretString,
}

/// Which agent answers DingTalk messages.
pub enum AgentSpec {
    /// A backend built by the caller (echo, tests).
    Ready(Arc<dyn AgentBackend>),
    /// The developer's OpenCode server; the engine builds it on its own store (session mapping).
    OpenCode {
        settings: OpenCodeSettings,
        password: Option<SecretString>,
    },
    /// Managed mode: the engine starts and supervises `opencode serve` per project.
    Managed(ManagedOptions),
}

impl<T: AgentBackend> From<Arc<T>> for AgentSpec {
    fn from(agent: Arc<T>) -> Self {
        Self::Ready(agent)
    }
}

impl From<Arc<dyn AgentBackend>> for AgentSpec {
    fn from(agent: Arc<dyn AgentBackend>) -> Self {
        Self::Ready(agent)
    }
}

impl AgentSpec {
    /// From the `[agent]` settings: OpenCode (password from `OPENCODE_SERVER_PASSWORD`) or echo.
    pub fn from_settings(settings: &crate::config::AgentSettings, echo_delay: Duration) -> Self {
        if settings.backend == "echo" {
            return Self::Ready(Arc::new(crate::agent::EchoAgent::new(echo_delay)));
        }
        let mut opencode = OpenCodeSettings::default().with_base_url(settings.opencode_url.clone());
        opencode = opencode.with_env_username();
        if let Some(user) = &settings.opencode_username {
            opencode.username = user.clone();
        }
        opencode.directory = settings.opencode_directory.clone();
        if settings.is_managed() {
            return Self::Managed(ManagedOptions {
                projects: crate::agent::opencode::managed::projects_from_settings(settings),
                bin: settings.opencode_bin.as_deref().map(PathBuf::from),
                log_dir: None,
                // The host puts the keychain's password here; without one each run generates its own.
                password: None,
                settings: opencode,
                env: Vec::new(),
                start_timeout: MANAGED_START_TIMEOUT,
                idle_stop: (settings.idle_stop_minutes > 0)
                    .then(|| Duration::from_secs(settings.idle_stop_minutes.saturating_mul(60))),
            });
        }
        Self::OpenCode {
            settings: opencode,
            password: crate::agent::opencode::password_from_env(),
        }
    }
}

pub struct EngineOptions {
    /// "demo", "serve" or "app": shown in the dashboard.
    pub mode: String,
    pub config: Config,
    pub data_dir: PathBuf,
    /// Without credentials the engine runs (dashboard, replay) but does not connect to DingTalk.
    pub credentials: Option<Credentials>,
    pub agent: AgentSpec,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("[ENGINE_HTTP] cannot build the HTTP client: {0}")]
    Http(String),
    #[error(transparent)]
    Agent(#[from] crate::agent::AgentError),
    #[error(transparent)]
    Lock(#[from] crate::instance_lock::LockError),
}

impl EngineError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Store(err) => err.code(),
            Self::Http(_) => "ENGINE_HTTP",
            Self::Agent(err) => err.code(),
            Self::Lock(err) => err.code(),
        }
    }
}

/// The robot code for OpenAPI sends and cards: `[dingtalk] robot_code`, else the AppKey.
fn robot_code(config: &Config, credentials: &Credentials) -> String {
    config
        .dingtalk
        .robot_code_or(&credentials.client_id)
        .to_string()
}

/// Result of a send requested through the API (MCP `send_message` and friends).
#[derive(Clone, Debug, Serialize)]
pub struct SendReport {
    pub conversation_id: String,
    /// "sent" (DingTalk accepted every part), "queued" (still pacing/retrying) or "failed".
    pub status: String,
    pub parts: usize,
    pub outbox_ids: Vec<i64>,
    /// "webhook", "oto" or "group" for sent messages.
    pub channels: Vec<String>,
    pub error: Option<String>,
}

struct Inner {
    mode: String,
    config: Config,
    started_at_ms: i64,
    store: Store,
    metrics: Arc<Metrics>,
    quota: Arc<QuotaMeter>,
    events: EventBus,
    queues: ConversationQueues,
    outbox: Outbox,
    replies: Replies,
    tokens: TokenManager,
    contacts: ContactsService,
    docs: DocsService,
    agent: Arc<dyn AgentBackend>,
    managed: Option<ManagedBackend>,
    permissions: Arc<PermissionBroker>,
    has_credentials: bool,
    /// Where the MCP server ended up listening (set by whoever started it).
    mcp_url: std::sync::Mutex<Option<String>>,
    stream_cancel: CancellationToken,
    queue_cancel: CancellationToken,
    turn_abort: CancellationToken,
    outbox_cancel: CancellationToken,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// One engine per data dir: held from start until `shutdown` closed the store.
    instance_lock: std::sync::Mutex<Option<crate::instance_lock::InstanceLock>>,
}

/// Cheap-to-clone handle.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

/// A handle that does not keep the engine alive (long-lived listeners such as the dashboard's live feed):
/// once the engine is dropped, its event bus closes and the listener ends.
#[derive(Clone)]
pub struct WeakEngine(std::sync::Weak<Inner>);

impl WeakEngine {
    pub fn upgrade(&self) -> Option<Engine> {
        self.0.upgrade().map(|inner| Engine { inner })
    }
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
        let instance_lock = crate::instance_lock::InstanceLock::acquire(&data_dir)?;
        let store = Store::open(&data_dir)?;
        let metrics = Arc::new(Metrics::default());
        let events = EventBus::default();
        metrics.load_conversations(store.conversations(200).await?);
        let quota =
            Arc::new(QuotaMeter::load(store.clone(), events.clone(), config.quota.clone()).await?);

        let http = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(90))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|err| EngineError::Http(err.to_string()))?;
        let mut managed = None;
        let agent: Arc<dyn AgentBackend> = match agent {
            AgentSpec::Ready(agent) => agent,
            AgentSpec::OpenCode { settings, password } => Arc::new(
                OpenCodeBackend::with_http_client(settings, password, store.clone(), http.clone()),
            ),
            AgentSpec::Managed(options) => {
                let backend = ManagedBackend::new(
                    options,
                    data_dir.join("logs"),
                    store.clone(),
                    http.clone(),
                );
                managed = Some(backend.clone());
                Arc::new(backend)
            }
        };
        let retry_delay = Duration::from_millis(config.bridge.retry_delay_ms.max(10));
        let stream_cancel = CancellationToken::new();
        let queue_cancel = CancellationToken::new();
        let turn_abort = CancellationToken::new();
        let outbox_cancel = CancellationToken::new();
        let mut tasks = Vec::new();

        // OpenAPI: one token manager for sends, contacts and docs.
        let tokens = TokenManager::new(
            http.clone(),
            config.dingtalk.api_base.clone(),
            credentials.clone(),
            events.clone(),
            RefreshPolicy::default(),
        );
        if credentials.is_some() {
            tasks.push(tokens.spawn_refresher(outbox_cancel.clone()));
        }
        // Every OpenAPI call counts against the monthly quota; cards and Docs also take the app rate the
        // outbox pacer uses for sends (one budget for the app's QPS).
        let pacer = Pacer::new(&config.pacing);
        let openapi = OpenApiClient::new(
            http.clone(),
            &config.dingtalk,
            tokens.clone(),
            events.clone(),
        )
        .with_usage(quota.clone());
        let paced = openapi.clone().with_pacing(pacer.app_rate());
        let directory = Directory::new(store.clone());
        let contacts = ContactsService::new(openapi.clone(), directory.clone());
        let docs = DocsService::new(paced.clone(), contacts.clone());
        // Docs operator from `[docs]`: resolved (userId/mobile → unionId) in the background, never failing start.
        let docs_operator = config
            .docs
            .operator_user_id
            .clone()
            .filter(|id| !id.trim().is_empty())
            .map(crate::dingtalk::docs::OperatorRef::UserId)
            .or_else(|| {
                config
                    .docs
                    .operator_mobile
                    .clone()
                    .filter(|m| !m.trim().is_empty())
                    .map(crate::dingtalk::docs::OperatorRef::Mobile)
            });
        if let Some(source) = docs_operator
            && credentials.is_some()
            && docs.operator_union_id().is_none()
        {
            let docs = docs.clone();
            tokio::spawn(async move {
                if let Err(err) = docs.configure_operator(source).await {
                    tracing::warn!(code = err.code(), error = %err, "the Docs operator could not be resolved");
                }
            });
        }

        // Outbound: durable outbox → pacer → webhook or OpenAPI.
        let delivery = RouteDelivery {
            webhook: WebhookSender::new(http.clone()),
            openapi: credentials
                .as_ref()
                .map(|c| OpenApiSender::new(openapi.clone(), robot_code(&config, c))),
        };
        let outbox = Outbox::new(
            store.clone(),
            pacer,
            Arc::new(delivery),
            metrics.clone(),
            events.clone(),
            retry_delay,
            outbox_cancel.clone(),
        );
        let replies = Replies::new(store.clone(), outbox.clone(), config.agent.chunk_chars);

        // Inbound: intake → dispatcher (allow-list, commands) → queues → agent.
        let permissions = PermissionBroker::new(
            agent.clone(),
            Duration::from_secs(config.agent.permission_timeout_secs.max(1)),
        );
        let cards = Arc::new(CardReplies::new(
            credentials
                .as_ref()
                .map(|c| CardClient::new(paced.clone(), robot_code(&config, c))),
            config.cards.clone(),
        ));
        // Files users send: fetched with the paced, quota-counted client, capped, purged after retention.
        let message_files = credentials.as_ref().map(|c| {
            MessageFiles::new(
                paced.clone(),
                http.clone(),
                robot_code(&config, c),
                &data_dir,
                config
                    .bridge
                    .attachment_max_mb
                    .max(1)
                    .saturating_mul(1024 * 1024),
            )
        });
        if let Some(files) = &message_files {
            tasks.push(tokio::spawn(Attachments::purge_periodically(
                files.clone(),
                Duration::from_secs(
                    config
                        .bridge
                        .attachment_retention_hours
                        .max(1)
                        .saturating_mul(3600),
                ),
                Duration::from_secs(3600),
                outbox_cancel.clone(),
            )));
        }
        let languages = ChatLanguages::new(config.bridge.language, store.clone());
        let processor = Arc::new(ReplyProcessor {
            agent: agent.clone(),
            replies: replies.clone(),
            cards,
            permissions: permissions.clone(),
            store: store.clone(),
            metrics: metrics.clone(),
            events: events.clone(),
            retry_delay,
            attachments: Attachments {
                files: message_files,
                replies: replies.clone(),
            },
            languages: languages.clone(),
        });
        let queues = ConversationQueues::new(
            config.bridge.max_concurrent_turns,
            processor,
            events.clone(),
            queue_cancel.clone(),
            turn_abort.clone(),
        );
        let dispatcher = Arc::new(Dispatcher::new(
            config.access.clone(),
            Arc::new(Commands {
                agent: agent.clone(),
                managed: managed.clone(),
                permissions: permissions.clone(),
                queues: queues.clone(),
                metrics: metrics.clone(),
                quota: quota.clone(),
                store: store.clone(),
                languages,
            }),
            queues.clone(),
            replies.clone(),
            events.clone(),
        ));
        let intake = Intake::start(
            store.clone(),
            dispatcher.clone(),
            quota.clone(),
            metrics.clone(),
            events.clone(),
        );

        // Resume what a previous run left: undelivered outbox rows, then unanswered messages in arrival order.
        outbox.push(store.pending_outbox().await?);
        let unfinished = store.unfinished().await?;
        if !unfinished.is_empty() {
            tracing::info!(count = unfinished.len(), "replaying unfinished inbox items");
        }
        for item in unfinished {
            intake.remember(&item.message.msg_id);
            dispatcher.dispatch(item);
        }

        let has_credentials = credentials.is_some();
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
            tasks.push(tokio::spawn(client.run(stream_cancel.clone())));
        } else {
            tracing::warn!("no DingTalk credentials configured: not connecting to DingTalk");
        }
        tasks.push(tokio::spawn(purge_finished(
            store.clone(),
            Duration::from_secs(
                config
                    .bridge
                    .inbox_retention_hours
                    .max(1)
                    .saturating_mul(3600),
            ),
            queue_cancel.clone(),
        )));

        Ok(Self {
            inner: Arc::new(Inner {
                mode,
                config,
                started_at_ms: now_ms(),
                store,
                metrics,
                quota,
                events,
                queues,
                outbox,
                replies,
                tokens,
                contacts,
                docs,
                agent,
                managed,
                permissions,
                has_credentials,
                mcp_url: std::sync::Mutex::new(None),
                stream_cancel,
                queue_cancel,
                turn_abort,
                outbox_cancel,
                tasks: Mutex::new(tasks),
                instance_lock: std::sync::Mutex::new(Some(instance_lock)),
            }),
        })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.events.subscribe()
    }

    pub fn downgrade(&self) -> WeakEngine {
        WeakEngine(Arc::downgrade(&self.inner))
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

    pub fn outbox(&self) -> &Outbox {
        &self.inner.outbox
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The managed OpenCode servers, in managed mode.
    pub fn managed(&self) -> Option<&ManagedBackend> {
        self.inner.managed.as_ref()
    }

    pub fn agent(&self) -> &Arc<dyn AgentBackend> {
        &self.inner.agent
    }

    /// The agent's open permission asks and questions, per conversation.
    pub fn permissions(&self) -> &Arc<PermissionBroker> {
        &self.inner.permissions
    }

    pub fn contacts(&self) -> &ContactsService {
        &self.inner.contacts
    }

    pub fn docs(&self) -> &DocsService {
        &self.inner.docs
    }

    pub fn tokens(&self) -> &TokenManager {
        &self.inner.tokens
    }

    /// Whether DingTalk credentials are configured (the DingTalk-facing tools need them).
    pub fn has_credentials(&self) -> bool {
        self.inner.has_credentials
    }

    /// Records where the MCP server listens, for the settings data.
    pub fn set_mcp_url(&self, url: Option<String>) {
        if let Ok(mut current) = self.inner.mcp_url.lock() {
            *current = url;
        }
    }

    /// Where this engine's MCP server listens (set by the host that started it).
    pub fn mcp_url(&self) -> Option<String> {
        self.inner.mcp_url.lock().ok().and_then(|url| url.clone())
    }

    pub fn status(&self) -> StatusSnapshot {
        let inner = &self.inner;
        let usage = inner.quota.usage();
        StatusSnapshot {
            mode: inner.mode.clone(),
            version: env!("CARGO_PKG_VERSION").into(),
            started_at_ms: inner.started_at_ms,
            connection: inner.metrics.connection(),
            counters: inner.metrics.counters(),
            queues: QueueStatus {
                waiting_for_agent: inner.metrics.waiting_for_agent.list(),
                ..inner.queues.status()
            },
            conversations: inner.metrics.conversations(),
            ack_latency: inner.metrics.ack_latency(),
            quota: QuotaStatus {
                exhausted: inner.metrics.quota_exhausted()
                    || usage.stream_used >= usage.stream_budget,
                month: usage.month,
                stream_used: usage.stream_used,
                stream_budget: usage.stream_budget,
                api_used: usage.api_used,
                api_budget: usage.api_budget,
            },
            outbox: inner.outbox.status(),
            auth: inner.tokens.status(),
            agent_servers: inner
                .managed
                .as_ref()
                .map(ManagedBackend::statuses)
                .unwrap_or_default(),
        }
        .bounded()
    }

    pub fn performance(&self) -> PerformanceSnapshot {
        let metrics = &self.inner.metrics;
        let uptime_ms = (now_ms() - self.inner.started_at_ms).max(1);
        let per_minute = |count: u64| count as f64 * 60_000.0 / uptime_ms as f64;
        let counters = metrics.counters();
        PerformanceSnapshot {
            uptime_s: (uptime_ms / 1000) as u64,
            frame_to_ack: metrics.ack_latency(),
            agent_turn: metrics.turn_latency.summary(),
            send: metrics.send_latency.summary(),
            messages_received: counters.received,
            messages_sent: counters.replies_sent,
            received_per_minute: per_minute(counters.received),
            sent_per_minute: per_minute(counters.replies_sent),
            memory: MemoryUsage::current(),
        }
    }

    /// A conversation's messages in and out, newest first.
    pub async fn history(
        &self,
        conversation_id: &str,
        limit: usize,
        before_ms: Option<i64>,
    ) -> Result<Vec<HistoryEntry>, BridgeError> {
        Ok(self
            .inner
            .store
            .history(conversation_id, limit.clamp(1, 500), before_ms)
            .await?)
    }

    /// Sends into a conversation DingBridge knows (it has received a message from it), through the same
    /// outbox and pacer as agent replies. Waits up to 20 s for DingTalk to accept it.
    pub async fn send_message(
        &self,
        conversation_id: &str,
        content: &str,
        format: MessageFormat,
    ) -> Result<SendReport, BridgeError> {
        let route = self
            .inner
            .store
            .route(conversation_id)
            .await?
            .ok_or_else(|| {
                BridgeError::NotFound(format!("unknown conversation `{conversation_id}`"))
            })?;
        self.send_on_route(route, content, format).await
    }

    /// 1:1 message to a user by userId (staffId): their known chat, or the robot's proactive 1:1 send.
    pub async fn send_to_user(
        &self,
        staff_id: &str,
        content: &str,
        format: MessageFormat,
    ) -> Result<SendReport, BridgeError> {
        let known = self.inner.store.route_for_staff(staff_id).await?;
        let route = known.unwrap_or_else(|| Route {
            conversation_id: format!("user:{staff_id}"),
            kind: ConversationKind::Single,
            staff_id: Some(staff_id.to_owned()),
            sender_nick: staff_id.to_owned(),
            session_webhook: None,
            webhook_expires_ms: None,
        });
        self.send_on_route(route, content, format).await
    }

    /// Group message by openConversationId (the group's conversationId).
    pub async fn send_to_group(
        &self,
        open_conversation_id: &str,
        content: &str,
        format: MessageFormat,
    ) -> Result<SendReport, BridgeError> {
        let known = self.inner.store.route(open_conversation_id).await?;
        let route = known.unwrap_or_else(|| Route {
            conversation_id: open_conversation_id.to_owned(),
            kind: ConversationKind::Group,
            staff_id: None,
            sender_nick: String::new(),
            session_webhook: None,
            webhook_expires_ms: None,
        });
        self.send_on_route(route, content, format).await
    }

    async fn send_on_route(
        &self,
        route: Route,
        content: &str,
        format: MessageFormat,
    ) -> Result<SendReport, BridgeError> {
        if content.trim().is_empty() {
            return Err(BridgeError::InvalidParams("content is empty".into()));
        }
        let webhook_usable = route.session_webhook.is_some()
            && route
                .webhook_expires_ms
                .is_none_or(|expiry| expiry > now_ms());
        if !webhook_usable && !self.inner.has_credentials {
            return Err(BridgeError::NoCredentials);
        }
        let mut outcomes = self.inner.outbox.subscribe_outcomes();
        let source = format!("api-{}", uuid::Uuid::new_v4());
        let created = self
            .inner
            .replies
            .send(&route, content, format, source, false)
            .await?;
        let ids: Vec<i64> = created.iter().map(|item| item.id).collect();
        let mut report = SendReport {
            conversation_id: route.conversation_id.clone(),
            status: "queued".into(),
            parts: ids.len(),
            outbox_ids: ids.clone(),
            channels: Vec::new(),
            error: None,
        };
        let mut remaining: std::collections::HashSet<i64> = ids.into_iter().collect();
        let deadline = tokio::time::Instant::now() + SEND_WAIT;
        while !remaining.is_empty() {
            match tokio::time::timeout_at(deadline, outcomes.recv()).await {
                Ok(Ok(outcome)) if remaining.remove(&outcome.outbox_id) => {
                    if let Some(channel) = outcome.channel {
                        report.channels.push(channel);
                    }
                    if !outcome.sent {
                        report.error = outcome.error;
                    }
                }
                Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
                Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => break,
            }
        }
        if remaining.is_empty() {
            report.status = if report.error.is_some() {
                "failed"
            } else {
                "sent"
            }
            .into();
        }
        Ok(report)
    }

    /// Graceful stop: close the DingTalk socket (no new frames), let running agent turns finish (bounded,
    /// then aborted and left for replay), let the outbox hand over what it can, flush and close the store.
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        inner.stream_cancel.cancel();
        inner.queue_cancel.cancel();
        if tokio::time::timeout(DRAIN_TIMEOUT, inner.queues.wait_no_turn_running())
            .await
            .is_err()
        {
            tracing::warn!(
                "agent turns still running at shutdown; they will be replayed on next start"
            );
            inner.turn_abort.cancel();
            let _ =
                tokio::time::timeout(Duration::from_secs(2), inner.queues.wait_no_turn_running())
                    .await;
        }
        // No OpenCode process outlives the engine.
        if let Some(managed) = &inner.managed {
            managed.shutdown().await;
        }
        // Replies already queued get a short chance to go out; the rest stays pending for the next start.
        let _ = inner.outbox.wait_idle(Duration::from_secs(2)).await;
        inner.outbox_cancel.cancel();
        let tasks = std::mem::take(&mut *inner.tasks.lock().await);
        for task in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        if let Err(err) = inner.store.close().await {
            tracing::warn!(code = err.code(), error = %err, "store close");
        }
        if let Ok(mut lock) = inner.instance_lock.lock() {
            lock.take();
        }
    }
}

async fn purge_finished(store: Store, retention: Duration, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {
                let retention_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
                let before = now_ms().saturating_sub(retention_ms);
                match store.purge_finished_before(before).await {
                    Ok(0) => {}
                    Ok(count) => tracing::info!(count, "purged finished rows"),
                    Err(err) => tracing::warn!(code = err.code(), error = %err, "purge failed"),
                }
            }
        }
    }
}
