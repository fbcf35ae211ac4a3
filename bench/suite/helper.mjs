// #5 stdio MCP server start-up: spawn → answer to `initialize`, and resident memory right after that answer
// (whole process tree). Ours: the `dingbridge-mcp` helper (it relays to a running `dingbridged`). Peer: the same
// minimal TypeScript-SDK server as #4, started the way users start Node MCP servers, `npx bench-mcp-peer --stdio`
// (resolved locally from bench/node_modules, no download in the measured time).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { DingBridge, MCP_TOKEN } from '../lib/dingbridge.mjs';
import { stop, treeRssKib } from '../lib/proc.mjs';
import { Sim } from '../lib/sim.mjs';
import { summary } from '../lib/stats.mjs';

const BENCH_DIR = join(import.meta.dirname, '..');
const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '0' } },
});

/** One start: resolves { ms, rssKib } once the first stdout line (the initialize answer) arrived. */
function startOnce(cmd, args, options) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { ...options, stdio: ['pipe', 'pipe', 'ignore'] });
    const lines = createInterface({ input: child.stdout });
    lines.once('line', async (line) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const rssKib = treeRssKib(child.pid);
      if (!line.includes('"result"')) reject(new Error(`${cmd}: unexpected answer ${line.slice(0, 200)}`));
      child.stdin.end();
      await stop(child);
      resolve({ ms, rssKib });
    });
    child.on('error', reject);
    child.stdin.write(`${INITIALIZE}\n`);
  });
}

async function series(runs, cmd, args, options) {
  const times = [];
  const rss = [];
  for (let i = 0; i < runs; i++) {
    const { ms, rssKib } = await startOnce(cmd, args, options);
    times.push(ms);
    rss.push(rssKib / 1024);
  }
  return { time: summary(times), rss: summary(rss) };
}

export async function run({ binDir, smoke, log }) {
  const runs = smoke ? 3 : 20;
  const sim = await Sim.start(binDir);
  let ours;
  try {
    const bridge = await DingBridge.start(binDir, sim);
    try {
      ours = await series(runs, join(binDir, 'dingbridge-mcp'), [], {
        env: { ...process.env, DINGBRIDGE_RUNTIME_FILE: join(bridge.dir, 'runtime.json'), DINGBRIDGE_TOKEN: MCP_TOKEN },
      });
    } finally {
      await bridge.stop();
    }
  } finally {
    await sim.stop();
  }
  const peer = await series(runs, 'npx', ['--no-install', 'bench-mcp-peer', '--stdio'], { cwd: BENCH_DIR });
  log(`#5 ours ${ours.time.p50.toFixed(1)} ms ${ours.rss.p50.toFixed(1)} MiB; peer ${peer.time.p50.toFixed(1)} ms ${peer.rss.p50.toFixed(1)} MiB`);
  const rows = [
    { bench: 5, what: `stdio spawn → initialize answer p50 (${runs} starts)`, unit: 'ms', ours: ours.time.p50, peer: peer.time.p50,
      lowerIsBetter: true, target: '< 20 ms', met: ours.time.p50 < 20 },
    { bench: 5, what: `stdio spawn → initialize answer max`, unit: 'ms', ours: ours.time.max, peer: peer.time.max, lowerIsBetter: true },
    { bench: 5, what: 'stdio server RSS after initialize (process tree)', unit: 'MiB', ours: ours.rss.p50, peer: peer.rss.p50,
      lowerIsBetter: true, target: '< 10 MB', met: ours.rss.p50 * 1.048576 < 10 },
  ];
  return { rows, guards: [] };
}
