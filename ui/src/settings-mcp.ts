// The MCP part of the settings: the bearer token (shown once on request, copied, rotated) and the one-click
// OpenCode setup (the exact entries, "Add to OpenCode", the state of the entry in the user's global config and
// the backup written before changing it). The token is put in the page only after the user asked for it and
// is dropped again when they rotate or hide it.

import { api, toApiError } from './client.js';
import { byId, copyText, selectText } from './dom.js';
import { localize, t } from './i18n.js';
import { configText, renderOpenCodeConfigs } from './opencode.js';
import type { OpenCodeSetup } from './types.js';

const ENTRY_KEYS: Record<OpenCodeSetup['entry'], string> = {
  missing: 'opencode.entry_missing',
  current: 'opencode.entry_current',
  stale: 'opencode.entry_stale',
};

let setup: OpenCodeSetup | null = null;

function note(key: string, params?: Record<string, string>): void {
  const line = byId('token-note');
  line.hidden = false;
  line.classList.remove('error');
  localize(line, key, params);
}

function failure(line: HTMLElement, error: unknown): void {
  line.hidden = false;
  line.classList.add('error');
  line.removeAttribute('data-i18n');
  line.textContent = toApiError(error).message;
}

function showToken(token: string): void {
  const field = byId('mcp-token', HTMLInputElement);
  field.value = token;
  field.hidden = false;
  byId('token-copy').hidden = false;
  localize(byId('token-reveal'), 'mcp.hide');
  field.select();
}

function hideToken(): void {
  const field = byId('mcp-token', HTMLInputElement);
  field.value = '';
  field.hidden = true;
  byId('token-copy').hidden = true;
  localize(byId('token-reveal'), 'mcp.reveal');
}

async function copyFrom(element: HTMLElement, text: string): Promise<void> {
  if (await copyText(text)) {
    note('mcp.copied');
    return;
  }
  if (element instanceof HTMLInputElement) element.select();
  else selectText(element);
  note('mcp.copy_manually');
}

export function renderOpenCodeSetup(next: OpenCodeSetup): void {
  setup = next;
  renderOpenCodeConfigs(next, byId('opencode-local'), byId('opencode-remote'));
  const pill = byId('opencode-entry');
  pill.dataset.entry = next.entry;
  localize(pill, ENTRY_KEYS[next.entry]);
  localize(byId('add-opencode'), next.entry === 'missing' ? 'opencode.add' : next.entry === 'stale' ? 'opencode.update' : 'opencode.add_again');
  byId('opencode-config-path').textContent = next.global_config_path;
  const helper = byId('opencode-helper-path');
  if (next.helper_path) {
    helper.removeAttribute('data-i18n');
    helper.textContent = next.helper_path;
  } else {
    localize(helper, 'opencode.helper_missing');
  }
  byId('opencode-backup-row').hidden = !next.backup_path;
  byId('opencode-backup-path').textContent = next.backup_path ?? '';
}

export async function loadOpenCodeSetup(): Promise<void> {
  try {
    renderOpenCodeSetup(await api.getOpenCodeSetup());
    byId('opencode-error').hidden = true;
  } catch (error) {
    failure(byId('opencode-error'), error);
  }
}

export function wireMcp(): void {
  byId('token-reveal').addEventListener('click', () => {
    if (!byId('mcp-token').hidden) {
      hideToken();
      return;
    }
    api
      .revealMcpToken()
      .then(({ token }) => {
        showToken(token);
        note('mcp.revealed');
      })
      .catch((error: unknown) => failure(byId('token-note'), error));
  });
  byId('token-copy').addEventListener('click', () => {
    const field = byId('mcp-token', HTMLInputElement);
    void copyFrom(field, field.value);
  });
  byId('token-rotate').addEventListener('click', () => {
    if (!window.confirm(t('mcp.rotate_confirm'))) return;
    api
      .rotateMcpToken()
      .then(({ token }) => {
        showToken(token);
        note('mcp.rotated');
      })
      .catch((error: unknown) => failure(byId('token-note'), error));
  });
  for (const button of document.querySelectorAll<HTMLButtonElement>('[data-copy]')) {
    button.addEventListener('click', () => {
      const target = byId(button.dataset.copy ?? '');
      const entry = button.dataset.copy === 'opencode-local' ? setup?.local : setup?.remote;
      void copyFrom(target, entry ? configText(entry) : (target.textContent ?? ''));
    });
  }
  byId('add-opencode').addEventListener('click', () => {
    const button = byId('add-opencode', HTMLButtonElement);
    button.disabled = true;
    api
      .addToOpenCode()
      .then((next) => {
        renderOpenCodeSetup(next);
        byId('opencode-error').hidden = true;
      })
      .catch((error: unknown) => failure(byId('opencode-error'), error))
      .finally(() => {
        button.disabled = false;
      });
  });
}
