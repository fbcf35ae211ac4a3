// #4 MCP `tools/call get_stats` over Streamable HTTP, concurrency 1 and 8, same load client for both sides:
// DingBridge's MCP server (in `dingbridged serve`, idle, connected to the simulator) vs a minimal server on the
// official TypeScript SDK. Also the Nagle guard: a 40 ms stall on kept-alive sockets shows up in the p50.
import { join } from 'node:path';

import { DingBridge, MCP_TOKEN } from '../lib/dingbridge.mjs';
import { runMcpLoad } from '../lib/mcp_load.mjs';
import { startAnnouncing, stop } from '../lib/proc.mjs';
import { Sim } from '../lib/sim.mjs';

export const PEER_SERVER = join(import.meta.dirname, '..', 'peers', 'mcp_server.mjs');
const NULL_SERVER = join(import.meta.dirname, '..', 'peers', 'null_mcp.mjs');

async function measureNode(script, concurrencies, seconds) {
  const { child, value } = await startAnnouncing(process.execPath, [script], 'MCP_PEER_URL');
  try {
    const out = [];
    for (const concurrency of concurrencies) out.push(await runMcpLoad({ url: value, concurrency, seconds }));
    return out;
  } finally {
    await stop(child);
  }
}

/** Measures DingBridge (and the peer unless `oursOnly`); returns { ours: [..], peer: [..] } per concurrency. */
export async function measureMcp({ binDir, seconds, binary, oursOnly = false, concurrencies = [1, 8] }) {
  const result = { ours: [], peer: [] };
  const sim = await Sim.start(binDir);
  try {
    const bridge = await DingBridge.start(binDir, sim, { binary });
    try {
      for (const concurrency of concurrencies) {
        result.ours.push(await runMcpLoad({ url: bridge.mcpUrl, token: MCP_TOKEN, concurrency, seconds }));
      }
    } finally {
      await bridge.stop();
    }
  } finally {
    await sim.stop();
  }
  if (!oursOnly) {
    result.peer = await measureNode(PEER_SERVER, concurrencies, seconds);
    result.floor = await measureNode(NULL_SERVER, concurrencies, seconds);
  }
  return result;
}

/** Benchmark #4 rows, plus the smoke form's Nagle guard (p50 at concurrency 1 below `nagleBoundMs`). */
export async function run({ binDir, smoke, log }) {
  const seconds = smoke ? 1 : 5;
  const { ours, peer, floor } = await measureMcp({ binDir, seconds });
  const rows = [];
  for (const [i, o] of ours.entries()) {
    const p = peer[i];
    log(`#4 c=${o.concurrency}: ours p50 ${o.p50.toFixed(3)} ms ${o.callsPerSec.toFixed(0)}/s; peer p50 ${p.p50.toFixed(3)} ms ${p.callsPerSec.toFixed(0)}/s`);
    rows.push(
      { bench: 4, what: `tools/call p50, concurrency ${o.concurrency}`, unit: 'ms', ours: o.p50, peer: p.p50, lowerIsBetter: true,
        target: o.concurrency === 1 ? '< 0.3 ms' : null, met: o.concurrency === 1 ? o.p50 < 0.3 : null },
      { bench: 4, what: `tools/call p99, concurrency ${o.concurrency}`, unit: 'ms', ours: o.p99, peer: p.p99, lowerIsBetter: true },
      { bench: 4, what: `tools/call calls/s, concurrency ${o.concurrency}`, unit: '/s', ours: o.callsPerSec, peer: p.callsPerSec,
        lowerIsBetter: false, target: '≥ 3× peer', met: o.callsPerSec >= 3 * p.callsPerSec,
        note: `load client's own ceiling (canned answers): ${floor[i].callsPerSec.toFixed(0)}/s, p50 ${floor[i].p50.toFixed(3)} ms` },
    );
  }
  const nagle = ours.find((o) => o.concurrency === 1);
  const guard = { name: 'MCP p50 at concurrency 1 shows no Nagle stall (< 15 ms)', ok: nagle.p50 < 15, value: nagle.p50 };
  return { rows, guards: [guard] };
}
