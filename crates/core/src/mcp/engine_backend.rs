//! [`McpBackend`] over the real [`Engine`]: the engine's store for conversations and history, its group
//! directory and contacts service for names, its metrics for stats and performance, and its paced outbox
//! (`Engine::send_*`, the same path as agent replies) for every send.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::sync::{broadcast, watch};

use super::backend::{HistoryQuery, McpBackend, ToolAvailability};
use super::error::{ToolCode, ToolFailure};
use super::types::{
    ConversationItem, ConversationsOutput, CreateDocInput, CreateDocOutput, DocFormatParam,
    DocItem, DocSortBy, DocSortOrder, DocUpdateMode, DocsPagination, GetDocInput, GetDocOutput,
    GroupLookupOutput, GroupOutput, LatencyOutput, ListDocsInput, ListDocsOutput, MemoryOutput,
    MessageFormat, MessageItem, MessagesOutput, PerformanceOutput, RateLimitOutput,
    ResolvedRecipient, SendOutput, StatsOutput, ThroughputOutput, UpdateDocInput, UpdateDocOutput,
    UserLookupOutput, UserOutput,
};
use crate::api::status::LatencySummary;
use crate::bridge::BridgeError;
use crate::bridge::MessageFormat as EngineFormat;
use crate::dingtalk::contacts::{
    ContactsError, Directory, GroupInfo, Lookup, LookupStatus, UserInfo,
};
use crate::dingtalk::docs::{
    Caller, CreateDocParams, DocFormat, DocSummary, DocsError, GetDocParams, ListDocsParams,
    SortBy, SortOrder, UpdateDocParams, UpdateMode,
};
use crate::engine::{Engine, SendReport};
use crate::events::Event;
use crate::store::StoreError;
use crate::time::now_ms;

/// The conversations scanned for `list_conversations` (the directory is small: one row per chat).
const DIRECTORY_SCAN: usize = 10_000;
/// DingTalk's per-robot webhook limit (messages per minute per conversation).
const WEBHOOK_PER_MINUTE: u32 = 20;
/// How often the Docs group is re-checked (the operator is resolved in the background after start).
const DOCS_OPERATOR_POLL: std::time::Duration = std::time::Duration::from_secs(1);

#[derive(Default)]
struct RateLimitLog {
    throttled: AtomicU64,
    last: Mutex<Option<Value>>,
}

#[derive(Clone)]
pub struct EngineBackend {
    engine: Engine,
    directory: Directory,
    availability: Arc<watch::Sender<ToolAvailability>>,
    /// What `set_availability` / the credentials allow; Docs additionally needs a configured operator.
    allowed: Arc<Mutex<ToolAvailability>>,
    rate_limits: Arc<RateLimitLog>,
}

impl EngineBackend {
    /// Must be called inside a Tokio runtime (it follows the engine's events for the rate-limit log).
    pub fn new(engine: Engine) -> Self {
        let directory = Directory::new(engine.store().clone());
        let rate_limits = Arc::new(RateLimitLog::default());
        tokio::spawn(track_rate_limits(engine.subscribe(), rate_limits.clone()));
        let allowed = Self::availability_for(engine.has_credentials());
        let (availability, _) = watch::channel(ToolAvailability {
            docs: allowed.docs && engine.docs().operator_union_id().is_some(),
            ..allowed
        });
        let backend = Self {
            engine,
            directory,
            availability: Arc::new(availability),
            allowed: Arc::new(Mutex::new(allowed)),
            rate_limits,
        };
        tokio::spawn(watch_docs_operator(
            backend.engine.clone(),
            Arc::downgrade(&backend.availability),
            backend.allowed.clone(),
        ));
        backend
    }

    /// Replies through a fresh session webhook work without credentials; everything else needs them.
    pub fn availability_for(has_credentials: bool) -> ToolAvailability {
        ToolAvailability {
            messaging: true,
            contacts: has_credentials,
            docs: has_credentials,
        }
    }

    /// Call when credentials are added or removed: connected clients get `tools/list_changed`. The Docs
    /// group also needs a configured Docs operator.
    pub fn set_availability(&self, availability: ToolAvailability) {
        if let Ok(mut allowed) = self.allowed.lock() {
            *allowed = availability;
        }
        refresh_availability(&self.engine, &self.availability, &self.allowed);
    }

    async fn conversation_exists(&self, conversation_id: &str) -> Result<bool, ToolFailure> {
        Ok(self
            .engine
            .store()
            .conversations(DIRECTORY_SCAN)
            .await
            .map_err(store_failure)?
            .iter()
            .any(|c| c.conversation_id == conversation_id))
    }
}

/// Publishes the allowed availability, with Docs only once an operator is configured.
fn refresh_availability(
    engine: &Engine,
    availability: &watch::Sender<ToolAvailability>,
    allowed: &Mutex<ToolAvailability>,
) {
    let Ok(allowed) = allowed.lock().map(|a| *a) else {
        return;
    };
    let effective = ToolAvailability {
        docs: allowed.docs && engine.docs().operator_union_id().is_some(),
        ..allowed
    };
    availability.send_if_modified(|current| {
        let changed = *current != effective;
        *current = effective;
        changed
    });
}

/// The operator is resolved after start (or configured later): re-check it so the Docs tools appear
/// (with `tools/list_changed`) without waiting for a client request. Ends with the backend.
async fn watch_docs_operator(
    engine: Engine,
    availability: std::sync::Weak<watch::Sender<ToolAvailability>>,
    allowed: Arc<Mutex<ToolAvailability>>,
) {
    loop {
        tokio::time::sleep(DOCS_OPERATOR_POLL).await;
        let Some(availability) = availability.upgrade() else {
            return;
        };
        refresh_availability(&engine, &availability, &allowed);
    }
}

async fn track_rate_limits(mut events: broadcast::Receiver<Event>, log: Arc<RateLimitLog>) {
    loop {
        match events.recv().await {
            Ok(Event::RateLimited {
                api,
                code,
                retry_after_ms,
            }) => {
                log.throttled.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut last) = log.last.lock() {
                    *last = Some(json!({
                        "api": api, "code": code, "retry_after_ms": retry_after_ms, "at_ms": now_ms(),
                    }));
                }
            }
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

fn store_failure(err: StoreError) -> ToolFailure {
    // Store errors are internal: the code is useful, the path/SQL text is not for the model.
    ToolFailure::new(ToolCode::DingtalkError, "DingBridge's local store failed")
        .with_details(json!({ "internal": err.code() }))
}

fn contacts_failure(err: ContactsError) -> ToolFailure {
    ToolFailure::from_parts(err.tool_code(), &err, err.details())
}

fn docs_failure(err: DocsError) -> ToolFailure {
    ToolFailure::from_parts(err.tool_code(), &err, err.details())
}

fn doc_item(doc: DocSummary) -> DocItem {
    DocItem {
        document_id: doc.document_id,
        title: doc.title,
        kind: doc.kind,
        url: doc.url,
        create_time: doc.create_time,
        update_time: doc.update_time,
        creator: doc.creator,
    }
}

fn bridge_failure(err: BridgeError) -> ToolFailure {
    ToolFailure::from_parts(err.tool_code(), &err, err.details())
}

fn engine_format(format: MessageFormat) -> EngineFormat {
    match format {
        MessageFormat::Text => EngineFormat::Text,
        MessageFormat::Markdown => EngineFormat::Markdown,
    }
}

/// A send DingTalk refused is a tool error; "sent" and "queued" (it will still be delivered) are results.
fn send_output(report: SendReport) -> Result<SendOutput, ToolFailure> {
    if report.status == "failed" {
        let message = report
            .error
            .clone()
            .unwrap_or_else(|| "DingTalk did not accept the message".into());
        let lowered = message.to_lowercase();
        let code = if lowered.contains("too fast")
            || lowered.contains("qps")
            || lowered.contains("throttl")
        {
            ToolCode::RateLimited
        } else {
            ToolCode::DingtalkError
        };
        return Err(ToolFailure::new(code, message).with_details(json!({
            "conversation_id": report.conversation_id,
            "outbox_ids": report.outbox_ids,
        })));
    }
    Ok(SendOutput {
        conversation_id: report.conversation_id,
        status: report.status,
        parts: u32::try_from(report.parts).unwrap_or(u32::MAX),
        outbox_ids: report.outbox_ids,
        channels: report.channels,
        recipient: None,
    })
}

fn credentials_missing(tool: &str) -> ToolFailure {
    ToolFailure::new(
        ToolCode::AuthError,
        format!("{tool} needs DingTalk credentials, which are not configured in DingBridge"),
    )
}

fn latency(summary: LatencySummary) -> LatencyOutput {
    let ms = |us: u64| us as f64 / 1000.0;
    LatencyOutput {
        count: summary.count,
        p50_ms: ms(summary.p50_us),
        p99_ms: ms(summary.p99_us),
        max_ms: ms(summary.max_us),
    }
}

fn measured(summary: LatencySummary) -> Option<LatencyOutput> {
    (summary.count > 0).then(|| latency(summary))
}

fn user_output(user: UserInfo) -> UserOutput {
    UserOutput {
        name: user.name,
        user_id: user.user_id,
        union_id: Some(user.union_id).filter(|u| !u.is_empty()),
        title: user.title,
        department: user.department,
    }
}

fn group_output(group: GroupInfo) -> GroupOutput {
    GroupOutput {
        conversation_id: group.open_conversation_id,
        title: group.title,
        members_seen: group.members_seen.into_iter().map(|m| m.nick).collect(),
        last_seen_ms: group.last_seen_ms,
    }
}

fn status_name(status: LookupStatus) -> String {
    match status {
        LookupStatus::Unique => "unique",
        LookupStatus::Ambiguous => "ambiguous",
        LookupStatus::NotFound => "not_found",
    }
    .to_owned()
}

fn matched_by<T>(lookup: &Lookup<T>) -> Option<String> {
    lookup
        .matched_by
        .and_then(|kind| serde_json::to_value(kind).ok())
        .and_then(|value| value.as_str().map(str::to_owned))
}

fn ambiguous_failure(what: &str, query: &str, candidates: Value) -> ToolFailure {
    ToolFailure::invalid(format!(
        "`{query}` matches several {what}; call again with one of the candidates' ids"
    ))
    .with_details(json!({ "query": query, "candidates": candidates }))
}

#[async_trait]
impl McpBackend for EngineBackend {
    fn activity(&self) -> Option<Arc<super::activity::McpActivity>> {
        Some(self.engine.metrics().mcp.clone())
    }

    async fn send_message(
        &self,
        conversation_id: &str,
        content: &str,
        format: MessageFormat,
    ) -> Result<SendOutput, ToolFailure> {
        let report = self
            .engine
            .send_message(conversation_id, content, engine_format(format))
            .await
            .map_err(|err| match err {
                BridgeError::NotFound(_) => ToolFailure::not_found(format!(
                    "no conversation `{conversation_id}`: use list_conversations for valid ids"
                ))
                .with_details(json!({ "conversation_id": conversation_id })),
                other => bridge_failure(other),
            })?;
        send_output(report)
    }

    async fn list_conversations(
        &self,
        keyword: Option<&str>,
        page: u32,
        page_size: u32,
    ) -> Result<ConversationsOutput, ToolFailure> {
        let all = self
            .engine
            .store()
            .conversations(DIRECTORY_SCAN)
            .await
            .map_err(store_failure)?;
        let needle = keyword.map(str::to_lowercase);
        let matching: Vec<_> = all
            .into_iter()
            .filter(|c| match &needle {
                Some(n) => {
                    c.title.to_lowercase().contains(n)
                        || c.conversation_id.to_lowercase().contains(n)
                }
                None => true,
            })
            .collect();
        let total = matching.len() as u64;
        let skip = (page.saturating_sub(1) as usize).saturating_mul(page_size as usize);
        let items: Vec<ConversationItem> = matching
            .into_iter()
            .skip(skip)
            .take(page_size as usize)
            .map(|c| ConversationItem {
                conversation_id: c.conversation_id,
                title: c.title,
                kind: c.kind,
                last_message_at_ms: c.last_message_at_ms,
                last_preview: c.last_preview,
                messages: c.messages,
            })
            .collect();
        let has_more = (skip + items.len()) < total as usize;
        Ok(ConversationsOutput {
            items,
            page,
            page_size,
            total,
            has_more,
        })
    }

    async fn get_messages(
        &self,
        conversation_id: &str,
        query: HistoryQuery,
    ) -> Result<MessagesOutput, ToolFailure> {
        if !self.conversation_exists(conversation_id).await? {
            return Err(ToolFailure::not_found(format!(
                "no conversation `{conversation_id}`: use list_conversations for valid ids"
            ))
            .with_details(json!({ "conversation_id": conversation_id })));
        }
        // One extra row tells whether an older page exists.
        let mut entries = self
            .engine
            .history(conversation_id, query.limit + 1, query.before_ms)
            .await
            .map_err(bridge_failure)?;
        let has_more = entries.len() > query.limit;
        entries.truncate(query.limit);
        let next_before = if has_more {
            entries.last().map(|e| e.at_ms)
        } else {
            None
        };
        Ok(MessagesOutput {
            conversation_id: conversation_id.to_owned(),
            items: entries
                .into_iter()
                .map(|e| MessageItem {
                    id: e.id,
                    direction: e.direction,
                    sender: e.sender,
                    content: e.text,
                    at_ms: e.at_ms,
                    status: e.state,
                })
                .collect(),
            has_more,
            next_before,
        })
    }

    async fn stats(&self) -> Result<StatsOutput, ToolFailure> {
        let status = self.engine.status();
        let to_value = |v: Result<Value, serde_json::Error>| v.unwrap_or(Value::Null);
        Ok(StatsOutput {
            mode: status.mode.clone(),
            version: status.version.clone(),
            uptime_s: ((now_ms() - status.started_at_ms).max(0) / 1000) as u64,
            connection: to_value(serde_json::to_value(&status.connection)),
            queues: to_value(serde_json::to_value(&status.queues)),
            counts: to_value(serde_json::to_value(&status.counters)),
            rate_limits: RateLimitOutput {
                throttled: self.rate_limits.throttled.load(Ordering::Relaxed),
                last: self.rate_limits.last.lock().ok().and_then(|l| l.clone()),
                webhook_per_minute: WEBHOOK_PER_MINUTE,
            },
            quota: to_value(serde_json::to_value(&status.quota)),
            // The snapshot lists only the newest few; the engine remembers the recent ones.
            conversations: self.engine.metrics().conversations().len() as u64,
            tools_available: to_value(serde_json::to_value(*self.availability.borrow())),
        })
    }

    async fn performance(&self) -> Result<PerformanceOutput, ToolFailure> {
        let perf = self.engine.performance();
        Ok(PerformanceOutput {
            uptime_s: perf.uptime_s,
            frame_to_ack: latency(perf.frame_to_ack),
            agent_turn: measured(perf.agent_turn),
            send: measured(perf.send),
            throughput: ThroughputOutput {
                received_per_min: perf.received_per_minute,
                sent_per_min: perf.sent_per_minute,
                received_total: perf.messages_received,
                sent_total: perf.messages_sent,
            },
            memory: MemoryOutput {
                rss_bytes: perf.memory.rss_bytes,
                peak_rss_bytes: perf.memory.peak_rss_bytes,
            },
        })
    }

    async fn find_user(&self, name: &str) -> Result<UserLookupOutput, ToolFailure> {
        if !self.engine.has_credentials() {
            return Err(credentials_missing("find_user"));
        }
        let lookup = self
            .engine
            .contacts()
            .find_user(name)
            .await
            .map_err(contacts_failure)?;
        Ok(UserLookupOutput {
            status: status_name(lookup.status),
            query: lookup.query.clone(),
            matched_by: matched_by(&lookup),
            user: lookup.found.map(user_output),
            candidates: lookup.candidates.into_iter().map(user_output).collect(),
        })
    }

    async fn find_group(&self, name: &str) -> Result<GroupLookupOutput, ToolFailure> {
        let lookup = self
            .directory
            .find_group(name)
            .await
            .map_err(store_failure)?;
        Ok(GroupLookupOutput {
            status: status_name(lookup.status),
            query: lookup.query.clone(),
            matched_by: matched_by(&lookup),
            group: lookup.found.map(group_output),
            candidates: lookup.candidates.into_iter().map(group_output).collect(),
        })
    }

    async fn send_to_user(
        &self,
        user: &str,
        content: &str,
        format: MessageFormat,
    ) -> Result<SendOutput, ToolFailure> {
        if !self.engine.has_credentials() {
            return Err(credentials_missing("send_to_user"));
        }
        let contacts = self.engine.contacts();
        let lookup = contacts.find_user(user).await.map_err(contacts_failure)?;
        let resolved = match lookup.status {
            LookupStatus::Unique => lookup.found,
            LookupStatus::Ambiguous => {
                let candidates = lookup
                    .candidates
                    .into_iter()
                    .map(|u| json!({"name": u.name, "user_id": u.user_id, "title": u.title, "department": u.department}))
                    .collect();
                return Err(ambiguous_failure("people", user, Value::Array(candidates)));
            }
            // Not a name: maybe a userId.
            LookupStatus::NotFound => match contacts.user_detail(user).await {
                Ok(found) => Some(found),
                Err(ContactsError::Api(_)) | Err(ContactsError::NotFound { .. }) => None,
                Err(err) => return Err(contacts_failure(err)),
            },
        };
        let Some(found) = resolved else {
            return Err(ToolFailure::not_found(format!(
                "nobody called `{user}` in the organisation: try find_user with part of the name"
            ))
            .with_details(json!({ "query": user })));
        };
        let report = self
            .engine
            .send_to_user(&found.user_id, content, engine_format(format))
            .await
            .map_err(bridge_failure)?;
        let mut sent = send_output(report)?;
        sent.recipient = Some(ResolvedRecipient {
            kind: "user".into(),
            name: found.name,
            id: found.user_id,
        });
        Ok(sent)
    }

    async fn send_to_group(
        &self,
        group: &str,
        content: &str,
        format: MessageFormat,
    ) -> Result<SendOutput, ToolFailure> {
        let lookup = self
            .directory
            .find_group(group)
            .await
            .map_err(store_failure)?;
        let found = match lookup.status {
            LookupStatus::Unique => lookup.found,
            LookupStatus::Ambiguous => {
                let candidates = lookup
                    .candidates
                    .into_iter()
                    .map(|g| json!({"title": g.title, "conversation_id": g.open_conversation_id}))
                    .collect();
                return Err(ambiguous_failure("groups", group, Value::Array(candidates)));
            }
            // Not a title: maybe a conversation id of a known group.
            LookupStatus::NotFound => self
                .directory
                .groups()
                .await
                .map_err(store_failure)?
                .into_iter()
                .find(|g| g.open_conversation_id == group),
        };
        let Some(found) = found else {
            return Err(ToolFailure::not_found(format!(
                "no group called `{group}` among the groups the bot has seen: try find_group"
            ))
            .with_details(json!({ "query": group })));
        };
        let report = self
            .engine
            .send_to_group(&found.open_conversation_id, content, engine_format(format))
            .await
            .map_err(bridge_failure)?;
        let mut sent = send_output(report)?;
        sent.recipient = Some(ResolvedRecipient {
            kind: "group".into(),
            name: found.title,
            id: found.open_conversation_id,
        });
        Ok(sent)
    }

    async fn create_doc(&self, input: CreateDocInput) -> Result<CreateDocOutput, ToolFailure> {
        let params = CreateDocParams {
            title: input.title,
            content: input.content,
            space_id: input.space_id,
            folder_id: input.folder_id,
        };
        let created = self
            .engine
            .docs()
            .create_doc(&Caller::Operator, params)
            .await
            .map_err(docs_failure)?;
        Ok(CreateDocOutput {
            document_id: created.document_id,
            title: created.title,
            create_time: created.create_time,
            url: created.url,
        })
    }

    async fn get_doc(&self, input: GetDocInput) -> Result<GetDocOutput, ToolFailure> {
        let format = match input.format {
            DocFormatParam::Text => DocFormat::Text,
            DocFormatParam::Markdown => DocFormat::Markdown,
            DocFormatParam::Html => DocFormat::Html,
        };
        let params = GetDocParams {
            document_id: input.document_id.clone(),
            format,
        };
        let doc = self
            .engine
            .docs()
            .get_doc(&Caller::Operator, params)
            .await
            .map_err(docs_failure)?;
        Ok(GetDocOutput {
            document_id: input.document_id,
            title: doc.title,
            content: doc.content,
            format: match doc.format {
                DocFormat::Text => DocFormatParam::Text,
                DocFormat::Markdown => DocFormatParam::Markdown,
                DocFormat::Html => DocFormatParam::Html,
            },
            update_time: doc.update_time,
            author: doc.author,
            version: doc.version,
        })
    }

    async fn update_doc(&self, input: UpdateDocInput) -> Result<UpdateDocOutput, ToolFailure> {
        let params = UpdateDocParams {
            document_id: input.document_id.clone(),
            content: input.content,
            mode: match input.mode {
                DocUpdateMode::Overwrite => UpdateMode::Overwrite,
                DocUpdateMode::Append => UpdateMode::Append,
            },
            comment: input.comment,
            base_version: input.base_version,
        };
        let updated = self
            .engine
            .docs()
            .update_doc(&Caller::Operator, params)
            .await
            .map_err(docs_failure)?;
        Ok(UpdateDocOutput {
            document_id: input.document_id,
            mode: input.mode,
            update_time: updated.update_time,
            version: updated.version,
        })
    }

    async fn list_docs(&self, input: ListDocsInput) -> Result<ListDocsOutput, ToolFailure> {
        let defaults = ListDocsParams::default();
        let params = ListDocsParams {
            space_id: input.space_id,
            folder_id: input.folder_id,
            keyword: input.keyword,
            page: input.page.unwrap_or(defaults.page),
            page_size: input.page_size.unwrap_or(defaults.page_size),
            sort_by: match input.sort_by {
                DocSortBy::Name => SortBy::Name,
                DocSortBy::CreateTime => SortBy::CreateTime,
                DocSortBy::UpdateTime => SortBy::UpdateTime,
            },
            sort_order: match input.sort_order {
                DocSortOrder::Asc => SortOrder::Asc,
                DocSortOrder::Desc => SortOrder::Desc,
            },
        };
        let listed = self
            .engine
            .docs()
            .list_docs(&Caller::Operator, params)
            .await
            .map_err(docs_failure)?;
        Ok(ListDocsOutput {
            items: listed.items.into_iter().map(doc_item).collect(),
            pagination: DocsPagination {
                page: listed.pagination.page,
                page_size: listed.pagination.page_size,
                total: listed.pagination.total,
                total_pages: listed.pagination.total_pages,
            },
        })
    }

    fn availability(&self) -> watch::Receiver<ToolAvailability> {
        refresh_availability(&self.engine, &self.availability, &self.allowed);
        self.availability.subscribe()
    }
}
