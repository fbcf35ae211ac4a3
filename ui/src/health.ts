// The health panel and the small charts: the agent (reachable, version, sessions), MCP (where it listens,
// connected clients, tool calls in the last minute, recent errors by code), the
// OpenAPI token (ok / degraded, next refresh) and the last hour by minute — messages, ACK latency, agent turn
// time, MCP tool calls — as inline SVG sparklines (no library). Read from GET /api/health (`get_health`) every few seconds;
// the quota's month projection is computed from the status snapshot.

import { api } from './client.js';
import type { HealthView, McpErrorView, MinutePoint } from './conversation-types.js';
import { byId } from './dom.js';
import { fmtClock, fmtDuration, fmtMicros, fmtMillis, fmtNumber, localize, t } from './i18n.js';
import type { AuthStatus } from './types.js';

const POLL_MS = 15_000;
const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 240;
const HEIGHT = 48;

let latest: HealthView | null = null;

interface Chart {
  id: string;
  value: (point: MinutePoint) => number;
  format: (value: number) => string;
}

const CHARTS: readonly Chart[] = [
  { id: 'chart-messages', value: (p) => p.messages, format: (v) => fmtNumber(v) },
  { id: 'chart-ack', value: (p) => p.ack_avg_us, format: (v) => fmtMicros(v) },
  { id: 'chart-turns', value: (p) => p.turn_avg_ms, format: (v) => fmtMillis(v) },
  { id: 'chart-mcp', value: (p) => p.mcp_calls, format: (v) => fmtNumber(v) },
];

export function startHealth(): void {
  const poll = () => {
    api
      .getHealth()
      .then((view) => {
        latest = view;
        render(view);
      })
      .catch(() => {
        // An engine without the health call (or restarting): the card keeps what it showed.
      });
  };
  poll();
  setInterval(poll, POLL_MS);
}

export function rerenderHealth(): void {
  if (latest) render(latest);
}

function render(view: HealthView): void {
  const agent = view.agent;
  const line = byId('health-agent');
  line.dataset.state = agent.reachable ? 'up' : 'down';
  if (agent.reachable) localize(line, agent.version ? 'health.agent_up_version' : 'health.agent_up', { backend: agent.backend, version: agent.version ?? '' });
  else localize(line, 'health.agent_down', { backend: agent.backend, error: agent.error ?? '—' });
  byId('health-sessions').textContent = fmtNumber(agent.sessions);
  const mcp = byId('health-mcp');
  if (view.mcp_url) mcp.textContent = view.mcp_url;
  else localize(mcp, 'health.mcp_off');
  byId('health-mcp-clients').textContent = fmtNumber(view.mcp.clients);
  byId('health-mcp-calls').textContent = fmtNumber(view.mcp.calls_last_minute);
  renderMcpErrors(view.mcp.recent_errors);
  for (const chart of CHARTS) drawChart(chart, view.timeline);
}

/** Newest first; tool names and codes are rendered as text. */
function renderMcpErrors(errors: readonly McpErrorView[]): void {
  const host = byId('health-mcp-errors');
  if (errors.length === 0) {
    localize(host, 'health.mcp_no_errors');
    return;
  }
  const list = document.createElement('ul');
  list.className = 'mcp-errors';
  for (const error of errors) {
    const item = document.createElement('li');
    item.textContent = t('health.mcp_error_line', { time: fmtClock(error.at_ms), tool: error.tool, code: error.code });
    list.append(item);
  }
  host.removeAttribute('data-i18n');
  host.removeAttribute('data-i18n-args');
  host.replaceChildren(list);
}

/** The OpenAPI token line (from the status snapshot). */
export function renderToken(auth: AuthStatus): void {
  const line = byId('health-token');
  line.dataset.state = auth.state;
  if (auth.state === 'degraded') localize(line, 'health.token_degraded', { failures: auth.consecutive_failures });
  else if (typeof auth.token_expires_in_ms === 'number') localize(line, 'health.token_ok_refresh', { time: fmtDuration(auth.token_expires_in_ms) });
  else localize(line, 'health.token_ok');
}

/** Where the month ends if usage keeps the pace it had so far (UTC calendar month, like the quota). */
export function monthProjection(used: number, month: string, now = Date.now()): number | null {
  const match = /^(\d{4})-(\d{2})$/.exec(month);
  if (!match) return null;
  const start = Date.UTC(Number(match[1]), Number(match[2]) - 1, 1);
  const end = Date.UTC(Number(match[1]), Number(match[2]), 1);
  const elapsed = (now - start) / (end - start);
  if (!(elapsed > 0) || elapsed > 1) return null;
  return Math.round(used / elapsed);
}

function drawChart(chart: Chart, points: readonly MinutePoint[]): void {
  const host = byId(chart.id);
  const values = points.map(chart.value);
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? WIDTH / (values.length - 1) : WIDTH;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`);
  svg.setAttribute('width', String(WIDTH));
  svg.setAttribute('height', String(HEIGHT));
  svg.setAttribute('class', 'sparkline');
  svg.setAttribute('role', 'img');
  const coords = values.map((v, i) => `${(i * step).toFixed(1)},${(HEIGHT - 2 - (v / max) * (HEIGHT - 4)).toFixed(1)}`);
  const area = document.createElementNS(SVG, 'polygon');
  area.setAttribute('points', `0,${HEIGHT} ${coords.join(' ')} ${WIDTH},${HEIGHT}`);
  area.setAttribute('class', 'sparkline-area');
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', coords.join(' '));
  line.setAttribute('class', 'sparkline-line');
  svg.append(area, line);
  const last = values.at(-1) ?? 0;
  const label = t('chart.summary', { now: chart.format(last), max: chart.format(max === 1 && values.every((v) => v === 0) ? 0 : max) });
  svg.setAttribute('aria-label', label);
  host.replaceChildren(svg);
  const caption = host.nextElementSibling;
  if (caption instanceof HTMLElement) caption.textContent = label;
}
