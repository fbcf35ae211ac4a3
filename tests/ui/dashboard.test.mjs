// Browser test of the dashboard (ui/) served by the headless daemon in demo mode.
//
//   node --test tests/ui/
//
// Needs: a built daemon (`cargo build -p dingbridge-cli`, binary target/debug/dingbridged, or set
// DINGBRIDGED_BIN), Debian's chromium (`apt-get install -y chromium`, or set CHROMIUM_BIN) and
// `npm ci` (playwright-core only; it drives the system chromium, nothing is downloaded).
// Writes target/ui-screenshot.png (light) and target/ui-screenshot-dark.png.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const daemonBin = path.resolve(repoRoot, process.env.DINGBRIDGED_BIN ?? 'target/debug/dingbridged');
const chromiumBin = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const screenshotDir = path.join(repoRoot, 'target');
const STARTUP_TIMEOUT_MS = 30_000;
const LIVE_TIMEOUT_MS = 10_000;

let daemon; // child process
let daemonLog = '';
let scratch; // temp dir: data dir of the daemon + chromium profile
let context; // playwright persistent context
let page;
let dashboardUrl; // the dashboard's base URL (after logging in)
let simUrl; // the embedded simulator's base URL, if the daemon prints DINGTALK_SIM_BASE_URL=...
const consoleErrors = [];

/** Starts `dingbridged demo --port 0` and resolves with the URL it prints. */
function startDaemon(dataDir) {
  daemon = spawn(daemonBin, ['demo', '--port', '0'], {
    cwd: repoRoot,
    env: { ...process.env, DINGBRIDGE_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  daemon.stderr.on('data', (chunk) => {
    daemonLog += chunk;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no DINGBRIDGE_DASHBOARD_URL line within ${STARTUP_TIMEOUT_MS} ms\n${daemonLog}`)), STARTUP_TIMEOUT_MS);
    daemon.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${daemonBin}: ${error.message} (build it first, or set DINGBRIDGED_BIN)`));
    });
    daemon.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`dingbridged exited early (code ${code}, signal ${signal})\n${daemonLog}`));
    });
    createInterface({ input: daemon.stdout }).on('line', (line) => {
      daemonLog += `${line}\n`;
      const sim = /^DINGTALK_SIM_BASE_URL=(\S+)\s*$/.exec(line);
      if (sim) simUrl = sim[1].replace(/\/+$/, '');
      const match = /^DINGBRIDGE_DASHBOARD_URL=(\S+)\s*$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
}

async function stopDaemon() {
  if (!daemon || daemon.exitCode !== null || daemon.signalCode !== null) return;
  const exited = new Promise((resolve) => daemon.once('exit', resolve));
  daemon.kill('SIGTERM');
  const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), 5000));
  if ((await Promise.race([exited, timeout])) === 'timeout') {
    daemon.kill('SIGKILL');
    await exited;
  }
}

// Whatever happens (assertion failure, crash of the runner), do not leave the daemon behind.
process.on('exit', () => {
  if (daemon && daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
});

before(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'dingbridge-ui-'));
  await mkdir(path.join(scratch, 'data'));
  // The daemon prints a one-time login URL; opening it sets the session cookie in this browser profile.
  const loginUrl = await startDaemon(path.join(scratch, 'data'));
  dashboardUrl = new URL('/', loginUrl).href;
  context = await chromium.launchPersistentContext(path.join(scratch, 'chromium-profile'), {
    executablePath: chromiumBin,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
    colorScheme: 'light',
    locale: 'en-US',
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => consoleErrors.push(`page error: ${error.message}`));
  await page.goto(loginUrl, { waitUntil: 'load' });
});

after(async () => {
  await context?.close().catch(() => {});
  await stopDaemon();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const text = (selector) => page.locator(selector).textContent();
const count = (selector) => page.locator(selector).count();

test('the page talks to the daemon over HTTP', async () => {
  assert.equal(await page.title(), 'DingBridge');
  await page.waitForFunction(() => document.querySelector('#transport')?.textContent === 'http', null, { timeout: LIVE_TIMEOUT_MS });
  assert.equal(await text('#transport'), 'http');
});

test('the connection badge reaches "connected"', async () => {
  await page.waitForFunction(() => document.querySelector('#conn-state')?.dataset.state === 'connected', null, { timeout: LIVE_TIMEOUT_MS });
  assert.equal((await text('#conn-state')).trim(), 'Connected');
  assert.match(await text('#last-frame'), /^\d+ (sec|min|hr|days?)\.? ago$/);
});

test('demo mode is announced', async () => {
  await page.locator('#demo-banner').waitFor({ state: 'visible', timeout: LIVE_TIMEOUT_MS });
  assert.match(await text('#demo-banner'), /Demo mode/);
  assert.equal((await text('#demo-chip')).trim(), 'Demo');
});

test('a settings link leads to the settings page', async () => {
  assert.equal(await page.locator('#open-settings').getAttribute('href'), 'settings.html');
  assert.equal((await text('#open-settings')).trim(), 'Settings');
});

test('conversations appear, newest first', async () => {
  await page.locator('#conversations li.conversation').first().waitFor({ timeout: LIVE_TIMEOUT_MS });
  const first = page.locator('#conversations li.conversation').first();
  assert.ok((await first.locator('.conv-title').textContent()).trim().length > 0, 'a conversation has a title');
  assert.match(await first.locator('.kind').textContent(), /^(Group|1:1)$/);
  assert.match(await first.locator('.conv-count').textContent(), /^[\d,. ]+ messages?$/);
  assert.equal(await page.locator('#conversations-empty').isVisible(), false);
});

test('the live event feed grows, newest on top', async () => {
  await page.locator('#events li.event').first().waitFor({ timeout: LIVE_TIMEOUT_MS });
  const before = await count('#events li.event');
  const firstText = await page.locator('#events li.event').first().textContent();
  await page.waitForFunction(
    ([n, top]) => {
      const items = document.querySelectorAll('#events li.event');
      return items.length > n || (items.length > 0 && items[0].textContent !== top);
    },
    [before, firstText],
    { timeout: LIVE_TIMEOUT_MS },
  );
  assert.ok((await count('#events li.event')) <= 100, 'the feed keeps at most 100 events');
  // Counters follow the events (status is re-fetched on each event).
  await page.waitForFunction(() => Number(document.querySelector('[data-counter="received"] dd')?.textContent.replace(/\D/g, '')) > 0, null, { timeout: LIVE_TIMEOUT_MS });
});

test('quota meter and latency are rendered', async () => {
  const level = await page.locator('#quota-meter').getAttribute('data-level');
  assert.ok(['ok', 'warn', 'exhausted'].includes(level), `quota level ${level}`);
  assert.match(await text('#quota-used'), /^[\d,. ]+$/);
  assert.match(await page.locator('#quota-meter').getAttribute('aria-valuenow'), /^\d+$/);
  await page.waitForFunction(() => document.querySelector('#ack-p50')?.textContent !== '—', null, { timeout: LIVE_TIMEOUT_MS });
  assert.match(await text('#ack-p50'), /^[\d.,]+\s?(μs|µs|ms|s)$/);
});

test('markup in messages is shown as text, never executed', async () => {
  // Strangers write the messages. Whatever they contain must not become elements in the page.
  const payload = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script><b>bold?</b>';
  // `dingbridged demo` always prints the simulator's address; without it this check could not run.
  assert.ok(simUrl, 'the daemon printed DINGTALK_SIM_BASE_URL');
  // A stranger messages the bot through the simulator's control API (POST /_sim/messages).
  const response = await fetch(`${simUrl}/_sim/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      conversation_type: 'single',
      sender_staff_id: 'mallory0666',
      sender_nick: 'Mallory <i>',
      content: { text: payload },
    }),
  });
  assert.equal(response.status, 200, `inject: ${await response.text()}`);
  const seen = await page
    .waitForFunction(
      (needle) => [...document.querySelectorAll('#conversations .conv-preview, #events .event-text')].some((node) => node.textContent.includes(needle)),
      '<img src=x onerror="window.__xss=1">',
      { timeout: LIVE_TIMEOUT_MS },
    )
    .then(() => true)
    .catch(() => false);
  assert.equal(await page.locator('#conversations, #events').locator('img, script, iframe, b, i, svg').count(), 0, 'no element came from message text');
  assert.ok(seen, 'the injected message is shown, as text');
  assert.equal(await page.evaluate(() => globalThis.__xss ?? null), null, 'no script from message text ran');
});

test('quota warning, exhausted quota and a broken connection are shown as such', async () => {
  // The demo never gets there, so a second tab rewrites the daemon's real snapshot on its way in.
  const variants = [
    { quota: { stream_used: 2_500, stream_budget: 3_000, exhausted: false }, level: 'warn', state: 'backoff', error: 'gateway: HTTP 503' },
    { quota: { stream_used: 3_000, stream_budget: 3_000, exhausted: true }, level: 'exhausted', state: 'stopped', error: null },
  ];
  for (const variant of variants) {
    const tab = await context.newPage();
    tab.on('pageerror', (error) => consoleErrors.push(`page error (variant tab): ${error.message}`));
    await tab.route('**/api/status', async (route) => {
      const response = await route.fetch();
      const status = await response.json();
      Object.assign(status.quota, variant.quota);
      Object.assign(status.connection, { state: variant.state, last_error: variant.error });
      await route.fulfill({ response, json: status });
    });
    await tab.goto(dashboardUrl, { waitUntil: 'load' });
    await tab.waitForFunction((level) => document.querySelector('#quota-meter')?.dataset.level === level, variant.level, { timeout: LIVE_TIMEOUT_MS });
    assert.equal(await tab.locator('#conn-state').getAttribute('data-state'), variant.state);
    assert.equal(await tab.locator('#last-error').isVisible(), Boolean(variant.error));
    if (variant.level === 'exhausted') assert.match(await tab.locator('#quota-note').textContent(), /Used up/);
    const fill = await tab.locator('#quota-fill').evaluate((node) => getComputedStyle(node).backgroundColor);
    assert.notEqual(fill, 'rgb(22, 119, 255)', `${variant.level} is not drawn in the normal blue`);
    if (variant.level === 'warn') await tab.screenshot({ path: path.join(screenshotDir, 'ui-screenshot-warn.png') });
    await tab.close();
  }
});

test('screenshots (light and dark) and no console errors', async () => {
  // Let a little more traffic arrive so the screenshot shows a realistic page (never fails on its own).
  await page
    .waitForFunction(() => document.querySelectorAll('#conversations li.conversation').length >= 3, null, { timeout: 8000 })
    .catch(() => {});
  await mkdir(screenshotDir, { recursive: true });
  await page.screenshot({ path: path.join(screenshotDir, 'ui-screenshot.png'), fullPage: true });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: path.join(screenshotDir, 'ui-screenshot-dark.png'), fullPage: true });
  await page.emulateMedia({ colorScheme: 'light' });
  assert.deepEqual(consoleErrors, []);
});
