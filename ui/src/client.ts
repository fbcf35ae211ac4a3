// The one client of the engine, with two transports (docs/settings-api.md):
//  - "tauri-ipc" inside the desktop app: `invoke(command, args)` + `listen('engine-event')`;
//  - "http" in a browser served by `dingbridged`: fetch with the login cookie (`credentials: 'same-origin'`),
//    the CSRF header on every state-changing call, and `EventSource('/api/events')`.
// Every call of the contract is typed here once; pages never talk to a transport directly. Whatever goes
// wrong reaches the caller as an `ApiError` {code, message, fields}, never as a bare string or Response.

import type {
  AgentServerStatus,
  Autostart,
  ConnectionReport,
  EngineEvent,
  FieldError,
  KnownContacts,
  McpToken,
  OpenCodeSetup,
  SettingsChange,
  SettingsView,
  StatusSnapshot,
  UnknownEvent,
} from './types.js';
import type { ActionOutcome, ConversationDetail, ConversationPage, HealthView, ListQuery } from './conversation-types.js';

export type TransportName = 'tauri-ipc' | 'http';

/** An error of the contract's shape. Codes from the engine are stable; the UI adds NETWORK, HTTP and UNSUPPORTED. */
export class ApiError extends Error {
  readonly code: string;
  readonly fields: FieldError[];

  constructor(code: string, message: string, fields: FieldError[] = []) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.fields = fields;
  }
}

interface TauriGlobal {
  core: { invoke: (command: string, args?: Record<string, unknown>) => Promise<unknown> };
  event: { listen: (name: string, handler: (message: { payload: unknown }) => void) => Promise<() => void> };
}

function tauriGlobal(): TauriGlobal | null {
  const candidate = (globalThis as { __TAURI__?: unknown }).__TAURI__;
  if (candidate && typeof candidate === 'object' && 'core' in candidate && 'event' in candidate) return candidate as TauriGlobal;
  return null;
}

const tauri = tauriGlobal();
export const transport: TransportName = tauri ? 'tauri-ipc' : 'http';

// ---------- errors ----------

function isFieldError(value: unknown): value is FieldError {
  if (!value || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return typeof v.field === 'string' && typeof v.code === 'string' && typeof v.message === 'string';
}

/** Any rejection (Tauri's error object, a parsed HTTP body, a thrown Error) as an ApiError. */
export function toApiError(error: unknown, fallbackCode = 'INTERNAL'): ApiError {
  if (error instanceof ApiError) return error;
  if (error && typeof error === 'object') {
    const e = error as Record<string, unknown>;
    if (typeof e.code === 'string' && typeof e.message === 'string') {
      const fields = Array.isArray(e.fields) ? e.fields.filter(isFieldError) : [];
      return new ApiError(e.code, e.message, fields);
    }
    if (error instanceof Error) return new ApiError(fallbackCode, error.message);
  }
  if (typeof error === 'string') {
    // Tauri may reject with the serialized error as a string.
    try {
      const parsed: unknown = JSON.parse(error);
      if (parsed && typeof parsed === 'object') return toApiError(parsed, fallbackCode);
    } catch {
      // plain text
    }
    return new ApiError(fallbackCode, error);
  }
  return new ApiError(fallbackCode, String(error));
}

// ---------- the calls ----------

type Method = 'GET' | 'POST' | 'PUT';

/** One call of the contract: its Tauri command and, when the daemon has one, its HTTP route (a function of
 * the call's arguments when they are part of the path or query). */
interface Call {
  command: string;
  http: { method: Method; path: string | ((args: Record<string, unknown>) => string) } | null;
}

/** A conversation id as one path segment (real ids contain `/`, `+` and `=`). */
const conversationPath = (args: Record<string, unknown>, action = ''): string =>
  `/api/conversations/${encodeURIComponent(String(args.conversationId ?? ''))}${action}`;

function listPath(args: Record<string, unknown>): string {
  const query = (args.query ?? {}) as Partial<ListQuery>;
  const search = new URLSearchParams();
  if (query.q) search.set('q', query.q);
  if (query.filter && query.filter !== 'all') search.set('filter', query.filter);
  search.set('offset', String(query.offset ?? 0));
  search.set('limit', String(query.limit ?? 50));
  return `/api/conversations?${search.toString()}`;
}

const CALLS = {
  getStatus: { command: 'get_status', http: { method: 'GET', path: '/api/status' } },
  getSettings: { command: 'get_settings', http: { method: 'GET', path: '/api/settings' } },
  saveSettings: { command: 'save_settings', http: { method: 'PUT', path: '/api/settings' } },
  testConnection: { command: 'test_connection', http: { method: 'POST', path: '/api/settings/test' } },
  getOpenCodeSetup: { command: 'get_opencode_setup', http: { method: 'GET', path: '/api/opencode-setup' } },
  addToOpenCode: { command: 'add_to_opencode', http: { method: 'POST', path: '/api/opencode-setup' } },
  revealMcpToken: { command: 'reveal_mcp_token', http: { method: 'POST', path: '/api/mcp-token/reveal' } },
  rotateMcpToken: { command: 'rotate_mcp_token', http: { method: 'POST', path: '/api/mcp-token/rotate' } },
  knownContacts: { command: 'known_contacts', http: { method: 'GET', path: '/api/contacts/known' } },
  getHealth: { command: 'get_health', http: { method: 'GET', path: '/api/health' } },
  listConversations: { command: 'list_conversations', http: { method: 'GET', path: listPath } },
  getConversation: {
    command: 'get_conversation',
    http: { method: 'GET', path: (args) => `${conversationPath(args)}?limit=${String(args.limit ?? 200)}` },
  },
  retrySend: { command: 'retry_send', http: { method: 'POST', path: (args) => conversationPath(args, '/retry') } },
  stopTurn: { command: 'stop_turn', http: { method: 'POST', path: (args) => conversationPath(args, '/stop') } },
  newSession: { command: 'new_session', http: { method: 'POST', path: (args) => conversationPath(args, '/new-session') } },
  agentServerAction: {
    command: 'agent_server_action',
    http: {
      method: 'POST',
      path: (args) => `/api/agent-servers/${encodeURIComponent(String(args.project ?? ''))}/${encodeURIComponent(String(args.action ?? ''))}`,
    },
  },
  startDemo: { command: 'start_demo', http: null },
  getAutostart: { command: 'get_autostart', http: null },
  setAutostart: { command: 'set_autostart', http: null },
  openSettings: { command: 'open_settings', http: null },
  // The dialog plugin's own command (capability `dialog:allow-open`, settings window only).
  chooseFolder: { command: 'plugin:dialog|open', http: null },
} satisfies Record<string, Call>;

export type CallName = keyof typeof CALLS;

/** Whether this transport has the call (the daemon has no demo switch, autostart or second window). */
export function supports(name: CallName): boolean {
  return transport === 'tauri-ipc' || CALLS[name].http !== null;
}

async function call<T>(name: CallName, args?: Record<string, unknown>): Promise<T> {
  const spec: Call = CALLS[name];
  if (tauri) {
    try {
      return (await tauri.core.invoke(spec.command, args)) as T;
    } catch (error) {
      throw toApiError(error);
    }
  }
  if (!spec.http) throw new ApiError('UNSUPPORTED', `${spec.command} exists only in the desktop app`);
  const { method, path } = spec.http;
  if (typeof path === 'string') return httpCall<T>(method, path, args);
  // Arguments named in the path travel there; a POST carries the rest (if any) as its body.
  const all = args ?? {};
  const body = method === 'GET' ? undefined : (all.body as Record<string, unknown> | undefined) ?? {};
  return httpCall<T>(method, path(all), body);
}

async function httpCall<T>(method: Method, path: string, body?: Record<string, unknown>): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  // State-changing calls carry the CSRF header the daemon requires (a cross-site form cannot set it).
  if (method !== 'GET') headers['X-DingBridge-Request'] = '1';
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (error) {
    throw new ApiError('NETWORK', error instanceof Error ? error.message : String(error));
  }
  const text = await response.text();
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  if (!response.ok) {
    if (parsed && typeof parsed === 'object' && 'code' in parsed) throw toApiError(parsed);
    // Not the contract's JSON (e.g. a body the server could not parse): its text says more than the status.
    const detail = text.trim().slice(0, 300);
    throw new ApiError('HTTP', detail || `HTTP ${response.status} ${response.statusText}`.trim());
  }
  return parsed as T;
}

export type AgentServerAction = 'start' | 'stop' | 'restart';

export const api = {
  getStatus: () => call<StatusSnapshot>('getStatus'),
  getSettings: () => call<SettingsView>('getSettings'),
  saveSettings: (change: SettingsChange) => call<SettingsView>('saveSettings', { change }),
  testConnection: (change: SettingsChange) => call<ConnectionReport>('testConnection', { change }),
  getOpenCodeSetup: () => call<OpenCodeSetup>('getOpenCodeSetup'),
  addToOpenCode: () => call<OpenCodeSetup>('addToOpenCode'),
  revealMcpToken: () => call<McpToken>('revealMcpToken'),
  rotateMcpToken: () => call<McpToken>('rotateMcpToken'),
  knownContacts: () => call<KnownContacts>('knownContacts'),
  startDemo: () => call<null>('startDemo'),
  getAutostart: () => call<Autostart>('getAutostart'),
  setAutostart: (enabled: boolean) => call<Autostart>('setAutostart', { enabled }),
  openSettings: () => call<null>('openSettings'),
  getHealth: () => call<HealthView>('getHealth'),
  listConversations: (query: ListQuery) => call<ConversationPage>('listConversations', { query }),
  getConversation: (conversationId: string, limit = 200) => call<ConversationDetail>('getConversation', { conversationId, limit }),
  retrySend: (conversationId: string, outboxId: number) =>
    call<ActionOutcome>('retrySend', { conversationId, outboxId, body: { outbox_id: outboxId } }),
  stopTurn: (conversationId: string) => call<ActionOutcome>('stopTurn', { conversationId }),
  newSession: (conversationId: string) => call<ActionOutcome>('newSession', { conversationId }),
  /** Start / stop / restart a managed OpenCode server (the desktop app's command or dingbridged's POST). */
  agentServerAction: (project: string, action: AgentServerAction) =>
    call<AgentServerStatus>('agentServerAction', { project, action }),
  /** The OS's folder dialog (desktop app only): the chosen folder's path, or null when cancelled. */
  chooseFolder: async (title: string): Promise<string | null> => {
    const chosen = await call<unknown>('chooseFolder', { options: { directory: true, multiple: false, title } });
    return typeof chosen === 'string' ? chosen : null;
  },
};

// ---------- live status + events ----------

export type LinkState = 'connecting' | 'live' | 'reconnecting' | 'error';

export interface LiveHandlers {
  onStatus: (status: StatusSnapshot) => void;
  onEvent: (event: EngineEvent | UnknownEvent) => void;
  onLink: (link: { state: LinkState; detail?: string }) => void;
}

// Events carry what changed (conversation rows, counters) and are applied as they come; the snapshot (bounded,
// a few KB) is re-read at most every 2 s while events flow, for the figures events do not carry.
const MIN_REFRESH_INTERVAL_MS = 2000;
const POLL_INTERVAL_MS = 5000; // safety net when no events arrive

function isEvent(value: unknown): value is EngineEvent | UnknownEvent {
  return Boolean(value) && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string';
}

/**
 * Follows the engine: every event as it comes, and a fresh status snapshot after events (throttled: one
 * request in flight, leading + trailing edge) and every few seconds. Returns a manual refresh.
 */
export function connect({ onStatus, onEvent, onLink }: LiveHandlers): { refresh: () => void } {
  let inFlight = false;
  let pending = false;
  let lastStart = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let link: LinkState = 'connecting';
  const setLink = (state: LinkState, detail?: string) => {
    link = state;
    onLink(detail === undefined ? { state } : { state, detail });
  };

  function refresh(): void {
    if (inFlight) {
      pending = true;
      return;
    }
    const wait = lastStart + MIN_REFRESH_INTERVAL_MS - Date.now();
    if (wait > 0) {
      timer ??= setTimeout(() => {
        timer = null;
        refresh();
      }, wait);
      return;
    }
    inFlight = true;
    pending = false;
    lastStart = Date.now();
    api
      .getStatus()
      .then((status) => {
        onStatus(status);
        if (link === 'error') setLink('live');
      })
      .catch((error: unknown) => setLink('error', toApiError(error).message))
      .finally(() => {
        inFlight = false;
        if (pending) refresh();
      });
  }

  const deliver = (payload: unknown) => {
    if (!isEvent(payload)) return; // keep-alive or garbage
    onEvent(payload);
    refresh();
  };
  const opened = () => {
    setLink('live');
    refresh(); // (re)connected: catch up on whatever happened while away
  };

  if (tauri) {
    tauri.event
      .listen('engine-event', (message) => deliver(message.payload))
      .then(opened)
      .catch((error: unknown) => setLink('reconnecting', toApiError(error).message));
  } else {
    // EventSource reconnects by itself; `open` fires again after each reconnect. It sends the cookie
    // (same origin) like fetch does.
    const source = new EventSource('/api/events');
    source.addEventListener('open', opened);
    source.addEventListener('error', () => {
      // The page words this state itself (in the user's language); there is no detail worth adding.
      setLink('reconnecting');
    });
    source.addEventListener('message', (message: MessageEvent<string>) => {
      try {
        deliver(JSON.parse(message.data));
      } catch {
        // not JSON: ignore
      }
    });
  }

  setInterval(refresh, POLL_INTERVAL_MS);
  refresh();
  return { refresh };
}
