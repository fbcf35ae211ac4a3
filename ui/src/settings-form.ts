// The settings form: fills the inputs from a SettingsView and turns them back into a SettingsChange.
// Invariants: a secret is never put into an input (only "set / not set" is shown), and a secret field sends
// `{set}` only when the user typed a new value, `{remove: true}` only when they asked to remove it, and
// nothing otherwise (absent = keep). Errors are shown next to the field they name ("dingtalk.client_id").

import { byId, el } from './dom.js';
import { localize, t } from './i18n.js';
import { projectName } from './setup-agent.js';
import type { FieldError, KnownContacts, SecretAction, SettingsChange, SettingsView } from './types.js';

type Section = keyof SettingsChange;

/** Text inputs: `nullable` ones send null when empty (the engine's "not set"). */
const TEXT_FIELDS = [
  { path: 'dingtalk.client_id', nullable: true },
  { path: 'dingtalk.robot_code', nullable: true },
  { path: 'dingtalk.card_template_id', nullable: false },
  { path: 'dingtalk.api_base', nullable: false },
  { path: 'dingtalk.oapi_base', nullable: false },
  { path: 'agent.opencode_url', nullable: false },
  { path: 'agent.opencode_directory', nullable: true },
  { path: 'agent.opencode_bin', nullable: true },
  { path: 'docs.operator_user_id', nullable: true },
  { path: 'docs.operator_mobile', nullable: true },
] as const;

/** Whole numbers (the engine's integer fields); `max` only where there is a natural one. */
const NUMBER_FIELDS: readonly { path: string; min: number; max?: number }[] = [
  { path: 'mcp.port', min: 1, max: 65535 },
  { path: 'agent.idle_stop_minutes', min: 0, max: 10080 },
  { path: 'pacing.per_conversation', min: 1 },
  { path: 'pacing.app_per_second', min: 1 },
  { path: 'quota.stream_budget', min: 0 },
  { path: 'quota.api_budget', min: 0 },
  { path: 'bridge.attachment_max_mb', min: 1, max: 1024 },
  { path: 'bridge.attachment_retention_hours', min: 1, max: 87600 },
];

/** Choices from a fixed list (the languages the bridge and the MCP server speak). */
const SELECT_FIELDS = ['bridge.language', 'mcp.language'] as const;

const SECRET_FIELDS = ['dingtalk.client_secret', 'agent.opencode_password'] as const;
type SecretPath = (typeof SECRET_FIELDS)[number];

const LIST_FIELDS = ['access.allowed_staff_ids', 'access.allowed_groups'] as const;
type ListPath = (typeof LIST_FIELDS)[number];

interface SecretState {
  isSet: boolean;
  remove: boolean;
  envName: string | null;
}

const inputFor = (path: string): HTMLInputElement => byId(`f-${path.replace('.', '-')}`, HTMLInputElement);
const selectFor = (path: string): HTMLSelectElement => byId(`f-${path.replace('.', '-')}`, HTMLSelectElement);

const projectsInput = (): HTMLTextAreaElement => byId('f-agent-projects', HTMLTextAreaElement);

/** The projects field: one `name = path` per line; a bare path is named after its folder. The engine checks
 * the rest (one-word unique names, existing absolute folders) and names the line (`agent.projects[i]`). */
export function parseProjects(text: string): { name: string; path: string }[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const at = line.indexOf('=');
      if (at < 0) return { name: projectName(line), path: line };
      return { name: line.slice(0, at).trim(), path: line.slice(at + 1).trim() };
    });
}

/** Reads `section.key` out of a nested object. */
function read(source: object, path: string): unknown {
  const [section, key] = path.split('.') as [string, string];
  const group = (source as Record<string, unknown>)[section];
  return group && typeof group === 'object' ? (group as Record<string, unknown>)[key] : undefined;
}

/** Sets `section.key` in a SettingsChange under construction. */
function write(change: SettingsChange, path: string, value: unknown): void {
  const [section, key] = path.split('.') as [Section, string];
  const group = (change[section] ?? {}) as Record<string, unknown>;
  group[key] = value;
  (change as Record<string, unknown>)[section] = group;
}

export class SettingsForm {
  private readonly secrets = new Map<SecretPath, SecretState>();
  private readonly lists = new Map<ListPath, string[]>();
  private readonly names = new Map<string, string>(); // id -> name, from known contacts
  /** The settings as last shown: a save sends only what differs from them, so an untouched field (a default,
   * say) is never written into the settings file, and a later default change still reaches this user. */
  private loaded: SettingsView | null = null;

  constructor(private readonly onEdit: () => void) {
    for (const path of SECRET_FIELDS) {
      this.secrets.set(path, { isSet: false, remove: false, envName: null });
      inputFor(path).addEventListener('input', () => {
        const state = this.secrets.get(path);
        if (state) state.remove = false;
        this.renderSecret(path);
      });
      document.querySelector(`[data-secret-remove="${path}"]`)?.addEventListener('click', () => {
        const state = this.secrets.get(path);
        if (!state) return;
        state.remove = !state.remove;
        inputFor(path).value = '';
        this.renderSecret(path);
        this.onEdit();
      });
    }
    for (const path of LIST_FIELDS) {
      this.lists.set(path, []);
      const input = this.listInput(path);
      const add = () => {
        this.addToList(path, input.value);
        input.value = '';
      };
      document.querySelector(`[data-list-add="${path}"]`)?.addEventListener('click', add);
      input.addEventListener('keydown', (event) => {
        if (event.key === 'Enter') {
          event.preventDefault();
          add();
        }
      });
    }
  }

  /** Shows the saved settings; whatever the user typed into secret inputs is dropped. */
  fill(view: SettingsView): void {
    this.loaded = view;
    for (const { path } of TEXT_FIELDS) {
      const value = read(view, path);
      inputFor(path).value = typeof value === 'string' ? value : '';
    }
    for (const { path } of NUMBER_FIELDS) {
      const value = read(view, path);
      inputFor(path).value = typeof value === 'number' ? String(value) : '';
    }
    inputFor('mcp.enabled').checked = view.mcp.enabled;
    for (const path of SELECT_FIELDS) {
      const value = read(view, path);
      if (typeof value === 'string') selectFor(path).value = value;
    }
    const env = (needle: string) => view.secrets_from_env.find((name) => name.toUpperCase().includes(needle)) ?? null;
    this.secrets.set('dingtalk.client_secret', { isSet: view.dingtalk.client_secret_set, remove: false, envName: env('DINGTALK_CLIENT_SECRET') });
    this.secrets.set('agent.opencode_password', { isSet: view.agent.opencode_password_set, remove: false, envName: env('OPENCODE') });
    for (const path of SECRET_FIELDS) {
      inputFor(path).value = '';
      this.renderSecret(path);
    }
    this.lists.set('access.allowed_staff_ids', [...view.access.allowed_staff_ids]);
    this.lists.set('access.allowed_groups', [...view.access.allowed_groups]);
    for (const path of LIST_FIELDS) this.renderList(path);
    projectsInput().value = view.agent.projects.map((p) => `${p.name} = ${p.path}`).join('\n');
    this.clearErrors();
  }

  /** Offers the people and groups the bridge has seen as choices in the access lists. */
  setKnownContacts(contacts: KnownContacts): void {
    const users = byId('known-users', HTMLDataListElement);
    const groups = byId('known-groups', HTMLDataListElement);
    users.replaceChildren(...contacts.users.map((user) => this.option(user.staff_id, user.name)));
    groups.replaceChildren(...contacts.groups.map((group) => this.option(group.conversation_id, group.title)));
    for (const path of LIST_FIELDS) this.renderList(path);
  }

  private option(id: string, name: string): HTMLOptionElement {
    if (name) this.names.set(id, name);
    const option = el('option');
    option.value = id;
    option.label = name || id;
    return option;
  }

  /** Whether `value` is what the shown settings already hold at `path` (an empty text counts as unset). */
  private unchanged(path: string, value: unknown): boolean {
    if (this.loaded === null) return false;
    const norm = (v: unknown) => (v === '' || v === undefined ? null : v);
    let shown = read(this.loaded, path);
    if (path === 'agent.projects' && Array.isArray(shown)) {
      shown = (shown as { name: string; path: string }[]).map(({ name, path: folder }) => ({ name, path: folder }));
    }
    return JSON.stringify(norm(shown)) === JSON.stringify(norm(value));
  }

  /** Adds `path` to the change unless the shown settings already hold that value. */
  private put(change: SettingsChange, path: string, value: unknown): void {
    if (!this.unchanged(path, value)) write(change, path, value);
  }

  /** The form as a change: only the fields that differ from the shown settings (secrets when typed or removed).
   * Numbers that are not numbers come back as errors instead (nothing is sent). */
  change(): { change: SettingsChange; errors: FieldError[] } {
    const change: SettingsChange = {};
    const errors: FieldError[] = [];
    for (const { path, nullable } of TEXT_FIELDS) {
      const value = inputFor(path).value.trim();
      this.put(change, path, value === '' && nullable ? null : value);
    }
    for (const { path, min, max } of NUMBER_FIELDS) {
      const raw = inputFor(path).value.trim();
      const value = Number(raw);
      if (raw === '' || !Number.isSafeInteger(value) || value < min || (max !== undefined && value > max)) {
        const message = max === undefined ? t('form.whole_number_min', { min }) : t('form.whole_number_range', { min, max });
        errors.push({ field: path, code: 'NOT_A_NUMBER', message });
      } else {
        this.put(change, path, value);
      }
    }
    this.put(change, 'mcp.enabled', inputFor('mcp.enabled').checked);
    for (const path of SELECT_FIELDS) this.put(change, path, selectFor(path).value);
    for (const path of SECRET_FIELDS) {
      const action = this.secretAction(path);
      if (action) write(change, path, action);
    }
    for (const path of LIST_FIELDS) this.put(change, path, [...(this.lists.get(path) ?? [])]);
    this.put(change, 'agent.projects', parseProjects(projectsInput().value));
    return { change, errors };
  }

  /** Only the DingTalk part (the setup guide saves and tests just that). */
  dingtalkChange(): SettingsChange {
    const { change } = this.change();
    return change.dingtalk ? { dingtalk: change.dingtalk } : {};
  }

  private secretAction(path: SecretPath): SecretAction | null {
    const typed = inputFor(path).value;
    if (typed !== '') return { set: typed };
    if (this.secrets.get(path)?.remove) return { remove: true };
    return null;
  }

  // ---------- errors ----------

  clearErrors(): void {
    for (const field of document.querySelectorAll<HTMLElement>('.field')) {
      field.classList.remove('has-error');
      const error = field.querySelector<HTMLElement>('.field-error');
      if (error) {
        error.hidden = true;
        error.textContent = '';
      }
    }
  }

  /** Puts each error next to its field; returns those that name no field on this page. */
  showErrors(errors: FieldError[]): FieldError[] {
    const unplaced: FieldError[] = [];
    let first: HTMLElement | null = null;
    for (const error of errors) {
      const field =
        document.querySelector<HTMLElement>(`.field[data-field="${CSS.escape(error.field)}"]`) ??
        document.querySelector<HTMLElement>(`.field[data-field="${CSS.escape(error.field.replace(/\[\d+\]$/, ''))}"]`);
      const slot = field?.querySelector<HTMLElement>('.field-error');
      if (!field || !slot) {
        unplaced.push(error);
        continue;
      }
      field.classList.add('has-error');
      slot.hidden = false;
      slot.textContent = slot.textContent ? `${slot.textContent} ${error.message}` : error.message;
      first ??= field;
    }
    if (first) {
      // The section may be hidden in the setup guide: show it so the error can be fixed.
      first.closest<HTMLElement>('.setup-hide')?.classList.add('forced-visible');
      first.closest('details')?.setAttribute('open', '');
      first.scrollIntoView({ block: 'center', behavior: 'smooth' });
      first.querySelector<HTMLElement>('input, select')?.focus({ preventScroll: true });
    }
    return unplaced;
  }

  // ---------- secrets ----------

  private renderSecret(path: SecretPath): void {
    const state = this.secrets.get(path);
    const line = document.querySelector(`[data-secret-state="${path}"]`);
    const remove = document.querySelector<HTMLButtonElement>(`[data-secret-remove="${path}"]`);
    const input = inputFor(path);
    if (!state || !line || !remove) return;
    remove.hidden = !state.isSet;
    localize(remove, state.remove ? 'secret.keep' : 'secret.remove');
    input.setAttribute('data-i18n-placeholder', state.isSet ? 'secret.placeholder_replace' : 'secret.placeholder_new');
    input.placeholder = t(state.isSet ? 'secret.placeholder_replace' : 'secret.placeholder_new');
    line.classList.toggle('warn', state.remove);
    if (state.envName) localize(line, 'secret.from_env', { name: state.envName });
    else if (state.remove) localize(line, 'secret.will_remove');
    else if (input.value !== '') localize(line, state.isSet ? 'secret.will_replace' : 'secret.will_set');
    else localize(line, state.isSet ? 'secret.is_set' : 'secret.not_set');
  }

  // ---------- lists (allow-list) ----------

  private listInput(path: ListPath): HTMLInputElement {
    return byId(path === 'access.allowed_staff_ids' ? 'f-access-users' : 'f-access-groups', HTMLInputElement);
  }

  private addToList(path: ListPath, typed: string): void {
    const value = typed.trim();
    const list = this.lists.get(path);
    if (!value || !list) return;
    // A name picked or typed from the known contacts stands for its id.
    const byName = [...this.names.entries()].find(([, name]) => name === value)?.[0];
    const id = byName ?? value;
    if (!list.includes(id)) list.push(id);
    this.renderList(path);
    this.onEdit();
  }

  private renderList(path: ListPath): void {
    const list = this.lists.get(path) ?? [];
    const target = document.querySelector(`[data-list="${path}"]`);
    if (!target) return;
    target.replaceChildren(
      ...list.map((id) => {
        const chip = el('li', 'chip-item');
        chip.dataset.value = id;
        const name = this.names.get(id);
        chip.append(el('span', 'chip-name', name ?? id));
        if (name) chip.append(el('span', 'chip-id mono', id));
        const remove = el('button', 'chip-remove', '×');
        remove.type = 'button';
        remove.setAttribute('data-i18n-aria-label', 'access.remove');
        remove.setAttribute('aria-label', t('access.remove'));
        remove.addEventListener('click', () => {
          this.lists.set(path, (this.lists.get(path) ?? []).filter((item) => item !== id));
          this.renderList(path);
          this.onEdit();
        });
        chip.append(remove);
        return chip;
      }),
    );
    if (list.length === 0) {
      const empty = el('li', 'chip-empty');
      localize(empty, path === 'access.allowed_staff_ids' ? 'access.users_empty' : 'access.groups_empty');
      target.append(empty);
    }
  }
}
