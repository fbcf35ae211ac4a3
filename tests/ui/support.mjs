// Shared by the browser tests: start real processes (dingbridged, the DingTalk simulator) and wait for the
// address lines they print, launch Debian's Chromium through playwright-core, and check a rendered page for
// untranslated catalogue keys and text that does not fit its box.

import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const daemonBin = path.resolve(repoRoot, process.env.DINGBRIDGED_BIN ?? 'target/debug/dingbridged');
export const simBin = path.resolve(repoRoot, process.env.DINGTALK_SIM_BIN ?? 'target/debug/dingtalk-sim');
export const chromiumBin = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
export const screenshotDir = path.join(repoRoot, 'docs', 'screenshots');
export const LOCALES = ['en', 'zh-CN'];

const STARTUP_TIMEOUT_MS = 30_000;
const children = new Set();

// Whatever happens (assertion failure, crash of the runner), do not leave a process behind.
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/**
 * Starts a program and resolves once it printed every `NAME=value` line asked for in `wanted`
 * (e.g. ['DINGBRIDGE_DASHBOARD_URL']). `env` adds variables to ours; a null value removes one.
 * Resolves with {child, values, log()}.
 */
export function startProcess(bin, args, { env = {}, wanted }) {
  const childEnv = { ...process.env };
  for (const [name, value] of Object.entries(env)) {
    if (value === null) delete childEnv[name];
    else childEnv[name] = value;
  }
  const child = spawn(bin, args, { cwd: repoRoot, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let log = '';
  const values = {};
  child.stderr.on('data', (chunk) => {
    log += chunk;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${path.basename(bin)} printed no ${wanted.join(', ')} within ${STARTUP_TIMEOUT_MS} ms\n${log}`)), STARTUP_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${bin}: ${error.message} (build it first)`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${path.basename(bin)} exited early (code ${code}, signal ${signal})\n${log}`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      log += `${line}\n`;
      const match = /^([A-Z_]+)=(\S+)\s*$/.exec(line);
      if (match) values[match[1]] = match[2];
      if (wanted.every((name) => name in values)) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ child, values, log: () => log });
      }
    });
  });
}

export async function stopProcess(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), 5000));
  if ((await Promise.race([exited, timeout])) === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
  children.delete(child);
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumBin,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Every key of the English catalogue (the check script guarantees the others have the same keys). */
export async function catalogueKeys() {
  return Object.keys(JSON.parse(await readFile(path.join(repoRoot, 'ui', 'i18n', 'en.json'), 'utf8')));
}

/**
 * What a reader would call broken in the page as rendered: catalogue keys shown instead of text (in visible
 * text, placeholders, titles and aria-labels), and text wider than its button, label, heading or badge.
 */
export function pageProblems(page, keys) {
  return page.evaluate((keyList) => {
    const keySet = new Set(keyList);
    const problems = [];
    const visible = (node) => node instanceof HTMLElement && node.offsetParent !== null && getComputedStyle(node).visibility !== 'hidden';
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent.trim();
      if (keySet.has(text) && visible(node.parentElement)) problems.push(`raw key shown: "${text}"`);
    }
    for (const element of document.querySelectorAll('[placeholder], [title], [aria-label]')) {
      for (const attribute of ['placeholder', 'title', 'aria-label']) {
        const value = element.getAttribute(attribute);
        if (value && keySet.has(value)) problems.push(`raw key in ${attribute}: "${value}"`);
      }
    }
    if (keySet.has(document.title)) problems.push(`raw key as title: "${document.title}"`);
    const boxes = 'button, label, h1, h2, h3, summary, .badge, .chip, .kind, .event-label, .demo-chip, .state-pill, dt, .test-name, .test-outcome, a.button';
    for (const element of document.querySelectorAll(boxes)) {
      if (!visible(element)) continue;
      if (element.scrollWidth > element.clientWidth + 1) {
        const name = `${element.tagName.toLowerCase()}${element.id ? `#${element.id}` : ''}`;
        problems.push(`text overflows ${name}: "${element.textContent.trim().slice(0, 60)}"`);
      }
    }
    return problems;
  }, keys);
}
