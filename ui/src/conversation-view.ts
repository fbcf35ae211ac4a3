// The conversation view: one conversation's messages in and out, in order, with sender and time; each reply
// part's delivery (queued, throttled until T, sent by webhook / OpenAPI, failed with DingTalk's error and a
// Retry button); what the agent is doing for the chat and its session; the conversation's limits; Stop and
// New session. Live: an event about the open conversation re-reads it (debounced). Message texts, names and
// errors come from strangers or from DingTalk: textContent only.

import { api, toApiError } from './client.js';
import type { ActionOutcome, AgentActivity, ConversationDetail, MessageView } from './conversation-types.js';
import { byId, el } from './dom.js';
import { shortId } from './feed.js';
import { currentLanguage, fmtNumber, localize, t } from './i18n.js';

const RELOAD_DELAY_MS = 300;
const PROGRESS_RELOAD_MS = 1000;

const AGENT_KEYS: Record<AgentActivity, string> = {
  idle: 'cv.agent.idle',
  thinking: 'cv.agent.thinking',
  waiting_permission: 'cv.agent.waiting_permission',
  waiting_question: 'cv.agent.waiting_question',
};

const OUTCOME_KEYS: Record<ActionOutcome['outcome'], string> = {
  retried: 'cv.outcome.retried',
  stopped: 'cv.outcome.stopped',
  nothing_running: 'cv.outcome.nothing_running',
  new_session: 'cv.outcome.new_session',
};

const PLAIN_DELIVERY_KEYS: Record<'waiting' | 'answered' | 'queued', string> = {
  waiting: 'cv.delivery.waiting',
  answered: 'cv.delivery.answered',
  queued: 'cv.delivery.queued',
};

type Delivery = 'waiting' | 'answered' | 'queued' | 'throttled' | 'sent' | 'failed';

export function fmtDateTime(atMs: number): string {
  return new Intl.DateTimeFormat(currentLanguage(), { dateStyle: 'medium', timeStyle: 'medium' }).format(new Date(atMs));
}

function fmtTime(atMs: number): string {
  return new Intl.DateTimeFormat(currentLanguage(), { timeStyle: 'medium' }).format(new Date(atMs));
}

export class ConversationView {
  private current: string | null = null;
  private detail: ConversationDetail | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private loading = false;
  private again = false;
  private painted = false;
  private readonly panel = byId('conversation-view');
  private readonly messages = byId('cv-messages');
  private readonly notice = byId('cv-notice');

  constructor(private readonly onClose: () => void) {
    byId('cv-close').addEventListener('click', () => this.close());
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.current) this.close();
    });
    byId('cv-stop').addEventListener('click', () => this.act('stop'));
    byId('cv-new-session').addEventListener('click', () => this.act('new_session'));
    this.messages.addEventListener('click', (event) => {
      const button = event.target instanceof Element ? event.target.closest<HTMLButtonElement>('button[data-retry]') : null;
      const id = Number(button?.dataset.retry);
      if (button && Number.isFinite(id)) this.retry(button, id);
    });
  }

  get open(): string | null {
    return this.current;
  }

  show(conversationId: string): void {
    const switching = this.current !== conversationId;
    this.current = conversationId;
    this.panel.hidden = false;
    this.panel.dataset.conversationId = conversationId;
    if (switching) {
      this.detail = null;
      this.messages.replaceChildren();
      this.notice.hidden = true;
      byId('cv-title').textContent = shortId(conversationId);
      delete this.panel.dataset.ready;
    }
    this.reload();
  }

  close(): void {
    this.current = null;
    this.detail = null;
    this.panel.hidden = true;
    delete this.panel.dataset.conversationId;
    this.onClose();
  }

  /** Something happened in `conversationId`: re-read it if it is the one shown. */
  touched(conversationId: string, delay = RELOAD_DELAY_MS): void {
    if (conversationId !== this.current || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.reload();
    }, delay);
  }

  rerender(): void {
    if (this.detail) this.render(this.detail);
  }

  private reload(): void {
    const id = this.current;
    if (!id) return;
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    api
      .getConversation(id)
      .then((detail) => {
        if (id === this.current) this.render(detail);
      })
      .catch((error: unknown) => {
        if (id === this.current) this.say('cv.load_failed', { error: toApiError(error).message }, 'bad');
      })
      .finally(() => {
        this.loading = false;
        if (this.again) {
          this.again = false;
          this.reload();
        }
      });
  }

  private say(key: string, params: Record<string, string | number>, tone: 'good' | 'bad'): void {
    this.notice.hidden = false;
    this.notice.dataset.tone = tone;
    localize(this.notice, key, params);
  }

  private act(action: 'stop' | 'new_session'): void {
    const id = this.current;
    if (!id) return;
    const button = byId(action === 'stop' ? 'cv-stop' : 'cv-new-session', HTMLButtonElement);
    button.disabled = true;
    const call = action === 'stop' ? api.stopTurn(id) : api.newSession(id);
    call
      .then((result) => this.say(OUTCOME_KEYS[result.outcome], {}, 'good'))
      .catch((error: unknown) => this.say('cv.action_failed', { error: toApiError(error).message }, 'bad'))
      .finally(() => {
        button.disabled = false;
        this.reload();
      });
  }

  private retry(button: HTMLButtonElement, outboxId: number): void {
    const id = this.current;
    if (!id) return;
    button.disabled = true;
    api
      .retrySend(id, outboxId)
      .then((result) => this.say(OUTCOME_KEYS[result.outcome], {}, 'good'))
      .catch((error: unknown) => this.say('cv.action_failed', { error: toApiError(error).message }, 'bad'))
      .finally(() => this.reload());
  }

  private render(detail: ConversationDetail): void {
    this.detail = detail;
    const c = detail.conversation;
    byId('cv-title').textContent = c.title || shortId(c.conversation_id);
    byId('cv-kind').textContent = t(c.kind === 'group' ? 'conv.kind_group' : 'conv.kind_single');
    byId('cv-id').textContent = c.conversation_id;
    byId('cv-person').textContent = c.person ?? '—';
    const agent = byId('cv-agent-state');
    agent.dataset.state = detail.agent.state;
    localize(agent, AGENT_KEYS[detail.agent.state] ?? 'cv.agent.idle');
    byId('cv-session').textContent = detail.agent.session_id ?? t('cv.no_session');
    byId('cv-backend').textContent = detail.agent.backend;
    const limits = detail.limits;
    byId('cv-queue').textContent = fmtNumber(limits.queue_depth);
    byId('cv-outbox').textContent = fmtNumber(limits.outbox_pending);
    localize(byId('cv-sends-left'), 'cv.sends_left', {
      left: limits.sends_left,
      limit: limits.per_window,
      window: Math.round(limits.window_ms / 1000),
    });
    byId('cv-next-send').textContent = limits.next_send_at_ms === null ? '—' : fmtTime(limits.next_send_at_ms);
    byId('cv-more').hidden = !detail.has_more;
    const throttledUntil = limits.retry_at_ms ?? (limits.rate_limited ? limits.next_send_at_ms : null);
    let firstPending = true;
    this.messages.replaceChildren(
      ...detail.messages.map((message) => {
        const until = message.direction === 'out' && message.state === 'pending' && firstPending ? throttledUntil : null;
        if (message.direction === 'out' && message.state === 'pending') firstPending = false;
        return this.item(message, until);
      }),
    );
    this.panel.dataset.ready = 'true';
    // A turn or a send in progress ends without an event of its own when it is stopped or paced: look again.
    if (detail.agent.state === 'thinking' || limits.outbox_pending > 0) this.touched(c.conversation_id, PROGRESS_RELOAD_MS);
    if (!this.painted) {
      // The benchmark's "first paint of a conversation view" (bench/suite/dashboard.mjs).
      this.painted = true;
      requestAnimationFrame(() => performance.mark('conversation-view-painted'));
    }
    const last = this.messages.lastElementChild;
    if (last instanceof HTMLElement) last.scrollIntoView({ block: 'nearest' });
  }

  private item(message: MessageView, throttledUntil: number | null): HTMLLIElement {
    const li = el('li', `message message-${message.direction}`);
    li.dataset.id = message.id;
    const delivery = deliveryOf(message, throttledUntil);
    li.dataset.delivery = delivery;
    const head = el('div', 'message-head');
    head.append(el('span', 'message-sender', message.sender || '—'), el('time', 'message-time', fmtDateTime(message.at_ms)));
    if (message.parts !== null && message.parts > 1 && message.part !== null) {
      head.append(el('span', 'message-part', t('cv.part', { part: message.part, parts: message.parts })));
    }
    const state = el('span', `delivery delivery-${delivery}`);
    state.dataset.delivery = delivery;
    state.textContent = deliveryText(message, delivery, throttledUntil);
    head.append(state);
    li.append(head, el('p', 'message-text', message.text));
    if (message.error) li.append(el('p', 'message-error', message.error));
    if (message.direction === 'out' && message.state === 'failed' && message.outbox_id !== null) {
      const button = el('button', 'button button-small', t('cv.retry'));
      button.type = 'button';
      button.dataset.retry = String(message.outbox_id);
      li.append(button);
    }
    return li;
  }
}

function deliveryOf(message: MessageView, throttledUntil: number | null): Delivery {
  if (message.direction === 'in') {
    if (message.state === 'queued') return 'waiting';
    if (message.state === 'failed') return 'failed';
    return 'answered';
  }
  if (message.state === 'sent') return 'sent';
  if (message.state === 'failed') return 'failed';
  return throttledUntil !== null ? 'throttled' : 'queued';
}

function deliveryText(message: MessageView, delivery: Delivery, throttledUntil: number | null): string {
  switch (delivery) {
    case 'throttled':
      return t('cv.delivery.throttled', { time: throttledUntil === null ? '—' : fmtTime(throttledUntil) });
    case 'sent': {
      const channel = message.channel ?? '';
      const key = channel === 'webhook' ? 'cv.delivery.sent_webhook' : channel === 'card' ? 'cv.delivery.sent_card' : 'cv.delivery.sent_openapi';
      return t(key, { time: message.sent_at_ms === null ? '' : fmtTime(message.sent_at_ms) });
    }
    case 'failed':
      return t(message.direction === 'in' ? 'cv.delivery.agent_failed' : 'cv.delivery.failed');
    default:
      return t(PLAIN_DELIVERY_KEYS[delivery]);
  }
}
