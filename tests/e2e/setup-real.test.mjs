// First run of the real app in real mode, as a new user would do it, against the DingTalk simulator:
// empty profile → setup guide → the simulator's credentials → Test connection all green → Save → the
// dashboard connected with live traffic; then the secret is in the keychain and in no file.
//
//   npm run build:ui && cargo build -p dingbridge -p dingtalk-sim
//   xvfb-run -a -s "-screen 0 1280x900x24" dbus-run-session -- node --test --test-concurrency=1 tests/e2e/
//
// Real parts: the app binary, WebKitGTK, Tauri IPC, the simulator binary (real HTTP + WebSocket), the Secret
// Service (gnome-keyring, unlocked inside this D-Bus session). OpenCode itself is not under test here (its
// client is tested against the simulator's fake OpenCode in tests/opencode_bridge.rs): a stand-in answers
// the health check the connection test makes.
// Env: DINGTALK_SIM_BIN (default target/debug/dingtalk-sim). Writes target/e2e-setup-*.png.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { openApp, repoRoot, sleep, waitFor } from './driver.mjs';

const run = promisify(execFile);
const simBin = path.resolve(repoRoot, process.env.DINGTALK_SIM_BIN ?? 'target/debug/dingtalk-sim');
const CLIENT_ID = 'dinge2etestapp';
const CLIENT_SECRET = `e2e-secret-${randomBytes(12).toString('hex')}`;
const KEYCHAIN_SERVICE = `dingbridge-e2e-${process.pid}`;

let profile;
let env;
let sim;
let simUrl;
let opencode;
let opencodeUrl;
let keyring;
let app;

/** Spawns a process and resolves with its first stdout line matching `pattern`. */
function spawnAndRead(bin, args, options, pattern) {
  const child = spawn(bin, args, { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const line = new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = out.match(pattern);
      if (match) resolve(match[1]);
    });
    child.stderr.on('data', (chunk) => (err += chunk));
    child.once('exit', (code) => reject(new Error(`${bin} exited (${code}) before printing ${pattern}: ${err}`)));
  });
  return { child, line };
}

async function stop(child) {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(5000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** Every regular file under `dir`. */
async function filesUnder(dir) {
  const found = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await filesUnder(full)));
    else if (entry.isFile()) found.push(full);
  }
  return found;
}

before(async () => {
  if (!process.env.DBUS_SESSION_BUS_ADDRESS) throw new Error('no D-Bus session: run under dbus-run-session');
  // An empty profile: a fresh home, no settings file, no data, an empty keychain.
  profile = await mkdtemp(path.join(tmpdir(), 'dingbridge-e2e-'));
  env = {
    ...process.env,
    HOME: profile,
    XDG_CONFIG_HOME: path.join(profile, '.config'),
    XDG_DATA_HOME: path.join(profile, '.local/share'),
    XDG_CACHE_HOME: path.join(profile, '.cache'),
    XDG_STATE_HOME: path.join(profile, '.local/state'),
    DINGBRIDGE_KEYCHAIN_SERVICE: KEYCHAIN_SERVICE,
    LANG: 'en_US.UTF-8',
  };
  for (const name of ['DINGBRIDGE_CONFIG', 'DINGBRIDGE_DATA_DIR', 'DINGTALK_CLIENT_ID', 'DINGTALK_CLIENT_SECRET', 'DINGBRIDGE_TOKEN']) {
    delete env[name];
  }

  // The Secret Service of this D-Bus session, unlocked (its login keyring lives in the fresh home).
  keyring = spawn('gnome-keyring-daemon', ['--unlock', '--components=secrets'], { env, stdio: ['pipe', 'ignore', 'inherit'] });
  keyring.stdin.end('e2e-keyring-password');
  await waitFor('the Secret Service', () => run('secret-tool', ['search', 'service', 'none'], { env }).then(() => true, (error) => error.code === 1), 10_000);

  // DingTalk: the simulator binary with this app's credentials; the app reaches it through the documented
  // API base overrides (no account, no Internet).
  const started = spawnAndRead(simBin, ['--client-id', CLIENT_ID, '--client-secret', CLIENT_SECRET], { env }, /DINGTALK_SIM_BASE_URL=(\S+)/);
  sim = started.child;
  simUrl = await started.line;
  env.DINGBRIDGE_API_BASE = simUrl;
  env.DINGBRIDGE_OAPI_BASE = simUrl;

  // OpenCode's health check, answered.
  opencode = createServer((request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(request.url.startsWith('/global/health') ? '{"healthy":true,"version":"e2e"}' : '{}');
  });
  await new Promise((resolve) => opencode.listen(0, '127.0.0.1', resolve));
  opencodeUrl = `http://127.0.0.1:${opencode.address().port}`;

  await mkdir(path.join(repoRoot, 'target'), { recursive: true });
  app = await openApp({ port: 4446, env });
});

after(async () => {
  await app?.close();
  await stop(sim);
  opencode?.close();
  await stop(keyring);
  if (profile) await rm(profile, { recursive: true, force: true });
});

test('a new user sets up the real app in the setup guide and sees live traffic', async () => {
  // First run: the settings window in setup mode, not a silent demo.
  await waitFor('the setup guide', () => app.run("return document.querySelector('#setup') && !document.querySelector('#setup').hidden"));
  assert.equal((await app.invoke('get_settings')).ok.mode, 'unconfigured');
  // "Use OpenCode on this computer" picks the project folder with the OS's folder dialog ("Choose…").
  assert.equal(await app.run("const b = document.querySelector('#setup-project-choose'); return Boolean(b) && !b.hidden && !b.disabled"), true);
  await writeFile(path.join(repoRoot, 'target', 'e2e-setup-guide.png'), await app.screenshot()).catch(() => {});

  await app.type('#f-dingtalk-client_id', CLIENT_ID);
  await app.type('#f-dingtalk-client_secret', CLIENT_SECRET);
  // The whole form, to point the agent at the OpenCode stand-in.
  await app.click('#show-all');
  await app.type('#f-agent-opencode_url', opencodeUrl);
  // The whole form carries the API bases too (advanced fields, folded away): point them at the simulator.
  await app.run(
    "for (const id of ['f-dingtalk-api_base', 'f-dingtalk-oapi_base']) { const f = document.getElementById(id); f.value = arguments[0]; f.dispatchEvent(new Event('input', { bubbles: true })); f.dispatchEvent(new Event('change', { bubbles: true })); }",
    simUrl,
  );

  await app.click('#test-connection');
  const result = await waitFor('the connection test', () =>
    app.run("const s = document.querySelector('#test-summary'); return s && s.dataset.result !== 'running' ? s.dataset.result : null"), 30_000);
  const steps = await app.run("return [...document.querySelectorAll('#test-steps [data-step]')].map((li) => li.dataset.step + ':' + li.dataset.result)");
  const details = await app.run("return document.querySelector('#test-steps').textContent");
  assert.equal(result, 'ok', `steps: ${steps}; ${details}`);
  assert.deepEqual(steps, ['token:ok', 'gateway:ok', 'websocket:ok', 'opencode:ok']);

  const settingsWindow = (await app.handles())[0];
  await app.click('#save');
  // Saving leaves setup: the engine connects for real without a restart and the dashboard opens.
  const dashboard = await waitFor('the dashboard window', async () => (await app.handles()).find((h) => h !== settingsWindow), 30_000);
  await app.switchTo(dashboard);
  await waitFor('connected', () => app.run("return document.querySelector('#conn-state')?.dataset.state === 'connected'"), 30_000);
  assert.equal((await app.invoke('get_status')).ok.mode, 'app');
  assert.equal(await app.run("return document.querySelector('#demo-banner').hidden"), true);

  // Live traffic: a colleague messages the bot.
  const response = await fetch(`${simUrl}/_sim/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ conversation_type: 'single', sender_staff_id: 'alice0001', sender_nick: 'Alice', content: { text: 'run the tests please' } }),
  });
  assert.equal(response.status, 200, await response.text());
  await waitFor('the conversation', () => app.run("return document.querySelectorAll('#conversations li.conversation').length > 0"), 30_000);
  await waitFor('its events', () => app.run("return document.querySelectorAll('#events li.event').length > 0"));
  await writeFile(path.join(repoRoot, 'target', 'e2e-setup-dashboard.png'), await app.screenshot()).catch(() => {});
});

test('the secret is in the keychain and in no file of the profile', async () => {
  const { stdout } = await run('secret-tool', ['search', '--all', '--unlock', 'service', KEYCHAIN_SERVICE], { env });
  assert.match(stdout, new RegExp(`secret = ${CLIENT_SECRET}`), 'the client secret is in the keychain');
  const leaks = [];
  for (const file of await filesUnder(profile)) {
    // The keyring's own (encrypted) file is where the secret belongs.
    if (file.includes(`${path.sep}keyrings${path.sep}`)) continue;
    const content = await readFile(file).catch(() => Buffer.alloc(0));
    if (content.includes(CLIENT_SECRET)) leaks.push(path.relative(profile, file));
  }
  assert.deepEqual(leaks, [], 'files holding the secret');
  const view = JSON.stringify((await app.invoke('get_settings')).ok);
  assert.ok(!view.includes(CLIENT_SECRET), 'the settings view never shows the secret');
});
