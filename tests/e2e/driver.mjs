// A tiny W3C WebDriver client for tauri-driver (no npm dependencies: fetch only), shared by the window tests.
//
// Needs: `apt-get install -y webkit2gtk-driver` (WebKitWebDriver), `cargo install tauri-driver --locked`.
// Env: DINGBRIDGE_BIN (default target/debug/dingbridge), TAURI_DRIVER (default tauri-driver on PATH).
// Each test file uses its own port pair; run the files one at a time anyway (`--test-concurrency=1`): the app
// is a single instance per D-Bus session.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const appBin = path.resolve(repoRoot, process.env.DINGBRIDGE_BIN ?? 'target/debug/dingbridge');
const driverBin = process.env.TAURI_DRIVER ?? 'tauri-driver';
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns something truthy; fails with the last value after `timeoutMs`. */
export async function waitFor(what, probe, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await probe().catch((error) => ({ error: error.message }));
    if (last && !last.error) return last;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

/**
 * Starts tauri-driver on `port` and opens a session on the app with `args`; `env` is what the app sees
 * (tauri-driver passes its environment on). Returns the session helpers and `close()`.
 */
export async function openApp({ port, args = [], env = process.env }) {
  if (!process.env.DISPLAY) {
    throw new Error('no DISPLAY: run under `xvfb-run -a -s "-screen 0 1280x900x24" dbus-run-session -- node --test tests/e2e/`');
  }
  const base = `http://127.0.0.1:${port}`;
  let log = '';
  const driver = spawn(driverBin, ['--port', String(port), '--native-port', String(port + 1)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Under Xvfb (software GL) WebKit's compositing mode made WebDriver screenshots show the first frame
    // only; without it they are current.
    env: { ...env, WEBKIT_DISABLE_COMPOSITING_MODE: env.WEBKIT_DISABLE_COMPOSITING_MODE ?? '1' },
  });
  driver.stdout.on('data', (chunk) => (log += chunk));
  driver.stderr.on('data', (chunk) => (log += chunk));
  driver.once('error', (error) => (log += `spawn failed: ${error.message}\n`));

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

  await waitFor('tauri-driver to listen', () => fetch(`${base}/status`).then((r) => r.ok, () => false), 10_000).catch((error) => {
    throw new Error(`${error.message}\n${log}`);
  });
  const created = await wd('POST', '/session', {
    capabilities: { alwaysMatch: { browserName: 'wry', 'tauri:options': { application: appBin, args } } },
  });
  const session = created.sessionId;
  const s = (route) => `/session/${session}${route}`;

  const app = {
    wd,
    log: () => log,
    run: (script, ...scriptArgs) => wd('POST', s('/execute/sync'), { script, args: scriptArgs }),
    runAsync: (script, ...scriptArgs) => wd('POST', s('/execute/async'), { script, args: scriptArgs }),
    /** Calls a Tauri command from the current window; resolves to the result or `{ error }`. */
    invoke: (command, args = {}) =>
      wd('POST', s('/execute/async'), {
        script:
          'const done = arguments[arguments.length - 1];' +
          'window.__TAURI__.core.invoke(arguments[0], arguments[1]).then((v) => done({ ok: v ?? null }), (e) => done({ error: e }));',
        args: [command, args],
      }),
    find: async (css) => (await wd('POST', s('/element'), { using: 'css selector', value: css }))[ELEMENT],
    text: async (css) => wd('GET', s(`/element/${await app.find(css)}/text`)),
    click: async (css) => wd('POST', s(`/element/${await app.find(css)}/click`), {}),
    type: async (css, text) => {
      const element = await app.find(css);
      await wd('POST', s(`/element/${element}/clear`), {});
      await wd('POST', s(`/element/${element}/value`), { text });
    },
    handles: () => wd('GET', s('/window/handles')),
    switchTo: (handle) => wd('POST', s('/window'), { handle }),
    screenshot: async () => Buffer.from(await wd('GET', s('/screenshot')), 'base64'),
    async close() {
      await wd('DELETE', s('')).catch(() => {});
      if (driver.exitCode === null) {
        const exited = new Promise((resolve) => driver.once('exit', resolve));
        driver.kill('SIGTERM');
        await Promise.race([exited, sleep(5000)]);
        if (driver.exitCode === null) driver.kill('SIGKILL');
      }
    },
  };
  return app;
}
