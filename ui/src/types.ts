// The JSON the engine sends and accepts, as written in docs/settings-api.md and crates/core/src/api/status.rs,
// crates/core/src/events.rs. Only types: nothing here runs. Field names are the wire's (snake_case).

// ---------- status snapshot (`get_status`, GET /api/status) ----------

export type ConnectionState = 'stopped' | 'connecting' | 'connected' | 'backoff';

export interface StatusSnapshot {
  /** "demo", "serve" or "app". */
  mode: string;
  version: string;
  started_at_ms: number;
  connection: ConnectionStatus;
  counters: Counters;
  queues: QueueStatus;
  conversations: ConversationSummary[];
  ack_latency: LatencySummary;
  quota: QuotaStatus;
  outbox: OutboxStatus;
  auth: AuthStatus;
  /** Managed mode: each project's OpenCode server (empty when an OpenCode URL is configured). */
  agent_servers?: AgentServerStatus[];
}

export type AgentServerState = 'stopped' | 'starting' | 'running' | 'restarting' | 'not_installed';

export interface AgentServerStatus {
  project: string;
  directory: string;
  port: number;
  state: AgentServerState;
  version: string | null;
  uptime_s: number | null;
  restarts: number;
  pid: number | null;
  error: string | null;
}

export interface ConnectionStatus {
  state: ConnectionState;
  reconnects: number;
  last_frame_at_ms: number | null;
  connected_since_ms: number | null;
  last_error: string | null;
}

export interface Counters {
  frames: number;
  received: number;
  duplicates: number;
  acked: number;
  rejected: number;
  deferred: number;
  agent_replied: number;
  agent_failed: number;
  replies_sent: number;
  replies_failed: number;
}

export interface QueueStatus {
  total_depth: number;
  in_flight: number;
  /** The deepest queues only (a bounded snapshot). */
  conversations: { conversation_id: string; depth: number }[];
  /** Conversations with something queued, all of them. */
  conversations_total?: number;
  /** Messages whose turn waits for the agent (OpenCode down or restarting), oldest first; bounded. */
  waiting_for_agent?: { msg_id: string; conversation_id: string; since_ms: number; reason: string; attempts: number }[];
  /** How many messages wait for the agent, all of them. */
  waiting_for_agent_total?: number;
}

export interface ConversationSummary {
  conversation_id: string;
  title: string;
  kind: 'single' | 'group' | string;
  last_message_at_ms: number;
  last_preview: string;
  messages: number;
}

export interface LatencySummary {
  count: number;
  p50_us: number;
  p99_us: number;
  max_us: number;
}

export interface QuotaStatus {
  month: string;
  stream_used: number;
  stream_budget: number;
  api_used: number;
  api_budget: number;
  exhausted: boolean;
}

export interface OutboxStatus {
  pending: number;
  throttled: number;
  conversations: { conversation_id: string; pending: number; rate_limited: boolean }[];
  conversations_total?: number;
}

export interface AuthStatus {
  state: 'ok' | 'degraded' | string;
  consecutive_failures: number;
  last_error: string | null;
  token_expires_in_ms: number | null;
  refreshes: number;
}

// ---------- engine events (`engine-event`, GET /api/events) ----------

export type EngineEvent =
  | { type: 'connection_changed'; state: ConnectionState; reconnects: number; reason: string }
  | {
      type: 'message_received';
      msg_id: string;
      conversation_id: string;
      conversation_title: string | null;
      sender_nick: string;
      msgtype: string;
      preview: string;
      at_ms: number;
    }
  | { type: 'access_refused'; msg_id: string; conversation_id: string; sender_nick: string; sender_staff_id: string | null }
  | { type: 'quota_warning'; kind: string; month: string; used: number; budget: number; percent: number }
  | { type: 'duplicate_dropped'; msg_id: string }
  | { type: 'acked'; msg_id: string; latency_us: number }
  | { type: 'frame_rejected'; reason: string }
  | { type: 'quota_exhausted'; conversation_id: string; message: string }
  | { type: 'queue_depth'; conversation_id: string; depth: number; total: number }
  | { type: 'agent_started'; msg_id: string; conversation_id: string }
  | { type: 'agent_replied'; msg_id: string; conversation_id: string; preview: string; duration_ms: number }
  | { type: 'agent_failed'; msg_id: string; conversation_id: string; error: string }
  | { type: 'outbox_depth'; conversation_id: string; pending: number; rate_limited: boolean }
  | { type: 'reply_sent'; msg_id: string; conversation_id: string; bytes: number }
  | { type: 'reply_failed'; msg_id: string; conversation_id: string; error: string }
  | { type: 'auth_degraded'; reason: string; failures: number }
  | { type: 'auth_recovered' }
  | { type: 'credentials_rejected'; code: string; message: string }
  | { type: 'agent_unreachable'; conversation_id: string; reason: string }
  | { type: 'permission_requested'; conversation_id: string; permission_id: string; summary: string }
  | { type: 'rate_limited'; api: string; code: string; retry_after_ms: number }
  | { type: 'api_quota_exhausted'; api: string; code: string; message: string };

/** An event of a type this UI does not know yet (a newer engine): shown generically, never dropped. */
export interface UnknownEvent {
  type: string;
  msg_id?: string;
  [field: string]: unknown;
}

// ---------- settings (docs/settings-api.md) ----------

export type Language = 'en' | 'zh-CN';
export type EngineMode = 'demo' | 'real' | 'unconfigured';

export interface SettingsView {
  config_path: string;
  mode: EngineMode;
  keychain: { available: boolean; backend: string; message: string | null };
  secrets_from_env: string[];
  dingtalk: {
    client_id: string | null;
    client_secret_set: boolean;
    robot_code: string | null;
    card_template_id: string;
    api_base: string;
    oapi_base: string;
  };
  access: { allowed_staff_ids: string[]; allowed_groups: string[] };
  agent: {
    /** Empty: managed mode (DingBridge runs OpenCode on this computer). */
    opencode_url: string;
    opencode_password_set: boolean;
    opencode_directory: string | null;
    opencode_bin: string | null;
    projects: { name: string; path: string }[];
    idle_stop_minutes: number;
  };
  bridge: { language: Language; attachment_max_mb: number; attachment_retention_hours: number };
  mcp: { enabled: boolean; port: number; url: string | null; language: Language };
  docs: { operator_user_id: string | null; operator_mobile: string | null };
  pacing: { per_conversation: number; app_per_second: number };
  quota: { stream_budget: number; api_budget: number };
  ui: { language: Language | null };
}

export type SecretAction = { set: string } | { remove: true };

export interface SettingsChange {
  dingtalk?: {
    client_id?: string | null;
    client_secret?: SecretAction;
    robot_code?: string | null;
    card_template_id?: string;
    api_base?: string;
    oapi_base?: string;
  };
  access?: { allowed_staff_ids?: string[]; allowed_groups?: string[] };
  agent?: {
    opencode_url?: string;
    opencode_password?: SecretAction;
    opencode_directory?: string | null;
    opencode_bin?: string | null;
    projects?: { name: string; path: string }[];
    idle_stop_minutes?: number;
  };
  bridge?: { language?: Language; attachment_max_mb?: number; attachment_retention_hours?: number };
  mcp?: { enabled?: boolean; port?: number; language?: Language };
  docs?: { operator_user_id?: string | null; operator_mobile?: string | null };
  pacing?: { per_conversation?: number; app_per_second?: number };
  quota?: { stream_budget?: number; api_budget?: number };
  ui?: { language?: Language | null };
}

export interface FieldError {
  /** e.g. "dingtalk.client_id" */
  field: string;
  code: string;
  message: string;
}

export type ConnectionStepName = 'token' | 'gateway' | 'websocket' | 'opencode';

export interface ConnectionStep {
  step: ConnectionStepName;
  ok: boolean;
  skipped: boolean;
  detail: string;
  error_code: string | null;
  hint: string | null;
  elapsed_ms: number;
}

export interface ConnectionReport {
  ok: boolean;
  steps: ConnectionStep[];
}

export type OpenCodeEntryState = 'missing' | 'current' | 'stale';

export interface OpenCodeSetup {
  local: object;
  remote: object | null;
  helper_path: string | null;
  global_config_path: string;
  entry: OpenCodeEntryState;
  backup_path: string | null;
}

export interface KnownContacts {
  users: { staff_id: string; name: string }[];
  groups: { conversation_id: string; title: string }[];
}

export interface McpToken {
  token: string;
}

export interface Autostart {
  enabled: boolean;
}
