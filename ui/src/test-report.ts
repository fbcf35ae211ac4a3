// "Test connection": one line per step (token, gateway, WebSocket, OpenCode) with ok / failed / skipped,
// what was done, DingTalk's own error code when it failed and what to do about it. The engine's detail and
// hint are shown as text; for the DingTalk codes a user meets most, the hint comes from the catalogue so it
// reads in the user's language.

import { byId, el } from './dom.js';
import { fmtMillis, localize } from './i18n.js';
import type { ConnectionReport, ConnectionStep } from './types.js';

const STEP_KEYS: Record<ConnectionStep['step'], string> = {
  token: 'test.step_token',
  gateway: 'test.step_gateway',
  websocket: 'test.step_websocket',
  opencode: 'test.step_opencode',
};

/** DingTalk error codes with a hint of our own (docs: dingtalk-protocol.md §4.3, §5). */
const HINT_KEYS: Record<string, string> = {
  invalidClientIdOrSecret: 'hint.invalid_credentials',
  '40096': 'hint.invalid_credentials',
  'Forbidden.AccessDenied.IpNotInWhiteList': 'hint.ip_whitelist',
  'Forbidden.AccessDenied.AccessTokenPermissionDenied': 'hint.permission_denied',
};

export function showTesting(): void {
  byId('test-report').hidden = false;
  const summary = byId('test-summary');
  summary.dataset.result = 'running';
  localize(summary, 'test.running');
  byId('test-steps').replaceChildren();
}

export function showReport(report: ConnectionReport): void {
  byId('test-report').hidden = false;
  const summary = byId('test-summary');
  summary.dataset.result = report.ok ? 'ok' : 'failed';
  localize(summary, report.ok ? 'test.all_ok' : 'test.some_failed');
  byId('test-steps').replaceChildren(...report.steps.map(stepItem));
  byId('test-report').scrollIntoView({ block: 'nearest', behavior: 'smooth' });
}

export function hideReport(): void {
  byId('test-report').hidden = true;
}

function stepItem(step: ConnectionStep): HTMLLIElement {
  const result = step.skipped ? 'skipped' : step.ok ? 'ok' : 'failed';
  const li = el('li', 'test-step');
  li.dataset.step = step.step;
  li.dataset.result = result;

  const head = el('div', 'test-step-head');
  const icon = el('span', 'test-icon', result === 'ok' ? '✓' : result === 'failed' ? '✗' : '–');
  icon.setAttribute('aria-hidden', 'true');
  const name = el('span', 'test-name');
  localize(name, STEP_KEYS[step.step] ?? step.step);
  const outcome = el('span', 'test-outcome');
  localize(outcome, result === 'ok' ? 'test.ok' : result === 'failed' ? 'test.failed' : 'test.skipped');
  head.append(icon, name, outcome);
  if (!step.skipped) head.append(el('span', 'test-elapsed', fmtMillis(step.elapsed_ms)));
  li.append(head);

  if (step.detail) li.append(el('p', 'test-detail', step.detail));
  if (step.error_code) {
    const line = el('p', 'test-code');
    const label = el('span');
    localize(label, 'test.error_code');
    line.append(label, ' ', el('code', null, step.error_code));
    li.append(line);
  }
  const hintKey = step.error_code ? HINT_KEYS[step.error_code] : undefined;
  if (hintKey) {
    const hint = el('p', 'test-hint');
    localize(hint, hintKey);
    li.append(hint);
  } else if (step.hint) {
    li.append(el('p', 'test-hint', step.hint));
  }
  return li;
}
