// The message catalogue check (scripts/check-i18n.mjs): passes on the real catalogues and fails, naming the
// problem, on deliberately broken fixtures written to a temporary project.
//
//   node --test tests/ui/i18n-check.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const script = path.join(repoRoot, 'scripts', 'check-i18n.mjs');

const GOOD = {
  en: { 'page.title': 'Hello', 'page.greeting': 'Hi {name}', 'page.items.one': '{count} item', 'page.items.other': '{count} items' },
  'zh-CN': { 'page.title': '你好', 'page.greeting': '{name}，你好', 'page.items.one': '{count} 项', 'page.items.other': '{count} 项' },
};
const HTML = '<h1 data-i18n="page.title">Hello</h1>';
const TS = "import { t, tn } from './i18n.js';\nexport const a = t('page.greeting', { name: 'x' });\nexport const b = tn('page.items', 2);\n";

/** Writes a small project (catalogues, one page, one script) and runs the check's command line on it. */
async function runCheck({ catalogues = GOOD, html = HTML, ts = TS, rust = null } = {}) {
  const root = await mkdtemp(path.join(tmpdir(), 'dingbridge-i18n-'));
  try {
    await mkdir(path.join(root, 'ui', 'i18n'), { recursive: true });
    await mkdir(path.join(root, 'ui', 'src'), { recursive: true });
    for (const [lang, catalogue] of Object.entries(catalogues)) {
      await writeFile(path.join(root, 'ui', 'i18n', `${lang}.json`), JSON.stringify(catalogue));
    }
    await writeFile(path.join(root, 'ui', 'index.html'), html);
    await writeFile(path.join(root, 'ui', 'src', 'page.ts'), ts);
    if (rust !== null) {
      await mkdir(path.join(root, 'src-tauri', 'src'), { recursive: true });
      await writeFile(path.join(root, 'src-tauri', 'src', 'tray.rs'), rust);
    }
    const run = spawnSync(process.execPath, [script, '--root', root], { encoding: 'utf8' });
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

const without = (object, key) => Object.fromEntries(Object.entries(object).filter(([k]) => k !== key));

test('the real catalogues pass the check', () => {
  const run = spawnSync(process.execPath, [script], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stdout + run.stderr);
});

test('a consistent fixture passes', async () => {
  const { status, output } = await runCheck();
  assert.equal(status, 0, output);
});

test('a key missing from one catalogue fails and is named', async () => {
  const { status, output } = await runCheck({ catalogues: { ...GOOD, 'zh-CN': without(GOOD['zh-CN'], 'page.greeting') } });
  assert.equal(status, 1);
  assert.match(output, /zh-CN: missing key "page\.greeting"/);
});

test('different placeholders in two languages fail', async () => {
  const { status, output } = await runCheck({ catalogues: { ...GOOD, 'zh-CN': { ...GOOD['zh-CN'], 'page.greeting': '{nom}，你好' } } });
  assert.equal(status, 1);
  assert.match(output, /"page\.greeting": placeholders differ/);
});

test('an unused key fails', async () => {
  const extra = (catalogue) => ({ ...catalogue, 'page.orphan': 'nobody reads me' });
  const { status, output } = await runCheck({ catalogues: { en: extra(GOOD.en), 'zh-CN': extra(GOOD['zh-CN']) } });
  assert.equal(status, 1);
  assert.match(output, /unused key "page\.orphan"/);
});

test('a key a page asks for but no catalogue has fails', async () => {
  const { status, output } = await runCheck({ html: `${HTML}<p data-i18n="page.missing">?</p>` });
  assert.equal(status, 1);
  assert.match(output, /uses unknown key "page\.missing"/);
});

test('a plural group without .other fails', async () => {
  const cut = (catalogue) => without(catalogue, 'page.items.other');
  const { status, output } = await runCheck({ catalogues: { en: cut(GOOD.en), 'zh-CN': cut(GOOD['zh-CN']) } });
  assert.equal(status, 1);
  assert.match(output, /plural group "page\.items" has no "\.other"/);
});

test('tray keys must be used once the desktop app reads the catalogues', async () => {
  const tray = (catalogue) => ({ ...catalogue, 'tray.quit': 'Quit' });
  const catalogues = { en: tray(GOOD.en), 'zh-CN': { ...tray(GOOD['zh-CN']), 'tray.quit': '退出' } };
  const reads = 'const EN: &str = include_str!("../../ui/i18n/en.json");\n';
  const unused = await runCheck({ catalogues, rust: reads });
  assert.equal(unused.status, 1);
  assert.match(unused.output, /unused key "tray\.quit"/);
  const used = await runCheck({ catalogues, rust: `${reads}fn quit() -> &'static str { "tray.quit" }\n` });
  assert.equal(used.status, 0, used.output);
});
