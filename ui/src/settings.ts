// The settings window (settings.html), which is also the first-run setup guide: while the engine reports
// `mode: "unconfigured"` the page shows what to create in the DingTalk developer console, the DingTalk
// credentials, where OpenCode runs (setup-agent.ts), "Test connection", "Save & connect" and "Try the demo"; every other section waits behind
// "Show all settings". Saving applies at once (the engine reconnects); nothing here restarts anything.

import { ApiError, api, supports, toApiError, transport } from './client.js';
import { byId } from './dom.js';
import { followSetting, initLanguage, localize, rememberChoice, setLanguage, systemLanguage } from './i18n.js';
import { SettingsForm } from './settings-form.js';
import { needsSetup } from './setup.js';
import { fillSetupAgent, setupAgentChange, wireSetupAgent } from './setup-agent.js';
import { loadOpenCodeSetup, wireMcp } from './settings-mcp.js';
import { hideReport, showReport, showTesting } from './test-report.js';
import type { Language, SettingsChange, SettingsView } from './types.js';

/** Codes whose engine message is not the most useful thing to show: the catalogue says it better. */
const ERROR_KEYS: Record<string, string> = {
  UNAUTHORIZED: 'error.unauthorized',
  NETWORK: 'error.network',
  FORBIDDEN: 'error.forbidden',
  STARTING: 'error.starting',
};

let view: SettingsView | null = null;
let setupMode = false;
let leftSetup = false; // the user chose "Show all settings"
const form = new SettingsForm(() => {
  byId('saved-banner').hidden = true;
});

function showError(error: unknown): void {
  const problem = toApiError(error);
  const line = byId('form-error');
  line.hidden = false;
  const key = ERROR_KEYS[problem.code];
  if (key) localize(line, key, { message: problem.message });
  else {
    line.removeAttribute('data-i18n');
    line.textContent = problem.message;
  }
  if (problem.code === 'KEYCHAIN_UNAVAILABLE') showKeychainProblem(problem.message);
}

function clearError(): void {
  const line = byId('form-error');
  line.hidden = true;
  line.textContent = '';
}

function showKeychainProblem(message: string | null): void {
  byId('keychain-banner').hidden = false;
  byId('keychain-message').textContent = message ?? '';
}

// ---------- rendering ----------

function render(next: SettingsView): void {
  view = next;
  byId('config-path').textContent = next.config_path;
  byId('keychain-banner').hidden = next.keychain.available;
  if (!next.keychain.available) showKeychainProblem(next.keychain.message);
  const env = byId('env-banner');
  env.hidden = next.secrets_from_env.length === 0;
  if (next.secrets_from_env.length > 0) {
    const names = new Intl.ListFormat(document.documentElement.lang, { type: 'conjunction' }).format(next.secrets_from_env);
    localize(env, 'settings.env_secrets', { names });
  }
  const demo = next.mode === 'demo';
  byId('demo-banner').hidden = !demo;
  byId('demo-chip').hidden = !demo;
  byId('mcp-url').textContent = next.mcp.url ?? '—';
  setSetupMode(needsSetup(next) && !leftSetup);
  // Already in the demo: no need to offer it.
  byId('setup-demo').hidden = demo;
  byId('f-ui-language', HTMLSelectElement).value = next.ui.language ?? 'auto';
  form.fill(next);
  fillSetupAgent(next);
}

function setSetupMode(on: boolean): void {
  setupMode = on;
  document.body.classList.toggle('setup-mode', on);
  byId('setup').hidden = !on;
  byId('show-all').hidden = !on;
  // Until DingTalk is set up the dashboard only leads back here.
  byId('back-dashboard').hidden = on || transport !== 'http';
  localize(byId('save'), on ? 'setup.save_connect' : 'actions.save');
  localize(byId('settings-heading-text'), on ? 'setup.title' : 'settings.heading');
}

// ---------- actions ----------

/** What to send: the DingTalk part in the setup guide, everything otherwise. */
function currentChange(): { change: SettingsChange; ok: boolean } {
  const { change, errors } = form.change();
  form.clearErrors();
  if (setupMode) {
    const setup = form.dingtalkChange();
    const agent = setupAgentChange();
    if (agent) setup.agent = agent;
    return { change: setup, ok: true };
  }
  if (errors.length > 0) {
    form.showErrors(errors);
    return { change, ok: false };
  }
  return { change, ok: true };
}

async function save(): Promise<void> {
  clearError();
  const { change, ok } = currentChange();
  if (!ok) return;
  const button = byId('save', HTMLButtonElement);
  const wasSetup = setupMode;
  button.disabled = true;
  try {
    const saved = await api.saveSettings(change);
    render(saved);
    const banner = byId('saved-banner');
    banner.hidden = false;
    if (wasSetup && saved.mode === 'real') {
      leftSetup = true;
      localize(banner, 'setup.done');
      // In a browser the dashboard is the next page; the app has its own dashboard window.
      if (transport === 'http') location.assign('index.html');
    } else {
      localize(banner, 'settings.saved');
    }
    void loadOpenCodeSetup();
  } catch (error) {
    const problem = toApiError(error);
    const unplaced = problem.code === 'INVALID_SETTINGS' ? form.showErrors(problem.fields) : [];
    if (problem.code !== 'INVALID_SETTINGS' || unplaced.length > 0 || problem.fields.length === 0) {
      showError(unplaced.length > 0 ? new ApiError(problem.code, unplaced.map((e) => `${e.field}: ${e.message}`).join(' ')) : problem);
    }
  } finally {
    button.disabled = false;
  }
}

async function testConnection(): Promise<void> {
  clearError();
  const { change, ok } = currentChange();
  if (!ok) return;
  const button = byId('test-connection', HTMLButtonElement);
  button.disabled = true;
  showTesting();
  try {
    showReport(await api.testConnection(change));
  } catch (error) {
    hideReport();
    const problem = toApiError(error);
    if (problem.code === 'INVALID_SETTINGS') form.showErrors(problem.fields);
    else showError(problem);
  } finally {
    button.disabled = false;
  }
}

async function tryDemo(): Promise<void> {
  if (!supports('startDemo')) {
    // The daemon switches to the demo only from its command line.
    byId('demo-command').hidden = false;
    return;
  }
  clearError();
  try {
    await api.startDemo();
    leftSetup = true;
    render(await api.getSettings());
  } catch (error) {
    showError(error);
  }
}

async function changeLanguage(select: HTMLSelectElement): Promise<void> {
  const choice: Language | null = select.value === 'en' || select.value === 'zh-CN' ? select.value : null;
  rememberChoice(choice);
  await setLanguage(choice ?? systemLanguage());
  try {
    // Saved at once (and only this field): the tray and notifications follow it too.
    await api.saveSettings({ ui: { language: choice } });
    select.dataset.saved = select.value;
  } catch (error) {
    const problem = toApiError(error);
    if (problem.code === 'INVALID_SETTINGS') form.showErrors(problem.fields);
    else showError(problem);
  }
}

async function wireAutostart(): Promise<void> {
  if (!supports('getAutostart')) return;
  const box = byId('f-autostart', HTMLInputElement);
  try {
    box.checked = (await api.getAutostart()).enabled;
    byId('autostart-field').hidden = false;
  } catch {
    return; // not offered on this system
  }
  box.addEventListener('change', () => {
    api
      .setAutostart(box.checked)
      .then(({ enabled }) => {
        box.checked = enabled;
      })
      .catch((error: unknown) => {
        box.checked = !box.checked;
        showError(error);
      });
  });
}

// ---------- start ----------

async function start(): Promise<void> {
  await initLanguage();
  document.body.dataset.transport = transport;
  // The app's settings window stands alone; in a browser the dashboard is one click away.
  byId('back-dashboard').hidden = transport !== 'http';
  byId('settings-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void save();
  });
  byId('test-connection').addEventListener('click', () => void testConnection());
  byId('try-demo').addEventListener('click', () => void tryDemo());
  byId('show-all').addEventListener('click', () => {
    leftSetup = true;
    setSetupMode(false);
  });
  const language = byId('f-ui-language', HTMLSelectElement);
  language.addEventListener('change', () => void changeLanguage(language));
  wireMcp();
  wireSetupAgent();

  try {
    const loaded = await api.getSettings();
    await followSetting(loaded.ui.language);
    render(loaded);
  } catch (error) {
    const banner = byId('load-error');
    banner.hidden = false;
    const problem = toApiError(error);
    const key = ERROR_KEYS[problem.code];
    if (key) localize(banner, key, { message: problem.message });
    else banner.textContent = problem.message;
  }
  api
    .knownContacts()
    .then((contacts) => form.setKnownContacts(contacts))
    .catch(() => {});
  await Promise.all([loadOpenCodeSetup(), wireAutostart()]);
  document.body.dataset.ready = view ? 'true' : 'error';
}

void start();
