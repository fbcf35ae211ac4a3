// Smoke test of the real desktop window (WebKitGTK + Tauri IPC) through WebDriver, in demo mode.
//
//   npm run build:ui && cargo build -p dingbridge
//   xvfb-run -a -s "-screen 0 1280x900x24" dbus-run-session -- node --test --test-concurrency=1 tests/e2e/
//
// (A 24-bit screen; xvfb-run's default is 8-bit.) Writes target/e2e-screenshot.png.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { openApp, repoRoot, waitFor } from './driver.mjs';

let app;

before(async () => {
  app = await openApp({ port: 4444, args: ['--demo'] });
});

after(async () => {
  await app?.close();
});

test('the window uses Tauri IPC and shows live demo traffic', async () => {
  await waitFor('transport text', async () => (await app.text('#transport')) === 'tauri-ipc');
  await waitFor('connected badge', () => app.run("return document.querySelector('#conn-state').dataset.state === 'connected'"));
  await waitFor('conversations', () => app.run("return document.querySelectorAll('#conversations li.conversation').length > 0"));
  await waitFor('events', () => app.run("return document.querySelectorAll('#events li.event').length > 0"));
  assert.equal(await app.run("return document.querySelector('#demo-banner').hidden"), false);
});

test('the demo answers its messages (nothing refused by the allow-list)', async () => {
  const replied = await waitFor('an agent reply', async () => {
    const status = await app.invoke('get_status');
    return status.ok && status.ok.counters.agent_replied > 0 ? status.ok : null;
  }, 30_000);
  assert.equal(replied.mode, 'demo');
});

test('the dashboard gets its commands; settings commands are refused from it', async () => {
  assert.equal((await app.invoke('get_status')).ok.mode, 'demo');
  for (const command of ['save_settings', 'reveal_mcp_token', 'set_autostart', 'plugin:app|version']) {
    const refused = await app.invoke(command, {});
    assert.match(String(refused.error), /not allowed/, command);
  }
});

test('the CSP blocks inline script', async () => {
  const result = await app.run(
    "const s = document.createElement('script'); s.textContent = 'window.__inline = 1'; document.body.append(s); return window.__inline === undefined;",
  );
  assert.equal(result, true);
});

test('screenshot', async () => {
  await mkdir(path.join(repoRoot, 'target'), { recursive: true });
  await writeFile(path.join(repoRoot, 'target', 'e2e-screenshot.png'), await app.screenshot());
});
