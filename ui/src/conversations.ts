// The dashboard's conversation list: every conversation the store knows, paged from the server
// (GET /api/conversations or the `list_conversations` command), searched and filtered there, and
// virtualized here: only the rows in (and just around) the viewport exist in the page, so 10,000
// conversations cost as much as 20. Live rows (`conversations_updated`) replace the rows they name in place;
// without a search or filter, a conversation with new activity moves to the top. Titles, nicknames and
// previews are strangers' text: textContent only.

import { api, toApiError } from './client.js';
import type { ConversationFilter, ConversationRow, ConversationsUpdated } from './conversation-types.js';
import { byId, el } from './dom.js';
import { shortId } from './feed.js';
import { fmtNumber, fmtWhen, localize, t, tn } from './i18n.js';

export const ROW_HEIGHT = 64; // px, the same as `.conversation` in style.css
const PAGE = 50;
const OVERSCAN = 6;
const SEARCH_DELAY_MS = 250;
// In a searched or filtered list a live change may move rows in or out of it: re-read what is shown, at most
// this often.
const FILTERED_REFRESH_MS = 3000;

/** The filter chips, in order, with their labels. */
const FILTER_KEYS: Record<ConversationFilter, string> = {
  all: 'conv.filter.all',
  waiting_agent: 'conv.filter.waiting_agent',
  waiting_send: 'conv.filter.waiting_send',
  rate_limited: 'conv.filter.rate_limited',
  failed: 'conv.filter.failed',
  group: 'conv.filter.group',
  single: 'conv.filter.single',
};
export const FILTERS = Object.keys(FILTER_KEYS) as ConversationFilter[];

export class ConversationList {
  private rows: (ConversationRow | undefined)[] = [];
  private total = 0;
  private loaded = false;
  private painted = false;
  private search = '';
  private filter: ConversationFilter = 'all';
  /** Bumped when the query changes: answers to an older query are dropped. */
  private generation = 0;
  private readonly inFlight = new Set<number>();
  private selected: string | null = null;
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private searchTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly viewport = byId('conv-viewport');
  private readonly spacer = byId('conv-spacer');
  private readonly list = byId('conversations');
  private readonly empty = byId('conversations-empty');
  private readonly count = byId('conv-count');
  private readonly input = byId('conv-search', HTMLInputElement);
  private readonly chips = byId('conv-filters');
  private readonly error = byId('conv-error');

  constructor(
    private readonly onOpen: (conversationId: string) => void,
    private readonly onTitles: (rows: readonly ConversationRow[]) => void,
  ) {
    this.viewport.addEventListener('scroll', () => this.render(), { passive: true });
    window.addEventListener('resize', () => this.render());
    this.input.addEventListener('input', () => {
      if (this.searchTimer) clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.setQuery(this.input.value.trim(), this.filter), SEARCH_DELAY_MS);
    });
    this.input.addEventListener('keydown', (event) => {
      if (event.key !== 'Enter') return;
      if (this.searchTimer) clearTimeout(this.searchTimer);
      this.setQuery(this.input.value.trim(), this.filter);
    });
    this.renderChips();
    this.list.addEventListener('click', (event) => this.openFrom(event.target));
    this.list.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        this.openFrom(event.target);
      }
    });
  }

  /** Loads the first page of the current query. */
  start(): void {
    this.setQuery(this.search, this.filter);
  }

  /** Re-renders in the current language (labels, numbers, dates). */
  rerender(): void {
    this.renderChips();
    this.render();
  }

  select(conversationId: string | null): void {
    this.selected = conversationId;
    this.render();
  }

  /** A live update: the rows that changed and the number of conversations. */
  apply(update: ConversationsUpdated): void {
    if (!this.loaded) return;
    this.onTitles(update.rows);
    const unfiltered = this.search === '' && this.filter === 'all';
    for (const row of update.rows) {
      const index = this.rows.findIndex((known) => known?.conversation_id === row.conversation_id);
      const top = this.rows[0];
      if (index >= 0) {
        const known = this.rows[index];
        if (unfiltered && index > 0 && known && row.last_message_at_ms > known.last_message_at_ms) {
          this.rows.splice(index, 1);
          this.rows.unshift(row);
        } else {
          this.rows[index] = row;
        }
      } else if (unfiltered && (!top || row.last_message_at_ms >= top.last_message_at_ms)) {
        // New activity in a conversation not loaded here (or a new one): it is the newest now.
        this.rows.unshift(row);
        if (this.rows.length > update.total) this.rows.length = update.total;
      }
    }
    if (unfiltered) this.total = update.total;
    else this.refreshSoon();
    this.render();
  }

  private setQuery(search: string, filter: ConversationFilter): void {
    this.search = search;
    this.filter = filter;
    this.generation += 1;
    this.rows = [];
    this.inFlight.clear();
    this.viewport.scrollTop = 0;
    this.renderChips();
    void this.load(0, true);
  }

  /** Reloads the visible pages soon (debounced): for transports without live rows (the desktop app's IPC). */
  refreshSoon(): void {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      const first = Math.floor(this.viewport.scrollTop / ROW_HEIGHT);
      for (const page of this.visiblePages(first)) void this.load(page, true);
    }, FILTERED_REFRESH_MS);
  }

  private visiblePages(first: number): number[] {
    const shown = Math.ceil(this.viewport.clientHeight / ROW_HEIGHT) + OVERSCAN;
    const from = Math.floor(Math.max(0, first - OVERSCAN) / PAGE);
    const to = Math.floor((first + shown) / PAGE);
    const pages = [];
    for (let page = from; page <= to; page++) pages.push(page);
    return pages;
  }

  private async load(page: number, replace = false): Promise<void> {
    if (this.inFlight.has(page)) return;
    this.inFlight.add(page);
    const generation = this.generation;
    try {
      const answer = await api.listConversations({ q: this.search, filter: this.filter, offset: page * PAGE, limit: PAGE });
      if (generation !== this.generation) return;
      this.error.hidden = true;
      this.total = answer.total;
      this.loaded = true;
      if (replace && page === 0 && this.rows.length > answer.total) this.rows.length = answer.total;
      answer.items.forEach((row, i) => {
        this.rows[answer.offset + i] = row;
      });
      this.onTitles(answer.items);
      this.render();
    } catch (error) {
      if (generation !== this.generation) return;
      this.error.hidden = false;
      localize(this.error, 'conv.load_failed', { error: toApiError(error).message });
    } finally {
      if (generation === this.generation) this.inFlight.delete(page);
    }
  }

  private render(): void {
    const total = this.total;
    this.count.textContent = this.loaded ? `(${fmtNumber(total)})` : '';
    this.count.dataset.total = String(total);
    this.empty.hidden = !this.loaded || total > 0;
    if (this.loaded && total === 0) localize(this.empty, this.search || this.filter !== 'all' ? 'conv.no_match' : 'conv.empty');
    this.spacer.style.height = `${total * ROW_HEIGHT}px`;
    const first = Math.floor(this.viewport.scrollTop / ROW_HEIGHT);
    const shown = Math.ceil(this.viewport.clientHeight / ROW_HEIGHT) + OVERSCAN;
    const start = Math.max(0, first - OVERSCAN);
    const end = Math.min(total, first + shown);
    const items: HTMLLIElement[] = [];
    const missing = new Set<number>();
    for (let index = start; index < end; index++) {
      const row = this.rows[index];
      if (row) items.push(this.item(row, index));
      else {
        items.push(this.placeholder(index));
        missing.add(Math.floor(index / PAGE));
      }
    }
    this.list.style.transform = `translateY(${start * ROW_HEIGHT}px)`;
    this.list.replaceChildren(...items);
    if (!this.painted && items.length > missing.size) {
      // The benchmark's "first paint of the list" (bench/suite/dashboard.mjs): the frame after the rows.
      this.painted = true;
      requestAnimationFrame(() => performance.mark('conversations-painted'));
    }
    for (const page of missing) void this.load(page);
  }

  private renderChips(): void {
    this.chips.replaceChildren(
      ...FILTERS.map((filter) => {
        const chip = el('button', 'filter-chip', t(FILTER_KEYS[filter]));
        chip.type = 'button';
        chip.dataset.filter = filter;
        chip.setAttribute('aria-pressed', String(filter === this.filter));
        chip.addEventListener('click', () => this.setQuery(this.search, filter));
        return chip;
      }),
    );
  }

  private openFrom(target: EventTarget | null): void {
    const item = target instanceof Element ? target.closest<HTMLElement>('li.conversation') : null;
    const id = item?.dataset.conversationId;
    if (id) this.onOpen(id);
  }

  private placeholder(index: number): HTMLLIElement {
    const li = el('li', 'conversation conversation-loading');
    li.dataset.index = String(index);
    li.append(el('span', 'conv-preview', t('conv.loading')));
    return li;
  }

  private item(c: ConversationRow, index: number): HTMLLIElement {
    const li = el('li', 'conversation');
    li.dataset.conversationId = c.conversation_id;
    li.dataset.index = String(index);
    li.tabIndex = 0;
    li.setAttribute('role', 'button');
    if (c.conversation_id === this.selected) li.classList.add('selected');
    const kind = c.kind === 'group' ? 'group' : 'single';
    const avatar = el('span', `avatar avatar-${kind}`, initial(c.title));
    avatar.setAttribute('aria-hidden', 'true');
    const body = el('div', 'conv-body');
    const top = el('div', 'conv-top');
    const badge = el('span', `kind kind-${kind}`, t(kind === 'group' ? 'conv.kind_group' : 'conv.kind_single'));
    badge.dataset.kind = kind;
    top.append(el('span', 'conv-title', c.title || shortId(c.conversation_id)), badge);
    for (const flag of flags(c)) {
      const chip = el('span', `flag flag-${flag.tone}`, flag.text);
      chip.dataset.flag = flag.name;
      top.append(chip);
    }
    top.append(el('time', 'conv-time', fmtWhen(c.last_message_at_ms)));
    const bottom = el('div', 'conv-bottom');
    bottom.append(el('span', 'conv-preview', c.last_preview || '—'), el('span', 'conv-count', tn('conv.messages', c.messages)));
    body.append(top, bottom);
    li.append(avatar, body);
    li.title = c.conversation_id;
    return li;
  }
}

function flags(c: ConversationRow): { name: string; tone: string; text: string }[] {
  const out = [];
  if (c.failed > 0) out.push({ name: 'failed', tone: 'bad', text: tn('conv.flag.failed', c.failed) });
  if (c.rate_limited) out.push({ name: 'rate_limited', tone: 'warn', text: t('conv.flag.rate_limited') });
  if (c.waiting_send > 0) out.push({ name: 'waiting_send', tone: 'info', text: tn('conv.flag.waiting_send', c.waiting_send) });
  if (c.waiting_agent > 0) out.push({ name: 'waiting_agent', tone: 'info', text: tn('conv.flag.waiting_agent', c.waiting_agent) });
  return out;
}

function initial(title: string): string {
  const first = Array.from(title.trim())[0];
  return first ? first.toUpperCase() : '#';
}
