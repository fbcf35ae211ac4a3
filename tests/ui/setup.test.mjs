// First run in a browser, against real processes: the DingTalk simulator and `dingbridged` started with no
// credentials anywhere (so it runs the demo). The dashboard offers the setup guide; the user enters the
// simulator's credentials, tests the connection (every DingTalk step green), saves, and lands on the dashboard
// connected for real, out of the demo, without a restart. Writes docs/screenshots/setup-<locale>.png.
//
//   dbus-run-session -- sh -c 'echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; node --test tests/ui/setup.test.mjs'
//
// The secret goes to the keychain (Secret Service), hence the D-Bus session with an unlocked gnome-keyring.
// Needs: target/debug/dingbridged and target/debug/dingtalk-sim, Debian's chromium, `npm run build:ui`.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { LOCALES, catalogueKeys, daemonBin, launchBrowser, pageProblems, screenshotDir, simBin, startProcess, stopProcess } from './support.mjs';

const TIMEOUT_MS = 20_000;
// Credentials the simulator accepts; the secret must end up in the keychain and in no file.
const CLIENT_ID = 'ding-ui-setup-test';
const CLIENT_SECRET = `setup-secret-${process.pid}-${Date.now()}`;

let sim;
let daemon;
let scratch;
let browser;
let context;
let page;
let origin;
let keys = [];
let configFile; // the settings file the daemon reads and the page's saves write
let projectDir; // the folder chosen for "use OpenCode on this computer" (a space in its name on purpose)
const errors = [];
// Every response body the browser received (pages, scripts, /api/* answers), to prove none carries the secret.
// Event streams never end, so they are left out here and read separately below.
const responseBodies = [];

before(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'dingbridge-setup-'));
  await mkdir(path.join(scratch, 'data'));
  projectDir = path.join(scratch, 'my project');
  await mkdir(projectDir);
  sim = await startProcess(simBin, ['--port', '0', '--client-id', CLIENT_ID, '--client-secret', CLIENT_SECRET], {
    wanted: ['DINGTALK_SIM_BASE_URL'],
  });
  const simUrl = sim.values.DINGTALK_SIM_BASE_URL.replace(/\/+$/, '');
  // Only where DingTalk is (the simulator) and the echo agent (no OpenCode here, so its test step is
  // skipped): no credentials, so the daemon starts in the demo.
  const config = path.join(scratch, 'config.toml');
  configFile = config;
  await writeFile(
    config,
    `# written by tests/ui/setup.test.mjs\n[dingtalk]\napi_base = "${simUrl}"\noapi_base = "${simUrl}"\n\n[agent]\nbackend = "echo"\n`,
  );
  const env = { DINGBRIDGE_CONFIG: config, DINGBRIDGE_DATA_DIR: path.join(scratch, 'data') };
  for (const name of ['DINGTALK_CLIENT_ID', 'DINGTALK_CLIENT_SECRET']) env[name] = null;
  daemon = await startProcess(daemonBin, ['--port', '0', '--mcp-port', '0'], { env, wanted: ['DINGBRIDGE_DASHBOARD_URL'] });
  const loginUrl = daemon.values.DINGBRIDGE_DASHBOARD_URL;
  origin = new URL(loginUrl).origin;
  keys = await catalogueKeys();
  browser = await launchBrowser();
  context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('response', (response) => {
    if ((response.headers()['content-type'] ?? '').includes('text/event-stream')) return;
    responseBodies.push(
      response.body().then((body) => ({ url: response.url(), body }), () => ({ url: response.url(), body: Buffer.alloc(0) })),
    );
  });
  await page.goto(loginUrl, { waitUntil: 'load' });
  await mkdir(screenshotDir, { recursive: true });
});

after(async () => {
  await browser?.close().catch(() => {});
  await stopProcess(daemon?.child);
  await stopProcess(sim?.child);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

test('with no credentials the demo runs and the dashboard leads to the setup guide', async () => {
  await page.locator('#setup-banner').waitFor({ state: 'visible', timeout: TIMEOUT_MS });
  assert.equal(await page.locator('#demo-chip').isVisible(), true, 'the demo is labelled');
  await page.locator('#setup-open').click();
  await page.waitForURL(/\/settings\.html$/, { timeout: TIMEOUT_MS });
  await page.waitForSelector('body[data-ready="true"]', { timeout: TIMEOUT_MS });
  assert.equal(await page.locator('#setup').isVisible(), true);
  assert.equal(await page.locator('#sec-agent').isVisible(), false, 'the other sections wait behind "Show all settings"');
  assert.equal((await page.locator('#save').textContent()).trim(), 'Save & connect');
  assert.equal(await page.locator('#demo-banner').isVisible(), true);
  assert.equal(await page.locator('#try-demo').isVisible(), false, 'already in the demo');
  assert.match(await page.locator('#setup').textContent(), /Stream mode/);
  assert.deepEqual(await pageProblems(page, keys), []);
});

test('the setup guide renders fully in every language (screenshots)', async () => {
  const cookies = await context.cookies();
  for (const locale of LOCALES) {
    const other = await browser.newContext({ locale, viewport: { width: 1280, height: 900 } });
    try {
      await other.addCookies(cookies);
      const view = await other.newPage();
      await view.goto(`${origin}/settings.html`, { waitUntil: 'load' });
      await view.waitForSelector('body[data-ready="true"]', { timeout: TIMEOUT_MS });
      assert.equal(await view.evaluate(() => document.documentElement.lang), locale);
      assert.deepEqual(await pageProblems(view, keys), []);
      await view.evaluate(() => window.scrollTo(0, 0));
      await view.screenshot({ path: path.join(screenshotDir, `setup-${locale}.png`), fullPage: true });
    } finally {
      await other.close();
    }
  }
});

test('the setup guide offers OpenCode on this computer, taking a project folder', async () => {
  assert.equal(await page.locator('#sec-setup-agent').isVisible(), true);
  assert.equal(await page.locator('#f-setup-agent-managed').isChecked(), true, 'managed is the default');
  await page.locator('#f-setup-agent-external').check();
  assert.equal(await page.locator('#f-setup-project').isVisible(), false, 'no folder for a server of your own');
  await page.locator('#f-setup-agent-managed').check();
  assert.equal(await page.locator('#f-setup-project').isVisible(), true);
  // A browser has no folder dialog: the path is typed (the desktop app adds "Choose…", tests/e2e).
  assert.equal(await page.locator('#setup-project-choose').isVisible(), false);
  await page.fill('#f-setup-project', projectDir);
  assert.deepEqual(await pageProblems(page, keys), []);
});

test("Test connection with the simulator's credentials is green on every DingTalk step", async () => {
  await page.fill('#f-dingtalk-client_id', CLIENT_ID);
  await page.fill('#f-dingtalk-client_secret', CLIENT_SECRET);
  await page.locator('#test-connection').click();
  await page.waitForSelector('#test-summary:not([data-result="running"])', { timeout: TIMEOUT_MS });
  const steps = await page.locator('#test-steps li').evaluateAll((items) => items.map((li) => [li.dataset.step, li.dataset.result]));
  const results = Object.fromEntries(steps);
  for (const step of ['token', 'gateway', 'websocket']) assert.equal(results[step], 'ok', `step ${step}: ${JSON.stringify(steps)}`);
  assert.deepEqual(await pageProblems(page, keys), []);
});

test('Save & connect leaves the setup guide for the dashboard, connected', async () => {
  await page.locator('#save').click();
  // Either the dashboard opens, or the page says why not (which the assertion then shows).
  await page.waitForFunction(
    () => !location.pathname.endsWith('settings.html') || !document.querySelector('#form-error')?.hidden || document.querySelector('.field.has-error'),
    null,
    { timeout: TIMEOUT_MS },
  );
  if (page.url().endsWith('settings.html')) {
    const problem = await page.evaluate(() => [document.querySelector('#form-error')?.textContent, ...[...document.querySelectorAll('.field.has-error')].map((f) => `${f.dataset.field}: ${f.textContent}`)]);
    assert.fail(`saving did not connect: ${JSON.stringify(problem)} (${JSON.stringify(await page.locator('#saved-banner').textContent())})`);
  }
  await page.waitForURL(/\/(index\.html)?$/, { timeout: TIMEOUT_MS });
  await page.waitForFunction(() => document.querySelector('#conn-state')?.dataset.state === 'connected', null, { timeout: TIMEOUT_MS });
  await page.waitForFunction(() => document.querySelector('#setup-banner')?.hidden === true, null, { timeout: TIMEOUT_MS });
  assert.equal(await page.locator('#demo-chip').isVisible(), false, 'real mode is not labelled as the demo');
  await page.goto(`${origin}/settings.html`, { waitUntil: 'load' });
  await page.waitForSelector('body[data-ready="true"]', { timeout: TIMEOUT_MS });
  assert.equal(await page.locator('#setup').isVisible(), false, 'configured: the full settings, no guide');
  assert.equal(await page.inputValue('#f-dingtalk-client_secret'), '', 'the secret is never shown back');
  assert.deepEqual(errors, []);
});

test('the saved settings keep the OpenCode URL empty and make the folder the first project', async () => {
  const answer = await context.request.get(`${origin}/api/settings`);
  assert.equal(answer.status(), 200);
  const settings = await answer.json();
  assert.equal(settings.agent.opencode_url, '', 'managed mode: DingBridge runs OpenCode itself');
  assert.deepEqual(settings.agent.projects, [{ name: 'my-project', path: projectDir }]);
  assert.equal(await page.locator('#sec-setup-agent').isVisible(), false, 'the step belongs to the guide only');
});

test('the full settings list the project and save another one next to it', async () => {
  // The page is the full settings now (the last test came back to it after saving).
  const projects = page.locator('#f-agent-projects');
  assert.equal(await projects.inputValue(), `my-project = ${projectDir}`);
  const second = path.join(scratch, 'data');
  await projects.fill(`my-project = ${projectDir}\ndocs = ${second}`);
  await page.locator('#save').click();
  await page.locator('#saved-banner').waitFor({ state: 'visible', timeout: TIMEOUT_MS });
  const settings = await (await context.request.get(`${origin}/api/settings`)).json();
  assert.deepEqual(settings.agent.projects, [
    { name: 'my-project', path: projectDir },
    { name: 'docs', path: second },
  ]);
  assert.equal(settings.agent.opencode_url, '', 'still managed');
});

test('a save writes what the user changed, not the defaults the form shows', async () => {
  await page.locator('#save:enabled').waitFor({ timeout: TIMEOUT_MS }); // the last save is rendered
  // The page shows every setting with its effective value (defaults included); none of them was touched.
  assert.equal(await page.locator('#f-pacing-per_conversation').inputValue(), '20');
  await page.locator('#f-bridge-attachment_max_mb').fill('50');
  // The banner is still up from the last save: wait for this save's answer and for the page to show it.
  const saved = page.waitForResponse((r) => r.url().endsWith('/api/settings') && r.request().method() !== 'GET');
  await page.locator('#save').click();
  assert.equal((await saved).status(), 200);
  await page.locator('#save:enabled').waitFor({ timeout: TIMEOUT_MS });
  const file = await readFile(configFile, 'utf8');
  assert.match(file, /^attachment_max_mb = 50$/m, file);
  // A default written into the file would pin it: a later release's better default would never reach this user.
  assert.doesNotMatch(file, /per_conversation|app_per_second|attachment_retention_hours|stream_budget|idle_stop_minutes/, file);
  assert.match(file, /^# written by tests\/ui\/setup\.test\.mjs$/m, 'the user\'s own comment is kept');
});

test('a project folder that does not exist is refused on its line', async () => {
  await page.locator('#f-agent-projects').fill(`my-project = ${projectDir}\nghost = ${path.join(scratch, 'no-such-folder')}`);
  await page.locator('#save').click();
  await page.locator('.field.has-error[data-field="agent.projects"]').waitFor({ timeout: TIMEOUT_MS });
  const settings = await (await context.request.get(`${origin}/api/settings`)).json();
  assert.equal(settings.agent.projects.length, 2, 'nothing saved');
});

test('no page or API answer the browser received holds the secret', async () => {
  // Also ask the read endpoints directly, after the save, with the logged-in cookie.
  for (const route of ['/api/status', '/api/settings', '/settings.html', '/']) {
    const answer = await context.request.get(`${origin}${route}`);
    assert.equal(answer.status(), 200, route);
    responseBodies.push(Promise.resolve({ url: route, body: await answer.body() }));
  }
  const bodies = await Promise.all(responseBodies);
  assert.ok(bodies.some((entry) => entry.url.includes('/api/settings')), 'the settings answers were seen');
  const leaks = bodies.filter((entry) => entry.body.includes(CLIENT_SECRET)).map((entry) => entry.url);
  assert.deepEqual(leaks, [], 'answers holding the secret');
  assert.equal((await page.content()).includes(CLIENT_SECRET), false, 'the page shows the secret');
});

test('the secret is in no file DingBridge wrote', async () => {
  const files = (await readdir(scratch, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile());
  for (const entry of files) {
    const file = path.join(entry.parentPath ?? entry.path, entry.name);
    const content = await readFile(file).catch(() => Buffer.alloc(0));
    assert.equal(content.includes(CLIENT_SECRET), false, `${file} holds the secret`);
  }
});
