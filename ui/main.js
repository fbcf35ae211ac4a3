// Dashboard rendering. Every string from the engine (message previews, titles, nicknames, errors) comes
// from strangers: it only ever reaches the page through textContent / attributes, never innerHTML.

import { connect } from './client.js';

const MAX_EVENTS = 100;
const MAX_CONVERSATIONS = 200;
const QUOTA_WARN_RATIO = 0.8;
const VERBOSE_TYPES = new Set(['acked', 'queue_depth', 'outbox_depth']);

const $ = (id) => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`missing #${id}`);
  return element;
};

/** Creates an element with a class and text content (text is never parsed as HTML). */
function el(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined && text !== null) element.textContent = String(text);
  return element;
}

const COUNTERS = [
  ['frames', 'Frames'],
  ['received', 'Received'],
  ['duplicates', 'Duplicates'],
  ['acked', 'ACKed'],
  ['rejected', 'Rejected'],
  ['agent_replied', 'Agent replied'],
  ['agent_failed', 'Agent failed'],
  ['replies_sent', 'Replies sent'],
  ['replies_failed', 'Replies failed'],
];
const BAD_COUNTERS = new Set(['rejected', 'agent_failed', 'replies_failed']);

let latest = null; // last StatusSnapshot
const titles = new Map(); // conversation_id -> title, from snapshots and message events
const feed = []; // newest first: {event, at}

// ---------- formatting ----------

const numberFormat = new Intl.NumberFormat();
const fmtNumber = (n) => (typeof n === 'number' && Number.isFinite(n) ? numberFormat.format(n) : '—');

function fmtMicros(us) {
  if (typeof us !== 'number' || !Number.isFinite(us)) return '—';
  if (us < 1000) return `${us} µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)} ms`;
  return `${(us / 1_000_000).toFixed(2)} s`;
}

function fmtDuration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

function fmtAgo(atMs) {
  if (typeof atMs !== 'number') return 'never';
  const s = Math.max(0, Math.round((Date.now() - atMs) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const clockFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
const dateFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

function fmtWhen(atMs) {
  if (typeof atMs !== 'number') return '';
  const date = new Date(atMs);
  const today = new Date();
  return date.toDateString() === today.toDateString() ? timeFormat.format(date) : dateFormat.format(date);
}

const titleOf = (conversationId) => titles.get(conversationId) || shortId(conversationId);
function shortId(id) {
  const text = String(id ?? '');
  return text.length > 14 ? `${text.slice(0, 6)}…${text.slice(-5)}` : text;
}

// ---------- status snapshot ----------

function renderStatus(status) {
  latest = status;
  document.body.dataset.mode = status.mode;
  $('version').textContent = status.version ? `v${status.version}` : '';
  $('demo-banner').hidden = status.mode !== 'demo';

  for (const c of status.conversations ?? []) titles.set(c.conversation_id, c.title);

  renderConnection(status.connection);
  renderQuota(status.quota);
  renderAuth(status.auth);
  renderLatency(status.ack_latency);
  renderQueues(status.queues);
  renderOutbox(status.outbox);
  renderCounters(status.counters);
  renderConversations(status.conversations ?? []);
  renderClock();
}

function renderConnection(connection) {
  const state = connection?.state ?? 'unknown';
  const badge = $('conn-state');
  badge.dataset.state = state;
  badge.textContent = state;
  $('conn-state-text').textContent = {
    connected: 'Connected',
    connecting: 'Connecting…',
    backoff: 'Waiting to reconnect',
    stopped: 'Stopped',
  }[state] ?? state;
  $('reconnects').textContent = fmtNumber(connection?.reconnects);
  const error = $('last-error');
  error.hidden = !connection?.last_error;
  error.classList.toggle('recovered', state === 'connected');
  error.textContent = connection?.last_error
    ? `${state === 'connected' ? 'Recovered from' : 'Last error'}: ${connection.last_error}`
    : '';
}

function renderQuota(quota) {
  if (!quota) return;
  const used = quota.stream_used ?? 0;
  const budget = quota.stream_budget ?? 0;
  const ratio = budget > 0 ? used / budget : 0;
  const percent = Math.min(100, Math.round(ratio * 100));
  const level = quota.exhausted || (budget > 0 && used >= budget) ? 'exhausted' : ratio >= QUOTA_WARN_RATIO ? 'warn' : 'ok';
  $('quota-month').textContent = quota.month ?? '';
  $('quota-used').textContent = fmtNumber(used);
  $('quota-budget').textContent = fmtNumber(budget);
  const meter = $('quota-meter');
  meter.dataset.level = level;
  meter.setAttribute('aria-valuenow', String(percent));
  $('quota-fill').style.width = `${quota.exhausted ? 100 : percent}%`;
  $('quota-note').textContent =
    level === 'exhausted'
      ? 'Exhausted: DingTalk delivers bot messages without content until next month.'
      : `${percent}% used${level === 'warn' ? ' — running low' : ''}`;
  const apiUsed = quota.api_used ?? 0;
  const apiBudget = quota.api_budget ?? 0;
  $('quota-api').textContent = `OpenAPI calls: ${fmtNumber(apiUsed)} / ${fmtNumber(apiBudget)}`;
}

// OpenAPI access-token health: a degraded token manager stops calling DingTalk until credentials change.
function renderAuth(auth) {
  const banner = $('auth-banner');
  const degraded = auth?.state === 'degraded';
  banner.hidden = !degraded;
  if (degraded) {
    banner.textContent = `DingTalk OpenAPI is paused: the access token could not be refreshed ${auth.consecutive_failures} times` +
      (auth.last_error ? ` (${auth.last_error})` : '') + '. Check the app credentials.';
  }
}

// Outbound messages waiting for the pacer or a retry; "rate-limited" = waiting for the conversation's limit.
function renderOutbox(outbox) {
  $('outbox-pending').textContent = fmtNumber(outbox?.pending ?? 0);
  $('outbox-throttled').textContent = fmtNumber(outbox?.throttled ?? 0);
  const limited = (outbox?.conversations ?? []).filter((c) => c.rate_limited).map((c) => titleOf(c.conversation_id));
  $('outbox-limited').textContent = limited.length ? `Rate-limited: ${limited.slice(0, 3).join(', ')}${limited.length > 3 ? '…' : ''}` : 'No conversation at its rate limit.';
}

function renderLatency(latency) {
  $('ack-p50').textContent = latency?.count ? fmtMicros(latency.p50_us) : '—';
  $('ack-p99').textContent = latency?.count ? fmtMicros(latency.p99_us) : '—';
  $('ack-max').textContent = latency?.count ? fmtMicros(latency.max_us) : '—';
  $('ack-count').textContent = fmtNumber(latency?.count ?? 0);
}

function renderQueues(queues) {
  $('queue-total').textContent = fmtNumber(queues?.total_depth ?? 0);
  $('queue-inflight').textContent = fmtNumber(queues?.in_flight ?? 0);
  const list = $('queue-list');
  const items = [...(queues?.conversations ?? [])].sort((a, b) => b.depth - a.depth);
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
  if (items.length > 6) list.append(el('li', 'muted small', `+ ${items.length - 6} more`));
  if (items.length === 0) list.append(el('li', 'muted small', 'Nothing waiting.'));
}

function renderCounters(counters) {
  const list = $('counters');
  list.replaceChildren(
    ...COUNTERS.map(([key, label]) => {
      const value = counters?.[key] ?? 0;
      const item = el('div', 'counter');
      if (BAD_COUNTERS.has(key) && value > 0) item.classList.add('counter-bad');
      item.dataset.counter = key;
      item.append(el('dt', null, label), el('dd', null, fmtNumber(value)));
      return item;
    }),
  );
}

function renderConversations(conversations) {
  const sorted = [...conversations].sort((a, b) => (b.last_message_at_ms ?? 0) - (a.last_message_at_ms ?? 0));
  $('conv-count').textContent = sorted.length ? `(${sorted.length})` : '';
  $('conversations-empty').hidden = sorted.length > 0;
  $('conversations').replaceChildren(
    ...sorted.slice(0, MAX_CONVERSATIONS).map((c) => {
      const li = el('li', 'conversation');
      li.dataset.conversationId = c.conversation_id;
      const kind = c.kind === 'group' ? 'group' : 'single';
      const avatar = el('span', `avatar avatar-${kind}`, initial(c.title));
      avatar.setAttribute('aria-hidden', 'true');
      const body = el('div', 'conv-body');
      const top = el('div', 'conv-top');
      top.append(
        el('span', 'conv-title', c.title || shortId(c.conversation_id)),
        el('span', `kind kind-${kind}`, kind === 'group' ? 'group' : '1:1'),
        el('time', 'conv-time', fmtWhen(c.last_message_at_ms)),
      );
      const bottom = el('div', 'conv-bottom');
      bottom.append(
        el('span', 'conv-preview', c.last_preview || '—'),
        el('span', 'conv-count', `${fmtNumber(c.messages)} msg`),
      );
      body.append(top, bottom);
      li.append(avatar, body);
      li.title = c.conversation_id;
      return li;
    }),
  );
}

function initial(title) {
  const first = Array.from(String(title ?? '').trim())[0];
  return first ? first.toUpperCase() : '#';
}

/** Relative times tick every second without refetching. */
function renderClock() {
  if (!latest) return;
  const connection = latest.connection ?? {};
  $('last-frame').textContent = fmtAgo(connection.last_frame_at_ms);
  $('connected-for').textContent =
    connection.state === 'connected' && typeof connection.connected_since_ms === 'number'
      ? fmtDuration(Date.now() - connection.connected_since_ms)
      : '—';
}

// ---------- event feed ----------

/** A bold span inside an event line (still plain text). */
const strong = (text) => ({ strong: String(text ?? '') });

/** One line per event: [tone, label, text], text being a string or a list of strings / strong(). */
function describeEvent(event) {
  switch (event.type) {
    case 'connection_changed':
      return [event.state === 'connected' ? 'good' : event.state === 'connecting' ? 'info' : 'warn', 'connection', `${event.state}${event.reason ? ` — ${event.reason}` : ''}`];
    case 'message_received':
      if (event.conversation_title) titles.set(event.conversation_id, event.conversation_title);
      // A 1:1 chat is named after the other person until a snapshot says otherwise.
      else if (!titles.has(event.conversation_id)) titles.set(event.conversation_id, event.sender_nick);
      // 1:1 chats have no title of their own (the conversation is named after the sender).
      return event.conversation_title
        ? ['info', 'message', [strong(event.sender_nick), ` in ${event.conversation_title}: `, event.preview]]
        : ['info', 'message', [strong(event.sender_nick), ': ', event.preview]];
    case 'duplicate_dropped':
      return ['muted', 'duplicate', `redelivery of ${shortId(event.msg_id)} dropped`];
    case 'acked':
      return ['muted', 'ack', `${fmtMicros(event.latency_us)} for ${shortId(event.msg_id)}`];
    case 'frame_rejected':
      return ['bad', 'rejected', event.reason];
    case 'quota_exhausted':
      return ['bad', 'quota', `${titleOf(event.conversation_id)}: ${event.message}`];
    case 'queue_depth':
      return ['muted', 'queue', `${titleOf(event.conversation_id)}: ${event.depth} waiting (total ${event.total})`];
    case 'agent_started':
      return ['info', 'agent', ['working on a message in ', strong(titleOf(event.conversation_id))]];
    case 'agent_replied':
      return ['good', 'agent', [`answered in ${(event.duration_ms / 1000).toFixed(1)} s for `, strong(titleOf(event.conversation_id)), `: ${event.preview}`]];
    case 'agent_failed':
      return ['bad', 'agent', `${titleOf(event.conversation_id)}: ${event.error}`];
    case 'reply_sent':
      return ['good', 'reply', [`sent ${fmtNumber(event.bytes)} bytes to `, strong(titleOf(event.conversation_id))]];
    case 'reply_failed':
      return ['bad', 'reply', `${titleOf(event.conversation_id)}: ${event.error}`];
    case 'outbox_depth':
      return ['muted', 'queue', `${titleOf(event.conversation_id)}: ${event.pending} to send${event.rate_limited ? ' (rate limit)' : ''}`];
    case 'access_refused':
      return ['bad', 'refused', [strong(event.sender_nick), ` is not on the allow-list (${titleOf(event.conversation_id)})`]];
    case 'quota_warning':
      return ['bad', 'quota', `${event.kind === 'api' ? 'OpenAPI calls' : 'Stream messages'} at ${event.percent}% of ${fmtNumber(event.budget)} in ${event.month}`];
    case 'rate_limited':
      return ['bad', 'throttled', `DingTalk throttled ${event.api} (${event.code})`];
    case 'auth_degraded':
      return ['bad', 'auth', `OpenAPI paused after ${event.failures} failed token refreshes: ${event.reason}`];
    case 'auth_recovered':
      return ['good', 'auth', 'OpenAPI access token recovered'];
    default:
      return ['muted', String(event.type), JSON.stringify(event)];
  }
}

function addEvent(event) {
  const [tone, label, text] = describeEvent(event);
  const entry = { event, tone, label, text, at: Date.now() };
  feed.unshift(entry);
  if (feed.length > MAX_EVENTS) feed.length = MAX_EVENTS;

  const list = $('events');
  if (isVisible(entry)) list.prepend(eventItem(entry));
  while (list.children.length > MAX_EVENTS) list.lastElementChild?.remove();
  $('events-empty').hidden = list.children.length > 0;
}

function eventItem({ event, tone, label, text, at }) {
  const li = el('li', `event tone-${tone}`);
  li.dataset.type = event.type;
  if (event.msg_id) li.title = event.msg_id;
  const body = el('span', 'event-text');
  for (const part of Array.isArray(text) ? text : [text]) {
    body.append(typeof part === 'object' && part !== null ? el('strong', null, part.strong) : document.createTextNode(String(part ?? '')));
  }
  li.append(el('time', 'event-time', clockFormat.format(new Date(at))), el('span', 'event-label', label), body);
  return li;
}

const isVisible = (entry) => $('show-verbose').checked || !VERBOSE_TYPES.has(entry.event.type);

function rerenderFeed() {
  const list = $('events');
  list.replaceChildren(...feed.filter(isVisible).map(eventItem));
  $('events-empty').hidden = list.children.length > 0;
}

// ---------- link state ----------

function renderLink({ state, detail }) {
  $('link-dot').dataset.link = state;
  $('link-dot').title = detail ?? state;
  const banner = $('link-error');
  const broken = state === 'error' || state === 'reconnecting';
  banner.hidden = !broken;
  banner.textContent = broken ? `Lost contact with the engine (${detail ?? state}); retrying…` : '';
}

// ---------- start ----------

$('show-verbose').addEventListener('change', rerenderFeed);
const client = connect({ onStatus: renderStatus, onEvent: addEvent, onLink: renderLink });
$('transport').textContent = client.transport;
document.body.dataset.transport = client.transport;
setInterval(renderClock, 1000);

// The exact OpenCode configs for this app's MCP server (settings data; HTTP transport only).
if (client.transport === 'http') {
  fetch('/api/settings')
    .then((response) => (response.ok ? response.json() : null))
    .then((settings) => {
      if (!settings) return;
      $('opencode-local').textContent = JSON.stringify({ dingtalk: settings.opencode_local });
      $('opencode-remote').textContent = settings.opencode_remote
        ? JSON.stringify({ dingtalk: settings.opencode_remote })
        : 'The MCP server is not running.';
      $('opencode-card').hidden = false;
    })
    .catch(() => {});
}
