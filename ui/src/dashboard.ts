// The dashboard (index.html): connection, quota, latency, queues, counters, conversations and the live
// event feed, from the status snapshot and the event stream of either transport. Every string from the
// engine (message previews, titles, nicknames, errors) comes from strangers: it only reaches the page through
// textContent / attributes (see dom.ts), never innerHTML.

import { api, connect, supports, toApiError, transport, type AgentServerAction, type LinkState } from './client.js';
import type { ConversationRow, ConversationsUpdated } from './conversation-types.js';
import { ConversationView } from './conversation-view.js';
import { ConversationList } from './conversations.js';
import { monthProjection, renderToken, rerenderHealth, startHealth } from './health.js';
import { byId, el } from './dom.js';
import { Feed, connectionStateText, shortId } from './feed.js';
import { fmtAgo, fmtDuration, fmtMicros, fmtMonth, fmtNumber, fmtPercent, followSetting, initLanguage, localize, onLanguageChange, pluralKey, t, tn } from './i18n.js';
import { renderOpenCodeConfigs } from './opencode.js';
import { needsSetup } from './setup.js';
import type { AgentServerStatus, AuthStatus, ConnectionStatus, Counters, LatencySummary, OutboxStatus, QueueStatus, QuotaStatus, StatusSnapshot } from './types.js';

const QUOTA_WARN_RATIO = 0.8;

const COUNTERS: readonly [keyof Counters, string][] = [
  ['frames', 'counter.frames'],
  ['received', 'counter.received'],
  ['duplicates', 'counter.duplicates'],
  ['acked', 'counter.acked'],
  ['rejected', 'counter.rejected'],
  ['agent_replied', 'counter.agent_replied'],
  ['agent_failed', 'counter.agent_failed'],
  ['replies_sent', 'counter.replies_sent'],
  ['replies_failed', 'counter.replies_failed'],
];
const BAD_COUNTERS = new Set<keyof Counters>(['rejected', 'agent_failed', 'replies_failed']);

let latest: StatusSnapshot | null = null;
let link: { state: LinkState; detail?: string } = { state: 'connecting' };
const titles = new Map<string, string>(); // conversation_id -> title, from snapshots and message events
const titleOf = (conversationId: string): string => titles.get(conversationId) ?? shortId(conversationId);
const feed = new Feed(titleOf);
const rememberTitles = (rows: readonly ConversationRow[]) => {
  for (const row of rows) titles.set(row.conversation_id, row.title);
};
const view = new ConversationView(() => {
  list.select(null);
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
});
const list = new ConversationList((id) => openConversation(id), rememberTitles);

/** Opens a conversation in the view; the address (#conversation=<id>) can be bookmarked or shared. */
function openConversation(id: string): void {
  list.select(id);
  view.show(id);
  history.replaceState(null, '', `#conversation=${encodeURIComponent(id)}`);
}

function conversationFromHash(): string | null {
  const match = /^#conversation=(.+)$/.exec(location.hash);
  if (!match?.[1]) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null;
  }
}

// ---------- status snapshot ----------

function renderStatus(status: StatusSnapshot): void {
  latest = status;
  document.body.dataset.mode = status.mode;
  byId('version').textContent = status.version ? `v${status.version}` : '';
  showDemo(status.mode === 'demo');
  for (const c of status.conversations) titles.set(c.conversation_id, c.title);

  renderConnection(status.connection);
  renderQuota(status.quota);
  renderAuth(status.auth);
  renderToken(status.auth);
  renderLatency(status.ack_latency);
  renderQueues(status.queues);
  renderAgentServers(status.agent_servers ?? []);
  renderOutbox(status.outbox);
  renderCounters(status.counters);
  renderClock();
}

function showDemo(demo: boolean): void {
  byId('demo-banner').hidden = !demo;
  byId('demo-chip').hidden = !demo;
}

function renderConnection(connection: ConnectionStatus): void {
  const state = connection.state;
  const badge = byId('conn-state');
  badge.dataset.state = state;
  badge.textContent = connectionStateText(state);
  byId('conn-state-text').textContent = connectionStateText(state);
  byId('reconnects').textContent = fmtNumber(connection.reconnects);
  const error = byId('last-error');
  error.hidden = !connection.last_error;
  error.classList.toggle('recovered', state === 'connected');
  if (connection.last_error) {
    localize(error, state === 'connected' ? 'conn.recovered_from' : 'conn.last_error', { error: connection.last_error });
  } else {
    error.textContent = '';
  }
}

function renderQuota(quota: QuotaStatus): void {
  const used = quota.stream_used;
  const budget = quota.stream_budget;
  const ratio = budget > 0 ? used / budget : 0;
  const percent = Math.min(100, Math.round(ratio * 100));
  const level = quota.exhausted || (budget > 0 && used >= budget) ? 'exhausted' : ratio >= QUOTA_WARN_RATIO ? 'warn' : 'ok';
  byId('quota-month').textContent = fmtMonth(quota.month);
  byId('quota-used').textContent = fmtNumber(used);
  byId('quota-budget').textContent = fmtNumber(budget);
  const meter = byId('quota-meter');
  meter.dataset.level = level;
  meter.setAttribute('aria-valuenow', String(percent));
  byId('quota-fill').style.width = `${quota.exhausted ? 100 : percent}%`;
  const note = byId('quota-note');
  if (level === 'exhausted') localize(note, 'quota.exhausted');
  else localize(note, level === 'warn' ? 'quota.used_low' : 'quota.used', { percent: fmtPercent(percent / 100) });
  localize(byId('quota-api'), 'quota.api_calls', { used: quota.api_used, budget: quota.api_budget });
  const projected = monthProjection(used, quota.month);
  const projection = byId('quota-projection');
  projection.hidden = projected === null;
  if (projected !== null) {
    projection.dataset.over = String(budget > 0 && projected > budget);
    localize(projection, 'quota.projection', { count: projected, budget });
  }
}

// OpenAPI access-token health: a degraded token manager stops calling DingTalk until credentials change.
function renderAuth(auth: AuthStatus): void {
  const banner = byId('auth-banner');
  const degraded = auth.state === 'degraded';
  banner.hidden = !degraded;
  if (!degraded) return;
  if (auth.last_error) localize(banner, 'auth.degraded_reason', { failures: auth.consecutive_failures, error: auth.last_error });
  else localize(banner, 'auth.degraded', { failures: auth.consecutive_failures });
}

// Outbound messages waiting for the pacer or a retry; "rate-limited" = waiting for the conversation's limit.
function renderOutbox(outbox: OutboxStatus): void {
  localize(byId('outbox-summary'), 'outbox.summary', { pending: outbox.pending, throttled: outbox.throttled });
  const limited = outbox.conversations.filter((c) => c.rate_limited).map((c) => titleOf(c.conversation_id));
  const line = byId('outbox-limited');
  if (limited.length === 0) localize(line, 'outbox.none_limited');
  else {
    const names = new Intl.ListFormat(document.documentElement.lang, { type: 'unit' }).format(limited.slice(0, 3));
    localize(line, limited.length > 3 ? 'outbox.limited_more' : 'outbox.limited', { names, more: limited.length - 3 });
  }
}

function renderLatency(latency: LatencySummary): void {
  byId('ack-p50').textContent = latency.count ? fmtMicros(latency.p50_us) : '—';
  byId('ack-p99').textContent = latency.count ? fmtMicros(latency.p99_us) : '—';
  localize(byId('ack-summary'), pluralKey('ack.summary', latency.count), {
    max: latency.count ? fmtMicros(latency.max_us) : '—',
    count: latency.count,
  });
}

// ---------- managed OpenCode servers ----------

const SERVER_ACTIONS: readonly [AgentServerAction, string][] = [
  ['start', 'agent_server.action.start'],
  ['stop', 'agent_server.action.stop'],
  ['restart', 'agent_server.action.restart'],
];
const SERVER_STATES: Record<AgentServerStatus['state'], string> = {
  stopped: 'agent_server.state.stopped',
  starting: 'agent_server.state.starting',
  running: 'agent_server.state.running',
  restarting: 'agent_server.state.restarting',
  not_installed: 'agent_server.state.not_installed',
};

function renderAgentServers(servers: AgentServerStatus[]): void {
  const card = byId('agent-servers');
  card.hidden = servers.length === 0;
  const list = byId('agent-server-list');
  list.replaceChildren(
    ...servers.map((server) => {
      const li = el('li', 'agent-server');
      const head = el('div');
      head.append(el('strong', null, server.project), ' ');
      const state = el('span', 'badge', t(SERVER_STATES[server.state]));
      state.dataset.state = server.state;
      head.append(state);
      li.append(head, el('div', 'muted small', server.directory));
      const facts: string[] = [];
      if (server.port > 0) facts.push(t('agent_server.port', { port: server.port }));
      if (server.version) facts.push(t('agent_server.version', { version: server.version }));
      if (server.uptime_s !== null) facts.push(t('agent_server.uptime', { uptime: fmtDuration(server.uptime_s * 1000) }));
      facts.push(t('agent_server.restarts', { count: server.restarts }));
      li.append(el('div', 'small', facts.join(' · ')));
      if (server.error) li.append(el('div', 'error small', server.error));
      if (supports('agentServerAction')) {
        const buttons = el('div', 'actions');
        for (const [action, label] of SERVER_ACTIONS) {
          const button = el('button', 'small', t(label));
          button.type = 'button';
          button.addEventListener('click', () => {
            button.disabled = true;
            api
              .agentServerAction(server.project, action)
              .catch((error: unknown) => {
                li.append(el('div', 'error small', toApiError(error).message));
              })
              .finally(() => {
                button.disabled = false;
              });
          });
          buttons.append(button);
        }
        li.append(buttons);
      }
      return li;
    }),
  );
}

function renderQueues(queues: QueueStatus): void {
  byId('queue-total').textContent = fmtNumber(queues.total_depth);
  byId('queue-inflight').textContent = fmtNumber(queues.in_flight);
  const list = byId('queue-list');
  const items = [...queues.conversations].sort((a, b) => b.depth - a.depth);
  const deepest = Math.max(1, ...items.map((q) => q.depth));
  list.replaceChildren(
    ...items.slice(0, 6).map((q) => {
      const li = el('li');
      li.append(el('span', 'queue-name', titleOf(q.conversation_id)));
      const bar = el('span', 'queue-bar');
      const fill = el('span', 'queue-bar-fill');
      fill.style.width = `${Math.max(4, Math.round((q.depth / deepest) * 100))}%`;
      bar.append(fill);
      li.append(bar, el('span', 'queue-depth', fmtNumber(q.depth)));
      li.title = q.conversation_id;
      return li;
    }),
  );
  // The snapshot lists the deepest queues only; `conversations_total` says how many there are.
  const more = Math.max(queues.conversations_total ?? items.length, items.length) - Math.min(6, items.length);
  if (more > 0) list.append(el('li', 'muted small', t('queue.more', { count: more })));
  if (items.length === 0) list.append(el('li', 'muted small', t('queue.empty')));
  // Turns held back while OpenCode is unreachable: they are not lost, say so where the queues are.
  const waiting = queues.waiting_for_agent_total ?? queues.waiting_for_agent?.length ?? 0;
  if (waiting > 0) {
    const note = el('li', 'queue-waiting-agent small', tn('queue.waiting_agent', waiting));
    note.id = 'queue-waiting-agent';
    list.prepend(note);
  }
}

function renderCounters(counters: Counters): void {
  byId('counters').replaceChildren(
    ...COUNTERS.map(([key, label]) => {
      const value = counters[key];
      const item = el('div', 'counter');
      if (BAD_COUNTERS.has(key) && value > 0) item.classList.add('counter-bad');
      item.dataset.counter = key;
      item.append(el('dt', null, t(label)), el('dd', null, fmtNumber(value)));
      return item;
    }),
  );
}

/** Relative times tick every second without refetching. */
function renderClock(): void {
  if (!latest) return;
  const connection = latest.connection;
  byId('last-frame').textContent = fmtAgo(connection.last_frame_at_ms);
  byId('connected-for').textContent =
    connection.state === 'connected' && typeof connection.connected_since_ms === 'number' ? fmtDuration(Date.now() - connection.connected_since_ms) : '—';
}

// ---------- link state ----------

const LINK_KEYS: Record<LinkState, string> = {
  connecting: 'link.connecting',
  live: 'link.live',
  reconnecting: 'link.reconnecting',
  error: 'link.error',
};

function renderLink(next: { state: LinkState; detail?: string }): void {
  link = next;
  const dot = byId('link-dot');
  dot.dataset.link = next.state;
  dot.title = t(LINK_KEYS[next.state]);
  const banner = byId('link-error');
  const broken = next.state === 'error' || next.state === 'reconnecting';
  banner.hidden = !broken;
  if (broken) localize(banner, 'link.lost', { detail: next.detail ?? t(LINK_KEYS[next.state]) });
}

// ---------- settings link, setup, OpenCode ----------

function wireSettingsLink(): void {
  const open = byId('open-settings', HTMLAnchorElement);
  if (!supports('openSettings') || transport === 'http') return; // a plain link to settings.html
  open.addEventListener('click', (event) => {
    event.preventDefault();
    api.openSettings().catch((error: unknown) => {
      const banner = byId('link-error');
      banner.hidden = false;
      banner.textContent = toApiError(error).message;
    });
  });
}

async function loadSettings(): Promise<void> {
  try {
    const view = await api.getSettings();
    await followSetting(view.ui.language);
    if (view.mode === 'demo') showDemo(true);
    // The demo runs until real credentials are saved: the way to the setup guide stays in sight.
    byId('setup-banner').hidden = !needsSetup(view);
    if (view.mode === 'unconfigured') {
      // First run: the browser goes straight to the setup guide; the app shows the way there.
      if (transport === 'http') {
        location.replace('settings.html');
        return;
      }
    }
  } catch {
    // An older engine without the settings API: the dashboard works without it.
  }
  try {
    renderOpenCodeConfigs(await api.getOpenCodeSetup(), byId('opencode-local'), byId('opencode-remote'));
    byId('opencode-card').hidden = false;
  } catch {
    // no OpenCode setup data: the card stays hidden
  }
}

// ---------- start ----------

async function start(): Promise<void> {
  await initLanguage();
  byId('transport').textContent = transport;
  document.body.dataset.transport = transport;
  wireSettingsLink();
  byId('setup-open').addEventListener('click', () => {
    if (transport === 'http') location.assign('settings.html');
    else api.openSettings().catch(() => {});
  });
  onLanguageChange(() => {
    if (latest) renderStatus(latest);
    feed.rerender();
    list.rerender();
    view.rerender();
    rerenderHealth();
    renderLink(link);
  });
  list.start();
  startHealth();
  const fromHash = conversationFromHash();
  if (fromHash) openConversation(fromHash);
  connect({
    onStatus: renderStatus,
    onEvent: (event) => {
      if (event.type === 'conversations_updated') {
        const update = event as unknown as ConversationsUpdated;
        list.apply(update);
        if (update.counters) renderCounters(update.counters);
        for (const row of update.rows) view.touched(row.conversation_id);
        return;
      }
      if ('conversation_id' in event && typeof event.conversation_id === 'string') view.touched(event.conversation_id);
      if (event.type === 'message_received') {
        // The desktop app's IPC carries engine events but no `conversations_updated` rows: reload the list.
        list.refreshSoon();
        const { conversation_id: id, conversation_title: title, sender_nick: nick } = event as { conversation_id: string; conversation_title: string | null; sender_nick: string };
        if (title) titles.set(id, title);
        // A 1:1 chat is named after the other person until a snapshot says otherwise.
        else if (!titles.has(id)) titles.set(id, nick);
      }
      feed.add(event);
    },
    onLink: renderLink,
  });
  setInterval(renderClock, 1000);
  await loadSettings();
  document.body.dataset.ready = 'true';
}

void start();
