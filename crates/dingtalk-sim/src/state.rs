//! Shared simulator state. One mutex guards it all: the traffic of a test or a
//! benchmark is small, critical sections never await, and one lock keeps the
//! cross-cutting invariants (a callback's frame, its connection and the stats)
//! consistent without lock-ordering rules.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use tokio_util::sync::CancellationToken;

use crate::cards::CardStore;
use crate::config::SimConfig;
use crate::connections::ConnRegistry;
use crate::delivery::DeliveryState;
use crate::faults::FaultState;
use crate::gateway::Ticket;
use crate::ids;
use crate::message::ReceivedMessage;
use crate::oauth::TokenState;
use crate::openapi::OpenApiState;
use crate::robot_send::RobotSendState;
use crate::stats::SimStats;
use crate::webhook::WebhookState;

/// Identity of the simulated app and org, fixed per simulator instance.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Unified app id (`appId` header of CALLBACK frames): a UUID, not the clientId.
    pub app_id: String,
    pub corp_id: String,
    pub chatbot_user_id: String,
}

impl Identity {
    fn new(client_id: &str) -> Self {
        Self {
            app_id: uuid::Uuid::new_v4().to_string(),
            corp_id: format!("ding{}", &ids::hex(&ids::stable_bytes(client_id))[..16]),
            chatbot_user_id: ids::lwcp_id(&format!("bot:{client_id}")),
        }
    }
}

/// Everything mutable, behind [`SimState::lock`].
#[derive(Default)]
pub struct Inner {
    pub stats: SimStats,
    pub conns: ConnRegistry,
    pub tickets: HashMap<String, Ticket>,
    pub delivery: DeliveryState,
    /// Raw frames waiting for a live socket.
    pub raw_queue: VecDeque<String>,
    pub webhooks: WebhookState,
    pub tokens: TokenState,
    pub faults: FaultState,
    pub received: HashMap<String, Vec<ReceivedMessage>>,
    /// Org data (contacts, docs) and OpenAPI fault switches.
    pub openapi: OpenApiState,
    /// Robot send APIs: known groups/users, throttling windows, armed faults.
    pub robot: RobotSendState,
    /// AI cards by outTrackId.
    pub cards: CardStore,
    /// Files behind downloadCodes and their download links.
    pub files: crate::message_files::FileState,
}

/// The simulator's shared state; handlers get it as `Arc<SimState>`.
pub struct SimState {
    pub config: SimConfig,
    /// `http://127.0.0.1:PORT`, the client's api_base and oapi_base.
    pub base_url: String,
    pub identity: Identity,
    /// Cancelled on shutdown; every background task and socket watches a child.
    pub shutdown: CancellationToken,
    inner: Mutex<Inner>,
}

impl SimState {
    pub fn new(config: SimConfig, base_url: String) -> Self {
        let identity = Identity::new(&config.client_id);
        Self {
            config,
            base_url,
            identity,
            shutdown: CancellationToken::new(),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Lock the state. A panic elsewhere while holding the lock must not take
    /// the whole simulator down, so poisoning is ignored.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A consistent snapshot of the counters.
    pub fn stats(&self) -> SimStats {
        let inner = self.lock();
        let mut s = inner.stats.clone();
        s.live_connections = inner.conns.len() as u64;
        s.pending_unacked = inner.delivery.pending_len() as u64;
        s
    }

    /// Websocket endpoint handed out by the gateway.
    pub fn ws_endpoint(&self) -> String {
        let host = self
            .base_url
            .strip_prefix("http://")
            .unwrap_or(&self.base_url);
        format!("ws://{host}/connect")
    }
}
