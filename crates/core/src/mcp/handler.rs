//! The one rmcp handler behind every transport (Streamable HTTP, legacy SSE, stdio through the helper,
//! in-process tests). Tool calls are routed by a macro-built [`ToolRouter`]; `tools/list` and `tools/call`
//! are written by hand because the visible set changes at runtime with the backend's availability.

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, GetPromptRequestParams, GetPromptResponse,
    Implementation, ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult,
    ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse,
    ServerCapabilities, ServerConfig, SubscriptionFilter, Tool,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData, RoleServer, ServerHandler};

use super::activity::{ClientGuard, McpActivity};
use super::arguments;
use super::availability::is_available;
use super::backend::McpBackend;
use super::error::{ToolCode, ToolFailure};
use super::localize;
use super::output_schema::tool_with_error_branch;
use super::{prompts, resources};
use crate::i18n::Lang;

pub(crate) const INSTRUCTIONS: &str = "DingBridge connects this agent to DingTalk (钉钉). Use list_conversations / \
get_messages to read what people wrote, send_message to answer a conversation, find_user / find_group then \
send_to_user / send_to_group to reach someone by name (ambiguous names return candidates: ask or pick by id, \
never guess), and get_stats / get_performance for the bridge's health. Tool failures carry a `code` \
(AUTH_ERROR, PERMISSION_DENIED, INVALID_PARAMS, NOT_FOUND, CONFLICT_ERROR, RATE_LIMITED, DINGTALK_ERROR).";

#[derive(Clone)]
pub struct DingBridgeMcp {
    backend: Arc<dyn McpBackend>,
    tools: ToolRouter<Self>,
    /// `[mcp] language`: the language of descriptions and error texts (never of names or codes).
    lang: Lang,
    /// Counts calls and errors for the dashboard (from the backend).
    activity: Option<Arc<McpActivity>>,
    /// Set on the per-session clone ([`Self::for_client`]): the session counts as connected while it lives.
    _client: Option<Arc<ClientGuard>>,
}

impl DingBridgeMcp {
    pub fn new(backend: Arc<dyn McpBackend>) -> Self {
        Self::with_tools(backend, ToolRouter::new())
    }

    /// `extra` tools (e.g. the Docs tools, built with their own `#[tool_router(router = …)]` on this type)
    /// are served through the same router.
    pub fn with_tools(backend: Arc<dyn McpBackend>, extra: ToolRouter<Self>) -> Self {
        Self {
            activity: backend.activity(),
            backend,
            tools: Self::tool_router() + extra,
            lang: Lang::En,
            _client: None,
        }
    }

    /// The handler for one client session (Streamable HTTP session or legacy SSE stream): it counts as a
    /// connected client until rmcp drops it when the session ends.
    pub fn for_client(&self) -> Self {
        let mut handler = self.clone();
        handler._client = self
            .activity
            .as_ref()
            .map(|activity| Arc::new(activity.client_connected()));
        handler
    }

    /// Counts one `tools/call` and, when it failed, its stable code (never its text).
    fn record_call(&self, tool: &str, outcome: &Result<CallToolResponse, ErrorData>) {
        let Some(activity) = &self.activity else {
            return;
        };
        let code = match outcome {
            Ok(CallToolResponse::Complete(result)) if result.is_error == Some(true) => Some(
                result
                    .structured_content
                    .as_ref()
                    .and_then(|body| body.get("code"))
                    .and_then(|code| code.as_str())
                    // Re-parsed so only documented codes are ever stored.
                    .map_or(ToolCode::DingtalkError, ToolCode::parse)
                    .as_str()
                    .to_owned(),
            ),
            Ok(_) => None,
            Err(error) => Some(format!("JSONRPC_{}", error.code.0)),
        };
        // Client-supplied names are stored only when they are one of ours.
        let tool = if self.tools.has_route(tool) {
            tool
        } else {
            "unknown"
        };
        activity.call(
            crate::time::now_ms(),
            code.as_deref().map(|code| (tool, code)),
        );
    }

    /// Serves descriptions and error texts in `lang` (default English).
    pub fn with_language(mut self, lang: Lang) -> Self {
        self.lang = lang;
        self
    }

    /// Every tool this server has, available or not, in English (for the translation test).
    #[cfg(test)]
    pub(crate) fn all_tools() -> Vec<Tool> {
        (Self::tool_router() + Self::docs_router())
            .list_all()
            .into_iter()
            .map(tool_with_error_branch)
            .collect()
    }

    pub fn backend(&self) -> &dyn McpBackend {
        self.backend.as_ref()
    }

    /// Every tool that is available right now, sorted by name.
    pub fn visible_tools(&self) -> Vec<Tool> {
        let availability = *self.backend.availability().borrow();
        self.tools
            .list_all()
            .into_iter()
            .filter(|tool| is_available(&tool.name, availability))
            .map(tool_with_error_branch)
            .map(|tool| localize::listed(self.lang, tool))
            .collect()
    }

    /// Sends `tools/list_changed` to `peer` each time the availability changes, until the peer is gone.
    fn watch_availability(&self, peer: rmcp::Peer<RoleServer>) {
        let mut changes = self.backend.availability();
        changes.mark_unchanged();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    changed = changes.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        if peer.notify_tool_list_changed().await.is_err() {
                            return;
                        }
                    }
                    // A session that ended without any availability change still lets the task go.
                    _ = tokio::time::sleep(std::time::Duration::from_secs(30)) => {
                        if peer.is_transport_closed() {
                            return;
                        }
                    }
                }
            }
        });
    }
}

/// rmcp answers arguments it cannot deserialize with a plain-text tool error; the schema check above
/// catches nearly all of them first, and this gives the rest the same documented shape.
fn deserialize_failure(response: CallToolResponse) -> CallToolResponse {
    let CallToolResponse::Complete(result) = &response else {
        return response;
    };
    if result.is_error != Some(true) || result.structured_content.is_some() {
        return response;
    }
    match result
        .content
        .first()
        .and_then(|c| c.as_text())
        .map(|t| t.text.as_str())
        .filter(|t| t.starts_with("failed to deserialize parameters"))
    {
        Some(text) => arguments::deserialize_failure(text).into_result().into(),
        None => response,
    }
}

impl DingBridgeMcp {
    async fn call_tool_inner(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let availability = *self.backend.availability().borrow();
        if self.tools.has_route(&request.name) && !is_available(&request.name, availability) {
            let failure = ToolFailure::new(
                ToolCode::AuthError,
                format!(
                    "`{}` needs DingTalk credentials, which are not configured in DingBridge",
                    request.name
                ),
            )
            .with_details(serde_json::json!({ "tool": request.name }));
            return Ok(localize::failure(self.lang, failure.into_result().into()));
        }
        // Every tool's arguments are checked here, against the schema the client was shown, so a bad
        // parameter of any tool gets the tools' own INVALID_PARAMS result (see `arguments.rs`).
        if let Some(tool) = self.tools.get(&request.name)
            && let Err(failure) = arguments::check(&tool.input_schema, request.arguments.as_ref())
        {
            return Ok(localize::failure(self.lang, failure.into_result().into()));
        }
        let context = ToolCallContext::new(self, request, context);
        self.tools
            .call(context)
            .await
            .map(deserialize_failure)
            .map(|response| localize::failure(self.lang, response))
    }
}

impl ServerHandler for DingBridgeMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .enable_prompts()
                .enable_resources()
                .build(),
        )
        .with_server_info(
            Implementation::new("dingbridge", env!("CARGO_PKG_VERSION"))
                .with_title("DingBridge (DingTalk)"),
        )
        .with_instructions(localize::text(self.lang, INSTRUCTIONS))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.visible_tools()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        let availability = *self.backend.availability().borrow();
        self.tools
            .get(name)
            .filter(|_| is_available(name, availability))
            .cloned()
            .map(tool_with_error_branch)
            .map(|tool| localize::listed(self.lang, tool))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let tool = request.name.clone();
        let outcome = self.call_tool_inner(request, context).await;
        self.record_call(&tool, &outcome);
        outcome
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        self.watch_availability(context.peer);
    }

    fn accepted_subscription_filter(
        &self,
        _requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        // Only tool-list changes are ever sent; the SDK intersects this with what was requested.
        Some(SubscriptionFilter::builder().tools_list_changed().build())
    }

    /// 2026-07-28 clients (no sessions) learn about tool-set changes through `subscriptions/listen`.
    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        let mut changes = self.backend.availability();
        changes.mark_unchanged();
        loop {
            tokio::select! {
                _ = context.cancelled() => return Ok(()),
                changed = changes.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    if context.sink().notify_tool_list_changed().await.is_err() {
                        return Ok(());
                    }
                }
            }
        }
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        resources::list(self.backend(), self.lang).await
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let mut templates = resources::templates();
        templates.resource_templates = templates
            .resource_templates
            .into_iter()
            .map(|template| localize::listed(self.lang, template))
            .collect();
        Ok(templates)
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        resources::read(self.backend(), &request.uri)
            .await
            .map(Into::into)
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let mut prompts = prompts::list();
        prompts.prompts = prompts
            .prompts
            .into_iter()
            .map(|prompt| localize::listed(self.lang, prompt))
            .collect();
        Ok(prompts)
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        prompts::get(self.backend(), request).await.map(Into::into)
    }
}
