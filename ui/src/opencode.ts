// The OpenCode MCP entries the user pastes under "mcp" in opencode.json, exactly as the engine gives them
// (get_opencode_setup): `local` runs the stdio helper, `remote` talks HTTP with the token taken from
// OpenCode's `{env:DINGBRIDGE_TOKEN}` substitution, so no secret is ever shown here.

import { localize } from './i18n.js';
import type { OpenCodeSetup } from './types.js';

/** The text to paste: the entry under its name, as a JSON object member list. */
export function configText(entry: object): string {
  return JSON.stringify({ dingtalk: entry }, null, 2);
}

export function renderOpenCodeConfigs(setup: OpenCodeSetup, local: HTMLElement, remote: HTMLElement): void {
  local.textContent = configText(setup.local);
  if (setup.remote) {
    remote.removeAttribute('data-i18n');
    remote.textContent = configText(setup.remote);
  } else {
    localize(remote, 'opencode.remote_unavailable');
  }
}
