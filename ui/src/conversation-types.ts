// The JSON of the dashboard's conversation calls (crates/core/src/api/conversations.rs,
// crates/core/src/store/conversation_list.rs and conversation_view.rs) and of the live rows message
// (crates/core/src/api/live.rs). Only types; field names are the wire's.

import type { ConversationSummary, Counters } from './types.js';

export type ConversationFilter = 'all' | 'waiting_agent' | 'waiting_send' | 'rate_limited' | 'failed' | 'group' | 'single';

export interface ConversationRow extends ConversationSummary {
  person: string | null;
  waiting_agent: number;
  waiting_send: number;
  failed: number;
  rate_limited: boolean;
}

export interface ConversationPage {
  total: number;
  offset: number;
  items: ConversationRow[];
}

export interface ListQuery {
  q: string;
  filter: ConversationFilter;
  offset: number;
  limit: number;
}

export interface MessageView {
  direction: 'in' | 'out';
  id: string;
  outbox_id: number | null;
  sender: string;
  text: string;
  at_ms: number;
  /** in: queued | done | failed; out: pending | sent | failed. */
  state: string;
  error: string | null;
  /** "webhook", "oto" or "group" (OpenAPI). */
  channel: string | null;
  sent_at_ms: number | null;
  part: number | null;
  parts: number | null;
  attempts: number;
  reply_to: string | null;
}

export type AgentActivity = 'idle' | 'thinking' | 'waiting_permission' | 'waiting_question';

export interface ConversationDetail {
  conversation: ConversationRow;
  messages: MessageView[];
  has_more: boolean;
  agent: { state: AgentActivity; backend: string; session_id: string | null };
  limits: {
    queue_depth: number;
    outbox_pending: number;
    rate_limited: boolean;
    per_window: number;
    window_ms: number;
    sent_in_window: number;
    sends_left: number;
    next_send_at_ms: number | null;
    retry_at_ms: number | null;
  };
}

export interface ActionOutcome {
  outcome: 'retried' | 'stopped' | 'nothing_running' | 'new_session';
}

/** Live message: the new list rows of conversations that changed, and the counters now. */
export interface ConversationsUpdated {
  type: 'conversations_updated';
  total: number;
  rows: ConversationRow[];
  counters?: Counters;
}

export interface MinutePoint {
  minute_ms: number;
  messages: number;
  ack_avg_us: number;
  ack_max_us: number;
  turns: number;
  turn_avg_ms: number;
  turn_max_ms: number;
  mcp_calls: number;
  mcp_errors: number;
}

/** One failed MCP tool call: its time, tool and stable code (never its text). */
export interface McpErrorView {
  at_ms: number;
  tool: string;
  code: string;
}

/** GET /api/health, `get_health`. */
export interface HealthView {
  agent: { backend: string; reachable: boolean; version: string | null; error: string | null; sessions: number };
  mcp_url: string | null;
  mcp: { clients: number; calls_last_minute: number; recent_errors: McpErrorView[] };
  timeline: MinutePoint[];
}
