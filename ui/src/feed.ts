// The dashboard's live event feed: one line per engine event, newest first, at most MAX_EVENTS kept.
// Each line is a whole catalogue sentence (tNodes) whose placeholders are filled with text nodes, so a
// nickname or a preview is shown as typed, never interpreted. Lines are rebuilt from the stored events when
// the language changes.

import { byId, el } from './dom.js';
import { fmtClock, fmtMicros, fmtMillis, fmtMonth, fmtPercent, localize, pluralKey, t, tNodes } from './i18n.js';
import type { EngineEvent, UnknownEvent } from './types.js';

const MAX_EVENTS = 100;
const VERBOSE_TYPES = new Set(['acked', 'queue_depth', 'outbox_depth']);

type Tone = 'good' | 'info' | 'warn' | 'bad' | 'muted';

interface Line {
  tone: Tone;
  label: string; // catalogue key
  body: DocumentFragment;
}

interface Entry {
  event: EngineEvent | UnknownEvent;
  at: number;
}

const CONNECTION_STATE_KEYS: Record<string, string> = {
  connected: 'conn.state.connected',
  connecting: 'conn.state.connecting',
  backoff: 'conn.state.backoff',
  stopped: 'conn.state.stopped',
};

export const connectionStateText = (state: string): string => {
  const key = CONNECTION_STATE_KEYS[state];
  return key ? t(key) : state;
};

const text = (value: string): DocumentFragment => {
  const fragment = document.createDocumentFragment();
  fragment.append(document.createTextNode(value));
  return fragment;
};

const KNOWN_TYPES: ReadonlySet<string> = new Set<EngineEvent['type']>([
  'connection_changed', 'message_received', 'access_refused', 'quota_warning', 'duplicate_dropped', 'acked',
  'frame_rejected', 'quota_exhausted', 'queue_depth', 'agent_started', 'agent_replied', 'agent_failed',
  'outbox_depth', 'reply_sent', 'reply_failed', 'auth_degraded', 'auth_recovered', 'credentials_rejected',
  'agent_unreachable', 'permission_requested', 'rate_limited', 'api_quota_exhausted',
]);

function isKnown(event: EngineEvent | UnknownEvent): event is EngineEvent {
  return KNOWN_TYPES.has(event.type);
}

export class Feed {
  private readonly entries: Entry[] = [];
  private readonly list = byId('events');
  private readonly empty = byId('events-empty');
  private readonly verbose = byId('show-verbose', HTMLInputElement);

  /** `titleOf` names a conversation (its title, or a short id while none is known). */
  constructor(private readonly titleOf: (conversationId: string) => string) {
    this.verbose.addEventListener('change', () => this.rerender());
  }

  add(event: EngineEvent | UnknownEvent): void {
    const entry = { event, at: Date.now() };
    this.entries.unshift(entry);
    if (this.entries.length > MAX_EVENTS) this.entries.length = MAX_EVENTS;
    if (this.isVisible(entry)) this.list.prepend(this.item(entry));
    while (this.list.children.length > MAX_EVENTS) this.list.lastElementChild?.remove();
    this.empty.hidden = this.list.children.length > 0;
  }

  rerender(): void {
    this.list.replaceChildren(...this.entries.filter((entry) => this.isVisible(entry)).map((entry) => this.item(entry)));
    this.empty.hidden = this.list.children.length > 0;
  }

  private isVisible(entry: Entry): boolean {
    return this.verbose.checked || !VERBOSE_TYPES.has(entry.event.type);
  }

  private item({ event, at }: Entry): HTMLLIElement {
    const line = this.describe(event);
    const li = el('li', `event tone-${line.tone}`);
    li.dataset.type = event.type;
    if ('msg_id' in event && typeof event.msg_id === 'string') li.title = event.msg_id;
    const label = el('span', 'event-label');
    localize(label, line.label);
    const body = el('span', 'event-text');
    body.append(line.body);
    li.append(el('time', 'event-time', fmtClock(at)), label, body);
    return li;
  }

  private describe(event: EngineEvent | UnknownEvent): Line {
    if (!isKnown(event)) return this.unknown(event);
    const title = (id: string) => this.titleOf(id);
    switch (event.type) {
      case 'connection_changed': {
        const tone = event.state === 'connected' ? 'good' : event.state === 'connecting' ? 'info' : 'warn';
        const state = connectionStateText(event.state);
        const body = event.reason
          ? tNodes('event.connection_reason', { state, reason: event.reason })
          : text(state);
        return { tone, label: 'event.label.connection', body };
      }
      case 'message_received': {
        const sender = event.sender_nick;
        // 1:1 chats have no title of their own (the conversation is named after the sender).
        const body = event.conversation_title
          ? tNodes('event.message_group', { sender, title: event.conversation_title, preview: event.preview }, ['sender'])
          : tNodes('event.message_single', { sender, preview: event.preview }, ['sender']);
        return { tone: 'info', label: 'event.label.message', body };
      }
      case 'duplicate_dropped':
        return { tone: 'muted', label: 'event.label.duplicate', body: tNodes('event.duplicate', { id: shortId(event.msg_id) }) };
      case 'acked':
        return { tone: 'muted', label: 'event.label.ack', body: tNodes('event.acked', { latency: fmtMicros(event.latency_us), id: shortId(event.msg_id) }) };
      case 'frame_rejected':
        return { tone: 'bad', label: 'event.label.rejected', body: text(event.reason) };
      case 'quota_exhausted':
        return { tone: 'bad', label: 'event.label.quota', body: tNodes('event.about', { title: title(event.conversation_id), text: event.message }) };
      case 'queue_depth':
        return {
          tone: 'muted',
          label: 'event.label.queue',
          body: tNodes('event.queue_depth', { title: title(event.conversation_id), depth: event.depth, total: event.total }),
        };
      case 'agent_started':
        return { tone: 'info', label: 'event.label.agent', body: tNodes('event.agent_started', { title: title(event.conversation_id) }, ['title']) };
      case 'agent_replied':
        return {
          tone: 'good',
          label: 'event.label.agent',
          body: tNodes('event.agent_replied', { duration: fmtMillis(event.duration_ms), title: title(event.conversation_id), preview: event.preview }, ['title']),
        };
      case 'agent_failed':
        return { tone: 'bad', label: 'event.label.agent', body: tNodes('event.about', { title: title(event.conversation_id), text: event.error }) };
      case 'reply_sent':
        return {
          tone: 'good',
          label: 'event.label.reply',
          body: tNodes(pluralKey('event.reply_sent', event.bytes), { count: event.bytes, title: title(event.conversation_id) }, ['title']),
        };
      case 'reply_failed':
        return { tone: 'bad', label: 'event.label.reply', body: tNodes('event.about', { title: title(event.conversation_id), text: event.error }) };
      case 'outbox_depth':
        return {
          tone: 'muted',
          label: 'event.label.queue',
          body: tNodes(event.rate_limited ? 'event.outbox_depth_limited' : 'event.outbox_depth', {
            title: title(event.conversation_id),
            pending: event.pending,
          }),
        };
      case 'access_refused':
        return {
          tone: 'bad',
          label: 'event.label.refused',
          body: tNodes('event.access_refused', { sender: event.sender_nick, title: title(event.conversation_id) }, ['sender']),
        };
      case 'quota_warning':
        return {
          tone: 'bad',
          label: 'event.label.quota',
          body: tNodes(event.kind === 'api' ? 'event.quota_warning_api' : 'event.quota_warning_stream', {
            percent: fmtPercent(event.percent / 100),
            budget: event.budget,
            month: fmtMonth(event.month),
          }),
        };
      case 'rate_limited':
        return { tone: 'bad', label: 'event.label.throttled', body: tNodes('event.rate_limited', { api: event.api, code: event.code }) };
      case 'auth_degraded':
        return { tone: 'bad', label: 'event.label.auth', body: tNodes('event.auth_degraded', { failures: event.failures, reason: event.reason }) };
      case 'auth_recovered':
        return { tone: 'good', label: 'event.label.auth', body: text(t('event.auth_recovered')) };
      case 'credentials_rejected':
        return { tone: 'bad', label: 'event.label.auth', body: tNodes('event.credentials_rejected', { code: event.code, message: event.message }) };
      case 'agent_unreachable':
        return {
          tone: 'warn',
          label: 'event.label.agent',
          body: tNodes('event.agent_unreachable', { title: title(event.conversation_id), reason: event.reason }),
        };
      case 'permission_requested':
        return {
          tone: 'warn',
          label: 'event.label.permission',
          body: tNodes('event.permission_requested', { title: title(event.conversation_id), summary: event.summary }, ['title']),
        };
      case 'api_quota_exhausted':
        return {
          tone: 'bad',
          label: 'event.label.quota',
          body: tNodes('event.api_quota_exhausted', { api: event.api, code: event.code, message: event.message }),
        };
      default:
        return this.unknown(event);
    }
  }

  private unknown(event: EngineEvent | UnknownEvent): Line {
    return { tone: 'muted', label: 'event.label.other', body: text(JSON.stringify(event)) };
  }
}

/** A long id shortened for display ("cid6Kz…b2Xq=="), whole when short. */
export function shortId(id: string): string {
  return id.length > 14 ? `${id.slice(0, 6)}…${id.slice(-5)}` : id;
}
