// #6 desktop memory: PSS of the tray app (`dingbridge --demo`: engine, embedded simulator, WebKitGTK webview
// and its helper processes) with the dashboard window open, and started hidden to the tray (`--minimized`: no
// window, no webview processes, the same state closing the window leaves since it destroys the webview). Runs under Xvfb and a private
// D-Bus session. Uses target/release/dingbridge when it was built, else the debug build `scripts/test` makes
// (the row says which; BENCH_DESKTOP_BIN overrides). Skipped, with a note, when there is no desktop binary or no xvfb-run.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';

import { processTree, stop, treePssKib } from '../lib/proc.mjs';
import { sleep, waitFor } from '../lib/stats.mjs';

const ROOT = join(import.meta.dirname, '..', '..');
const SETTLE_MS = 8_000;

function comm(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

async function pssOf(binary, args, settleMs) {
  const home = mkdtempSync(join(tmpdir(), 'dingbridge-desktop-bench-'));
  const child = spawn('xvfb-run', ['-a', '-s', '-screen 0 1280x900x24', 'dbus-run-session', '--', binary, ...args], {
    env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, 'config'), XDG_DATA_HOME: join(home, 'data'), DINGBRIDGE_LOG: 'warn' },
    stdio: 'ignore',
  });
  try {
    // Xvfb and dbus-daemon are in the tree too: measure the app's own subtree.
    const app = await waitFor(() => processTree(child.pid).find((p) => comm(p) === 'dingbridge'), { timeoutMs: 20_000, everyMs: 100 });
    if (!app) throw new Error('desktop: the app did not start under xvfb-run');
    await sleep(settleMs);
    return { pssMib: treePssKib(app) / 1024, processes: processTree(app).length };
  } finally {
    for (const pid of processTree(child.pid).reverse()) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
    }
    await stop(child);
    rmSync(home, { recursive: true, force: true });
  }
}

export async function run({ smoke, log }) {
  const release = join(ROOT, 'target', 'release', 'dingbridge');
  const debug = join(ROOT, 'target', 'debug', 'dingbridge');
  const binary = process.env.BENCH_DESKTOP_BIN ?? (existsSync(release) ? release : existsSync(debug) ? debug : null);
  const hasXvfb = spawnSync('sh', ['-c', 'command -v xvfb-run && command -v dbus-run-session'], { stdio: 'ignore' }).status === 0;
  if (!binary || !hasXvfb) {
    const why = !binary ? 'no desktop binary built (cargo build -p dingbridge)' : 'xvfb-run or dbus-run-session missing';
    log(`#6 desktop skipped: ${why}`);
    return { rows: [{ bench: 6, what: 'desktop app PSS, window open / closed to tray', unit: '', ours: null, note: `not measured: ${why}` }], guards: [] };
  }
  const build = binary === release ? 'release' : binary === debug ? 'debug' : binary;
  const settle = smoke ? 3_000 : SETTLE_MS;
  const open = await pssOf(binary, ['--demo'], settle);
  const tray = await pssOf(binary, ['--demo', '--minimized'], settle);
  log(`#6 desktop (${build}) PSS window open ${open.pssMib.toFixed(1)} MiB (${open.processes} processes), tray ${tray.pssMib.toFixed(1)} MiB`);
  const rows = [
    { bench: 6, what: `desktop app PSS, window open (${build} build, ${open.processes} processes)`, unit: 'MiB', ours: open.pssMib, lowerIsBetter: true },
    { bench: 6, what: `desktop app PSS, hidden in the tray (${build} build, demo with its embedded simulator, no webview)`, unit: 'MiB', ours: tray.pssMib,
      lowerIsBetter: true, target: '< 60 MB', met: tray.pssMib * 1.048576 < 60 },
  ];
  return { rows, guards: [] };
}
