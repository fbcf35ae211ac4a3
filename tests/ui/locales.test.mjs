// The dashboard and the settings page, rendered by `dingbridged demo` in headless Chromium once per browser
// locale (en, zh-CN): every text comes from that language's catalogue, no catalogue key is shown raw, no
// label or button is too narrow for its text. Writes the README's screenshots to docs/screenshots/.
//
//   node --test tests/ui/locales.test.mjs
//
// Needs: target/debug/dingbridged (or DINGBRIDGED_BIN), Debian's chromium (or CHROMIUM_BIN), `npm ci` and
// `npm run build:ui`.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { LOCALES, catalogueKeys, daemonBin, launchBrowser, pageProblems, repoRoot, screenshotDir, startProcess, stopProcess } from './support.mjs';

const LIVE_TIMEOUT_MS = 15_000;

let daemon;
let scratch;
let browser;
let origin;
let cookies = [];
let keys = [];
const catalogues = {};

before(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'dingbridge-locales-'));
  await mkdir(path.join(scratch, 'data'));
  daemon = await startProcess(daemonBin, ['demo', '--port', '0', '--mcp-port', '0'], {
    env: { DINGBRIDGE_DATA_DIR: path.join(scratch, 'data'), DINGBRIDGE_CONFIG: path.join(scratch, 'config.toml') },
    wanted: ['DINGBRIDGE_DASHBOARD_URL'],
  });
  const loginUrl = daemon.values.DINGBRIDGE_DASHBOARD_URL;
  origin = new URL(loginUrl).origin;
  browser = await launchBrowser();
  // The login URL works once: log in one context, then hand its cookie to a context per locale.
  const login = await browser.newContext();
  const page = await login.newPage();
  await page.goto(loginUrl, { waitUntil: 'load' });
  cookies = await login.cookies();
  await login.close();
  keys = await catalogueKeys();
  for (const locale of LOCALES) {
    catalogues[locale] = JSON.parse(await readFile(path.join(repoRoot, 'ui', 'i18n', `${locale}.json`), 'utf8'));
  }
  await mkdir(screenshotDir, { recursive: true });
});

after(async () => {
  await browser?.close().catch(() => {});
  await stopProcess(daemon?.child);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function openPage(locale, pathname) {
  const context = await browser.newContext({ locale, viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
  await context.addCookies(cookies);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  await page.goto(`${origin}${pathname}`, { waitUntil: 'load' });
  await page.waitForSelector('body[data-ready="true"]', { timeout: LIVE_TIMEOUT_MS });
  return { context, page, errors };
}

for (const locale of LOCALES) {
  test(`the dashboard renders fully in ${locale}`, async () => {
    const { context, page, errors } = await openPage(locale, '/');
    try {
      await page.locator('#conversations li.conversation').first().waitFor({ timeout: LIVE_TIMEOUT_MS });
      await page.locator('#events li.event').nth(2).waitFor({ timeout: LIVE_TIMEOUT_MS });
      assert.equal(await page.evaluate(() => document.documentElement.lang), locale);
      assert.equal((await page.locator('#h-conn').textContent()).trim(), catalogues[locale]['conn.heading']);
      assert.equal((await page.locator('#open-settings').textContent()).trim(), catalogues[locale]['nav.settings']);
      assert.equal(await page.locator('#demo-chip').isVisible(), true, 'demo mode is labelled');
      assert.deepEqual(await pageProblems(page, keys), []);
      await page.screenshot({ path: path.join(screenshotDir, `dashboard-${locale}.png`) });
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  test(`the settings page renders fully in ${locale}`, async () => {
    const { context, page, errors } = await openPage(locale, '/settings.html');
    try {
      assert.equal(await page.evaluate(() => document.documentElement.lang), locale);
      // The demo runs without credentials, so the page opens as the setup guide: show every section.
      if (await page.locator('#show-all').isVisible()) await page.locator('#show-all').click();
      assert.equal(await page.locator('#sec-mcp').isVisible(), true);
      assert.equal((await page.locator('#h-dingtalk').textContent()).trim(), catalogues[locale]['dingtalk.heading']);
      assert.equal((await page.locator('#save').textContent()).trim(), catalogues[locale]['actions.save']);
      await page.locator('details.advanced summary').click();
      assert.deepEqual(await pageProblems(page, keys), []);
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: path.join(screenshotDir, `settings-${locale}.png`), fullPage: true });
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
}

test('choosing a language in the settings translates the page at once and is remembered', async () => {
  const { context, page, errors } = await openPage('en', '/settings.html');
  try {
    await page.selectOption('#f-ui-language', 'zh-CN');
    await page.waitForFunction((text) => document.querySelector('#h-dingtalk')?.textContent === text, catalogues['zh-CN']['dingtalk.heading']);
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'zh-CN');
    await page.waitForSelector('#f-ui-language[data-saved="zh-CN"]', { timeout: LIVE_TIMEOUT_MS });
    // Saved with the settings: a fresh browser profile (no local memory) follows it too.
    const fresh = await openPage('en', '/');
    try {
      await fresh.page.waitForFunction((text) => document.querySelector('#h-conn')?.textContent === text, catalogues['zh-CN']['conn.heading']);
    } finally {
      await fresh.context.close();
    }
    await page.selectOption('#f-ui-language', 'auto');
    await page.waitForFunction((text) => document.querySelector('#h-dingtalk')?.textContent === text, catalogues.en['dingtalk.heading']);
    await page.waitForSelector('#f-ui-language[data-saved="auto"]', { timeout: LIVE_TIMEOUT_MS });
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
