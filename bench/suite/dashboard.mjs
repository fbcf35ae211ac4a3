// #8 dashboard at 10,000 conversations: 10,000 senders each leave one message that waits behind a slow agent
// (echo delay of an hour), so every conversation is backlogged. Then:
//  - the size of the dashboard's snapshot (`GET /api/status`) and the time the server takes to produce it;
//  - the time the server takes for one page of the conversation list (`GET /api/conversations`);
//  - in headless Chromium (playwright-core + Debian's chromium, like tests/ui/), the time from navigation to
//    the first painted rows of the list, and from navigation to the first painted conversation view
//    (`#conversation=<id>`): the page sets performance marks `conversations-painted` and
//    `conversation-view-painted` in the animation frame after it put them in the DOM.
import { chromium } from 'playwright-core';

import { request } from '../lib/http.mjs';
import { Sim, textMessage } from '../lib/sim.mjs';
import { summary, waitFor } from '../lib/stats.mjs';
import { startOurs } from './sides.mjs';

const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

async function paints(dashboardUrl, cookie, conversationId, rounds) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const origin = new URL(dashboardUrl).origin;
  const pair = cookie.split(';')[0];
  const name = pair.slice(0, pair.indexOf('='));
  const value = pair.slice(pair.indexOf('=') + 1);
  const list = [];
  const view = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addCookies([{ name, value, url: origin }]);
    const page = await context.newPage();
    const mark = (markName) =>
      page.waitForFunction((n) => performance.getEntriesByName(n)[0]?.startTime, markName, { timeout: 30_000 }).then((handle) => handle.jsonValue());
    for (let round = 0; round < rounds; round++) {
      await page.goto(`${origin}/?round=${round}`, { waitUntil: 'commit' });
      list.push(await mark('conversations-painted'));
      // A different query: a new document (a changed fragment alone would not reload the page).
      await page.goto(`${origin}/?view=${round}#conversation=${encodeURIComponent(conversationId)}`, { waitUntil: 'commit' });
      view.push(await mark('conversation-view-painted'));
    }
  } finally {
    await browser.close();
  }
  return { list: summary(list), view: summary(view) };
}

async function timed(url, headers, times) {
  const ms = [];
  let body;
  for (let i = 0; i < times; i++) {
    const started = process.hrtime.bigint();
    const res = await request(url, { headers });
    ms.push(Number(process.hrtime.bigint() - started) / 1e6);
    body = res.body;
  }
  return { timing: summary(ms), body };
}

export async function run({ binDir, smoke, log }) {
  const conversations = smoke ? 500 : 10_000;
  const sim = await Sim.start(binDir);
  const side = await startOurs(binDir, sim, { echoDelayMs: 3_600_000 });
  let snapshot;
  let listPage;
  let painted;
  try {
    await sim.injectMany(conversations, (n) => textMessage(n, conversations), 64);
    await waitFor(async () => (await sim.stats()).acks_received >= conversations, { timeoutMs: 120_000, everyMs: 100 });
    const base = side.bridge.dashboardUrl;
    const headers = await side.bridge.dashboardHeaders();
    // The queue view is fed by the intake after the ACK: wait until every conversation shows up.
    await waitFor(async () => {
      const status = JSON.parse((await request(`${base}api/status`, { headers })).body.toString('utf8'));
      return status.queues?.total_depth + status.queues?.in_flight >= conversations;
    }, { timeoutMs: 60_000, everyMs: 200 });
    snapshot = await timed(`${base}api/status`, headers, smoke ? 5 : 30);
    listPage = await timed(`${base}api/conversations?offset=0&limit=50`, headers, smoke ? 5 : 30);
    const first = JSON.parse(listPage.body.toString('utf8'));
    if (first.total < conversations) throw new Error(`the list counts ${first.total} of ${conversations} conversations`);
    painted = await paints(base, headers.cookie, first.items[0].conversation_id, smoke ? 2 : 10);
  } finally {
    await side.stop();
    await sim.stop();
  }
  const bytes = snapshot.body.length;
  log(`#8 ${conversations} backlogged conversations: snapshot ${(bytes / 1024).toFixed(1)} KiB in p50 ${snapshot.timing.p50.toFixed(1)} ms; `
    + `list page p50 ${listPage.timing.p50.toFixed(1)} ms; first paint list p50 ${painted.list.p50.toFixed(0)} ms, view p50 ${painted.view.p50.toFixed(0)} ms`);
  const rows = [
    { bench: 8, what: `dashboard snapshot (/api/status) size, ${conversations.toLocaleString('en')} backlogged conversations`, unit: 'KiB',
      ours: bytes / 1024, lowerIsBetter: true, target: '< 64 KB', met: bytes < 64_000 },
    { bench: 8, what: 'dashboard snapshot served, p50 (server + loopback)', unit: 'ms', ours: snapshot.timing.p50, lowerIsBetter: true },
    { bench: 8, what: 'one page of the conversation list (/api/conversations, 50 rows) served, p50', unit: 'ms', ours: listPage.timing.p50, lowerIsBetter: true },
    { bench: 8, what: 'navigation → first painted rows of the conversation list, p50', unit: 'ms', ours: painted.list.p50, lowerIsBetter: true,
      target: 'list < 300 ms', met: painted.list.p50 < 300 },
    { bench: 8, what: 'navigation → first painted conversation view, p50', unit: 'ms', ours: painted.view.p50, lowerIsBetter: true },
  ];
  return { rows, guards: [] };
}
