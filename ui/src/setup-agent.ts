// The setup guide's OpenCode step. "Use OpenCode on this computer" (the default) is managed mode: the OpenCode
// URL is saved empty and the chosen folder becomes the first project, so DingBridge starts OpenCode there
// itself. "I run OpenCode myself" leaves the agent settings as they are (the address is set under "Show all
// settings"). Invariant: outside the setup guide this step sends nothing.

import { api, supports, toApiError } from './client.js';
import { byId } from './dom.js';
import { t } from './i18n.js';
import type { SettingsChange, SettingsView } from './types.js';

type Project = { name: string; path: string };

const managedChoice = () => byId('f-setup-agent-managed', HTMLInputElement);
const externalChoice = () => byId('f-setup-agent-external', HTMLInputElement);
const folderInput = () => byId('f-setup-project', HTMLInputElement);

let savedProjects: Project[] = [];

/** A project name from its folder: the folder's own name as one word ("my app" → "my-app"). */
export function projectName(path: string): string {
  const last = path.trim().replace(/[\\/]+$/, '').split(/[\\/]/).pop() ?? '';
  return last.trim().replace(/\s+/g, '-') || 'project';
}

function sync(): void {
  const managed = managedChoice().checked;
  folderInput().disabled = !managed;
  byId('setup-project-choose', HTMLButtonElement).disabled = !managed;
  byId('setup-project-field').hidden = !managed;
}

/** The folder chooser: the OS's own dialog in the desktop app; a browser has none, so there the path is typed. */
async function chooseFolder(): Promise<void> {
  const error = byId('setup-project-field').querySelector<HTMLElement>('.field-error');
  try {
    const folder = await api.chooseFolder(t('setup.project_folder_choose_title'));
    if (folder !== null) folderInput().value = folder;
    if (error) error.hidden = true;
  } catch (failure) {
    if (error) {
      error.textContent = toApiError(failure).message;
      error.hidden = false;
    }
  }
}

export function wireSetupAgent(): void {
  for (const choice of [managedChoice(), externalChoice()]) choice.addEventListener('change', sync);
  const choose = byId('setup-project-choose', HTMLButtonElement);
  choose.hidden = !supports('chooseFolder');
  choose.addEventListener('click', () => void chooseFolder());
}

/** Shows what is saved: managed when no URL is set, with the first project's folder. */
export function fillSetupAgent(view: SettingsView): void {
  savedProjects = view.agent.projects;
  const managed = view.agent.opencode_url.trim() === '';
  managedChoice().checked = managed;
  externalChoice().checked = !managed;
  folderInput().value = view.agent.projects[0]?.path ?? view.agent.opencode_directory ?? '';
  sync();
}

/** The agent part of the setup guide's change; nothing when the user runs OpenCode themselves. */
export function setupAgentChange(): SettingsChange['agent'] {
  if (!managedChoice().checked) return undefined;
  const path = folderInput().value.trim();
  if (path === '') return { opencode_url: '' };
  const first = { name: projectName(path), path };
  // The chosen folder becomes the first (default) project; the others stay behind it.
  const others = savedProjects.slice(1).filter((p) => p.name !== first.name && p.path !== path);
  return { opencode_url: '', projects: [first, ...others] };
}
