// The dashboard's conversations at size (issue 9 acceptance): `dingbridged serve` on the DingTalk simulator and
// its fake OpenCode, 10,000 conversations and 200,000 messages seeded THROUGH THE SIMULATOR (`POST /_sim/burst`:
// real Stream frames, persisted and ACKed by the bridge like any other), then headless Chromium:
//  - the list shows the right total, and searching a unique title finds it;
//  - opening it shows its messages in order with their delivery states;
//  - a send failed by an injected DingTalk error shows the reason, and Retry sends it once the fault is cleared;
//  - Stop and New session act on the agent (the fake OpenCode);
//  - /api/conversations answers 401 without the login cookie.
// Writes docs/screenshots/conversation-view.png (README).
//
//   node --test tests/ui/conversations.test.mjs
//
// Needs target/debug/dingbridged and target/debug/dingtalk-sim (or DINGBRIDGED_BIN / DINGTALK_SIM_BIN),
// Debian's chromium (or CHROMIUM_BIN), `npm ci` and `npm run build:ui`. The seeded senders are not on the
// allow-list, so the agent is not run 200,000 times: each seeded conversation gets the one refusal answer a
// stranger gets, every message is stored and settled like in production. UI_SEED_CONVERSATIONS and
// UI_SEED_MESSAGES change the size (defaults 10,000 and 200,000).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { daemonBin, launchBrowser, screenshotDir, simBin, startProcess, stopProcess } from './support.mjs';

const CONVERSATIONS = Number(process.env.UI_SEED_CONVERSATIONS ?? 10_000);
const MESSAGES = Number(process.env.UI_SEED_MESSAGES ?? 200_000);
const SEED_TIMEOUT_MS = Number(process.env.UI_SEED_TIMEOUT_MS ?? 30 * 60_000);
const LIVE_TIMEOUT_MS = 30_000;
const CLIENT_ID = 'ui-client-id';
const CLIENT_SECRET = 'ui-client-secret';
const TESTER = 'tester01';
const GROUP_ID = 'cidUiNightShift+7f3a/Q==';
const GROUP_TITLE = 'Night shift 7f3a';

let sim;
let daemon;
let scratch;
let browser;
let context;
let page;
let origin;
let simUrl;
const pageErrors = [];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what, check, timeoutMs = LIVE_TIMEOUT_MS, everyMs = 250) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

async function simJson(pathname, body) {
  const response = await fetch(`${simUrl}${pathname}`, body === undefined ? {} : {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, `${pathname}: ${await response.clone().text()}`);
  return response.json();
}

/** The tester writes in the test group, @-mentioning the bot, like a DingTalk user would. */
function say(text) {
  return simJson('/_sim/messages', {
    conversation_id: GROUP_ID,
    conversation_type: 'group',
    conversation_title: GROUP_TITLE,
    sender_staff_id: TESTER,
    sender_nick: 'Tess Tester',
    content: { text },
  });
}

async function api(pathname) {
  const response = await page.request.get(`${origin}${pathname}`);
  assert.equal(response.status(), 200, `${pathname}: ${await response.text()}`);
  return response.json();
}

const toml = (value) => JSON.stringify(value);

before(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'dingbridge-conversations-'));
  sim = await startProcess(simBin, ['--client-id', CLIENT_ID, '--client-secret', CLIENT_SECRET, '--ping-interval-ms', '0', '--opencode'], {
    wanted: ['DINGTALK_SIM_BASE_URL', 'OPENCODE_BASE_URL'],
  });
  simUrl = sim.values.DINGTALK_SIM_BASE_URL.replace(/\/+$/, '');
  const configPath = path.join(scratch, 'settings.toml');
  await writeFile(
    configPath,
    [
      '[dingtalk]',
      `client_id = ${toml(CLIENT_ID)}`,
      `api_base = ${toml(simUrl)}`,
      `oapi_base = ${toml(simUrl)}`,
      '[agent]',
      'backend = "opencode"',
      `opencode_url = ${toml(sim.values.OPENCODE_BASE_URL)}`,
      '[access]',
      `allowed_staff_ids = [${toml(TESTER)}]`,
      `allowed_groups = [${toml(GROUP_ID)}]`,
      // The 10,000 seeded strangers each get a refusal answer, paced like every send; at the highest allowed
      // rate they drain in about 3 minutes instead of 8 at the default 20/s.
      '[pacing]',
      'app_per_second = 60',
      '',
    ].join('\n'),
  );
  daemon = await startProcess(daemonBin, ['--config', configPath, '--data-dir', path.join(scratch, 'data'), '--port', '0', '--mcp-port', '0', 'serve'], {
    env: {
      DINGTALK_CLIENT_SECRET: CLIENT_SECRET,
      DINGBRIDGE_TOKEN: 'ui-test-token-0123456789abcdef',
      DINGBRIDGE_RUNTIME_FILE: path.join(scratch, 'runtime.json'),
      // 200,000 "sender not allowed" warnings would fill the runner's memory.
      DINGBRIDGE_LOG: 'error',
    },
    wanted: ['DINGBRIDGE_DASHBOARD_URL'],
  });
  const loginUrl = daemon.values.DINGBRIDGE_DASHBOARD_URL;
  origin = new URL(loginUrl).origin;
  await until('the bridge to connect to the simulator', async () => (await simJson('/_sim/stats')).live_connections > 0);

  const base = (await simJson('/_sim/stats')).acks_received;
  const started = Date.now();
  await simJson('/_sim/burst', { count: MESSAGES, conversations: CONVERSATIONS, group_every: 3, prefix: 'load', window: 500 });
  await until(`${MESSAGES} seeded messages to be persisted and ACKed`, async () => (await simJson('/_sim/stats')).acks_received - base >= MESSAGES, SEED_TIMEOUT_MS, 500);
  console.log(`# seeded ${MESSAGES} messages in ${CONVERSATIONS} conversations in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  browser = await launchBrowser();
  context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
  page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(`page error: ${error.message}`));
  await page.goto(loginUrl, { waitUntil: 'load' });
  await page.waitForSelector('body[data-ready="true"]', { timeout: LIVE_TIMEOUT_MS });
  await mkdir(screenshotDir, { recursive: true });
});

after(async () => {
  await browser?.close().catch(() => {});
  await stopProcess(daemon?.child);
  await stopProcess(sim?.child);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const listTotal = () => page.locator('#conv-count').getAttribute('data-total').then(Number);

async function search(text) {
  await page.fill('#conv-search', text);
  await page.press('#conv-search', 'Enter');
}

async function openTestGroup() {
  await search(GROUP_TITLE);
  await until('the search to find the test group', async () => (await listTotal()) === 1);
  await page.locator('#conversations li.conversation').first().click();
  await page.waitForSelector('#conversation-view[data-ready="true"]', { timeout: LIVE_TIMEOUT_MS });
}

/** The open view's messages as the user sees them: direction, delivery and text. */
function shownMessages() {
  return page.locator('#cv-messages li.message').evaluateAll((items) =>
    items.map((item) => ({
      direction: item.classList.contains('message-out') ? 'out' : 'in',
      delivery: item.dataset.delivery,
      text: item.querySelector('.message-text')?.textContent ?? '',
      state: item.querySelector('.delivery')?.textContent ?? '',
      error: item.querySelector('.message-error')?.textContent ?? '',
    })),
  );
}

test('the list shows every seeded conversation in its total', async () => {
  await until('the list total', async () => (await listTotal()) === CONVERSATIONS, LIVE_TIMEOUT_MS);
  assert.equal(await listTotal(), CONVERSATIONS);
  assert.equal(await page.locator('#conv-count').textContent(), `(${CONVERSATIONS.toLocaleString('en-US')})`);
  // Virtualized: only the rows in view exist in the page.
  const rendered = await page.locator('#conversations li').count();
  assert.ok(rendered > 0 && rendered < 60, `${rendered} rows rendered for ${CONVERSATIONS}`);
  // Scrolling to the end shows the oldest conversations, loaded on demand.
  await page.locator('#conv-viewport').evaluate((node) => {
    node.scrollTop = node.scrollHeight;
  });
  await page.waitForFunction(
    (last) => [...document.querySelectorAll('#conversations li.conversation')].some((li) => li.dataset.index === String(last)),
    CONVERSATIONS - 1,
    { timeout: LIVE_TIMEOUT_MS },
  );
});

test('a new conversation is counted live and a unique title is found by search', async () => {
  await say('hello from the night shift');
  await until('the live total to grow by one', async () => (await listTotal()) === CONVERSATIONS + 1);
  await search(GROUP_TITLE);
  await until('the search result', async () => (await listTotal()) === 1);
  await page.waitForFunction((title) => document.querySelector('#conversations li.conversation .conv-title')?.textContent === title, GROUP_TITLE, { timeout: LIVE_TIMEOUT_MS });
  const filter = page.locator('#conv-filters button[data-filter="group"]');
  await filter.click();
  await until('the group filter to keep it', async () => (await listTotal()) === 1);
  await page.locator('#conv-filters button[data-filter="single"]').click();
  await until('the 1:1 filter to drop it', async () => (await listTotal()) === 0);
  await page.locator('#conv-filters button[data-filter="all"]').click();
});

/** The seeded strangers' 10,000 refusal answers go out first, paced under the app's rate like every send (60/s
 * here): the test group's answers queue behind them. How long that takes depends on how fast the seeding went. */
const DRAIN_TIMEOUT_MS = 15 * 60_000;

test('opening the conversation shows its messages in order with their delivery', async () => {
  await until('the outbox to drain', async () => (await api('/api/status')).outbox.pending === 0, DRAIN_TIMEOUT_MS, 1000);
  await openTestGroup();
  await until('the first answer to be sent', async () => (await shownMessages()).some((m) => m.direction === 'out' && m.delivery === 'sent'));
  await say('second question');
  await until('the second answer to be sent', async () => (await shownMessages()).filter((m) => m.direction === 'out' && m.delivery === 'sent').length >= 2);
  const messages = await shownMessages();
  assert.deepEqual(messages.map((m) => m.direction), ['in', 'out', 'in', 'out']);
  assert.match(messages[0].text, /hello from the night shift/);
  assert.match(messages[2].text, /second question/);
  assert.match(messages[1].state, /^Sent by webhook/);
  assert.equal(await page.locator('#cv-agent-state').getAttribute('data-state'), 'idle');
  assert.match(await page.locator('#cv-session').textContent(), /^ses/);
  await page.screenshot({ path: path.join(screenshotDir, 'conversation-view.png') });
});

test('a send DingTalk refuses shows the reason, and Retry sends it once the fault is cleared', async () => {
  // The seeded strangers' refusal answers must be out first: the armed fault answers the next webhook call.
  await until('the outbox to drain', async () => (await api('/api/status')).outbox.pending === 0, DRAIN_TIMEOUT_MS, 1000);
  await simJson('/_sim/faults', { webhook_answer: { errcode: 430101, count: 1 } });
  await say('third question');
  await until('the failed send', async () => (await shownMessages()).some((m) => m.delivery === 'failed'));
  const failed = (await shownMessages()).find((m) => m.delivery === 'failed');
  assert.equal(failed.state, 'Send failed');
  assert.match(failed.error, /430101/);
  await simJson('/_sim/faults', { clear: true });
  await page.locator('#cv-messages button[data-retry]').click();
  await until('the retried send', async () => {
    const out = (await shownMessages()).filter((m) => m.direction === 'out');
    return out.length === 3 && out.every((m) => m.delivery === 'sent');
  });
  const received = await simJson(`/_sim/received?conversation_id=${encodeURIComponent(GROUP_ID)}`);
  assert.equal(received.length, 3, 'DingTalk got each answer once');
});

test('Stop ends the running answer and New session gives the chat a fresh agent session', async () => {
  await say('[slow] write a long essay');
  await page.waitForFunction(() => document.querySelector('#cv-agent-state')?.dataset.state === 'thinking', null, { timeout: LIVE_TIMEOUT_MS });
  await page.click('#cv-stop');
  await page.waitForFunction(() => document.querySelector('#cv-notice')?.textContent === 'Stopped the running answer.', null, { timeout: LIVE_TIMEOUT_MS });
  await page.waitForFunction(() => document.querySelector('#cv-agent-state')?.dataset.state === 'idle', null, { timeout: LIVE_TIMEOUT_MS });

  const before = (await page.locator('#cv-session').textContent()).trim();
  await page.click('#cv-new-session');
  await page.waitForFunction(() => document.querySelector('#cv-notice')?.textContent === 'The next message starts a fresh agent session.', null, { timeout: LIVE_TIMEOUT_MS });
  await say('a question for the new session');
  await page.waitForFunction(
    (old) => {
      const session = document.querySelector('#cv-session')?.textContent?.trim() ?? '';
      return session.startsWith('ses') && session !== old;
    },
    before,
    { timeout: LIVE_TIMEOUT_MS },
  );
});

test('the conversation API needs the login cookie', async () => {
  for (const pathname of ['/api/conversations', `/api/conversations/${encodeURIComponent(GROUP_ID)}`, '/api/status', '/api/events']) {
    const response = await fetch(`${origin}${pathname}`);
    assert.equal(response.status, 401, pathname);
  }
  const page1 = await api('/api/conversations?limit=5');
  assert.equal(page1.items.length, 5);
  assert.deepEqual(pageErrors, []);
});
