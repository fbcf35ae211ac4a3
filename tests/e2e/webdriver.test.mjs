// Smoke test of the real desktop window (WebKitGTK + Tauri IPC) through WebDriver. No npm dependencies:
// it speaks the W3C WebDriver protocol to tauri-driver with fetch.
//
//   cargo build -p dingbridge
//   xvfb-run -a -s "-screen 0 1280x900x24" dbus-run-session -- node --test tests/e2e/
//
// (A 24-bit screen; xvfb-run's default is 8-bit.)
//
// Needs: `apt-get install -y webkit2gtk-driver xvfb` (WebKitWebDriver), `cargo install tauri-driver --locked`.
// Env: DINGBRIDGE_BIN (default target/debug/dingbridge), TAURI_DRIVER (default tauri-driver on PATH).
// Uses fixed ports 4444/4445 (tauri-driver's defaults): run one at a time.
// Writes target/e2e-screenshot.png.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const appBin = path.resolve(repoRoot, process.env.DINGBRIDGE_BIN ?? 'target/debug/dingbridge');
const driverBin = process.env.TAURI_DRIVER ?? 'tauri-driver';
const PORT = 4444;
const NATIVE_PORT = 4445;
const base = `http://127.0.0.1:${PORT}`;
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

let driver;
let driverLog = '';
let session;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function wd(method, route, body) {
  const response = await fetch(`${base}${route}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(`${method} ${route}: HTTP ${response.status} ${JSON.stringify(json.value ?? json)}`);
  return json.value;
}

const run = (script, ...args) => wd('POST', `/session/${session}/execute/sync`, { script, args });
const runAsync = (script, ...args) => wd('POST', `/session/${session}/execute/async`, { script, args });

async function waitFor(what, probe, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) return last;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

before(async () => {
  if (!process.env.DISPLAY) throw new Error('no DISPLAY: run under `xvfb-run -a -s "-screen 0 1280x900x24" dbus-run-session -- node --test tests/e2e/`');
  driver = spawn(driverBin, ['--port', String(PORT), '--native-port', String(NATIVE_PORT)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Under Xvfb (software GL) WebKit's compositing mode made WebDriver screenshots show the first frame
    // only; without it they are current. The app inherits this through tauri-driver.
    env: { ...process.env, WEBKIT_DISABLE_COMPOSITING_MODE: process.env.WEBKIT_DISABLE_COMPOSITING_MODE ?? '1' },
  });
  driver.stdout.on('data', (chunk) => (driverLog += chunk));
  driver.stderr.on('data', (chunk) => (driverLog += chunk));
  driver.once('error', (error) => (driverLog += `spawn failed: ${error.message}\n`));
  await waitFor('tauri-driver to listen', () => fetch(`${base}/status`).then((r) => r.ok, () => false), 10_000).catch((error) => {
    throw new Error(`${error.message}\n${driverLog}`);
  });
  const created = await wd('POST', '/session', {
    capabilities: { alwaysMatch: { browserName: 'wry', 'tauri:options': { application: appBin, args: ['--demo'] } } },
  });
  session = created.sessionId;
});

after(async () => {
  if (session) await wd('DELETE', `/session/${session}`).catch(() => {});
  if (driver && driver.exitCode === null) {
    const exited = new Promise((resolve) => driver.once('exit', resolve));
    driver.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    if (driver.exitCode === null) driver.kill('SIGKILL');
  }
});

test('the window uses Tauri IPC and shows live demo traffic', async () => {
  const element = await waitFor('#transport', () => wd('POST', `/session/${session}/element`, { using: 'css selector', value: '#transport' }).catch(() => null));
  await waitFor('transport text', async () => (await wd('GET', `/session/${session}/element/${element[ELEMENT]}/text`)) === 'tauri-ipc');
  await waitFor('connected badge', () => run("return document.querySelector('#conn-state').dataset.state === 'connected'"));
  await waitFor('conversations', () => run("return document.querySelectorAll('#conversations li.conversation').length > 0"));
  await waitFor('events', () => run("return document.querySelectorAll('#events li.event').length > 0"));
  assert.equal(await run("return document.querySelector('#demo-banner').hidden"), false);
});

test('get_status is granted, everything else is refused by the ACL', async () => {
  const callback = 'const done = arguments[arguments.length - 1];';
  const status = await runAsync(`${callback} window.__TAURI__.core.invoke('get_status').then((s) => done(s.mode), (e) => done('error: ' + e));`);
  assert.equal(status, 'demo');
  const refused = await runAsync(`${callback} window.__TAURI__.core.invoke('plugin:app|version').then(() => done('allowed'), (e) => done(String(e)));`);
  assert.match(refused, /not allowed/);
});

test('the CSP blocks inline script', async () => {
  const result = await run(
    "const s = document.createElement('script'); s.textContent = 'window.__inline = 1'; document.body.append(s); return window.__inline === undefined;",
  );
  assert.equal(result, true);
});

test('screenshot', async () => {
  const png = await wd('GET', `/session/${session}/screenshot`);
  await mkdir(path.join(repoRoot, 'target'), { recursive: true });
  await writeFile(path.join(repoRoot, 'target', 'e2e-screenshot.png'), Buffer.from(png, 'base64'));
});
