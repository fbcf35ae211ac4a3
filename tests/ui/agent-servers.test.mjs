// The dashboard's "OpenCode on this computer" panel in a browser, against real processes: the DingTalk
// simulator and `dingbridged` connected to it with no OpenCode URL (managed mode), one project and an
// OpenCode program that does not exist. The panel must say so with the install command, and Start must not
// turn into a crash loop. Nothing here ever runs OpenCode.
//
//   scripts/with-keychain node --test tests/ui/agent-servers.test.mjs
//
// Needs: target/debug/dingbridged and target/debug/dingtalk-sim, Debian's chromium, `npm run build:ui`.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { catalogueKeys, daemonBin, launchBrowser, pageProblems, simBin, startProcess, stopProcess } from './support.mjs';

const TIMEOUT_MS = 20_000;
const CLIENT_ID = 'ding-ui-agent-servers';
const CLIENT_SECRET = `agent-servers-secret-${process.pid}`;

let sim;
let daemon;
let scratch;
let browser;
let page;
let keys = [];
const errors = [];

before(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'dingbridge-agent-servers-'));
  await mkdir(path.join(scratch, 'data'));
  const project = path.join(scratch, 'app');
  await mkdir(project);
  sim = await startProcess(simBin, ['--port', '0', '--client-id', CLIENT_ID, '--client-secret', CLIENT_SECRET], {
    wanted: ['DINGTALK_SIM_BASE_URL'],
  });
  const simUrl = sim.values.DINGTALK_SIM_BASE_URL.replace(/\/+$/, '');
  const config = path.join(scratch, 'config.toml');
  const missing = path.join(scratch, 'no-such-opencode');
  await writeFile(
    config,
    `# written by tests/ui/agent-servers.test.mjs\n[dingtalk]\napi_base = "${simUrl}"\noapi_base = "${simUrl}"\nclient_id = "${CLIENT_ID}"\n\n` +
      `[agent]\nopencode_url = ""\nopencode_bin = ${JSON.stringify(missing)}\n\n[[agent.projects]]\nname = "app"\npath = ${JSON.stringify(project)}\n`,
  );
  const env = {
    DINGBRIDGE_CONFIG: config,
    DINGBRIDGE_DATA_DIR: path.join(scratch, 'data'),
    DINGTALK_CLIENT_ID: null,
    DINGTALK_CLIENT_SECRET: CLIENT_SECRET,
    DINGBRIDGE_KEYCHAIN_SERVICE: `dingbridge-ui-agent-servers-${process.pid}`,
  };
  daemon = await startProcess(daemonBin, ['--port', '0', '--mcp-port', '0'], { env, wanted: ['DINGBRIDGE_DASHBOARD_URL'] });
  keys = await catalogueKeys();
  browser = await launchBrowser();
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(daemon.values.DINGBRIDGE_DASHBOARD_URL, { waitUntil: 'load' });
});

after(async () => {
  await browser?.close().catch(() => {});
  await stopProcess(daemon?.child);
  await stopProcess(sim?.child);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const server = () => page.locator('#agent-server-list li').first();

test('without OpenCode installed the panel says so and names the install command', async () => {
  await page.locator('#agent-servers').waitFor({ state: 'visible', timeout: TIMEOUT_MS });
  await server().locator('[data-state="not_installed"]').waitFor({ timeout: TIMEOUT_MS });
  const text = await server().textContent();
  assert.match(text, /app/);
  assert.match(text, /not installed/);
  assert.match(text, /npm i -g opencode-ai/);
  assert.deepEqual(await pageProblems(page, keys), []);
});

test('Start on a server that cannot run leaves it "not installed", with no restart loop', async () => {
  await server().getByRole('button', { name: 'Start', exact: true }).click();
  // Two status refreshes later it is still not installed, with no restart counted and no error line added.
  await page.waitForTimeout(5_000);
  await server().locator('[data-state="not_installed"]').waitFor({ timeout: TIMEOUT_MS });
  assert.match(await server().textContent(), /0 restarts/);
  assert.deepEqual(errors, []);
});

test('the log says it once, with the install command', async () => {
  const lines = daemon.log().split('\n').filter((line) => line.includes('OPENCODE_NOT_INSTALLED'));
  assert.equal(lines.length, 1, daemon.log());
  assert.match(lines[0], /npm i -g opencode-ai/);
});
