// The two Stream clients under test, each started against a given simulator: DingBridge (`dingbridged serve`,
// persists every message to SQLite before its ACK, then runs the echo agent and replies) and the official
// Node SDK peer (ACKs in its callback, persists nothing).
import { join } from 'node:path';

import { DingBridge } from '../lib/dingbridge.mjs';
import { startAnnouncing, stop, treeRssKib } from '../lib/proc.mjs';
import { CLIENT_ID, CLIENT_SECRET } from '../lib/sim.mjs';
import { waitFor } from '../lib/stats.mjs';

const STREAM_PEER = join(import.meta.dirname, '..', 'peers', 'stream_peer.mjs');

export async function startOurs(binDir, sim, options = {}) {
  const bridge = await DingBridge.start(binDir, sim, options);
  return { name: 'DingBridge', pid: bridge.child.pid, bridge, stop: () => bridge.stop() };
}

export async function startPeer(sim) {
  const before = (await sim.stats()).live_connections;
  const { child } = await startAnnouncing(process.execPath, [STREAM_PEER], 'STREAM_PEER', {
    env: { SIM_BASE_URL: sim.baseUrl, SIM_CLIENT_ID: CLIENT_ID, SIM_CLIENT_SECRET: CLIENT_SECRET },
  });
  await waitFor(async () => (await sim.stats()).live_connections > before, { timeoutMs: 10_000 });
  return { name: 'Node SDK', pid: child.pid, stop: () => stop(child) };
}

export const SIDES = [
  ['ours', (binDir, sim, options) => startOurs(binDir, sim, options)],
  ['peer', (_binDir, sim) => startPeer(sim)],
];

export function rssMib(side) {
  return treeRssKib(side.pid) / 1024;
}
