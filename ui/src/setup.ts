// When the setup guide is offered: the engine runs without DingTalk (unconfigured), or the demo runs because
// no real credentials are saved yet. Saving complete credentials leaves both (the engine reconnects for real).

import type { SettingsView } from './types.js';

export function needsSetup(view: SettingsView): boolean {
  if (view.mode === 'unconfigured') return true;
  return view.mode === 'demo' && !(view.dingtalk.client_id && view.dingtalk.client_secret_set);
}
